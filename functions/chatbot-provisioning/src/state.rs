//! What every handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use shared::{
    auth::{AccessTokens, ChatbotAccess, IdentityKeys},
    domain::{Chatbot, TenantId},
    error::ServiceError,
    events::{Event, EventPublisher, OutgoingEvent, Topic},
    repos::Repos,
    services::Services,
};

use crate::{Config, config::Policy};

#[derive(Clone)]
pub struct AppState {
    pub repos: Repos,
    pub tokens: AccessTokens,
    pub identity: IdentityKeys,
    /// The widget check, here for its cache: every change to a chatbot invalidates it.
    pub access: ChatbotAccess,
    pub events: Arc<dyn EventPublisher>,
    pub policy: Policy,
}

impl AppState {
    /// Connects to MongoDB (creating the indexes), Redis (the chatbot cache) and Kafka (creating
    /// the `tenants` topic, and `chatrooms` for `block.lifted`): the services `config.services`
    /// names, all three from [`Config::from_env`].
    pub async fn connect(config: &Config) -> Result<Self, ServiceError> {
        let services = Services::connect(&config.services, &[Topic::Tenants, Topic::Chatrooms]).await?;
        // Events wait in the MongoDB outbox while Kafka is down; the relay runs as long as the
        // process does (on Lambda, while an invocation runs; the socket-nodes relay too).
        let events = services.events(std::future::pending()).publisher;
        let repos = services.repos();
        Ok(Self {
            access: ChatbotAccess::new(repos.chatbots.clone(), config.identity.clone(), services.redis.clone()),
            repos,
            tokens: AccessTokens::new(&config.auth),
            identity: config.identity.clone(),
            events,
            policy: config.policy.clone(),
        })
    }

    /// After a chatbot changed: every process forgets its cached copy, then the event goes out.
    pub async fn changed(&self, chatbot: &Chatbot, event: Event) {
        self.access.invalidate(&chatbot.id).await;
        self.publish(chatbot.tenant_id, event).await;
    }

    /// Publishes an event about the tenant's chatbots (keyed by the tenant id) or blocks (keyed
    /// by the chatroom id), on its topic.
    pub async fn publish(&self, tenant: TenantId, event: Event) {
        let event = OutgoingEvent::new(tenant, event);
        shared::events::publish_or_log(self.events.as_ref(), &event).await;
    }
}

impl FromRef<AppState> for AccessTokens {
    fn from_ref(state: &AppState) -> Self {
        state.tokens.clone()
    }
}
