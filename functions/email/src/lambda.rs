//! The Lambda adapter: a `KafkaEvent` batch (Amazon MSK or self-managed Kafka as an event
//! source) decoded into envelopes and handed to [`handle`](crate::handle::handle) in order.
//!
//! Lambda delivers each partition's records in offset order and retries the whole batch when
//! the function fails, so the batch stops at the first event that must be retried; the events
//! before it are skipped on the retry by the sent-log.

use aws_lambda_events::event::kafka::KafkaEvent;
use serde::Serialize;
use shared::events::lambda::records;

use crate::{
    handle::{HandleError, handle},
    state::AppState,
};

/// What the function answers for a batch.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchSummary {
    pub records: usize,
    /// Emails sent during this invocation.
    pub sent: usize,
    /// Records skipped because they are not event envelopes.
    pub unreadable: usize,
}

/// Handles a batch in order, stopping at the first event that must be retried.
pub async fn handle_batch(state: &AppState, event: &KafkaEvent) -> Result<BatchSummary, HandleError> {
    let records = records(event);
    let mut summary = BatchSummary { records: records.len(), ..BatchSummary::default() };
    for record in records {
        match record.envelope {
            Some(envelope) => {
                let outcome = handle(state, &envelope).await?;
                summary.sent += outcome.sent();
            }
            None => {
                let (topic, partition, offset) = (record.topic, record.partition, record.offset);
                tracing::error!(%topic, partition, offset, "skipping a record that is not an event envelope");
                summary.unreadable += 1;
            }
        }
    }
    Ok(summary)
}

/// Runs the function on Lambda until the runtime stops it.
pub async fn run(state: AppState) -> Result<(), lambda_runtime::Error> {
    let state = &state;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<KafkaEvent>| async move {
        handle_batch(state, &event.payload).await.map_err(|err| lambda_runtime::Diagnostic {
            error_type: "RetryBatch".into(),
            error_message: err.to_string(),
        })
    }))
    .await
}
