//! A service that is not there fails fast and clearly: the error names the service and its
//! address, never hangs, and never prints a password from the URL.

use std::time::Duration;

use secrecy::SecretString;
use shared::{
    config::{KafkaConfig, MongoConfig, RedisConfig},
    events::KafkaPublisher,
    testing::closed_port,
};

const DEADLINE: Duration = Duration::from_secs(10);

#[tokio::test]
async fn an_unreachable_mongodb_is_named_within_seconds() {
    let port = closed_port();
    let config = MongoConfig {
        url: SecretString::from(format!("mongodb://parley:s3cret-pw@127.0.0.1:{port}/")),
        database: "parley".into(),
    };
    let err = tokio::time::timeout(DEADLINE, shared::mongo::connect(&config))
        .await
        .expect("connect gave up within 10s")
        .expect_err("nothing listens there");
    let text = err.to_string();
    assert!(text.starts_with(&format!("MongoDB at 127.0.0.1:{port} is unreachable")), "{text}");
    assert!(!text.contains("s3cret-pw"), "the password leaked: {text}");
}

#[tokio::test]
async fn an_unreachable_redis_is_named_within_seconds() {
    let port = closed_port();
    let config = RedisConfig {
        url: SecretString::from(format!("redis://:s3cret-pw@127.0.0.1:{port}/")),
        key_prefix: "parley:".into(),
    };
    let err = tokio::time::timeout(DEADLINE, shared::redis::connect(&config))
        .await
        .expect("connect gave up within 10s")
        .err()
        .expect("nothing listens there");
    let text = err.to_string();
    assert!(text.starts_with(&format!("Redis at 127.0.0.1:{port} is unreachable")), "{text}");
    assert!(!text.contains("s3cret-pw"), "the password leaked: {text}");
}

#[tokio::test]
async fn an_unreachable_kafka_is_named_within_seconds() {
    let port = closed_port();
    let config = KafkaConfig {
        brokers: format!("127.0.0.1:{port}"),
        topic_prefix: String::new(),
        partitions: 1,
        replication: 1,
    };
    let err = tokio::time::timeout(DEADLINE, KafkaPublisher::connect(&config))
        .await
        .expect("connect gave up within 10s")
        .err()
        .expect("nothing listens there");
    let text = err.to_string();
    assert!(text.starts_with(&format!("Kafka at 127.0.0.1:{port} is unreachable")), "{text}");
}
