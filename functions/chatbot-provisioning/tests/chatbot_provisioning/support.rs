//! What every chatbot-provisioning test needs: this function and the tenant function (for
//! accounts, made the way a user makes them) on ports of their own, sharing the test's own
//! database, Redis prefix and Kafka topics; the `tenants` topic read from the beginning; and the
//! widget check (`ChatbotAccess`) as another process (the socket-node) runs it, on its own
//! connections to the same MongoDB and Redis.

use std::{ops::Deref, sync::Arc};

use serde_json::{Value, json};
pub use shared::testing::{
    Account, Caller, EventLog, anonymous, assert_error, bearer, expect_status, instant, random_string, sorted, strings,
};
use shared::{
    auth::{ChatbotAccess, IdentityKeys},
    config::{Env, KafkaConfig},
    events::Topic,
    repos::Repos,
    testing::{Api, TestDatabase, TestRedis, accounts, kafka_config, kafka_env},
};

/// Where the test apps say the widget is served from (`PARLEY_PUBLIC_SOCKET_URL`).
pub const PUBLIC_SOCKET_URL: &str = "https://chat.parley.test";

/// The chatbot-provisioning function (what it derefs to) and the tenant function beside it.
pub struct TestApp {
    pub api: Api,
    pub tenant: Api,
    pub db: Arc<TestDatabase>,
    pub redis: Arc<TestRedis>,
    pub kafka: KafkaConfig,
    pub events: Arc<EventLog>,
    /// `PARLEY_JWT_KEYS` and `PARLEY_IDENTITY_KEYS` as the apps got them.
    pub jwt_keys: String,
    pub identity_keys: String,
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

/// The apps with extra variables for the chatbot function (e.g. `PARLEY_API_KEY_GRACE_HOURS`).
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    if std::env::var_os("RUST_LOG").is_some() {
        shared::telemetry::init();
    }
    let db = Arc::new(TestDatabase::new().await);
    let redis = Arc::new(TestRedis::new().await);
    let kafka = kafka_config();
    let jwt_keys = format!("test-1:{}", random_string(48));
    let identity_keys = format!("id-1:{}", random_string(48));
    let mut vars = db.env();
    vars.extend(redis.env());
    vars.extend(kafka_env(&kafka));
    vars.push(("PARLEY_JWT_KEYS", jwt_keys.clone()));
    vars.push(("PARLEY_IDENTITY_KEYS", identity_keys.clone()));
    vars.push(("PARLEY_PUBLIC_SOCKET_URL", PUBLIC_SOCKET_URL.to_owned()));

    let tenant_config = tenant::Config::from_env(&Env::from_pairs(vars.clone())).expect("a valid tenant config");
    let tenant_state = tenant::AppState::connect(&tenant_config).await.expect("the tenant app connects");
    let tenant = Api::new(shared::testing::serve(tenant::router(tenant_state)).await);

    for (name, value) in extra {
        vars.retain(|(n, _)| n != name);
        vars.push((name, value.to_string()));
    }
    let api = start(vars).await;
    let events = Arc::new(EventLog::start(&kafka, Topic::Tenants).await);
    TestApp { api, tenant, db, redis, kafka, events, jwt_keys, identity_keys }
}

async fn start(vars: Vec<(&str, String)>) -> Api {
    let config = chatbot_provisioning::Config::from_env(&Env::from_pairs(vars)).expect("a valid configuration");
    let state = chatbot_provisioning::AppState::connect(&config).await.expect("the app connects to its services");
    Api::new(shared::testing::serve(chatbot_provisioning::router(state)).await)
}

impl TestApp {
    /// The widget check as another process runs it: its own MongoDB and Redis connections (same
    /// database, same key prefix, so the same cache) and the same identity keys.
    pub async fn access(&self) -> ChatbotAccess {
        let redis = shared::redis::connect(&self.redis_config()).await.expect("Redis");
        let mongo = shared::mongo::connect(&self.mongo_config()).await.expect("MongoDB");
        let identity = IdentityKeys::from_env(&Env::from_pairs([(IdentityKeys::VAR, self.identity_keys.as_str())]))
            .expect("identity keys");
        ChatbotAccess::new(Repos::mongo(&mongo).chatbots, identity, Some(redis))
    }

    fn mongo_config(&self) -> shared::config::MongoConfig {
        shared::config::MongoConfig::required(&Env::from_pairs(self.db.env())).expect("the test database's config")
    }

    fn redis_config(&self) -> shared::config::RedisConfig {
        shared::config::RedisConfig::required(&Env::from_pairs(self.redis.env())).expect("the test Redis config")
    }

