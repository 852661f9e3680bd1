//! The WebSocket protocol, version 1: JSON text frames tagged by `type`.
//!
//! Clients send [`ClientFrame`]s; the server answers with [`ServerFrame`]s. The first client frame
//! must be `auth`; errors are `error` frames with a stable code ([`Code`]), and the few that end
//! the connection are close frames with a code from [`close`]. `docs/protocol.md` is the
//! reference for clients; this module is what it describes.
//!
//! Nothing a client sends says who it is except its token: frames carry no tenant, sender or
//! seq, and a frame with a field the protocol does not define is refused (`invalid_frame`), so
//! a client cannot even suggest one.

use serde::{Deserialize, Serialize};
use shared::domain::{
    Availability, Chatroom, ChatroomId, ChatroomStatus, ClientMsgId, CloseReason, Message, Sender, SenderKind,
    Timestamp, UserId, VisitorInfo,
};

/// The protocol version `ready` announces and `auth` may ask for.
pub const VERSION: u32 = 1;

/// The most messages a `history` page holds, and what a join or watch sends of a chatroom's past.
pub const HISTORY_PAGE: u64 = 50;

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum ClientFrame {
    /// The first frame: a visitor's chatroom token or an agent's access token. Sent again later,
    /// with a fresh token of the same user, it extends the connection past the old token's expiry.
    Auth {
        token: String,
        #[serde(default)]
        v: Option<u32>,
    },
    Send {
        chatroom_id: ChatroomId,
        client_msg_id: ClientMsgId,
        message: String,
    },
    Typing {
        chatroom_id: ChatroomId,
        typing: bool,
    },
    Read {
        chatroom_id: ChatroomId,
        up_to_seq: u64,
    },
    /// Replays every stored message after `after_seq`, in order; then live messages follow.
    Resume {
        chatroom_id: ChatroomId,
        after_seq: u64,
    },
    /// A page of older messages: up to [`HISTORY_PAGE`] before `before_seq` (the latest without it).
    History {
        chatroom_id: ChatroomId,
        #[serde(default)]
        before_seq: Option<u64>,
    },
    Join {
        chatroom_id: ChatroomId,
    },
    /// A moderator follows another agent's open chatroom, read-only, until `unwatch` or its end.
    Watch {
        chatroom_id: ChatroomId,
    },
    Unwatch {
        chatroom_id: ChatroomId,
    },
    Leave {
        chatroom_id: ChatroomId,
    },
    Close {
        chatroom_id: ChatroomId,
    },
    /// The visitor wants the conversation by email when the chatroom ends.
    Transcript {
        chatroom_id: ChatroomId,
    },
    Mark {
        chatroom_id: ChatroomId,
        #[serde(rename = "as")]
        mark: Mark,
    },
    Ping {
        #[serde(default)]
        nonce: Option<String>,
    },
    /// An agent says whether they take offers (`online`) or not (`away`).
    Availability {
        status: Availability,
    },
    /// An agent refuses the chatroom Parley offered them; it passes to the next agent.
    Decline {
        chatroom_id: ChatroomId,
    },
    /// An agent hands a chatroom they hold to another agent, or back to the queue (no `toAgentId`).
    Transfer {
        chatroom_id: ChatroomId,
        #[serde(default)]
        to_agent_id: Option<UserId>,
    },
}

/// The kinds of client frame: each has its own rate per connection ([`crate::allowance`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    Auth,
    Send,
    Typing,
    Read,
    Resume,
    History,
    Join,
    Watch,
    Unwatch,
    Leave,
    Close,
    Transcript,
    Mark,
    Ping,
    Availability,
    Decline,
    Transfer,
}

impl FrameKind {
    pub const ALL: [FrameKind; 17] = [
        Self::Auth,
        Self::Send,
        Self::Typing,
        Self::Read,
        Self::Resume,
        Self::History,
        Self::Join,
        Self::Watch,
        Self::Unwatch,
        Self::Leave,
        Self::Close,
        Self::Transcript,
        Self::Mark,
        Self::Ping,
        Self::Availability,
        Self::Decline,
        Self::Transfer,
    ];

