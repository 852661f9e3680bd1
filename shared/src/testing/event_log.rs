//! What a test's app published: one of the test's topics, read from the beginning, so a test can
//! wait for an event and say what was not published.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use rdkafka::{
    ClientConfig, Message, Offset, TopicPartitionList,
    consumer::{Consumer, StreamConsumer},
};
use serde_json::Value;

use super::eventually;
use crate::{config::KafkaConfig, events::Topic};

/// How long a test waits for an event (or a topic) before it fails.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(15);

struct Record {
    key: Option<String>,
    envelope: Value,
}

struct Log {
    records: Vec<Record>,
    /// The next offset to read, per partition.
    next: Vec<i64>,
}

/// One topic under the test's prefix, read from the beginning of every partition by a consumer
/// that is assigned them directly (no group join, so it starts at once and commits nothing).
/// Envelopes are kept as JSON; a payload that is not JSON is kept as the string `"<not JSON>"`.
/// Reading stops when the log drops.
pub struct EventLog {
    consumer: Arc<StreamConsumer>,
    topic: String,
    partitions: i32,
    log: Arc<Mutex<Log>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for EventLog {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EventLog {
    /// Starts reading `topic` (named with `kafka.topic_prefix`). The topic must exist, or come to
    /// exist within `EVENT_TIMEOUT` (apps create their topics at start-up), else the test fails.
    pub async fn start(kafka: &KafkaConfig, topic: Topic) -> Self {
        let topic = topic.name(&kafka.topic_prefix);
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &kafka.brokers)
            .set("group.id", format!("{topic}.event-log"))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .create()
            .expect("a Kafka consumer");
        let consumer = Arc::new(consumer);
        let partitions = eventually(EVENT_TIMEOUT, &format!("the metadata of topic {topic}"), || {
            let (consumer, topic) = (consumer.clone(), topic.clone());
            async move {
                tokio::task::spawn_blocking(move || {
                    let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(5)).ok()?;
                    let count = metadata.topics().first()?.partitions().len();
                    (count > 0).then_some(count as i32)
                })
                .await
                .ok()
                .flatten()
            }
        })
        .await;
        let mut assignment = TopicPartitionList::new();
        for partition in 0..partitions {
            assignment.add_partition_offset(&topic, partition, Offset::Beginning).expect("assignment");
        }
        consumer.assign(&assignment).unwrap_or_else(|e| panic!("assign the partitions of {topic}: {e}"));
        let log = Arc::new(Mutex::new(Log { records: Vec::new(), next: vec![0; partitions as usize] }));
        let task = tokio::spawn({
            let (consumer, log) = (consumer.clone(), log.clone());
            async move {
                loop {
                    let Ok(message) = consumer.recv().await else { continue };
                    let envelope: Value = message
                        .payload()
                        .and_then(|p| serde_json::from_slice(p).ok())
                        .unwrap_or_else(|| Value::String("<not JSON>".to_owned()));
                    let key = message.key().map(|k| String::from_utf8_lossy(k).into_owned());
                    let mut log = log.lock().unwrap();
                    log.records.push(Record { key, envelope });
                    if let Some(next) = log.next.get_mut(message.partition() as usize) {
                        *next = (*next).max(message.offset() + 1);
                    }
                }
            }
        });
        Self { consumer, topic, partitions, log, task }
    }

    /// Every envelope read so far.
    pub fn all(&self) -> Vec<Value> {
        self.log.lock().unwrap().records.iter().map(|r| r.envelope.clone()).collect()
    }

    /// The envelopes of one type read so far.
    pub fn of_type(&self, event_type: &str) -> Vec<Value> {
        self.all().into_iter().filter(|e| e["type"] == event_type).collect()
    }

    /// The Kafka key of the envelope with this id.
    pub fn key_of(&self, envelope_id: &str) -> Option<String> {
        self.log.lock().unwrap().records.iter().find(|r| r.envelope["id"] == envelope_id).and_then(|r| r.key.clone())
    }

    /// Waits for an envelope of `event_type` that `matches`, failing after `EVENT_TIMEOUT`.
    pub async fn wait_for(&self, event_type: &str, matches: impl Fn(&Value) -> bool) -> Value {
        eventually(EVENT_TIMEOUT, &format!("a {event_type} event on {}", self.topic), || {
            let found = self.of_type(event_type).into_iter().find(|e| matches(e));
            async move { found }
        })
        .await
    }

    /// Waits until everything published so far has been read (so a test can say what was not
    /// published), failing after `EVENT_TIMEOUT`.
    pub async fn caught_up(&self) {
        let ends: Vec<i64> = {
            let (consumer, topic, partitions) = (self.consumer.clone(), self.topic.clone(), self.partitions);
            tokio::task::spawn_blocking(move || {
                (0..partitions)
                    .map(|p| consumer.fetch_watermarks(&topic, p, Duration::from_secs(10)).expect("watermarks").1)
                    .collect()
            })
            .await
            .unwrap()
        };
        eventually(EVENT_TIMEOUT, &format!("the event log of {} to catch up", self.topic), || {
            let log = self.log.lock().unwrap();
            let done = ends.iter().zip(&log.next).all(|(end, next)| next >= end);
            async move { done.then_some(()) }
        })
        .await;
    }
}
