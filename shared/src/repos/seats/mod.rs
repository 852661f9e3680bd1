//! Seats: an agent's places for chatrooms, one per chatroom offered to them or held by them, at
//! most their `assigning.maxConcurrent`. They are what makes the limit hold when nodes race.
//!
//! Counting an agent's chatrooms and then claiming one cannot hold a limit: two nodes count two,
//! both claim, and the agent holds four of three. A seat is a row with the id
//! `<agent>:<n>` for `n` below the limit, so taking one is an insert that only one writer can win
//! (the same arbitration the chatrooms' writes use, and one FerretDB makes atomic). A chatroom is
//! offered or joined only after a seat is taken for it, and its seat is released when the agent
//! stops holding it. A seat left behind by a writer that died in between names a chatroom the
//! agent does not hold; the socket-node frees such seats when it finds the agent full
//! (`socket-node/src/routing.rs`).

mod memory;
mod mongo;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::RepoError;
use crate::domain::{ChatroomId, TenantId, Timestamp, UserId};

pub(super) use memory::MemorySeats;
pub(super) use mongo::{MongoSeats, ensure_indexes};

/// One of an agent's seats, taken for a chatroom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seat {
    /// `<agent>:<n>`.
    #[serde(rename = "_id")]
    pub id: String,
    pub tenant_id: TenantId,
    pub agent_id: UserId,
    pub chatroom_id: ChatroomId,
    pub taken_at: Timestamp,
}

impl Seat {
    fn new(tenant: TenantId, agent: UserId, n: u32, chatroom: ChatroomId, now: Timestamp) -> Self {
        Self { id: format!("{agent}:{n}"), tenant_id: tenant, agent_id: agent, chatroom_id: chatroom, taken_at: now }
    }
}

#[async_trait]
pub trait SeatRepo: Send + Sync {
    /// Takes one of the agent's `capacity` seats for the chatroom: true when taken (or when the
    /// agent has one for it already), false when every seat is taken.
    async fn take(
        &self,
        tenant: &TenantId,
        agent: &UserId,
        chatroom: &ChatroomId,
        capacity: u32,
        now: Timestamp,
    ) -> Result<bool, RepoError>;

    /// Frees the agent's seat for the chatroom, if they have one.
    async fn release(&self, tenant: &TenantId, agent: &UserId, chatroom: &ChatroomId) -> Result<(), RepoError>;

    /// The tenant's seats, for every agent.
    async fn list(&self, tenant: &TenantId) -> Result<Vec<Seat>, RepoError>;
}
