//! Messages in process memory.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{Inserted, MessageRepo, message_exists, message_seq_taken};
use crate::{
    domain::{ChatroomId, ClientMsgId, Message, MessageId, SenderKind, TenantId},
    repos::RepoError,
};

#[derive(Default)]
pub(in crate::repos) struct MemoryMessages {
    rows: Mutex<HashMap<MessageId, Message>>,
}

#[async_trait]
impl MessageRepo for MemoryMessages {
    async fn insert(&self, message: &Message) -> Result<Inserted, RepoError> {
        let mut rows = self.rows.lock().unwrap();
        let same_room = |m: &&Message| m.chatroom_id == message.chatroom_id;
        let same_client_id = rows.values().filter(same_room).find(|m| m.client_msg_id == message.client_msg_id);
        // Read in the order the MongoDB repository reads a duplicate key: a retry first.
        if let Some(first) = same_client_id.filter(|m| m.tenant_id == message.tenant_id) {
            return Ok(Inserted::Duplicate(first.clone()));
        }
        if rows.values().filter(same_room).any(|m| m.seq == message.seq) {
            return Err(message_seq_taken());
        }
        if same_client_id.is_some() || rows.contains_key(&message.id) {
            return Err(message_exists());
        }
        rows.insert(message.id, message.clone());
        Ok(Inserted::New)
    }

    async fn find_by_client_id(
        &self,
        tenant: &TenantId,
        chatroom: &ChatroomId,
        id: &ClientMsgId,
    ) -> Result<Option<Message>, RepoError> {
        let rows = self.rows.lock().unwrap();
        let found = rows.get(&MessageId::of(chatroom, id));
        Ok(found.filter(|m| m.tenant_id == *tenant && m.chatroom_id == *chatroom).cloned())
    }

    async fn list_after(
        &self,
        tenant: &TenantId,
        chatroom: &ChatroomId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Message>, RepoError> {
        let mut rows: Vec<Message> = self
            .rows
            .lock()
            .unwrap()
            .values()
            .filter(|m| m.tenant_id == *tenant && m.chatroom_id == *chatroom && m.seq > after_seq)
            .cloned()
            .collect();
        rows.sort_by_key(|m| m.seq);
        rows.truncate(limit as usize);
        Ok(rows)
    }

    async fn highest_seq(&self, tenant: &TenantId, chatroom: &ChatroomId) -> Result<u64, RepoError> {
        let rows = self.rows.lock().unwrap();
        let seqs = rows.values().filter(|m| m.tenant_id == *tenant && m.chatroom_id == *chatroom).map(|m| m.seq);
        Ok(seqs.max().unwrap_or(0))
    }

    async fn mark_read(
        &self,
        tenant: &TenantId,
        chatroom: &ChatroomId,
        reader: SenderKind,
        up_to: u64,
    ) -> Result<u64, RepoError> {
        let mut changed = 0;
        for message in self.rows.lock().unwrap().values_mut() {
            if message.tenant_id == *tenant
                && message.chatroom_id == *chatroom
                && message.seq <= up_to
                && message.sender.kind != reader
                && !message.read
            {
                message.read = true;
                changed += 1;
            }
        }
        Ok(changed)
    }
}
