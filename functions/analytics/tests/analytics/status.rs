//! `GET /status`: every component, each checked within its timeout, a stopped one down within
//! 2 s while the others stay up, and no secret in the answer.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use redis::AsyncCommands as _;
use serde_json::{Value, json};
use shared::{
    domain::Timestamp,
    presence::{NodeReport, PresenceKeys},
    testing::closed_port,
};

use crate::support::*;

/// A `redis-server` of the test's own (Debian's, as `scripts/test` provisions it), with a
/// password, to stop.
struct PrivateRedis {
    child: Child,
    /// Carries the password, as a production URL does.
    url: String,
    password: String,
}

impl PrivateRedis {
    async fn start() -> Self {
        let port = closed_port();
        let password = random_string(24);
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .args(["--requirepass", &password])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test installs it)");
        let url = format!("redis://:{password}@127.0.0.1:{port}");
        let client = redis::Client::open(url.as_str()).unwrap();
        eventually(Duration::from_secs(10), "the private Redis to answer", || async {
            let mut conn = client.get_multiplexed_async_connection().await.ok()?;
            conn.ping::<String>().await.ok()
        })
        .await;
        Self { child, url, password }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn status(app: &TestApp) -> (Value, Duration) {
    let started = Instant::now();
    let body = expect_status(app.api.get("/status", anonymous()).await, 200).await;
    (body, started.elapsed())
}

/// Writes a socket-node's heartbeat as a node would.
async fn beat(app: &TestApp, id: &str, address: &str, connections: u64, last_seen: Timestamp) {
    let report =
        NodeReport { address: address.into(), connections, started_at: last_seen, last_seen, heartbeat_ms: 1_000 };
    let mut redis = app.state.redis.conn.clone();
    let key = PresenceKeys(&app.state.redis.keys).nodes();
    let _: () = redis.hset(key, id, serde_json::to_string(&report).unwrap()).await.unwrap();
}

#[tokio::test]
async fn every_component_is_listed_and_a_stale_node_is_down() {
    let healthy = shared::testing::serve(shared::http::health_routes()).await;
    let dead_port = closed_port();
    let functions = format!("tenant={healthy}/healthz,email=http://127.0.0.1:{dead_port}/healthz");
    let app = spawn_app_with(&[("PARLEY_STATUS_FUNCTIONS", functions)]).await;

    let (before, _) = status(&app).await;
    assert_eq!(before["socketNodes"], json!([]));
    assert_eq!(before["status"], "down", "no socket-node is up: {before}");

    beat(&app, "n1", "10.0.0.1:9000", 7, Timestamp::now()).await;
    beat(&app, "n2", "10.0.0.2:9000", 3, Timestamp::now().minus_std(Duration::from_secs(10))).await;
    let (body, took) = status(&app).await;
    assert!(took < Duration::from_secs(2), "answered in {took:?}");
    for component in ["mongodb", "redis", "kafka"] {
        assert_eq!(body[component]["status"], "up", "{component}: {body}");
        assert!(body[component]["latencyMs"].is_u64());
    }
    let nodes: Vec<(&str, &str, u64)> = body["socketNodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["address"].as_str().unwrap(), n["status"].as_str().unwrap(), n["connections"].as_u64().unwrap()))
        .collect();
    assert_eq!(nodes, [("10.0.0.1:9000", "up", 7), ("10.0.0.2:9000", "down", 3)]);
    let functions: Vec<(&str, &str)> = body["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["status"].as_str().unwrap()))
        .collect();
    assert_eq!(functions, [("tenant", "up"), ("email", "down")]);
    assert_eq!(body["functions"][1]["error"], "email: connection refused");
    assert_eq!(body["status"], "degraded");
}

#[tokio::test]
async fn a_stopped_redis_is_down_within_two_seconds_while_the_rest_stay_up() {
    let mut private = PrivateRedis::start().await;
    let app = spawn_app_with(&[("PARLEY_REDIS_URL", private.url.clone())]).await;
    beat(&app, "n1", "10.0.0.1:9000", 1, Timestamp::now()).await;
    let (up, _) = status(&app).await;
    assert_eq!((up["redis"]["status"].as_str(), up["status"].as_str()), (Some("up"), Some("ok")), "{up}");

    private.stop();
    let (body, took) = status(&app).await;
    assert!(took < Duration::from_secs(2), "answered in {took:?}");
    assert_eq!(body["redis"]["status"], "down", "{body}");
    assert_eq!((body["mongodb"]["status"].as_str(), body["kafka"]["status"].as_str()), (Some("up"), Some("up")));
    assert_eq!(body["status"], "down");
    let text = body.to_string();
    assert!(!text.contains(&private.password), "no secret in the answer: {text}");
}

#[tokio::test]
async fn a_status_token_locks_the_status() {
    let token = random_string(32);
    let app = spawn_app_with(&[("PARLEY_STATUS_TOKEN", token.clone())]).await;
    assert_error(app.api.get("/status", anonymous()).await, 401, "missing_token").await;
    assert_error(app.api.get("/status", bearer("not-it")).await, 401, "invalid_token").await;
    let body = expect_status(app.api.get("/status", bearer(&token)).await, 200).await;
    assert_eq!(body["mongodb"]["status"], "up");
}
