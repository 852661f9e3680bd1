//! MongoDB repositories. Documents are the domain types themselves (camelCase fields, `_id`);
//! every tenant-owned filter starts with `tenantId`.

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::{
    Collection, Database,
    bson::{self, Bson, Document, doc},
    options::ReturnDocument,
};
use serde::{Serialize, de::DeserializeOwned};

use super::{
    ChatbotRepo, RepoError, RolePatch, RoleRepo, Rotation, SessionRepo, TenantRepo, UserRepo,
    chatbots::{chatbot_changed, chatbot_not_found},
    roles::{role_name_taken, role_not_found},
    tenants::tenant_not_found,
    users::{email_taken, user_not_found},
};
use crate::{
    domain::{
        Chatbot, ChatbotId, ChatbotPatch, EmailAddress, Name, PasswordChangeToken, Role, RoleId, SeenIp, Session,
        SessionId, Tenant, TenantId, Timestamp, User, UserId, UserPatch,
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

    async fn rename(&self, id: &TenantId, name: &Name) -> Result<Tenant, RepoError> {
        self.collection
            .find_one_and_update(
                doc! { "_id": id.to_string() },
                doc! { "$set": { "name": name.as_str(), "updatedAt": Timestamp::now() } },
            )
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
