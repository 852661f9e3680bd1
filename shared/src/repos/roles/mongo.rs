//! Roles in `roles`; (tenantId, name) is unique.

use async_trait::async_trait;
use mongodb::{Collection, Database, bson::doc, options::ReturnDocument};

use super::{RolePatch, RoleRepo, role_name_taken, role_not_found};
use crate::{
    domain::{Name, Role, RoleId, TenantId, Timestamp},
    mongo::{classify, create_indexes, is_duplicate_key, unique_index},
    repos::{
        RepoError,
        mongo_util::{delete_owned, list_for_tenant, owned, to_bson},
    },
};

pub(in crate::repos) async fn ensure_indexes(db: &Database) -> Result<(), RepoError> {
    create_indexes(db, "roles", vec![unique_index(doc! { "tenantId": 1, "name": 1 }, "tenant_name_unique")]).await
}

pub(in crate::repos) struct MongoRoles {
    collection: Collection<Role>,
}

impl MongoRoles {
    pub(in crate::repos) fn new(db: &Database) -> Self {
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
