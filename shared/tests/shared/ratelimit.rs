//! One contract, two implementations: every contract test below runs against the in-memory
//! limiter and against the Redis one (on the server `scripts/test` starts, under a key prefix of
//! the test's own). The Redis-only tests look at the key itself: its prefix and its expiry.

use std::time::Duration;

use ::redis::AsyncCommands as _;
use shared::{
    ratelimit::{Decision, Limit, MemoryRateLimiter, RateLimiter, RedisRateLimiter},
    testing::{TestRedis, eventually},
};
use tokio::time::Instant;

struct Backend {
    limiter: Box<dyn RateLimiter>,
    /// Keeps the test's key prefix alive until the test ends, then deletes its keys.
    _redis: Option<TestRedis>,
}

async fn memory() -> Backend {
    Backend { limiter: Box::new(MemoryRateLimiter::default()), _redis: None }
}

async fn redis() -> Backend {
    let test = TestRedis::new().await;
    Backend { limiter: Box::new(RedisRateLimiter::new(test.redis.clone())), _redis: Some(test) }
}

/// Runs each listed contract test once per backend: `memory::<name>` and `redis::<name>`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $( #[tokio::test] async fn $name() { super::$name(&*super::memory().await.limiter).await } )*
        }
        mod redis {
            $( #[tokio::test] async fn $name() {
                let backend = super::redis().await;
                super::$name(&*backend.limiter).await
            } )*
        }
    };
}

contract!(
    the_first_max_hits_are_allowed_and_the_next_is_limited,
    keys_are_counted_independently,
    a_key_is_allowed_again_once_its_window_has_passed,
);

const MINUTE: Duration = Duration::from_secs(60);

async fn hit(limiter: &dyn RateLimiter, key: &str, limit: Limit) -> Decision {
    limiter.hit(key, limit).await.expect("the limiter answers")
}

fn retry_after(decision: Decision) -> Duration {
    match decision {
        Decision::Limited { retry_after } => retry_after,
        Decision::Allowed => panic!("expected Limited, got Allowed"),
    }
}

async fn the_first_max_hits_are_allowed_and_the_next_is_limited(limiter: &dyn RateLimiter) {
    let limit = Limit { max: 3, window: MINUTE };
    for i in 1..=3 {
        assert_eq!(hit(limiter, "login:alice@example.com", limit).await, Decision::Allowed, "hit {i}");
    }
    let wait = retry_after(hit(limiter, "login:alice@example.com", limit).await);
    assert!(Duration::from_secs(1) <= wait && wait <= MINUTE, "retry_after {wait:?}");
    assert_eq!(wait.subsec_nanos(), 0, "retry_after is whole seconds: {wait:?}");
    let again = retry_after(hit(limiter, "login:alice@example.com", limit).await);
    assert!(again <= wait, "hitting a limited key does not extend its window: {again:?} > {wait:?}");
}

async fn keys_are_counted_independently(limiter: &dyn RateLimiter) {
    let limit = Limit { max: 1, window: MINUTE };
    assert_eq!(hit(limiter, "login:alice@example.com", limit).await, Decision::Allowed);
    retry_after(hit(limiter, "login:alice@example.com", limit).await);
    assert_eq!(hit(limiter, "login:bob@example.com", limit).await, Decision::Allowed, "another email");
    assert_eq!(hit(limiter, "login-ip:203.0.113.7", limit).await, Decision::Allowed, "an IP");
    retry_after(hit(limiter, "login:bob@example.com", limit).await);
}

async fn a_key_is_allowed_again_once_its_window_has_passed(limiter: &dyn RateLimiter) {
    let window = Duration::from_millis(1500);
    let limit = Limit { max: 2, window };
    let started = Instant::now();
    assert_eq!(hit(limiter, "signup-ip:198.51.100.9", limit).await, Decision::Allowed);
    assert_eq!(hit(limiter, "signup-ip:198.51.100.9", limit).await, Decision::Allowed);
    let wait = retry_after(hit(limiter, "signup-ip:198.51.100.9", limit).await);
    assert!(Duration::from_secs(1) <= wait && wait <= Duration::from_secs(2), "retry_after {wait:?}");

    eventually(Duration::from_secs(10), "the key to be allowed again", move || async move {
        (hit(limiter, "signup-ip:198.51.100.9", limit).await == Decision::Allowed).then_some(())
    })
    .await;
    let elapsed = started.elapsed();
    // A little slack: Redis measures the window on its own clock.
    assert!(elapsed >= window - Duration::from_millis(100), "allowed again after only {elapsed:?}");
    assert_eq!(hit(limiter, "signup-ip:198.51.100.9", limit).await, Decision::Allowed, "a new window has room for max");
    retry_after(hit(limiter, "signup-ip:198.51.100.9", limit).await);
}

#[tokio::test]
async fn the_redis_key_carries_the_test_prefix_and_expires_with_the_first_window() {
    let test = TestRedis::new().await;
    let limiter = RedisRateLimiter::new(test.redis.clone());
    let mut conn = test.redis.conn.clone();

    assert_eq!(hit(&limiter, "login:alice@example.com", Limit { max: 5, window: MINUTE }).await, Decision::Allowed);
    let keys: Vec<String> = conn.keys(format!("{}*", test.redis.keys.prefix())).await.unwrap();
    let expected = format!("{}ratelimit:login:alice@example.com", test.redis.keys.prefix());
    assert_eq!(keys, vec![expected.clone()]);
    let ttl: i64 = conn.pttl(&expected).await.unwrap();
    assert!((1..=60_000).contains(&ttl), "pttl {ttl}");

    // A later hit, even with a longer window, keeps the expiry the first hit set.
    let longer = Limit { max: 5, window: Duration::from_secs(600) };
    assert_eq!(hit(&limiter, "login:alice@example.com", longer).await, Decision::Allowed);
    let later: i64 = conn.pttl(&expected).await.unwrap();
    assert!((1..=ttl).contains(&later), "pttl {later} after {ttl}: the window moved");
}

#[tokio::test]
async fn a_redis_key_left_without_an_expiry_gets_one_and_keeps_its_count() {
    let test = TestRedis::new().await;
    let limiter = RedisRateLimiter::new(test.redis.clone());
    let mut conn = test.redis.conn.clone();
    let key = test.redis.keys.key(&["ratelimit", "login:carol@example.com"]);
    let () = conn.set(&key, 3).await.unwrap();

    let wait = retry_after(hit(&limiter, "login:carol@example.com", Limit { max: 3, window: MINUTE }).await);
    assert!(Duration::from_secs(1) <= wait && wait <= MINUTE, "retry_after {wait:?}");
    let ttl: i64 = conn.pttl(&key).await.unwrap();
    assert!((1..=60_000).contains(&ttl), "pttl {ttl}: the key must not live forever");
}

#[tokio::test]
async fn redis_retry_after_is_the_time_left_rounded_up_to_whole_seconds() {
    let test = TestRedis::new().await;
    let limiter = RedisRateLimiter::new(test.redis.clone());
    let mut conn = test.redis.conn.clone();
    let key = test.redis.keys.key(&["ratelimit", "reset:dave@example.com"]);
    // Five hits already counted, 1.9 s left in the window.
    let () = conn.pset_ex(&key, 5, 1900).await.unwrap();

    let wait = retry_after(hit(&limiter, "reset:dave@example.com", Limit { max: 5, window: MINUTE }).await);
    assert_eq!(wait, Duration::from_secs(2), "1.9 s left, rounded up");
}
