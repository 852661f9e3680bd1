//! The services Parley runs on (MongoDB, Redis, Kafka), configured and connected in one place.
//!
//! Every binary reads [`ServicesConfig`] and calls [`Services::connect`]: the socket-node and most
//! functions need all three ([`ServicesConfig::required`]), the email function only MongoDB and
//! Kafka ([`ServicesConfig::requiring`]); the local-dev runner takes what is configured and keeps
//! the rest in process memory ([`ServicesConfig::from_env`]). From the connected services come
//! the pieces the binaries are built from: the repositories, the rate limiter and the event
//! publisher (Kafka behind the MongoDB outbox when both are there); a part a binary cannot do
//! without is taken with [`Service::need`].

use std::{future::Future, sync::Arc};

use tokio::task::JoinHandle;

use crate::{
    config::{ConfigError, Env, KafkaConfig, MongoConfig, RedisConfig},
    error::ServiceError,
    events::{EventPublisher, KafkaPublisher, MemoryPublisher, Topic},
    ratelimit::{MemoryRateLimiter, RateLimiter, RedisRateLimiter},
    redis::Redis,
    repos::Repos,
};

/// One of the services Parley runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Mongo,
    Redis,
    Kafka,
}

impl Service {
    pub const ALL: [Self; 3] = [Self::Mongo, Self::Redis, Self::Kafka];

    /// How errors name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mongo => "MongoDB",
            Self::Redis => "Redis",
            Self::Kafka => "Kafka",
        }
    }

    /// The variable that says where it is.
    pub fn var(self) -> &'static str {
        match self {
            Self::Mongo => MongoConfig::URL_VARS[0],
            Self::Redis => RedisConfig::URL_VARS[0],
            Self::Kafka => KafkaConfig::BROKERS_VARS[0],
        }
    }

    /// `part` (this service's config or connection), or a [`ServiceError`] naming the service and
    /// its variable when it is not there: for a binary that cannot run without it, given a
    /// [`ServicesConfig`] that left it out.
    pub fn need<T>(self, part: Option<T>) -> Result<T, ServiceError> {
        part.ok_or_else(|| ServiceError::misconfigured(self.name(), format!("{} is not set", self.var())))
    }
}

/// Where the services are; each `None` when it is not configured.
#[derive(Debug, Clone, Default)]
pub struct ServicesConfig {
    pub mongo: Option<MongoConfig>,
    pub redis: Option<RedisConfig>,
    pub kafka: Option<KafkaConfig>,
}

impl ServicesConfig {
    /// What is configured (`MONGODB_URL`, `REDIS_URL`, `KAFKA_BROKERS` and their `PARLEY_` names).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            mongo: MongoConfig::from_env(env)?,
            redis: RedisConfig::from_env(env)?,
            kafka: KafkaConfig::from_env(env)?,
        })
    }

    /// All three, for binaries that cannot run without them; a missing one is named.
    pub fn required(env: &Env) -> Result<Self, ConfigError> {
        Self::requiring(env, &Service::ALL)
    }

    /// `services` and nothing else, for a binary that needs only those: a missing one is named
    /// (MongoDB's first, then Redis's, then Kafka's); the others are `None` even when set, so
    /// the binary never connects to them.
    pub fn requiring(env: &Env, services: &[Service]) -> Result<Self, ConfigError> {
        let needs = |service| services.contains(&service);
        Ok(Self {
            mongo: if needs(Service::Mongo) { Some(MongoConfig::required(env)?) } else { None },
            redis: if needs(Service::Redis) { Some(RedisConfig::required(env)?) } else { None },
            kafka: if needs(Service::Kafka) { Some(KafkaConfig::required(env)?) } else { None },
        })
    }
}

/// The connected services, and the repositories and rate limiter over them (made once, so
/// every part of a process shares them, in memory too).
#[derive(Clone)]
pub struct Services {
    pub db: Option<mongodb::Database>,
    pub redis: Option<Redis>,
    pub kafka: Option<(KafkaPublisher, KafkaConfig)>,
    repos: Repos,
    limiter: Arc<dyn RateLimiter>,
}

