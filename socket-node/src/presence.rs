//! Presence in Redis: which visitor connections each chatroom has, on any node, and each node's
//! heartbeat with its connection count.
//!
//! - `<prefix>presence:<chatroom>`: a set of `<node>/<connection>` for the visitor's live
//!   connections. When the last one leaves, the chatroom goes to standby.
//! - `<prefix>nodes`: a hash `node id → {address, connections, startedAt, lastSeen}`, refreshed
//!   every heartbeat; the analytics function reads it, and a `lastSeen` older than a few
//!   heartbeats means the node is gone.
//!
//! Each heartbeat also re-asserts this node's visitor connections, so a flushed Redis is whole
//! again within one heartbeat. A node that dies leaves its members behind: the heartbeat of every
//! node removes the members of nodes whose `lastSeen` is older than [`DEAD_AFTER_BEATS`]
//! heartbeats, and those chatrooms then go to standby like any other.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use redis::AsyncCommands as _;
use serde::{Deserialize, Serialize};
use shared::{
    domain::{ChatroomId, TenantId, Timestamp},
    redis::Redis,
};

use crate::hub::ConnId;

/// A node whose heartbeat is this many intervals old is considered gone.
pub const DEAD_AFTER_BEATS: u32 = 3;

/// One node's report, as stored in `<prefix>nodes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeReport {
    pub address: String,
    pub connections: u64,
    pub started_at: Timestamp,
    pub last_seen: Timestamp,
}

#[derive(Clone)]
pub struct Presence {
    redis: Redis,
    node: String,
    /// This node's visitor connections, re-asserted every heartbeat.
    local: Arc<Mutex<HashMap<ConnId, (TenantId, ChatroomId)>>>,
}

impl Presence {
    pub fn new(redis: Redis, node: String) -> Self {
        Self { redis, node, local: Arc::default() }
    }

    fn key(&self, chatroom: &ChatroomId) -> String {
        self.redis.keys.key(&["presence", &chatroom.to_string()])
    }

    fn member(&self, conn: ConnId) -> String {
        format!("{}/{conn}", self.node)
    }

    fn local(&self) -> std::sync::MutexGuard<'_, HashMap<ConnId, (TenantId, ChatroomId)>> {
        self.local.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a visitor connection; returns how many the chatroom has now.
    pub async fn arrive(&self, tenant: TenantId, chatroom: ChatroomId, conn: ConnId) -> redis::RedisResult<u64> {
        self.local().insert(conn, (tenant, chatroom));
        let mut redis = self.redis.conn.clone();
        let key = self.key(&chatroom);
        let (count,): (u64,) = redis::pipe()
            .sadd(&key, self.member(conn))
            .ignore()
            .sadd(self.node_rooms_key(&self.node), format!("{tenant}/{chatroom}"))
            .ignore()
            .scard(&key)
            .query_async(&mut redis)
            .await?;
        Ok(count)
    }

    /// Forgets a visitor connection; returns how many the chatroom has left.
    pub async fn leave(&self, tenant: TenantId, chatroom: ChatroomId, conn: ConnId) -> redis::RedisResult<u64> {
        let still_here = {
            let mut local = self.local();
            local.remove(&conn);
            local.values().any(|(_, room)| *room == chatroom)
        };
        let mut redis = self.redis.conn.clone();
        let key = self.key(&chatroom);
        let mut pipe = redis::pipe();
        pipe.srem(&key, self.member(conn)).ignore();
        if !still_here {
            pipe.srem(self.node_rooms_key(&self.node), format!("{tenant}/{chatroom}")).ignore();
        }
        let (count,): (u64,) = pipe.scard(&key).query_async(&mut redis).await?;
        Ok(count)
    }

    pub async fn count(&self, chatroom: ChatroomId) -> redis::RedisResult<u64> {
        let mut redis = self.redis.conn.clone();
        redis.scard(self.key(&chatroom)).await
    }

    /// Writes this node's report and re-asserts its visitor connections. Returns the chatrooms
    /// whose members belonged to nodes found dead (their presence is now gone).
    pub async fn heartbeat(
        &self,
        address: SocketAddr,
        connections: u64,
        started_at: Timestamp,
        interval: std::time::Duration,
    ) -> redis::RedisResult<Vec<(TenantId, ChatroomId)>> {
        let now = Timestamp::now();
        let report = NodeReport { address: address.to_string(), connections, started_at, last_seen: now };
        let nodes_key = self.redis.keys.key(&["nodes"]);
        let mut redis = self.redis.conn.clone();
        let mut pipe = redis::pipe();
        pipe.hset(&nodes_key, &self.node, serde_json::to_string(&report).expect("reports serialise")).ignore();
        let local: Vec<(ConnId, TenantId, ChatroomId)> =
            self.local().iter().map(|(conn, (tenant, room))| (*conn, *tenant, *room)).collect();
        for (conn, tenant, room) in &local {
            pipe.sadd(self.key(room), self.member(*conn)).ignore();
            pipe.sadd(self.node_rooms_key(&self.node), format!("{tenant}/{room}")).ignore();
        }
        pipe.query_async::<()>(&mut redis).await?;
        self.reap(now, interval).await
    }

    fn node_rooms_key(&self, node: &str) -> String {
        self.redis.keys.key(&["node", node, "rooms"])
    }

    /// Removes the presence of nodes that stopped beating. Exactly one node reaps each dead node
    /// (the one whose `HDEL` removed it).
    async fn reap(
        &self,
        now: Timestamp,
        interval: std::time::Duration,
    ) -> redis::RedisResult<Vec<(TenantId, ChatroomId)>> {
        let nodes_key = self.redis.keys.key(&["nodes"]);
        let mut redis = self.redis.conn.clone();
        let reports: HashMap<String, String> = redis.hgetall(&nodes_key).await?;
        let deadline = interval * DEAD_AFTER_BEATS;
        let mut orphaned = Vec::new();
        for (node, report) in reports {
            let Ok(report) = serde_json::from_str::<NodeReport>(&report) else { continue };
            let age = now.unix_millis() - report.last_seen.unix_millis();
            if node == self.node || age < deadline.as_millis() as i64 {
                continue;
            }
            let removed: u64 = redis.hdel(&nodes_key, &node).await?;
            if removed == 0 {
                continue;
            }
            tracing::warn!(node = %node, "socket-node stopped beating; clearing its presence");
            let rooms: Vec<String> = redis.smembers(self.node_rooms_key(&node)).await?;
            for entry in rooms {
                let Some((tenant, room)) = entry.split_once('/') else { continue };
                let (Ok(tenant), Ok(room)) = (tenant.parse::<TenantId>(), room.parse::<ChatroomId>()) else { continue };
                let key = self.key(&room);
                let members: Vec<String> = redis.smembers(&key).await?;
                let dead: Vec<&String> = members.iter().filter(|m| m.starts_with(&format!("{node}/"))).collect();
                if !dead.is_empty() {
                    let _: u64 = redis.srem(&key, dead).await?;
                }
                orphaned.push((tenant, room));
            }
            let _: u64 = redis.del(self.node_rooms_key(&node)).await?;
        }
        Ok(orphaned)
    }

    /// Removes this node from `<prefix>nodes` (at shutdown).
    pub async fn depart(&self) {
        let mut redis = self.redis.conn.clone();
        let nodes_key = self.redis.keys.key(&["nodes"]);
        let _: Result<u64, _> = redis.hdel(&nodes_key, &self.node).await;
        let _: Result<u64, _> = redis.del(self.node_rooms_key(&self.node)).await;
    }
}