    /// Another chatbot-provisioning server on the same services and keys.
    pub async fn sibling(&self) -> Api {
        let mut vars = self.db.env();
        vars.extend(self.redis.env());
        vars.extend(kafka_env(&self.kafka));
        vars.push(("PARLEY_JWT_KEYS", self.jwt_keys.clone()));
        vars.push(("PARLEY_IDENTITY_KEYS", self.identity_keys.clone()));
        vars.push(("PARLEY_PUBLIC_SOCKET_URL", PUBLIC_SOCKET_URL.to_owned()));
        start(vars).await
    }

    /// The raw `chatbots` documents as MongoDB holds them.
    pub async fn stored_chatbots(&self) -> Vec<bson::Document> {
        use futures::TryStreamExt as _;
        let cursor = self.db.db.collection::<bson::Document>("chatbots").find(bson::doc! {}).await.expect("find");
        cursor.try_collect().await.expect("read the chatbots")
    }
}

// --- accounts, through the tenant function ------------------------------------------------------

/// A new tenant's admin (every permission).
pub async fn admin(app: &TestApp) -> Account {
    accounts::sign_up(&app.tenant).await
}

/// An agent of `admin`'s tenant with only the `agent` role (no `chatbots:manage`).
pub async fn agent(app: &TestApp, admin: &Account) -> Account {
    accounts::agent(&app.tenant, &app.events, admin).await
}

/// A user of `admin`'s tenant with a role holding exactly `permissions`.
pub async fn user_with(app: &TestApp, admin: &Account, permissions: &[&str]) -> Account {
    let role = accounts::create_role(&app.tenant, admin, &format!("role-{}", random_string(8)), permissions).await;
    accounts::invite_user_with_password(&app.tenant, &app.events, admin, &[&role]).await
}

// --- chatbots -----------------------------------------------------------------------------------

/// What `POST /chatbots` answered.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
    pub api_key: String,
    pub identity_secret: String,
    pub snippet: String,
    pub chatbot: Value,
}

/// A chatbot body allowed on `https://www.example.com` and `https://*.example.com`.
pub fn chatbot_body(name: &str) -> Value {
    json!({ "name": name, "allowedOrigins": ["https://www.example.com", "https://*.example.com"] })
}

/// Creates a chatbot with `body`; it must succeed.
pub async fn create_chatbot_with(app: &TestApp, by: &Account, body: Value) -> Created {
    let created = expect_status(app.post("/chatbots", by.bearer(), body).await, 201).await;
    Created {
        id: created["chatbot"]["id"].as_str().expect("chatbot.id").to_owned(),
        api_key: created["apiKey"].as_str().expect("apiKey").to_owned(),
        identity_secret: created["identitySecret"].as_str().expect("identitySecret").to_owned(),
        snippet: created["snippet"].as_str().expect("snippet").to_owned(),
        chatbot: created["chatbot"].clone(),
    }
}

pub async fn create_chatbot(app: &TestApp, by: &Account) -> Created {
    create_chatbot_with(app, by, chatbot_body("Support")).await
}

/// The chatbot as `GET /chatbots/{id}` shows it to `by`.
pub async fn get_chatbot(app: &TestApp, by: &Account, id: &str) -> Value {
    expect_status(app.get(&format!("/chatbots/{id}"), by.bearer()).await, 200).await
}

// --- crud.rs, permissions.rs, isolation.rs, bad_input.rs, snippet.rs -----------------------------

/// One request a test makes to a route: method, path, and a JSON body (`None`: sent without one).
pub type Call = (reqwest::Method, String, Option<Value>);

/// Every route that names the chatbot `id`, each with a body it would accept. `DELETE` comes last,
/// so a caller allowed to make every call can make them in this order.
pub fn chatbot_routes(id: &str) -> Vec<Call> {
    use reqwest::Method;
    let path = format!("/chatbots/{id}");
    vec![
        (Method::GET, path.clone(), None),
        (Method::PATCH, path.clone(), Some(json!({ "name": "Taken over", "status": "disabled" }))),
        (Method::GET, format!("{path}/snippet"), None),
        (Method::POST, format!("{path}/api-key/rotate"), Some(json!({ "graceSeconds": 0 }))),
        (Method::POST, format!("{path}/api-key/revoke"), None),
        (Method::POST, format!("{path}/identity-secret/rotate"), None),
        (Method::DELETE, path, None),
    ]
}

/// Every route of the function: the list, create, and the routes of the chatbot `id`.
pub fn every_route(id: &str) -> Vec<Call> {
    let mut calls = vec![
        (reqwest::Method::GET, "/chatbots".to_owned(), None),
        (reqwest::Method::POST, "/chatbots".to_owned(), Some(chatbot_body("Another"))),
    ];
    calls.extend(chatbot_routes(id));
    calls
}

