//! Tenants in `tenants`.

use async_trait::async_trait;
use mongodb::{Collection, Database, bson::doc, options::ReturnDocument};

use super::{TenantRepo, tenant_not_found};
use crate::{
    domain::{Name, Tenant, TenantId, TenantPatch, Timestamp},
    mongo::{classify, is_duplicate_key},
    repos::RepoError,
};

pub(in crate::repos) struct MongoTenants {
    collection: Collection<Tenant>,
}

impl MongoTenants {
    pub(in crate::repos) fn new(db: &Database) -> Self {
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
