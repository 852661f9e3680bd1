//! Presence in process memory, for `scripts/dev --memory`: the nodes of one process share a
//! [`MemorySpace`] (one node in practice; several in the contract tests). It follows the same
//! rules as Redis, liveness by heartbeat included, and has nothing to re-assert: it cannot be
//! flushed from outside.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use shared::{
    domain::{ChatroomId, TenantId, Timestamp, UserId},
    presence::NodeReport,
};

use super::{Beat, Presence, PresenceError, Present};
use crate::notice::ConnId;

/// The presence every node of the process sees.
#[derive(Clone, Default)]
pub struct MemorySpace(Arc<Mutex<Space>>);

#[derive(Default)]
struct Space {
    nodes: HashMap<String, NodeReport>,
    /// Every connection of every node, by node.
    connections: HashMap<String, HashMap<ConnId, Present>>,
    /// When routing last offered each agent a chatroom.
    routed: HashMap<TenantId, HashMap<UserId, Timestamp>>,
    /// Which node leads routing each tenant, until when.
    leads: HashMap<TenantId, (String, Timestamp)>,
}

impl Space {
    fn visitors(&self, chatroom: ChatroomId) -> u64 {
        let present = |p: &&Present| matches!(p, Present::Visitor(_, room) if *room == chatroom);
        self.connections.values().map(|conns| conns.values().filter(present).count() as u64).sum()
    }

    fn is_alive(&self, node: &str, now: Timestamp) -> bool {
        // A node that has not beaten yet is starting: it counts as alive.
        self.nodes.get(node).is_none_or(|report| report.is_alive(now))
    }
}

impl MemorySpace {
    fn space(&self) -> MutexGuard<'_, Space> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One node's handle on the shared space.
#[derive(Clone)]
pub struct MemoryPresence {
    space: MemorySpace,
    node: String,
}

impl MemoryPresence {
    pub fn new(space: MemorySpace, node: String) -> Self {
        Self { space, node }
    }

    fn record(&self, conn: ConnId, present: Option<Present>) -> MutexGuard<'_, Space> {
        let mut space = self.space.space();
        let mine = space.connections.entry(self.node.clone()).or_default();
        match present {
            Some(present) => mine.insert(conn, present),
            None => mine.remove(&conn),
        };
        space
    }
}

#[async_trait]
impl Presence for MemoryPresence {
    async fn arrive(&self, tenant: TenantId, chatroom: ChatroomId, conn: ConnId) -> Result<u64, PresenceError> {
        Ok(self.record(conn, Some(Present::Visitor(tenant, chatroom))).visitors(chatroom))
    }

    async fn leave(&self, _tenant: TenantId, chatroom: ChatroomId, conn: ConnId) -> Result<u64, PresenceError> {
        Ok(self.record(conn, None).visitors(chatroom))
    }

    async fn count(&self, chatroom: ChatroomId) -> Result<u64, PresenceError> {
        Ok(self.space.space().visitors(chatroom))
    }

    async fn agent_online(&self, tenant: TenantId, agent: UserId, conn: ConnId) -> Result<(), PresenceError> {
        drop(self.record(conn, Some(Present::Agent(tenant, agent))));
        Ok(())
    }

    async fn agent_offline(&self, _tenant: TenantId, conn: ConnId) -> Result<(), PresenceError> {
        drop(self.record(conn, None));
        Ok(())
    }

    async fn lead_routing(&self, tenant: TenantId, ttl: Duration) -> Result<bool, PresenceError> {
        let now = Timestamp::now();
        let mut space = self.space.space();
        match space.leads.get(&tenant) {
            Some((node, until)) if *node != self.node && now < *until => Ok(false),
            _ => {
                space.leads.insert(tenant, (self.node.clone(), now.plus_std(ttl)));
                Ok(true)
            }
        }
    }

    async fn end_routing(&self, tenant: TenantId) {
        let mut space = self.space.space();
        if space.leads.get(&tenant).is_some_and(|(node, _)| *node == self.node) {
            space.leads.remove(&tenant);
        }
    }

    async fn routed(&self, tenant: TenantId, agent: UserId, at: Timestamp) -> Result<(), PresenceError> {
        self.space.space().routed.entry(tenant).or_default().insert(agent, at);
        Ok(())
    }

    async fn last_routed(&self, tenant: TenantId) -> Result<HashMap<UserId, Timestamp>, PresenceError> {
        Ok(self.space.space().routed.get(&tenant).cloned().unwrap_or_default())
    }

    async fn agents_online(&self, tenant: TenantId) -> Result<BTreeSet<UserId>, PresenceError> {
        let now = Timestamp::now();
        let space = self.space.space();
        Ok(space
            .connections
            .iter()
            .filter(|(node, _)| space.is_alive(node, now))
            .flat_map(|(_, conns)| conns.values())
            .filter_map(|present| match present {
                Present::Agent(t, agent) if *t == tenant => Some(*agent),
                _ => None,
            })
            .collect())
    }

    async fn heartbeat(&self, beat: Beat) -> Result<Vec<(TenantId, ChatroomId)>, PresenceError> {
        let now = Timestamp::now();
        let mut space = self.space.space();
        space.nodes.insert(self.node.clone(), beat.report(now));
        let dead: Vec<String> = space
            .nodes
            .iter()
            .filter(|(node, report)| **node != self.node && !report.is_alive(now))
            .map(|(node, _)| node.clone())
            .collect();
        let mut orphaned = HashSet::new();
        for node in dead {
            tracing::warn!(node = %node, "socket-node stopped beating; clearing its presence");
            space.nodes.remove(&node);
            for present in space.connections.remove(&node).unwrap_or_default().into_values() {
                if let Present::Visitor(tenant, room) = present {
                    orphaned.insert((tenant, room));
                }
            }
        }
        Ok(orphaned.into_iter().collect())
    }

    async fn depart(&self) {
        let mut space = self.space.space();
        space.nodes.remove(&self.node);
        space.connections.remove(&self.node);
    }
}
