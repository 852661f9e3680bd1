//! Parley's all-in-one runner (`scripts/dev`, or `cargo run -p local-dev`): every function in one
//! process, on one address.
//!
//! With no services configured it keeps everything in process memory (the embedded default):
//! storage, login rate limits and the event bus. Each service configured replaces its part:
//! `MONGODB_URL` (or `PARLEY_MONGODB_URL`) for storage, `REDIS_URL` for rate limits and caches,
//! `KAFKA_BROKERS` for events. Access tokens are signed with `PARLEY_JWT_KEYS` when set, and
//! chatbots' identity secrets derived from `PARLEY_IDENTITY_KEYS`; else from random keys made at
//! start-up (sessions and identity secrets then end with the process). It listens on
//! `PARLEY_HTTP_ADDR` (default `127.0.0.1:8080`) and mounts each function under the path nginx
//! gives it in production:
//!
//! - `/api/tenant/...`    the tenant function
//! - `/api/chatbots/...`  the chatbot-provisioning function
//! - `/api/analytics/...` the analytics function (with MongoDB, Redis and Kafka configured;
//!   else its routes answer 503 `analytics_unavailable`)
//! - `/api/email/...`     the email function
//!
//! The socket-node, the widget and the console join it with the chatrooms issue.
//!
//! Tests: `scripts/test -p local-dev`.

use std::{net::SocketAddr, str::FromStr, sync::Arc};

use axum::Router;
use shared::{
    auth::{AccessTokens, AuthConfig, ChatbotAccess, IdentityKeys},
    client_ip::TrustedProxies,
    config::{ConfigError, Env, HttpConfig, KafkaConfig, MongoConfig, RedisConfig},
    error::ServiceError,
    events::{EventPublisher, KafkaPublisher, MemoryPublisher, Topic},
    ratelimit::{MemoryRateLimiter, RateLimiter, RedisRateLimiter},
    repos::Repos,
};

pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

/// Where each function is mounted, as nginx routes it in production.
pub const MOUNTS: [(&str, &str); 4] = [
    ("tenant", "/api/tenant"),
    ("chatbots", "/api/chatbots"),
    ("analytics", "/api/analytics"),
    ("email", "/api/email"),
];

pub struct Config {
    pub http: HttpConfig,
    pub mongo: Option<MongoConfig>,
    pub redis: Option<RedisConfig>,
    pub kafka: Option<KafkaConfig>,
    pub auth: AuthConfig,
    pub identity: IdentityKeys,
    pub proxies: TrustedProxies,
    pub policy: tenant::Policy,
    pub chatbots: chatbot_provisioning::Policy,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let auth = match env.optional::<String>(AuthConfig::KEYS_VAR)? {
            Some(_) => AuthConfig::from_env(env)?,
            None => AuthConfig::ephemeral(),
        };
        let identity = match env.optional::<String>(IdentityKeys::VAR)? {
            Some(_) => IdentityKeys::from_env(env)?,
            None => IdentityKeys::ephemeral(),
        };
        let http = HttpConfig::from_env(env, DEFAULT_ADDR)?;
        // The widget is served from this same address (the socket-node is mounted here too).
        let own_url = chatbot_provisioning::PublicUrl::from_str(&format!("http://{}", http.addr))
            .map_err(|reason| ConfigError { var: "PARLEY_HTTP_ADDR".into(), reason })?;
        Ok(Self {
            http,
            mongo: MongoConfig::from_env(env)?,
            redis: RedisConfig::from_env(env)?,
            kafka: KafkaConfig::from_env(env)?,
            auth,
            identity,
            proxies: TrustedProxies::from_env(env)?,
            policy: tenant::Policy::from_env(env)?,
            chatbots: chatbot_provisioning::Policy::from_env(env, own_url)?,
        })
    }
}

