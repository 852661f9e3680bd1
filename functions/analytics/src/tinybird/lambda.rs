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

use aws_lambda_events::event::kafka::KafkaEvent;
use serde::Serialize;
use shared::events::lambda::records;

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

/// Streams the batch's events of the streamed topics, in (topic, partition, offset) order.
pub async fn handle_batch(ingest: &Ingest, event: &KafkaEvent) -> Result<BatchSummary, IngestError> {
    let records = records(event);
    let mut summary = BatchSummary { records: records.len(), ..BatchSummary::default() };
    let mut events = Vec::with_capacity(records.len());
    for record in records.into_iter().filter(|record| is_streamed(&record.topic)) {
        match record.envelope {
            Some(envelope) => events.push(envelope),
            None => {
                let (topic, partition, offset) = (record.topic, record.partition, record.offset);
                tracing::error!(%topic, partition, offset, "skipping a record that is not an event envelope");
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
