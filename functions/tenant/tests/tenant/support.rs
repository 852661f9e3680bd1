//! What every tenant test needs: the app on a port of its own (its own database, Redis prefix and
//! Kafka topics), HTTP helpers that pose as a client address through `X-Forwarded-For`, accounts
//! made the way a user makes them (sign-up, invitation, set-password link, login), the test's
//! `tenants` topic read from the beginning, and an HS256 signer for crafted access tokens.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac as _};
use rdkafka::{
    ClientConfig, Message, Offset, TopicPartitionList,
    consumer::{Consumer, StreamConsumer},
};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use shared::{
    config::{Env, KafkaConfig},
    testing::{TestDatabase, TestRedis, eventually, kafka_config, kafka_env},
};
use uuid::Uuid;

/// How long a test waits for an event before it fails.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(15);

/// The key id the test apps sign with (`PARLEY_JWT_KEYS=test-1:<secret>`).
pub const KID: &str = "test-1";

/// The seven permissions of the catalogue (docs/protocol.md).
pub const ALL_PERMISSIONS: [&str; 7] = [
    "tenant:manage",
    "users:manage",
    "roles:manage",
    "chatbots:manage",
    "chatrooms:join",
    "chatrooms:moderate",
    "analytics:view",
];

/// The tenant function on `127.0.0.1:<port>`, with the guards of its database and Redis prefix
/// (dropped with the last app that shares them) and its `tenants` topic.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: Arc<TestDatabase>,
    redis: Arc<TestRedis>,
    pub kafka: KafkaConfig,
    pub events: Arc<EventLog>,
    /// The secret of the signing key `KID` (so tests can craft tokens the app should accept).
    pub jwt_secret: String,
}

/// A random string of `len` characters (hex), from UUIDs: no extra dependency.
pub fn random_string(len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        s.push_str(&Uuid::new_v4().simple().to_string());
    }
    s.truncate(len);
    s
}

/// A random private address, for requests whose client address does not matter to the test
/// (so per-IP login limits never count another test's attempts).
pub fn random_ip() -> String {
    let b = Uuid::new_v4().into_bytes();
    format!("10.{}.{}.{}", b[0], b[1], b[2].max(1))
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The app with extra variables (e.g. `PARLEY_LOGIN_LIMIT_PER_IP`), which win over the defaults.
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    // With `RUST_LOG` set, the app's logs (e.g. the cause of a 500) go to stderr.
    if std::env::var_os("RUST_LOG").is_some() {
        shared::telemetry::init();
    }
    let db = Arc::new(TestDatabase::new().await);
    let redis = Arc::new(TestRedis::new().await);
    let kafka = kafka_config();
    let jwt_secret = random_string(48);
    let mut vars: Vec<(&str, String)> = vec![("PARLEY_JWT_KEYS", format!("{KID}:{jwt_secret}"))];
    vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let base = start(&db, &redis, &kafka, vars).await;
    let events = Arc::new(EventLog::start(&kafka).await);
    TestApp { base, client: client(), db, redis, kafka, events, jwt_secret }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("an HTTP client")
}

/// Starts one server on the given services; `vars` come on top of the services' variables and
/// `PARLEY_TRUSTED_PROXIES=127.0.0.1/32`.
async fn start(db: &TestDatabase, redis: &TestRedis, kafka: &KafkaConfig, vars: Vec<(&str, String)>) -> String {
    let mut all: Vec<(&str, String)> = db.env();
    all.extend(redis.env());
    all.extend(kafka_env(kafka));
    all.push(("PARLEY_TRUSTED_PROXIES", "127.0.0.1/32".to_owned()));
    for (name, value) in vars {
        all.retain(|(n, _)| *n != name);
        all.push((name, value));
    }
    let config = tenant::Config::from_env(&Env::from_pairs(all)).expect("the test configuration is valid");
    let state = tenant::AppState::connect(&config).await.expect("the app connects to its services");
    let router = shared::http::with_common_layers(tenant::router(state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(shared::http::serve_on(listener, router, std::future::pending()));
    base
}

/// Who makes a request: with or without a bearer token, from 127.0.0.1 or posing (through the
/// trusted proxy 127.0.0.1) as another client address.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caller<'a> {
    pub token: Option<&'a str>,
    pub ip: Option<&'a str>,
}

/// No token, from 127.0.0.1.
pub fn anonymous() -> Caller<'static> {
    Caller::default()
}

pub fn bearer(token: &str) -> Caller<'_> {
    Caller { token: Some(token), ip: None }
}

