//! Blocks in process memory.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{BlockRepo, block_exists, block_not_found, matches};
use crate::{
    domain::{Block, BlockCursor, BlockId, ChatbotId, EmailAddress, TenantId},
    repos::RepoError,
};

#[derive(Default)]
pub(in crate::repos) struct MemoryBlocks {
    rows: Mutex<HashMap<BlockId, Block>>,
}

#[async_trait]
impl BlockRepo for MemoryBlocks {
    async fn insert(&self, block: &Block) -> Result<(), RepoError> {
        let mut rows = self.rows.lock().unwrap();
        if rows.contains_key(&block.id) {
            return Err(block_exists());
        }
        rows.insert(block.id, block.clone());
        Ok(())
    }

    async fn is_blocked(
        &self,
        tenant: &TenantId,
        chatbot: &ChatbotId,
        email: &EmailAddress,
        ip: &str,
    ) -> Result<bool, RepoError> {
        Ok(self.rows.lock().unwrap().values().any(|b| matches(b, tenant, chatbot, email, ip)))
    }

    async fn list(
        &self,
        tenant: &TenantId,
        chatbot: Option<&ChatbotId>,
        before: Option<&BlockCursor>,
        limit: u32,
    ) -> Result<Vec<Block>, RepoError> {
        let mut rows: Vec<Block> = self
            .rows
            .lock()
            .unwrap()
            .values()
            .filter(|b| b.tenant_id == *tenant && chatbot.is_none_or(|c| b.chatbot_id == *c))
            .filter(|b| before.is_none_or(|cursor| cursor.precedes(b)))
            .cloned()
            .collect();
        rows.sort_by_key(|b| std::cmp::Reverse((b.created_at, b.id)));
        rows.truncate(limit as usize);
        Ok(rows)
    }

    async fn delete(&self, tenant: &TenantId, id: &BlockId) -> Result<Block, RepoError> {
        let mut rows = self.rows.lock().unwrap();
        if rows.get(id).is_none_or(|b| b.tenant_id != *tenant) {
            return Err(block_not_found());
        }
        rows.remove(id).ok_or_else(block_not_found)
    }
}
