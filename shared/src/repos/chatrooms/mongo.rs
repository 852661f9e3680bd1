//! Chatrooms in `chatrooms`, each with a `revision` that only this repository reads, and the
//! write claims in `chatroomWrites`.
//!
//! Chatrooms are the one aggregate many writers change at once (a visitor and an agent sending,
//! read marks, agents racing to join), and FerretDB 1.24 does not make a `findAndModify` or an
//! update atomic: it reads the document, applies the operators, and writes the whole document
//! back by `_id`, so two concurrent `$inc`s can hand out one number twice and two conditional
//! claims can both win. What it does make atomic is an insert under a unique key. So a chatroom
//! changes by compare-and-set, arbitrated by an insert (see [`MongoChatrooms`]); that is also
//! correct, if one round trip slower, on MongoDB.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::{
    Collection, Database,
    bson::{self, Document, RawBsonRef, RawDocumentBuf, doc},
};

use super::{ChatroomRepo, chatroom_exists};
use crate::{
    domain::{
        ChatbotId, Chatroom, ChatroomId, ChatroomStatus, EmailAddress, Offer, SenderKind, TenantId, Timestamp,
        Transition, UserId,
    },
    mongo::{classify, create_indexes, index, is_duplicate_key},
    repos::{
        RepoError, chatrooms,
        mongo_util::{self, owned},
    },
};

/// The chatrooms' indexes. (Analytics adds its own: `functions/analytics/src/source.rs`.)
pub(in crate::repos) async fn ensure_indexes(db: &Database) -> Result<(), RepoError> {
    let indexes = vec![
        // The waiting queue and the open chatrooms, oldest first.
        index(doc! { "tenantId": 1, "status": 1, "createdAt": 1 }, "tenant_status_created"),
        // The chatrooms an agent holds.
        index(doc! { "tenantId": 1, "agentId": 1, "status": 1 }, "tenant_agent_status"),
        // The standby sweep, across tenants.
        index(doc! { "status": 1, "standbyUntil": 1 }, "status_standby_until"),
        // The unclaimed-chatroom sweep, across tenants.
        index(doc! { "status": 1, "updatedAt": 1 }, "status_updated"),
        // A returning visitor's last agent.
        index(doc! { "tenantId": 1, "chatbotId": 1, "email": 1, "createdAt": -1 }, "tenant_chatbot_email_created"),
        // The recent waits behind the visitors' estimate.
        index(doc! { "tenantId": 1, "assignedAt": -1 }, "tenant_assigned"),
    ];
    create_indexes(db, "chatrooms", indexes).await
}

fn internal(err: impl Into<anyhow::Error>) -> RepoError {
    RepoError::Internal(err.into())
}

/// How long a claimed chatroom write may take before other writers decide its writer died and
/// take the revision over. A write holds its claim for two round trips, so this is generous; a
/// takeover of a writer that was only slow is still safe (its compare-and-set then fails).
const CLAIM_STALE_AFTER: time::Duration = time::Duration::seconds(5);

/// How long a chatroom write keeps trying while other writers hold the chatroom (longer than
/// [`CLAIM_STALE_AFTER`], so a dead writer's claim is taken over first) before it answers
/// "unavailable".
const WRITE_PATIENCE: Duration = Duration::from_secs(15);

/// Chatrooms, in `chatrooms`, each with a `revision` counter that only this repository reads.
///
/// Every change is a compare-and-set: read the chatroom at revision `r`, compute the change (the
/// pure functions of [`super`]), claim revision `r + 1` by inserting
/// `{_id: "<chatroomId>:<r+1>:0"}` into `chatroomWrites` (the `_id` is unique, so one writer
/// wins), replace the chatroom only where it is still at revision `r`, then delete the claim.
/// A writer that loses the claim waits a moment and starts again from a fresh read, so it
/// decides on the state the winner wrote (an agent racing another to join sees the chatroom
/// taken). A claim older than [`CLAIM_STALE_AFTER`] belongs to a writer that died between claim
/// and write; the next writer claims `...:1` (then `...:2`) over it, so one dead writer cannot
/// freeze a chatroom.
pub(in crate::repos) struct MongoChatrooms {
    collection: Collection<Chatroom>,
    stored: Collection<RawDocumentBuf>,
    writes: Collection<Document>,
}

