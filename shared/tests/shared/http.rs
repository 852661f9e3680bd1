//! The HTTP error contract every Parley route shares: what a client sees for bad bodies,
//! unknown routes, rate limits and our own failures.

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::Value;
use shared::{ApiError, Json, domain::EmailAddress, http::with_common_layers};
use tower::ServiceExt;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignUp {
    #[allow(dead_code)]
    email: EmailAddress,
    #[allow(dead_code)]
    seats: u32,
    #[allow(dead_code)]
    #[serde(default)]
    plan: Option<Plan>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Plan {
    Free,
    Team,
}

#[derive(Debug, Deserialize)]
struct Rotation {
    grace: u32,
}

fn app() -> Router {
    with_common_layers(
        Router::new()
            .route("/signups", post(|Json(_): Json<SignUp>| async { Json(serde_json::json!({ "ok": true })) }))
            .route(
                "/rotations",
                post(|body: Option<Json<Rotation>>| async move {
                    Json(serde_json::json!({ "grace": body.map(|Json(r)| r.grace) }))
                }),
            )
            .route("/busy", get(|| async { ApiError::rate_limited(7) }))
            .route(
                "/broken",
                get(|| async {
                    ApiError::internal(anyhow::anyhow!("connection to 10.0.0.5 refused, password=hunter2"))
                }),
            ),
    )
}

async fn call(request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = app().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    (parts.status, parts.headers, serde_json::from_slice(&bytes).unwrap())
}

fn post_json(body: &str) -> Request<Body> {
    Request::post("/signups")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn a_well_formed_body_reaches_the_handler() {
    let (status, _, body) = call(post_json(r#"{"email": "ada@example.com", "seats": 3}"#)).await;
    assert_eq!((status, body), (StatusCode::OK, serde_json::json!({ "ok": true })));
}

#[tokio::test]
async fn bodies_that_are_not_json_answer_400_malformed_json() {
    for bad in ["{", "email=ada", ""] {
        let (status, _, body) = call(post_json(bad)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_json")), "{bad:?}");
    }
}

#[tokio::test]
async fn json_of_the_wrong_shape_answers_422_invalid_body_naming_the_field() {
    for (bad, field) in [
        (r#"{"email": {"$ne": ""}, "seats": 1}"#, "email"),
        (r#"{"email": "not an address", "seats": 1}"#, "email"),
        (r#"{"email": "ada@example.com", "seats": "three"}"#, "seats"),
        (r#"{"email": "ada@example.com", "seats": 1, "admin": true}"#, "admin"),
        (r#"{"seats": 1}"#, "email"),
        (r#"{"email": "ada@example.com", "seats": 1, "plan": "gold"}"#, "plan"),
        // serde_json calls a number where a variant name belongs a syntax error; it is JSON.
        (r#"{"email": "ada@example.com", "seats": 1, "plan": 1}"#, "plan"),
        (r#"{"email": "ada@example.com", "seats": 1, "plan": false}"#, "plan"),
    ] {
        let (status, _, body) = call(post_json(bad)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")), "{bad}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(field), "{bad}: {message}");
    }
}

#[tokio::test]
async fn an_invalid_body_never_echoes_what_was_sent() {
    for bad in [
        r#"{"email": "ada@example.com", "seats": "hunter2-secret"}"#,
        r#"{"email": "ada@example.com", "seats": 1, "plan": "hunter2-secret"}"#,
        r#"{"email": "ada@example.com", "seats": -731}"#,
    ] {
        let (status, _, body) = call(post_json(bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let message = body["message"].as_str().unwrap();
        assert!(!message.contains("hunter2") && !message.contains("731"), "{bad}: {message}");
    }
}

#[tokio::test]
async fn an_optional_body_may_be_left_out_but_not_sent_unlabelled() {
    let post = |body: &'static str, json: bool| {
        let request = Request::post("/rotations");
        let request = if json { request.header(header::CONTENT_TYPE, "application/json") } else { request };
        request.body(Body::from(body)).unwrap()
    };
    let (status, _, body) = call(post("", false)).await;
    assert_eq!((status, body), (StatusCode::OK, serde_json::json!({ "grace": null })));
    let (status, _, body) = call(post(r#"{"grace": 60}"#, true)).await;
    assert_eq!((status, body), (StatusCode::OK, serde_json::json!({ "grace": 60 })));
    let (status, _, body) = call(post(r#"{"grace": 60}"#, false)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")));
}

#[tokio::test]
async fn a_body_without_a_json_content_type_answers_415() {
    let request = Request::post("/signups").body(Body::from(r#"{"email": "ada@example.com", "seats": 1}"#)).unwrap();
    let (status, _, body) = call(request).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")));
}

#[tokio::test]
async fn rate_limits_carry_retry_after() {
    let (status, headers, body) = call(Request::get("/busy").body(Body::empty()).unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert_eq!(headers.get(header::RETRY_AFTER).unwrap(), "7");
}

#[tokio::test]
async fn our_own_failures_say_nothing_internal() {
    let (status, _, body) = call(Request::get("/broken").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["code"], "internal_error");
    let text = body.to_string();
    assert!(!text.contains("10.0.0.5") && !text.contains("hunter2"), "{text}");
}