/// What the runner stores and publishes to, and a line per part saying which it uses.
pub struct Backends {
    pub repos: Repos,
    pub limiter: Arc<dyn RateLimiter>,
    pub events: Arc<dyn EventPublisher>,
    /// The chatbot cache, when Redis is configured.
    pub cache: Option<shared::redis::Redis>,
    /// The analytics function's state, when MongoDB, Redis and Kafka are all configured: it
    /// reads the first two and asks the third for metadata.
    pub analytics: Option<analytics::AppState>,
    pub described: Vec<(&'static str, String)>,
}

/// Connects the configured services; what is not configured lives in process memory.
pub async fn backends(config: &Config) -> Result<Backends, ServiceError> {
    let mut described = Vec::new();
    let db = match &config.mongo {
        Some(mongo) => {
            described.push(("storage", format!("MongoDB database {:?}", mongo.database)));
            Some(shared::mongo::open(mongo).await?)
        }
        None => {
            described.push(("storage", "process memory (set MONGODB_URL to use MongoDB)".to_owned()));
            None
        }
    };
    let repos = db.as_ref().map_or_else(Repos::memory, Repos::mongo);
    let cache = match &config.redis {
        Some(redis) => Some(shared::redis::connect(redis).await?),
        None => None,
    };
    let limiter: Arc<dyn RateLimiter> = match &cache {
        Some(redis) => {
            described.push(("state", "Redis (rate limits, chatbot cache)".to_owned()));
            Arc::new(RedisRateLimiter::new(redis.clone()))
        }
        None => {
            described.push(("state", "process memory (set REDIS_URL to use Redis)".to_owned()));
            Arc::new(MemoryRateLimiter::default())
        }
    };
    let mut kafka_publisher = None;
    let events: Arc<dyn EventPublisher> = match &config.kafka {
        Some(kafka) => {
            shared::events::ensure_topics(kafka, &Topic::ALL).await?;
            let publisher = KafkaPublisher::connect(kafka).await?;
            kafka_publisher = Some(publisher.clone());
            match &db {
                Some(db) => {
                    described.push(("events", format!("Kafka at {}, MongoDB outbox while it is down", kafka.brokers)));
                    shared::events::kafka_with_outbox(publisher, db, std::future::pending()).0
                }
                None => {
                    described.push(("events", format!("Kafka at {}", kafka.brokers)));
                    Arc::new(publisher)
                }
            }
        }
        None => {
            described.push(("events", "process memory (set KAFKA_BROKERS to use Kafka)".to_owned()));
            Arc::new(MemoryPublisher::default())
        }
    };
    let analytics = match (&db, &cache, kafka_publisher) {
        (Some(db), Some(redis), Some(kafka)) => {
            let tokens = AccessTokens::new(&config.auth);
            let status = analytics::config::StatusConfig::from_env(&Env::from_process())
                .map_err(|e| ServiceError::misconfigured("analytics", e.to_string()))?;
            Some(analytics::AppState::new(db, redis.clone(), kafka, tokens, status).await?)
        }
        _ => {
            described.push(("analytics", "off (it needs MONGODB_URL, REDIS_URL and KAFKA_BROKERS)".to_owned()));
            None
        }
    };
    Ok(Backends { repos, limiter, events, cache, analytics, described })
}

/// Every function's router, each under its production path.
pub fn app(config: &Config, backends: &Backends) -> Router {
    let tenant_state = tenant::AppState {
        repos: backends.repos.clone(),
        tokens: AccessTokens::new(&config.auth),
        limiter: backends.limiter.clone(),
        events: backends.events.clone(),
        proxies: config.proxies.clone(),
        policy: config.policy,
    };
    let chatbots_state = chatbot_provisioning::AppState {
        repos: backends.repos.clone(),
        tokens: AccessTokens::new(&config.auth),
        identity: config.identity.clone(),
        access: ChatbotAccess::new(backends.repos.chatbots.clone(), config.identity.clone(), backends.cache.clone()),
        events: backends.events.clone(),
        policy: config.chatbots.clone(),
    };
    let [tenant, chatbots, analytics, email] = MOUNTS.map(|(_, path)| path);
    Router::new()
        .nest(tenant, tenant::router(tenant_state))
        .nest(chatbots, chatbot_provisioning::router(chatbots_state))
        .nest(analytics, analytics_router(backends))
        .nest(email, email::router())
}

/// The analytics function over the real services; without them its routes answer 503
/// `analytics_unavailable`, naming what to set (its health check still answers).
fn analytics_router(backends: &Backends) -> Router {
    if let Some(state) = &backends.analytics {
        return analytics::router(state.clone());
    }
    async fn unavailable() -> shared::ApiError {
        shared::ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "analytics_unavailable",
            "analytics needs MongoDB, Redis and Kafka: start the runner with MONGODB_URL, REDIS_URL and KAFKA_BROKERS",
        )
    }
    Router::new().merge(shared::http::health_routes()).fallback(unavailable)
}
