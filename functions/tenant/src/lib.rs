//! The tenant function: tenant accounts, agent and admin users, roles and permissions.
//!
//! It runs on AWS Lambda, under `cargo lambda watch`, or as a plain server (`cargo run -p tenant`,
//! listening on `PARLEY_HTTP_ADDR`, default `127.0.0.1:8081`), and needs MongoDB
//! (`PARLEY_MONGODB_URL`). At start-up it connects, creates its indexes, and serves.
//!
//! Routes so far: `GET /healthz`. Sign-up, login, users and roles come with their issue.
//!
//! Tests: `scripts/test -p tenant`.

use std::net::SocketAddr;

use axum::Router;
use shared::{
    config::{ConfigError, Env, HttpConfig, MongoConfig},
    error::ServiceError,
    repos::Repos,
};

pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8081);

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    pub mongo: MongoConfig,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self { http: HttpConfig::from_env(env, DEFAULT_ADDR)?, mongo: MongoConfig::required(env)? })
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub repos: Repos,
}

impl AppState {
    /// Connects to MongoDB and makes sure the indexes exist.
    pub async fn connect(config: &Config) -> Result<Self, ServiceError> {
        let db = shared::mongo::open(&config.mongo).await?;
        Ok(Self { repos: Repos::mongo(&db) })
    }
}

pub fn router(state: AppState) -> Router {
    shared::http::health_routes().with_state(state)
}
