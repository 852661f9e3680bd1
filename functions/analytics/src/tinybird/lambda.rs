//! The Lambda adapter: a `KafkaEvent` batch (Amazon MSK or self-managed Kafka as an event
//! source over the `chatrooms` and `messages` topics) decoded into envelopes and streamed with
//! one [`handle`] call.
//!
//! Records go in (topic, partition, offset) order, so each partition's events keep theirs.
//! A record of another topic is skipped (should the event source mapping name `tenants`, its
//! tokens still never leave); a record that is not an event envelope can never be streamed: it
//! is logged with its position, counted and skipped. When `handle` fails, the function fails
//! and Lambda delivers the whole batch again; rows Tinybird stored the first time collapse with
//! the second delivery's.

use aws_lambda_events::event::kafka::{KafkaEvent, KafkaRecord};
use base64::Engine;
use serde::Serialize;
use shared::events::Envelope;

use super::{Ingest, IngestError, handle, is_streamed};

/// What the function answers for a batch.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct BatchSummary {
    pub records: usize,
    /// Events sent to Tinybird.
    pub streamed: usize,
    /// Records of a streamed topic skipped because they are not event envelopes.
    pub unreadable: usize,
}

/// A record's topic: its own field, or else the part of its `topic-partition` key before the
/// partition.
fn topic_of<'a>(key: &'a str, record: &'a KafkaRecord) -> &'a str {
    record.topic.as_deref().unwrap_or_else(|| key.rsplit_once('-').map_or(key, |(topic, _)| topic))
}

fn envelope(record: &KafkaRecord) -> Option<Envelope> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(record.value.as_deref()?).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Streams the batch's events of the streamed topics, in (topic, partition, offset) order.
pub async fn handle_batch(ingest: &Ingest, event: &KafkaEvent) -> Result<BatchSummary, IngestError> {
    let mut records: Vec<(&str, &KafkaRecord)> = event
        .records
        .iter()
        .flat_map(|(key, records)| records.iter().map(move |record| (topic_of(key, record), record)))
        .collect();
    records
        .sort_by(|(a_topic, a), (b_topic, b)| (a_topic, a.partition, a.offset).cmp(&(b_topic, b.partition, b.offset)));
    let mut summary = BatchSummary { records: records.len(), ..BatchSummary::default() };
    let mut events = Vec::with_capacity(records.len());
    for (topic, record) in records {
        if !is_streamed(topic) {
            continue;
        }
        match envelope(record) {
            Some(envelope) => events.push(envelope),
            None => {
                tracing::error!(%topic, partition = record.partition, offset = record.offset, "skipping a record that is not an event envelope");
                summary.unreadable += 1;
            }
        }
    }
    summary.streamed = handle(ingest, &events).await?.rows;
    Ok(summary)
}

/// Runs the function on Lambda until the runtime stops it.
pub async fn run(ingest: Ingest) -> Result<(), lambda_runtime::Error> {
    let ingest = &ingest;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<KafkaEvent>| async move {
        handle_batch(ingest, &event.payload).await.map_err(|err| lambda_runtime::Diagnostic {
            error_type: "RetryBatch".into(),
            error_message: err.to_string(),
        })
    }))
    .await
}
