//! Domain values and aggregates. Values are made by parsing, so an invalid one never exists:
//! `EmailAddress`, the ids and `Name` implement `TryFrom<String>` and deserialise through it.
//! Aggregates serialise to MongoDB documents with the camelCase field names of the blueprint.

/// For a value that travels as its text (`#[serde(try_from = "String", into = "String")]`):
/// `TryFrom<String>` through its `FromStr`, and `From<T> for String` through its `Display`.
macro_rules! text_value {
    ($type:ty) => {
        impl TryFrom<String> for $type {
            type Error = $crate::domain::InvalidValue;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$type> for String {
            fn from(value: $type) -> String {
                value.to_string()
            }
        }
    };
}
use text_value;

mod block;
mod chatbot;
mod chatroom;
mod email;
mod ids;
mod message;
mod name;
mod origin;
mod permission;
mod role;
mod session;
mod tenant;
mod timestamp;
mod user;

pub use block::{Block, BlockCursor};
pub use chatbot::{
    ApiKeys, Chatbot, ChatbotPatch, ChatbotStatus, Colour, GraceApiKey, IdentitySeed, KeyStanding, OfferSeconds,
    Position, RevokedApiKey, Routing, RoutingMode, StoredApiKey, Text, WidgetSettings,
};
pub use chatroom::{AgentChange, AssignedAgent, Chatroom, ChatroomStatus, CloseReason, Offer, Transition, VisitorInfo};
pub use email::EmailAddress;
pub use ids::{BlockId, ChatbotId, ChatroomId, EventId, MessageId, RoleId, SessionId, TenantId, UserId};
pub use message::{ClientMsgId, Message, Sender, SenderKind};
pub use name::Name;
pub use origin::{Origin, OriginPattern, Wildcard};
pub use permission::Permission;
pub use role::Role;
pub use session::Session;
pub use tenant::{Tenant, TenantPatch};
pub use timestamp::Timestamp;
pub use user::{
    Assigning, Availability, IpAddresses, IpRange, PasswordChangeToken, SeenIp, User, UserPatch, UserStatus,
};

/// Why a value failed to parse; the text is safe to show a client (it never echoes secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);
