//! Helpers for integration tests on the real services that `scripts/test` starts (or that
//! `MONGODB_URL`, `REDIS_URL` and `KAFKA_BROKERS` point at).
//!
//! Every test gets its own MongoDB database (`test_<uuid>`, dropped when the guard drops), its
//! own Redis key prefix (its keys deleted on drop) and its own Kafka topic prefix, so tests run
//! in parallel without seeing each other.

use std::{future::Future, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::config::{Env, KafkaConfig, MongoConfig, RedisConfig};

fn require(config: Result<Option<impl Sized>, crate::config::ConfigError>, var: &str) -> ! {
    match config {
        Err(err) => panic!("{err}"),
        _ => panic!("{var} is not set: run the tests with scripts/test, which starts the services"),
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", Uuid::new_v4().simple())
}

/// The services' settings from the environment, each with a fresh per-test namespace.
pub fn mongo_config() -> MongoConfig {
    let env = Env::from_process();
    match MongoConfig::from_env(&env) {
        Ok(Some(config)) => MongoConfig { database: unique("test_"), ..config },
        other => require(other, "PARLEY_MONGODB_URL"),
    }
}

pub fn redis_config() -> RedisConfig {
    let env = Env::from_process();
    match RedisConfig::from_env(&env) {
        Ok(Some(config)) => RedisConfig { key_prefix: format!("{}:", unique("test:")), ..config },
        other => require(other, "PARLEY_REDIS_URL"),
    }
}

pub fn kafka_config() -> KafkaConfig {
    let env = Env::from_process();
    match KafkaConfig::from_env(&env) {
        Ok(Some(config)) => KafkaConfig { topic_prefix: format!("{}.", unique("test_")), ..config },
        other => require(other, "PARLEY_KAFKA_BROKERS"),
    }
}

/// A fresh database with Parley's indexes, dropped when this guard drops.
pub struct TestDatabase {
    pub db: mongodb::Database,
    url: SecretString,
}

impl TestDatabase {
    pub async fn new() -> Self {
        let config = mongo_config();
        let db = crate::mongo::connect(&config).await.unwrap_or_else(|e| panic!("{e}"));
        crate::mongo::ensure_indexes(&db).await.expect("ensure_indexes");
        Self { db, url: config.url }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // The test's runtime may be shutting down, so the drop runs on a runtime of its own.
        let url = self.url.expose_secret().to_owned();
        let name = self.db.name().to_owned();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let client = mongodb::Client::with_uri_str(&url).await.ok()?;
                client.database(&name).drop().await.ok()
            })
        })
        .join();
    }
}

/// A Redis connection with a fresh key prefix; its keys are deleted when this guard drops.
pub struct TestRedis {
    pub redis: crate::redis::Redis,
    url: SecretString,
}

impl TestRedis {
    pub async fn new() -> Self {
        let config = redis_config();
        let redis = crate::redis::connect(&config).await.unwrap_or_else(|e| panic!("{e}"));
        Self { redis, url: config.url }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let url = self.url.expose_secret().to_owned();
        let pattern = format!("{}*", self.redis.keys.prefix());
        let _ = std::thread::spawn(move || -> redis::RedisResult<()> {
            let mut conn = redis::Client::open(url)?.get_connection()?;
            let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query(&mut conn)?;
            if !keys.is_empty() {
                redis::cmd("DEL").arg(keys).exec(&mut conn)?;
            }
            Ok(())
        })
        .join();
    }
}

/// Polls `check` every 20 ms until it answers `Some`, failing the test after `timeout`.
/// This is how tests wait for something to happen: never a bare sleep.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
