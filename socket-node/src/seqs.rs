//! Sequence numbers of chat messages, handed out by a counter per chatroom (Redis `INCR`, or in
//! process memory without Redis), so a send writes the store once, its message, instead of
//! compare-and-setting the chatroom document for each number.
//!
//! The store stays the truth. A counter that is missing (Redis flushed, or its key expired after
//! [`IDLE_TTL_SECS`] of silence) starts again from the highest seq the store holds for the
//! chatroom. Across such a restart a number may be handed out twice (a message numbered but not
//! yet stored when Redis lost the counter): the messages' unique (chatroomId, seq) index refuses
//! the second one (`message_seq_taken`), and the sender asks for another number
//! ([`crate::chat::send`]). So no stored message is lost and no seq names two messages.
//!
//! In Redis the same script that hands out a seq enters it, pending, in the chatroom's window of
//! recent messages ([`crate::recent`]), and a counter started again starts a new window.
//!
//! The chatroom document's `lastSeq` follows behind ([`LastSeqs`]): written by a background task
//! at most once per chatroom every [`FLUSH_EVERY`], and on shutdown.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use shared::{
    domain::{ChatroomId, TenantId, Timestamp},
    redis::Redis,
    repos::{RepoError, Repos},
};
use tokio::sync::watch;

use crate::recent::{self, RecentMessages};

/// How long a chatroom's counter outlives its last message in Redis (a day).
pub const IDLE_TTL_SECS: u64 = 86_400;
/// How often the chatrooms' `lastSeq` is written behind their messages.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// Hands out each chatroom's seqs: 1, 2, 3, ... on every node.
#[async_trait]
pub trait Seqs: Send + Sync {
    /// The chatroom's next seq. `floor` is a seq known to be taken (the chatroom document's
    /// `lastSeq`): a counter started again never starts below it.
    async fn next(&self, repos: &Repos, tenant: &TenantId, chatroom: &ChatroomId, floor: u64) -> Result<u64, SeqError>;

    /// The last seq handed out, if the counter is there.
    async fn current(&self, chatroom: &ChatroomId) -> Result<Option<u64>, SeqError>;

    /// Starts a new chatroom's counter at 0, so its first message needs no look-up in the store
    /// (which grows with every chatroom's messages). Changes nothing when the counter exists.
    async fn begin(&self, chatroom: &ChatroomId) -> Result<(), SeqError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SeqError {
    #[error("the seq counter failed: {0}")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Store(#[from] RepoError),
}

/// The counters in Redis, one key per chatroom.
pub struct RedisSeqs {
    redis: Redis,
    /// INCR when the key exists, or when a starting value is given (set first if the key is
    /// still missing, so of two nodes starting it again, the first one's value stands, and the
    /// chatroom's window of recent messages starts anew); 0 when the key is missing and no value
    /// was given. The seq handed out enters the window pending, and the seq [`recent::WINDOW`]
    /// below leaves it.
    script: redis::Script,
}

impl RedisSeqs {
    pub fn new(redis: Redis) -> Self {
        let script = redis::Script::new(
            r"
            if redis.call('EXISTS', KEYS[1]) == 0 then
                if ARGV[2] == '' then return 0 end
                redis.call('SET', KEYS[1], ARGV[2])
                redis.call('DEL', KEYS[2])
            end
            local n = redis.call('INCR', KEYS[1])
            redis.call('EXPIRE', KEYS[1], ARGV[1])
            local window = tonumber(ARGV[3])
            redis.call('HSET', KEYS[2], n, '')
            redis.call('HSETNX', KEYS[2], 'floor', n)
            if n > window then
                redis.call('HDEL', KEYS[2], n - window)
                if tonumber(redis.call('HGET', KEYS[2], 'floor')) <= n - window then
                    redis.call('HSET', KEYS[2], 'floor', n - window + 1)
                end
            end
            redis.call('EXPIRE', KEYS[2], ARGV[4])
            return n
            ",
        );
        Self { redis, script }
    }

    /// The chatroom's counter key (the window's script reads it too).
    pub fn key(redis: &Redis, chatroom: &ChatroomId) -> String {
        redis.keys.key(&["seq", &chatroom.to_string()])
    }

