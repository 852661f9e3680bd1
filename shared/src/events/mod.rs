//! Events: what happened in Parley, published to Kafka (Redpanda in production) for the email
//! and analytics functions.
//!
//! Every event travels in an [`Envelope`] `{id, type, tenantId, occurredAt, data}` as JSON, keyed
//! by its chatroom id (or tenant id), so one chatroom's events stay in order on one partition.
//! Consumers deduplicate on the envelope id: delivery is at least once.
//!
//! - [`EventPublisher`] is what producers call: [`KafkaPublisher`] (idempotent, `acks=all`),
//!   [`MemoryPublisher`] (the embedded default's in-process bus), and [`OutboxPublisher`], which
//!   wraps Kafka so that chat goes on while the broker is down: events Kafka cannot take wait in
//!   an [`OutboxStore`] (MongoDB's `outbox` collection) and a relay, one at a time across
//!   processes, publishes them in order when it is back (module [`outbox`]).
//! - [`EventQueue`] hands events to a background task that publishes them in queue order, so a
//!   chat connection never waits for the broker.
//! - [`publish_or_log`] is how a request publishes after its change is stored.
//! - [`ensure_topics`] creates the topics; [`consume`] runs a consumer-group loop, one event at a
//!   time, and [`consume_batches`] the same loop in batches; [`lambda`] decodes the batches
//!   Lambda delivers to a Kafka-triggered function.

mod kafka;
pub mod lambda;
mod memory;
pub mod outbox;
mod queue;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use kafka::{KafkaLogContext, KafkaPublisher, consume, consume_batches, ensure_topics};
pub use memory::MemoryPublisher;
pub use outbox::{
    MemoryOutbox, MongoOutbox, OutboxEntry, OutboxPublisher, OutboxStore, RelayPass, ensure_outbox_indexes,
    kafka_with_outbox,
};
pub use queue::{EventQueue, QUEUE_BATCH, QueueClosed};

use crate::domain::{EventId, TenantId, Timestamp};

/// The topics Parley produces to (named with the configured prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Chatroom lifecycle: created, agent joined or left, standby, resumed, closed, stale, blocked.
    Chatrooms,
    /// Chat messages.
    Messages,
    /// Tenant, user, role and chatbot lifecycle, password resets.
    Tenants,
    /// Emails the email function gave up on, each with its event and the reason (`emails.dlq`).
    EmailsDlq,
}

impl Topic {
    pub const ALL: [Topic; 4] = [Topic::Chatrooms, Topic::Messages, Topic::Tenants, Topic::EmailsDlq];

    pub fn base_name(&self) -> &'static str {
        match self {
            Self::Chatrooms => "chatrooms",
            Self::Messages => "messages",
            Self::Tenants => "tenants",
            Self::EmailsDlq => "emails.dlq",
        }
    }

    pub fn name(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.base_name())
    }
}

/// Every kind of event Parley produces. On the wire the envelope's `type` is [`EventType::as_str`]:
/// consumers keep it a string, so an older consumer skips a kind it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    TenantCreated,
    TenantUpdated,
    UserInvited,
    UserUpdated,
    UserDeleted,
    RoleCreated,
    RoleUpdated,
    RoleDeleted,
    PasswordResetRequested,
    ChatbotCreated,
    ChatbotUpdated,
    ChatbotDeleted,
    ChatbotKeyRotated,
    ChatroomCreated,
    ChatroomAgentJoined,
    ChatroomAgentLeft,
    ChatroomStandby,
    ChatroomResumed,
    ChatroomClosed,
    ChatroomMarkedStale,
    ChatroomBlocked,
    /// A chatroom waited in the queue longer than the alert threshold with no agent joining.
    ChatroomUnclaimed,
    MessageSent,
    /// An email that could not be sent, on the dead-letter topic.
    EmailDeadLettered,
}

impl EventType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TenantCreated => "tenant.created",
            Self::TenantUpdated => "tenant.updated",
            Self::UserInvited => "user.invited",
            Self::UserUpdated => "user.updated",
            Self::UserDeleted => "user.deleted",
            Self::RoleCreated => "role.created",
            Self::RoleUpdated => "role.updated",
            Self::RoleDeleted => "role.deleted",
            Self::PasswordResetRequested => "password_reset.requested",
            Self::ChatbotCreated => "chatbot.created",
            Self::ChatbotUpdated => "chatbot.updated",
            Self::ChatbotDeleted => "chatbot.deleted",
            Self::ChatbotKeyRotated => "chatbot.key_rotated",
            Self::ChatroomCreated => "chatroom.created",
            Self::ChatroomAgentJoined => "chatroom.agent_joined",
            Self::ChatroomAgentLeft => "chatroom.agent_left",
            Self::ChatroomStandby => "chatroom.standby",
            Self::ChatroomResumed => "chatroom.resumed",
            Self::ChatroomClosed => "chatroom.closed",
            Self::ChatroomMarkedStale => "chatroom.marked_stale",
            Self::ChatroomBlocked => "chatroom.blocked",
            Self::ChatroomUnclaimed => "chatroom.unclaimed",
            Self::MessageSent => "message.sent",
            Self::EmailDeadLettered => "email.dead_lettered",
        }
    }

    /// The topic events of this kind go to.
    pub fn topic(&self) -> Topic {
        match self {
            Self::MessageSent => Topic::Messages,
            Self::ChatroomCreated
            | Self::ChatroomAgentJoined
            | Self::ChatroomAgentLeft
            | Self::ChatroomStandby
            | Self::ChatroomResumed
            | Self::ChatroomClosed
            | Self::ChatroomMarkedStale
            | Self::ChatroomBlocked
            | Self::ChatroomUnclaimed => Topic::Chatrooms,
            Self::EmailDeadLettered => Topic::EmailsDlq,
            _ => Topic::Tenants,
        }
    }
}

