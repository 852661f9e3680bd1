//! Envelopes through a real Kafka broker: keyed produce, a consumer group, per-key order, and
//! offsets committed only after the handler succeeds, one event at a time or in batches.

use std::{
    collections::{HashMap, HashSet},
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use shared::{
    config::KafkaConfig,
    domain::TenantId,
    events::{Envelope, EventPublisher, KafkaPublisher, OutgoingEvent, Topic, consume, consume_batches, ensure_topics},
    testing::kafka_config,
};
use tokio::sync::{mpsc, oneshot};

/// A consumer group of the test's own (groups shared across topics would rebalance together).
fn group(config: &KafkaConfig) -> String {
    format!("{}group", config.topic_prefix)
}

const KEYS: [&str; 3] = ["room-a", "room-b", "room-c"];

/// The test's own messages topic, created, and a producer for it.
async fn messages_topic() -> (KafkaConfig, KafkaPublisher) {
    let config = kafka_config();
    ensure_topics(&config, &[Topic::Messages]).await.expect("topics");
    let publisher = KafkaPublisher::connect(&config).await.expect("producer");
    (config, publisher)
}

/// A `message.sent` of any data (these tests read envelopes, not event data), keyed by `key`.
fn message_event(tenant: TenantId, key: &str, data: serde_json::Value) -> OutgoingEvent {
    shared::testing::raw_event(Topic::Messages, "message.sent", tenant, key, data)
}

async fn publish_round(
    publisher: &KafkaPublisher,
    tenant: TenantId,
    rounds: std::ops::Range<u32>,
) -> Vec<OutgoingEvent> {
    let mut sent = Vec::new();
    for n in rounds {
        for key in KEYS {
            let event = message_event(tenant, key, serde_json::json!({ "key": key, "n": n }));
            publisher.publish(&event).await.expect("publish");
            sent.push(event);
        }
    }
    sent
}

/// Decides, per delivery attempt, whether the test's handler fails.
type Failing = Box<dyn Fn(&Envelope) -> bool + Send + Sync>;

fn never() -> Failing {
    Box::new(|_| false)
}

/// A consumer-group loop in the background. What its handler accepts arrives on `handled`; what
/// it refuses (per `failing`) on `refused`. Sending on `stop` ends the loop.
struct Running {
    handled: mpsc::UnboundedReceiver<Envelope>,
    refused: mpsc::UnboundedReceiver<Envelope>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

fn start_consumer(config: &KafkaConfig, failing: Failing) -> Running {
    let (handled_tx, handled) = mpsc::unbounded_channel();
    let (refused_tx, refused) = mpsc::unbounded_channel();
    let (stop, stop_rx) = oneshot::channel::<()>();
    let config = config.clone();
    let task = tokio::spawn(async move {
        let handler = |envelope: Envelope| {
            let fail = failing(&envelope);
            let (handled_tx, refused_tx) = (handled_tx.clone(), refused_tx.clone());
            async move {
                if fail {
                    let _ = refused_tx.send(envelope);
                    return Err("a failure of the test's handler");
                }
                handled_tx.send(envelope).map_err(|_| "test ended")
            }
        };
        consume(&config, &group(&config), &[Topic::Messages], handler, async {
            let _ = stop_rx.await;
        })
        .await
        .expect("consumer");
    });
    Running { handled, refused, stop, task }
}

async fn receive(rx: &mut mpsc::UnboundedReceiver<Envelope>, count: usize) -> Vec<Envelope> {
    let mut got = Vec::new();
    while got.len() < count {
        match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
            Ok(Some(envelope)) => got.push(envelope),
            _ => panic!("only {} of {count} events arrived within 30s", got.len()),
        }
    }
    got
}

fn by_key(envelopes: &[Envelope]) -> HashMap<String, Vec<u64>> {
    let mut map: HashMap<String, Vec<u64>> = HashMap::new();
    for e in envelopes {
        map.entry(e.data["key"].as_str().unwrap().to_owned()).or_default().push(e.data["n"].as_u64().unwrap());
    }
    map
}

#[tokio::test]
async fn keyed_envelopes_arrive_once_and_in_order_per_key_through_a_consumer_group() {
    let config = kafka_config();
    ensure_topics(&config, &[Topic::Messages]).await.expect("topics");
    // Creating them again is harmless (every binary does it at start-up).
    ensure_topics(&config, &[Topic::Messages]).await.expect("topics again");
    let publisher = KafkaPublisher::connect(&config).await.expect("producer");
    let tenant = TenantId::new();
    let sent = publish_round(&publisher, tenant, 0..20).await;

    // The handler fails once on one event in the middle: it is retried, and order holds.
    let flaky = sent[31].envelope.id;
    let failed_once = AtomicBool::new(false);
    let mut running =
        start_consumer(&config, Box::new(move |e| e.id == flaky && !failed_once.swap(true, Ordering::SeqCst)));
    let got = receive(&mut running.handled, sent.len()).await;
    assert_eq!(running.refused.recv().await.map(|e| e.id), Some(flaky), "the failure happened");

    let ids: HashSet<_> = got.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), sent.len(), "no event was delivered twice");
    for key in KEYS {
        assert_eq!(by_key(&got)[key], (0..20).collect::<Vec<u64>>(), "order of {key}");
    }
    let original: HashMap<_, _> = sent.iter().map(|e| (e.envelope.id, &e.envelope)).collect();
    for envelope in &got {
        assert_eq!(original[&envelope.id], envelope, "the envelope arrives as it was sent");
        assert_eq!(envelope.tenant_id, tenant);
        assert_eq!(envelope.event_type, "message.sent");
    }
    running.stop().await;
}

