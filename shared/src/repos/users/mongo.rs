//! Users in `users`; `email` is unique across all tenants.

use async_trait::async_trait;
use mongodb::{
    Collection, Database,
    bson::{Document, doc},
    options::ReturnDocument,
};

use super::{UserRepo, email_taken, user_not_found};
use crate::{
    domain::{EmailAddress, PasswordChangeToken, RoleId, SeenIp, TenantId, Timestamp, User, UserId, UserPatch},
    mongo::{classify, create_indexes, index, is_duplicate_key, unique_index},
    repos::{
        RepoError,
        mongo_util::{delete_owned, list_for_tenant, owned, to_bson},
    },
};

pub(in crate::repos) async fn ensure_indexes(db: &Database) -> Result<(), RepoError> {
    let indexes = vec![
        unique_index(doc! { "email": 1 }, "email_unique"),
        index(doc! { "tenantId": 1, "createdAt": 1 }, "tenant_created"),
    ];
    create_indexes(db, "users", indexes).await
}

pub(in crate::repos) struct MongoUsers {
    collection: Collection<User>,
}

impl MongoUsers {
    pub(in crate::repos) fn new(db: &Database) -> Self {
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
    if let Some(availability) = patch.availability {
        set.insert("availability", availability.as_str());
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
