//! Helpers for integration tests on the real services that `scripts/test` starts (or that
//! `MONGODB_URL`, `REDIS_URL` and `KAFKA_BROKERS` point at). Enabled by the `testing` feature,
//! which crates turn on for their tests only (`[dev-dependencies]`).
//!
//! Every test gets its own MongoDB database (`test_<uuid>`, dropped when the guard drops), its
//! own Redis key prefix (its keys deleted on drop) and its own Kafka topic prefix, so tests run
//! in parallel without seeing each other.
//!
//! - here: those namespaces ([`TestDatabase`], [`TestRedis`], [`kafka_config`]), [`eventually`]
//!   (how a test waits), and running a workspace binary to its exit ([`binary`], [`run_to_exit`]);
//! - [`client`]: an app served in-process on a free port ([`serve`]) and an HTTP [`Api`] to it,
//!   requests as a [`Caller`], checks on responses, random values;
//! - [`event_log`]: one of the test's topics read from the beginning ([`EventLog`]);
//! - [`private_kafka`]: a Kafka broker of the test's own, to stop and restart ([`PrivateKafka`]);
//! - [`bench`]: the bench programs' quantiles and where they save their figures;
//! - [`hostile_tokens`]: forged and time-shifted variants of a valid token;
//! - [`accounts`]: tenants, admins and agents made through the tenant function's HTTP API;
//! - [`lambda`]: a stand-in for the Lambda Runtime API, to run a function binary as on Lambda;
//! - [`mailbox`]: mail read back from the SMTP server (Mailpit) the harness runs, and private
//!   SMTP servers to start late;
//! - [`openapi`]: the committed OpenAPI documents the console is typed from, kept current;
//! - [`snapshot`]: everything a test's app could change (MongoDB, Redis, Kafka) read at once
//!   ([`StateSnapshot`]), and what changed between two readings;
//! - [`tinybird`]: the local Tinybird stand-in on chDB ([`TinybirdStandIn`]);
//! - [`adversarial`]: every operation of an OpenAPI document attacked with hostile tokens,
//!   another tenant's ids and operator injection, checking the answer and that nothing changed.

use std::{future::Future, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

pub mod accounts;
pub mod adversarial;
pub mod bench;
pub mod client;
pub mod event_log;
pub mod hostile_tokens;
pub mod lambda;
pub mod mailbox;
pub mod openapi;
pub mod private_kafka;
pub mod snapshot;
pub mod tinybird;

pub use accounts::{ALL_PERMISSIONS, Account, Invitation, Tokens};
pub use client::{
    Api, Caller, anonymous, assert_error, bearer, expect_status, from_ip, instant, random_ip, random_string, serve,
    sorted, strings, strong_password, unique_email,
};
pub use event_log::{EVENT_TIMEOUT, EventLog};
pub use hostile_tokens::{HostileToken, hostile_tokens};
pub use mailbox::{Mail, Mailbox, PrivateMailpit};
pub use private_kafka::PrivateKafka;
pub use snapshot::{StateSnapshot, Watch};
pub use tinybird::TinybirdStandIn;

use crate::config::{ConfigError, Env, KafkaConfig, MongoConfig, RedisConfig};

/// Reads one service's settings from the environment, or fails the test saying how to start it.
fn from_env<T>(read: fn(&Env) -> Result<Option<T>, ConfigError>, var: &str) -> T {
    match read(&Env::from_process()) {
        Ok(Some(config)) => config,
        Ok(None) => panic!("{var} is not set: run the tests with scripts/test, which starts the services"),
        Err(err) => panic!("{err}"),
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", Uuid::new_v4().simple())
}

/// The services' settings from the environment, each with a fresh per-test namespace.
pub fn mongo_config() -> MongoConfig {
    MongoConfig { database: unique("test_"), ..from_env(MongoConfig::from_env, "PARLEY_MONGODB_URL") }
}

pub fn redis_config() -> RedisConfig {
    RedisConfig { key_prefix: format!("{}:", unique("test:")), ..from_env(RedisConfig::from_env, "PARLEY_REDIS_URL") }
}

pub fn kafka_config() -> KafkaConfig {
    KafkaConfig {
        topic_prefix: format!("{}.", unique("test_")),
        ..from_env(KafkaConfig::from_env, "PARLEY_KAFKA_BROKERS")
    }
}

/// The variables that point a child process at these brokers, under this topic prefix.
pub fn kafka_env(config: &KafkaConfig) -> Vec<(&'static str, String)> {
    vec![("PARLEY_KAFKA_BROKERS", config.brokers.clone()), ("PARLEY_KAFKA_TOPIC_PREFIX", config.topic_prefix.clone())]
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

impl TestDatabase {
    /// The variables that point a child process at this database.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PARLEY_MONGODB_URL", self.url.expose_secret().to_owned()),
            ("PARLEY_MONGODB_DATABASE", self.db.name().to_owned()),
        ]
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

impl TestRedis {
    /// The variables that point a child process at this Redis, under this key prefix.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PARLEY_REDIS_URL", self.url.expose_secret().to_owned()),
            ("PARLEY_REDIS_PREFIX", self.redis.keys.prefix().to_owned()),
        ]
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

/// A workspace binary with an empty environment (but `PATH`), so only what the test sets
/// configures it: `binary(env!("CARGO_BIN_EXE_tenant"))`.
pub fn binary(path: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(path);
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).kill_on_drop(true);
    command
}

/// What a binary printed and how it ended.
pub struct Exit {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Exit {
    /// The one line a binary prints when it cannot start, checking it printed nothing else: no
    /// panic, no backtrace, no log noise.
    pub fn single_error_line(&self) -> &str {
        assert!(!self.status.success(), "the binary was expected to fail; it exited with {}", self.status);
        assert!(!self.stderr.contains("panicked"), "the binary panicked: {}", self.stderr);
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "expected one line, got: {}", self.stderr);
        lines[0]
    }
}

/// Runs a binary to its exit, failing the test if it still runs after `timeout` (it is killed).
pub async fn run_to_exit(mut command: tokio::process::Command, timeout: Duration) -> Exit {
    command.kill_on_drop(true).stdin(std::process::Stdio::null());
    let output = tokio::time::timeout(timeout, command.output())
        .await
        .unwrap_or_else(|_| panic!("the binary was still running after {timeout:?}"))
        .expect("the binary could not be started");
    Exit {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A loopback port with nothing listening on it (for "service unreachable" tests).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// An event as any producer might send it, typed or not: for odd, partial or unusable input
/// (real producers build an [`crate::events::Event`]).
pub fn raw_event(
    topic: crate::events::Topic,
    event_type: &str,
    tenant: crate::domain::TenantId,
    key: impl ToString,
    data: serde_json::Value,
) -> crate::events::OutgoingEvent {
    crate::events::OutgoingEvent {
        topic,
        key: key.to_string(),
        envelope: crate::events::Envelope {
            id: crate::domain::EventId::new(),
            event_type: event_type.to_owned(),
            tenant_id: tenant,
            occurred_at: crate::domain::Timestamp::now(),
            data,
        },
    }
}
