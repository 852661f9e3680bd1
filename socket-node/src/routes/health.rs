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

/// 200 when every service the node runs on answers within two seconds, else 503; the body names
/// each one's state and nothing else (no address, no error text). A node on the in-memory
/// backends has nothing to check.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let results = futures::future::join_all(state.probes.iter().map(|probe| probe.up())).await;
    let checks: serde_json::Map<String, serde_json::Value> = state
        .probes
        .iter()
        .zip(&results)
        .map(|(probe, up)| (probe.name.to_owned(), json!(if *up { "up" } else { "down" })))
        .collect();
    let ready = results.iter().all(|up| *up);
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(json!({"status": if ready { "ready" } else { "not_ready" }, "checks": checks})))
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
