//! Identifiers: UUID v7 (time-ordered, so indexes stay append-mostly), stored and sent as their
//! canonical hyphenated text. A distinct type per aggregate keeps a `UserId` from being passed
//! where a `TenantId` belongs.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::InvalidValue;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                // Only the canonical hyphenated form, so one id has one spelling in URLs and keys.
                if s.len() != 36 {
                    return Err(InvalidValue(concat!("not a valid ", $what, " id").into()));
                }
                Uuid::try_parse(s)
                    .map(|uuid| Self(uuid))
                    .map_err(|_| InvalidValue(concat!("not a valid ", $what, " id").into()))
            }
        }

        super::text_value!($name);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

id_type!(
    /// A tenant: one business and everything it owns.
    TenantId, "tenant"
);
id_type!(
    /// An agent or admin of a tenant.
    UserId, "user"
);
id_type!(
    /// A role: a named set of permissions.
    RoleId, "role"
);
id_type!(
    /// A signed-in session: one refresh-token family, from login to logout.
    SessionId, "session"
);
id_type!(
    /// A chat widget with its API key.
    ChatbotId, "chatbot"
);
id_type!(
    /// One conversation between a visitor and the tenant's agents.
    ChatroomId, "chatroom"
);
id_type!(
    /// One stored chat message.
    MessageId, "message"
);
id_type!(
    /// An event envelope's id; consumers deduplicate on it.
    EventId, "event"
);
id_type!(
    /// A visitor blocked from a chatbot.
    BlockId, "block"
);

impl MessageId {
    /// The id of the message a chatroom's `clientMsgId` names (a UUIDv5 in the chatroom's
    /// namespace): every retry of a send gets the same id, so the store finds a repeat by its
    /// primary key and refuses a second copy with it.
    pub fn of(chatroom: &ChatroomId, client_msg_id: &super::ClientMsgId) -> Self {
        Self(Uuid::new_v5(&chatroom.as_uuid(), client_msg_id.as_str().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_id_is_the_same_for_every_retry_and_differs_between_chatrooms() {
        let (room, other) = (ChatroomId::new(), ChatroomId::new());
        let (first, second): (super::super::ClientMsgId, super::super::ClientMsgId) =
            ("m-1".parse().unwrap(), "m-2".parse().unwrap());
        assert_eq!(MessageId::of(&room, &first), MessageId::of(&room, &first));
        assert_ne!(MessageId::of(&room, &first), MessageId::of(&room, &second));
        assert_ne!(MessageId::of(&room, &first), MessageId::of(&other, &first));
    }

    #[test]
    fn ids_round_trip_through_text_and_json() {
        let id = TenantId::new();
        assert_eq!(id.to_string().parse::<TenantId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<TenantId>(&json).unwrap(), id);
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in ["", "abc", "0190f0c8e4c07a3b8c2d1e2f3a4b5c6d", "{0190f0c8-e4c0-7a3b-8c2d-1e2f3a4b5c6d}"] {
            let err = bad.parse::<UserId>().unwrap_err();
            assert_eq!(err.0, "not a valid user id");
        }
        assert!(serde_json::from_str::<UserId>(r#"{"$ne": ""}"#).is_err());
    }

    #[test]
    fn fresh_ids_sort_by_creation() {
        let first = ChatroomId::new();
        let second = ChatroomId::new();
        assert!(first < second);
    }
}
