//! Kafka events as AWS Lambda delivers them: a `KafkaEvent` batch (Amazon MSK or self-managed
//! Kafka as an event source), its records' values base64-encoded. Every Kafka-triggered function
//! (email, the analytics stream) reads its batch through [`records`].

use aws_lambda_events::event::kafka::{KafkaEvent, KafkaRecord};
use base64::Engine as _;

use super::Envelope;

/// One record of a batch: where it was, and its envelope, or `None` when its value is not an
/// event envelope (not base64, not JSON, not the shape), which can never be handled.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub topic: String,
    pub partition: i64,
    pub offset: i64,
    pub envelope: Option<Envelope>,
}

/// The batch's records in (topic, partition, offset) order: Lambda groups them by partition in
/// a map, whose order means nothing.
pub fn records(event: &KafkaEvent) -> Vec<Record> {
    let mut records: Vec<Record> =
        event.records.iter().flat_map(|(key, records)| records.iter().map(move |record| decode(key, record))).collect();
    records.sort_by(|a, b| (&a.topic, a.partition, a.offset).cmp(&(&b.topic, b.partition, b.offset)));
    records
}

fn decode(key: &str, record: &KafkaRecord) -> Record {
    // The record's own topic, or else the part of its `topic-partition` key before the partition.
    let topic = record.topic.clone().unwrap_or_else(|| key.rsplit_once('-').map_or(key, |(topic, _)| topic).to_owned());
    let envelope = record
        .value
        .as_deref()
        .and_then(|value| base64::engine::general_purpose::STANDARD.decode(value).ok())
        .and_then(|bytes| serde_json::from_slice::<Envelope>(&bytes).ok());
    Record { topic, partition: record.partition, offset: record.offset, envelope }
}