    /// The frame's `type`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Send => "send",
            Self::Typing => "typing",
            Self::Read => "read",
            Self::Resume => "resume",
            Self::History => "history",
            Self::Join => "join",
            Self::Watch => "watch",
            Self::Unwatch => "unwatch",
            Self::Leave => "leave",
            Self::Close => "close",
            Self::Transcript => "transcript",
            Self::Mark => "mark",
            Self::Ping => "ping",
            Self::Availability => "availability",
            Self::Decline => "decline",
            Self::Transfer => "transfer",
        }
    }

    /// Its place in [`Self::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl ClientFrame {
    pub fn kind(&self) -> FrameKind {
        match self {
            Self::Auth { .. } => FrameKind::Auth,
            Self::Send { .. } => FrameKind::Send,
            Self::Typing { .. } => FrameKind::Typing,
            Self::Read { .. } => FrameKind::Read,
            Self::Resume { .. } => FrameKind::Resume,
            Self::History { .. } => FrameKind::History,
            Self::Join { .. } => FrameKind::Join,
            Self::Watch { .. } => FrameKind::Watch,
            Self::Unwatch { .. } => FrameKind::Unwatch,
            Self::Leave { .. } => FrameKind::Leave,
            Self::Close { .. } => FrameKind::Close,
            Self::Transcript { .. } => FrameKind::Transcript,
            Self::Mark { .. } => FrameKind::Mark,
            Self::Ping { .. } => FrameKind::Ping,
            Self::Availability { .. } => FrameKind::Availability,
            Self::Decline { .. } => FrameKind::Decline,
            Self::Transfer { .. } => FrameKind::Transfer,
        }
    }

    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The chatroom the frame is about, if any (an `error` frame answering it names it).
    pub fn chatroom_id(&self) -> Option<ChatroomId> {
        match self {
            Self::Auth { .. } | Self::Ping { .. } | Self::Availability { .. } => None,
            Self::Send { chatroom_id, .. }
            | Self::Typing { chatroom_id, .. }
            | Self::Read { chatroom_id, .. }
            | Self::Resume { chatroom_id, .. }
            | Self::History { chatroom_id, .. }
            | Self::Join { chatroom_id }
            | Self::Watch { chatroom_id }
            | Self::Unwatch { chatroom_id }
            | Self::Leave { chatroom_id }
            | Self::Close { chatroom_id }
            | Self::Transcript { chatroom_id }
            | Self::Mark { chatroom_id, .. }
            | Self::Decline { chatroom_id }
            | Self::Transfer { chatroom_id, .. } => Some(*chatroom_id),
        }
    }

    /// The `clientMsgId` of a `send`.
    pub fn client_msg_id(&self) -> Option<&ClientMsgId> {
        match self {
            Self::Send { client_msg_id, .. } => Some(client_msg_id),
            _ => None,
        }
    }
}

