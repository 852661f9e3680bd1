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

use std::net::SocketAddr;

use axum::Router;
use shared::{
    config::{ConfigError, Env, HttpConfig, MongoConfig},
    repos::Repos,
    telemetry::exit_on_error,
};

const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

struct Config {
    http: HttpConfig,
    mongo: Option<MongoConfig>,
}

impl Config {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self { http: HttpConfig::from_env(env, DEFAULT_ADDR)?, mongo: MongoConfig::from_env(env)? })
    }
}

/// Every function's router, each under its production path.
fn app(repos: Repos) -> Router {
    Router::new()
        .nest("/api/tenant", tenant::router(tenant::AppState { repos }))
        .nest("/api/chatbots", chatbot_provisioning::router())
        .nest("/api/analytics", analytics::router())
        .nest("/api/email", email::router())
}

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let config = exit_on_error(Config::from_env(&Env::from_process()));
    let (repos, storage) = match &config.mongo {
        Some(mongo) => {
            let db = exit_on_error(shared::mongo::connect(mongo).await);
            exit_on_error(shared::mongo::ensure_indexes(&db).await);
            (Repos::mongo(&db), format!("MongoDB database {:?}", mongo.database))
        }
        None => (Repos::memory(), "process memory (set MONGODB_URL to use MongoDB)".to_owned()),
    };
    let listener = exit_on_error(shared::http::bind(config.http.addr).await);
    let base = format!("http://{}", listener.local_addr().unwrap_or(config.http.addr));
    println!("Parley is running at {base}");
    println!("  storage:   {storage}");
    for (name, path) in [
        ("tenant", "/api/tenant"),
        ("chatbots", "/api/chatbots"),
        ("analytics", "/api/analytics"),
        ("email", "/api/email"),
    ] {
        println!("  {name:<10} {base}{path}/healthz");
    }
    println!("Press Ctrl-C to stop.");
    let router = shared::http::with_common_layers(app(repos));
    exit_on_error(shared::http::serve_on(listener, router, shared::http::shutdown_signal()).await);
}
