//! The chatrooms' Redis side: [`CachedChatrooms`] wraps the chatroom repository, so a chatroom
//! is read from the store once and then from Redis by every node until it changes, and the
//! sweeps' questions (which standby chatrooms are overdue, which waiting ones are unclaimed) are
//! answered from two sorted sets instead of a scan of every chatroom, which FerretDB does by
//! decoding each document: the sweeps stay flat as the store grows.
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
//! The timers: every change through the wrapper that returns the chatroom files it in
//! `standby-due` (scored by its standby deadline) or `unclaimed-due` (by when it began waiting)
//! or takes it out. A sweep reads the due members, reads each chatroom (the store stays the
//! truth: a member whose chatroom no longer qualifies is dropped) and answers those that do.
//! When Redis has lost the sets (flushed: the marker `timers-indexed` is gone), the next sweep
//! files every open chatroom again from the store, once, before answering.
//!
//! Only the socket-nodes change chatrooms, and all of them through this wrapper. When Redis
//! fails, reads and sweeps go to the store; a change whose forgetting failed shows within
//! [`CACHE_TTL`].

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use shared::{
    domain::{
        ChatbotId, Chatroom, ChatroomId, ChatroomStatus, EmailAddress, Offer, SenderKind, TenantId, Timestamp,
        Transition, UserId,
    },
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

/// The sweeps' sorted sets, and the marker saying they hold every open chatroom.
const STANDBY_DUE: &str = "standby-due";
const UNCLAIMED_DUE: &str = "unclaimed-due";
const TIMERS_INDEXED: &str = "timers-indexed";
/// The most chatrooms filed again from the store when Redis lost the sets.
const REFILE_LIMIT: u32 = 100_000;

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

    /// A change that answers the chatroom after it: forgotten, and filed in the timers.
    async fn changed_to(
        &self,
        id: &ChatroomId,
        answer: Result<Option<Chatroom>, RepoError>,
    ) -> Result<Option<Chatroom>, RepoError> {
        let answer = self.changed(id, answer).await;
        if let Ok(Some(room)) = &answer {
            self.file(std::slice::from_ref(room)).await;
        }
        answer
    }

    /// Files each chatroom in the sweeps' sets it belongs to, and out of the other.
    async fn file(&self, rooms: &[Chatroom]) {
        if rooms.is_empty() {
            return; // Redis refuses an empty pipeline
        }
        let (standby, unclaimed) = (self.redis.keys.key(&[STANDBY_DUE]), self.redis.keys.key(&[UNCLAIMED_DUE]));
        let mut pipe = redis::pipe();
        for room in rooms {
            let member = format!("{}/{}", room.tenant_id, room.id);
            match room.standby_deadline() {
                Some(until) => pipe.zadd(&standby, &member, until.unix_millis()).ignore(),
                None => pipe.zrem(&standby, &member).ignore(),
            };
            match room.waiting_unalerted_since() {
                Some(since) => pipe.zadd(&unclaimed, &member, since.unix_millis()).ignore(),
                None => pipe.zrem(&unclaimed, &member).ignore(),
            };
        }
        let filed: redis::RedisResult<()> = pipe.query_async(&mut self.redis.conn.clone()).await;
        if let Err(err) = filed {
            // The chatroom is late to its sweep until Redis is back and the sets are rebuilt.
            tracing::error!(error = %err, "chatroom timers not filed");
        }
    }

    /// The chatrooms due in `set` by `by`, that `due` still holds for once read (at most `limit`);
    /// `None` when Redis cannot answer (the caller asks the store).
    async fn due(
        &self,
        set: &str,
        by: Timestamp,
        limit: u32,
        due: impl Fn(&Chatroom) -> bool,
    ) -> Result<Option<Vec<Chatroom>>, RepoError> {
        if !self.timers_indexed().await {
            return Ok(None);
        }
        let key = self.redis.keys.key(&[set]);
        let mut conn = self.redis.conn.clone();
        let members: Vec<String> = match redis::cmd("ZRANGEBYSCORE")
            .arg(&key)
            .arg("-inf")
            .arg(by.unix_millis())
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut conn)
            .await
        {
            Ok(members) => members,
            Err(err) => {
                tracing::warn!(error = %err, "chatroom timers unavailable; asking the store");
                return Ok(None);
            }
        };
        let mut rooms = Vec::new();
        for member in members {
            let parsed = member.split_once('/').and_then(|(t, c)| Some((t.parse().ok()?, c.parse().ok()?)));
            let room = match parsed {
                Some((tenant, id)) => self.get(&tenant, &id).await?,
                None => None,
            };
            match room {
                Some(room) if due(&room) => rooms.push(room),
                // Changed since it was filed and the filing was lost: filed again as it is now.
                Some(room) => self.file(std::slice::from_ref(&room)).await,
                None => {
                    let _: redis::RedisResult<()> = redis::AsyncCommands::zrem(&mut conn, &key, &member).await;
                }
            }
        }
        Ok(Some(rooms))
    }

    /// Whether the sets hold every open chatroom; when Redis lost them, files every standby and
    /// unclaimed chatroom again from the store first.
    async fn timers_indexed(&self) -> bool {
        let marker = self.redis.keys.key(&[TIMERS_INDEXED]);
        let mut conn = self.redis.conn.clone();
        match redis::AsyncCommands::exists::<_, bool>(&mut conn, &marker).await {
            Ok(true) => return true,
            Ok(false) => {}
            Err(_) => return false,
        }
        // Every deadline and wait there is: a century on.
        let far = Timestamp::now().plus_std(Duration::from_secs(100 * 365 * 86_400));
        let standby = self.store.list_overdue_standby(far, REFILE_LIMIT).await;
        let unclaimed = self.store.list_unclaimed(far, REFILE_LIMIT).await;
        let (Ok(standby), Ok(unclaimed)) = (standby, unclaimed) else { return false };
        tracing::info!(standby = standby.len(), unclaimed = unclaimed.len(), "chatroom timers filed from the store");
        self.file(&standby).await;
        self.file(&unclaimed).await;
        let marked: redis::RedisResult<()> = redis::AsyncCommands::set(&mut conn, &marker, 1).await;
        marked.is_ok()
    }
}

