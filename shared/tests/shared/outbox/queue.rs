//! The [`EventQueue`]: queue order kept within and across batches, backpressure, draining on
//! close, and the production path (queue → outbox publisher → Kafka).

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use shared::{
    domain::TenantId,
    events::{
        EventPublisher, EventQueue, KafkaPublisher, MemoryPublisher, OutboxPublisher, OutboxStore, OutgoingEvent,
        PublishError, Topic, ensure_topics,
    },
    testing::{EVENT_TIMEOUT, EventLog, eventually, kafka_config},
};
use tokio::sync::Semaphore;

use super::{assert_exactly_once_in_order, event, events, mongo_outbox, read_all};

/// A publisher that records each batch, checks no two batches overlap, and takes its time: each
/// event needs a permit the test hands out.
struct Recorder {
    batches: Mutex<Vec<Vec<OutgoingEvent>>>,
    busy: AtomicBool,
    permits: Semaphore,
}

impl Recorder {
    fn new(permits: usize) -> Arc<Self> {
        Arc::new(Self {
            batches: Mutex::new(Vec::new()),
            busy: AtomicBool::new(false),
            permits: Semaphore::new(permits),
        })
    }

    fn published(&self) -> Vec<OutgoingEvent> {
        self.batches.lock().unwrap().concat()
    }
}

#[async_trait]
impl EventPublisher for Recorder {
    async fn publish(&self, event: &OutgoingEvent) -> Result<(), PublishError> {
        self.permits.acquire().await.expect("permits").forget();
        if event.envelope.data["refuse"] == true {
            return Err(PublishError::Rejected("the test refuses this one".into()));
        }
        Ok(())
    }

    async fn publish_all(&self, events: &[OutgoingEvent]) -> Vec<Result<(), PublishError>> {
        assert!(!self.busy.swap(true, Ordering::SeqCst), "a batch started before the previous one was settled");
        self.batches.lock().unwrap().push(events.to_vec());
        let results = futures::future::join_all(events.iter().map(|e| self.publish(e))).await;
        self.busy.store(false, Ordering::SeqCst);
        results
    }
}

#[tokio::test]
async fn events_are_published_in_queue_order_one_batch_at_a_time() {
    let recorder = Recorder::new(0);
    let (queue, task) = EventQueue::spawn(recorder.clone(), 64);
    let sent = events(TenantId::new(), &["room-a", "room-b"], 0..500);

    // The publisher is stalled: the queue fills, and a push waits (backpressure) until there is
    // room again, while the pusher's other work goes on.
    let pusher = tokio::spawn({
        let (queue, sent) = (queue.clone(), sent.clone());
        async move {
            for event in sent {
                queue.push(event).await.expect("queue open");
            }
        }
    });
    eventually(EVENT_TIMEOUT, "the queue to fill", || {
        let in_flight = recorder.published().len();
        async move { (in_flight > 0).then_some(()) }
    })
    .await;
    assert!(!pusher.is_finished(), "the pusher waits while the queue is full");

    recorder.permits.add_permits(sent.len());
    pusher.await.unwrap();
    queue.close();
    task.await.unwrap();
    assert_eq!(recorder.published(), sent, "every event, in queue order");
    let batches = recorder.batches.lock().unwrap().len();
    assert!(batches > 2, "the events went out in several batches ({batches})");
}

#[tokio::test]
async fn closing_publishes_what_was_queued_and_refuses_more() {
    let recorder = Recorder::new(0);
    let (queue, task) = EventQueue::spawn(recorder.clone(), 100);
    let sent = events(TenantId::new(), &["room-a"], 0..20);
    for event in &sent {
        queue.push(event.clone()).await.unwrap();
    }
    queue.close();
    recorder.permits.add_permits(sent.len());
    tokio::time::timeout(Duration::from_secs(10), task).await.expect("the queue drained").unwrap();
    assert_eq!(recorder.published(), sent);
    let refused = queue.push(event(TenantId::new(), "room-a", 99)).await.unwrap_err();
    assert_eq!(refused.0.envelope.data["n"], 99, "the refused event comes back");
}

#[tokio::test]
async fn dropping_every_handle_drains_the_queue_too() {
    let memory = Arc::new(MemoryPublisher::default());
    let (queue, task) = EventQueue::spawn(memory.clone(), 8);
    let sent = events(TenantId::new(), &["room-a"], 0..30);
    for event in &sent {
        queue.push(event.clone()).await.unwrap();
    }
    drop(queue);
    task.await.unwrap();
    assert_eq!(memory.published(), sent);
}

#[tokio::test]
async fn an_event_that_fails_does_not_stop_the_ones_after_it() {
    let recorder = Recorder::new(1_000);
    let (queue, task) = EventQueue::spawn(recorder.clone(), 16);
    let tenant = TenantId::new();
    let refused = shared::testing::raw_event(
        shared::events::Topic::Messages,
        "message.sent",
        tenant,
        "room-a",
        serde_json::json!({"refuse": true}),
    );
    let good = event(tenant, "room-a", 1);
    queue.push(refused.clone()).await.unwrap();
    queue.push(good.clone()).await.unwrap();
    queue.close();
    task.await.unwrap();
    assert_eq!(recorder.published(), vec![refused, good]);
}

#[tokio::test]
async fn through_the_outbox_publisher_to_kafka_each_key_keeps_its_order() {
    let config = kafka_config();
    ensure_topics(&config, &[Topic::Messages]).await.expect("topics");
    let kafka = Arc::new(KafkaPublisher::connect(&config).await.expect("producer"));
    let (_db, store) = mongo_outbox().await;
    let publisher = Arc::new(OutboxPublisher::new(kafka, store.clone()));
    let (queue, task) = EventQueue::spawn(publisher, 32);
    let sent = events(TenantId::new(), &["room-a", "room-b", "room-c"], 0..200);
    for event in &sent {
        queue.push(event.clone()).await.unwrap();
    }
    queue.close();
    task.await.unwrap();
    assert!(store.is_empty().await.unwrap(), "Kafka was up: nothing waited in the outbox");

    let log = EventLog::start(&config, Topic::Messages).await;
    assert_exactly_once_in_order(&read_all(&log, sent.len()).await, &sent);
}
