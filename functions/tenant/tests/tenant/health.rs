//! The router in process, on fresh services.

use serde_json::Value;

use crate::support::{anonymous, spawn_app};

#[tokio::test]
async fn healthz_answers_ok_with_a_request_id() {
    let app = spawn_app().await;
    let response = app.get("/healthz", anonymous()).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.json::<Value>().await.unwrap(), serde_json::json!({ "status": "ok" }));
}

#[tokio::test]
async fn an_unknown_route_answers_a_json_404() {
    let app = spawn_app().await;
    let response = app.get("/no/such/route", anonymous()).await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "route_not_found");
}
