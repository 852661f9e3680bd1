//! The outbox in MongoDB: the `outbox` collection, and the relay lease in `locks`.
//!
//! An entry is `{_id: ObjectId, eventId, topic, key, envelope, createdAt}`: the `_id` orders the
//! entries, `topic` is the base name (the deployment's prefix is added when relayed), `envelope`
//! is the JSON text Kafka would have received, byte for byte, and `eventId` is there for a person
//! looking for one event. Nothing else is stored.
//!
//! Works on MongoDB and FerretDB 1.24, which has no transactions and whose `findAndModify` checks
//! its filter apart from the write. So the lease never relies on a conditional update: every
//! lease term is a document of its own, `{_id: "outbox-relay:<generation>", lock, generation,
//! holder, until}`, and a term is taken by inserting it; the unique `_id` lets exactly one
//! process create each generation. Only a term's holder ever updates it (to give it up).

use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::{
    Collection, Database, IndexModel,
    bson::{Document, doc, oid::ObjectId},
    options::IndexOptions,
};

use super::store::{OutboxEntry, OutboxStore, RELAY_LEASE, decode_event, encode_envelope, next_entry_id};
use crate::{
    domain::Timestamp,
    events::OutgoingEvent,
    mongo::{classify, is_duplicate_key},
    repos::RepoError,
};

const OUTBOX: &str = "outbox";
const LOCKS: &str = "locks";

/// Creates the indexes the outbox and its lease use. Idempotent, one index per command (FerretDB
/// 1.24). The outbox itself needs none beyond `_id`, which orders it.
pub async fn ensure_outbox_indexes(db: &Database) -> Result<(), RepoError> {
    let latest_term = IndexModel::builder()
        .keys(doc! { "lock": 1, "generation": -1 })
        .options(IndexOptions::builder().name("lock_generation".to_owned()).build())
        .build();
    db.collection::<Document>(LOCKS).create_index(latest_term).await.map_err(classify)?;
    let by_event = IndexModel::builder()
        .keys(doc! { "eventId": 1, "_id": 1 })
        .options(IndexOptions::builder().name("event_order".to_owned()).build())
        .build();
    db.collection::<Document>(OUTBOX).create_index(by_event).await.map_err(classify)?;
    Ok(())
}

/// The outbox on a MongoDB database (run [`ensure_outbox_indexes`] on it first).
pub struct MongoOutbox {
    outbox: Collection<Document>,
    locks: Collection<Document>,
}

impl MongoOutbox {
    pub fn new(db: &Database) -> Self {
        Self { outbox: db.collection(OUTBOX), locks: db.collection(LOCKS) }
    }

    /// The newest lease term: `(generation, holder, until)`.
    async fn latest_term(&self) -> Result<Option<(i64, String, Timestamp)>, RepoError> {
        let term = self
            .locks
            .find_one(doc! { "lock": RELAY_LEASE })
            .sort(doc! { "generation": -1 })
            .await
            .map_err(classify)?;
        Ok(term.and_then(|term| {
            let generation = term.get_i64("generation").ok()?;
            let holder = term.get_str("holder").ok()?.to_owned();
            let until = Timestamp::from_unix_millis(term.get_datetime("until").ok()?.timestamp_millis());
            Some((generation, holder, until))
        }))
    }
}

fn term_id(generation: i64) -> String {
    format!("{RELAY_LEASE}:{generation}")
}

fn decode(entry: &Document) -> Option<OutboxEntry> {
    let id = entry.get_object_id("_id").ok()?;
    let created_at = entry
        .get_datetime("createdAt")
        .map(|d| Timestamp::from_unix_millis(d.timestamp_millis()))
        .unwrap_or_else(|_| Timestamp::from_unix_millis(id.timestamp().timestamp_millis()));
    let event = match (entry.get_str("topic"), entry.get_str("key"), entry.get_str("envelope")) {
        (Ok(topic), Ok(key), Ok(envelope)) => decode_event(topic, key.to_owned(), envelope),
        _ => Err("the entry lacks its topic, key or envelope".to_owned()),
    };
    Some(OutboxEntry { id, event, created_at })
}

