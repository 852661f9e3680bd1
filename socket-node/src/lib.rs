//! The socket-node: Parley's long-lived WebSocket service. It will hold visitor sessions and
//! live chatrooms, fan messages out across nodes through Redis, publish events to Kafka, and
//! serve the embeddable widget and the agent console.
//!
//! Run it with `cargo run -p socket-node` (listening on `PARLEY_HTTP_ADDR`, default
//! `127.0.0.1:8090`). It needs MongoDB (`PARLEY_MONGODB_URL`), Redis (`PARLEY_REDIS_URL`) and
//! Kafka (`PARLEY_KAFKA_BROKERS`): at start-up it connects to all three, creates its indexes
//! and topics, and exits with one line naming the service when one is unreachable.
//!
//! Routes so far: `GET /healthz`. Chatrooms come with their issue.
//!
//! Tests: `scripts/test -p socket-node`.

use std::{net::SocketAddr, sync::Arc};

use axum::Router;
use shared::{
    config::{ConfigError, Env, HttpConfig, KafkaConfig, MongoConfig, RedisConfig},
    error::ServiceError,
    events::{EventPublisher, KafkaPublisher, Topic},
    redis::Redis,
    repos::Repos,
};

pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8090);

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    pub mongo: MongoConfig,
    pub redis: RedisConfig,
    pub kafka: KafkaConfig,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            http: HttpConfig::from_env(env, DEFAULT_ADDR)?,
            mongo: MongoConfig::required(env)?,
            redis: RedisConfig::required(env)?,
            kafka: KafkaConfig::required(env)?,
        })
    }
}

#[derive(Clone)]
pub struct AppState {
    pub repos: Repos,
    pub redis: Redis,
    pub events: Arc<dyn EventPublisher>,
}

impl AppState {
    /// Connects to MongoDB, Redis and Kafka (in that order), creating indexes and topics.
    pub async fn connect(config: &Config) -> Result<Self, ServiceError> {
        let db = shared::mongo::open(&config.mongo).await?;
        let redis = shared::redis::connect(&config.redis).await?;
        let events = KafkaPublisher::connect(&config.kafka).await?;
        shared::events::ensure_topics(&config.kafka, &Topic::ALL).await?;
        Ok(Self { repos: Repos::mongo(&db), redis, events: Arc::new(events) })
    }
}

pub fn router(state: AppState) -> Router {
    shared::http::health_routes().with_state(state)
}