/// No token, from `ip` (sent as `X-Forwarded-For`).
pub fn from_ip(ip: &str) -> Caller<'_> {
    Caller { token: None, ip: Some(ip) }
}

impl TestApp {
    /// Another server on the same database, Redis prefix and topics, with other variables (e.g.
    /// other signing keys). It lives as long as the test's runtime.
    pub async fn sibling_with(&self, vars: &[(&str, &str)]) -> TestApp {
        let mut all: Vec<(&str, String)> = vec![("PARLEY_JWT_KEYS", format!("{KID}:{}", self.jwt_secret))];
        all.extend(vars.iter().map(|(k, v)| (*k, v.to_string())));
        let base = start(&self.db, &self.redis, &self.kafka, all).await;
        TestApp {
            base,
            client: client(),
            db: self.db.clone(),
            redis: self.redis.clone(),
            kafka: self.kafka.clone(),
            events: self.events.clone(),
            jwt_secret: self.jwt_secret.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str, caller: Caller<'_>) -> reqwest::RequestBuilder {
        let mut request = self.client.request(method, self.url(path)).timeout(Duration::from_secs(30));
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

    /// A body sent as it is, labelled `application/json`.
    pub async fn send_raw(&self, method: Method, path: &str, caller: Caller<'_>, body: &str) -> Response {
        self.request(method, path, caller)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("raw request")
    }
}

/// The body of a response with the expected status, or a failure that shows what came instead.
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

/// An agent or admin, signed in.
#[derive(Debug, Clone)]
pub struct Account {
    pub tenant_id: String,
    pub user_id: String,
    pub email: String,
    pub password: String,
    pub access: String,
    pub refresh: String,
}

/// What `sign_up` made.
pub type SignedUp = Account;

impl Account {
    pub fn bearer(&self) -> Caller<'_> {
        bearer(&self.access)
    }
}

pub fn unique_email(what: &str) -> String {
    format!("{what}-{}@acme.test", Uuid::new_v4().simple())
}

pub fn strong_password() -> String {
    format!("pw-{}", random_string(24))
}

/// The body of a sign-up with a unique email address.
pub fn sign_up_body() -> Value {
    json!({
        "tenantName": "Acme",
        "adminName": "Ada Admin",
        "adminEmail": unique_email("admin"),
        "adminPassword": strong_password(),
    })
}

/// Signs a new tenant up (from a random client address) and answers its admin.
pub async fn sign_up(app: &TestApp) -> SignedUp {
    let body = sign_up_body();
    let response = app.post("/tenants", from_ip(&random_ip()), body.clone()).await;
    let created = expect_status(response, 201).await;
    Account {
        tenant_id: created["tenant"]["id"].as_str().expect("tenant.id").to_owned(),
        user_id: created["user"]["id"].as_str().expect("user.id").to_owned(),
        email: body["adminEmail"].as_str().unwrap().to_owned(),
        password: body["adminPassword"].as_str().unwrap().to_owned(),
        access: created["tokens"]["accessToken"].as_str().expect("tokens.accessToken").to_owned(),
        refresh: created["tokens"]["refreshToken"].as_str().expect("tokens.refreshToken").to_owned(),
    }
}

/// A token pair.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

impl Tokens {
    fn from_body(body: &Value) -> Self {
        Self {
            access: body["accessToken"].as_str().expect("accessToken").to_owned(),
            refresh: body["refreshToken"].as_str().expect("refreshToken").to_owned(),
        }
    }
}

/// `POST /auth/login` from `ip`.
pub async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> Response {
    app.post("/auth/login", from_ip(ip), json!({ "email": email, "password": password })).await
}

/// Logs in from a random client address; the login must succeed.
pub async fn login(app: &TestApp, email: &str, password: &str) -> Tokens {
    Tokens::from_body(&expect_status(login_from(app, &random_ip(), email, password).await, 200).await)
}

/// `POST /auth/refresh` from `ip`.
pub async fn refresh_from(app: &TestApp, ip: &str, refresh_token: &str) -> Response {
    app.post("/auth/refresh", from_ip(ip), json!({ "refreshToken": refresh_token })).await
}

/// Refreshes from a random client address; the refresh must succeed.
pub async fn refresh(app: &TestApp, refresh_token: &str) -> Tokens {
    Tokens::from_body(&expect_status(refresh_from(app, &random_ip(), refresh_token).await, 200).await)
}

/// The id of the tenant's role called `name` (the caller needs `roles:manage`).
pub async fn role_id(app: &TestApp, by: &Account, name: &str) -> String {
    let roles = expect_status(app.get("/roles", by.bearer()).await, 200).await;
    roles
        .as_array()
        .expect("a list of roles")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no role {name} in {roles}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Creates a role (the caller needs `roles:manage`) and answers its id.
pub async fn create_role(app: &TestApp, by: &Account, name: &str, permissions: &[&str]) -> String {
    let response = app.post("/roles", by.bearer(), json!({ "name": name, "permissions": permissions })).await;
    expect_status(response, 201).await["id"].as_str().expect("role id").to_owned()
}

/// An invitation: the user as `POST /users` answered it, and the set-password token that
/// `user.invited` carried.
pub struct Invitation {
    pub user: Value,
    pub email: String,
    pub token: String,
}

pub async fn invite(app: &TestApp, by: &Account, role_ids: &[&str]) -> Invitation {
    let email = unique_email("agent");
    let response =
        app.post("/users", by.bearer(), json!({ "name": "Grace Agent", "email": email, "roleIds": role_ids })).await;
    let user = expect_status(response, 201).await;
    let user_id = user["id"].as_str().expect("user id").to_owned();
    let invited = app.events.wait_for("user.invited", |e| e["data"]["userId"] == user_id).await;
    let token = invited["data"]["token"].as_str().expect("user.invited carries a token").to_owned();
    Invitation { user, email, token }
}

/// A user invited by `by` with the given roles, who followed the invitation (set a password
/// through `POST /auth/password-reset/confirm`) and logged in.
pub async fn invite_user_with_password(app: &TestApp, by: &Account, role_ids: &[&str]) -> Account {
    let invitation = invite(app, by, role_ids).await;
    let password = strong_password();
    let confirm = json!({ "token": invitation.token, "password": password });
    expect_status(app.post("/auth/password-reset/confirm", anonymous(), confirm).await, 204).await;
    let tokens = login(app, &invitation.email, &password).await;
    Account {
        tenant_id: by.tenant_id.clone(),
        user_id: invitation.user["id"].as_str().unwrap().to_owned(),
        email: invitation.email,
        password,
        access: tokens.access,
        refresh: tokens.refresh,
    }
}

/// An agent with only the `agent` role.
pub async fn agent(app: &TestApp, admin: &Account) -> Account {
    let agent_role = role_id(app, admin, "agent").await;
    invite_user_with_password(app, admin, &[&agent_role]).await
}

/// The user as `GET /users/{id}` shows it to `by`.
pub async fn get_user(app: &TestApp, by: &Account, user_id: &str) -> Value {
    expect_status(app.get(&format!("/users/{user_id}"), by.bearer()).await, 200).await
}

/// The ids of `GET /users`, sorted.
pub async fn user_ids(app: &TestApp, by: &Account) -> Vec<String> {
    let users = expect_status(app.get("/users", by.bearer()).await, 200).await;
    let mut ids: Vec<String> =
        users.as_array().expect("a list of users").iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

/// A JSON list of strings as a sorted `Vec`, for comparing sets.
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

pub fn strings(items: &[&str]) -> Vec<String> {
    let mut items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    items.sort();
    items
}

/// An RFC 3339 timestamp as a point in time.
pub fn instant(value: &Value) -> time::OffsetDateTime {
    let text = value.as_str().unwrap_or_else(|| panic!("not a timestamp: {value}"));
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("not an RFC 3339 timestamp: {text}: {e}"))
}

// --- events -------------------------------------------------------------------------------------

struct Record {
    key: Option<String>,
    envelope: Value,
}

#[derive(Default)]
struct Log {
    records: Vec<Record>,
    /// The next offset to read, per partition.
    next: Vec<i64>,
}

/// The test's `tenants` topic, read from the beginning of every partition by a consumer that is
/// assigned them directly (no group join, so it starts at once).
pub struct EventLog {
    consumer: Arc<StreamConsumer>,
    topic: String,
    partitions: i32,
    log: Arc<Mutex<Log>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for EventLog {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EventLog {
    async fn start(kafka: &KafkaConfig) -> Self {
        let topic = format!("{}tenants", kafka.topic_prefix);
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &kafka.brokers)
            .set("group.id", format!("{}event-log", kafka.topic_prefix))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .create()
            .expect("a Kafka consumer");
        let consumer = Arc::new(consumer);
        let partitions = eventually(EVENT_TIMEOUT, "the tenants topic's metadata", || {
            let (consumer, topic) = (consumer.clone(), topic.clone());
            async move {
                tokio::task::spawn_blocking(move || {
                    let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(5)).ok()?;
                    let count = metadata.topics().first()?.partitions().len();
                    (count > 0).then_some(count as i32)
                })
                .await
                .ok()
                .flatten()
            }
        })
        .await;
        let mut assignment = TopicPartitionList::new();
        for partition in 0..partitions {
            assignment.add_partition_offset(&topic, partition, Offset::Beginning).expect("assignment");
        }
        consumer.assign(&assignment).expect("assign the tenants topic's partitions");
        let log = Arc::new(Mutex::new(Log { records: Vec::new(), next: vec![0; partitions as usize] }));
        let task = tokio::spawn({
            let (consumer, log) = (consumer.clone(), log.clone());
            async move {
                loop {
                    let Ok(message) = consumer.recv().await else { continue };
                    let envelope: Value = message
                        .payload()
                        .and_then(|p| serde_json::from_slice(p).ok())
                        .unwrap_or_else(|| Value::String("<not JSON>".to_owned()));
                    let key = message.key().map(|k| String::from_utf8_lossy(k).into_owned());
                    let mut log = log.lock().unwrap();
                    log.records.push(Record { key, envelope });
                    if let Some(next) = log.next.get_mut(message.partition() as usize) {
                        *next = (*next).max(message.offset() + 1);
                    }
                }
            }
        });
        Self { consumer, topic, partitions, log, task }
    }

    /// Every envelope read so far.
    pub fn all(&self) -> Vec<Value> {
        self.log.lock().unwrap().records.iter().map(|r| r.envelope.clone()).collect()
    }

    /// The envelopes of one type read so far.
    pub fn of_type(&self, event_type: &str) -> Vec<Value> {
        self.all().into_iter().filter(|e| e["type"] == event_type).collect()
    }

    /// The Kafka key of the envelope with this id.
    pub fn key_of(&self, envelope_id: &str) -> Option<String> {
        self.log.lock().unwrap().records.iter().find(|r| r.envelope["id"] == envelope_id).and_then(|r| r.key.clone())
    }

    /// Waits for an envelope of `event_type` that `matches`, failing after `EVENT_TIMEOUT`.
    pub async fn wait_for(&self, event_type: &str, matches: impl Fn(&Value) -> bool) -> Value {
        eventually(EVENT_TIMEOUT, &format!("a {event_type} event"), || {
            let found = self.of_type(event_type).into_iter().find(|e| matches(e));
            async move { found }
        })
        .await
    }

    /// Waits until everything published so far has been read (so a test can say what was not
    /// published).
    pub async fn caught_up(&self) {
        let ends: Vec<i64> = {
            let (consumer, topic, partitions) = (self.consumer.clone(), self.topic.clone(), self.partitions);
            tokio::task::spawn_blocking(move || {
                (0..partitions)
                    .map(|p| consumer.fetch_watermarks(&topic, p, Duration::from_secs(10)).expect("watermarks").1)
                    .collect()
            })
            .await
            .unwrap()
        };
        eventually(EVENT_TIMEOUT, "the event log to catch up", || {
            let log = self.log.lock().unwrap();
            let done = ends.iter().zip(&log.next).all(|(end, next)| next >= end);
            async move { done.then_some(()) }
        })
        .await;
    }
}

// --- access tokens ------------------------------------------------------------------------------

/// The header and claims of a JWT (unverified).
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut decode = || -> Value {
        let part = parts.next().unwrap_or_else(|| panic!("not a JWT: {token}"));
        serde_json::from_slice(&base64url_decode(part)).unwrap_or_else(|e| panic!("not a JWT: {token}: {e}"))
    };
    let header = decode();
    let claims = decode();
    (header, claims)
}

/// An HS256 JWT with this header and these claims, signed with `secret`.
pub fn sign_jwt(header: &Value, claims: &Value, secret: &str) -> String {
    let signing_input = format!(
        "{}.{}",
        base64url_encode(header.to_string().as_bytes()),
        base64url_encode(claims.to_string().as_bytes())
    );
    let signature = hmac_sha256(secret.as_bytes(), signing_input.as_bytes());
    format!("{signing_input}.{}", base64url_encode(&signature))
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub fn base64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn base64url_decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).unwrap_or_else(|_| panic!("not base64url: {text}"))
}

/// HMAC-SHA256, what HS256 signs with.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// A 429 `rate_limited` with a `Retry-After` of 1 to 900 seconds (the 15-minute window).
pub async fn assert_rate_limited(response: reqwest::Response) {
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap_or_default().to_owned());
    assert_error(response, 429, "rate_limited").await;
    let seconds: u64 = retry_after
        .as_deref()
        .expect("a Retry-After header")
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is not a number of seconds: {retry_after:?}"));
    assert!((1..=900).contains(&seconds), "Retry-After: {seconds}");
}
