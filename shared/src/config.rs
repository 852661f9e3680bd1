//! Typed configuration from `PARLEY_*` environment variables.
//!
//! Each binary builds its own `Config` from the sections here. A missing or malformed value is a
//! [`ConfigError`] that names the variable, so a binary exits with one line such as
//! `PARLEY_HTTP_ADDR: invalid socket address syntax (got "abc")`. Secrets are held in
//! [`SecretString`] and never printed: their values are left out of errors too.

use std::{collections::HashMap, fmt::Display, net::SocketAddr, str::FromStr, time::Duration};

use secrecy::SecretString;

/// A bad or missing configuration value, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {reason}")]
pub struct ConfigError {
    pub var: String,
    pub reason: String,
}

impl ConfigError {
    /// `name` is required but not set.
    pub fn missing(name: &str) -> Self {
        Self { var: name.to_owned(), reason: "is required but not set".to_owned() }
    }
}

/// A snapshot of the environment to read configuration from.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// The current process environment.
    pub fn from_process() -> Self {
        Self { vars: std::env::vars().collect() }
    }

    /// A fixed set of variables, for tests and for the local-dev runner.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// This environment with `defaults` for the variables it does not set (how the local-dev
    /// runner hands every part the same generated keys and its own address).
    pub fn with_defaults<K: Into<String>, V: Into<String>>(&self, defaults: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut vars = self.vars.clone();
        for (name, value) in defaults {
            let name = name.into();
            if vars.get(&name).is_none_or(|v| v.trim().is_empty()) {
                vars.insert(name, value.into());
            }
        }
        Self { vars }
    }

    /// The raw value of the first of `names` that is set and not empty.
    fn raw<'a>(&self, names: &[&'a str]) -> Option<(&'a str, &str)> {
        names.iter().find_map(|name| {
            self.vars.get(*name).map(String::as_str).filter(|v| !v.trim().is_empty()).map(|v| (*name, v))
        })
    }

    /// Parses `name` when it is set; `Ok(None)` when it is not.
    pub fn optional<T>(&self, name: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.optional_any(&[name])
    }

    /// Like [`Env::optional`], reading the first of several names (e.g. `PARLEY_MONGODB_URL` and
    /// the conventional `MONGODB_URL`).
    pub fn optional_any<T>(&self, names: &[&str]) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        let Some((name, value)) = self.raw(names) else { return Ok(None) };
        value
            .trim()
            .parse()
            .map(Some)
            .map_err(|e: T::Err| ConfigError { var: name.to_owned(), reason: format!("{e} (got {value:?})") })
    }

    /// Parses `name`, or answers `default` when it is not set.
    pub fn or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        Ok(self.optional(name)?.unwrap_or(default))
    }

    /// A secret: its value never appears in an error or a log.
    pub fn secret_any(&self, names: &[&str]) -> Option<SecretString> {
        self.raw(names).map(|(_, v)| SecretString::from(v.trim().to_owned()))
    }
}

/// Where an HTTP binary listens (`PARLEY_HTTP_ADDR`), and how often a long-lived one says it is
/// there (`PARLEY_HEARTBEAT_SECS`, default 5; see [`crate::discovery`]).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub addr: SocketAddr,
    pub heartbeat: Duration,
}

impl HttpConfig {
    pub fn from_env(env: &Env, default_addr: SocketAddr) -> Result<Self, ConfigError> {
        Ok(Self { addr: env.or("PARLEY_HTTP_ADDR", default_addr)?, heartbeat: Self::heartbeat(env)? })
    }

    /// `PARLEY_HEARTBEAT_SECS` alone (default 5, at least 1).
    pub fn heartbeat(env: &Env) -> Result<Duration, ConfigError> {
        const VAR: &str = "PARLEY_HEARTBEAT_SECS";
        let secs: u64 = env.or(VAR, 5)?;
        if secs == 0 {
            return Err(ConfigError { var: VAR.into(), reason: "must be at least 1".into() });
        }
        Ok(Duration::from_secs(secs))
    }
}

/// The MongoDB connection (`PARLEY_MONGODB_URL` or `MONGODB_URL`, `PARLEY_MONGODB_DATABASE`).
/// The URL may carry a password, so it is a secret.
#[derive(Debug, Clone)]
pub struct MongoConfig {
    pub url: SecretString,
    pub database: String,
}

impl MongoConfig {
    pub const URL_VARS: [&str; 2] = ["PARLEY_MONGODB_URL", "MONGODB_URL"];

    /// `None` when no URL is configured (the local-dev runner then keeps data in memory).
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(url) = env.secret_any(&Self::URL_VARS) else { return Ok(None) };
        let database: String = env.or("PARLEY_MONGODB_DATABASE", "parley".to_owned())?;
        crate::mongo::validate_database_name(&database)
            .map_err(|reason| ConfigError { var: "PARLEY_MONGODB_DATABASE".into(), reason })?;
        Ok(Some(Self { url, database }))
    }

    /// Like [`MongoConfig::from_env`] for binaries that cannot run without MongoDB.
    pub fn required(env: &Env) -> Result<Self, ConfigError> {
        Self::from_env(env)?.ok_or_else(|| ConfigError::missing(Self::URL_VARS[0]))
    }
}