impl MongoChatrooms {
    pub(in crate::repos) fn new(db: &Database) -> Self {
        Self {
            collection: db.collection("chatrooms"),
            stored: db.collection("chatrooms"),
            writes: db.collection("chatroomWrites"),
        }
    }

    /// The chatrooms matching `filter` in any of `statuses`, oldest first, at most `limit`: one
    /// query per status, each naming its status outright. FerretDB 1.x filters `$in` itself after
    /// reading every chatroom of the tenant (a second for a tenant with 20,000 behind it), while an
    /// equality goes to PostgreSQL's index (`scripts/services/ferretdb/indexes.sql`; 7 ms).
    async fn list_in(
        &self,
        filter: Document,
        statuses: &[ChatroomStatus],
        limit: Option<u32>,
    ) -> Result<Vec<Chatroom>, RepoError> {
        let mut rooms = Vec::new();
        for status in statuses {
            let filter = with_status(filter.clone(), *status);
            rooms.extend(self.list(filter, doc! { "createdAt": 1, "_id": 1 }, limit.map(mongo_util::limit)).await?);
        }
        rooms.sort_by_key(|room| (room.created_at, room.id));
        if let Some(limit) = limit {
            rooms.truncate(limit as usize);
        }
        Ok(rooms)
    }

    async fn list(&self, filter: Document, sort: Document, limit: Option<i64>) -> Result<Vec<Chatroom>, RepoError> {
        let mut find = self.collection.find(filter).sort(sort);
        if let Some(limit) = limit {
            find = find.limit(limit);
        }
        find.await.map_err(classify)?.try_collect().await.map_err(classify)
    }

    /// Replaces the tenant's chatroom with what `change` makes of it, atomically (see above).
    /// `None` when the chatroom is not the tenant's or `change` declines.
    async fn change(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        change: impl Fn(&Chatroom) -> Option<Chatroom> + Send + Sync,
    ) -> Result<Option<Chatroom>, RepoError> {
        let started = Instant::now();
        let mut attempt = 0_u32;
        loop {
            if started.elapsed() > WRITE_PATIENCE {
                let waited = WRITE_PATIENCE.as_secs();
                return Err(RepoError::Unavailable(anyhow::anyhow!("chatroom {id} stayed busy for {waited}s")));
            }
            let Some(stored) = self.stored.find_one(owned(tenant, id)).await.map_err(classify)? else {
                return Ok(None);
            };
            let (room, revision) = read_stored(&stored)?;
            let Some(next) = change(&room) else { return Ok(None) };

            let Some(claims) = self.claim(id, revision + 1).await? else {
                back_off(attempt).await;
                attempt = attempt.saturating_add(1);
                continue;
            };
            let mut filter = owned(tenant, id);
            filter.insert("revision", revision);
            let written = match write_stored(&next, revision + 1) {
                Ok(replacement) => self.stored.replace_one(filter, replacement).await.map_err(classify),
                Err(err) => Err(err),
            };
            self.release(claims).await;
            if written?.matched_count == 1 {
                return Ok(Some(next));
            }
            // A writer that took a stale claim over moved the chatroom on: decide again.
        }
    }

