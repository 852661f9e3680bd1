//! Events: what happened in Parley, published to Kafka (Redpanda in production) for the email
//! and analytics functions.
//!
//! Every event travels in an [`Envelope`] `{id, type, tenantId, occurredAt, data}` as JSON, keyed
//! by its chatroom id (or tenant id), so one chatroom's events stay in order on one partition.
//! Consumers deduplicate on the envelope id: delivery is at least once.
//!
//! - [`Event`] is every kind of event, one variant each with typed fields: producers build one
//!   and wrap it with [`OutgoingEvent::new`]; consumers decode with [`Envelope::event`] and match.
//! - [`EventPublisher`] is what producers call: [`KafkaPublisher`] (idempotent, `acks=all`),
//!   [`MemoryPublisher`] (the in-process bus of `scripts/dev --memory`), and [`OutboxPublisher`], which
//!   wraps Kafka so that chat goes on while the broker is down: events Kafka cannot take wait in
//!   an [`OutboxStore`] (MongoDB's `outbox` collection) and a relay, one at a time across
//!   processes, publishes them in order when it is back (module [`outbox`]).
//! - [`EventQueue`] hands events to a background task that publishes them in queue order, so a
//!   chat connection never waits for the broker.
//! - [`publish_or_log`] is how a request publishes after its change is stored.
//! - [`ensure_topics`] creates the topics; [`consume`] runs a consumer-group loop, one event at a
//!   time, and [`consume_batches`] the same loop in batches; [`lambda`] decodes the batches
//!   Lambda delivers to a Kafka-triggered function.

mod event;
mod kafka;
pub mod lambda;
mod memory;
pub mod outbox;
mod queue;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use event::*;
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
    /// Chatroom lifecycle: created, agent joined or left, standby, resumed, closed, stale, blocked;
    /// and a block lifted.
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

