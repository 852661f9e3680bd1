//! The [`OutboxPublisher`] on the real services: Kafka (the shared test broker, behind a
//! [`Switch`] where a test turns it off) and the outbox in MongoDB-wire.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use mongodb::bson::oid::ObjectId;
use shared::{
    config::KafkaConfig,
    domain::TenantId,
    events::{
        EventPublisher, KafkaPublisher, MemoryOutbox, MemoryPublisher, OutboxEntry, OutboxPublisher, OutboxStore,
        OutgoingEvent, PublishError, RelayPass, Topic, ensure_topics,
    },
    repos::RepoError,
    testing::{EVENT_TIMEOUT, EventLog, eventually, kafka_config},
};

use super::{
    DOWN, REFUSING, Switch, UP, assert_exactly_once_in_order, event, events, expected_order, mongo_outbox,
    order_by_key, read_all,
};

const KEYS: [&str; 3] = ["room-a", "room-b", "room-c"];

/// The test's own messages topic on the shared broker, and a producer for it.
async fn kafka() -> (KafkaConfig, Arc<KafkaPublisher>) {
    let config = kafka_config();
    ensure_topics(&config, &[Topic::Messages]).await.expect("topics");
    let publisher = KafkaPublisher::connect(&config).await.expect("producer");
    (config, Arc::new(publisher))
}

/// The events waiting in the outbox, oldest first.
async fn waiting(store: &dyn OutboxStore) -> Vec<OutgoingEvent> {
    store.oldest(10_000).await.unwrap().into_iter().map(|e| e.event.expect("readable")).collect()
}

/// Relays until the outbox is empty, failing the test after `EVENT_TIMEOUT`.
async fn relay_all(publisher: &OutboxPublisher, store: &dyn OutboxStore) -> usize {
    let relayed = AtomicUsize::new(0);
    eventually(EVENT_TIMEOUT, "the relay to empty the outbox", || async {
        relayed.fetch_add(publisher.relay_once().await.expect("relay").relayed, Ordering::SeqCst);
        store.is_empty().await.unwrap().then_some(())
    })
    .await;
    relayed.into_inner()
}

#[tokio::test]
async fn with_kafka_up_events_go_straight_to_kafka_and_the_outbox_stays_empty() {
    let (config, kafka) = kafka().await;
    let (_db, store) = mongo_outbox().await;
    let publisher = OutboxPublisher::new(kafka, store.clone());
    let sent = events(TenantId::new(), &KEYS, 0..10);
    for event in &sent {
        publisher.publish(event).await.expect("publish");
    }
    assert!(store.is_empty().await.unwrap(), "nothing went to the outbox");
    assert!(!publisher.has_backlog().await);

    let log = EventLog::start(&config, Topic::Messages).await;
    assert_exactly_once_in_order(&read_all(&log, sent.len()).await, &sent);
    assert_eq!(publisher.relay_once().await.unwrap(), RelayPass::default(), "nothing to relay");
}

#[tokio::test]
async fn an_event_published_during_a_backlog_waits_behind_it_even_once_kafka_is_back() {
    let (config, kafka) = kafka().await;
    let (_db, store) = mongo_outbox().await;
    let broker = Switch::new(kafka);
    let publisher = OutboxPublisher::new(broker.clone(), store.clone());
    let tenant = TenantId::new();

    let before = event(tenant, "room-a", 0);
    publisher.publish(&before).await.expect("published");

    broker.set(DOWN);
    let first = event(tenant, "room-a", 1);
    publisher.publish(&first).await.expect("stored in the outbox: publish succeeds");
    assert!(publisher.has_backlog().await);

    // The broker is back, but the backlog is not relayed yet: new events queue behind it,
    // without even trying Kafka (which would let them overtake the first).
    broker.set(UP);
    let attempts = broker.attempts();
    let behind = [event(tenant, "room-a", 2), event(tenant, "room-b", 0), event(tenant, "room-a", 3)];
    publisher.publish(&behind[0]).await.expect("publish");
    let results = publisher.publish_all(&behind[1..]).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(broker.attempts(), attempts, "Kafka was not tried while the backlog lasts");
    let mut expected = vec![first.clone()];
    expected.extend(behind.iter().cloned());
    assert_eq!(waiting(store.as_ref()).await, expected, "the outbox in publishing order");

    let log = EventLog::start(&config, Topic::Messages).await;
    log.caught_up().await;
    assert_eq!(log.all().len(), 1, "only the event from before the outage is on the topic");

    assert_eq!(relay_all(&publisher, store.as_ref()).await, 4);
    assert!(!publisher.has_backlog().await, "an empty outbox ends the backlog");
    let after = event(tenant, "room-a", 4);
    publisher.publish(&after).await.expect("publish");
    assert!(store.is_empty().await.unwrap(), "after the backlog, events go to Kafka directly");

    let mut sent = vec![before];
    sent.extend(expected);
    sent.push(after);
    assert_exactly_once_in_order(&read_all(&log, sent.len()).await, &sent);
}

