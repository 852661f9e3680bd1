//! Blocks: visitors an agent stopped from chatting through a chatbot.

mod memory;
mod mongo;

use async_trait::async_trait;

use super::RepoError;
use crate::domain::{Block, ChatbotId, EmailAddress, TenantId};

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
}

pub(super) fn block_exists() -> RepoError {
    RepoError::conflict("block_exists", "a block with this id already exists")
}

/// Whether `block` matches the visitor (the in-memory twin of the MongoDB filter).
pub(super) fn matches(block: &Block, tenant: &TenantId, chatbot: &ChatbotId, email: &EmailAddress, ip: &str) -> bool {
    block.tenant_id == *tenant
        && block.chatbot_id == *chatbot
        && (block.email == *email || (!ip.is_empty() && block.ip == ip))
}