#[async_trait]
impl ChatroomRepo for CachedChatrooms {
    async fn insert(&self, room: &Chatroom) -> Result<(), RepoError> {
        self.store.insert(room).await?;
        self.file(std::slice::from_ref(room)).await;
        Ok(())
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
        self.changed_to(id, answer).await
    }

    async fn change_offer(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        expected: Option<&Offer>,
        next: Option<&Offer>,
        passed: Option<&UserId>,
    ) -> Result<Option<Chatroom>, RepoError> {
        let answer = self.store.change_offer(tenant, id, expected, next, passed).await;
        self.changed_to(id, answer).await
    }

    async fn last_agent_for(
        &self,
        tenant: &TenantId,
        chatbot: &ChatbotId,
        email: &EmailAddress,
    ) -> Result<Option<UserId>, RepoError> {
        self.store.last_agent_for(tenant, chatbot, email).await
    }

    async fn list_assigned_since(
        &self,
        tenant: &TenantId,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<Chatroom>, RepoError> {
        self.store.list_assigned_since(tenant, since, limit).await
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
        match self.due(STANDBY_DUE, now, limit, |room| room.standby_overdue(now)).await? {
            Some(rooms) => Ok(rooms),
            None => self.store.list_overdue_standby(now, limit).await,
        }
    }

    async fn request_transcript(&self, tenant: &TenantId, id: &ChatroomId) -> Result<Option<Chatroom>, RepoError> {
        let answer = self.store.request_transcript(tenant, id).await;
        self.changed(id, answer).await
    }

    async fn list_unclaimed(&self, waiting_since: Timestamp, limit: u32) -> Result<Vec<Chatroom>, RepoError> {
        match self.due(UNCLAIMED_DUE, waiting_since, limit, |room| room.unclaimed_since(waiting_since)).await? {
            Some(rooms) => Ok(rooms),
            None => self.store.list_unclaimed(waiting_since, limit).await,
        }
    }

    async fn mark_unclaimed_alerted(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        now: Timestamp,
    ) -> Result<Option<Chatroom>, RepoError> {
        let answer = self.store.mark_unclaimed_alerted(tenant, id, now).await;
        self.changed_to(id, answer).await
    }
}