/// What an agent can mark a chatroom as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Stale,
    Blocked,
}

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", rename_all_fields = "camelCase")]
pub enum ServerFrame {
    /// The answer to a successful `auth`.
    Ready {
        v: u32,
        role: Role,
        /// The visitor's chatroom, or the chatrooms the agent holds.
        chatrooms: Vec<ChatroomView>,
    },
    Message(MessageView),
    /// The message is stored under `seq`; sent again for a repeated `clientMsgId`.
    Ack {
        chatroom_id: ChatroomId,
        client_msg_id: ClientMsgId,
        seq: u64,
        sent_at: Timestamp,
    },
    Typing {
        chatroom_id: ChatroomId,
        sender: Sender,
        typing: bool,
    },
    /// The other side has read every message up to `up_to_seq`.
    Read {
        chatroom_id: ChatroomId,
        reader: SenderKind,
        up_to_seq: u64,
    },
    /// A chatroom's state changed (or was asked for).
    Chatroom(ChatroomView),
    /// The tenant's waiting chatrooms, oldest first (agents only).
    Queue {
        chatrooms: Vec<ChatroomView>,
    },
    /// Every open chatroom of the tenant, oldest first (agents with `chatrooms:moderate`).
    Open {
        chatrooms: Vec<ChatroomView>,
    },
    /// The tenant's agents: who is online, away or offline, and how loaded (agents only).
    Agents {
        agents: Vec<AgentStatusView>,
    },
    /// Where the visitor's waiting chatroom is in the queue (1 is next), and how long a wait
    /// usually is (`null` before the tenant has history).
    QueuePosition {
        chatroom_id: ChatroomId,
        position: u32,
        estimated_wait_ms: Option<u64>,
    },
    /// A page of a chatroom's messages, in seq order: every stored message with a seq from
    /// `from_seq` up to the `before_seq` asked for. Older ones exist when `from_seq` is above 1.
    History {
        chatroom_id: ChatroomId,
        from_seq: u64,
        messages: Vec<MessageView>,
    },
    /// A resume has replayed everything up to `last_seq`.
    Resumed {
        chatroom_id: ChatroomId,
        last_seq: u64,
    },
    Error {
        code: Code,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        chatroom_id: Option<ChatroomId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<ClientMsgId>,
    },
    Pong {
        #[serde(skip_serializing_if = "Option::is_none")]
        nonce: Option<String>,
    },
}

impl ServerFrame {
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Self::Error { code, message: message.into(), chatroom_id: None, client_msg_id: None }
    }

    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialising cannot fail.
        serde_json::to_string(self).expect("server frames serialise")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Visitor,
    Agent,
}

/// A chatroom as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatroomView {
    pub chatroom_id: ChatroomId,
    pub status: ChatroomStatus,
    pub name: String,
    pub email: String,
    pub identity_verified: bool,
    pub agent: Option<AgentView>,
    pub last_seq: u64,
    pub visitor_read_seq: u64,
    pub agent_read_seq: u64,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standby_until: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<CloseReason>,
    /// The visitor asked for the transcript by email.
    pub transcript_requested: bool,
    /// While it waits: since when (a chatroom handed back waits again from then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<Timestamp>,
    /// While it waits: the agent it is offered to, until when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer: Option<OfferView>,
    /// What the visitor's browser told when the chatroom opened (address, browser, page, ...),
    /// for the agent's visitor panel. Boxed: frames stay small when they carry no chatroom.
    pub visitor: Box<VisitorInfo>,
}

/// An offer of a waiting chatroom to one agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferView {
    pub agent_id: UserId,
    pub agent_name: String,
    pub until: Timestamp,
}

/// One agent of the tenant, as the `agents` frame shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentStatusView {
    pub id: UserId,
    pub name: String,
    /// `online` or `away` as they chose, `offline` with no console open.
    pub availability: Presence,
    /// Chatrooms they hold, and offers open to them.
    pub load: u32,
    pub max_concurrent: u32,
    /// Whether automatic routing offers them chatrooms at all.
    pub assigning: bool,
}

/// Whether an agent can be reached, as others see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Online,
    Away,
    Offline,
}

/// The agent holding a chatroom, as the visitor sees them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentView {
    pub id: UserId,
    pub name: String,
}

impl From<&Chatroom> for ChatroomView {
    fn from(room: &Chatroom) -> Self {
        Self {
            chatroom_id: room.id,
            status: room.status,
            name: room.name.as_str().to_owned(),
            email: room.email.as_str().to_owned(),
            identity_verified: room.identity_verified,
            agent: room.agent().map(|agent| AgentView { id: agent.id, name: agent.name }),
            last_seq: room.last_seq,
            visitor_read_seq: room.visitor_read_seq,
            agent_read_seq: room.agent_read_seq,
            created_at: room.created_at,
            standby_until: room.standby_until,
            close_reason: room.close_reason,
            transcript_requested: room.transcript_requested,
            waiting_since: room.waiting_since(),
            offer: room.offer.as_ref().filter(|_| room.status == ChatroomStatus::Waiting).map(|offer| OfferView {
                agent_id: offer.agent_id,
                agent_name: offer.agent_name.clone(),
                until: offer.until,
            }),
            visitor: Box::new(room.visitor.clone()),
        }
    }
}