/// The Redis connection (`PARLEY_REDIS_URL` or `REDIS_URL`) and the prefix of every key Parley
/// writes (`PARLEY_REDIS_PREFIX`, default `parley:`), so several deployments or tests can share
/// one server.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub url: SecretString,
    pub key_prefix: String,
}

impl RedisConfig {
    pub const URL_VARS: [&str; 2] = ["PARLEY_REDIS_URL", "REDIS_URL"];

    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(url) = env.secret_any(&Self::URL_VARS) else { return Ok(None) };
        let key_prefix = env.or("PARLEY_REDIS_PREFIX", "parley:".to_owned())?;
        Ok(Some(Self { url, key_prefix }))
    }

    pub fn required(env: &Env) -> Result<Self, ConfigError> {
        Self::from_env(env)?.ok_or_else(|| ConfigError::missing(Self::URL_VARS[0]))
    }
}

/// The Kafka (or Redpanda) brokers (`PARLEY_KAFKA_BROKERS` or `KAFKA_BROKERS`, comma-separated
/// `host:port`), the prefix of Parley's topic names (`PARLEY_KAFKA_TOPIC_PREFIX`, default none),
/// and how Parley creates its topics at start-up (`PARLEY_KAFKA_PARTITIONS`, default 3;
/// `PARLEY_KAFKA_REPLICATION`, default 1).
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    pub brokers: String,
    pub topic_prefix: String,
    pub partitions: i32,
    pub replication: i32,
}

impl KafkaConfig {
    pub const BROKERS_VARS: [&str; 2] = ["PARLEY_KAFKA_BROKERS", "KAFKA_BROKERS"];

    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(brokers) = env.optional_any::<BrokerList>(&Self::BROKERS_VARS)? else { return Ok(None) };
        let topic_prefix = env.or("PARLEY_KAFKA_TOPIC_PREFIX", String::new())?;
        let partitions = env.or("PARLEY_KAFKA_PARTITIONS", Positive(3))?.0;
        let replication = env.or("PARLEY_KAFKA_REPLICATION", Positive(1))?.0;
        Ok(Some(Self { brokers: brokers.0, topic_prefix, partitions, replication }))
    }

    pub fn required(env: &Env) -> Result<Self, ConfigError> {
        Self::from_env(env)?.ok_or_else(|| ConfigError::missing(Self::BROKERS_VARS[0]))
    }
}

/// A count of at least one.
struct Positive(i32);

impl FromStr for Positive {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.parse::<i32>() {
            Ok(n) if n >= 1 => Ok(Self(n)),
            _ => Err("expected a whole number of at least 1"),
        }
    }
}

/// A comma-separated list of `host:port` pairs.
struct BrokerList(String);

impl FromStr for BrokerList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        for broker in s.split(',').map(str::trim) {
            let (host, port) = broker
                .rsplit_once(':')
                .ok_or_else(|| format!("expected host:port pairs separated by commas, found {broker:?}"))?;
            if host.is_empty() || port.parse::<u16>().is_err() {
                return Err(format!("expected host:port pairs separated by commas, found {broker:?}"));
            }
        }
        Ok(Self(s.trim().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn a_malformed_value_names_the_variable() {
        let env = Env::from_pairs([("PARLEY_HTTP_ADDR", "not-an-address")]);
        let err = HttpConfig::from_env(&env, "127.0.0.1:1".parse().unwrap()).unwrap_err();
        assert_eq!(err.var, "PARLEY_HTTP_ADDR");
        assert!(err.to_string().starts_with("PARLEY_HTTP_ADDR: "), "{err}");
    }

    #[test]
    fn the_prefixed_name_wins_over_the_conventional_one() {
        let env = Env::from_pairs([("PARLEY_MONGODB_URL", "mongodb://a/"), ("MONGODB_URL", "mongodb://b/")]);
        let config = MongoConfig::required(&env).unwrap();
        assert_eq!(config.url.expose_secret(), "mongodb://a/");
        let env = Env::from_pairs([("MONGODB_URL", "mongodb://b/")]);
        assert_eq!(MongoConfig::required(&env).unwrap().url.expose_secret(), "mongodb://b/");
    }

    #[test]
    fn a_missing_required_service_names_its_variable() {
        let err = KafkaConfig::required(&Env::default()).unwrap_err();
        assert_eq!(err.to_string(), "PARLEY_KAFKA_BROKERS: is required but not set");
    }

    #[test]
    fn broker_lists_are_checked() {
        let env = Env::from_pairs([("KAFKA_BROKERS", "localhost:9092,kafka")]);
        let err = KafkaConfig::from_env(&env).unwrap_err();
        assert_eq!(err.var, "KAFKA_BROKERS");
        let env = Env::from_pairs([("KAFKA_BROKERS", "localhost:9092, 10.0.0.1:19092")]);
        assert!(KafkaConfig::from_env(&env).unwrap().is_some());
    }

    #[test]
    fn a_bad_database_name_is_refused() {
        let env = Env::from_pairs([("MONGODB_URL", "mongodb://a/"), ("PARLEY_MONGODB_DATABASE", "a/b")]);
        assert_eq!(MongoConfig::from_env(&env).unwrap_err().var, "PARLEY_MONGODB_DATABASE");
    }
}
