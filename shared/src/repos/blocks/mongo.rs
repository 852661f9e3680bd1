//! Blocks in `blocks`.

use async_trait::async_trait;
use futures::TryStreamExt as _;
use mongodb::{
    Collection, Database,
    bson::{Document, doc},
};

use super::{BlockRepo, block_exists, block_not_found};
use crate::{
    domain::{Block, BlockCursor, BlockId, ChatbotId, EmailAddress, TenantId},
    mongo::{classify, create_indexes, index, is_duplicate_key},
    repos::{RepoError, mongo_util},
};

pub(in crate::repos) async fn ensure_indexes(db: &Database) -> Result<(), RepoError> {
    let indexes = vec![
        index(doc! { "tenantId": 1, "chatbotId": 1, "email": 1 }, "tenant_chatbot_email"),
        index(doc! { "tenantId": 1, "chatbotId": 1, "ip": 1 }, "tenant_chatbot_ip"),
        // The moderators' list, newest first.
        index(doc! { "tenantId": 1, "createdAt": -1, "_id": -1 }, "tenant_created"),
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

    async fn list(
        &self,
        tenant: &TenantId,
        chatbot: Option<&ChatbotId>,
        before: Option<&BlockCursor>,
        limit: u32,
    ) -> Result<Vec<Block>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut filter = doc! { "tenantId": tenant.to_string() };
        if let Some(chatbot) = chatbot {
            filter.insert("chatbotId", chatbot.to_string());
        }
        if let Some(cursor) = before {
            let at = cursor.created_at.to_bson();
            filter.insert(
                "$or",
                vec![
                    doc! { "createdAt": { "$lt": at } },
                    doc! { "createdAt": at, "_id": { "$lt": cursor.id.to_string() } },
                ],
            );
        }
        let found = self
            .collection
            .find(filter)
            .sort(doc! { "createdAt": -1, "_id": -1 })
            .limit(mongo_util::limit(limit))
            .await
            .map_err(classify)?;
        found.try_collect().await.map_err(classify)
    }

    async fn delete(&self, tenant: &TenantId, id: &BlockId) -> Result<Block, RepoError> {
        // Read, then delete by the same filter: only the caller whose delete removed the row
        // answers it, so a block lifted twice at once is lifted (and announced) once.
        let block = self.collection.find_one(mongo_util::owned(tenant, id)).await.map_err(classify)?;
        let block = block.ok_or_else(block_not_found)?;
        mongo_util::delete_owned(&self.collection, tenant, id, block_not_found).await?;
        Ok(block)
    }
}