#[async_trait]
impl OutboxStore for MongoOutbox {
    async fn push(&self, events: &[OutgoingEvent]) -> Result<(), RepoError> {
        let now = Timestamp::now();
        let entries = events
            .iter()
            .map(|event| {
                Ok(doc! {
                    "_id": next_entry_id(),
                    "eventId": event.envelope.id.to_string(),
                    "topic": event.topic.base_name(),
                    "key": &event.key,
                    "envelope": encode_envelope(event)?,
                    "createdAt": now,
                })
            })
            .collect::<Result<Vec<Document>, RepoError>>()?;
        match entries.len() {
            0 => {}
            1 => drop(self.outbox.insert_one(&entries[0]).await.map_err(classify)?),
            _ => drop(self.outbox.insert_many(&entries).ordered(true).await.map_err(classify)?),
        }
        Ok(())
    }

    async fn oldest(&self, limit: usize) -> Result<Vec<OutboxEntry>, RepoError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // By event id (a UUID v7, so creation time) before arrival: an event that waited out a
        // broker timeout arrives after later ones, yet goes out in the order it happened.
        let order = doc! { "eventId": 1, "_id": 1 };
        let cursor = self.outbox.find(doc! {}).sort(order).limit(limit).await.map_err(classify)?;
        let entries: Vec<Document> = cursor.try_collect().await.map_err(classify)?;
        Ok(entries.iter().filter_map(decode).collect())
    }

    async fn remove(&self, ids: &[ObjectId]) -> Result<(), RepoError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.outbox.delete_many(doc! { "_id": { "$in": ids.to_vec() } }).await.map_err(classify)?;
        Ok(())
    }

    async fn count(&self) -> Result<u64, RepoError> {
        self.outbox.count_documents(doc! {}).await.map_err(classify)
    }

    async fn is_empty(&self) -> Result<bool, RepoError> {
        Ok(self.outbox.find_one(doc! {}).projection(doc! { "_id": 1 }).await.map_err(classify)?.is_none())
    }

    async fn acquire_lease(&self, holder: &str, ttl: Duration) -> Result<bool, RepoError> {
        let now = Timestamp::now();
        let generation = match self.latest_term().await? {
            // Held, with more than half its time left: nothing to write.
            Some((_, current, until)) if current == holder && until > now.plus_std(ttl / 2) => return Ok(true),
            // Ours to renew, or expired and anyone's to take: the next term.
            Some((generation, current, until)) if current == holder || until <= now => generation + 1,
            Some(_) => return Ok(false),
            None => 1,
        };
        let term = doc! {
            "_id": term_id(generation),
            "lock": RELAY_LEASE,
            "generation": generation,
            "holder": holder,
            "until": now.plus_std(ttl),
        };
        match self.locks.insert_one(term).await {
            Ok(_) => {}
            // Another process created this term first: it holds the lease.
            Err(e) if is_duplicate_key(&e) => return Ok(false),
            Err(e) => return Err(classify(e)),
        }
        // A process that read an old term may have re-created a generation that was already
        // cleaned up; a newer term than ours means ours is stale.
        if self.latest_term().await?.is_some_and(|(latest, _, _)| latest != generation) {
            return Ok(false);
        }
        self.locks
            .delete_many(doc! { "lock": RELAY_LEASE, "generation": { "$lt": generation } })
            .await
            .map_err(classify)?;
        Ok(true)
    }

    async fn release_lease(&self, holder: &str) -> Result<(), RepoError> {
        if let Some((generation, current, _)) = self.latest_term().await?
            && current == holder
        {
            self.locks
                .update_one(
                    doc! { "_id": term_id(generation), "holder": holder },
                    doc! { "$set": { "until": Timestamp::now() } },
                )
                .await
                .map_err(classify)?;
        }
        Ok(())
    }
}
