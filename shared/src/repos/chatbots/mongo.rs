//! Chatbots in `chatbots`.

use async_trait::async_trait;
use mongodb::{
    Collection, Database,
    bson::{Document, doc},
    options::ReturnDocument,
};

use super::{ChatbotRepo, chatbot_changed, chatbot_not_found};
use crate::{
    domain::{Chatbot, ChatbotId, ChatbotPatch, TenantId, Timestamp},
    mongo::{classify, create_indexes, index, is_duplicate_key},
    repos::{
        RepoError,
        mongo_util::{delete_owned, list_for_tenant, owned, to_bson},
    },
};

pub(in crate::repos) async fn ensure_indexes(db: &Database) -> Result<(), RepoError> {
    create_indexes(db, "chatbots", vec![index(doc! { "tenantId": 1, "createdAt": 1 }, "tenant_created")]).await
}

pub(in crate::repos) struct MongoChatbots {
    collection: Collection<Chatbot>,
}

impl MongoChatbots {
    pub(in crate::repos) fn new(db: &Database) -> Self {
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
    if let Some(routing) = &patch.routing {
        set.insert("routing", to_bson(routing)?);
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
