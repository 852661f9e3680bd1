//! [`EventQueue`]: events handed off by code that must not wait for the broker.
//!
//! The socket-node pushes `message.sent` after it has acknowledged a chat message; publishing
//! itself can take as long as the producer's 10 s message timeout when Kafka is down, and a chat
//! connection must never stall for that. The queue is a bounded channel drained by one
//! background task, which publishes through any [`EventPublisher`] (the [`super::OutboxPublisher`]
//! in production) **in the order the events were queued**:
//!
//! - the task takes every event waiting (up to [`QUEUE_BATCH`]) and hands the batch to
//!   [`EventPublisher::publish_all`], which enqueues them in order (librdkafka keeps that order
//!   within a partition, and the producer is idempotent) and waits for all of them;
//! - the next batch starts only when the previous one is settled, so no event overtakes an
//!   earlier one across batches, and a batch that falls back to the outbox lands there in order;
//! - [`EventQueue::push`] waits while the channel is full (backpressure), which happens only when
//!   both Kafka and the outbox are slower than the events come in.
//!
//! An event that could be neither published nor stored is logged with its id and type.
//! Shutdown: [`EventQueue::close`] (or dropping every handle) stops new pushes; the task publishes
//! what was queued before and then ends, so awaiting its `JoinHandle` drains the queue.

use std::sync::Arc;

use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

use super::{EventPublisher, OutgoingEvent, log_failure};

/// The most events one batch hands to the publisher.
pub const QUEUE_BATCH: usize = 256;

/// A cheap-clone handle to the queue.
#[derive(Clone)]
pub struct EventQueue {
    events: mpsc::Sender<OutgoingEvent>,
    closing: Arc<watch::Sender<bool>>,
}

/// The queue no longer takes events (it was closed, or its task ended); the event comes back.
#[derive(Debug, thiserror::Error)]
#[error("the event queue is closed")]
pub struct QueueClosed(pub OutgoingEvent);

impl EventQueue {
    /// Starts the task that publishes through `publisher`, with room for `capacity` waiting
    /// events (at least 1).
    pub fn spawn(publisher: Arc<dyn EventPublisher>, capacity: usize) -> (EventQueue, JoinHandle<()>) {
        let (events, receiver) = mpsc::channel(capacity.max(1));
        let (closing, closed) = watch::channel(false);
        let task = tokio::spawn(drain(publisher, receiver, closed));
        (EventQueue { events, closing: Arc::new(closing) }, task)
    }

    /// Queues an event, waiting while the queue is full.
    pub async fn push(&self, event: OutgoingEvent) -> Result<(), QueueClosed> {
        self.events.send(event).await.map_err(|e| QueueClosed(e.0))
    }

    /// Stops taking events (on every handle); what was queued before is still published. Await
    /// the task's `JoinHandle` to know when it is done.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

async fn drain(
    publisher: Arc<dyn EventPublisher>,
    mut receiver: mpsc::Receiver<OutgoingEvent>,
    mut closing: watch::Receiver<bool>,
) {
    let mut batch = Vec::with_capacity(QUEUE_BATCH);
    let mut closed = false;
    loop {
        tokio::select! {
            biased;
            // Closing (or every handle dropped) stops new pushes; the buffer is still drained.
            _ = async { closing.wait_for(|closing| *closing).await.map(drop) }, if !closed => {
                closed = true;
                receiver.close();
            }
            received = receiver.recv_many(&mut batch, QUEUE_BATCH) => {
                if received == 0 {
                    break;
                }
                let results = publisher.publish_all(&batch).await;
                for (event, result) in batch.iter().zip(results) {
                    if let Err(err) = result {
                        log_failure(event, &err);
                    }
                }
                batch.clear();
            }
        }
    }
}
