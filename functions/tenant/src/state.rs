//! What every handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use shared::{
    auth::AccessTokens,
    client_ip::TrustedProxies,
    error::ServiceError,
    events::{Event, EventPublisher, OutgoingEvent, Topic},
    ratelimit::RateLimiter,
    repos::Repos,
    services::Services,
};

use crate::{
    Config,
    config::{AuthCookie, Policy},
};

#[derive(Clone)]
pub struct AppState {
    pub repos: Repos,
    pub tokens: AccessTokens,
    pub limiter: Arc<dyn RateLimiter>,
    pub events: Arc<dyn EventPublisher>,
    pub proxies: TrustedProxies,
    pub policy: Policy,
    /// The refresh cookie of cookie mode.
    pub cookie: AuthCookie,
}

impl AppState {
    /// Connects to MongoDB (creating the indexes), Redis and Kafka (creating the `tenants` topic):
    /// the services `config.services` names, all three from [`Config::from_env`].
    pub async fn connect(config: &Config) -> Result<Self, ServiceError> {
        let services = Services::connect(&config.services, &[Topic::Tenants]).await?;
        // Events wait in the MongoDB outbox while Kafka is down; the relay runs as long as the
        // process does (on Lambda, while an invocation runs; the socket-nodes relay too).
        let events = services.events(std::future::pending()).publisher;
        Ok(Self {
            repos: services.repos(),
            tokens: AccessTokens::new(&config.auth),
            limiter: services.limiter(),
            events,
            proxies: config.proxies.clone(),
            policy: config.policy,
            cookie: config.cookie.clone(),
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