/// A stored message as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub chatroom_id: ChatroomId,
    pub seq: u64,
    pub client_msg_id: ClientMsgId,
    pub sender: Sender,
    pub message: String,
    pub sent_at: Timestamp,
}

impl From<&Message> for MessageView {
    fn from(message: &Message) -> Self {
        Self {
            chatroom_id: message.chatroom_id,
            seq: message.seq,
            client_msg_id: message.client_msg_id.clone(),
            sender: message.sender.clone(),
            message: message.message.clone(),
            sent_at: message.sent_at,
        }
    }
}

/// The stable codes of `error` frames (and of the close reasons that carry one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// The frame is not JSON, not a known shape, or has a field the protocol does not define.
    InvalidFrame,
    /// The `type` is not one this version knows.
    UnknownType,
    /// A binary frame: the protocol is text only.
    BinaryNotSupported,
    /// Another frame before `auth`, or a second `auth` for someone else.
    AuthRequired,
    TokenInvalid,
    TokenExpired,
    /// The token's user is not an active agent of the tenant, or lacks `chatrooms:join`.
    PermissionDenied,
    UnsupportedVersion,
    ChatroomNotFound,
    /// The connection may not act in this chatroom (a visitor's other chatroom, or an agent who
    /// does not hold it).
    NotInChatroom,
    /// This needs an agent: a visitor's token cannot join, leave, close for others or mark.
    AgentOnly,
    /// This needs the visitor: only they ask for their transcript.
    VisitorOnly,
    ChatroomAlreadyClaimed,
    /// The agent holds `assigning.maxConcurrent` chatrooms already (or, for a transfer, the agent
    /// it names does).
    TooManyChatrooms,
    /// The agent a transfer names is not online and available, or is the sender.
    AgentUnavailable,
    ChatroomClosed,
    MessageTooLarge,
    MessageEmpty,
    /// The frame is valid but the chatroom is not in a state that allows it.
    InvalidState,
    /// A seq the frame names (`afterSeq`, `upToSeq`, `beforeSeq`) is beyond what the chatroom holds.
    SeqOutOfRange,
    RateLimited,
    /// Something failed on our side; the frame may be sent again.
    Internal,
}

impl Code {
    pub fn as_str(&self) -> &'static str {
        // The serde names, without allocating.
        match self {
            Self::InvalidFrame => "invalid_frame",
            Self::UnknownType => "unknown_type",
            Self::BinaryNotSupported => "binary_not_supported",
            Self::AuthRequired => "auth_required",
            Self::TokenInvalid => "token_invalid",
            Self::TokenExpired => "token_expired",
            Self::PermissionDenied => "permission_denied",
            Self::UnsupportedVersion => "unsupported_version",
            Self::ChatroomNotFound => "chatroom_not_found",
            Self::NotInChatroom => "not_in_chatroom",
            Self::AgentOnly => "agent_only",
            Self::VisitorOnly => "visitor_only",
            Self::ChatroomAlreadyClaimed => "chatroom_already_claimed",
            Self::TooManyChatrooms => "too_many_chatrooms",
            Self::AgentUnavailable => "agent_unavailable",
            Self::ChatroomClosed => "chatroom_closed",
            Self::MessageTooLarge => "message_too_large",
            Self::MessageEmpty => "message_empty",
            Self::InvalidState => "invalid_state",
            Self::SeqOutOfRange => "seq_out_of_range",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
        }
    }
}

