//! The Redis connection and Parley's key prefix.
//!
//! Redis holds live state only (presence, queues, timers, rate limits, caches); MongoDB is the
//! source of truth. Every key Parley writes starts with the configured prefix, so several
//! deployments, or parallel tests, can share one server.

use std::time::Duration;

use redis::{AsyncCommands as _, aio::ConnectionManager, aio::ConnectionManagerConfig};
use secrecy::ExposeSecret;

use crate::{config::RedisConfig, error::ServiceError};

/// A connection (multiplexed, reconnecting), the key prefix, and the client, for the dedicated
/// connections that pub/sub needs.
#[derive(Clone)]
pub struct Redis {
    pub conn: ConnectionManager,
    pub keys: Keys,
    pub client: redis::Client,
}

/// Builds prefixed keys: `keys.key(&["queue", tenant])` → `parley:queue:<tenant>`.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into() }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                key.push(':');
            }
            key.push_str(part);
        }
        key
    }
}

/// Connects and checks the server answers `PING` within a few seconds. Fails with a
/// [`ServiceError`] naming Redis and its address (never the URL, which may hold a password).
pub async fn connect(config: &RedisConfig) -> Result<Redis, ServiceError> {
    let client = redis::Client::open(config.url.expose_secret())
        .map_err(|_| ServiceError::misconfigured("Redis", "PARLEY_REDIS_URL is not a valid redis:// URL"))?;
    let address = client.get_connection_info().addr().to_string();
    let unreachable = |err: redis::RedisError| ServiceError::unreachable("Redis", &address, err.to_string());

    let manager_config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(3)))
        .set_response_timeout(Some(Duration::from_secs(3)))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(500));
    let mut conn =
        tokio::time::timeout(Duration::from_secs(8), client.clone().get_connection_manager_with_config(manager_config))
            .await
            .map_err(|_| ServiceError::unreachable("Redis", &address, "no answer within 8s"))?
            .map_err(unreachable)?;
    let _: String = conn.ping().await.map_err(unreachable)?;
    Ok(Redis { conn, keys: Keys::new(config.key_prefix.clone()), client })
}

#[cfg(test)]
mod tests {
    use super::Keys;

    #[test]
    fn keys_carry_the_prefix() {
        let keys = Keys::new("parley:");
        assert_eq!(keys.key(&["queue", "t1"]), "parley:queue:t1");
    }
}
