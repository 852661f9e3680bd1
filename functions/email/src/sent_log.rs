//! The sent-log: one document per (event id, recipient) in `emailsSent`, under a unique index,
//! so an event delivered twice (Kafka delivers at least once; Lambda retries whole batches)
//! sends each email at most once.
//!
//! A document moves `sending` → `sent`, or `sending` → `failed` → `dead_lettered`:
//! - `sending`: a worker claimed the email (the insert under the unique index is the claim,
//!   atomic on MongoDB and FerretDB alike) and is trying to send it; `claimedAt` is refreshed at
//!   every attempt. Another worker that meets a fresh claim answers [`Claim::Busy`] and its event
//!   is retried later. A claim older than [`CLAIM_LEASE`] belongs to a worker that died
//!   mid-send: it is taken over, and the email may then go twice, the only case where it can
//!   (at-least-once wins over losing it).
//! - `sent`: done; a redelivery answers [`Claim::Sent`].
//! - `failed`: given up (permanent failure or retries exhausted), not yet on the dead-letter
//!   topic; a redelivery publishes it there.
//! - `dead_lettered`: on the dead-letter topic with its reason; a redelivery does nothing.

use bson::{Document, doc};
use mongodb::{Collection, Database, IndexModel, options::IndexOptions};
use shared::{
    domain::{EventId, Timestamp},
    events::Envelope,
    mongo::{classify, is_duplicate_key},
    repos::RepoError,
};

use crate::message::EmailKind;

/// How long a `sending` claim holds without a new attempt before another worker takes it over.
/// Longer than any pause between two attempts ([`crate::config::RetryPolicy`] caps them at 30 s).
pub const CLAIM_LEASE: time::Duration = time::Duration::minutes(5);

pub const COLLECTION: &str = "emailsSent";

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
    pub state: String,
    pub attempts: u32,
    pub kind: String,
    pub last_error: Option<String>,
}

/// The key of one email: the event it answers and its recipient.
#[derive(Debug, Clone)]
pub struct Key {
    pub event_id: EventId,
    pub recipient: String,
}

impl Key {
    pub fn new(event_id: EventId, recipient: &str) -> Self {
        Self { event_id, recipient: recipient.to_lowercase() }
    }

    fn filter(&self) -> Document {
        doc! { "eventId": self.event_id.to_string(), "recipient": &self.recipient }
    }
}

#[derive(Clone)]
pub struct SentLog {
    collection: Collection<Document>,
}

impl SentLog {
    pub fn new(db: &Database) -> Self {
        Self { collection: db.collection(COLLECTION) }
    }

    /// The unique (eventId, recipient) index; idempotent, run at start-up.
    pub async fn ensure_indexes(db: &Database) -> Result<(), RepoError> {
        let options = IndexOptions::builder().unique(true).name("event_recipient_unique".to_owned()).build();
        let model = IndexModel::builder().keys(doc! { "eventId": 1, "recipient": 1 }).options(options).build();
        db.collection::<Document>(COLLECTION).create_index(model).await.map_err(classify)?;
        Ok(())
    }

    /// Claims the email `key` for sending, or says why not. `kind` is `None` for an event whose
    /// data was unusable (its record stands for the event, recipient `""`).
    pub async fn claim(&self, key: &Key, envelope: &Envelope, kind: Option<EmailKind>) -> Result<Claim, RepoError> {
        let now = Timestamp::now();
        let mut claim = key.filter();
        claim.insert("eventType", &envelope.event_type);
        claim.insert("tenantId", envelope.tenant_id.to_string());
        claim.insert("kind", kind.map(|k| k.as_str()));
        claim.insert("state", "sending");
        claim.insert("attempts", 0_i64);
        claim.insert("claimedAt", now);
        claim.insert("updatedAt", now);
        for _ in 0..2 {
            match self.collection.insert_one(&claim).await {
                Ok(_) => return Ok(Claim::Mine),
                Err(err) if is_duplicate_key(&err) => {}
                Err(err) => return Err(classify(err)),
            }
            let Some(existing) = self.collection.find_one(key.filter()).await.map_err(classify)? else {
                continue; // deleted meanwhile by a takeover: try the insert again
            };
            let claimed_at = existing.get_datetime("claimedAt").ok().copied();
            match existing.get_str("state").unwrap_or_default() {
                "sent" => return Ok(Claim::Sent),
                "dead_lettered" => return Ok(Claim::DeadLettered),
                "failed" => {
                    let reason = existing.get_str("lastError").unwrap_or("unknown").to_owned();
                    return Ok(Claim::Failed { reason, attempts: attempts(&existing) });
                }
                _ if claimed_at.is_some_and(|at| at >= now.plus(-CLAIM_LEASE).to_bson()) => return Ok(Claim::Busy),
                _ => {
                    // A dead worker's claim: remove exactly that claim (a live worker's newer one
                    // has another claimedAt), then claim anew.
                    let mut stale = key.filter();
                    stale.insert("state", "sending");
                    stale.insert("claimedAt", claimed_at);
                    self.collection.delete_one(stale).await.map_err(classify)?;
                }
            }
        }
        Ok(Claim::Busy)
    }

    async fn set(&self, key: &Key, fields: Document) -> Result<(), RepoError> {
        let mut set = fields;
        set.insert("updatedAt", Timestamp::now());
        self.collection.update_one(key.filter(), doc! { "$set": set }).await.map_err(classify)?;
        Ok(())
    }

    /// Attempt `attempts` failed with `error` and another follows; the claim is renewed.
    pub async fn attempt_failed(&self, key: &Key, attempts: u32, error: &str) -> Result<(), RepoError> {
        self.set(key, doc! { "attempts": i64::from(attempts), "lastError": error, "claimedAt": Timestamp::now() }).await
    }

    pub async fn sent(&self, key: &Key, attempts: u32, transport_id: &str) -> Result<(), RepoError> {
        let fields = doc! {
            "state": "sent", "attempts": i64::from(attempts), "transportId": transport_id, "sentAt": Timestamp::now(),
        };
        self.set(key, fields).await
    }

    pub async fn failed(&self, key: &Key, attempts: u32, reason: &str) -> Result<(), RepoError> {
        self.set(key, doc! { "state": "failed", "attempts": i64::from(attempts), "lastError": reason }).await
    }

    pub async fn dead_lettered(&self, key: &Key) -> Result<(), RepoError> {
        self.set(key, doc! { "state": "dead_lettered" }).await
    }

    /// The record of one email, if any.
    pub async fn get(&self, key: &Key) -> Result<Option<Record>, RepoError> {
        let found = self.collection.find_one(key.filter()).await.map_err(classify)?;
        Ok(found.map(|doc| Record {
            state: doc.get_str("state").unwrap_or_default().to_owned(),
            attempts: attempts(&doc),
            kind: doc.get_str("kind").unwrap_or_default().to_owned(),
            last_error: doc.get_str("lastError").ok().map(str::to_owned),
        }))
    }
}

fn attempts(doc: &Document) -> u32 {
    let n = doc.get_i64("attempts").or_else(|_| doc.get_i32("attempts").map(i64::from)).unwrap_or(0);
    u32::try_from(n).unwrap_or(0)
}
