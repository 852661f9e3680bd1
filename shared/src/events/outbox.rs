//! The outbox: when Kafka is down, chat goes on. Events wait in an [`OutboxStore`] (MongoDB's
//! `outbox` collection in production) and a relay publishes them, in order, when the broker is
//! back.
//!
//! [`OutboxPublisher`] wraps the Kafka publisher:
//! - with no backlog, an event goes to Kafka; if Kafka is unavailable (no broker answered within
//!   the producer's 10 s message timeout), the event is stored in the outbox instead, the
//!   publisher notes a backlog, and `publish` answers `Ok`;
//! - while the backlog lasts, new events go straight to the outbox, behind the earlier ones, even
//!   if the broker is back: an event never overtakes an earlier one of this process;
//! - [`OutboxPublisher::relay_once`] publishes the oldest entries in order and removes each once
//!   the broker has acknowledged it; it stops at the first failure, so order holds. When it finds
//!   the outbox empty, it clears the backlog and events go to Kafka directly again.
//!
//! The backlog flag sits in a `tokio::sync::Mutex` held around a push to the outbox and around
//! the relay's final "is it empty?" check and clear, never across a Kafka call: no event can be
//! pushed between the check and the clear, so none is left behind by a cleared flag. A
//! publisher starts by asking the store whether entries wait (left by a process that died, or
//! by another one while Kafka is down) and if so queues behind them.
//!
//! Only one relay runs at a time across processes: each pass takes the relay lease (see
//! [`OutboxStore::acquire_lease`]) before each batch, keeps it while more entries wait, and gives
//! it up when done. Every process runs [`OutboxPublisher::spawn_relay`], with or without a
//! backlog of its own, so entries left by a process that died are relayed by whoever holds the
//! lease.
//!
//! Failure modes:
//! - Kafka refuses an event ([`PublishError::Rejected`]: too large, unknown topic, ...): it can
//!   never succeed, so `publish` returns the error (callers log it) and the relay logs and drops
//!   such an entry rather than block every event behind it.
//! - Kafka and the outbox both fail: `publish` returns [`PublishError::Unavailable`] naming both
//!   causes; the event is lost and the caller's log line is its only trace.
//! - Delivery is at least once: a relay that stops between the broker's ack and the removal
//!   (crash, MongoDB error) publishes those entries again; consumers deduplicate by event id.
//! - Order holds per process. Events published concurrently (one batch, parallel requests) have
//!   no order among themselves beyond librdkafka's enqueue order, and events of one key sent by
//!   two processes while one of them has a backlog are not ordered across those processes.
//!
//! Logs carry counts, event ids and types, never payloads.

mod memory;
mod mongo;
mod store;

use std::{future::Future, sync::Arc, time::Duration};

use async_trait::async_trait;
use bson::oid::ObjectId;
use futures::future::join_all;
use tokio::{sync::Mutex, task::JoinHandle};

pub use memory::MemoryOutbox;
pub use mongo::{MongoOutbox, ensure_outbox_indexes};
pub use store::{OutboxEntry, OutboxStore, RELAY_LEASE};

use super::{EventPublisher, OutgoingEvent, PublishError};
use crate::repos::RepoError;

/// How often every process's relay looks at the outbox.
pub const RELAY_EVERY: Duration = Duration::from_secs(1);

/// Kafka behind the MongoDB outbox, as every Parley process that produces events publishes:
/// the publisher, and its relay running every [`RELAY_EVERY`] until `shutdown` resolves.
pub fn kafka_with_outbox(
    kafka: super::KafkaPublisher,
    db: &mongodb::Database,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> (Arc<OutboxPublisher>, JoinHandle<()>) {
    let publisher = Arc::new(OutboxPublisher::new(Arc::new(kafka), Arc::new(MongoOutbox::new(db))));
    let relay = publisher.clone().spawn_relay(RELAY_EVERY, shutdown);
    (publisher, relay)
}

/// Entries one relay pass publishes at most.
pub const RELAY_BATCH: usize = 100;

/// How long a relay's lease lasts without renewal. A batch takes at most the producer's 10 s
/// message timeout plus two MongoDB calls, well within the half of it that is left when the
/// lease is renewed.
pub const RELAY_LEASE_TTL: Duration = Duration::from_secs(60);

/// What one [`OutboxPublisher::relay_once`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RelayPass {
    /// Entries published and removed, in order.
    pub relayed: usize,
    /// Entries removed unpublished: Kafka refused them, or they could not be read (logged).
    pub dropped: usize,
    /// Another relay holds the lease; this pass did nothing.
    pub lease_elsewhere: bool,
    /// The broker did not take the oldest entry; it and those after it wait for the next pass.
    pub broker_unavailable: bool,
    /// A whole batch went through: more entries may wait (call again at once).
    pub more: bool,
}

/// An [`EventPublisher`] that falls back to an outbox when Kafka is unavailable (see the module
/// documentation).
pub struct OutboxPublisher {
    inner: Arc<dyn EventPublisher>,
    store: Arc<dyn OutboxStore>,
    /// Whether this publisher's events must go to the outbox: `None` until the store was asked.
    backlog: Mutex<Option<bool>>,
    /// One relay pass at a time within this process.
    relaying: Mutex<()>,
    /// This publisher's name on the relay lease.
    holder: String,
}

