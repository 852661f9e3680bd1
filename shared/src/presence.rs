//! Who is connected where, as the socket-nodes keep it in Redis and the analytics function reads it.
//!
//! - `<prefix>nodes`: a hash `node id → NodeReport {address, connections, startedAt, lastSeen,
//!   heartbeatMs}`, rewritten by each node every heartbeat. A report whose `lastSeen` is older than
//!   [`DEAD_AFTER_BEATS`] heartbeats belongs to a node that is gone (the same rule as every
//!   process's, [`crate::discovery`]).
//! - `<prefix>presence:<chatroom>`: a set of `<node>/<connection>`, the visitor's live connections.
//! - `<prefix>agents:<tenant>`: a hash `<node>/<connection> → user id`, the tenant's agents
//!   connected to a console.
//! - `<prefix>routing-lead:<tenant>`: the id of the node routing the tenant's queue now, expiring.
//! - `<prefix>routed:<tenant>`: a hash `user id → unix millis`, when routing last offered each agent
//!   a chatroom (the longest idle of equally loaded agents is offered the next).
//! - `<prefix>node:<node>:rooms` and `<prefix>node:<node>:agents`: what one node registered
//!   (`<tenant>/<chatroom>` and tenant ids), so whoever finds the node dead can remove it.
//!
//! The writing side lives in the socket-node (`socket-node/src/presence/redis.rs`); this module holds
//! the key names and the report, so both sides agree, and the reads the analytics function makes.

use std::collections::{BTreeSet, HashMap};

use redis::AsyncCommands as _;
use serde::{Deserialize, Serialize};

use crate::{
    domain::{ChatroomId, TenantId, Timestamp, UserId},
    redis::Keys,
};

pub use crate::discovery::DEAD_AFTER_BEATS;

/// One node's report, as stored in `<prefix>nodes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeReport {
    pub address: String,
    pub connections: u64,
    pub started_at: Timestamp,
    pub last_seen: Timestamp,
    /// The node's heartbeat interval: how old `last_seen` may get before the node counts as gone.
    pub heartbeat_ms: u64,
}

impl NodeReport {
    /// Whether the node beat recently enough, at `now`, to be alive.
    pub fn is_alive(&self, now: Timestamp) -> bool {
        crate::discovery::is_alive(self.last_seen, self.heartbeat_ms, now)
    }
}

/// The key names, under the deployment's prefix.
pub struct PresenceKeys<'a>(pub &'a Keys);

impl PresenceKeys<'_> {
    pub fn nodes(&self) -> String {
        self.0.key(&["nodes"])
    }

    pub fn chatroom(&self, chatroom: &ChatroomId) -> String {
        self.0.key(&["presence", &chatroom.to_string()])
    }

    pub fn agents(&self, tenant: &TenantId) -> String {
        self.0.key(&["agents", &tenant.to_string()])
    }

    /// Which node leads routing the tenant's queue (a value with an expiry).
    pub fn routing_lead(&self, tenant: &TenantId) -> String {
        self.0.key(&["routing-lead", &tenant.to_string()])
    }

    pub fn routed(&self, tenant: &TenantId) -> String {
        self.0.key(&["routed", &tenant.to_string()])
    }

    pub fn node_rooms(&self, node: &str) -> String {
        self.0.key(&["node", node, "rooms"])
    }

    pub fn node_agents(&self, node: &str) -> String {
        self.0.key(&["node", node, "agents"])
    }
}

/// The member naming one connection: `<node>/<connection>`.
pub fn member(node: &str, connection: u64) -> String {
    format!("{node}/{connection}")
}

/// The node a member belongs to.
pub fn member_node(member: &str) -> &str {
    member.split_once('/').map_or(member, |(node, _)| node)
}

/// Every node's report, by node id; reports that do not parse are left out.
pub async fn read_nodes(redis: &crate::redis::Redis) -> redis::RedisResult<Vec<(String, NodeReport)>> {
    let mut conn = redis.conn.clone();
    let reports: HashMap<String, String> = conn.hgetall(PresenceKeys(&redis.keys).nodes()).await?;
    let mut nodes: Vec<(String, NodeReport)> =
        reports.into_iter().filter_map(|(id, report)| Some((id, serde_json::from_str(&report).ok()?))).collect();
    nodes.sort_by(|a, b| a.1.address.cmp(&b.1.address).then_with(|| a.0.cmp(&b.0)));
    Ok(nodes)
}

/// The tenant's agents connected to a live node (`alive`: the ids of the nodes alive now), each
/// once however many consoles they have open.
pub async fn agents_online(
    redis: &crate::redis::Redis,
    tenant: &TenantId,
    alive: &BTreeSet<String>,
) -> redis::RedisResult<BTreeSet<UserId>> {
    let mut conn = redis.conn.clone();
    let connections: HashMap<String, String> = conn.hgetall(PresenceKeys(&redis.keys).agents(tenant)).await?;
    Ok(connections
        .into_iter()
        .filter(|(member, _)| alive.contains(member_node(member)))
        .filter_map(|(_, user)| user.parse().ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_alive_for_three_heartbeats() {
        let report = NodeReport {
            address: "127.0.0.1:1".into(),
            connections: 0,
            started_at: Timestamp::from_unix_millis(0),
            last_seen: Timestamp::from_unix_millis(10_000),
            heartbeat_ms: 1_000,
        };
        assert!(report.is_alive(Timestamp::from_unix_millis(12_999)));
        assert!(!report.is_alive(Timestamp::from_unix_millis(13_000)));
        assert_eq!(member_node(&member("n1", 7)), "n1");
    }
}