    /// Claims the move of chatroom `id` to `revision`. Answers the ids of the claims up to the
    /// one now held (those before it are stale claims taken over), or `None` while a live writer
    /// holds the revision.
    async fn claim(&self, id: &ChatroomId, revision: i64) -> Result<Option<Vec<String>>, RepoError> {
        let mut ids = Vec::new();
        for takeover in 0..8 {
            let claim = format!("{id}:{revision}:{takeover}");
            ids.push(claim.clone());
            let inserted = self.writes.insert_one(doc! { "_id": &claim, "at": Timestamp::now() }).await;
            match inserted {
                Ok(_) => return Ok(Some(ids)),
                Err(e) if is_duplicate_key(&e) => {
                    let held = self.writes.find_one(doc! { "_id": &claim }).await.map_err(classify)?;
                    let stale_before = Timestamp::now().plus(-CLAIM_STALE_AFTER).to_bson();
                    match held.and_then(|h| h.get_datetime("at").ok().copied()) {
                        Some(at) if at < stale_before => continue,
                        _ => return Ok(None),
                    }
                }
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(None)
    }

    /// Deletes a write's claims. Best effort: a claim left behind names a revision the chatroom
    /// has moved past (nobody waits on it) or is taken over once stale.
    async fn release(&self, claims: Vec<String>) {
        if let Err(err) = self.writes.delete_many(doc! { "_id": { "$in": claims } }).await {
            tracing::warn!(error = %err, "could not delete a chatroom write claim");
        }
    }
}

/// A short, growing, jittered pause before a writer that lost a claim reads again.
async fn back_off(attempt: u32) {
    let ceiling = 1_u64 << attempt.min(5);
    tokio::time::sleep(Duration::from_millis(rand::random_range(1..=ceiling))).await;
}

/// The chatroom document: the chatroom and its revision.
fn write_stored(room: &Chatroom, revision: i64) -> Result<RawDocumentBuf, RepoError> {
    let mut stored = bson::to_raw_document_buf(room).map_err(internal)?;
    stored.append("revision", revision);
    Ok(stored)
}

fn read_stored(stored: &RawDocumentBuf) -> Result<(Chatroom, i64), RepoError> {
    let room = bson::from_slice(stored.as_bytes()).map_err(internal)?;
    let revision = match stored.get("revision").map_err(internal)? {
        Some(RawBsonRef::Int64(n)) => n,
        Some(RawBsonRef::Int32(n)) => i64::from(n),
        _ => 0,
    };
    Ok((room, revision))
}

/// `filter` narrowed to chatrooms in `status`, named outright (see [`MongoChatrooms::list_in`]).
fn with_status(mut filter: Document, status: ChatroomStatus) -> Document {
    filter.insert("status", status.as_str());
    filter
}

/// The statuses of a chatroom an agent holds.
const HELD: [ChatroomStatus; 2] = [ChatroomStatus::Active, ChatroomStatus::Standby];

/// `{tenantId, agentId}`: the agent's chatrooms, to be narrowed to [`HELD`].
fn held_by(tenant: &TenantId, agent: &UserId) -> Document {
    doc! { "tenantId": tenant.to_string(), "agentId": agent.to_string() }
}

#[async_trait]
impl ChatroomRepo for MongoChatrooms {
    async fn insert(&self, room: &Chatroom) -> Result<(), RepoError> {
        self.stored
            .insert_one(write_stored(room, 0)?)
            .await
            .map_err(|e| if is_duplicate_key(&e) { chatroom_exists() } else { classify(e) })?;
        Ok(())
    }

    async fn get(&self, tenant: &TenantId, id: &ChatroomId) -> Result<Option<Chatroom>, RepoError> {
        self.collection.find_one(owned(tenant, id)).await.map_err(classify)
    }

    async fn list_with_status(
        &self,
        tenant: &TenantId,
        statuses: &[ChatroomStatus],
        limit: u32,
    ) -> Result<Vec<Chatroom>, RepoError> {
        if limit == 0 || statuses.is_empty() {
            return Ok(Vec::new());
        }
        self.list_in(doc! { "tenantId": tenant.to_string() }, statuses, Some(limit)).await
    }

    async fn list_for_agent(&self, tenant: &TenantId, agent: &UserId) -> Result<Vec<Chatroom>, RepoError> {
        self.list_in(held_by(tenant, agent), &HELD, None).await
    }

    async fn count_for_agent(&self, tenant: &TenantId, agent: &UserId) -> Result<u64, RepoError> {
        let mut held = 0;
        for status in HELD {
            let filter = with_status(held_by(tenant, agent), status);
            held += self.collection.count_documents(filter).await.map_err(classify)?;
        }
        Ok(held)
    }

    async fn raise_last_seq(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        seq: u64,
        at: Timestamp,
    ) -> Result<(), RepoError> {
        self.change(tenant, id, |room| chatrooms::raise_last_seq(room, seq, at)).await.map(drop)
    }

    async fn transition(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        from: &[ChatroomStatus],
        held_by: Option<&UserId>,
        change: &Transition,
    ) -> Result<Option<Chatroom>, RepoError> {
        let now = Timestamp::now();
        self.change(tenant, id, |room| chatrooms::transition(room, from, held_by, change, now)).await
    }

    async fn change_offer(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        expected: Option<&Offer>,
        next: Option<&Offer>,
        passed: Option<&UserId>,
    ) -> Result<Option<Chatroom>, RepoError> {
        self.change(tenant, id, |room| chatrooms::offer_changed(room, expected, next, passed)).await
    }

    async fn last_agent_for(
        &self,
        tenant: &TenantId,
        chatbot: &ChatbotId,
        email: &EmailAddress,
    ) -> Result<Option<UserId>, RepoError> {
        let filter = doc! {
            "tenantId": tenant.to_string(),
            "chatbotId": chatbot.to_string(),
            "email": email.as_str(),
            "agentId": { "$ne": null },
        };
        let latest = self.list(filter, doc! { "createdAt": -1, "_id": -1 }, Some(1)).await?;
        Ok(latest.first().and_then(|room| room.agent_id))
    }

    async fn list_assigned_since(
        &self,
        tenant: &TenantId,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<Chatroom>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let filter = doc! { "tenantId": tenant.to_string(), "assignedAt": { "$gte": since } };
        self.list(filter, doc! { "assignedAt": -1, "_id": -1 }, Some(mongo_util::limit(limit))).await
    }

    async fn set_first_agent_reply(&self, tenant: &TenantId, id: &ChatroomId, at: Timestamp) -> Result<(), RepoError> {
        self.change(tenant, id, |room| chatrooms::first_agent_reply(room, at)).await?;
        Ok(())
    }

    async fn set_read(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        reader: SenderKind,
        up_to: u64,
    ) -> Result<(), RepoError> {
        self.change(tenant, id, |room| chatrooms::read_up_to(room, reader, up_to)).await?;
        Ok(())
    }

    async fn list_overdue_standby(&self, now: Timestamp, limit: u32) -> Result<Vec<Chatroom>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let filter = doc! { "status": ChatroomStatus::Standby.as_str(), "standbyUntil": { "$lte": now } };
        self.list(filter, doc! { "standbyUntil": 1, "_id": 1 }, Some(mongo_util::limit(limit))).await
    }

    async fn request_transcript(&self, tenant: &TenantId, id: &ChatroomId) -> Result<Option<Chatroom>, RepoError> {
        self.change(tenant, id, chatrooms::transcript).await
    }

    async fn list_unclaimed(&self, waiting_since: Timestamp, limit: u32) -> Result<Vec<Chatroom>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let filter = doc! {
            "status": ChatroomStatus::Waiting.as_str(),
            "updatedAt": { "$lte": waiting_since },
            "unclaimedAlertAt": null,
        };
        self.list(filter, doc! { "updatedAt": 1, "_id": 1 }, Some(mongo_util::limit(limit))).await
    }

    async fn mark_unclaimed_alerted(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        now: Timestamp,
    ) -> Result<Option<Chatroom>, RepoError> {
        self.change(tenant, id, |room| chatrooms::unclaimed_alerted(room, now)).await
    }
}
