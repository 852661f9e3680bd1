//! Parley's all-in-one runner (`scripts/dev`, or `cargo run -p local-dev`): every function in one
//! process, on one address.
//!
//! With no services configured it keeps everything in process memory (the embedded default);
//! with `MONGODB_URL` (or `PARLEY_MONGODB_URL`) set it stores data in that MongoDB. It listens
//! on `PARLEY_HTTP_ADDR` (default `127.0.0.1:8080`) and mounts each function under the path
//! nginx gives it in production:
//!
//! - `/api/tenant/...`    the tenant function
//! - `/api/chatbots/...`  the chatbot-provisioning function
//! - `/api/analytics/...` the analytics function
//! - `/api/email/...`     the email function
//!
//! The socket-node, the widget and the console join it with the chatrooms issue.
//!
//! Tests: `scripts/test -p local-dev`.

use std::net::SocketAddr;

use axum::Router;
use shared::{
    config::{ConfigError, Env, HttpConfig, MongoConfig},
    error::ServiceError,
    repos::Repos,
};

pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

/// Where each function is mounted, as nginx routes it in production.
pub const MOUNTS: [(&str, &str); 4] = [
    ("tenant", "/api/tenant"),
    ("chatbots", "/api/chatbots"),
    ("analytics", "/api/analytics"),
    ("email", "/api/email"),
];

pub struct Config {
    pub http: HttpConfig,
    pub mongo: Option<MongoConfig>,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self { http: HttpConfig::from_env(env, DEFAULT_ADDR)?, mongo: MongoConfig::from_env(env)? })
    }
}

/// The storage the runner uses, and a line saying which.
pub async fn storage(config: &Config) -> Result<(Repos, String), ServiceError> {
    match &config.mongo {
        Some(mongo) => {
            let db = shared::mongo::open(mongo).await?;
            Ok((Repos::mongo(&db), format!("MongoDB database {:?}", mongo.database)))
        }
        None => Ok((Repos::memory(), "process memory (set MONGODB_URL to use MongoDB)".to_owned())),
    }
}

/// Every function's router, each under its production path.
pub fn app(repos: Repos) -> Router {
    let [tenant, chatbots, analytics, email] = MOUNTS.map(|(_, path)| path);
    Router::new()
        .nest(tenant, tenant::router(tenant::AppState { repos }))
        .nest(chatbots, chatbot_provisioning::router())
        .nest(analytics, analytics::router())
        .nest(email, email::router())
}