    async fn incr(&self, chatroom: &ChatroomId, start: Option<u64>) -> Result<u64, SeqError> {
        let start = start.map(|s| s.to_string()).unwrap_or_default();
        let mut conn = self.redis.conn.clone();
        let n: u64 = self
            .script
            .key(Self::key(&self.redis, chatroom))
            .key(RecentMessages::key(&self.redis, chatroom))
            .arg(IDLE_TTL_SECS)
            .arg(start)
            .arg(recent::WINDOW)
            .arg(recent::TTL_SECS)
            .invoke_async(&mut conn)
            .await?;
        Ok(n)
    }
}

#[async_trait]
impl Seqs for RedisSeqs {
    async fn next(&self, repos: &Repos, tenant: &TenantId, chatroom: &ChatroomId, floor: u64) -> Result<u64, SeqError> {
        match self.incr(chatroom, None).await? {
            0 => {
                let stored = repos.messages.highest_seq(tenant, chatroom).await?;
                self.incr(chatroom, Some(stored.max(floor))).await
            }
            n => Ok(n),
        }
    }

    async fn current(&self, chatroom: &ChatroomId) -> Result<Option<u64>, SeqError> {
        let mut conn = self.redis.conn.clone();
        let value: Option<u64> = redis::AsyncCommands::get(&mut conn, Self::key(&self.redis, chatroom)).await?;
        Ok(value)
    }

    async fn begin(&self, chatroom: &ChatroomId) -> Result<(), SeqError> {
        let options = redis::SetOptions::default()
            .conditional_set(redis::ExistenceCheck::NX)
            .with_expiration(redis::SetExpiry::EX(IDLE_TTL_SECS));
        let mut conn = self.redis.conn.clone();
        let _: Option<String> =
            redis::AsyncCommands::set_options(&mut conn, Self::key(&self.redis, chatroom), 0, options).await?;
        Ok(())
    }
}

/// The counters in this process (one node, no Redis: `scripts/dev --memory`).
#[derive(Default)]
pub struct MemorySeqs {
    counters: tokio::sync::Mutex<HashMap<ChatroomId, u64>>,
}

#[async_trait]
impl Seqs for MemorySeqs {
    async fn next(&self, repos: &Repos, tenant: &TenantId, chatroom: &ChatroomId, floor: u64) -> Result<u64, SeqError> {
        let mut counters = self.counters.lock().await;
        let n = match counters.get(chatroom) {
            Some(n) => n + 1,
            None => repos.messages.highest_seq(tenant, chatroom).await?.max(floor) + 1,
        };
        counters.insert(*chatroom, n);
        Ok(n)
    }

    async fn current(&self, chatroom: &ChatroomId) -> Result<Option<u64>, SeqError> {
        Ok(self.counters.lock().await.get(chatroom).copied())
    }

    async fn begin(&self, chatroom: &ChatroomId) -> Result<(), SeqError> {
        self.counters.lock().await.entry(*chatroom).or_insert(0);
        Ok(())
    }
}

/// The highest seq stored for each chatroom since the last flush, to write into the chatroom
/// documents' `lastSeq` behind the messages.
#[derive(Default)]
pub struct LastSeqs {
    pending: Mutex<HashMap<(TenantId, ChatroomId), (u64, Timestamp)>>,
}

impl LastSeqs {
    /// A message with `seq`, sent at `at`, is stored.
    pub fn stored(&self, tenant: TenantId, chatroom: ChatroomId, seq: u64, at: Timestamp) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = pending.entry((tenant, chatroom)).or_insert((seq, at));
        *entry = (entry.0.max(seq), entry.1.max(at));
    }

    /// Writes what is pending, one chatroom after another; what fails is kept for the next flush.
    /// (One at a time on purpose: with 16 side by side, the sends' inserts waited behind them,
    /// delivery p99 35 ms at 200 messages/s against 11.5 ms one at a time.)
    pub async fn flush(&self, repos: &Repos) {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        for ((tenant, chatroom), (seq, at)) in pending {
            if let Err(err) = repos.chatrooms.raise_last_seq(&tenant, &chatroom, seq, at).await {
                tracing::warn!(error = %err, chatroom_id = %chatroom, "lastSeq not written; trying again");
                self.stored(tenant, chatroom, seq, at);
            }
        }
    }
}

/// Flushes `last_seqs` every [`FLUSH_EVERY`], and once more when the node stops.
pub async fn run_writer(last_seqs: std::sync::Arc<LastSeqs>, repos: Repos, mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(FLUSH_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => last_seqs.flush(&repos).await,
            _ = shutdown.changed() => break,
        }
    }
    last_seqs.flush(&repos).await;
}
