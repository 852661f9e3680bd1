//! The router in process, on a fresh MongoDB database.

use serde_json::Value;
use shared::{repos::Repos, testing::TestDatabase};

struct TestApp {
    base: String,
    _db: TestDatabase,
}

async fn spawn_app() -> TestApp {
    let db = TestDatabase::new().await;
    let state = tenant::AppState { repos: Repos::mongo(&db.db) };
    let router = shared::http::with_common_layers(tenant::router(state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(shared::http::serve_on(listener, router, std::future::pending()));
    TestApp { base, _db: db }
}

#[tokio::test]
async fn healthz_answers_ok_with_a_request_id() {
    let app = spawn_app().await;
    let response = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.json::<Value>().await.unwrap(), serde_json::json!({ "status": "ok" }));
}

#[tokio::test]
async fn an_unknown_route_answers_a_json_404() {
    let app = spawn_app().await;
    let response = reqwest::get(format!("{}/no/such/route", app.base)).await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "route_not_found");
}
