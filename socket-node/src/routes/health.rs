//! `/healthz` (the process answers), `/readyz` (the services answer) and `/metrics`.

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use serde_json::json;

use crate::state::AppState;

pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// 200 when every service chat needs (MongoDB, Redis) answers within two seconds, else 503, so a
/// load balancer sends clients only to nodes that can serve them. Kafka is checked and shown but
/// not needed: without it chat goes on and events wait in the outbox, so a Kafka outage takes no
/// node out of rotation. The body names each service's state and nothing else (no address, no
/// error text). A node on the in-memory backends has nothing to check.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let results = futures::future::join_all(state.probes.iter().map(|probe| probe.up())).await;
    let checks: serde_json::Map<String, serde_json::Value> = state
        .probes
        .iter()
        .zip(&results)
        .map(|(probe, up)| (probe.name.to_owned(), json!(if *up { "up" } else { "down" })))
        .collect();
    let ready = state.probes.iter().zip(&results).all(|(probe, up)| *up || !probe.required);
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(json!({"status": if ready { "ready" } else { "not_ready" }, "checks": checks})))
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
