//! `GET /status`: the discovery view of the whole system, what an operator opens first.
//!
//! MongoDB (`ping`), Redis (`PING`), Kafka (a metadata request), every socket-node and every
//! function replica run as a server (their heartbeats in Redis, [`shared::discovery`]: up while
//! fresh) and every function in `PARLEY_STATUS_FUNCTIONS` (a `GET` of its health URL: how
//! functions on Lambda are listed) are checked at once, each within `PARLEY_STATUS_CHECK_MS`, so the
//! answer comes within about that long even when a component hangs. An error says what failed in
//! words of our own, never a driver's message (which could carry an address with credentials).
//!
//! The overall status is `down` when chat cannot work (MongoDB or Redis down, or no socket-node
//! up), `degraded` when something else is down (Kafka: events wait in the outbox; a function or
//! one of its replicas; one socket-node of several), else `ok`.

use std::time::{Duration, Instant};

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, header::AUTHORIZATION},
    routing::get,
};
use redis::AsyncCommands as _;
use secrecy::ExposeSecret;
use serde::Serialize;
use shared::{
    ApiError, Json, auth::secret::constant_time_eq, discovery::ReplicaReport, domain::Timestamp, presence::NodeReport,
};
use utoipa::ToSchema;

use crate::{AppState, config::FunctionUrl};

pub fn routes() -> Router<AppState> {
    Router::new().route("/status", get(status))
}

/// A component's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Up,
    Down,
}

/// `down` when chat cannot work (MongoDB or Redis down, or no socket-node up), `degraded` when
/// anything else is down, else `ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Overall {
    Ok,
    Degraded,
    Down,
}

/// The whole system, checked at once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemStatus {
    pub status: Overall,
    #[schema(value_type = String, format = DateTime)]
    pub checked_at: Timestamp,
    pub mongodb: Check,
    pub redis: Check,
    pub kafka: Check,
    pub socket_nodes: Vec<SocketNode>,
    /// Every function process run as a server, as it announces itself.
    pub replicas: Vec<Replica>,
    /// The functions listed in `PARLEY_STATUS_FUNCTIONS` (on Lambda), by their health URL.
    pub functions: Vec<FunctionCheck>,
}

/// One component's answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub status: Health,
    /// How long the check took, in milliseconds.
    pub latency_ms: u64,
    /// What failed, in words of our own; absent when up.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<String>,
}

/// A socket-node, from its heartbeats: down when its last one is older than three intervals.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SocketNode {
    pub id: String,
    pub address: String,
    pub status: Health,
    /// Open WebSocket connections.
    pub connections: u64,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: Timestamp,
}

/// A function replica run as a server, from its heartbeats: down when its last one is older than
/// three intervals (one silent for an hour is no longer listed).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Replica {
    pub id: String,
    /// `tenant`, `chatbot-provisioning`, `analytics`, `analytics-reports`, `email`...
    pub function: String,
    pub address: String,
    pub status: Health,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: Timestamp,
}

/// A function of `PARLEY_STATUS_FUNCTIONS`, by its health URL.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCheck {
    pub name: String,
    pub url: String,
    #[serde(flatten)]
    pub check: Check,
}

/// The live status of every component. Open unless `PARLEY_STATUS_TOKEN` is set; then it needs
/// that token as `Authorization: Bearer`. It answers within about `PARLEY_STATUS_CHECK_MS`.
#[utoipa::path(get, path = "/status", operation_id = "system_status", tag = "status", security((), ("status_token" = [])),
    responses((status = 200, body = SystemStatus),
        (status = 401, description = "missing_token, invalid_token (when PARLEY_STATUS_TOKEN is set)")))]
pub async fn status(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<SystemStatus>, ApiError> {
    if let Some(token) = &state.status.token {
        let given = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("missing_token", "send the status token as Authorization: Bearer"))?;
        if !constant_time_eq(given.trim(), token.expose_secret()) {
            return Err(ApiError::unauthorized("invalid_token", "the status token is not valid"));
        }
    }
    Ok(Json(check_all(&state).await))
}