/// The envelope every event travels in (blueprint section 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// A UUID v7; consumers deduplicate on it.
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: String,
    pub tenant_id: TenantId,
    pub occurred_at: Timestamp,
    pub data: serde_json::Value,
}

/// An envelope on its way out: where it goes and under which key.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingEvent {
    pub topic: Topic,
    /// The partition key: the chatroom id for chatroom and message events, else the tenant id.
    pub key: String,
    pub envelope: Envelope,
}

impl OutgoingEvent {
    pub fn new(event_type: EventType, tenant_id: TenantId, key: impl ToString, data: impl Serialize) -> Self {
        let data = serde_json::to_value(data).unwrap_or(serde_json::Value::Null);
        Self {
            topic: event_type.topic(),
            key: key.to_string(),
            envelope: Envelope {
                id: EventId::new(),
                event_type: event_type.as_str().to_owned(),
                tenant_id,
                occurred_at: Timestamp::now(),
                data,
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The broker could not be reached or did not acknowledge in time; the event was not
    /// written and the caller keeps it (the outbox).
    #[error("Kafka is unavailable: {0}")]
    Unavailable(String),
    /// The broker refused the event (too large, unknown topic, ...).
    #[error("Kafka refused the event: {0}")]
    Rejected(String),
}

/// Where events go: Kafka (wrapped in an [`OutboxPublisher`], so that a broker outage does not
/// lose them), process memory in the embedded default.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Resolves once the event is durably written (acks=all) or fails.
    async fn publish(&self, event: &OutgoingEvent) -> Result<(), PublishError>;

    /// Publishes `events` together, enqueued in their order, and answers one result per event in
    /// that order. Used by [`EventQueue`] for its batches; [`OutboxPublisher`] also keeps the
    /// order of the events that fall back to the outbox.
    async fn publish_all(&self, events: &[OutgoingEvent]) -> Vec<Result<(), PublishError>> {
        futures::future::join_all(events.iter().map(|event| self.publish(event))).await
    }

    /// Whether the broker answers now (a cheap question, answered within seconds). The outbox
    /// relay asks before it sends anything, so no event is sent into an outage and then
    /// delivered late, after events that were stored meanwhile.
    async fn available(&self) -> bool {
        true
    }
}

/// Publishes an event about a change that is already stored. A failure does not undo the change
/// or fail the request: it is logged with the event's id and type (never its payload).
///
/// Behind an [`OutboxPublisher`], a broker that is down is not a failure: the event
/// waits in the outbox and `publish` succeeds. What is left to log is an event Kafka refused
/// (`Rejected`), and the case where Kafka and the outbox (MongoDB) both failed: that event is
/// lost, and this log line is its only trace.
pub async fn publish_or_log(publisher: &dyn EventPublisher, event: &OutgoingEvent) {
    if let Err(err) = publisher.publish(event).await {
        log_failure(event, &err);
    }
}

/// One error line for an event that was not published.
pub(crate) fn log_failure(event: &OutgoingEvent, err: &PublishError) {
    let message = match err {
        PublishError::Rejected(_) => "event not published: Kafka refused it",
        PublishError::Unavailable(_) => "event lost: it could be neither published nor stored in the outbox",
    };
    tracing::error!(
        event_id = %event.envelope.id,
        event_type = %event.envelope.event_type,
        error = %err,
        "{message}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_serialise_with_the_blueprint_field_names() {
        let tenant = TenantId::new();
        let event = OutgoingEvent::new(EventType::ChatroomCreated, tenant, "room-1", serde_json::json!({"a": 1}));
        assert_eq!(event.topic, Topic::Chatrooms);
        let json = serde_json::to_value(&event.envelope).unwrap();
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["data", "id", "occurredAt", "tenantId", "type"]);
        assert_eq!(json["type"], "chatroom.created");
        assert_eq!(json["tenantId"], tenant.to_string());
        let back: Envelope = serde_json::from_value(json).unwrap();
        assert_eq!(back, event.envelope);
    }

    #[test]
    fn events_go_to_their_topics() {
        assert_eq!(EventType::MessageSent.topic().name("p."), "p.messages");
        assert_eq!(EventType::UserInvited.topic(), Topic::Tenants);
        assert_eq!(EventType::ChatroomBlocked.topic(), Topic::Chatrooms);
    }
}
