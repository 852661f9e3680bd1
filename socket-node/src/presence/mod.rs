//! Presence: which visitor connections each chatroom has and which agents have a console open,
//! on any node, and each node's heartbeat (centrifuge's `PresenceManager`).
//!
//! A visitor's last connection leaving puts the chatroom in standby, so presence is counted
//! across nodes. A node that dies leaves its members behind: every node's heartbeat removes the
//! members of nodes whose last beat is older than
//! [`DEAD_AFTER_BEATS`](shared::presence::DEAD_AFTER_BEATS) intervals, and returns their
//! chatrooms, which then go to standby like any other.
//!
//! Two implementations, one contract (tests/socket_node/presence.rs runs the same suite on
//! both): [`RedisPresence`] (shared by every node; the analytics function reads the same keys)
//! and [`MemoryPresence`] (nodes in one process share a [`MemorySpace`]).

mod memory;
mod redis;

use std::{
    collections::{BTreeSet, HashMap},
    net::SocketAddr,
    time::Duration,
};

use async_trait::async_trait;
pub use memory::{MemoryPresence, MemorySpace};
pub use redis::RedisPresence;
use shared::domain::{ChatroomId, TenantId, Timestamp, UserId};

use crate::notice::ConnId;

/// Why presence could not be read or written (the store's words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PresenceError(pub String);

impl From<::redis::RedisError> for PresenceError {
    fn from(err: ::redis::RedisError) -> Self {
        Self(err.to_string())
    }
}

/// What a node says of itself every heartbeat.
#[derive(Debug, Clone, Copy)]
pub struct Beat {
    pub address: SocketAddr,
    pub connections: u64,
    pub started_at: Timestamp,
    pub interval: Duration,
}

impl Beat {
    fn report(&self, now: Timestamp) -> shared::presence::NodeReport {
        shared::presence::NodeReport {
            address: self.address.to_string(),
            connections: self.connections,
            started_at: self.started_at,
            last_seen: now,
            heartbeat_ms: u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// One node's view of presence: what it records is its own connections'.
#[async_trait]
pub trait Presence: Send + Sync {
    /// Records a visitor connection; answers how many the chatroom has now, on every node.
    async fn arrive(&self, tenant: TenantId, chatroom: ChatroomId, conn: ConnId) -> Result<u64, PresenceError>;

    /// Forgets a visitor connection; answers how many the chatroom has left.
    async fn leave(&self, tenant: TenantId, chatroom: ChatroomId, conn: ConnId) -> Result<u64, PresenceError>;

    /// The chatroom's visitor connections, on every node.
    async fn count(&self, chatroom: ChatroomId) -> Result<u64, PresenceError>;

    /// Records an agent's console connection.
    async fn agent_online(&self, tenant: TenantId, agent: UserId, conn: ConnId) -> Result<(), PresenceError>;

    /// Forgets an agent's console connection.
    async fn agent_offline(&self, tenant: TenantId, conn: ConnId) -> Result<(), PresenceError>;

    /// The tenant's agents with a console open on a live node, each once.
    async fn agents_online(&self, tenant: TenantId) -> Result<BTreeSet<UserId>, PresenceError>;

    /// Takes the lead of routing the tenant's queue for `ttl`, unless another node holds it: passes
    /// on several nodes would each decide on loads the others are changing. (Seats and the
    /// chatrooms' compare-and-set keep overlapping passes correct; the lead keeps them fair.)
    async fn lead_routing(&self, tenant: TenantId, ttl: Duration) -> Result<bool, PresenceError>;

    /// Gives the lead back, if this node still holds it.
    async fn end_routing(&self, tenant: TenantId);

    /// Records that routing offered the agent a chatroom at `at` (how long agents have been idle
    /// decides between equally loaded ones).
    async fn routed(&self, tenant: TenantId, agent: UserId, at: Timestamp) -> Result<(), PresenceError>;

    /// When routing last offered each of the tenant's agents a chatroom (agents never offered one
    /// are missing).
    async fn last_routed(&self, tenant: TenantId) -> Result<HashMap<UserId, Timestamp>, PresenceError>;

    /// Reports this node and re-asserts its connections; removes the presence of nodes that
    /// stopped beating (exactly one node reaps each) and answers their chatrooms.
    async fn heartbeat(&self, beat: Beat) -> Result<Vec<(TenantId, ChatroomId)>, PresenceError>;

    /// Removes this node and its agents (at shutdown).
    async fn depart(&self);
}

/// What one of this node's connections is, for presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Present {
    Visitor(TenantId, ChatroomId),
    Agent(TenantId, UserId),
}
