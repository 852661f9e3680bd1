//! [`Event`]: every kind of event Parley produces, one variant per kind, each a struct of typed
//! fields. Producers build a variant ([`super::OutgoingEvent::new`]); consumers decode an
//! envelope into one ([`super::Envelope::event`]) and match on it.
//!
//! The wire is unchanged by the types: an envelope's `type` is [`Event::event_type`], its `data`
//! the variant's struct with camelCase fields (`Option`s are written as `null`, never left out).
//! The `type` names, topics and shapes are in `docs/protocol.md`; a unit test round-trips every
//! variant through JSON.

use serde::{Deserialize, Serialize};

use super::{Envelope, Topic};
use crate::domain::{
    BlockId, ChatbotId, ChatbotStatus, ChatroomId, ChatroomStatus, ClientMsgId, CloseReason, EmailAddress, EventId,
    MessageId, Name, OriginPattern, Permission, RoleId, Sender, SenderKind, TenantId, Timestamp, UserId, VisitorInfo,
};

/// Declares [`Event`] and [`EventKind`] from one table of `Variant(Data) = "wire.type" on Topic`,
/// with the matches that must agree with each other (type name → kind → data, variant → kind →
/// type name and topic), so a kind is named in one place.
macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident($data:ty) = $name:literal on $topic:ident, )*) => {
        /// Every kind of event Parley produces. Serialises as its data alone; the envelope holds
        /// the type.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Event {
            $( $(#[$doc])* $variant($data), )*
        }

        /// The kind of an [`Event`] without its data: what a consumer can still tell of an
        /// envelope whose data is unusable.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $( $(#[$doc])* $variant, )*
        }

        impl Event {
            pub fn kind(&self) -> EventKind {
                match self {
                    $( Self::$variant(_) => EventKind::$variant, )*
                }
            }

            /// The data of `kind`.
            fn decode(kind: EventKind, data: &serde_json::Value) -> Result<Self, serde_json::Error> {
                match kind {
                    $( EventKind::$variant => <$data>::deserialize(data).map(Self::$variant), )*
                }
            }
        }

        impl EventKind {
            /// Every kind, in declaration order.
            pub const ALL: &[EventKind] = &[$(Self::$variant),*];

            /// The envelope's `type`.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $( Self::$variant => $name, )*
                }
            }

            /// The topic events of this kind go to.
            pub fn topic(&self) -> Topic {
                match self {
                    $( Self::$variant => Topic::$topic, )*
                }
            }

            /// The kind named by an envelope's `type`; `None` for a type this build does not know.
            pub fn parse(event_type: &str) -> Option<Self> {
                match event_type {
                    $( $name => Some(Self::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

events! {
    TenantCreated(TenantCreated) = "tenant.created" on Tenants,
    TenantUpdated(TenantUpdated) = "tenant.updated" on Tenants,
    UserInvited(UserInvited) = "user.invited" on Tenants,
    UserUpdated(UserUpdated) = "user.updated" on Tenants,
    UserDeleted(UserDeleted) = "user.deleted" on Tenants,
    RoleCreated(RoleChanged) = "role.created" on Tenants,
    RoleUpdated(RoleChanged) = "role.updated" on Tenants,
    RoleDeleted(RoleDeleted) = "role.deleted" on Tenants,
    PasswordResetRequested(PasswordResetRequested) = "password_reset.requested" on Tenants,
    ChatbotCreated(ChatbotCreated) = "chatbot.created" on Tenants,
    ChatbotUpdated(ChatbotUpdated) = "chatbot.updated" on Tenants,
    ChatbotDeleted(ChatbotDeleted) = "chatbot.deleted" on Tenants,
    ChatbotKeyRotated(ChatbotKeyRotated) = "chatbot.key_rotated" on Tenants,
    ChatroomCreated(ChatroomCreated) = "chatroom.created" on Chatrooms,
    /// Automatic routing offered a waiting chatroom to one agent.
    ChatroomOffered(ChatroomOffered) = "chatroom.offered" on Chatrooms,
    /// An agent took a waiting chatroom: joined it, or accepted the offer.
    ChatroomAssigned(ChatroomAssigned) = "chatroom.assigned" on Chatrooms,
    /// The agent holding a chatroom handed it to another agent, or back to the queue.
    ChatroomTransferred(ChatroomTransferred) = "chatroom.transferred" on Chatrooms,
    ChatroomAgentLeft(ChatroomAgentLeft) = "chatroom.agent_left" on Chatrooms,
    ChatroomStandby(ChatroomStandby) = "chatroom.standby" on Chatrooms,
    ChatroomResumed(ChatroomResumed) = "chatroom.resumed" on Chatrooms,
    ChatroomClosed(ChatroomEnded) = "chatroom.closed" on Chatrooms,
    ChatroomMarkedStale(ChatroomEnded) = "chatroom.marked_stale" on Chatrooms,
    ChatroomBlocked(ChatroomEnded) = "chatroom.blocked" on Chatrooms,
    /// A chatroom waited in the queue longer than the alert threshold with no agent joining.
    ChatroomUnclaimed(ChatroomUnclaimed) = "chatroom.unclaimed" on Chatrooms,
    /// A moderator lifted the block a `chatroom.blocked` made: the visitor may chat again. On the
    /// blocked chatroom's partition, after the block.
    BlockLifted(BlockLifted) = "block.lifted" on Chatrooms,
    MessageSent(MessageSent) = "message.sent" on Messages,
    /// An email that could not be sent, on the dead-letter topic.
    EmailDeadLettered(EmailDeadLettered) = "email.dead_lettered" on EmailsDlq,
}

impl Event {
    /// The envelope's `type`.
    pub fn event_type(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The topic events of this kind go to.
    pub fn topic(&self) -> Topic {
        self.kind().topic()
    }

    /// The partition key: the chatroom id for chatroom and message events (one chatroom's events
    /// stay in order), the original event's id for a dead letter, else the tenant id.
    pub fn key(&self, tenant_id: &TenantId) -> String {
        match self {
            Self::ChatroomCreated(e) => e.chatroom_id.to_string(),
            Self::ChatroomOffered(e) => e.chatroom_id.to_string(),
            Self::ChatroomAssigned(e) => e.chatroom_id.to_string(),
            Self::ChatroomTransferred(e) => e.chatroom_id.to_string(),
            Self::ChatroomAgentLeft(e) => e.chatroom_id.to_string(),
            Self::ChatroomStandby(e) => e.chatroom_id.to_string(),
            Self::ChatroomResumed(e) => e.chatroom_id.to_string(),
            Self::ChatroomClosed(e) | Self::ChatroomMarkedStale(e) | Self::ChatroomBlocked(e) => {
                e.chatroom_id.to_string()
            }
            Self::ChatroomUnclaimed(e) => e.chatroom_id.to_string(),
            Self::BlockLifted(e) => e.chatroom_id.to_string(),
            Self::MessageSent(e) => e.chatroom_id.to_string(),
            Self::EmailDeadLettered(e) => e.event_id.to_string(),
            Self::TenantCreated(_)
            | Self::TenantUpdated(_)
            | Self::UserInvited(_)
            | Self::UserUpdated(_)
            | Self::UserDeleted(_)
            | Self::RoleCreated(_)
            | Self::RoleUpdated(_)
            | Self::RoleDeleted(_)
            | Self::PasswordResetRequested(_)
            | Self::ChatbotCreated(_)
            | Self::ChatbotUpdated(_)
            | Self::ChatbotDeleted(_)
            | Self::ChatbotKeyRotated(_) => tenant_id.to_string(),
        }
    }
}

/// Why an envelope is not an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// A `type` this build does not know (a newer producer): consumers skip it.
    #[error("unknown event type {0}")]
    Unknown(String),
    /// The data is not what its type promises: it can never be handled. The detail names fields,
    /// never the values.
    #[error("malformed {} data: {detail}", kind.as_str())]
    Malformed { kind: EventKind, detail: String },
}

impl Envelope {
    /// The typed event this envelope carries.
    pub fn event(&self) -> Result<Event, EventError> {
        let kind = EventKind::parse(&self.event_type).ok_or_else(|| EventError::Unknown(self.event_type.clone()))?;
        Event::decode(kind, &self.data)
            .map_err(|err| EventError::Malformed { kind, detail: crate::json::without_values(&err.to_string()) })
    }
}

// --- tenants, users, roles -----------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantCreated {
    pub tenant_id: TenantId,
    pub name: Name,
    pub admin_user_id: UserId,
    pub admin_email: EmailAddress,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantUpdated {
    pub tenant_id: TenantId,
    pub name: Name,
    /// `None` when emails use the tenant's name.
    pub email_sender_name: Option<Name>,
}

/// `user.invited` and `password_reset.requested`: a single-use set-password token for the email
/// to link to (a secret: the `tenants` topic is private to the email function).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInvited {
    pub user_id: UserId,
    pub email: EmailAddress,
    pub name: Name,
    pub invited_by: UserId,
    pub token: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetRequested {
    pub user_id: UserId,
    pub email: EmailAddress,
    pub name: Name,
    pub token: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserUpdated {
    pub user_id: UserId,
    /// The names of the fields that changed (`name`, `roleIds`, ..., `password`).
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDeleted {
    pub user_id: UserId,
}

/// `role.created` and `role.updated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleChanged {
    pub role_id: RoleId,
    pub name: Name,
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDeleted {
    pub role_id: RoleId,
    pub name: Name,
}

// --- chatbots ------------------------------------------------------------------------------------

/// `chatbot.created`: never a key, hash or secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatbotCreated {
    pub chatbot_id: ChatbotId,
    pub name: Name,
    pub status: ChatbotStatus,
    pub allowed_origins: Vec<OriginPattern>,
    pub enforce_identity: bool,
}

/// `chatbot.updated`: the chatbot as `chatbot.created` shows it, and the fields that changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatbotUpdated {
    #[serde(flatten)]
    pub chatbot: ChatbotCreated,
    /// `name`, `allowedOrigins`, `settings`, `enforceIdentity`, `status`, `apiKey` (revoked),
    /// `identitySecret` (rotated).
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatbotDeleted {
    pub chatbot_id: ChatbotId,
    pub name: Name,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatbotKeyRotated {
    pub chatbot_id: ChatbotId,
    /// The new key masked (`parley_pk_…x7k2`).
    pub api_key: String,
    /// `None` when the old key was revoked at once.
    pub previous_key_expires_at: Option<Timestamp>,
}

// --- chatrooms and messages ----------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatroomCreated {
    pub chatroom_id: ChatroomId,
    pub chatbot_id: ChatbotId,
    pub name: Name,
    pub email: EmailAddress,
    pub identity_verified: bool,
    pub visitor: VisitorInfo,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatroomOffered {
    pub chatroom_id: ChatroomId,
    pub agent_id: UserId,
    /// When the offer lapses unless the agent takes it.
    pub offer_until: Timestamp,
    /// The agent last helped this visitor.
    pub returning_visitor: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatroomAssigned {
    pub chatroom_id: ChatroomId,
    pub agent_id: UserId,
    pub agent_name: String,
    /// How long the visitor had waited in the queue.
    pub waited_ms: i64,
    /// `join` (the agent picked it) or `offer` (they accepted Parley's offer); `join` on events
    /// from before offers existed (`chatroom.agent_joined`'s data).
    #[serde(default)]
    pub via: AssignedVia,
}

/// How an agent came to take a chatroom.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignedVia {
    #[default]
    Join,
    Offer,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatroomTransferred {
    pub chatroom_id: ChatroomId,
    pub from_agent_id: UserId,
    /// The agent who holds it now; `null` when it went back to the queue.
    pub to_agent_id: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatroomAgentLeft {
    pub chatroom_id: ChatroomId,
    pub agent_id: UserId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatroomStandby {
    pub chatroom_id: ChatroomId,
    pub standby_until: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatroomResumed {
    pub chatroom_id: ChatroomId,
    pub status: ChatroomStatus,
}

/// `chatroom.closed`, `chatroom.marked_stale` and `chatroom.blocked`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatroomEnded {
    pub chatroom_id: ChatroomId,
    pub reason: CloseReason,
    pub by: EndedBy,
    pub closed_at: Option<Timestamp>,
    #[serde(default)]
    pub transcript_requested: bool,
}

/// Who ended a chatroom: `system` (no id) when its standby ran out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedBy {
    pub kind: SenderKind,
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatroomUnclaimed {
    pub chatroom_id: ChatroomId,
    pub chatbot_id: ChatbotId,
    pub name: Name,
    pub email: EmailAddress,
    pub waiting_since: Timestamp,
    pub waited_ms: i64,
}

/// `block.lifted`: the block as it was, and who lifted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockLifted {
    pub block_id: BlockId,
    pub chatbot_id: ChatbotId,
    /// The chatroom the visitor was blocked from.
    pub chatroom_id: ChatroomId,
    pub email: EmailAddress,
    /// Empty when the block had no address.
    pub ip: String,
    pub blocked_by: UserId,
    pub blocked_at: Timestamp,
    pub lifted_by: UserId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSent {
    pub chatroom_id: ChatroomId,
    pub message_id: MessageId,
    pub seq: u64,
    pub client_msg_id: ClientMsgId,
    pub sender: Sender,
    pub message: String,
    pub sent_at: Timestamp,
}

// --- emails --------------------------------------------------------------------------------------

/// An email the email function gave up on, with the whole original event to send again from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailDeadLettered {
    pub event_id: EventId,
    pub event_type: String,
    /// The kind of email (`welcome`, ...); `None`, like `recipient`, when the event's data itself
    /// was unusable.
    pub kind: Option<String>,
    pub recipient: Option<EmailAddress>,
    pub reason: String,
    pub attempts: u32,
    pub event: Envelope,
}
