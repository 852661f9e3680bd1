//! `/healthz` (the process answers), `/readyz` (MongoDB, Redis and Kafka answer) and `/metrics`.

use std::time::Duration;

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use redis::AsyncCommands as _;
use serde_json::json;

use crate::state::AppState;

/// How long each readiness check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// 200 when every dependency answers within two seconds, else 503; the body names each one's
/// state and nothing else (no address, no error text).
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let mongo = async { state.mongo.run_command(mongodb::bson::doc! {"ping": 1}).await.is_ok() };
    let redis = async {
        let mut conn = state.redis.conn.clone();
        conn.ping::<String>().await.is_ok()
    };
    let kafka = state.kafka.probe(CHECK_TIMEOUT);
    let within = |ok: Result<bool, _>| if ok.unwrap_or(false) { "up" } else { "down" };
    let (mongo, redis, kafka) = tokio::join!(
        tokio::time::timeout(CHECK_TIMEOUT, mongo),
        tokio::time::timeout(CHECK_TIMEOUT, redis),
        tokio::time::timeout(CHECK_TIMEOUT, kafka),
    );
    let checks = json!({"mongodb": within(mongo), "redis": within(redis), "kafka": within(kafka)});
    let ready = checks.as_object().is_some_and(|c| c.values().all(|v| v == "up"));
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(json!({"status": if ready { "ready" } else { "not_ready" }, "checks": checks})))
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
