//! Blocks: visitors an agent stopped from chatting through a chatbot.

mod memory;
mod mongo;

use async_trait::async_trait;

use super::RepoError;
use crate::domain::{Block, BlockCursor, BlockId, ChatbotId, EmailAddress, TenantId};

pub(super) use memory::MemoryBlocks;
pub(super) use mongo::{MongoBlocks, ensure_indexes};

#[async_trait]
pub trait BlockRepo: Send + Sync {
    /// Stores a block; `block_exists` (409) when the id is taken.
    async fn insert(&self, block: &Block) -> Result<(), RepoError>;

    /// Whether the tenant's `chatbot` blocked this email address or this IP address. An empty
    /// `ip` (unknown) matches no block by address, only by email.
    async fn is_blocked(
        &self,
        tenant: &TenantId,
        chatbot: &ChatbotId,
        email: &EmailAddress,
        ip: &str,
    ) -> Result<bool, RepoError>;

    /// The tenant's blocks (of one chatbot when `chatbot` names it), newest first (creation
    /// time, then id), at most `limit`, starting after `before` (the last of the page before).
    async fn list(
        &self,
        tenant: &TenantId,
        chatbot: Option<&ChatbotId>,
        before: Option<&BlockCursor>,
        limit: u32,
    ) -> Result<Vec<Block>, RepoError>;

    /// Lifts (deletes) the tenant's block `id` and answers what it was; `block_not_found` (404)
    /// when the tenant has no such block, another tenant's included. Of two callers lifting
    /// the same block at once, one gets it and the other `block_not_found`.
    async fn delete(&self, tenant: &TenantId, id: &BlockId) -> Result<Block, RepoError>;
}

pub(super) fn block_exists() -> RepoError {
    RepoError::conflict("block_exists", "a block with this id already exists")
}

pub(super) fn block_not_found() -> RepoError {
    RepoError::not_found("block_not_found", "no such block")
}

/// Whether `block` matches the visitor (the in-memory twin of the MongoDB filter).
pub(super) fn matches(block: &Block, tenant: &TenantId, chatbot: &ChatbotId, email: &EmailAddress, ip: &str) -> bool {
    block.tenant_id == *tenant
        && block.chatbot_id == *chatbot
        && (block.email == *email || (!ip.is_empty() && block.ip == ip))
}
