//! PRIVATE BROKER TEST: the one test in the suite that starts a Kafka broker of its own
//! ([`PrivateKafka`], about ten seconds), so it can stop and restart it without disturbing the
//! shared broker every other test uses. It takes about a minute: the broker's start and restart,
//! and the producer's 10 s message timeout while the broker is down.

use std::{collections::HashSet, sync::Arc};

use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use shared::{
    domain::TenantId,
    events::{EventPublisher, KafkaPublisher, OutboxPublisher, OutboxStore, OutgoingEvent, Topic, ensure_topics},
    testing::{EventLog, PrivateKafka, eventually},
};

use super::{assert_exactly_once_in_order, events, mongo_outbox, read_all};

const KEYS: [&str; 3] = ["room-a", "room-b", "room-c"];

#[tokio::test]
async fn private_broker_events_published_while_kafka_is_down_are_relayed_once_and_in_order_when_it_is_back() {
    let mut kafka = PrivateKafka::start().await;
    let config = kafka.config();
    ensure_topics(&config, &[Topic::Messages]).await.expect("topics");
    let (db, store) = mongo_outbox().await;
    let producer = Arc::new(KafkaPublisher::connect(&config).await.expect("producer"));
    let publisher = OutboxPublisher::new(producer, store.clone());
    let tenant = TenantId::new();

    // Kafka up: straight through.
    let before = events(tenant, &KEYS, 0..2);
    for event in &before {
        publisher.publish(event).await.expect("publish");
    }
    assert!(store.is_empty().await.unwrap());

    // Kafka down: the first batch waits out the producer's message timeout and falls back to the
    // outbox; the events after it go to the outbox at once. Every publish succeeds.
    kafka.stop().await;
    let during = events(tenant, &KEYS, 2..6);
    let results = publisher.publish_all(&during[..3]).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(publisher.has_backlog().await);
    for event in &during[3..] {
        let started = tokio::time::Instant::now();
        publisher.publish(event).await.expect("stored in the outbox");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "a backlog does not wait for Kafka");
    }

    // They sit in MongoDB, in order, each holding the envelope and no more.
    assert_eq!(store.count().await.unwrap(), during.len() as u64);
    let docs: Vec<Document> = db
        .db
        .collection::<Document>("outbox")
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(docs.len(), during.len());
    for (doc, event) in docs.iter().zip(&during) {
        let fields: HashSet<&str> = doc.keys().map(String::as_str).collect();
        assert_eq!(fields, HashSet::from(["_id", "eventId", "topic", "key", "envelope", "createdAt"]));
        assert_eq!(doc.get_str("eventId").unwrap(), event.envelope.id.to_string());
        assert_eq!(doc.get_str("key").unwrap(), event.key);
        assert_eq!(doc.get_str("topic").unwrap(), "messages");
        let envelope: serde_json::Value = serde_json::from_str(doc.get_str("envelope").unwrap()).unwrap();
        assert_eq!(envelope, serde_json::to_value(&event.envelope).unwrap());
    }

    // Kafka back: the relay (retrying while the producer reconnects) empties the outbox.
    kafka.restart().await;
    eventually(std::time::Duration::from_secs(60), "the relay to empty the outbox", || async {
        publisher.relay_once().await.expect("relay");
        store.is_empty().await.unwrap().then_some(())
    })
    .await;
    assert!(!publisher.has_backlog().await);
    let after = events(tenant, &KEYS, 6..7);
    for event in &after {
        publisher.publish(event).await.expect("publish");
    }
    assert!(store.is_empty().await.unwrap(), "straight through again");

    let sent: Vec<OutgoingEvent> = before.into_iter().chain(during).chain(after).collect();
    let log = EventLog::start(&config, Topic::Messages).await;
    assert_exactly_once_in_order(&read_all(&log, sent.len()).await, &sent);
}
