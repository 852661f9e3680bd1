//! The chatrooms as a send, a typing or a read needs them, from Redis: [`CachedChatrooms`] wraps
//! the chatroom repository, so a chatroom is read from the store once and then from Redis by
//! every node, until it changes.
//!
//! Every change made through the repository (a join, a close, a read mark, ...) forgets the cached
//! copy in one atomic step that also bumps the chatroom's generation. A read that misses loads
//! the store and caches what it read only if the generation is still the one it saw before
//! reading, so a read racing a change can never put back the chatroom as it was before the
//! change. Two things are not forgotten on purpose:
//! - `lastSeq` and `lastActivityAt` trail the messages in the store already ([`crate::seqs`]);
//!   the cached copy trails them the same way, and every reader of `lastSeq` takes the higher of
//!   it and the seq counter ([`crate::chat::last_seq`]);
//! - lists (the queue, an agent's chatrooms) are read from the store.
//!
//! Only the socket-nodes change chatrooms, and all of them through this wrapper. When Redis
//! fails, reads go to the store; a change whose forgetting failed shows within [`CACHE_TTL`].

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use shared::{
    domain::{Chatroom, ChatroomId, ChatroomStatus, SenderKind, TenantId, Timestamp, Transition, UserId},
    redis::Redis,
    repos::{ChatroomRepo, RepoError},
};

/// How long a cached chatroom is trusted: the bound on staleness when Redis failed to forget it.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// How long a chatroom's generation outlives its last change.
const GENERATION_TTL_SECS: u64 = 86_400;

/// A [`ChatroomRepo`] whose `get` is served from Redis when it can be.
pub struct CachedChatrooms {
    store: Arc<dyn ChatroomRepo>,
    redis: Redis,
    /// Caches the chatroom read (ARGV[1]) if the generation (KEYS[2]) is still ARGV[2] ('' for
    /// none).
    fill: redis::Script,
    /// Bumps the generation and forgets the cached chatroom.
    forget: redis::Script,
}

impl CachedChatrooms {
    pub fn new(store: Arc<dyn ChatroomRepo>, redis: Redis) -> Self {
        let fill = redis::Script::new(
            r"
            if (redis.call('GET', KEYS[2]) or '') ~= ARGV[2] then return 0 end
            redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
            return 1
            ",
        );
        let forget = redis::Script::new(
            r"
            redis.call('INCR', KEYS[2])
            redis.call('EXPIRE', KEYS[2], ARGV[1])
            redis.call('DEL', KEYS[1])
            return 1
            ",
        );
        Self { store, redis, fill, forget }
    }

    fn keys(&self, id: &ChatroomId) -> (String, String) {
        let id = id.to_string();
        (self.redis.keys.key(&["chatroom", &id]), self.redis.keys.key(&["chatroom-gen", &id]))
    }

    /// Forgets the cached chatroom after a change was stored (or may have been).
    async fn forget(&self, id: &ChatroomId) {
        let (room, generation) = self.keys(id);
        let mut conn = self.redis.conn.clone();
        let forgotten: redis::RedisResult<i64> =
            self.forget.key(room).key(generation).arg(GENERATION_TTL_SECS).invoke_async(&mut conn).await;
        if let Err(err) = forgotten {
            tracing::error!(chatroom_id = %id, error = %err, "cached chatroom not forgotten; the change shows within its TTL");
        }
    }

    /// Runs a change and forgets the cached copy, whatever the change answered.
    async fn changed<T>(&self, id: &ChatroomId, answer: Result<T, RepoError>) -> Result<T, RepoError> {
        self.forget(id).await;
        answer
    }
}

#[async_trait]
impl ChatroomRepo for CachedChatrooms {
    async fn insert(&self, room: &Chatroom) -> Result<(), RepoError> {
        self.store.insert(room).await
    }

