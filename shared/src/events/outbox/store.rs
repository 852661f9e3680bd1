//! Where events wait while the broker is down: the [`OutboxStore`] contract, shared by the
//! MongoDB and in-memory implementations, and the relay lease that lets one relay run at a time.

use std::{sync::Mutex, time::Duration};

use async_trait::async_trait;
use bson::oid::ObjectId;

use crate::{
    domain::Timestamp,
    events::{Envelope, OutgoingEvent, Topic},
    repos::RepoError,
};

/// The name of the relay lease (the MongoDB implementation keeps it in the `locks` collection).
pub const RELAY_LEASE: &str = "outbox-relay";

/// An event waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    /// Orders the entries: oldest first.
    pub id: ObjectId,
    /// The event, or why it could not be read back (an entry written by a newer Parley naming a
    /// topic this one does not know, or edited by hand). The relay logs and removes such entries.
    pub event: Result<OutgoingEvent, String>,
    pub created_at: Timestamp,
}

/// The outbox: events that Kafka could not take, oldest first, until a relay publishes them.
///
/// Implementations keep no more than the event itself (topic, key, envelope) plus its id and
/// time of arrival. One contract suite (`shared/tests/shared/outbox/store.rs`) runs on both.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Appends `events`, in order, behind every entry this process pushed before. Entries of one
    /// process are ordered by their ids; two processes pushing at once interleave. A caller that
    /// needs an order among its own pushes makes them one at a time ([`super::OutboxPublisher`]
    /// holds a lock around each push). On an error, a prefix of `events` may have been stored:
    /// those are relayed like any other entry.
    async fn push(&self, events: &[OutgoingEvent]) -> Result<(), RepoError>;

    /// Up to `limit` entries, oldest first.
    async fn oldest(&self, limit: usize) -> Result<Vec<OutboxEntry>, RepoError>;

    /// Removes these entries (ids no longer present are ignored).
    async fn remove(&self, ids: &[ObjectId]) -> Result<(), RepoError>;

    /// How many entries wait.
    async fn count(&self) -> Result<u64, RepoError>;

    async fn is_empty(&self) -> Result<bool, RepoError> {
        Ok(self.count().await? == 0)
    }

    /// Takes or keeps the relay lease for `holder`, for `ttl` from now. `false` when another
    /// holder's lease has not expired. A holder that calls again before its lease runs out keeps
    /// it (renewed when less than half of `ttl` is left), so a relay calls this before every batch
    /// and stops relaying when it answers `false`. Expiry is judged by each process's clock: the
    /// lease is safe while clocks differ by less than `ttl / 2`.
    async fn acquire_lease(&self, holder: &str, ttl: Duration) -> Result<bool, RepoError>;

    /// Gives the lease up if `holder` holds it, so another relay can start at once.
    async fn release_lease(&self, holder: &str) -> Result<(), RepoError>;
}

/// A fresh entry id, greater than every id this process made before.
///
/// An `ObjectId` is (seconds, per-process random, counter): ids of one process sort in creation
/// order except when the counter wraps within one second. Taking the successor of the last id
/// in that case keeps the order strict.
pub(super) fn next_entry_id() -> ObjectId {
    static LAST: Mutex<[u8; 12]> = Mutex::new([0; 12]);
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let fresh = ObjectId::new().bytes();
    let next = if fresh > *last { fresh } else { successor(*last) };
    *last = next;
    ObjectId::from_bytes(next)
}

fn successor(bytes: [u8; 12]) -> [u8; 12] {
    let mut wide = [0u8; 16];
    wide[4..].copy_from_slice(&bytes);
    let next = u128::from_be_bytes(wide).wrapping_add(1).to_be_bytes();
    let mut out = [0u8; 12];
    out.copy_from_slice(&next[4..]);
    out
}

/// The topic an entry names (its base name: the prefix belongs to the deployment, not the entry).
pub(super) fn topic_from_base_name(name: &str) -> Result<Topic, String> {
    Topic::ALL.into_iter().find(|t| t.base_name() == name).ok_or_else(|| format!("unknown topic {name:?}"))
}

/// Reads back an entry's stored parts.
pub(super) fn decode_event(topic: &str, key: String, envelope: &str) -> Result<OutgoingEvent, String> {
    let topic = topic_from_base_name(topic)?;
    let envelope: Envelope =
        serde_json::from_str(envelope).map_err(|e| format!("the stored envelope is not an envelope: {e}"))?;
    Ok(OutgoingEvent { topic, key, envelope })
}

/// The serialised envelope, exactly what Kafka would have received.
pub(super) fn encode_envelope(event: &OutgoingEvent) -> Result<String, RepoError> {
    serde_json::to_string(&event.envelope).map_err(|e| RepoError::Internal(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_only_grow() {
        let ids: Vec<ObjectId> = (0..10_000).map(|_| next_entry_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn the_successor_carries() {
        let mut bytes = [0u8; 12];
        bytes[11] = 0xff;
        bytes[10] = 0xff;
        let next = successor(bytes);
        assert_eq!(&next[9..], &[1, 0, 0]);
        assert!(next > bytes);
    }
}
