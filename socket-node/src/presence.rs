//! Presence in Redis: which visitor connections each chatroom has and which agents have a console
//! open, on any node, and each node's heartbeat with its connection count. The keys and the
//! report are in [`shared::presence`], where the analytics function reads them.
//!
//! A visitor's last connection leaving puts the chatroom in standby. Each heartbeat re-asserts
//! this node's connections, so a flushed Redis is whole again within one heartbeat. A node that
//! dies leaves its members behind: the heartbeat of every node removes the members of nodes whose
//! `lastSeen` is older than
//! [`DEAD_AFTER_BEATS`](shared::presence::DEAD_AFTER_BEATS) heartbeats, and those chatrooms then go to
//! standby like any other.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use redis::AsyncCommands as _;
use shared::{
    domain::{ChatroomId, TenantId, Timestamp, UserId},
    presence::{NodeReport, PresenceKeys, member, member_node},
    redis::Redis,
};

use crate::hub::ConnId;

/// What one of this node's connections is, for presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Present {
    Visitor(TenantId, ChatroomId),
    Agent(TenantId, UserId),
}

#[derive(Clone)]
pub struct Presence {
    redis: Redis,
    node: String,
    /// This node's connections, re-asserted every heartbeat.
    local: Arc<Mutex<HashMap<ConnId, Present>>>,
}

impl Presence {
    pub fn new(redis: Redis, node: String) -> Self {
        Self { redis, node, local: Arc::default() }
    }