/// Checks every component at once.
pub async fn check_all(state: &AppState) -> SystemStatus {
    let limit = state.status.check_timeout;
    let mongodb = timed(limit, "MongoDB", async {
        state.db.run_command(mongodb::bson::doc! { "ping": 1 }).await.map(drop).map_err(|_| "the ping failed")
    });
    let redis = timed(limit, "Redis", async {
        let mut conn = state.redis.conn.clone();
        conn.ping::<String>().await.map(drop).map_err(|_| "the PING failed")
    });
    let kafka = timed(limit, "Kafka", async {
        if state.kafka.probe(limit).await { Ok(()) } else { Err("no broker answered a metadata request") }
    });
    let nodes = tokio::time::timeout(limit, shared::presence::read_nodes(&state.redis));
    let replicas = tokio::time::timeout(limit, shared::discovery::read_replicas(&state.redis));
    let functions = futures::future::join_all(state.status.functions.iter().map(|f| check_function(state, f, limit)));
    let (mongodb, redis, kafka, nodes, replicas, functions) =
        tokio::join!(mongodb, redis, kafka, nodes, replicas, functions);

    let now = Timestamp::now();
    let socket_nodes: Vec<SocketNode> = match nodes {
        Ok(Ok(nodes)) => nodes.into_iter().map(|(id, report)| socket_node(id, report, now)).collect(),
        // Redis is down, and its check says so: which nodes exist is unknown.
        _ => Vec::new(),
    };
    let replicas: Vec<Replica> = match replicas {
        Ok(Ok(replicas)) => replicas.into_iter().map(|(id, report)| replica(id, report, now)).collect(),
        _ => Vec::new(),
    };
    let status = overall(&mongodb, &redis, &kafka, &socket_nodes, &replicas, &functions);
    SystemStatus { status, checked_at: now, mongodb, redis, kafka, socket_nodes, replicas, functions }
}

fn replica(id: String, report: ReplicaReport, now: Timestamp) -> Replica {
    Replica {
        status: if report.is_alive(now) { Health::Up } else { Health::Down },
        id,
        function: report.function,
        address: report.address,
        started_at: report.started_at,
        last_seen: report.last_seen,
    }
}

fn socket_node(id: String, report: NodeReport, now: Timestamp) -> SocketNode {
    SocketNode {
        status: if report.is_alive(now) { Health::Up } else { Health::Down },
        id,
        address: report.address,
        connections: report.connections,
        started_at: report.started_at,
        last_seen: report.last_seen,
    }
}

fn overall(
    mongodb: &Check,
    redis: &Check,
    kafka: &Check,
    nodes: &[SocketNode],
    replicas: &[Replica],
    functions: &[FunctionCheck],
) -> Overall {
    let any_node_up = nodes.iter().any(|n| n.status == Health::Up);
    if mongodb.status == Health::Down || redis.status == Health::Down || !any_node_up {
        return Overall::Down;
    }
    let something_down = kafka.status == Health::Down
        || nodes.iter().any(|n| n.status == Health::Down)
        || replicas.iter().any(|r| r.status == Health::Down)
        || functions.iter().any(|f| f.check.status == Health::Down);
    if something_down { Overall::Degraded } else { Overall::Ok }
}

/// Runs `check` within `limit`; a check that takes longer is down.
async fn timed(limit: Duration, what: &str, check: impl Future<Output = Result<(), &'static str>>) -> Check {
    let started = Instant::now();
    let result = tokio::time::timeout(limit, check).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(Ok(())) => Check { status: Health::Up, latency_ms, error: None },
        Ok(Err(error)) => Check { status: Health::Down, latency_ms, error: Some(format!("{what}: {error}")) },
        Err(_) => Check {
            status: Health::Down,
            latency_ms,
            error: Some(format!("{what}: no answer within {} ms", limit.as_millis())),
        },
    }
}

async fn check_function(state: &AppState, function: &FunctionUrl, limit: Duration) -> FunctionCheck {
    let check = timed(limit, &function.name, async {
        match state.http.get(&function.url).timeout(limit).send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(_) => Err("the health check did not answer 2xx"),
            Err(err) if err.is_connect() => Err("connection refused"),
            Err(_) => Err("the health check failed"),
        }
    })
    .await;
    FunctionCheck { name: function.name.clone(), url: function.url.clone(), check }
}
