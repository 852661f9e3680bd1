//! The chatbot-provisioning function: chatbots, API keys (create, rotate, revoke), allowed origins, widget settings and the embed snippet.
//!
//! It runs on AWS Lambda, under `cargo lambda watch`, or as a plain server (`cargo run -p chatbot-provisioning`,
//! listening on `PARLEY_HTTP_ADDR`, default `127.0.0.1:8082`).
//!
//! Routes so far: `GET /healthz`. Its features come with their issue; until then it serves
//! nothing else.
//!
//! Tests: `scripts/test -p chatbot-provisioning`.

use std::net::SocketAddr;

use axum::Router;
use shared::config::{ConfigError, Env, HttpConfig};

pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8082);

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self { http: HttpConfig::from_env(env, DEFAULT_ADDR)? })
    }
}

pub fn router() -> Router {
    shared::http::health_routes()
}
