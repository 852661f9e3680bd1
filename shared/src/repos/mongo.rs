//! MongoDB repositories. Documents are the domain types themselves (camelCase fields, `_id`);
//! every tenant-owned filter starts with `tenantId`.
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
    bson::{self, Bson, Document, RawBsonRef, RawDocumentBuf, doc},
    options::ReturnDocument,
};
use serde::{Serialize, de::DeserializeOwned};

use super::{
    BlockRepo, ChatbotRepo, ChatroomRepo, Inserted, MessageRepo, RepoError, RolePatch, RoleRepo, Rotation, SessionRepo,
    TenantRepo, UserRepo,
    blocks::block_exists,
    chatbots::{chatbot_changed, chatbot_not_found},
    chatrooms::{self, chatroom_exists},
    messages::{message_exists, message_seq_taken},
    roles::{role_name_taken, role_not_found},
    tenants::tenant_not_found,
    users::{email_taken, user_not_found},
};
use crate::{
    domain::{
        Block, Chatbot, ChatbotId, ChatbotPatch, Chatroom, ChatroomId, ChatroomStatus, ClientMsgId, EmailAddress,
        Message, Name, PasswordChangeToken, Role, RoleId, SeenIp, SenderKind, SentMessage, Session, SessionId, Tenant,
        TenantId, TenantPatch, Timestamp, Transition, User, UserId, UserPatch,
    },
    mongo::{classify, is_duplicate_key},
};

/// A value exactly as the driver stores it in a document. (`bson::to_bson` serialises "human
/// readable", which would write timestamps as strings rather than dates; the driver's raw
/// serialiser, used here through a one-field wrapper, does not.)
fn to_bson(value: &impl Serialize) -> Result<Bson, RepoError> {
    #[derive(Serialize)]
    struct Wrapped<'a, T: Serialize> {
        value: &'a T,
    }
    let raw = bson::to_raw_document_buf(&Wrapped { value }).map_err(|e| RepoError::Internal(e.into()))?;
    let mut document = Document::try_from(raw).map_err(|e| RepoError::Internal(e.into()))?;
    document.remove("value").ok_or_else(|| RepoError::Internal(anyhow::anyhow!("the wrapped value vanished")))
}

/// `{_id, tenantId}`: the filter of every tenant-owned single-row operation.
fn owned(tenant: &TenantId, id: impl ToString) -> Document {
    doc! { "tenantId": tenant.to_string(), "_id": id.to_string() }
}

/// The tenant's rows of a collection, oldest first.
async fn list_for_tenant<T>(collection: &Collection<T>, tenant: &TenantId) -> Result<Vec<T>, RepoError>
where
    T: DeserializeOwned + Send + Sync,
{
    let cursor = collection
        .find(doc! { "tenantId": tenant.to_string() })
        .sort(doc! { "createdAt": 1, "_id": 1 })
        .await
        .map_err(classify)?;
    cursor.try_collect().await.map_err(classify)
}

/// Deletes one of the tenant's rows, answering `not_found` when there is none.
async fn delete_owned<T: Send + Sync>(
    collection: &Collection<T>,
    tenant: &TenantId,
    id: impl ToString,
    not_found: fn() -> RepoError,
) -> Result<(), RepoError> {
    let result = collection.delete_one(owned(tenant, id)).await.map_err(classify)?;
    if result.deleted_count == 0 {
        return Err(not_found());
    }
    Ok(())
}

pub(super) struct MongoTenants {
    collection: Collection<Tenant>,
}

impl MongoTenants {
    pub(super) fn new(db: &Database) -> Self {
        Self { collection: db.collection("tenants") }
    }
}

#[async_trait]
impl TenantRepo for MongoTenants {
    async fn insert(&self, tenant: &Tenant) -> Result<(), RepoError> {
        self.collection.insert_one(tenant).await.map_err(|e| {
            if is_duplicate_key(&e) {
                RepoError::conflict("tenant_exists", "a tenant with this id already exists")
            } else {
                classify(e)
            }
        })?;
        Ok(())
    }

    async fn get(&self, id: &TenantId) -> Result<Option<Tenant>, RepoError> {
        self.collection.find_one(doc! { "_id": id.to_string() }).await.map_err(classify)
    }