/// Where events go, and what keeps them going.
pub struct EventPipeline {
    pub publisher: Arc<dyn EventPublisher>,
    /// The outbox relay (with Kafka and MongoDB): it runs until the future given to
    /// [`Services::events`] resolves.
    pub relay: Option<JoinHandle<()>>,
    /// The in-process bus, when there is no Kafka (consumers subscribe to it).
    pub memory: Option<Arc<MemoryPublisher>>,
}

impl Services {
    /// Connects what `config` names, in order MongoDB (creating the indexes), Redis, Kafka
    /// (creating `topics`, when there are any). A service that cannot be reached ends it with a
    /// [`ServiceError`] naming the service and its address.
    pub async fn connect(config: &ServicesConfig, topics: &[Topic]) -> Result<Self, ServiceError> {
        let db = match &config.mongo {
            Some(mongo) => Some(crate::mongo::open(mongo).await?),
            None => None,
        };
        let redis = match &config.redis {
            Some(redis) => Some(crate::redis::connect(redis).await?),
            None => None,
        };
        let kafka = match &config.kafka {
            Some(kafka) => {
                let publisher = KafkaPublisher::connect(kafka).await?;
                if !topics.is_empty() {
                    crate::events::ensure_topics(kafka, topics).await?;
                }
                Some((publisher, kafka.clone()))
            }
            None => None,
        };
        let repos = db.as_ref().map_or_else(Repos::memory, Repos::mongo);
        let limiter: Arc<dyn RateLimiter> = match &redis {
            Some(redis) => Arc::new(RedisRateLimiter::new(redis.clone())),
            None => Arc::new(MemoryRateLimiter::default()),
        };
        Ok(Self { db, redis, kafka, repos, limiter })
    }

    /// MongoDB's repositories, or the process's in-memory ones (the same for every caller).
    pub fn repos(&self) -> Repos {
        self.repos.clone()
    }

    /// Rate limits in Redis (shared by every process), or in this process.
    pub fn limiter(&self) -> Arc<dyn RateLimiter> {
        self.limiter.clone()
    }

    /// Kafka behind the MongoDB outbox (events wait there while Kafka is down, and a relay
    /// publishes them in order until `relay_until` resolves), Kafka alone without MongoDB, or the
    /// in-process bus without Kafka.
    pub fn events(&self, relay_until: impl Future<Output = ()> + Send + 'static) -> EventPipeline {
        match (&self.kafka, &self.db) {
            (Some((kafka, _)), Some(db)) => {
                let (publisher, relay) = crate::events::kafka_with_outbox(kafka.clone(), db, relay_until);
                EventPipeline { publisher, relay: Some(relay), memory: None }
            }
            (Some((kafka, _)), None) => EventPipeline { publisher: Arc::new(kafka.clone()), relay: None, memory: None },
            (None, _) => {
                let memory = Arc::new(MemoryPublisher::default());
                EventPipeline { publisher: memory.clone(), relay: None, memory: Some(memory) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requiring_names_the_first_missing_service_and_leaves_the_others_out() {
        let env = Env::from_pairs([
            ("PARLEY_REDIS_URL", "redis://127.0.0.1:6379"),
            ("PARLEY_KAFKA_BROKERS", "127.0.0.1:9092"),
        ]);
        let missing = ServicesConfig::requiring(&env, &[Service::Kafka, Service::Mongo]).unwrap_err();
        assert_eq!(missing.var, "PARLEY_MONGODB_URL");

        let env = Env::from_pairs([
            ("PARLEY_MONGODB_URL", "mongodb://127.0.0.1:27017/parley"),
            ("PARLEY_REDIS_URL", "redis://127.0.0.1:6379"),
            ("PARLEY_KAFKA_BROKERS", "127.0.0.1:9092"),
        ]);
        let config = ServicesConfig::requiring(&env, &[Service::Mongo, Service::Kafka]).unwrap();
        assert!(config.mongo.is_some() && config.kafka.is_some());
        assert!(config.redis.is_none(), "Redis is set but not needed");
        let err = Service::Redis.need(config.redis).unwrap_err();
        assert_eq!(err.to_string(), "Redis: PARLEY_REDIS_URL is not set");
    }
}
