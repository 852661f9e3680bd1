//! The sent-log in process memory, for `scripts/dev --memory`: a map under one lock, taken and
//! released within each call (never across an `.await`), so a claim is as atomic as MongoDB's
//! insert under its unique index. Records are never removed: the map grows by one entry per
//! email for the life of the process, which suits development, not production.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;
use shared::{domain::Timestamp, events::Envelope, repos::RepoError};

use super::{CLAIM_LEASE, Claim, Key, Record, SentLog};
use crate::message::EmailKind;

struct Entry {
    state: &'static str,
    attempts: u32,
    kind: Option<EmailKind>,
    last_error: Option<String>,
    claimed_at: Timestamp,
}

pub struct MemorySentLog {
    entries: Mutex<HashMap<Key, Entry>>,
    lease: time::Duration,
}

impl Default for MemorySentLog {
    fn default() -> Self {
        Self::with_lease(CLAIM_LEASE)
    }
}

impl MemorySentLog {
    /// An empty log with [`CLAIM_LEASE`].
    pub fn new() -> Self {
        Self::default()
    }

    /// With another lease (tests of the takeover use a short one).
    pub fn with_lease(lease: time::Duration) -> Self {
        Self { entries: Mutex::new(HashMap::new()), lease }
    }

    /// Changes the record of `key`, if there is one.
    fn update(&self, key: &Key, change: impl FnOnce(&mut Entry)) {
        if let Some(entry) = self.entries.lock().unwrap().get_mut(key) {
            change(entry);
        }
    }
}

#[async_trait]
impl SentLog for MemorySentLog {
    async fn claim(&self, key: &Key, _envelope: &Envelope, kind: Option<EmailKind>) -> Result<Claim, RepoError> {
        let now = Timestamp::now();
        let fresh = Entry { state: "sending", attempts: 0, kind, last_error: None, claimed_at: now };
        let mut entries = self.entries.lock().unwrap();
        let Some(existing) = entries.get(key) else {
            entries.insert(key.clone(), fresh);
            return Ok(Claim::Mine);
        };
        match existing.state {
            "sent" => Ok(Claim::Sent),
            "dead_lettered" => Ok(Claim::DeadLettered),
            "failed" => Ok(Claim::Failed {
                reason: existing.last_error.clone().unwrap_or_else(|| "unknown".into()),
                attempts: existing.attempts,
            }),
            _ if existing.claimed_at.unix_millis() >= now.plus(-self.lease).unix_millis() => Ok(Claim::Busy),
            _ => {
                // A dead worker's claim: taken over, counting attempts afresh (as MongoDB's
                // delete-and-insert does).
                entries.insert(key.clone(), fresh);
                Ok(Claim::Mine)
            }
        }
    }

    async fn attempt_failed(&self, key: &Key, attempts: u32, error: &str) -> Result<(), RepoError> {
        self.update(key, |entry| {
            entry.attempts = attempts;
            entry.last_error = Some(error.to_owned());
            entry.claimed_at = Timestamp::now();
        });
        Ok(())
    }

    async fn sent(&self, key: &Key, attempts: u32, _transport_id: &str) -> Result<(), RepoError> {
        self.update(key, |entry| {
            entry.state = "sent";
            entry.attempts = attempts;
        });
        Ok(())
    }

    async fn failed(&self, key: &Key, attempts: u32, reason: &str) -> Result<(), RepoError> {
        self.update(key, |entry| {
            entry.state = "failed";
            entry.attempts = attempts;
            entry.last_error = Some(reason.to_owned());
        });
        Ok(())
    }

    async fn dead_lettered(&self, key: &Key) -> Result<(), RepoError> {
        self.update(key, |entry| entry.state = "dead_lettered");
        Ok(())
    }

    async fn get(&self, key: &Key) -> Result<Option<Record>, RepoError> {
        Ok(self.entries.lock().unwrap().get(key).map(|entry| Record {
            state: entry.state.to_owned(),
            attempts: entry.attempts,
            kind: entry.kind.map(|k| k.as_str().to_owned()).unwrap_or_default(),
            last_error: entry.last_error.clone(),
        }))
    }
}