impl OutboxPublisher {
    pub fn new(inner: Arc<dyn EventPublisher>, store: Arc<dyn OutboxStore>) -> Self {
        let holder = format!("pid{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        Self { inner, store, backlog: Mutex::new(None), relaying: Mutex::new(()), holder }
    }

    /// Whether events of this publisher currently go to the outbox.
    pub async fn has_backlog(&self) -> bool {
        self.backlog.lock().await.unwrap_or(false)
    }

    /// This publisher's name on the relay lease (unique per publisher).
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The backlog flag, asking the store the first time. A store that cannot answer counts as
    /// empty, once and for all: asking again before every publish would make each one wait out
    /// MongoDB's server-selection timeout while the database is down.
    async fn backlog(&self, flag: &mut Option<bool>) -> bool {
        if let Some(backlog) = *flag {
            return backlog;
        }
        match self.store.is_empty().await {
            Ok(empty) => {
                if !empty {
                    tracing::info!("events wait in the outbox; new events queue behind them until relayed");
                }
                *flag = Some(!empty);
                !empty
            }
            Err(err) => {
                tracing::warn!(error = %err, "could not tell whether events wait in the outbox; assuming none");
                *flag = Some(false);
                false
            }
        }
    }

    /// Publishes `events` in order, each to Kafka or, failing that or behind a backlog, to the
    /// outbox. The outbox receives them in their order in `events`.
    async fn publish_in_order(&self, events: &[OutgoingEvent]) -> Vec<Result<(), PublishError>> {
        {
            let mut flag = self.backlog.lock().await;
            if self.backlog(&mut flag).await {
                let result = self.store.push(events).await;
                return events.iter().map(|_| result_of_push(&result, None)).collect();
            }
        }

        // Enqueued in order: librdkafka keeps that order within a partition.
        let mut results = join_all(events.iter().map(|event| self.inner.publish(event))).await;

        let unavailable: Vec<usize> =
            (0..events.len()).filter(|&i| matches!(results[i], Err(PublishError::Unavailable(_)))).collect();
        let Some(&first) = unavailable.first() else { return results };
        let waiting: Vec<OutgoingEvent> = unavailable.iter().map(|&i| events[i].clone()).collect();
        let mut flag = self.backlog.lock().await;
        let pushed = self.store.push(&waiting).await;
        if pushed.is_ok() {
            if *flag != Some(true)
                && let Err(PublishError::Unavailable(reason)) = &results[first]
            {
                tracing::warn!(
                    event_id = %events[first].envelope.id,
                    event_type = %events[first].envelope.event_type,
                    waiting = waiting.len(),
                    reason = %reason,
                    "Kafka is unavailable; events wait in the outbox until it is back"
                );
            }
            *flag = Some(true);
        }
        drop(flag);
        for i in unavailable {
            if let Err(PublishError::Unavailable(reason)) = &results[i] {
                results[i] = result_of_push(&pushed, Some(reason));
            }
        }
        results
    }

    /// Publishes the oldest entries (up to [`RELAY_BATCH`]) in order, removing those the broker
    /// acknowledged, and clears this publisher's backlog when the outbox is found empty.
    ///
    /// First the broker is asked whether it answers (a metadata request for Kafka): while it is
    /// down, nothing is sent, so no event waits out a message timeout and then lands after
    /// events stored meanwhile. Then the batch goes in one chain per key, the chains side by
    /// side; a chain stops at the first entry the broker did not take, and that entry and the
    /// rest of its key stay for the next pass (other keys go on). Entries the broker refused are
    /// dropped and logged. Errors are MongoDB's.
    pub async fn relay_once(&self) -> Result<RelayPass, RepoError> {
        let _relaying = self.relaying.lock().await;
        let mut pass = RelayPass::default();
        if self.store.is_empty().await? {
            self.clear_backlog_if_empty().await?;
            return Ok(pass);
        }
        if !self.store.acquire_lease(&self.holder, RELAY_LEASE_TTL).await? {
            pass.lease_elsewhere = true;
            return Ok(pass);
        }
        let relayed = self.relay_batch(&mut pass).await;
        // The lease is kept while whole batches go through (the next pass follows at once).
        if (relayed.is_err() || !pass.more)
            && let Err(err) = self.store.release_lease(&self.holder).await
        {
            tracing::warn!(error = %err, "could not give up the outbox relay lease; it expires by itself");
        }
        relayed?;
        if !pass.more {
            self.clear_backlog_if_empty().await?;
        }
        Ok(pass)
    }

    async fn relay_batch(&self, pass: &mut RelayPass) -> Result<(), RepoError> {
        if !self.inner.available().await {
            pass.broker_unavailable = true;
            tracing::info!("Kafka does not answer; the outbox waits");
            return Ok(());
        }
        // One chain per key, the chains side by side: a key's events go one after the other and
        // its chain stops at the first the broker does not take, so a broker that comes back
        // half-ready (some sends fail, some pass) cannot put a later event of a key before an
        // earlier one.
        let entries = self.store.oldest(RELAY_BATCH).await?;
        let mut chains: Vec<(&str, Vec<&OutboxEntry>)> = Vec::new();
        for entry in &entries {
            let key = entry.event.as_ref().map_or("", |e| e.key.as_str());
            match chains.iter_mut().find(|(k, _)| *k == key) {
                Some((_, chain)) => chain.push(entry),
                None => chains.push((key, vec![entry])),
            }
        }
        let outcomes = join_all(chains.iter().map(|(_, chain)| async move {
            let mut outcomes = Vec::new();
            for &entry in chain {
                let outcome = self.relay_entry(entry).await;
                let stop = matches!(outcome, Err(PublishError::Unavailable(_)));
                outcomes.push((entry, outcome));
                if stop {
                    break;
                }
            }
            outcomes
        }))
        .await;
        let mut done: Vec<ObjectId> = Vec::new();
        for (entry, outcome) in outcomes.into_iter().flatten() {
            if self.settle(entry, outcome, pass) {
                done.push(entry.id);
            }
        }
        self.store.remove(&done).await?;
        pass.more = entries.len() == RELAY_BATCH && !pass.broker_unavailable;
        if pass.relayed + pass.dropped > 0 {
            tracing::info!(relayed = pass.relayed, dropped = pass.dropped, "relayed events from the outbox");
        }
        Ok(())
    }

    /// Counts one entry's outcome; true when it leaves the outbox (published, or refused for
    /// good), false when it waits for the broker.
    fn settle(&self, entry: &OutboxEntry, outcome: Result<(), PublishError>, pass: &mut RelayPass) -> bool {
        match outcome {
            Ok(()) => pass.relayed += 1,
            Err(PublishError::Unavailable(reason)) => {
                pass.broker_unavailable = true;
                tracing::info!(waiting_from = %entry.id, reason = %reason, "Kafka is unavailable; the outbox waits");
                return false;
            }
            Err(PublishError::Rejected(reason)) => {
                pass.dropped += 1;
                log_dropped(entry, &reason);
            }
        }
        true
    }

    async fn relay_entry(&self, entry: &OutboxEntry) -> Result<(), PublishError> {
        match &entry.event {
            Ok(event) => self.inner.publish(event).await,
            Err(reason) => Err(PublishError::Rejected(reason.clone())),
        }
    }

    async fn clear_backlog_if_empty(&self) -> Result<(), RepoError> {
        let mut flag = self.backlog.lock().await;
        if *flag != Some(false) && self.store.is_empty().await? {
            if *flag == Some(true) {
                tracing::info!("the outbox is empty; events go to Kafka directly again");
            }
            *flag = Some(false);
        }
        Ok(())
    }

    /// Runs [`OutboxPublisher::relay_once`] every `every` (at once again while whole batches go
    /// through) until `shutdown` resolves. A pass that has started finishes its batch, which the
    /// producer's message timeout bounds. MongoDB errors are logged and retried next time.
    pub fn spawn_relay(
        self: Arc<Self>,
        every: Duration,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            tokio::pin!(shutdown);
            loop {
                let more = match self.relay_once().await {
                    Ok(pass) => pass.more,
                    Err(err) => {
                        tracing::warn!(error = %err, "the outbox relay could not read or update the outbox");
                        false
                    }
                };
                if more {
                    if futures::FutureExt::now_or_never(&mut shutdown).is_some() {
                        break;
                    }
                    continue;
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(every) => {}
                }
            }
            if let Err(err) = self.store.release_lease(&self.holder).await {
                tracing::warn!(error = %err, "could not give up the outbox relay lease; it expires by itself");
            }
        })
    }
}

