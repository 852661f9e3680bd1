//! `GET /dev/events`: the events Parley produced, newest first (the last 200), when they stay in
//! the process (`scripts/dev --memory`, where no Kafka topic shows them). A developer sees what
//! the email and analytics functions would receive; development only.

use std::sync::Arc;

use axum::{Json, Router, routing::get};
use shared::events::{Envelope, MemoryPublisher};

/// How many events the page lists.
pub const SHOWN: usize = 200;

pub fn router(events: Arc<MemoryPublisher>) -> Router {
    Router::new().route(
        "/dev/events",
        get(move || {
            let events = events.clone();
            async move {
                let published = events.published();
                let newest: Vec<Envelope> =
                    published.iter().rev().take(SHOWN).map(|event| event.envelope.clone()).collect();
                Json(newest)
            }
        }),
    )
}
