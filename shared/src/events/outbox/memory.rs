//! The outbox in process memory: for `scripts/dev --memory` (where events never leave the process
//! anyway) and for fast tests of the publisher. Held to the same contract as MongoDB. Each lock is
//! taken and released within one synchronous block, never across an `.await`.

use std::{collections::BTreeMap, sync::Mutex, time::Duration};

use async_trait::async_trait;
use bson::oid::ObjectId;

use super::store::{OutboxEntry, OutboxStore, next_entry_id};
use crate::{domain::Timestamp, events::OutgoingEvent, repos::RepoError};

#[derive(Default)]
pub struct MemoryOutbox {
    entries: Mutex<BTreeMap<ObjectId, (OutgoingEvent, Timestamp)>>,
    lease: Mutex<Option<Lease>>,
}

struct Lease {
    holder: String,
    until: Timestamp,
}

#[async_trait]
impl OutboxStore for MemoryOutbox {
    async fn push(&self, events: &[OutgoingEvent]) -> Result<(), RepoError> {
        let mut entries = self.entries.lock().unwrap();
        let now = Timestamp::now();
        for event in events {
            entries.insert(next_entry_id(), (event.clone(), now));
        }
        Ok(())
    }

    async fn oldest(&self, limit: usize) -> Result<Vec<OutboxEntry>, RepoError> {
        let entries = self.entries.lock().unwrap();
        // Creation order (UUID v7 event ids), as the MongoDB store.
        let mut ordered: Vec<_> = entries.iter().collect();
        ordered.sort_by_key(|(id, (event, _))| (event.envelope.id.to_string(), **id));
        Ok(ordered
            .into_iter()
            .take(limit)
            .map(|(id, (event, created_at))| OutboxEntry { id: *id, event: Ok(event.clone()), created_at: *created_at })
            .collect())
    }

    async fn remove(&self, ids: &[ObjectId]) -> Result<(), RepoError> {
        let mut entries = self.entries.lock().unwrap();
        for id in ids {
            entries.remove(id);
        }
        Ok(())
    }

    async fn count(&self) -> Result<u64, RepoError> {
        Ok(self.entries.lock().unwrap().len() as u64)
    }

    async fn acquire_lease(&self, holder: &str, ttl: Duration) -> Result<bool, RepoError> {
        let mut lease = self.lease.lock().unwrap();
        let now = Timestamp::now();
        match lease.as_ref() {
            Some(current) if current.holder != holder && current.until > now => Ok(false),
            _ => {
                *lease = Some(Lease { holder: holder.to_owned(), until: now.plus_std(ttl) });
                Ok(true)
            }
        }
    }

    async fn release_lease(&self, holder: &str) -> Result<(), RepoError> {
        let mut lease = self.lease.lock().unwrap();
        if lease.as_ref().is_some_and(|l| l.holder == holder) {
            *lease = None;
        }
        Ok(())
    }
}
