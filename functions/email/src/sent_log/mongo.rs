//! The sent-log in MongoDB (or FerretDB): one document per email in `emailsSent`, unique on
//! (eventId, recipient). Inserting the document is the claim: the unique index makes it atomic.

use async_trait::async_trait;
use bson::{Document, doc};
use mongodb::{Collection, Database, IndexModel, options::IndexOptions};
use shared::{
    domain::Timestamp,
    events::Envelope,
    mongo::{classify, is_duplicate_key},
    repos::RepoError,
};

use super::{CLAIM_LEASE, Claim, Key, Record, SentLog};
use crate::message::EmailKind;

pub const COLLECTION: &str = "emailsSent";

fn filter(key: &Key) -> Document {
    doc! { "eventId": key.event_id.to_string(), "recipient": &key.recipient }
}

#[derive(Clone)]
pub struct MongoSentLog {
    collection: Collection<Document>,
    lease: time::Duration,
}

impl MongoSentLog {
    /// Over `db`, whose index [`MongoSentLog::ensure_indexes`] made, with [`CLAIM_LEASE`].
    pub fn new(db: &Database) -> Self {
        Self::with_lease(db, CLAIM_LEASE)
    }

    /// With another lease (tests of the takeover use a short one).
    pub fn with_lease(db: &Database, lease: time::Duration) -> Self {
        Self { collection: db.collection(COLLECTION), lease }
    }

    /// The unique (eventId, recipient) index; idempotent, run at start-up.
    pub async fn ensure_indexes(db: &Database) -> Result<(), RepoError> {
        let options = IndexOptions::builder().unique(true).name("event_recipient_unique".to_owned()).build();
        let model = IndexModel::builder().keys(doc! { "eventId": 1, "recipient": 1 }).options(options).build();
        db.collection::<Document>(COLLECTION).create_index(model).await.map_err(classify)?;
        Ok(())
    }

    async fn set(&self, key: &Key, fields: Document) -> Result<(), RepoError> {
        let mut set = fields;
        set.insert("updatedAt", Timestamp::now());
        self.collection.update_one(filter(key), doc! { "$set": set }).await.map_err(classify)?;
        Ok(())
    }
}

#[async_trait]
impl SentLog for MongoSentLog {
    async fn claim(&self, key: &Key, envelope: &Envelope, kind: Option<EmailKind>) -> Result<Claim, RepoError> {
        let now = Timestamp::now();
        let mut claim = filter(key);
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
            let Some(existing) = self.collection.find_one(filter(key)).await.map_err(classify)? else {
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
                _ if claimed_at.is_some_and(|at| at >= now.plus(-self.lease).to_bson()) => return Ok(Claim::Busy),
                _ => {
                    // A dead worker's claim: remove exactly that claim (a live worker's newer one
                    // has another claimedAt), then claim anew.
                    let mut stale = filter(key);
                    stale.insert("state", "sending");
                    stale.insert("claimedAt", claimed_at);
                    self.collection.delete_one(stale).await.map_err(classify)?;
                }
            }
        }
        Ok(Claim::Busy)
    }

    async fn attempt_failed(&self, key: &Key, attempts: u32, error: &str) -> Result<(), RepoError> {
        self.set(key, doc! { "attempts": i64::from(attempts), "lastError": error, "claimedAt": Timestamp::now() }).await
    }

    async fn sent(&self, key: &Key, attempts: u32, transport_id: &str) -> Result<(), RepoError> {
        let fields = doc! {
            "state": "sent", "attempts": i64::from(attempts), "transportId": transport_id, "sentAt": Timestamp::now(),
        };
        self.set(key, fields).await
    }

    async fn failed(&self, key: &Key, attempts: u32, reason: &str) -> Result<(), RepoError> {
        self.set(key, doc! { "state": "failed", "attempts": i64::from(attempts), "lastError": reason }).await
    }

    async fn dead_lettered(&self, key: &Key) -> Result<(), RepoError> {
        self.set(key, doc! { "state": "dead_lettered" }).await
    }

    async fn get(&self, key: &Key) -> Result<Option<Record>, RepoError> {
        let found = self.collection.find_one(filter(key)).await.map_err(classify)?;
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