    async fn list_ids(&self, after: Option<&TenantId>, limit: u32) -> Result<Vec<TenantId>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let filter = after.map_or_else(Document::new, |after| doc! { "_id": { "$gt": after.to_string() } });
        let find = self.collection.find(filter).sort(doc! { "_id": 1 }).limit(self::limit(limit));
        let tenants: Vec<Tenant> = find.await.map_err(classify)?.try_collect().await.map_err(classify)?;
        Ok(tenants.into_iter().map(|tenant| tenant.id).collect())
    }

    async fn update(&self, id: &TenantId, patch: &TenantPatch) -> Result<Tenant, RepoError> {
        let mut set = doc! { "updatedAt": Timestamp::now() };
        if let Some(name) = &patch.name {
            set.insert("name", name.as_str());
        }
        if let Some(sender) = &patch.email_sender_name {
            set.insert("emailSenderName", sender.as_ref().map(Name::as_str));
        }
        self.collection
            .find_one_and_update(doc! { "_id": id.to_string() }, doc! { "$set": set })
            .return_document(ReturnDocument::After)
            .await
            .map_err(classify)?
            .ok_or_else(tenant_not_found)
    }

    async fn delete(&self, id: &TenantId) -> Result<(), RepoError> {
        let result = self.collection.delete_one(doc! { "_id": id.to_string() }).await.map_err(classify)?;
        if result.deleted_count == 0 {
            return Err(tenant_not_found());
        }
        Ok(())
    }
}

pub(super) struct MongoUsers {
    collection: Collection<User>,
}

impl MongoUsers {
    pub(super) fn new(db: &Database) -> Self {
        Self { collection: db.collection("users") }
    }
}

fn user_set(patch: &UserPatch) -> Result<Document, RepoError> {
    let mut set = doc! { "updatedAt": Timestamp::now() };
    if let Some(name) = &patch.name {
        set.insert("name", name.as_str());
    }
    if let Some(role_ids) = &patch.role_ids {
        set.insert("roleIds", to_bson(role_ids)?);
    }
    if let Some(grants) = &patch.grants {
        set.insert("grants", to_bson(grants)?);
    }
    if let Some(denies) = &patch.denies {
        set.insert("denies", to_bson(denies)?);
    }
    if let Some(assigning) = &patch.assigning {
        set.insert("assigning", to_bson(assigning)?);
    }
    if let Some(status) = &patch.status {
        set.insert("status", status.as_str());
    }
    if let Some(allow_list) = &patch.ip_allow_list {
        set.insert("ipAddresses.allowList", to_bson(allow_list)?);
    }
    Ok(set)
}

#[async_trait]
impl UserRepo for MongoUsers {
    async fn insert(&self, user: &User) -> Result<(), RepoError> {
        self.collection
            .insert_one(user)
            .await
            .map_err(|e| if is_duplicate_key(&e) { email_taken() } else { classify(e) })?;
        Ok(())
    }

    async fn get(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, RepoError> {
        self.collection.find_one(owned(tenant, id)).await.map_err(classify)
    }

    async fn find_by_email(&self, email: &EmailAddress) -> Result<Option<User>, RepoError> {
        self.collection.find_one(doc! { "email": email.as_str() }).await.map_err(classify)
    }

    async fn list(&self, tenant: &TenantId) -> Result<Vec<User>, RepoError> {
        list_for_tenant(&self.collection, tenant).await
    }

    async fn update(&self, tenant: &TenantId, id: &UserId, patch: &UserPatch) -> Result<User, RepoError> {
        self.collection
            .find_one_and_update(owned(tenant, id), doc! { "$set": user_set(patch)? })
            .return_document(ReturnDocument::After)
            .await
            .map_err(classify)?
            .ok_or_else(user_not_found)
    }

    async fn delete(&self, tenant: &TenantId, id: &UserId) -> Result<(), RepoError> {
        delete_owned(&self.collection, tenant, id, user_not_found).await
    }

    async fn set_password_change_token(
        &self,
        tenant: &TenantId,
        id: &UserId,
        token: &PasswordChangeToken,
    ) -> Result<(), RepoError> {
        let set = doc! { "passwordChangeToken": to_bson(token)?, "updatedAt": Timestamp::now() };
        let result = self.collection.update_one(owned(tenant, id), doc! { "$set": set }).await.map_err(classify)?;
        if result.matched_count == 0 {
            return Err(user_not_found());
        }
        Ok(())
    }

    async fn set_password_with_token(
        &self,
        tenant: &TenantId,
        id: &UserId,
        token_hash: &str,
        password_hash: &str,
    ) -> Result<bool, RepoError> {
        let mut filter = owned(tenant, id);
        filter.insert("passwordChangeToken.hash", token_hash);
        let update = doc! {
            "$set": { "passwordHash": password_hash, "updatedAt": Timestamp::now() },
            "$unset": { "passwordChangeToken": "" },
        };
        let result = self.collection.update_one(filter, update).await.map_err(classify)?;
        Ok(result.modified_count == 1)
    }

    async fn record_login(&self, tenant: &TenantId, id: &UserId, seen: &[SeenIp]) -> Result<(), RepoError> {
        let set = doc! { "ipAddresses.seen": to_bson(&seen)? };
        self.collection.update_one(owned(tenant, id), doc! { "$set": set }).await.map_err(classify)?;
        Ok(())
    }

    async fn count_with_role(&self, tenant: &TenantId, role: &RoleId) -> Result<u64, RepoError> {
        self.collection
            .count_documents(doc! { "tenantId": tenant.to_string(), "roleIds": role.to_string() })
            .await
            .map_err(classify)
    }
}

pub(super) struct MongoRoles {
    collection: Collection<Role>,
}

impl MongoRoles {
    pub(super) fn new(db: &Database) -> Self {
        Self { collection: db.collection("roles") }
    }
}

#[async_trait]
impl RoleRepo for MongoRoles {
    async fn insert(&self, role: &Role) -> Result<(), RepoError> {
        self.collection
            .insert_one(role)
            .await
            .map_err(|e| if is_duplicate_key(&e) { role_name_taken() } else { classify(e) })?;
        Ok(())
    }

