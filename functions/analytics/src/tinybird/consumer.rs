//! The self-hosted adapter: a Kafka consumer group over `chatrooms` and `messages` that hands
//! [`handle`] batches of up to `PARLEY_TINYBIRD_BATCH` events, gathered for at most
//! `PARLEY_TINYBIRD_WAIT_MS`. Offsets are committed only after a batch is streamed; a batch that
//! fails is retried in place, keeping each partition's order ([`consume_batches`]).

use std::future::Future;

use shared::{
    config::KafkaConfig,
    error::ServiceError,
    events::{Envelope, consume_batches, ensure_topics},
};

use super::{Ingest, STREAMED, handle};
use crate::config::TinybirdConfig;

/// Creates the streamed topics unless they exist, then consumes until `shutdown` resolves.
pub async fn run(
    ingest: &Ingest,
    kafka: &KafkaConfig,
    config: &TinybirdConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServiceError> {
    ensure_topics(kafka, &STREAMED).await?;
    let handler = |events: Vec<Envelope>| async move { handle(ingest, &events).await.map(drop) };
    consume_batches(kafka, &config.group_id, &STREAMED, config.batch_rows, config.batch_wait, handler, shutdown).await
}
