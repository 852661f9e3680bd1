//! Chatrooms in process memory: each change runs the pure function of [`super`] under the lock.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{ChatroomRepo, chatroom_exists};
use crate::{
    domain::{
        ChatbotId, Chatroom, ChatroomId, ChatroomStatus, EmailAddress, Offer, SenderKind, TenantId, Timestamp,
        Transition, UserId,
    },
    repos::{RepoError, chatrooms, oldest_first},
};

#[derive(Default)]
pub(in crate::repos) struct MemoryChatrooms {
    rows: Mutex<HashMap<ChatroomId, Chatroom>>,
}

impl MemoryChatrooms {
    /// Replaces the tenant's chatroom with what `change` makes of it, if anything; the lock is
    /// held from read to write, which is what makes each change atomic.
    fn change(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        change: impl FnOnce(&Chatroom) -> Option<Chatroom>,
    ) -> Option<Chatroom> {
        let mut rows = self.rows.lock().unwrap();
        let room = rows.get_mut(id).filter(|r| r.tenant_id == *tenant)?;
        let next = change(room)?;
        // As stored: what a change frees (`displaced`) is the caller's to know, not kept.
        *room = Chatroom { displaced: Vec::new(), ..next.clone() };
        Some(next)
    }

    fn select(&self, keep: impl Fn(&Chatroom) -> bool) -> Vec<Chatroom> {
        let rows: Vec<Chatroom> = self.rows.lock().unwrap().values().filter(|r| keep(r)).cloned().collect();
        oldest_first(rows, |r| (r.created_at, r.id.to_string()))
    }
}

#[async_trait]
impl ChatroomRepo for MemoryChatrooms {
    async fn insert(&self, room: &Chatroom) -> Result<(), RepoError> {
        let mut rows = self.rows.lock().unwrap();
        if rows.contains_key(&room.id) {
            return Err(chatroom_exists());
        }
        rows.insert(room.id, room.clone());
        Ok(())
    }

    async fn get(&self, tenant: &TenantId, id: &ChatroomId) -> Result<Option<Chatroom>, RepoError> {
        Ok(self.rows.lock().unwrap().get(id).filter(|r| r.tenant_id == *tenant).cloned())
    }

    async fn list_with_status(
        &self,
        tenant: &TenantId,
        statuses: &[ChatroomStatus],
        limit: u32,
    ) -> Result<Vec<Chatroom>, RepoError> {
        let mut rows = self.select(|r| r.tenant_id == *tenant && statuses.contains(&r.status));
        rows.truncate(limit as usize);
        Ok(rows)
    }

    async fn list_for_agent(&self, tenant: &TenantId, agent: &UserId) -> Result<Vec<Chatroom>, RepoError> {
        Ok(self.select(|r| r.tenant_id == *tenant && chatrooms::held_by(r, agent)))
    }

    async fn count_for_agent(&self, tenant: &TenantId, agent: &UserId) -> Result<u64, RepoError> {
        let rows = self.rows.lock().unwrap();
        Ok(rows.values().filter(|r| r.tenant_id == *tenant && chatrooms::held_by(r, agent)).count() as u64)
    }

    async fn raise_last_seq(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        seq: u64,
        at: Timestamp,
    ) -> Result<(), RepoError> {
        self.change(tenant, id, |room| chatrooms::raise_last_seq(room, seq, at));
        Ok(())
    }

    async fn transition(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        from: &[ChatroomStatus],
        held_by: Option<&UserId>,
        change: &Transition,
    ) -> Result<Option<Chatroom>, RepoError> {
        let now = Timestamp::now();
        Ok(self.change(tenant, id, |room| chatrooms::transition(room, from, held_by, change, now)))
    }

    async fn change_offer(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        expected: Option<&Offer>,
        next: Option<&Offer>,
        passed: Option<&UserId>,
    ) -> Result<Option<Chatroom>, RepoError> {
        Ok(self.change(tenant, id, |room| chatrooms::offer_changed(room, expected, next, passed)))
    }

    async fn last_agent_for(
        &self,
        tenant: &TenantId,
        chatbot: &ChatbotId,
        email: &EmailAddress,
    ) -> Result<Option<UserId>, RepoError> {
        let theirs = self.select(|r| {
            r.tenant_id == *tenant && r.chatbot_id == *chatbot && r.email == *email && r.agent_id.is_some()
        });
        Ok(theirs.last().and_then(|r| r.agent_id))
    }

    async fn list_assigned_since(
        &self,
        tenant: &TenantId,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<Chatroom>, RepoError> {
        let mut rows = self.select(|r| r.tenant_id == *tenant && r.assigned_at.is_some_and(|at| at >= since));
        rows.sort_by_key(|r| std::cmp::Reverse((r.assigned_at, r.id.to_string())));
        rows.truncate(limit as usize);
        Ok(rows)
    }

    async fn set_first_agent_reply(&self, tenant: &TenantId, id: &ChatroomId, at: Timestamp) -> Result<(), RepoError> {
        self.change(tenant, id, |room| chatrooms::first_agent_reply(room, at));
        Ok(())
    }

    async fn set_read(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        reader: SenderKind,
        up_to: u64,
    ) -> Result<(), RepoError> {
        self.change(tenant, id, |room| chatrooms::read_up_to(room, reader, up_to));
        Ok(())
    }

    async fn list_overdue_standby(&self, now: Timestamp, limit: u32) -> Result<Vec<Chatroom>, RepoError> {
        let mut rows: Vec<Chatroom> =
            self.rows.lock().unwrap().values().filter(|r| r.standby_overdue(now)).cloned().collect();
        rows.sort_by_key(|r| (r.standby_until, r.id.to_string()));
        rows.truncate(limit as usize);
        Ok(rows)
    }

    async fn request_transcript(&self, tenant: &TenantId, id: &ChatroomId) -> Result<Option<Chatroom>, RepoError> {
        Ok(self.change(tenant, id, chatrooms::transcript))
    }

    async fn list_unclaimed(&self, waiting_since: Timestamp, limit: u32) -> Result<Vec<Chatroom>, RepoError> {
        let mut rows: Vec<Chatroom> =
            self.rows.lock().unwrap().values().filter(|r| r.unclaimed_since(waiting_since)).cloned().collect();
        rows.sort_by_key(|r| (r.updated_at, r.id.to_string()));
        rows.truncate(limit as usize);
        Ok(rows)
    }

    async fn mark_unclaimed_alerted(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        now: Timestamp,
    ) -> Result<Option<Chatroom>, RepoError> {
        Ok(self.change(tenant, id, |room| chatrooms::unclaimed_alerted(room, now)))
    }
}