    async fn get(&self, tenant: &TenantId, id: &RoleId) -> Result<Option<Role>, RepoError> {
        self.collection.find_one(owned(tenant, id)).await.map_err(classify)
    }

    async fn find_by_name(&self, tenant: &TenantId, name: &Name) -> Result<Option<Role>, RepoError> {
        self.collection.find_one(doc! { "tenantId": tenant.to_string(), "name": name.as_str() }).await.map_err(classify)
    }

    async fn list(&self, tenant: &TenantId) -> Result<Vec<Role>, RepoError> {
        list_for_tenant(&self.collection, tenant).await
    }

    async fn update(&self, tenant: &TenantId, id: &RoleId, patch: &RolePatch) -> Result<Role, RepoError> {
        let mut set = doc! { "updatedAt": Timestamp::now() };
        if let Some(name) = &patch.name {
            set.insert("name", name.as_str());
        }
        if let Some(permissions) = &patch.permissions {
            set.insert("permissions", to_bson(permissions)?);
        }
        self.collection
            .find_one_and_update(owned(tenant, id), doc! { "$set": set })
            .return_document(ReturnDocument::After)
            .await
            .map_err(|e| if is_duplicate_key(&e) { role_name_taken() } else { classify(e) })?
            .ok_or_else(role_not_found)
    }

    async fn delete(&self, tenant: &TenantId, id: &RoleId) -> Result<(), RepoError> {
        delete_owned(&self.collection, tenant, id, role_not_found).await
    }
}

pub(super) struct MongoSessions {
    collection: Collection<Session>,
}

impl MongoSessions {
    pub(super) fn new(db: &Database) -> Self {
        Self { collection: db.collection("sessions") }
    }
}

#[async_trait]
impl SessionRepo for MongoSessions {
    async fn insert(&self, session: &Session) -> Result<(), RepoError> {
        self.collection.insert_one(session).await.map_err(classify)?;
        Ok(())
    }

    async fn get(&self, id: &SessionId) -> Result<Option<Session>, RepoError> {
        self.collection.find_one(doc! { "_id": id.to_string() }).await.map_err(classify)
    }

    async fn rotate(&self, session: &Session, rotation: &Rotation) -> Result<bool, RepoError> {
        let filter = doc! { "_id": session.id.to_string(), "hash": &rotation.old_hash };
        let set = doc! {
            "hash": &rotation.new_hash,
            "expiresAt": rotation.expires_at,
            "rotatedHashes": session.rotated_after(),
            "ip": &rotation.ip,
            "lastUsedAt": Timestamp::now(),
        };
        let result = self.collection.update_one(filter, doc! { "$set": set }).await.map_err(classify)?;
        Ok(result.modified_count == 1)
    }

    async fn delete(&self, id: &SessionId) -> Result<(), RepoError> {
        self.collection.delete_one(doc! { "_id": id.to_string() }).await.map_err(classify)?;
        Ok(())
    }

