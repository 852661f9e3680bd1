//! The email function: Kafka-triggered notifications (welcome, new-chatroom alerts, transcripts, password reset, invitations) over SES v2 or SMTP.
//!
//! It runs on AWS Lambda, under `cargo lambda watch`, or as a plain server (`cargo run -p email`,
//! listening on `PARLEY_HTTP_ADDR`, default `127.0.0.1:8084`).
//!
//! Routes so far: `GET /healthz`. Its features come with their issue; until then it serves
//! nothing else.
//!
//! Tests: `scripts/test -p email`.

use std::net::SocketAddr;

use axum::Router;
use shared::config::{ConfigError, Env, HttpConfig};

pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8084);

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
