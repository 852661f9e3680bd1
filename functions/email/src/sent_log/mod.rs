//! The sent-log: one record per (event id, recipient), so an event delivered twice (Kafka
//! delivers at least once; Lambda retries whole batches) sends each email at most once.
//!
//! Two implementations keep one contract (the email tests run the same suite on both):
//! [`MongoSentLog`], the `emailsSent` collection under a unique index, for the real services;
//! [`MemorySentLog`], a map in process memory, for `scripts/dev --memory` (its records live as
//! long as the process, so a restart forgets what was sent: development only).
//!
//! A record moves `sending` → `sent`, or `sending` → `failed` → `dead_lettered`:
//! - `sending`: a worker claimed the email (creating the record is the claim, atomic in both
//!   implementations) and is trying to send it; `claimedAt` is refreshed at every attempt.
//!   Another worker that meets a fresh claim answers [`Claim::Busy`] and its event is retried
//!   later. A claim older than the lease ([`CLAIM_LEASE`] by default) belongs to a worker that
//!   died mid-send: it is taken over, and the email may then go twice, the only case where it
//!   can (at-least-once wins over losing it).
//! - `sent`: done; a redelivery answers [`Claim::Sent`].
//! - `failed`: given up (permanent failure or retries exhausted), not yet on the dead-letter
//!   topic; a redelivery publishes it there.
//! - `dead_lettered`: on the dead-letter topic with its reason; a redelivery does nothing.
//!
//! Updating an email that has no record does nothing (there is nothing to update).

mod memory;
mod mongo;

use async_trait::async_trait;
pub use memory::MemorySentLog;
pub use mongo::{COLLECTION, MongoSentLog};
use shared::{domain::EventId, events::Envelope, repos::RepoError};

use crate::message::EmailKind;

/// How long a `sending` claim holds without a new attempt before another worker takes it over.
/// Longer than any pause between two attempts ([`crate::config::RetryPolicy`] caps them at 30 s).
pub const CLAIM_LEASE: time::Duration = time::Duration::minutes(5);

/// What a worker may do with one email of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Send it: this worker holds the claim.
    Mine,
    /// Another worker is sending it now.
    Busy,
    Sent,
    /// Given up with this reason, not yet on the dead-letter topic.
    Failed {
        reason: String,
        attempts: u32,
    },
    DeadLettered,
}

/// The sent-log's record of one email, as tests and operators read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `sending`, `sent`, `failed` or `dead_lettered`.
    pub state: String,
    pub attempts: u32,
    /// The [`EmailKind`] as a string; empty for the record of an unusable event.
    pub kind: String,
    pub last_error: Option<String>,
}

/// The key of one email: the event it answers and its recipient (lowercased).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub event_id: EventId,
    pub recipient: String,
}

impl Key {
    pub fn new(event_id: EventId, recipient: &str) -> Self {
        Self { event_id, recipient: recipient.to_lowercase() }
    }
}

/// Where `handle` records what became of each email. Errors are storage failures; the event is
/// then delivered again later.
#[async_trait]
pub trait SentLog: Send + Sync {
    /// Claims the email `key` for sending, or says why not. `kind` is `None` for an event whose
    /// data was unusable (its record stands for the event, recipient `""`).
    async fn claim(&self, key: &Key, envelope: &Envelope, kind: Option<EmailKind>) -> Result<Claim, RepoError>;

    /// Attempt `attempts` failed with `error` and another follows; the claim is renewed.
    async fn attempt_failed(&self, key: &Key, attempts: u32, error: &str) -> Result<(), RepoError>;

    /// Sent after `attempts` attempts; `transport_id` is the relay's or SES's id for it.
    async fn sent(&self, key: &Key, attempts: u32, transport_id: &str) -> Result<(), RepoError>;

    /// Given up after `attempts` attempts, for `reason`; not yet on the dead-letter topic.
    async fn failed(&self, key: &Key, attempts: u32, reason: &str) -> Result<(), RepoError>;

    /// On the dead-letter topic (the reason stays the one [`SentLog::failed`] recorded).
    async fn dead_lettered(&self, key: &Key) -> Result<(), RepoError>;

    /// The record of one email, if any.
    async fn get(&self, key: &Key) -> Result<Option<Record>, RepoError>;
}