    async fn delete_for_user(&self, tenant: &TenantId, user: &UserId) -> Result<(), RepoError> {
        let filter = doc! { "tenantId": tenant.to_string(), "userId": user.to_string() };
        self.collection.delete_many(filter).await.map_err(classify)?;
        Ok(())
    }

    async fn delete_expired_for_user(&self, tenant: &TenantId, user: &UserId, now: Timestamp) -> Result<(), RepoError> {
        let filter = doc! { "tenantId": tenant.to_string(), "userId": user.to_string(), "expiresAt": { "$lt": now } };
        self.collection.delete_many(filter).await.map_err(classify)?;
        Ok(())
    }
}

pub(super) struct MongoChatbots {
    collection: Collection<Chatbot>,
}

impl MongoChatbots {
    pub(super) fn new(db: &Database) -> Self {
        Self { collection: db.collection("chatbots") }
    }
}

fn chatbot_set(patch: &ChatbotPatch) -> Result<Document, RepoError> {
    let mut set = doc! { "updatedAt": Timestamp::now() };
    if let Some(name) = &patch.name {
        set.insert("name", name.as_str());
    }
    if let Some(origins) = &patch.allowed_origins {
        set.insert("allowedOrigins", to_bson(origins)?);
    }
    if let Some(settings) = &patch.settings {
        set.insert("settings", to_bson(settings)?);
    }
    if let Some(enforce) = patch.enforce_identity {
        set.insert("enforceIdentity", enforce);
    }
    if let Some(status) = &patch.status {
        set.insert("status", status.as_str());
    }
    if let Some(keys) = &patch.api_keys {
        set.insert("apiKeys", to_bson(keys)?);
    }
    if let Some(seed) = &patch.identity_secret {
        set.insert("identitySecret", to_bson(seed)?);
    }
    Ok(set)
}

#[async_trait]
impl ChatbotRepo for MongoChatbots {
    async fn insert(&self, chatbot: &Chatbot) -> Result<(), RepoError> {
        self.collection.insert_one(chatbot).await.map_err(|e| {
            if is_duplicate_key(&e) {
                RepoError::conflict("chatbot_exists", "a chatbot with this id already exists")
            } else {
                classify(e)
            }
        })?;
        Ok(())
    }

    async fn get(&self, tenant: &TenantId, id: &ChatbotId) -> Result<Option<Chatbot>, RepoError> {
        self.collection.find_one(owned(tenant, id)).await.map_err(classify)
    }

    async fn list(&self, tenant: &TenantId) -> Result<Vec<Chatbot>, RepoError> {
        list_for_tenant(&self.collection, tenant).await
    }

    async fn update(
        &self,
        tenant: &TenantId,
        id: &ChatbotId,
        patch: &ChatbotPatch,
        expected_revision: Option<i64>,
    ) -> Result<Chatbot, RepoError> {
        let mut filter = owned(tenant, id);
        if let Some(revision) = expected_revision {
            filter.insert("revision", revision);
        }
        let update = doc! { "$set": chatbot_set(patch)?, "$inc": { "revision": 1_i64 } };
        let updated = self
            .collection
            .find_one_and_update(filter, update)
            .return_document(ReturnDocument::After)
            .await
            .map_err(classify)?;
        match updated {
            Some(chatbot) => Ok(chatbot),
            None if expected_revision.is_some() && self.get(tenant, id).await?.is_some() => Err(chatbot_changed()),
            None => Err(chatbot_not_found()),
        }
    }