#[tokio::test]
async fn a_restarted_consumer_resumes_after_what_was_handled() {
    let (config, publisher) = messages_topic().await;
    let tenant = TenantId::new();

    let first = publish_round(&publisher, tenant, 0..3).await;
    let mut running = start_consumer(&config, never());
    receive(&mut running.handled, first.len()).await;
    running.stop().await;

    let second = publish_round(&publisher, tenant, 3..5).await;
    let mut running = start_consumer(&config, never());
    let got = receive(&mut running.handled, second.len()).await;
    let expected: HashSet<_> = second.iter().map(|e| e.envelope.id).collect();
    assert_eq!(got.iter().map(|e| e.id).collect::<HashSet<_>>(), expected, "only the new events, once each");
    // Nothing else trickles in: publish a marker and see it next.
    let marker = publish_round(&publisher, tenant, 5..6).await;
    let next = receive(&mut running.handled, marker.len()).await;
    assert!(next.iter().all(|e| e.data["n"] == 5), "an already handled event came back: {next:?}");
    running.stop().await;
}

#[tokio::test]
async fn an_event_never_handled_is_delivered_again_after_a_restart() {
    let (config, publisher) = messages_topic().await;
    // One chatroom's events: one partition, one order.
    let tenant = TenantId::new();
    let mut sent = Vec::new();
    for n in 0..3 {
        let event = message_event(tenant, "room-a", serde_json::json!({ "n": n }));
        publisher.publish(&event).await.expect("publish");
        sent.push(event);
    }
    let stuck = sent[1].envelope.id;

    // The handler keeps failing on the second event; the consumer stops while it retries.
    let mut running = start_consumer(&config, Box::new(move |e| e.id == stuck));
    let before = receive(&mut running.handled, 1).await;
    assert_eq!(before[0].id, sent[0].envelope.id);
    let refused = tokio::time::timeout(Duration::from_secs(30), running.refused.recv()).await.unwrap();
    assert_eq!(refused.map(|e| e.id), Some(stuck));
    running.stop().await;

    // A healthy member of the group starts at the stuck event: nothing was skipped or lost.
    let mut running = start_consumer(&config, never());
    let after = receive(&mut running.handled, 2).await;
    assert_eq!(after.iter().map(|e| e.id).collect::<Vec<_>>(), vec![stuck, sent[2].envelope.id]);
    running.stop().await;
}

