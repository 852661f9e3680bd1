//! Talking to a function under test over HTTP, as a user would: an [`Api`] on the address
//! [`serve`] answered, requests made as a [`Caller`] (with or without a bearer token, from
//! 127.0.0.1 or posing as another client address), checks on what came back, and the random
//! values tests need so that parallel tests never collide.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use uuid::Uuid;

/// How long one request may take before the test fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `router` (with the common layers every function has) on `127.0.0.1:<free port>` in
/// this test's runtime, and answers its base URL, `http://127.0.0.1:<port>`. The server lives as
/// long as the runtime: there is nothing to stop.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free loopback port");
    let address = listener.local_addr().expect("the listener's address");
    tokio::spawn(crate::http::serve_on(listener, crate::http::with_common_layers(router), std::future::pending()));
    format!("http://{address}")
}

/// A function's HTTP API at `base` (e.g. what [`serve`] answered). Every request has a 30-second
/// timeout and bypasses any proxy the environment names, so a test never hangs on a stuck
/// server and never talks to something other than the app.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

impl Api {
    pub fn new(base: impl Into<String>) -> Self {
        let client = reqwest::Client::builder().no_proxy().build().expect("an HTTP client");
        Self { base: base.into(), client }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request as `caller` makes it, to send after adding what the test needs.
    pub fn request(&self, method: Method, path: &str, caller: Caller<'_>) -> RequestBuilder {
        let mut request = self.client.request(method, self.url(path)).timeout(REQUEST_TIMEOUT);
        if let Some(token) = caller.token {
            request = request.bearer_auth(token);
        }
        if let Some(ip) = caller.ip {
            request = request.header("x-forwarded-for", ip);
        }
        request
    }

    pub async fn get(&self, path: &str, caller: Caller<'_>) -> Response {
        self.request(Method::GET, path, caller).send().await.expect("GET")
    }

    pub async fn post(&self, path: &str, caller: Caller<'_>, body: Value) -> Response {
        self.request(Method::POST, path, caller).json(&body).send().await.expect("POST")
    }

    pub async fn patch(&self, path: &str, caller: Caller<'_>, body: Value) -> Response {
        self.request(Method::PATCH, path, caller).json(&body).send().await.expect("PATCH")
    }

    pub async fn delete(&self, path: &str, caller: Caller<'_>) -> Response {
        self.request(Method::DELETE, path, caller).send().await.expect("DELETE")
    }

    /// A body sent as it is, labelled `application/json` (for malformed or oversized bodies).
    pub async fn send_raw(&self, method: Method, path: &str, caller: Caller<'_>, body: &str) -> Response {
        self.request(method, path, caller)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("raw request")
    }
}

/// Who makes a request: with or without a bearer token, from 127.0.0.1 or posing as another
/// client address through `X-Forwarded-For` (which the app believes only when 127.0.0.1 is one of
/// its trusted proxies, `PARLEY_TRUSTED_PROXIES=127.0.0.1/32`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Caller<'a> {
    pub token: Option<&'a str>,
    pub ip: Option<&'a str>,
}

/// No token, from 127.0.0.1.
pub fn anonymous() -> Caller<'static> {
    Caller::default()
}

/// This access token, from 127.0.0.1.
pub fn bearer(token: &str) -> Caller<'_> {
    Caller { token: Some(token), ip: None }
}

/// No token, from `ip` (sent as `X-Forwarded-For`).
pub fn from_ip(ip: &str) -> Caller<'_> {
    Caller { token: None, ip: Some(ip) }
}

/// The body of a response with the expected status (`Null` when empty, a JSON string when not
/// JSON), or a failure that shows what came instead.
pub async fn expect_status(response: Response, status: u16) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(got, StatusCode::from_u16(status).unwrap(), "expected {status}, got {got}: {text}");
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) }
}

/// Checks an error response: its status, its `code`, and that it has a message. Answers the body.
pub async fn assert_error(response: Response, status: u16, code: &str) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
    assert_eq!(
        (got.as_u16(), body["code"].as_str()),
        (status, Some(code)),
        "expected {status} {code}, got {got}: {text}"
    );
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "an error without a message: {text}");
    body
}

/// A random string of `len` characters (hex), from UUIDs.
pub fn random_string(len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        s.push_str(&Uuid::new_v4().simple().to_string());
    }
    s.truncate(len);
    s
}

/// A random private address, for requests whose client address does not matter to the test
/// (so per-IP limits never count another test's attempts).
pub fn random_ip() -> String {
    let b = Uuid::new_v4().into_bytes();
    format!("10.{}.{}.{}", b[0], b[1], b[2].max(1))
}

/// An address no other test uses: `<what>-<uuid>@acme.test`.
pub fn unique_email(what: &str) -> String {
    format!("{what}-{}@acme.test", Uuid::new_v4().simple())
}

/// A password the password policy accepts, different every time.
pub fn strong_password() -> String {
    format!("pw-{}", random_string(24))
}

/// A JSON list of strings as a sorted `Vec`, for comparing sets; fails on anything else.
pub fn sorted(value: &Value) -> Vec<String> {
    let mut items: Vec<String> = value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_owned())
        .collect();
    items.sort();
    items
}

/// These strings as a sorted `Vec`, to compare with [`sorted`].
pub fn strings(items: &[&str]) -> Vec<String> {
    let mut items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    items.sort();
    items
}

/// An RFC 3339 timestamp as a point in time; fails on anything else.
pub fn instant(value: &Value) -> time::OffsetDateTime {
    let text = value.as_str().unwrap_or_else(|| panic!("not a timestamp: {value}"));
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("not an RFC 3339 timestamp: {text}: {e}"))
}
