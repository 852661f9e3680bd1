//! Chat messages: one document each in `messages`, numbered per chatroom by `seq` (1, 2, 3, ...)
//! so a client that reconnects asks for everything after the last seq it saw.
//!
//! Every message carries the sender's `clientMsgId`; (chatroomId, clientMsgId) is unique, so a
//! client that resends after a lost ack gets the first message back rather than a second copy.
//! System messages get a generated id ([`ClientMsgId::system`]) to keep that index whole.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ChatroomId, InvalidValue, MessageId, TenantId, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    #[serde(rename = "_id")]
    pub id: MessageId,
    pub tenant_id: TenantId,
    pub chatroom_id: ChatroomId,
    /// 1 for the chatroom's first message, then one more for each.
    pub seq: u64,
    pub client_msg_id: ClientMsgId,
    pub sender: Sender,
    pub message: String,
    pub sent_at: Timestamp,
    /// Whether the other side has read it.
    pub read: bool,
}

impl Message {
    /// A new, unread message, its id derived from the chatroom and `clientMsgId`
    /// ([`MessageId::of`]).
    pub fn new(
        tenant_id: TenantId,
        chatroom_id: ChatroomId,
        seq: u64,
        client_msg_id: ClientMsgId,
        sender: Sender,
        message: String,
        sent_at: Timestamp,
    ) -> Self {
        let id = MessageId::of(&chatroom_id, &client_msg_id);
        Self { id, tenant_id, chatroom_id, seq, client_msg_id, sender, message, sent_at, read: false }
    }
}

/// Who sent a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sender {
    pub kind: SenderKind,
    /// The agent's user id, or whatever identifies the visitor; none for system messages.
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SenderKind {
    Visitor,
    Agent,
    /// Parley itself ("an agent will join shortly").
    System,
}

impl SenderKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Visitor => "visitor",
            Self::Agent => "agent",
            Self::System => "system",
        }
    }
}

impl fmt::Display for SenderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The id a client gives a message it sends: 1 to 64 ASCII letters, digits, `-`, `_`, `.` or
/// `:`. Unique within a chatroom; resending with the same id is how a client retries safely.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientMsgId(String);

impl ClientMsgId {
    pub const MAX_LEN: usize = 64;

    /// A fresh id for a message Parley writes itself: `system-<uuid>`.
    pub fn system() -> Self {
        Self(format!("system-{}", Uuid::now_v7().hyphenated()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ClientMsgId {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(InvalidValue(format!("a clientMsgId has 1 to {} characters", Self::MAX_LEN)));
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)) {
            return Err(InvalidValue("a clientMsgId is made of ASCII letters, digits, '-', '_', '.' and ':'".into()));
        }
        Ok(Self(s.to_owned()))
    }
}

super::text_value!(ClientMsgId);

impl fmt::Display for ClientMsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_message_ids_are_checked() {
        for good in ["a", "0190f0c8-e4c0-7a3b", "tab_2:msg.17", &"x".repeat(64)] {
            assert_eq!(good.parse::<ClientMsgId>().unwrap().as_str(), good);
        }
        for bad in ["", " a", "a b", "é", "a/b", "{\"$ne\":1}", &"x".repeat(65)] {
            assert!(bad.parse::<ClientMsgId>().is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<ClientMsgId>("\"a b\"").is_err());
        assert_eq!(serde_json::to_string(&"m-1".parse::<ClientMsgId>().unwrap()).unwrap(), "\"m-1\"");
    }

    #[test]
    fn system_ids_are_valid_and_distinct() {
        let (first, second) = (ClientMsgId::system(), ClientMsgId::system());
        assert_ne!(first, second);
        assert!(first.as_str().starts_with("system-"));
        assert_eq!(first.as_str().parse::<ClientMsgId>().unwrap(), first);
    }

    #[test]
    fn a_message_travels_with_camel_case_fields() {
        let sender = Sender { kind: SenderKind::Agent, id: Some("u1".into()), name: "Ada".into() };
        let message = Message::new(
            TenantId::new(),
            ChatroomId::new(),
            3,
            "c1".parse().unwrap(),
            sender,
            "Hello".into(),
            Timestamp::from_unix_millis(0),
        );
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!((json["clientMsgId"].as_str(), json["sender"]["kind"].as_str()), (Some("c1"), Some("agent")));
        assert_eq!(json["read"], false);
        assert_eq!(serde_json::from_value::<Message>(json).unwrap(), message);
    }
}
