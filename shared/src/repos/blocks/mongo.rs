//! Blocks in `blocks`.

use async_trait::async_trait;
use mongodb::{
    Collection, Database,
    bson::{Document, doc},
};

use super::{BlockRepo, block_exists};
use crate::{
    domain::{Block, ChatbotId, EmailAddress, TenantId},
    mongo::{classify, create_indexes, index, is_duplicate_key},
    repos::RepoError,
};

pub(in crate::repos) async fn ensure_indexes(db: &Database) -> Result<(), RepoError> {
    let indexes = vec![
        index(doc! { "tenantId": 1, "chatbotId": 1, "email": 1 }, "tenant_chatbot_email"),
        index(doc! { "tenantId": 1, "chatbotId": 1, "ip": 1 }, "tenant_chatbot_ip"),
    ];
    create_indexes(db, "blocks", indexes).await
}

/// Blocks, in `blocks`.
pub(in crate::repos) struct MongoBlocks {
    collection: Collection<Block>,
}

impl MongoBlocks {
    pub(in crate::repos) fn new(db: &Database) -> Self {
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
