//! The self-hosted adapter: a Kafka consumer group over `chatrooms` and `tenants` that hands each
//! event to [`handle`](crate::handle::handle). Offsets are committed only after an event is
//! handled; an event that must be retried is retried in place, keeping its partition's order
//! ([`shared::events::consume`]).

use std::future::Future;

use shared::{error::ServiceError, services::Service};

use crate::{Config, handle::handle, state::AppState, state::CONSUMED};

/// Consumes until `shutdown` resolves.
pub async fn run(state: AppState, config: &Config, shutdown: impl Future<Output = ()>) -> Result<(), ServiceError> {
    let state = &state;
    let kafka = Service::Kafka.need(config.services.kafka.as_ref())?;
    let handler = |envelope| async move { handle(state, &envelope).await.map(drop) };
    shared::events::consume(kafka, &config.group_id, &CONSUMED, handler, shutdown).await
}