/// Makes `call` as `caller`, whatever it answers.
pub async fn send(app: &TestApp, caller: Caller<'_>, call: &Call) -> reqwest::Response {
    let (method, path, body) = call;
    let request = app.request(method.clone(), path, caller);
    let request = match body {
        Some(body) => request.json(body),
        None => request,
    };
    request.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// The `chatbot.*` events about the chatbot `id` read so far.
pub fn chatbot_events(app: &TestApp, id: &str) -> Vec<Value> {
    app.events
        .all()
        .into_iter()
        .filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("chatbot.")) && e["data"]["chatbotId"] == id)
        .collect()
}

// --- the widget check, API keys and identity secrets (keys.rs, cache.rs, origins.rs, identity.rs) ---

/// An origin every chatbot made from [`chatbot_body`] allows.
pub const ALLOWED_ORIGIN: &str = "https://www.example.com";

/// What the widget check answers for `key` in `tenant`'s name from `origin` (`None`: no `Origin`
/// header): the chatbot's id, or the refusal's code.
pub async fn widget_check(
    access: &ChatbotAccess,
    tenant: &Account,
    key: &str,
    origin: Option<&str>,
) -> Result<String, &'static str> {
    let tenant = tenant.tenant_id.parse().expect("a tenant id");
    access.verify(&tenant, key, origin).await.map(|chatbot| chatbot.id.to_string()).map_err(|err| err.code())
}

/// The widget check from [`ALLOWED_ORIGIN`].
pub async fn check_key(access: &ChatbotAccess, tenant: &Account, key: &str) -> Result<String, &'static str> {
    widget_check(access, tenant, key, Some(ALLOWED_ORIGIN)).await
}

/// The widget check from [`ALLOWED_ORIGIN`], then the identity check of `email` with
/// `signature`, as a visitor session runs them.
pub async fn identity_check(
    access: &ChatbotAccess,
    tenant: &Account,
    key: &str,
    email: &str,
    signature: Option<&str>,
) -> Result<shared::auth::VisitorIdentity, &'static str> {
    let tenant = tenant.tenant_id.parse().expect("a tenant id");
    let chatbot = access.verify(&tenant, key, Some(ALLOWED_ORIGIN)).await.map_err(|err| err.code())?;
    access.check_identity(&chatbot, email, signature).map_err(|err| err.code())
}

/// What a tenant's backend sends to vouch for a visitor (docs/protocol.md): lower-case hex of
/// HMAC-SHA256 keyed with the identity secret's UTF-8 bytes over the email exactly as sent.
/// Computed here, not with Parley's own code, so a change to Parley's scheme fails the tests.
pub fn sign(identity_secret: &str, email: &str) -> String {
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(identity_secret.as_bytes()).expect("any key length");
    mac.update(email.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

async fn post_without_body(api: &Api, path: &str, by: &Account) -> reqwest::Response {
    api.request(reqwest::Method::POST, path, by.bearer()).send().await.expect("POST")
}

/// `POST /chatbots/{id}/api-key/rotate` on `api` with `body`, or with no body at all; it must
/// succeed. Answers `{chatbot, apiKey, snippet}`.
pub async fn rotate_key(api: &Api, by: &Account, id: &str, body: Option<Value>) -> Value {
    let path = format!("/chatbots/{id}/api-key/rotate");
    let response = match body {
        Some(body) => api.post(&path, by.bearer(), body).await,
        None => post_without_body(api, &path, by).await,
    };
    expect_status(response, 200).await
}

/// The new key a rotation answered.
pub fn new_key(rotated: &Value) -> String {
    rotated["apiKey"].as_str().unwrap_or_else(|| panic!("no apiKey in {rotated}")).to_owned()
}

/// `POST /chatbots/{id}/api-key/revoke` on `api`; it must succeed. Answers the chatbot.
pub async fn revoke_key(api: &Api, by: &Account, id: &str) -> Value {
    expect_status(post_without_body(api, &format!("/chatbots/{id}/api-key/revoke"), by).await, 200).await
}

/// `POST /chatbots/{id}/identity-secret/rotate` on `api`; it must succeed. Answers
/// `{chatbot, identitySecret}`.
pub async fn rotate_identity_secret(api: &Api, by: &Account, id: &str) -> Value {
    expect_status(post_without_body(api, &format!("/chatbots/{id}/identity-secret/rotate"), by).await, 200).await
}

/// The widget check's Redis entry for chatbot `id`: the chatbot in JSON, a tombstone after a
/// change, or nothing.
pub async fn cache_entry(app: &TestApp, id: &str) -> Option<String> {
    use redis::AsyncCommands as _;
    let mut conn = app.redis.redis.conn.clone();
    conn.get(app.redis.redis.keys.key(&["chatbot", id])).await.expect("GET the cache entry")
}

/// Deletes the widget check's Redis entry for chatbot `id`.
pub async fn forget_cache_entry(app: &TestApp, id: &str) {
    use redis::AsyncCommands as _;
    let mut conn = app.redis.redis.conn.clone();
    let _: () = conn.del(app.redis.redis.keys.key(&["chatbot", id])).await.expect("DEL the cache entry");
}
