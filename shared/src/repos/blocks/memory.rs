//! Blocks in process memory.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{BlockRepo, block_exists, matches};
use crate::{
    domain::{Block, BlockId, ChatbotId, EmailAddress, TenantId},
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
}
