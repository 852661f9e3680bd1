//! Rate limits: at most `max` hits per `window` for one key (an email address, an IP, a tenant),
//! behind one [`RateLimiter`] trait with a Redis and an in-memory implementation.
//!
//! Why fixed windows: a hit costs one atomic round trip (`INCR`, and `PEXPIRE` on the first hit)
//! and a key costs one integer that expires by itself, so the limiter needs no clean-up job and
//! several nodes share one count. The price is that a client may spend `max` hits at the end of
//! one window and `max` more at the start of the next: up to twice the limit in a short burst,
//! which is acceptable for slowing down password guessing and sign-up floods.
//!
//! A limited hit still counts, so a client hammering a key does not get more hits; the window
//! still ends when it would have (its expiry is set once, on the first hit).
//! `retry_after` is the time left in the window rounded up to whole seconds (at least one),
//! as `Retry-After` wants; with a window that is not a whole number of seconds it may therefore
//! exceed the time left by less than a second.
//!
//! Failure modes:
//! - Redis down or failing: [`RateLimitError::Unavailable`], which becomes a 503
//!   `service_unavailable` at the HTTP edge. The limiter fails closed; a caller that prefers to
//!   let requests through when Redis is down must decide so itself.
//! - [`MemoryRateLimiter`] counts per process: several instances each allow `max`, and a restart
//!   forgets every count. It is for `scripts/dev --memory` and tests, not for a fleet.
//!
//! Keys often hold email addresses or IPs, so nothing here logs a key.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use tokio::time::Instant;

use crate::{ApiError, redis::Redis};

/// At most `max` hits per `window` for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

/// What a hit is answered: go ahead, or wait `retry_after` (whole seconds, at least one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Limited { retry_after: Duration },
}

/// Why a hit could not be counted. The message names no key.
#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    #[error("Redis is unavailable: {0}")]
    Unavailable(String),
}

impl From<RateLimitError> for ApiError {
    /// A limiter that cannot count answers 503: the client may retry, the cause is logged.
    fn from(err: RateLimitError) -> Self {
        ApiError::unavailable(err)
    }
}

/// Counts hits per key in fixed windows; used as `Arc<dyn RateLimiter>`.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one hit on `key` and says whether it is within `limit`.
    async fn hit(&self, key: &str, limit: Limit) -> Result<Decision, RateLimitError>;
}

/// The answer for the `count`th hit of a window with `remaining` time left.
fn decide(count: u64, limit: Limit, remaining: Duration) -> Decision {
    if count <= u64::from(limit.max) {
        return Decision::Allowed;
    }
    let secs = remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0);
    Decision::Limited { retry_after: Duration::from_secs(secs.max(1)) }
}

/// INCR, the expiry on the first hit (or whenever the key has none: a key must never outlive
/// its window), then the count and the milliseconds left. One script, so one atomic round trip.
const HIT_SCRIPT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl}
";

/// Counts in Redis under `<prefix>ratelimit:<key>`, shared by every node.
pub struct RedisRateLimiter {
    redis: Redis,
    script: redis::Script,
}

impl RedisRateLimiter {
    pub fn new(redis: Redis) -> Self {
        Self { redis, script: redis::Script::new(HIT_SCRIPT) }
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, key: &str, limit: Limit) -> Result<Decision, RateLimitError> {
        // PEXPIRE 0 would delete the key: a window is at least one millisecond.
        let window_ms = u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut conn = self.redis.conn.clone();
        let (count, ttl_ms): (i64, i64) = self
            .script
            .key(self.redis.keys.key(&["ratelimit", key]))
            .arg(window_ms)
            .invoke_async(&mut conn)
            .await
            .map_err(|err| RateLimitError::Unavailable(err.to_string()))?;
        let count = u64::try_from(count).unwrap_or(0);
        let remaining = Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0));
        Ok(decide(count, limit, remaining))
    }
}

/// Above this many keys, a hit first drops the windows that have ended.
const PURGE_ABOVE: usize = 10_000;

