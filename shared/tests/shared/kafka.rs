//! Envelopes through a real Kafka broker: keyed produce, a consumer group, per-key order, and
//! offsets committed only after the handler succeeds.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use shared::{
    config::KafkaConfig,
    domain::TenantId,
    events::{Envelope, EventPublisher, EventType, KafkaPublisher, OutgoingEvent, Topic, consume, ensure_topics},
    testing::kafka_config,
};
use tokio::sync::{mpsc, oneshot};

const KEYS: [&str; 3] = ["room-a", "room-b", "room-c"];

async fn publish_round(
    publisher: &KafkaPublisher,
    tenant: TenantId,
    rounds: std::ops::Range<u32>,
) -> Vec<OutgoingEvent> {
    let mut sent = Vec::new();
    for n in rounds {
        for key in KEYS {
            let event =
                OutgoingEvent::new(EventType::MessageSent, tenant, key, serde_json::json!({ "key": key, "n": n }));
            publisher.publish(&event).await.expect("publish");
            sent.push(event);
        }
    }
    sent
}

/// A consumer-group loop in the background: what it handles arrives on the channel; dropping
/// the returned sender stops it.
fn start_consumer(
    config: &KafkaConfig,
    group: &str,
    fail_first_attempt_of: Option<String>,
) -> (mpsc::UnboundedReceiver<Envelope>, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (handled_tx, handled_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (config, group) = (config.clone(), group.to_owned());
    let failed_once = Arc::new(AtomicBool::new(false));
    let task = tokio::spawn(async move {
        let handler = |envelope: Envelope| {
            let handled_tx = handled_tx.clone();
            let fail = fail_first_attempt_of.as_deref() == Some(&envelope.id.to_string())
                && !failed_once.swap(true, Ordering::SeqCst);
            async move {
                if fail {
                    return Err("a transient failure");
                }
                handled_tx.send(envelope).map_err(|_| "test ended")
            }
        };
        consume(&config, &group, &[Topic::Messages], handler, async {
            let _ = stop_rx.await;
        })
        .await
        .expect("consumer");
    });
    (handled_rx, stop_tx, task)
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
    let flaky = sent[31].envelope.id.to_string();
    let (mut handled, stop, task) = start_consumer(&config, "test-group", Some(flaky));
    let got = receive(&mut handled, sent.len()).await;

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
    let _ = stop.send(());
    task.await.unwrap();
}

#[tokio::test]
async fn a_restarted_consumer_resumes_after_what_was_handled() {
    let config = kafka_config();
    ensure_topics(&config, &[Topic::Messages]).await.expect("topics");
    let publisher = KafkaPublisher::connect(&config).await.expect("producer");
    let tenant = TenantId::new();

    let first = publish_round(&publisher, tenant, 0..3).await;
    let (mut handled, stop, task) = start_consumer(&config, "test-group", None);
    receive(&mut handled, first.len()).await;
    let _ = stop.send(());
    task.await.unwrap();

    let second = publish_round(&publisher, tenant, 3..5).await;
    let (mut handled, stop, task) = start_consumer(&config, "test-group", None);
    let got = receive(&mut handled, second.len()).await;
    let expected: HashSet<_> = second.iter().map(|e| e.envelope.id).collect();
    assert_eq!(got.iter().map(|e| e.id).collect::<HashSet<_>>(), expected, "only the new events, once each");
    // Nothing else trickles in: ask the broker for more with a marker event and see it next.
    let marker = publish_round(&publisher, tenant, 5..6).await;
    let next = receive(&mut handled, marker.len()).await;
    assert!(next.iter().all(|e| e.data["n"] == 5), "an already handled event came back: {next:?}");
    let _ = stop.send(());
    task.await.unwrap();
}

#[tokio::test]
async fn a_consumer_skips_payloads_that_are_not_envelopes() {
    let config = kafka_config();
    ensure_topics(&config, &[Topic::Messages]).await.expect("topics");
    let raw: rdkafka::producer::FutureProducer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &config.brokers).create().unwrap();
    let topic = Topic::Messages.name(&config.topic_prefix);
    raw.send(rdkafka::producer::FutureRecord::to(&topic).key("room-a").payload("{not json"), Duration::from_secs(10))
        .await
        .expect("raw send");
    let publisher = KafkaPublisher::connect(&config).await.expect("producer");
    let good = publish_round(&publisher, TenantId::new(), 0..1).await;

    let (mut handled, stop, task) = start_consumer(&config, "test-group", None);
    let got = receive(&mut handled, good.len()).await;
    let seen: HashSet<_> = got.iter().map(|e| e.id).collect();
    assert_eq!(seen, good.iter().map(|e| e.envelope.id).collect(), "the envelope after the bad payload arrives");
    let _ = stop.send(());
    task.await.unwrap();
}
