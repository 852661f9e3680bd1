//! Presence in Redis, under the keys of [`shared::presence`] (where the analytics function reads
//! them). A heartbeat is one command while all is well; when Redis lost this node's entry (it was
//! flushed, or another node reaped this one as dead) or a write of this node's failed, the
//! heartbeat asserts every connection of this node again, so Redis is whole again within one
//! heartbeat.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use redis::AsyncCommands as _;
use shared::{
    domain::{ChatroomId, TenantId, Timestamp, UserId},
    presence::{PresenceKeys, member, member_node},
    redis::Redis,
};

use super::{Beat, Presence, PresenceError, Present};
use crate::notice::ConnId;

/// Deletes the lead (KEYS[1]) only if this node (ARGV[1]) still holds it.
static END_LEAD: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0")
});

#[derive(Clone)]
pub struct RedisPresence {
    redis: Redis,
    node: String,
    /// This node's connections, asserted again when Redis may have lost them.
    local: Arc<Mutex<HashMap<ConnId, Present>>>,
    /// A write of this node's failed: the next heartbeat asserts everything again.
    unsure: Arc<AtomicBool>,
}

impl RedisPresence {
    pub fn new(redis: Redis, node: String) -> Self {
        Self { redis, node, local: Arc::default(), unsure: Arc::new(AtomicBool::new(true)) }
    }

    /// Passes `result` on, remembering a failure for the next heartbeat to repair.
    fn noting<T>(&self, result: redis::RedisResult<T>) -> Result<T, PresenceError> {
        if result.is_err() {
            self.unsure.store(true, Ordering::Relaxed);
        }
        Ok(result?)
    }

    /// Writes every connection of this node again.
    async fn reassert(&self) -> redis::RedisResult<()> {
        let keys = self.keys();
        let mut pipe = redis::pipe();
        let local: Vec<(ConnId, Present)> = self.local().iter().map(|(conn, present)| (*conn, *present)).collect();
        if local.is_empty() {
            return Ok(()); // Redis refuses an empty pipeline
        }
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
        pipe.query_async::<()>(&mut self.redis.conn.clone()).await
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
}

#[async_trait]
impl Presence for RedisPresence {
    async fn arrive(&self, tenant: TenantId, chatroom: ChatroomId, conn: ConnId) -> Result<u64, PresenceError> {
        self.local().insert(conn, Present::Visitor(tenant, chatroom));
        let mut redis = self.redis.conn.clone();
        let key = self.keys().chatroom(&chatroom);
        let written = redis::pipe()
            .sadd(&key, self.member(conn))
            .ignore()
            .sadd(self.keys().node_rooms(&self.node), format!("{tenant}/{chatroom}"))
            .ignore()
            .scard(&key)
            .query_async::<(u64,)>(&mut redis)
            .await;
        Ok(self.noting(written)?.0)
    }

    async fn leave(&self, tenant: TenantId, chatroom: ChatroomId, conn: ConnId) -> Result<u64, PresenceError> {
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

    async fn count(&self, chatroom: ChatroomId) -> Result<u64, PresenceError> {
        let mut redis = self.redis.conn.clone();
        Ok(redis.scard(self.keys().chatroom(&chatroom)).await?)
    }

    async fn agent_online(&self, tenant: TenantId, agent: UserId, conn: ConnId) -> Result<(), PresenceError> {
        self.local().insert(conn, Present::Agent(tenant, agent));
        let mut redis = self.redis.conn.clone();
        let written = redis::pipe()
            .hset(self.keys().agents(&tenant), self.member(conn), agent.to_string())
            .ignore()
            .sadd(self.keys().node_agents(&self.node), tenant.to_string())
            .ignore()
            .query_async(&mut redis)
            .await;
        self.noting(written)
    }

    async fn agent_offline(&self, tenant: TenantId, conn: ConnId) -> Result<(), PresenceError> {
        self.local().remove(&conn);
        let mut redis = self.redis.conn.clone();
        Ok(redis.hdel(self.keys().agents(&tenant), self.member(conn)).await?)
    }

    async fn lead_routing(&self, tenant: TenantId, ttl: Duration) -> Result<bool, PresenceError> {
        let mut redis = self.redis.conn.clone();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let taken: Option<String> = redis::cmd("SET")
            .arg(self.keys().routing_lead(&tenant))
            .arg(&self.node)
            .arg("NX")
            .arg("PX")
            .arg(millis)
            .query_async(&mut redis)
            .await?;
        Ok(taken.is_some())
    }

    async fn end_routing(&self, tenant: TenantId) {
        let mut redis = self.redis.conn.clone();
        let ended: redis::RedisResult<i64> =
            END_LEAD.key(self.keys().routing_lead(&tenant)).arg(&self.node).invoke_async(&mut redis).await;
        if let Err(err) = ended {
            tracing::warn!(error = %err, "routing lead not given back; it lapses");
        }
    }

    async fn routed(&self, tenant: TenantId, agent: UserId, at: Timestamp) -> Result<(), PresenceError> {
        let mut redis = self.redis.conn.clone();
        Ok(redis.hset(self.keys().routed(&tenant), agent.to_string(), at.unix_millis()).await?)
    }

    async fn last_routed(&self, tenant: TenantId) -> Result<HashMap<UserId, Timestamp>, PresenceError> {
        let mut redis = self.redis.conn.clone();
        let routed: HashMap<String, i64> = redis.hgetall(self.keys().routed(&tenant)).await?;
        Ok(routed
            .into_iter()
            .filter_map(|(agent, at)| Some((agent.parse().ok()?, Timestamp::from_unix_millis(at))))
            .collect())
    }

    async fn agents_online(&self, tenant: TenantId) -> Result<BTreeSet<UserId>, PresenceError> {
        let now = Timestamp::now();
        let nodes = shared::presence::read_nodes(&self.redis).await?;
        let alive = nodes.into_iter().filter(|(_, report)| report.is_alive(now)).map(|(id, _)| id).collect();
        Ok(shared::presence::agents_online(&self.redis, &tenant, &alive).await?)
    }

    async fn heartbeat(&self, beat: Beat) -> Result<Vec<(TenantId, ChatroomId)>, PresenceError> {
        let now = Timestamp::now();
        let mut redis = self.redis.conn.clone();
        let report = serde_json::to_string(&beat.report(now)).expect("reports serialise");
        // HSET answers 1 when this node's field was not there: Redis lost what this node wrote.
        let added: u64 = redis.hset(self.keys().nodes(), &self.node, report).await?;
        if added > 0 || self.unsure.swap(false, Ordering::Relaxed) {
            let reasserted = self.reassert().await;
            self.noting(reasserted)?;
        }
        Ok(self.reap(now).await?)
    }

    async fn depart(&self) {
        let keys = self.keys();
        let mut redis = self.redis.conn.clone();
        let _: Result<u64, _> = redis.hdel(keys.nodes(), &self.node).await;
        let _: Result<(), _> = self.forget_agents(&self.node).await;
        let _: Result<u64, _> = redis.del(keys.node_rooms(&self.node)).await;
    }
}