/// Close codes. 1000–1011 are RFC 6455's (section 7.4.1); 44xx mirror HTTP statuses.
pub mod close {
    /// The chatroom ended (closed, stale); the reason is the chatroom's close reason.
    pub const NORMAL: u16 = 1000;
    /// The node is shutting down; reconnect (to any node) and resume.
    pub const GOING_AWAY: u16 = 1001;
    /// The client broke the WebSocket protocol (an unmasked frame, reserved bits, a fragmented or
    /// oversized control frame, an unknown opcode, ...).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text frame that is not valid UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// A frame (or a message) larger than the limit.
    pub const TOO_BIG: u16 = 1009;
    /// The node failed; reconnect and resume.
    pub const INTERNAL: u16 = 1011;
    /// No `auth` within the deadline, a bad or expired token, or frames before `auth`.
    pub const UNAUTHORIZED: u16 = 4401;
    /// The visitor was blocked, or the agent lost the permission.
    pub const FORBIDDEN: u16 = 4403;
    /// The connection could not keep up with its chatrooms (its send queue filled).
    pub const TOO_SLOW: u16 = 4408;
    /// Too many connections from this address.
    pub const TOO_MANY: u16 = 4429;
}

/// Parses a text frame into a [`ClientFrame`], or the code and words of the `error` frame that
/// answers it. Serde's message names the field that is wrong, with any submitted value taken out.
pub fn parse(text: &str) -> Result<ClientFrame, (Code, String)> {
    serde_json::from_str(text).map_err(|err| {
        let detail = shared::json::without_values(&err.to_string());
        if err.is_data() && detail.starts_with("unknown variant") && !names_a_known_type(text) {
            (Code::UnknownType, format!("unknown frame type: {detail}"))
        } else if err.is_syntax() || err.is_eof() {
            (Code::InvalidFrame, "the frame is not valid JSON".to_owned())
        } else {
            (Code::InvalidFrame, format!("the frame does not have the expected shape: {detail}"))
        }
    })
}

/// Whether the frame's `type` is one this version knows (then an unknown variant is a field's
/// value, such as `availability`'s `status`: the frame's shape is wrong, not its type). Read only
/// for a refused frame.
fn names_a_known_type(text: &str) -> bool {
    #[derive(Deserialize)]
    struct Tagged {
        #[serde(rename = "type")]
        kind: String,
    }
    serde_json::from_str::<Tagged>(text).is_ok_and(|t| FrameKind::ALL.iter().any(|k| k.name() == t.kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> Code {
        match parse(text) {
            Err((code, _)) => code,
            Ok(frame) => panic!("{text} parsed as {frame:?}"),
        }
    }

    #[test]
    fn frames_parse_with_camel_case_fields() {
        let room = ChatroomId::new();
        let frame = parse(&format!(r#"{{"type":"send","chatroomId":"{room}","clientMsgId":"m-1","message":"hi"}}"#));
        assert!(matches!(frame, Ok(ClientFrame::Send { chatroom_id, .. }) if chatroom_id == room));
        let mark = parse(&format!(r#"{{"type":"mark","chatroomId":"{room}","as":"blocked"}}"#)).unwrap();
        assert!(matches!(mark, ClientFrame::Mark { mark: Mark::Blocked, .. }));
    }

    #[test]
    fn client_sent_identity_fields_are_refused() {
        let room = ChatroomId::new();
        for extra in [r#""tenantId":"t""#, r#""sender":{"kind":"agent"}"#, r#""seq":7"#] {
            let text = format!(r#"{{"type":"send","chatroomId":"{room}","clientMsgId":"m","message":"x",{extra}}}"#);
            assert_eq!(code(&text), Code::InvalidFrame, "{text}");
        }
    }

    #[test]
    fn bad_frames_get_stable_codes_without_the_values_sent() {
        assert_eq!(code("{"), Code::InvalidFrame);
        assert_eq!(code("[]"), Code::InvalidFrame);
        assert_eq!(code(r#"{"type":"dance"}"#), Code::UnknownType);
        assert_eq!(code(r#"{"message":"no type"}"#), Code::InvalidFrame);
        // A known type with a value its field does not take: the shape is wrong, not the type.
        assert_eq!(code(r#"{"type":"availability","status":"busy"}"#), Code::InvalidFrame);
        let room = ChatroomId::new();
        assert_eq!(code(&format!(r#"{{"type":"mark","chatroomId":"{room}","as":"spam"}}"#)), Code::InvalidFrame);
        let Err((_, message)) = parse(r#"{"type":"auth","token":12345678}"#) else { panic!("a number is no token") };
        assert!(!message.contains("12345678"), "{message}");
    }
}