    async fn get(&self, tenant: &TenantId, id: &ChatroomId) -> Result<Option<Chatroom>, RepoError> {
        let (room_key, generation_key) = self.keys(id);
        let mut conn = self.redis.conn.clone();
        let seen: Option<(Option<String>, Option<String>)> =
            match redis::cmd("MGET").arg(&room_key).arg(&generation_key).query_async(&mut conn).await {
                Ok(values) => Some(values),
                Err(err) => {
                    tracing::warn!(error = %err, "chatroom cache unavailable; reading the store");
                    None
                }
            };
        if let Some((Some(cached), _)) = &seen
            && let Ok(room) = serde_json::from_str::<Chatroom>(cached)
        {
            // Cached by id alone: the tenant is checked here, as the store's filter would.
            return Ok((room.tenant_id == *tenant).then_some(room));
        }
        let Some(room) = self.store.get(tenant, id).await? else { return Ok(None) };
        if let (Some((_, generation)), Ok(json)) = (seen, serde_json::to_string(&room)) {
            let filled: redis::RedisResult<i64> = self
                .fill
                .key(room_key)
                .key(generation_key)
                .arg(json)
                .arg(generation.unwrap_or_default())
                .arg(CACHE_TTL.as_secs())
                .invoke_async(&mut conn)
                .await;
            if let Err(err) = filled {
                tracing::warn!(error = %err, "chatroom not cached");
            }
        }
        Ok(Some(room))
    }

    async fn list_by_ids(&self, tenant: &TenantId, ids: &[ChatroomId]) -> Result<Vec<Chatroom>, RepoError> {
        self.store.list_by_ids(tenant, ids).await
    }

    async fn list_with_status(
        &self,
        tenant: &TenantId,
        statuses: &[ChatroomStatus],
        limit: u32,
    ) -> Result<Vec<Chatroom>, RepoError> {
        self.store.list_with_status(tenant, statuses, limit).await
    }

    async fn list_for_agent(&self, tenant: &TenantId, agent: &UserId) -> Result<Vec<Chatroom>, RepoError> {
        self.store.list_for_agent(tenant, agent).await
    }

    async fn count_for_agent(&self, tenant: &TenantId, agent: &UserId) -> Result<u64, RepoError> {
        self.store.count_for_agent(tenant, agent).await
    }

    /// Not forgotten: the cached `lastSeq` trails like the stored one (see the module).
    async fn raise_last_seq(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        seq: u64,
        at: Timestamp,
    ) -> Result<(), RepoError> {
        self.store.raise_last_seq(tenant, id, seq, at).await
    }

    async fn transition(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        from: &[ChatroomStatus],
        held_by: Option<&UserId>,
        change: &Transition,
    ) -> Result<Option<Chatroom>, RepoError> {
        let answer = self.store.transition(tenant, id, from, held_by, change).await;
        self.changed(id, answer).await
    }

    async fn set_first_agent_reply(&self, tenant: &TenantId, id: &ChatroomId, at: Timestamp) -> Result<(), RepoError> {
        let answer = self.store.set_first_agent_reply(tenant, id, at).await;
        self.changed(id, answer).await
    }

    async fn set_read(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        reader: SenderKind,
        up_to: u64,
    ) -> Result<(), RepoError> {
        let answer = self.store.set_read(tenant, id, reader, up_to).await;
        self.changed(id, answer).await
    }

    async fn list_overdue_standby(&self, now: Timestamp, limit: u32) -> Result<Vec<Chatroom>, RepoError> {
        self.store.list_overdue_standby(now, limit).await
    }

    async fn request_transcript(&self, tenant: &TenantId, id: &ChatroomId) -> Result<Option<Chatroom>, RepoError> {
        let answer = self.store.request_transcript(tenant, id).await;
        self.changed(id, answer).await
    }

    async fn list_unclaimed(&self, waiting_since: Timestamp, limit: u32) -> Result<Vec<Chatroom>, RepoError> {
        self.store.list_unclaimed(waiting_since, limit).await
    }

    async fn mark_unclaimed_alerted(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        now: Timestamp,
    ) -> Result<Option<Chatroom>, RepoError> {
        let answer = self.store.mark_unclaimed_alerted(tenant, id, now).await;
        self.changed(id, answer).await
    }
}
