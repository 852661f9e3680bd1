//! Chatbots in process memory.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{ChatbotRepo, chatbot_changed, chatbot_not_found};
use crate::{
    domain::{Chatbot, ChatbotId, ChatbotPatch, TenantId, Timestamp},
    repos::{RepoError, oldest_first},
};

#[derive(Default)]
pub(in crate::repos) struct MemoryChatbots {
    rows: Mutex<HashMap<ChatbotId, Chatbot>>,
}

#[async_trait]
impl ChatbotRepo for MemoryChatbots {
    async fn insert(&self, chatbot: &Chatbot) -> Result<(), RepoError> {
        let mut rows = self.rows.lock().unwrap();
        if rows.contains_key(&chatbot.id) {
            return Err(RepoError::conflict("chatbot_exists", "a chatbot with this id already exists"));
        }
        rows.insert(chatbot.id, chatbot.clone());
        Ok(())
    }

    async fn get(&self, tenant: &TenantId, id: &ChatbotId) -> Result<Option<Chatbot>, RepoError> {
        Ok(self.rows.lock().unwrap().get(id).filter(|c| c.tenant_id == *tenant).cloned())
    }

    async fn list(&self, tenant: &TenantId) -> Result<Vec<Chatbot>, RepoError> {
        let rows: Vec<Chatbot> =
            self.rows.lock().unwrap().values().filter(|c| c.tenant_id == *tenant).cloned().collect();
        Ok(oldest_first(rows, |c| (c.created_at, c.id.to_string())))
    }

    async fn update(
        &self,
        tenant: &TenantId,
        id: &ChatbotId,
        patch: &ChatbotPatch,
        expected_revision: Option<i64>,
    ) -> Result<Chatbot, RepoError> {
        let mut rows = self.rows.lock().unwrap();
        let chatbot = rows.get_mut(id).filter(|c| c.tenant_id == *tenant).ok_or_else(chatbot_not_found)?;
        if expected_revision.is_some_and(|revision| revision != chatbot.revision) {
            return Err(chatbot_changed());
        }
        *chatbot = patch.apply(chatbot, Timestamp::now());
        Ok(chatbot.clone())
    }

    async fn delete(&self, tenant: &TenantId, id: &ChatbotId) -> Result<(), RepoError> {
        let mut rows = self.rows.lock().unwrap();
        match rows.get(id) {
            Some(chatbot) if chatbot.tenant_id == *tenant => {
                rows.remove(id);
                Ok(())
            }
            _ => Err(chatbot_not_found()),
        }
    }
}
