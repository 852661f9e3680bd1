//! A local stand-in for the AWS Lambda Runtime API, which cannot be reached from here.
//!
//! It implements the part of the API a function uses (`invocation/next`, `.../response`,
//! `.../error`, `init/error`), hands out the events a test queues, and reports what the function
//! answered. A function binary started with [`LambdaRuntimeStandIn::env`] runs exactly as it
//! would on Lambda or under `cargo lambda watch`. Tests that use it say so in their names.

use std::{collections::VecDeque, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    routing::{get, post},
};
use tokio::sync::{Mutex, mpsc};

/// What the function answered to one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(serde_json::Value),
    Error(serde_json::Value),
}

#[derive(Clone)]
struct Shared {
    queue: Arc<Mutex<VecDeque<(String, serde_json::Value)>>>,
    results: mpsc::UnboundedSender<(String, Outcome)>,
}

pub struct LambdaRuntimeStandIn {
    pub address: SocketAddr,
    results: mpsc::UnboundedReceiver<(String, Outcome)>,
    server: tokio::task::JoinHandle<()>,
}

impl LambdaRuntimeStandIn {
    /// Starts on a free loopback port; the function receives `events` in order, one invocation
    /// each, with request ids `req-0`, `req-1`, ...
    pub async fn start(events: Vec<serde_json::Value>) -> Self {
        let (results_tx, results) = mpsc::unbounded_channel();
        let queue = events.into_iter().enumerate().map(|(i, e)| (format!("req-{i}"), e)).collect();
        let shared = Shared { queue: Arc::new(Mutex::new(queue)), results: results_tx };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { address, results, server }
    }

    /// The environment Lambda gives a function, pointing at this stand-in.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_LAMBDA_RUNTIME_API", self.address.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", "parley-test".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "test".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "test".into()),
        ]
    }

    /// The next answer of the function: `(request id, outcome)`. Fails the test after 30 s.
    pub async fn next_result(&mut self) -> (String, Outcome) {
        tokio::time::timeout(Duration::from_secs(30), self.results.recv())
            .await
            .expect("the function answered within 30s")
            .expect("stand-in running")
    }
}

impl Drop for LambdaRuntimeStandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Shared>) -> (StatusCode, HeaderMap, Bytes) {
    let Some((id, event)) = shared.queue.lock().await.pop_front() else {
        // Like Lambda between invocations: the long poll never answers.
        return std::future::pending().await;
    };
    let deadline = std::time::SystemTime::now() + Duration::from_secs(60);
    let deadline_ms = deadline.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
    let mut headers = HeaderMap::new();
    let header = |v: &str| HeaderValue::from_str(v).expect("header value");
    headers.insert("lambda-runtime-aws-request-id", header(&id));
    headers.insert("lambda-runtime-deadline-ms", header(&deadline_ms.to_string()));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        header("arn:aws:lambda:eu-west-1:123456789012:function:parley-test"),
    );
    headers.insert("lambda-runtime-trace-id", header("Root=1-00000000-000000000000000000000000;Sampled=0"));
    headers.insert("content-type", header("application/json"));
    (StatusCode::OK, headers, Bytes::from(event.to_string()))
}

fn json(body: &Bytes) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into()))
}

async fn respond(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let _ = shared.results.send((id, Outcome::Response(json(&body))));
    StatusCode::ACCEPTED
}

async fn fail(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let _ = shared.results.send((id, Outcome::Error(json(&body))));
    StatusCode::ACCEPTED
}

async fn init_error(State(shared): State<Shared>, body: Bytes) -> StatusCode {
    let _ = shared.results.send(("init".into(), Outcome::Error(json(&body))));
    StatusCode::ACCEPTED
}

/// An API Gateway HTTP API (payload 2.0) event for `method path`, as Lambda delivers it.
pub fn http_api_event(method: &str, path: &str) -> serde_json::Value {
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": { "host": "parley.example.com", "user-agent": "parley-test" },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "parley",
            "domainName": "parley.example.com",
            "domainPrefix": "parley",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "parley-test" },
            "requestId": "test-request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "25/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1_795_600_800_000_u64
        },
        "isBase64Encoded": false
    })
}

/// One record of a `KafkaEvent` batch as Amazon MSK delivers it to a function (the document's
/// shape is AWS's): `value` is the record's bytes, base64-encoded here.
pub fn kafka_record(topic: &str, partition: i64, offset: i64, value: &[u8]) -> serde_json::Value {
    use base64::Engine as _;
    let base64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    serde_json::json!({
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "timestamp": 1_795_600_800_000_i64 + offset,
        "timestampType": "CREATE_TIME",
        "key": base64(b"room-1"),
        "value": base64(value),
        "headers": [{"traceparent": [48, 48]}],
    })
}
