//! What every handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use shared::{
    auth::AccessTokens,
    client_ip::TrustedProxies,
    error::ServiceError,
    events::{Event, EventPublisher, KafkaPublisher, OutgoingEvent, Topic},
    ratelimit::{RateLimiter, RedisRateLimiter},
    repos::Repos,
};

use crate::{Config, config::Policy};

#[derive(Clone)]
pub struct AppState {
    pub repos: Repos,
    pub tokens: AccessTokens,
    pub limiter: Arc<dyn RateLimiter>,
    pub events: Arc<dyn EventPublisher>,
    pub proxies: TrustedProxies,
    pub policy: Policy,
}

impl AppState {
    /// Connects to MongoDB (creating the indexes), Redis and Kafka (creating the `tenants` topic).
    pub async fn connect(config: &Config) -> Result<Self, ServiceError> {
        let db = shared::mongo::open(&config.mongo).await?;
        let redis = shared::redis::connect(&config.redis).await?;
        shared::events::ensure_topics(&config.kafka, &[Topic::Tenants]).await?;
        // Events wait in the MongoDB outbox while Kafka is down; the relay runs as long as the
        // process does (on Lambda, while an invocation runs; the socket-nodes relay too).
        let kafka = KafkaPublisher::connect(&config.kafka).await?;
        let (events, _relay) = shared::events::kafka_with_outbox(kafka, &db, std::future::pending());
        Ok(Self {
            repos: Repos::mongo(&db),
            tokens: AccessTokens::new(&config.auth),
            limiter: Arc::new(RedisRateLimiter::new(redis)),
            events,
            proxies: config.proxies.clone(),
            policy: config.policy,
        })
    }

    /// Publishes an event about the tenant, keyed by the tenant id (see
    /// [`shared::events::publish_or_log`]: a broker failure is logged, not returned).
    pub async fn publish(&self, tenant: shared::domain::TenantId, event: Event) {
        let event = OutgoingEvent::new(tenant, event);
        shared::events::publish_or_log(self.events.as_ref(), &event).await;
    }
}

impl FromRef<AppState> for AccessTokens {
    fn from_ref(state: &AppState) -> Self {
        state.tokens.clone()
    }
}

impl FromRef<AppState> for TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.proxies.clone()
    }
}
