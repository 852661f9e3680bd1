//! What every tenant test needs: the app on a port of its own (its own database, Redis prefix and
//! Kafka topics), reached through [`shared::testing::Api`] (HTTP helpers that pose as a client
//! address through `X-Forwarded-For`), accounts made the way a user makes them
//! ([`shared::testing::accounts`]), the test's `tenants` topic read from the beginning, and an
//! HS256 signer for crafted access tokens. The generic helpers live in `shared::testing` so other
//! crates' tests reuse them; they are re-exported here so the test modules need one import.

use std::{ops::Deref, sync::Arc};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac as _};
use serde_json::Value;
use sha2::Sha256;
pub use shared::testing::{
    ALL_PERMISSIONS, Account, Caller, EVENT_TIMEOUT, EventLog, Invitation,
    accounts::{create_role, login, login_from, refresh, refresh_from, role_id, sign_up, sign_up_body},
    anonymous, assert_error, bearer, expect_status, from_ip, instant, random_ip, random_string, sorted, strings,
    strong_password, unique_email,
};
use shared::{
    config::{Env, KafkaConfig},
    events::Topic,
    testing::{Api, TestDatabase, TestRedis, accounts, kafka_config, kafka_env},
};

/// The key id the test apps sign with (`PARLEY_JWT_KEYS=test-1:<secret>`).
pub const KID: &str = "test-1";

/// The tenant function on `127.0.0.1:<port>`, with the guards of its database and Redis prefix
/// (dropped with the last app that shares them) and its `tenants` topic. It derefs to its [`Api`],
/// so `app.post(...)` and `sign_up(&app)` work.
pub struct TestApp {
    pub api: Api,
    pub db: Arc<TestDatabase>,
    pub redis: Arc<TestRedis>,
    pub kafka: KafkaConfig,
    pub events: Arc<EventLog>,
    /// The secret of the signing key `KID` (so tests can craft tokens the app should accept).
    pub jwt_secret: String,
}

impl Deref for TestApp {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
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
    let api = start(&db, &redis, &kafka, vars).await;
    let events = Arc::new(EventLog::start(&kafka, Topic::Tenants).await);
    TestApp { api, db, redis, kafka, events, jwt_secret }
}

/// Starts one server on the given services; `vars` come on top of the services' variables and
/// `PARLEY_TRUSTED_PROXIES=127.0.0.1/32`.
async fn start(db: &TestDatabase, redis: &TestRedis, kafka: &KafkaConfig, vars: Vec<(&str, String)>) -> Api {
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
    Api::new(shared::testing::serve(tenant::router(state)).await)
}

impl TestApp {
    /// Another server on the same database, Redis prefix and topics, with other variables (e.g.
    /// other signing keys). It lives as long as the test's runtime.
    pub async fn sibling_with(&self, vars: &[(&str, &str)]) -> TestApp {
        let mut all: Vec<(&str, String)> = vec![("PARLEY_JWT_KEYS", format!("{KID}:{}", self.jwt_secret))];
        all.extend(vars.iter().map(|(k, v)| (*k, v.to_string())));
        let api = start(&self.db, &self.redis, &self.kafka, all).await;
        TestApp {
            api,
            db: self.db.clone(),
            redis: self.redis.clone(),
            kafka: self.kafka.clone(),
            events: self.events.clone(),
            jwt_secret: self.jwt_secret.clone(),
        }
    }
}

// --- accounts that need the app's event log -----------------------------------------------------

/// Invites a user to `by`'s tenant; the set-password token comes from the app's `tenants` topic.
pub async fn invite(app: &TestApp, by: &Account, role_ids: &[&str]) -> Invitation {
    accounts::invite(app, &app.events, by, role_ids).await
}

/// A user invited by `by` with the given roles, who set a password and logged in.
pub async fn invite_user_with_password(app: &TestApp, by: &Account, role_ids: &[&str]) -> Account {
    accounts::invite_user_with_password(app, &app.events, by, role_ids).await
}

/// An agent with only the `agent` role.
pub async fn agent(app: &TestApp, admin: &Account) -> Account {
    accounts::agent(app, &app.events, admin).await
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