/// Counts in process memory, with the same semantics as [`RedisRateLimiter`].
#[derive(Default)]
pub struct MemoryRateLimiter {
    state: Mutex<MemoryState>,
}

#[derive(Default)]
struct MemoryState {
    windows: HashMap<String, Window>,
    /// The size that triggers the next purge: [`PURGE_ABOVE`], or twice what survived the last
    /// one, so a map full of live windows is not scanned on every hit.
    purge_above: usize,
}

/// One key's window. Its length is kept, as Redis keeps the expiry set on the first hit, so a
/// purge knows when each window ends even when keys have different limits.
struct Window {
    count: u64,
    start: Instant,
    length: Duration,
}

impl Window {
    fn end(&self) -> Instant {
        self.start + self.length
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(&self, key: &str, limit: Limit) -> Result<Decision, RateLimitError> {
        let now = Instant::now();
        // Taken and released in this synchronous block, never across an `.await`; a panic
        // elsewhere cannot leave a count half-written, so a poisoned lock is still usable.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.windows.len() > state.purge_above.max(PURGE_ABOVE) {
            state.windows.retain(|_, window| window.end() > now);
            state.purge_above = state.windows.len() * 2;
        }
        let fresh = || Window { count: 0, start: now, length: limit.window };
        let window = state.windows.entry(key.to_owned()).or_insert_with(fresh);
        if window.end() <= now {
            *window = fresh();
        }
        window.count = window.count.saturating_add(1);
        Ok(decide(window.count, limit, window.end().saturating_duration_since(now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Limit = Limit { max: 2, window: Duration::from_secs(60) };

    #[test]
    fn retry_after_is_rounded_up_to_whole_seconds_and_at_least_one() {
        let limited = |ms| decide(3, MINUTE, Duration::from_millis(ms));
        assert_eq!(limited(1_001), Decision::Limited { retry_after: Duration::from_secs(2) });
        assert_eq!(limited(2_000), Decision::Limited { retry_after: Duration::from_secs(2) });
        assert_eq!(limited(0), Decision::Limited { retry_after: Duration::from_secs(1) });
        assert_eq!(decide(2, MINUTE, Duration::ZERO), Decision::Allowed);
    }

    #[test]
    fn an_unavailable_limiter_answers_503() {
        let err: ApiError = RateLimitError::Unavailable("connection refused".into()).into();
        assert_eq!(err.status.as_u16(), 503);
        assert_eq!(err.code, "service_unavailable");
        assert!(!err.message.contains("connection refused"), "a 5xx says nothing internal");
    }

    fn ended_window(now: Instant) -> Window {
        let start = now.checked_sub(Duration::from_secs(120)).expect("the clock runs for two minutes");
        Window { count: 5, start, length: Duration::from_secs(60) }
    }

    #[tokio::test]
    async fn ended_windows_are_dropped_once_the_map_is_large() {
        let limiter = MemoryRateLimiter::default();
        let now = Instant::now();
        {
            let mut state = limiter.state.lock().unwrap();
            for i in 0..=PURGE_ABOVE {
                state.windows.insert(format!("old:{i}"), ended_window(now));
            }
        }
        assert_eq!(limiter.hit("new", MINUTE).await.unwrap(), Decision::Allowed);
        assert_eq!(limiter.state.lock().unwrap().windows.len(), 1, "only the live window is left");
    }

    #[tokio::test]
    async fn live_windows_survive_a_purge() {
        let limiter = MemoryRateLimiter::default();
        let now = Instant::now();
        {
            let mut state = limiter.state.lock().unwrap();
            for i in 0..PURGE_ABOVE {
                state.windows.insert(format!("old:{i}"), ended_window(now));
            }
            state.windows.insert("busy".into(), Window { count: 2, start: now, length: MINUTE.window });
        }
        assert_eq!(limiter.hit("trigger", MINUTE).await.unwrap(), Decision::Allowed);
        assert_eq!(limiter.state.lock().unwrap().windows.len(), 2, "busy and trigger are left");
        assert!(matches!(limiter.hit("busy", MINUTE).await.unwrap(), Decision::Limited { .. }), "busy kept its count");
    }
}