/// The envelope every event travels in (blueprint section 6), as it is on the wire: consumers
/// keep `type` a string and `data` raw JSON until [`Envelope::event`] decodes them, so an
/// envelope of a kind they do not know, or with unusable data, can still be logged, skipped or
/// dead-lettered whole.
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
    /// The envelope of `event`, with a fresh id, occurring now, bound for its topic under its key.
    pub fn new(tenant_id: TenantId, event: Event) -> Self {
        Self::at(tenant_id, event, Timestamp::now())
    }

    /// The same, occurring at `occurred_at`: the moment the stored change names (a chatroom's
    /// `createdAt`, a message's `sentAt`), so that figures computed from the events and from the
    /// store agree to the millisecond.
    pub fn at(tenant_id: TenantId, event: Event, occurred_at: Timestamp) -> Self {
        // The payloads are plain structs with string keys: serialising them cannot fail.
        let data = serde_json::to_value(&event).unwrap_or(serde_json::Value::Null);
        Self {
            topic: event.topic(),
            key: event.key(&tenant_id),
            envelope: Envelope {
                id: EventId::new(),
                event_type: event.event_type().to_owned(),
                tenant_id,
                occurred_at,
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
/// lose them), process memory under `scripts/dev --memory`.
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
    use serde_json::json;

    use super::*;
    use crate::domain::{
        BlockId, ChatbotId, ChatbotStatus, ChatroomId, ChatroomStatus, CloseReason, MessageId, Permission, RoleId,
        Sender, SenderKind, UserId, VisitorInfo,
    };

    fn parse<T: std::str::FromStr>(text: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        text.parse().unwrap()
    }

    /// One event of every kind, with the type and topic each must have.
    fn every_kind() -> Vec<(Event, &'static str, Topic)> {
        let (tenant, user, room, bot) = (TenantId::new(), UserId::new(), ChatroomId::new(), ChatbotId::new());
        let at = Timestamp::from_unix_millis(1_795_600_800_120);
        let role =
            RoleChanged { role_id: RoleId::new(), name: parse("Agents"), permissions: vec![Permission::ChatroomsJoin] };
        let chatbot = ChatbotCreated {
            chatbot_id: bot,
            name: parse("Help"),
            status: ChatbotStatus::Active,
            allowed_origins: vec![parse("https://*.example.com")],
            enforce_identity: false,
        };
        let ended = ChatroomEnded {
            chatroom_id: room,
            reason: CloseReason::ClosedByAgent,
            by: EndedBy { kind: SenderKind::Agent, id: Some(user.to_string()) },
            closed_at: Some(at),
            transcript_requested: true,
        };
        let original = OutgoingEvent::new(tenant, Event::UserDeleted(UserDeleted { user_id: user })).envelope;
        vec![
            (
                Event::TenantCreated(TenantCreated {
                    tenant_id: tenant,
                    name: parse("Acme"),
                    admin_user_id: user,
                    admin_email: parse("ada@acme.test"),
                }),
                "tenant.created",
                Topic::Tenants,
            ),
            (
                Event::TenantUpdated(TenantUpdated { tenant_id: tenant, name: parse("Acme"), email_sender_name: None }),
                "tenant.updated",
                Topic::Tenants,
            ),
            (
                Event::UserInvited(UserInvited {
                    user_id: user,
                    email: parse("bo@acme.test"),
                    name: parse("Bo"),
                    invited_by: UserId::new(),
                    token: "t0k".into(),
                    expires_at: at,
                }),
                "user.invited",
                Topic::Tenants,
            ),
            (
                Event::UserUpdated(UserUpdated { user_id: user, changes: vec!["name".into()] }),
                "user.updated",
                Topic::Tenants,
            ),
            (Event::UserDeleted(UserDeleted { user_id: user }), "user.deleted", Topic::Tenants),
            (Event::RoleCreated(role.clone()), "role.created", Topic::Tenants),
            (Event::RoleUpdated(role.clone()), "role.updated", Topic::Tenants),
            (
                Event::RoleDeleted(RoleDeleted { role_id: role.role_id, name: role.name }),
                "role.deleted",
                Topic::Tenants,
            ),
            (
                Event::PasswordResetRequested(PasswordResetRequested {
                    user_id: user,
                    email: parse("bo@acme.test"),
                    name: parse("Bo"),
                    token: "t0k".into(),
                    expires_at: at,
                }),
                "password_reset.requested",
                Topic::Tenants,
            ),
            (Event::ChatbotCreated(chatbot.clone()), "chatbot.created", Topic::Tenants),
            (
                Event::ChatbotUpdated(ChatbotUpdated { chatbot: chatbot.clone(), changes: vec!["apiKey".into()] }),
                "chatbot.updated",
                Topic::Tenants,
            ),
            (
                Event::ChatbotDeleted(ChatbotDeleted { chatbot_id: bot, name: chatbot.name }),
                "chatbot.deleted",
                Topic::Tenants,
            ),
            (
                Event::ChatbotKeyRotated(ChatbotKeyRotated {
                    chatbot_id: bot,
                    api_key: "parley_pk_…x7k2".into(),
                    previous_key_expires_at: None,
                }),
                "chatbot.key_rotated",
                Topic::Tenants,
            ),
            (
                Event::ChatroomCreated(ChatroomCreated {
                    chatroom_id: room,
                    chatbot_id: bot,
                    name: parse("Vera"),
                    email: parse("vera@x.test"),
                    identity_verified: false,
                    visitor: VisitorInfo { ip: "203.0.113.9".into(), ..VisitorInfo::default() },
                    created_at: at,
                }),
                "chatroom.created",
                Topic::Chatrooms,
            ),
            (
                Event::ChatroomOffered(ChatroomOffered {
                    chatroom_id: room,
                    agent_id: user,
                    offer_until: at,
                    returning_visitor: true,
                }),
                "chatroom.offered",
                Topic::Chatrooms,
            ),
            (
                Event::ChatroomAssigned(ChatroomAssigned {
                    chatroom_id: room,
                    agent_id: user,
                    agent_name: "Ivy".into(),
                    waited_ms: 1500,
                    via: AssignedVia::Offer,
                }),
                "chatroom.assigned",
                Topic::Chatrooms,
            ),
            (
                Event::ChatroomTransferred(ChatroomTransferred {
                    chatroom_id: room,
                    from_agent_id: user,
                    to_agent_id: None,
                }),
                "chatroom.transferred",
                Topic::Chatrooms,
            ),
            (
                Event::ChatroomAgentLeft(ChatroomAgentLeft { chatroom_id: room, agent_id: user }),
                "chatroom.agent_left",
                Topic::Chatrooms,
            ),
            (
                Event::ChatroomStandby(ChatroomStandby { chatroom_id: room, standby_until: at }),
                "chatroom.standby",
                Topic::Chatrooms,
            ),
            (
                Event::ChatroomResumed(ChatroomResumed { chatroom_id: room, status: ChatroomStatus::Waiting }),
                "chatroom.resumed",
                Topic::Chatrooms,
            ),
            (Event::ChatroomClosed(ended.clone()), "chatroom.closed", Topic::Chatrooms),
            (Event::ChatroomMarkedStale(ended.clone()), "chatroom.marked_stale", Topic::Chatrooms),
            (Event::ChatroomBlocked(ended), "chatroom.blocked", Topic::Chatrooms),
            (
                Event::ChatroomUnclaimed(ChatroomUnclaimed {
                    chatroom_id: room,
                    chatbot_id: bot,
                    name: parse("Vera"),
                    email: parse("vera@x.test"),
                    waiting_since: at,
                    waited_ms: 300_000,
                }),
                "chatroom.unclaimed",
                Topic::Chatrooms,
            ),
            (
                Event::BlockLifted(BlockLifted {
                    block_id: BlockId::new(),
                    chatbot_id: bot,
                    chatroom_id: room,
                    email: parse("mallory@x.test"),
                    ip: "203.0.113.9".into(),
                    blocked_by: user,
                    blocked_at: at,
                    lifted_by: UserId::new(),
                }),
                "block.lifted",
                Topic::Chatrooms,
            ),
            (
                Event::MessageSent(MessageSent {
                    chatroom_id: room,
                    message_id: MessageId::new(),
                    seq: 7,
                    client_msg_id: parse("c-1"),
                    sender: Sender { kind: SenderKind::Visitor, id: Some(room.to_string()), name: "Vera".into() },
                    message: "hello".into(),
                    sent_at: at,
                }),
                "message.sent",
                Topic::Messages,
            ),
            (
                Event::EmailDeadLettered(EmailDeadLettered {
                    event_id: original.id,
                    event_type: original.event_type.clone(),
                    kind: None,
                    recipient: None,
                    reason: "malformed".into(),
                    attempts: 0,
                    event: original,
                }),
                "email.dead_lettered",
                Topic::EmailsDlq,
            ),
        ]
    }

    #[test]
    fn every_kind_round_trips_through_json_with_its_type_and_topic() {
        let kinds = every_kind();
        let types: Vec<&str> = kinds.iter().map(|(_, t, _)| *t).collect();
        let all: Vec<&str> = EventKind::ALL.iter().map(EventKind::as_str).collect();
        assert_eq!(types, all, "one sample per kind, in declaration order");
        let tenant = TenantId::new();
        for (event, event_type, topic) in kinds {
            let outgoing = OutgoingEvent::new(tenant, event.clone());
            assert_eq!((outgoing.envelope.event_type.as_str(), outgoing.topic), (event_type, topic));
            let wire = serde_json::to_string(&outgoing.envelope).unwrap();
            let back: Envelope = serde_json::from_str(&wire).unwrap();
            assert_eq!(back, outgoing.envelope);
            assert_eq!(back.event(), Ok(event), "{event_type}");
        }
    }

    #[test]
    fn envelopes_serialise_with_the_blueprint_field_names() {
        let tenant = TenantId::new();
        let room = ChatroomId::new();
        let event = OutgoingEvent::new(
            tenant,
            Event::ChatroomAgentLeft(ChatroomAgentLeft { chatroom_id: room, agent_id: UserId::new() }),
        );
        assert_eq!((event.topic, event.key.clone()), (Topic::Chatrooms, room.to_string()));
        let json = serde_json::to_value(&event.envelope).unwrap();
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["data", "id", "occurredAt", "tenantId", "type"]);
        assert_eq!(json["type"], "chatroom.agent_left");
        assert_eq!(json["tenantId"], tenant.to_string());
        assert_eq!(Topic::Messages.name("p."), "p.messages");
    }

    #[test]
    fn data_keeps_its_wire_shape() {
        let (tenant, room, agent) = (TenantId::new(), ChatroomId::new(), UserId::new());
        let at = Timestamp::from_unix_millis(1_795_600_800_120);
        let ended = ChatroomEnded {
            chatroom_id: room,
            reason: CloseReason::VisitorLeft,
            by: EndedBy { kind: SenderKind::System, id: None },
            closed_at: Some(at),
            transcript_requested: false,
        };
        let data = OutgoingEvent::new(tenant, Event::ChatroomClosed(ended)).envelope.data;
        assert_eq!(
            data,
            json!({"chatroomId": room, "reason": "visitor_left", "by": {"kind": "system", "id": null},
                   "closedAt": at, "transcriptRequested": false})
        );
        let chatbot = ChatbotCreated {
            chatbot_id: ChatbotId::new(),
            name: parse("Help"),
            status: ChatbotStatus::Disabled,
            allowed_origins: vec![],
            enforce_identity: true,
        };
        let updated =
            Event::ChatbotUpdated(ChatbotUpdated { chatbot: chatbot.clone(), changes: vec!["status".into()] });
        let data = OutgoingEvent::new(tenant, updated).envelope.data;
        assert_eq!(
            data,
            json!({"chatbotId": chatbot.chatbot_id, "name": "Help", "status": "disabled", "allowedOrigins": [],
                   "enforceIdentity": true, "changes": ["status"]})
        );
        let joined = Event::ChatroomAssigned(ChatroomAssigned {
            chatroom_id: room,
            agent_id: agent,
            agent_name: "Ivy".into(),
            waited_ms: 12,
            via: AssignedVia::Join,
        });
        let outgoing = OutgoingEvent::new(tenant, joined);
        assert_eq!(
            outgoing.envelope.data,
            json!({"chatroomId": room, "agentId": agent, "agentName": "Ivy", "waitedMs": 12, "via": "join"})
        );
        let invited = OutgoingEvent::new(tenant, Event::UserDeleted(UserDeleted { user_id: agent }));
        assert_eq!((invited.topic, invited.key), (Topic::Tenants, tenant.to_string()));
    }

    #[test]
    fn unknown_types_and_unusable_data_are_told_apart() {
        let mut envelope = OutgoingEvent::new(
            TenantId::new(),
            Event::ChatroomStandby(ChatroomStandby { chatroom_id: ChatroomId::new(), standby_until: Timestamp::now() }),
        )
        .envelope;
        envelope.event_type = "chatroom.rated".into();
        assert_eq!(envelope.event(), Err(EventError::Unknown("chatroom.rated".into())));
        envelope.event_type = "chatroom.created".into();
        envelope.data = json!({"chatroomId": "not-an-id", "name": "hunter2"});
        let Err(EventError::Malformed { kind, detail }) = envelope.event() else { panic!() };
        assert_eq!(kind, EventKind::ChatroomCreated);
        assert!(!detail.contains("hunter2") && !detail.contains("not-an-id"), "{detail}");
    }
}