fn result_of_push(pushed: &Result<(), RepoError>, kafka: Option<&str>) -> Result<(), PublishError> {
    match (pushed, kafka) {
        (Ok(()), _) => Ok(()),
        (Err(err), Some(reason)) => {
            Err(PublishError::Unavailable(format!("{reason}; and the outbox could not store the event: {err}")))
        }
        (Err(err), None) => Err(PublishError::Unavailable(format!(
            "events wait in the outbox for Kafka, and the outbox could not store this one: {err}"
        ))),
    }
}

fn log_dropped(entry: &OutboxEntry, reason: &str) {
    match &entry.event {
        Ok(event) => tracing::error!(
            entry_id = %entry.id,
            event_id = %event.envelope.id,
            event_type = %event.envelope.event_type,
            reason = %reason,
            "dropped an event from the outbox: Kafka refused it"
        ),
        Err(_) => tracing::error!(entry_id = %entry.id, reason = %reason, "dropped an unreadable outbox entry"),
    }
}

#[async_trait]
impl EventPublisher for OutboxPublisher {
    async fn publish(&self, event: &OutgoingEvent) -> Result<(), PublishError> {
        self.publish_in_order(std::slice::from_ref(event)).await.pop().unwrap_or(Ok(()))
    }

    async fn publish_all(&self, events: &[OutgoingEvent]) -> Vec<Result<(), PublishError>> {
        self.publish_in_order(events).await
    }
}