    async fn delete(&self, tenant: &TenantId, id: &ChatbotId) -> Result<(), RepoError> {
        delete_owned(&self.collection, tenant, id, chatbot_not_found).await
    }
}

/// A sequence number as stored: BSON has no unsigned integers. Seqs count messages, so they never
/// come near `i64::MAX`; a larger bound (from a client) means "all of them".
fn seq(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A `limit` as the driver takes it. Zero means "no limit" to MongoDB, so callers answer an empty
/// list for it before asking.
fn limit(n: u32) -> i64 {
    i64::from(n)
}

fn open_statuses() -> Vec<&'static str> {
    ChatroomStatus::OPEN.iter().map(ChatroomStatus::as_str).collect()
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
/// pure functions of [`super::chatrooms`]), claim revision `r + 1` by inserting
/// `{_id: "<chatroomId>:<r+1>:0"}` into `chatroomWrites` (the `_id` is unique, so one writer
/// wins), replace the chatroom only where it is still at revision `r`, then delete the claim.
/// A writer that loses the claim waits a moment and starts again from a fresh read, so it
/// decides on the state the winner wrote (an agent racing another to join sees the chatroom
/// taken). A claim older than [`CLAIM_STALE_AFTER`] belongs to a writer that died between claim
/// and write; the next writer claims `...:1` (then `...:2`) over it, so one dead writer cannot
/// freeze a chatroom.
pub(super) struct MongoChatrooms {
    collection: Collection<Chatroom>,
    stored: Collection<RawDocumentBuf>,
    writes: Collection<Document>,
}

impl MongoChatrooms {
    pub(super) fn new(db: &Database) -> Self {
        Self {
            collection: db.collection("chatrooms"),
            stored: db.collection("chatrooms"),
            writes: db.collection("chatroomWrites"),
        }
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

/// `{tenantId, agentId, status: active|standby}`: the chatrooms an agent holds.
fn held_by(tenant: &TenantId, agent: &UserId) -> Document {
    doc! {
        "tenantId": tenant.to_string(),
        "agentId": agent.to_string(),
        "status": { "$in": [ChatroomStatus::Active.as_str(), ChatroomStatus::Standby.as_str()] },
    }
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

    async fn list_by_ids(&self, tenant: &TenantId, ids: &[ChatroomId]) -> Result<Vec<Chatroom>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let filter =
            doc! { "tenantId": tenant.to_string(), "_id": { "$in": ids }, "status": { "$in": open_statuses() } };
        self.list(filter, doc! { "createdAt": 1, "_id": 1 }, None).await
    }

    async fn list_waiting(&self, tenant: &TenantId, limit: u32) -> Result<Vec<Chatroom>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let filter = doc! { "tenantId": tenant.to_string(), "status": ChatroomStatus::Waiting.as_str() };
        self.list(filter, doc! { "createdAt": 1, "_id": 1 }, Some(self::limit(limit))).await
    }

    async fn list_for_agent(&self, tenant: &TenantId, agent: &UserId) -> Result<Vec<Chatroom>, RepoError> {
        self.list(held_by(tenant, agent), doc! { "createdAt": 1, "_id": 1 }, None).await
    }

    async fn count_for_agent(&self, tenant: &TenantId, agent: &UserId) -> Result<u64, RepoError> {
        self.collection.count_documents(held_by(tenant, agent)).await.map_err(classify)
    }

    async fn next_seq(&self, tenant: &TenantId, id: &ChatroomId) -> Result<Option<u64>, RepoError> {
        let now = Timestamp::now();
        Ok(self.change(tenant, id, |room| chatrooms::next_seq(room, now)).await?.map(|room| room.last_seq))
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
        self.list(filter, doc! { "standbyUntil": 1, "_id": 1 }, Some(self::limit(limit))).await
    }

    async fn request_transcript(&self, tenant: &TenantId, id: &ChatroomId) -> Result<Option<Chatroom>, RepoError> {
        self.change(tenant, id, chatrooms::transcript).await
    }

    async fn list_open(&self, tenant: &TenantId, limit: u32) -> Result<Vec<Chatroom>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let filter = doc! { "tenantId": tenant.to_string(), "status": { "$in": open_statuses() } };
        self.list(filter, doc! { "createdAt": 1, "_id": 1 }, Some(self::limit(limit))).await
    }

    async fn list_created_between(
        &self,
        tenant: &TenantId,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<Chatroom>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let filter = doc! { "tenantId": tenant.to_string(), "createdAt": { "$gte": from, "$lt": to } };
        self.list(filter, doc! { "createdAt": 1, "_id": 1 }, Some(self::limit(limit))).await
    }

    async fn last_activity(&self, tenant: &TenantId, chatbot: &ChatbotId) -> Result<Option<Timestamp>, RepoError> {
        let filter = doc! { "tenantId": tenant.to_string(), "chatbotId": chatbot.to_string() };
        let latest = self.list(filter, doc! { "lastActivityAt": -1 }, Some(1)).await?;
        Ok(latest.first().map(|room| room.last_activity_at))
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
        self.list(filter, doc! { "updatedAt": 1, "_id": 1 }, Some(self::limit(limit))).await
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

/// Messages, in `messages`; unique (chatroomId, seq) and (chatroomId, clientMsgId). Stored once,
/// then only `read` changes (and only from false to true, so FerretDB's whole-document writes
/// lose nothing).
pub(super) struct MongoMessages {
    collection: Collection<Message>,
}

impl MongoMessages {
    pub(super) fn new(db: &Database) -> Self {
        Self { collection: db.collection("messages") }
    }
}

#[async_trait]
impl MessageRepo for MongoMessages {
    async fn insert(&self, message: &Message) -> Result<Inserted, RepoError> {
        let err = match self.collection.insert_one(message).await {
            Ok(_) => return Ok(Inserted::New),
            Err(e) if is_duplicate_key(&e) => e,
            Err(e) => return Err(classify(e)),
        };
        // Which unique key was it? The server's message names the index on MongoDB but not on
        // FerretDB, so ask: a retry of a stored message first.
        let (tenant, chatroom) = (&message.tenant_id, &message.chatroom_id);
        if let Some(first) = self.find_by_client_id(tenant, chatroom, &message.client_msg_id).await? {
            return Ok(Inserted::Duplicate(first));
        }
        let filter = doc! { "chatroomId": chatroom.to_string(), "seq": seq(message.seq) };
        if self.collection.count_documents(filter).await.map_err(classify)? > 0 {
            return Err(message_seq_taken());
        }
        tracing::debug!(error = %err, "a message insert hit a unique key other than seq or clientMsgId");
        Err(message_exists())
    }

    async fn find_by_client_id(
        &self,
        tenant: &TenantId,
        chatroom: &ChatroomId,
        id: &ClientMsgId,
    ) -> Result<Option<Message>, RepoError> {
        let filter =
            doc! { "tenantId": tenant.to_string(), "chatroomId": chatroom.to_string(), "clientMsgId": id.as_str() };
        self.collection.find_one(filter).await.map_err(classify)
    }

    async fn list_sent_between(
        &self,
        tenant: &TenantId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SentMessage>, RepoError> {
        let filter = doc! { "tenantId": tenant.to_string(), "sentAt": { "$gte": from, "$lt": to } };
        let sent = self.collection.clone_with_type::<SentMessage>();
        let find = sent
            .find(filter)
            .projection(doc! { "_id": 0, "chatroomId": 1, "sender": 1, "sentAt": 1 })
            .sort(doc! { "sentAt": 1, "_id": 1 });
        find.await.map_err(classify)?.try_collect().await.map_err(classify)
    }

    async fn list_after(
        &self,
        tenant: &TenantId,
        chatroom: &ChatroomId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Message>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let filter = doc! {
            "tenantId": tenant.to_string(),
            "chatroomId": chatroom.to_string(),
            "seq": { "$gt": seq(after_seq) },
        };
        let cursor =
            self.collection.find(filter).sort(doc! { "seq": 1 }).limit(self::limit(limit)).await.map_err(classify)?;
        cursor.try_collect().await.map_err(classify)
    }

    async fn mark_read(
        &self,
        tenant: &TenantId,
        chatroom: &ChatroomId,
        reader: SenderKind,
        up_to: u64,
    ) -> Result<u64, RepoError> {
        let filter = doc! {
            "tenantId": tenant.to_string(),
            "chatroomId": chatroom.to_string(),
            "seq": { "$lte": seq(up_to) },
            "sender.kind": { "$ne": reader.as_str() },
            "read": false,
        };
        let result = self.collection.update_many(filter, doc! { "$set": { "read": true } }).await.map_err(classify)?;
        Ok(result.modified_count)
    }
}

/// Blocks, in `blocks`.
pub(super) struct MongoBlocks {
    collection: Collection<Block>,
}

impl MongoBlocks {
    pub(super) fn new(db: &Database) -> Self {
        Self { collection: db.collection("blocks") }
    }
}

#[async_trait]
impl BlockRepo for MongoBlocks {
    async fn insert(&self, block: &Block) -> Result<(), RepoError> {
        self.collection
            .insert_one(block)
            .await
            .map_err(|e| if is_duplicate_key(&e) { block_exists() } else { classify(e) })?;
        Ok(())
    }

    async fn is_blocked(
        &self,
        tenant: &TenantId,
        chatbot: &ChatbotId,
        email: &EmailAddress,
        ip: &str,
    ) -> Result<bool, RepoError> {
        let mut either = vec![doc! { "email": email.as_str() }];
        if !ip.is_empty() {
            either.push(doc! { "ip": ip });
        }
        let filter = doc! { "tenantId": tenant.to_string(), "chatbotId": chatbot.to_string(), "$or": either };
        let ids = self.collection.clone_with_type::<Document>();
        let found = ids.find_one(filter).projection(doc! { "_id": 1 }).await.map_err(classify)?;
        Ok(found.is_some())
    }
}