#[tokio::test]
async fn a_consumer_skips_payloads_that_are_not_envelopes() {
    let (config, publisher) = messages_topic().await;
    let raw: rdkafka::producer::FutureProducer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &config.brokers).create().unwrap();
    let topic = Topic::Messages.name(&config.topic_prefix);
    raw.send(rdkafka::producer::FutureRecord::to(&topic).key("room-a").payload("{not json"), Duration::from_secs(10))
        .await
        .expect("raw send");
    let good = publish_round(&publisher, TenantId::new(), 0..1).await;

    let mut running = start_consumer(&config, never());
    let got = receive(&mut running.handled, good.len()).await;
    let seen: HashSet<_> = got.iter().map(|e| e.id).collect();
    assert_eq!(seen, good.iter().map(|e| e.envelope.id).collect(), "the envelopes after the bad payload arrive");
    running.stop().await;
}

/// One handler call of a batch consumer: the envelopes' ids, and whether the call failed.
type Call = (Vec<shared::domain::EventId>, bool);

#[tokio::test]
async fn a_batch_consumer_hands_over_the_events_in_batches_in_order_and_retries_a_failed_batch_whole() {
    let (config, publisher) = messages_topic().await;
    // One chatroom's events: one partition, one order.
    let tenant = TenantId::new();
    let mut sent = Vec::new();
    for n in 0..12 {
        let event = message_event(tenant, "room-a", serde_json::json!({ "n": n }));
        publisher.publish(&event).await.expect("publish");
        sent.push(event.envelope.id);
    }
    // A non-envelope in the middle is left out of its batch, and nothing after it is lost.
    let raw: rdkafka::producer::FutureProducer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &config.brokers).create().unwrap();
    let topic = Topic::Messages.name(&config.topic_prefix);
    raw.send(rdkafka::producer::FutureRecord::to(&topic).key("room-a").payload("{not json"), Duration::from_secs(10))
        .await
        .expect("raw send");
    for n in 12..15 {
        let event = message_event(tenant, "room-a", serde_json::json!({ "n": n }));
        publisher.publish(&event).await.expect("publish");
        sent.push(event.envelope.id);
    }

    let (calls_tx, mut calls) = mpsc::unbounded_channel::<Call>();
    let (stop, stop_rx) = oneshot::channel::<()>();
    let failed_once = AtomicBool::new(false);
    let task = tokio::spawn({
        let config = config.clone();
        async move {
            let handler = |batch: Vec<Envelope>| {
                let ids: Vec<_> = batch.iter().map(|e| e.id).collect();
                // The first batch that does not start the topic fails on its first delivery.
                let fail = batch[0].data["n"] != 0 && !failed_once.swap(true, Ordering::SeqCst);
                let calls_tx = calls_tx.clone();
                async move {
                    let _ = calls_tx.send((ids, fail));
                    if fail { Err("a failure of the test's handler") } else { Ok(()) }
                }
            };
            let shutdown = async {
                let _ = stop_rx.await;
            };
            consume_batches(
                &config,
                &group(&config),
                &[Topic::Messages],
                5,
                Duration::from_millis(500),
                handler,
                shutdown,
            )
            .await
            .expect("consumer");
        }
    });

    let mut handled = Vec::new();
    let mut batches = Vec::new();
    let mut failed: Option<Vec<_>> = None;
    let mut retried_whole = false;
    while handled.len() < sent.len() {
        let (ids, fail) = match tokio::time::timeout(Duration::from_secs(30), calls.recv()).await {
            Ok(Some(call)) => call,
            _ => panic!("only {} of {} events arrived within 30s", handled.len(), sent.len()),
        };
        assert!(!ids.is_empty() && ids.len() <= 5, "a batch of {} events", ids.len());
        if fail {
            failed = Some(ids);
            continue;
        }
        if let Some(failed) = failed.take() {
            assert_eq!(ids, failed, "the failed batch is delivered again, whole");
            retried_whole = true;
        }
        batches.push(ids.len());
        handled.extend(ids);
    }
    assert!(retried_whole, "a batch failed and was retried");
    assert_eq!(handled, sent, "every event once, in order, the bad payload left out");
    assert!(batches.len() < sent.len(), "events arrive in batches: {batches:?}");
    let _ = stop.send(());
    task.await.unwrap();
}
