//! A round trip through the real Redis: prefixed keys with expiry, and pub/sub (what the
//! socket-node's cross-node fan-out stands on).

use std::time::Duration;

use futures::StreamExt;
use redis::AsyncCommands;
use secrecy::ExposeSecret;
use shared::testing::{TestRedis, redis_config};

#[tokio::test]
async fn values_round_trip_under_the_prefix_and_expire() {
    let test = TestRedis::new().await;
    let mut conn = test.redis.conn.clone();
    let key = test.redis.keys.key(&["greeting"]);
    assert!(key.starts_with(test.redis.keys.prefix()));

    let () = conn.set_ex(&key, "hello", 60).await.unwrap();
    let value: Option<String> = conn.get(&key).await.unwrap();
    assert_eq!(value.as_deref(), Some("hello"));
    let ttl: i64 = conn.ttl(&key).await.unwrap();
    assert!((1..=60).contains(&ttl), "ttl {ttl}");

    let other = TestRedis::new().await;
    let mut other_conn = other.redis.conn.clone();
    let unseen: Option<String> = other_conn.get(other.redis.keys.key(&["greeting"])).await.unwrap();
    assert_eq!(unseen, None, "another prefix sees nothing");
}

#[tokio::test]
async fn a_published_message_reaches_a_subscriber() {
    let test = TestRedis::new().await;
    let channel = test.redis.keys.key(&["room", "1"]);
    let client = redis::Client::open(redis_config().url.expose_secret()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe(&channel).await.unwrap();

    let mut conn = test.redis.conn.clone();
    let receivers: i64 = conn.publish(&channel, r#"{"seq":1}"#).await.unwrap();
    assert_eq!(receivers, 1);
    let message = tokio::time::timeout(Duration::from_secs(5), pubsub.on_message().next())
        .await
        .expect("a message within 5s")
        .expect("stream open");
    assert_eq!(message.get_channel_name(), channel);
    assert_eq!(message.get_payload::<String>().unwrap(), r#"{"seq":1}"#);
}