#[tokio::test]
async fn a_batch_that_kafka_cannot_take_lands_in_the_outbox_in_order() {
    let (_db, store) = mongo_outbox().await;
    let broker = Switch::new(Arc::new(MemoryPublisher::default()));
    let publisher = OutboxPublisher::new(broker.clone(), store.clone());
    broker.set(DOWN);
    let batch = events(TenantId::new(), &KEYS, 0..20);
    let results = publisher.publish_all(&batch).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(waiting(store.as_ref()).await, batch);
}

#[tokio::test]
async fn an_event_kafka_refuses_is_an_error_and_is_not_kept() {
    let (_db, store) = mongo_outbox().await;
    let broker = Switch::new(Arc::new(MemoryPublisher::default()));
    let publisher = OutboxPublisher::new(broker.clone(), store.clone());
    broker.set(REFUSING);
    let err = publisher.publish(&event(TenantId::new(), "room-a", 0)).await.unwrap_err();
    assert!(matches!(err, PublishError::Rejected(_)), "{err:?}");
    assert!(store.is_empty().await.unwrap());
    assert!(!publisher.has_backlog().await);
}

/// An outbox that cannot store anything (its database is down).
struct BrokenStore;

#[async_trait]
impl OutboxStore for BrokenStore {
    async fn push(&self, _: &[OutgoingEvent]) -> Result<(), RepoError> {
        Err(RepoError::Unavailable(anyhow::anyhow!("MongoDB: the test's database is down")))
    }
    async fn oldest(&self, _: usize) -> Result<Vec<OutboxEntry>, RepoError> {
        Err(RepoError::Unavailable(anyhow::anyhow!("MongoDB: the test's database is down")))
    }
    async fn remove(&self, _: &[ObjectId]) -> Result<(), RepoError> {
        Err(RepoError::Unavailable(anyhow::anyhow!("MongoDB: the test's database is down")))
    }
    async fn count(&self) -> Result<u64, RepoError> {
        Err(RepoError::Unavailable(anyhow::anyhow!("MongoDB: the test's database is down")))
    }
    async fn acquire_lease(&self, _: &str, _: Duration) -> Result<bool, RepoError> {
        Err(RepoError::Unavailable(anyhow::anyhow!("MongoDB: the test's database is down")))
    }
    async fn release_lease(&self, _: &str) -> Result<(), RepoError> {
        Ok(())
    }
}

#[tokio::test]
async fn publish_fails_only_when_kafka_and_the_outbox_both_fail() {
    let memory = Arc::new(MemoryPublisher::default());
    let broker = Switch::new(memory.clone());
    let publisher = OutboxPublisher::new(broker.clone(), Arc::new(BrokenStore));

    // The database is down but Kafka is not: events are published as usual.
    let fine = event(TenantId::new(), "room-a", 0);
    publisher.publish(&fine).await.expect("Kafka took it");
    assert_eq!(memory.published(), vec![fine]);

    broker.set(DOWN);
    let err = publisher.publish(&event(TenantId::new(), "room-a", 1)).await.unwrap_err();
    let PublishError::Unavailable(reason) = err else { panic!("expected Unavailable, got {err:?}") };
    assert!(reason.contains("the test's broker is down") && reason.contains("the test's database is down"), "{reason}");
    assert!(!publisher.has_backlog().await, "nothing waits, so there is no backlog");

    broker.set(UP);
    let later = event(TenantId::new(), "room-a", 2);
    publisher.publish(&later).await.expect("Kafka is tried again");
}

#[tokio::test]
async fn a_publisher_that_starts_while_events_wait_queues_behind_them() {
    let store = Arc::new(MemoryOutbox::default());
    let tenant = TenantId::new();
    let left = event(tenant, "room-a", 0);
    store.push(std::slice::from_ref(&left)).await.unwrap();

    // A new process (say, the node restarted after Kafka went down) publishes the next event of
    // the same chatroom: it must not overtake the one waiting.
    let memory = Arc::new(MemoryPublisher::default());
    let publisher = OutboxPublisher::new(memory.clone(), store.clone());
    let next = event(tenant, "room-a", 1);
    publisher.publish(&next).await.unwrap();
    assert!(memory.published().is_empty());
    assert_eq!(waiting(store.as_ref()).await, vec![left.clone(), next.clone()]);

    relay_all(&publisher, store.as_ref()).await;
    assert_eq!(memory.published(), vec![left, next]);
    assert!(!publisher.has_backlog().await);
}

