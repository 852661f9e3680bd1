//! The window of each chatroom's recent messages in Redis, so a client that reconnects and
//! resumes answers from Redis alone: the store is read only for what the window cannot vouch for.
//!
//! `recent:<chatroom>` is a hash of the last [`WINDOW`] seqs handed out, each holding its
//! message's `message` frame, `""` while the message is not yet stored, or `"-"` when the seq
//! went unused (the send was a resend of a stored message); `floor` names the lowest seq the
//! window holds. Every seq enters it when the counter hands it out, in the same script
//! ([`crate::seqs::RedisSeqs`]), which drops the seq [`WINDOW`] below; a counter started again from
//! the store starts a new window. After its store write, a send fills its seq ([`Self::stored`]),
//! or marks it unused.
//!
//! The window answers for the seqs after a client's last one only when it holds every one of them
//! up to the counter, each stored or unused. A seq still pending (a send under way, a node that
//! died between the store and the fill, a fill that failed) or below the floor sends the replay to
//! the store. So the window can only be incomplete in ways it knows of, and no stored message is
//! ever skipped by a replay.

use redis::Script;
use shared::{domain::ChatroomId, redis::Redis};

use crate::seqs::RedisSeqs;

/// Seqs each chatroom's window holds: a replay of at most this many messages needs no store.
pub const WINDOW: u64 = 50;
/// How long a window outlives its chatroom's last message.
pub const TTL_SECS: u64 = 3600;

/// A pending seq's value in the window, and an unused one's.
const PENDING: &str = "";
const UNUSED: &str = "-";

pub struct RecentMessages {
    redis: Redis,
    /// Sets a pending seq's value (never one already set).
    fill: Script,
    /// The frames after a seq, with their seqs, when the window holds all of them; nil otherwise.
    after: Script,
}

impl RecentMessages {
    pub fn new(redis: Redis) -> Self {
        let fill = Script::new(
            r"
            if redis.call('HGET', KEYS[1], ARGV[1]) == '' then
                redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
            end
            ",
        );
        let after = Script::new(
            r"
            local current = tonumber(redis.call('GET', KEYS[1]))
            if not current then return false end
            local after = tonumber(ARGV[1])
            local answer = {}
            if current <= after then return answer end
            local floor = tonumber(redis.call('HGET', KEYS[2], 'floor'))
            if not floor or floor > after + 1 then return false end
            for seq = after + 1, current do
                local value = redis.call('HGET', KEYS[2], seq)
                if not value or value == '' then return false end
                if value ~= '-' then
                    answer[#answer + 1] = seq
                    answer[#answer + 1] = value
                end
            end
            return answer
            ",
        );
        Self { redis, fill, after }
    }

    /// The chatroom's window key (the seq counter's script writes it too).
    pub fn key(redis: &Redis, chatroom: &ChatroomId) -> String {
        redis.keys.key(&["recent", &chatroom.to_string()])
    }

    /// The message with `seq` is stored: the window holds its `message` frame from now on.
    pub async fn stored(&self, chatroom: &ChatroomId, seq: u64, frame: &str) {
        self.set(chatroom, seq, frame).await;
    }

    /// The seq was handed out but no message will carry it.
    pub async fn unused(&self, chatroom: &ChatroomId, seq: u64) {
        self.set(chatroom, seq, UNUSED).await;
    }

    async fn set(&self, chatroom: &ChatroomId, seq: u64, value: &str) {
        debug_assert_ne!(value, PENDING);
        let mut conn = self.redis.conn.clone();
        let set: Result<(), _> =
            self.fill.key(Self::key(&self.redis, chatroom)).arg(seq).arg(value).invoke_async(&mut conn).await;
        if let Err(err) = set {
            // The seq stays pending: replays that reach it read the store.
            tracing::warn!(error = %err, chatroom_id = %chatroom, seq, "recent message window not filled");
        }
    }

    /// The `message` frames of the chatroom's messages after `after_seq`, each with its seq, in
    /// order, when the window holds every one of them; `None` when the store must answer.
    pub async fn after(&self, chatroom: &ChatroomId, after_seq: u64) -> Option<Vec<(u64, String)>> {
        let mut conn = self.redis.conn.clone();
        let answer: Result<Option<Vec<(u64, String)>>, _> = self
            .after
            .key(RedisSeqs::key(&self.redis, chatroom))
            .key(Self::key(&self.redis, chatroom))
            .arg(after_seq)
            .invoke_async(&mut conn)
            .await;
        answer.unwrap_or_else(|err| {
            tracing::warn!(error = %err, "recent message window not read; the store answers");
            None
        })
    }
}
