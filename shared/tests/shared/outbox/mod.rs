//! The outbox: its store contract on MongoDB-wire and in memory, the [`OutboxPublisher`] on the
//! real services (Kafka up, a backlog, the relay lease), a private broker stopped and restarted
//! under it, and the [`EventQueue`] in front of it.

mod broker;
mod publisher;
mod queue;
mod store;

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicU8, AtomicUsize, Ordering},
    },
};

use async_trait::async_trait;
use serde_json::Value;
use shared::{
    domain::TenantId,
    events::{EventPublisher, MongoOutbox, OutgoingEvent, PublishError, ensure_outbox_indexes},
    testing::{EVENT_TIMEOUT, EventLog, TestDatabase, eventually},
};

/// A fresh database with the outbox's indexes, and an outbox on it.
async fn mongo_outbox() -> (TestDatabase, Arc<MongoOutbox>) {
    let db = TestDatabase::new().await;
    ensure_outbox_indexes(&db.db).await.expect("outbox indexes");
    let outbox = Arc::new(MongoOutbox::new(&db.db));
    (db, outbox)
}

/// Waits until `count` events have been read from the topic and the log has caught up with it
/// (so whatever else was published is read too).
async fn read_all(log: &EventLog, count: usize) -> Vec<Value> {
    eventually(EVENT_TIMEOUT, &format!("{count} events on the topic"), || {
        let arrived = log.all().len();
        async move { (arrived >= count).then_some(()) }
    })
    .await;
    log.caught_up().await;
    log.all()
}

/// Event `n` of chatroom `key`: `message.sent` with `{key, n}` as its data.
fn event(tenant: TenantId, key: &str, n: u64) -> OutgoingEvent {
    shared::testing::raw_event(
        shared::events::Topic::Messages,
        "message.sent",
        tenant,
        key,
        serde_json::json!({ "key": key, "n": n }),
    )
}

/// `rounds` events for each of `keys`, interleaved: (a, 0), (b, 0), (a, 1), (b, 1), ...
fn events(tenant: TenantId, keys: &[&str], rounds: std::ops::Range<u64>) -> Vec<OutgoingEvent> {
    rounds.flat_map(|n| keys.iter().map(move |key| event(tenant, key, n))).collect()
}

/// The `n`s per key, in the order the envelopes are listed.
fn order_by_key(envelopes: &[Value]) -> HashMap<String, Vec<u64>> {
    let mut order: HashMap<String, Vec<u64>> = HashMap::new();
    for envelope in envelopes {
        let key = envelope["data"]["key"].as_str().expect("a key").to_owned();
        order.entry(key).or_default().push(envelope["data"]["n"].as_u64().expect("an n"));
    }
    order
}

/// What the test published, in the same shape as [`order_by_key`].
fn expected_order(sent: &[OutgoingEvent]) -> HashMap<String, Vec<u64>> {
    let envelopes: Vec<Value> = sent.iter().map(|e| serde_json::to_value(&e.envelope).unwrap()).collect();
    order_by_key(&envelopes)
}

/// Checks `read` (a topic read from the beginning) holds every event of `sent` exactly once, and
/// nothing else, and each key's events in the order they were published.
fn assert_exactly_once_in_order(read: &[Value], sent: &[OutgoingEvent]) {
    let ids: Vec<&str> = read.iter().map(|e| e["id"].as_str().expect("an id")).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an event arrived twice");
    let expected: HashSet<String> = sent.iter().map(|e| e.envelope.id.to_string()).collect();
    assert_eq!(unique, expected.iter().map(String::as_str).collect(), "the events that arrived");
    assert_eq!(order_by_key(read), expected_order(sent), "each key's events in the order published");
}

const UP: u8 = 0;
const DOWN: u8 = 1;
const REFUSING: u8 = 2;

/// A broker the test turns off (every publish answers `Unavailable` at once, as Kafka does after
/// its message timeout) or makes refuse events, in front of a real publisher.
struct Switch {
    inner: Arc<dyn EventPublisher>,
    mode: AtomicU8,
    attempts: AtomicUsize,
}

impl Switch {
    fn new(inner: Arc<dyn EventPublisher>) -> Arc<Self> {
        Arc::new(Self { inner, mode: AtomicU8::new(UP), attempts: AtomicUsize::new(0) })
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    /// How many events reached this "broker" (whatever it answered).
    fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl EventPublisher for Switch {
    async fn available(&self) -> bool {
        self.mode.load(Ordering::SeqCst) != DOWN
    }

    async fn publish(&self, event: &OutgoingEvent) -> Result<(), PublishError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        match self.mode.load(Ordering::SeqCst) {
            DOWN => Err(PublishError::Unavailable("the test's broker is down".into())),
            REFUSING => Err(PublishError::Rejected("the test's broker refuses events".into())),
            _ => self.inner.publish(event).await,
        }
    }
}