#[tokio::test]
async fn the_relay_drops_an_entry_kafka_refuses_and_goes_on() {
    let store = Arc::new(MemoryOutbox::default());
    let memory = Arc::new(MemoryPublisher::default());
    let broker = Switch::new(memory.clone());
    let publisher = OutboxPublisher::new(broker.clone(), store.clone());
    let tenant = TenantId::new();
    broker.set(DOWN);
    let sent = events(tenant, &KEYS, 0..2);
    for e in &sent {
        publisher.publish(e).await.unwrap();
    }

    // While the broker stays down, a pass keeps everything and sends nothing (it asks first).
    let attempts = broker.attempts();
    let pass = publisher.relay_once().await.unwrap();
    assert!(pass.broker_unavailable && pass.relayed == 0, "{pass:?}");
    assert_eq!(broker.attempts(), attempts, "nothing sent while the broker is down");
    assert_eq!(waiting(store.as_ref()).await, sent);

    // A refusing broker: the entries can never go through; they are dropped, not left to block.
    broker.set(REFUSING);
    let pass = publisher.relay_once().await.unwrap();
    assert_eq!((pass.relayed, pass.dropped), (0, sent.len()), "{pass:?}");
    assert!(store.is_empty().await.unwrap());
    assert!(!publisher.has_backlog().await);
}

#[tokio::test]
async fn two_relays_on_one_database_never_both_relay() {
    let (config, kafka) = kafka().await;
    let (db, store) = mongo_outbox().await;
    let tenant = TenantId::new();
    // 250 events wait, left by some process; two others (their own outbox handles on the same
    // database, their own producers) relay at the same time.
    let sent = events(tenant, &KEYS, 0..84)[..250].to_vec();
    for chunk in sent.chunks(50) {
        store.push(chunk).await.unwrap();
    }
    let other_kafka = Arc::new(KafkaPublisher::connect(&config).await.expect("producer"));
    let one = OutboxPublisher::new(kafka, store.clone());
    let two = OutboxPublisher::new(other_kafka, Arc::new(shared::events::MongoOutbox::new(&db.db)));
    assert_ne!(one.holder(), two.holder());

    let relayed = AtomicUsize::new(0);
    let stood_aside = AtomicUsize::new(0);
    eventually(EVENT_TIMEOUT, "the two relays to empty the outbox", || async {
        let (a, b) = futures::future::join(one.relay_once(), two.relay_once()).await;
        for pass in [a.expect("relay"), b.expect("relay")] {
            relayed.fetch_add(pass.relayed, Ordering::SeqCst);
            stood_aside.fetch_add(usize::from(pass.lease_elsewhere), Ordering::SeqCst);
        }
        store.is_empty().await.unwrap().then_some(())
    })
    .await;
    assert_eq!(relayed.into_inner(), sent.len(), "each entry relayed by one relay, once");
    assert!(stood_aside.into_inner() > 0, "one relay stood aside while the other held the lease");

    let log = EventLog::start(&config, Topic::Messages).await;
    assert_exactly_once_in_order(&read_all(&log, sent.len()).await, &sent);
}

#[tokio::test]
async fn the_spawned_relay_empties_the_outbox_once_kafka_is_back_and_stops_on_shutdown() {
    let store = Arc::new(MemoryOutbox::default());
    let memory = Arc::new(MemoryPublisher::default());
    let broker = Switch::new(memory.clone());
    let publisher = Arc::new(OutboxPublisher::new(broker.clone(), store.clone()));
    broker.set(DOWN);
    // More than one batch waits.
    let sent = events(TenantId::new(), &KEYS, 0..100);
    let results = publisher.publish_all(&sent).await;
    assert!(results.iter().all(Result::is_ok));

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = publisher.clone().spawn_relay(Duration::from_millis(20), async {
        let _ = stopped.await;
    });
    broker.set(UP);
    eventually(EVENT_TIMEOUT, "the relay to end the backlog", || async {
        (!publisher.has_backlog().await).then_some(())
    })
    .await;
    let published: Vec<serde_json::Value> =
        memory.published().iter().map(|e| serde_json::to_value(&e.envelope).unwrap()).collect();
    assert_eq!(published.len(), sent.len(), "every event, once");
    assert_eq!(order_by_key(&published), expected_order(&sent), "each key's events in order");
    assert!(store.is_empty().await.unwrap());

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), relay).await.expect("the relay stopped").unwrap();
}
