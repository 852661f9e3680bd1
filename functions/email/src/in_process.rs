//! The in-process adapter, for `scripts/dev --memory` (all of Parley in one process, no Kafka):
//! the events the other functions publish on the process's `MemoryPublisher` arrive through its
//! broadcast (`subscribe()`), and each one of the topics the email function reads
//! ([`CONSUMED`]) is handed to [`handle`] in the order it was published.
//!
//! Development only: a broadcast keeps no offsets. A receiver that falls too far behind (more
//! events published meanwhile than the channel holds) loses the oldest ones; they are counted in
//! a warning and their emails are not sent. Events published before [`run`]'s receiver was made
//! (`subscribe()` before the other functions start) and events in flight when the process stops
//! are not seen either.

use std::{future::Future, time::Duration};

use shared::events::OutgoingEvent;
use tokio::sync::broadcast::{Receiver, error::RecvError};

use crate::{
    handle::handle,
    state::{AppState, CONSUMED},
};

/// The first pause before an event is handled again; it doubles up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(100);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// Handles the consumed events `events` brings, one at a time, until `shutdown` resolves or the
/// publisher is gone. `handle` sends with retries and dead-letters what cannot be sent; an event
/// it asks to see again (storage failed, the dead-letter publisher failed) is retried in place
/// with backoff (100 ms doubling to 30 s), as the Kafka consumer does, until it succeeds or
/// `shutdown` resolves. An event being handled when `shutdown` resolves is finished first,
/// unless it is waiting for a retry.
pub async fn run(state: AppState, mut events: Receiver<OutgoingEvent>, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    tracing::info!("email: handling events in process (development only)");
    loop {
        let event = tokio::select! {
            biased;
            () = &mut shutdown => return,
            received = events.recv() => match received {
                Ok(event) => event,
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "email fell behind the in-process events; the skipped events send no email");
                    continue;
                }
                Err(RecvError::Closed) => return,
            },
        };
        if !CONSUMED.contains(&event.topic) {
            continue;
        }
        let mut delay = FIRST_RETRY_DELAY;
        loop {
            match handle(&state, &event.envelope).await {
                Ok(_) => break,
                Err(err) => {
                    tracing::warn!(event_id = %event.envelope.id, error = %err, retry_in_ms = delay.as_millis() as u64, "event not handled; retrying");
                    tokio::select! {
                        biased;
                        () = &mut shutdown => return,
                        () = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                }
            }
        }
    }
}