    fn keys(&self) -> PresenceKeys<'_> {
        PresenceKeys(&self.redis.keys)
    }

    fn member(&self, conn: ConnId) -> String {
        member(&self.node, conn)
    }

    fn local(&self) -> std::sync::MutexGuard<'_, HashMap<ConnId, Present>> {
        self.local.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a visitor connection; returns how many the chatroom has now.
    pub async fn arrive(&self, tenant: TenantId, chatroom: ChatroomId, conn: ConnId) -> redis::RedisResult<u64> {
        self.local().insert(conn, Present::Visitor(tenant, chatroom));
        let mut redis = self.redis.conn.clone();
        let key = self.keys().chatroom(&chatroom);
        let (count,): (u64,) = redis::pipe()
            .sadd(&key, self.member(conn))
            .ignore()
            .sadd(self.keys().node_rooms(&self.node), format!("{tenant}/{chatroom}"))
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
            local.values().any(|present| *present == Present::Visitor(tenant, chatroom))
        };
        let mut redis = self.redis.conn.clone();
        let key = self.keys().chatroom(&chatroom);
        let mut pipe = redis::pipe();
        pipe.srem(&key, self.member(conn)).ignore();
        if !still_here {
            pipe.srem(self.keys().node_rooms(&self.node), format!("{tenant}/{chatroom}")).ignore();
        }
        let (count,): (u64,) = pipe.scard(&key).query_async(&mut redis).await?;
        Ok(count)
    }

    pub async fn count(&self, chatroom: ChatroomId) -> redis::RedisResult<u64> {
        let mut redis = self.redis.conn.clone();
        redis.scard(self.keys().chatroom(&chatroom)).await
    }

    /// Records an agent's console connection (what "agents online" counts).
    pub async fn agent_online(&self, tenant: TenantId, agent: UserId, conn: ConnId) -> redis::RedisResult<()> {
        self.local().insert(conn, Present::Agent(tenant, agent));
        let mut redis = self.redis.conn.clone();
        redis::pipe()
            .hset(self.keys().agents(&tenant), self.member(conn), agent.to_string())
            .ignore()
            .sadd(self.keys().node_agents(&self.node), tenant.to_string())
            .ignore()
            .query_async(&mut redis)
            .await
    }

    /// Forgets an agent's console connection.
    pub async fn agent_offline(&self, tenant: TenantId, conn: ConnId) -> redis::RedisResult<()> {
        self.local().remove(&conn);
        let mut redis = self.redis.conn.clone();
        redis.hdel(self.keys().agents(&tenant), self.member(conn)).await
    }

    /// Writes this node's report and re-asserts its connections. Returns the chatrooms whose
    /// members belonged to nodes found dead (their presence is now gone).
    pub async fn heartbeat(
        &self,
        address: SocketAddr,
        connections: u64,
        started_at: Timestamp,
        interval: std::time::Duration,
    ) -> redis::RedisResult<Vec<(TenantId, ChatroomId)>> {
        let now = Timestamp::now();
        let report = NodeReport {
            address: address.to_string(),
            connections,
            started_at,
            last_seen: now,
            heartbeat_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
        };
        let keys = self.keys();
        let mut redis = self.redis.conn.clone();
        let mut pipe = redis::pipe();
        pipe.hset(keys.nodes(), &self.node, serde_json::to_string(&report).expect("reports serialise")).ignore();
        let local: Vec<(ConnId, Present)> = self.local().iter().map(|(conn, present)| (*conn, *present)).collect();
        for (conn, present) in &local {
            match present {
                Present::Visitor(tenant, room) => {
                    pipe.sadd(keys.chatroom(room), self.member(*conn)).ignore();
                    pipe.sadd(keys.node_rooms(&self.node), format!("{tenant}/{room}")).ignore();
                }
                Present::Agent(tenant, agent) => {
                    pipe.hset(keys.agents(tenant), self.member(*conn), agent.to_string()).ignore();
                    pipe.sadd(keys.node_agents(&self.node), tenant.to_string()).ignore();
                }
            }
        }
        pipe.query_async::<()>(&mut redis).await?;
        self.reap(now).await
    }

    /// Removes the presence of nodes that stopped beating. Exactly one node reaps each dead node
    /// (the one whose `HDEL` removed it).
    async fn reap(&self, now: Timestamp) -> redis::RedisResult<Vec<(TenantId, ChatroomId)>> {
        let keys = self.keys();
        let mut redis = self.redis.conn.clone();
        let mut orphaned = Vec::new();
        for (node, report) in shared::presence::read_nodes(&self.redis).await? {
            if node == self.node || report.is_alive(now) {
                continue;
            }
            let removed: u64 = redis.hdel(keys.nodes(), &node).await?;
            if removed == 0 {
                continue;
            }
            tracing::warn!(node = %node, "socket-node stopped beating; clearing its presence");
            let rooms: Vec<String> = redis.smembers(keys.node_rooms(&node)).await?;
            for entry in rooms {
                let Some((tenant, room)) = entry.split_once('/') else { continue };
                let (Ok(tenant), Ok(room)) = (tenant.parse::<TenantId>(), room.parse::<ChatroomId>()) else { continue };
                let key = keys.chatroom(&room);
                let members: Vec<String> = redis.smembers(&key).await?;
                let dead: Vec<&String> = members.iter().filter(|m| member_node(m) == node).collect();
                if !dead.is_empty() {
                    let _: u64 = redis.srem(&key, dead).await?;
                }
                orphaned.push((tenant, room));
            }
            self.forget_agents(&node).await?;
            let _: u64 = redis.del(keys.node_rooms(&node)).await?;
        }
        Ok(orphaned)
    }

    /// Removes `node`'s agent connections from every tenant it registered some for.
    async fn forget_agents(&self, node: &str) -> redis::RedisResult<()> {
        let keys = self.keys();
        let mut redis = self.redis.conn.clone();
        let tenants: Vec<String> = redis.smembers(keys.node_agents(node)).await?;
        for tenant in tenants.iter().filter_map(|t| t.parse::<TenantId>().ok()) {
            let members: Vec<String> = redis.hkeys(keys.agents(&tenant)).await?;
            let dead: Vec<&String> = members.iter().filter(|m| member_node(m) == node).collect();
            if !dead.is_empty() {
                let _: u64 = redis.hdel(keys.agents(&tenant), dead).await?;
            }
        }
        redis.del(keys.node_agents(node)).await
    }

    /// Removes this node from `<prefix>nodes`, with its agents (at shutdown).
    pub async fn depart(&self) {
        let keys = self.keys();
        let mut redis = self.redis.conn.clone();
        let _: Result<u64, _> = redis.hdel(keys.nodes(), &self.node).await;
        let _: Result<(), _> = self.forget_agents(&self.node).await;
        let _: Result<u64, _> = redis.del(keys.node_rooms(&self.node)).await;
    }
}
