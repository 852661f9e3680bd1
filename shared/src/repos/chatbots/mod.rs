//! Chatbots (chat widgets), with a revision that rotations compare and set.

mod memory;
mod mongo;

use async_trait::async_trait;

use super::RepoError;
use crate::domain::{Chatbot, ChatbotId, ChatbotPatch, TenantId};

pub(super) use memory::MemoryChatbots;
pub(super) use mongo::{MongoChatbots, ensure_indexes};

/// Chatbots (chat widgets).
#[async_trait]
pub trait ChatbotRepo: Send + Sync {
    async fn insert(&self, chatbot: &Chatbot) -> Result<(), RepoError>;

    async fn get(&self, tenant: &TenantId, id: &ChatbotId) -> Result<Option<Chatbot>, RepoError>;

    /// The tenant's chatbots, oldest first.
    async fn list(&self, tenant: &TenantId) -> Result<Vec<Chatbot>, RepoError>;

    /// Applies `patch` and moves the revision on. With `expected_revision`, only if the chatbot is
    /// still at that revision: else `chatbot_changed` (409), so two rotations racing cannot both
    /// hand out a key when only one is stored. `chatbot_not_found` when the id is not the tenant's.
    async fn update(
        &self,
        tenant: &TenantId,
        id: &ChatbotId,
        patch: &ChatbotPatch,
        expected_revision: Option<i64>,
    ) -> Result<Chatbot, RepoError>;

    /// `chatbot_not_found` when the id is not one of the tenant's chatbots.
    async fn delete(&self, tenant: &TenantId, id: &ChatbotId) -> Result<(), RepoError>;
}

pub(super) fn chatbot_not_found() -> RepoError {
    RepoError::not_found("chatbot_not_found", "no such chatbot")
}

pub(super) fn chatbot_changed() -> RepoError {
    RepoError::conflict("chatbot_changed", "the chatbot changed meanwhile; read it again and retry")
}
