//! Seats in `agentSeats`: the `_id` `<agent>:<n>` is what only one writer can insert.

use async_trait::async_trait;
use futures::TryStreamExt as _;
use mongodb::{
    Collection, Database,
    bson::{Document, doc},
};

use super::{Seat, SeatRepo};
use crate::{
    domain::{ChatroomId, TenantId, Timestamp, UserId},
    mongo::{classify, create_indexes, index, is_duplicate_key},
    repos::RepoError,
};

pub(in crate::repos) async fn ensure_indexes(db: &Database) -> Result<(), RepoError> {
    let indexes = vec![index(doc! { "tenantId": 1, "agentId": 1, "chatroomId": 1 }, "tenant_agent_chatroom")];
    create_indexes(db, "agentSeats", indexes).await
}

/// The agent's seats for the chatroom (one, but for a moment while two takes race).
fn theirs(tenant: &TenantId, agent: &UserId, chatroom: &ChatroomId) -> Document {
    doc! { "tenantId": tenant.to_string(), "agentId": agent.to_string(), "chatroomId": chatroom.to_string() }
}

pub(in crate::repos) struct MongoSeats {
    collection: Collection<Seat>,
}

impl MongoSeats {
    pub(in crate::repos) fn new(db: &Database) -> Self {
        Self { collection: db.collection("agentSeats") }
    }

    /// Two takes for one chatroom racing past the look for an existing seat each insert one: both
    /// then keep the lowest and delete the rest, so the agent has one seat for it.
    async fn keep_one(&self, theirs: Document) -> Result<(), RepoError> {
        let seats: Vec<Seat> =
            self.collection.find(theirs).await.map_err(classify)?.try_collect().await.map_err(classify)?;
        let Some(kept) = seats.iter().map(|s| s.id.clone()).min() else { return Ok(()) };
        let extra: Vec<String> = seats.into_iter().map(|s| s.id).filter(|id| *id != kept).collect();
        if !extra.is_empty() {
            self.collection.delete_many(doc! { "_id": { "$in": extra } }).await.map_err(classify)?;
        }
        Ok(())
    }
}

#[async_trait]
impl SeatRepo for MongoSeats {
    async fn take(
        &self,
        tenant: &TenantId,
        agent: &UserId,
        chatroom: &ChatroomId,
        capacity: u32,
        now: Timestamp,
    ) -> Result<bool, RepoError> {
        let theirs = theirs(tenant, agent, chatroom);
        if self.collection.find_one(theirs.clone()).await.map_err(classify)?.is_some() {
            return Ok(true);
        }
        for n in 0..capacity {
            match self.collection.insert_one(Seat::new(*tenant, *agent, n, *chatroom, now)).await {
                Ok(_) => {
                    self.keep_one(theirs).await?;
                    return Ok(true);
                }
                Err(err) if is_duplicate_key(&err) => continue,
                Err(err) => return Err(classify(err)),
            }
        }
        Ok(false)
    }

    async fn release(&self, tenant: &TenantId, agent: &UserId, chatroom: &ChatroomId) -> Result<(), RepoError> {
        self.collection.delete_many(theirs(tenant, agent, chatroom)).await.map_err(classify)?;
        Ok(())
    }

    async fn list(&self, tenant: &TenantId) -> Result<Vec<Seat>, RepoError> {
        let find = self.collection.find(doc! { "tenantId": tenant.to_string() }).sort(doc! { "_id": 1 });
        find.await.map_err(classify)?.try_collect().await.map_err(classify)
    }
}
