//! Notices: what connections must hear about now (a message, a typing indicator, a chatroom's
//! new status, a change in a tenant's queue), as they travel between socket-nodes through the
//! [broker](crate::broker) and reach connections through this node's [hub](crate::hub).

use std::fmt;

use serde::{Deserialize, Serialize};
use shared::domain::{ChatroomId, ChatroomStatus, TenantId, UserId};

/// A connection's number on its node.
pub type ConnId = u64;

/// Who a notice is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "to", content = "id")]
pub enum Route {
    /// The chatroom's visitor and agent connections.
    Chatroom(ChatroomId),
    /// The tenant's agents.
    Tenant(TenantId),
    /// Every connection of one agent.
    Agent(UserId),
    /// The tenant's agents with `chatrooms:moderate` (who see every open chatroom).
    Moderators(TenantId),
    /// The tenant's visitors (who see their place in the queue).
    Visitors(TenantId),
}

/// The route as a name (`chatroom:<id>`, `tenant:<id>`, `agent:<id>`, `moderators:<id>`,
/// `visitors:<id>`): the
/// Redis broker's channel for it ends with this.
impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Chatroom(id) => write!(f, "chatroom:{id}"),
            Route::Tenant(id) => write!(f, "tenant:{id}"),
            Route::Agent(id) => write!(f, "agent:{id}"),
            Route::Moderators(id) => write!(f, "moderators:{id}"),
            Route::Visitors(id) => write!(f, "visitors:{id}"),
        }
    }
}

/// What a notice is about, beyond the frame it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum NoticeKind {
    Message {
        seq: u64,
    },
    Status {
        chatroom_id: ChatroomId,
        status: ChatroomStatus,
        agent_id: Option<UserId>,
    },
    Typing,
    Read,
    /// One of the tenant's chatrooms changed status (`queue`: the waiting queue changed too):
    /// each node rebuilds the queue and the open list once for its agents, and the visitors'
    /// places in the queue. Sent to the tenant's agents and, when the queue changed, visitors.
    ChatroomsChanged {
        queue: bool,
    },
    /// An agent's availability or load changed, or they opened or closed a console: each node
    /// with agents of the tenant rebuilds the `agents` frame, and routes the queue again.
    AgentsChanged,
    /// An `agents` frame, built here, for this node's agents of the tenant.
    Agents,
    /// A `queue_position` frame, built here, for the chatroom's visitor.
    Position,
    /// A `queue` frame, built here, for this node's agents of the tenant.
    Queue,
    /// An `open` frame, built here, for this node's moderators of the tenant.
    Open,
    /// The agent now holds the chatroom: all their connections follow it. (They stop following
    /// when a `status` notice shows the chatroom ended or held by someone else.)
    Assigned {
        chatroom_id: ChatroomId,
    },
}

/// The connection a notice came from: it already has what it needs (an ack, say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub node: String,
    pub conn: ConnId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub route: Route,
    pub kind: NoticeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// The server frame to send, as JSON text (empty when there is none).
    #[serde(default)]
    pub frame: String,
}
