//! In-memory repositories: the embedded default's storage, held to the same contract as MongoDB.
//! Each lock is taken and released within one synchronous block, never across an `.await`.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{
    BlockRepo, ChatbotRepo, ChatroomRepo, Inserted, MessageRepo, RepoError, RolePatch, RoleRepo, Rotation, SessionRepo,
    TenantRepo, UserRepo,
    blocks::{self, block_exists},
    chatbots::{chatbot_changed, chatbot_not_found},
    chatrooms::{self, chatroom_exists},
    messages::{message_exists, message_seq_taken},
    roles::{role_name_taken, role_not_found},
    tenants::tenant_not_found,
    users::{email_taken, user_not_found},
};
use crate::domain::{
    Block, BlockId, Chatbot, ChatbotId, ChatbotPatch, Chatroom, ChatroomId, ChatroomStatus, ClientMsgId, EmailAddress,
    Message, MessageId, Name, PasswordChangeToken, Role, RoleId, SeenIp, SenderKind, SentMessage, Session, SessionId,
    Tenant, TenantId, TenantPatch, Timestamp, Transition, User, UserId, UserPatch,
};

fn oldest_first<T>(mut rows: Vec<T>, key: impl Fn(&T) -> (Timestamp, String)) -> Vec<T> {
    rows.sort_by_key(key);
    rows
}

#[derive(Default)]
pub(super) struct MemoryTenants {
    rows: Mutex<HashMap<TenantId, Tenant>>,
}

#[async_trait]
impl TenantRepo for MemoryTenants {
    async fn insert(&self, tenant: &Tenant) -> Result<(), RepoError> {
        let mut rows = self.rows.lock().unwrap();
        if rows.contains_key(&tenant.id) {
            return Err(RepoError::conflict("tenant_exists", "a tenant with this id already exists"));
        }
        rows.insert(tenant.id, tenant.clone());
        Ok(())
    }

    async fn get(&self, id: &TenantId) -> Result<Option<Tenant>, RepoError> {
        Ok(self.rows.lock().unwrap().get(id).cloned())
    }

    async fn list_ids(&self, after: Option<&TenantId>, limit: u32) -> Result<Vec<TenantId>, RepoError> {
        let mut ids: Vec<String> = self.rows.lock().unwrap().keys().map(TenantId::to_string).collect();
        ids.sort();
        let after = after.map(TenantId::to_string);
        let ids = ids.into_iter().filter(|id| after.as_ref().is_none_or(|after| id > after));
        Ok(ids.take(limit as usize).filter_map(|id| id.parse().ok()).collect())
    }

    async fn update(&self, id: &TenantId, patch: &TenantPatch) -> Result<Tenant, RepoError> {
        let mut rows = self.rows.lock().unwrap();
        let tenant = rows.get_mut(id).ok_or_else(tenant_not_found)?;
        patch.apply_to(tenant, Timestamp::now());
        Ok(tenant.clone())
    }

    async fn delete(&self, id: &TenantId) -> Result<(), RepoError> {
        self.rows.lock().unwrap().remove(id).map(drop).ok_or_else(tenant_not_found)
    }
}

#[derive(Default)]
pub(super) struct MemoryUsers {
    rows: Mutex<HashMap<UserId, User>>,
}

#[async_trait]
impl UserRepo for MemoryUsers {
    async fn insert(&self, user: &User) -> Result<(), RepoError> {
        let mut rows = self.rows.lock().unwrap();
        if rows.values().any(|u| u.email == user.email) {
            return Err(email_taken());
        }
        if rows.contains_key(&user.id) {
            return Err(RepoError::conflict("user_exists", "a user with this id already exists"));
        }
        rows.insert(user.id, user.clone());
        Ok(())
    }

    async fn get(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, RepoError> {
        Ok(self.rows.lock().unwrap().get(id).filter(|u| u.tenant_id == *tenant).cloned())
    }

    async fn find_by_email(&self, email: &EmailAddress) -> Result<Option<User>, RepoError> {
        Ok(self.rows.lock().unwrap().values().find(|u| u.email == *email).cloned())
    }

    async fn list(&self, tenant: &TenantId) -> Result<Vec<User>, RepoError> {
        let rows: Vec<User> = self.rows.lock().unwrap().values().filter(|u| u.tenant_id == *tenant).cloned().collect();
        Ok(oldest_first(rows, |u| (u.created_at, u.id.to_string())))
    }

    async fn update(&self, tenant: &TenantId, id: &UserId, patch: &UserPatch) -> Result<User, RepoError> {
        let mut rows = self.rows.lock().unwrap();
        let user = rows.get_mut(id).filter(|u| u.tenant_id == *tenant).ok_or_else(user_not_found)?;
        patch.apply_to(user, Timestamp::now());
        Ok(user.clone())
    }

    async fn delete(&self, tenant: &TenantId, id: &UserId) -> Result<(), RepoError> {
        let mut rows = self.rows.lock().unwrap();
        match rows.get(id) {
            Some(user) if user.tenant_id == *tenant => {
                rows.remove(id);
                Ok(())
            }
            _ => Err(user_not_found()),
        }
    }

    async fn set_password_change_token(
        &self,
        tenant: &TenantId,
        id: &UserId,
        token: &PasswordChangeToken,
    ) -> Result<(), RepoError> {
        let mut rows = self.rows.lock().unwrap();
        let user = rows.get_mut(id).filter(|u| u.tenant_id == *tenant).ok_or_else(user_not_found)?;
        user.password_change_token = Some(token.clone());
        user.updated_at = Timestamp::now();
        Ok(())
    }

    async fn set_password_with_token(
        &self,
        tenant: &TenantId,
        id: &UserId,
        token_hash: &str,
        password_hash: &str,
    ) -> Result<bool, RepoError> {
        let mut rows = self.rows.lock().unwrap();
        let Some(user) = rows.get_mut(id).filter(|u| u.tenant_id == *tenant) else { return Ok(false) };
        if user.password_change_token.as_ref().is_none_or(|t| t.hash != token_hash) {
            return Ok(false);
        }
        user.password_change_token = None;
        user.password_hash = Some(password_hash.to_owned());
        user.updated_at = Timestamp::now();
        Ok(true)
    }

    async fn record_login(&self, tenant: &TenantId, id: &UserId, seen: &[SeenIp]) -> Result<(), RepoError> {
        if let Some(user) = self.rows.lock().unwrap().get_mut(id).filter(|u| u.tenant_id == *tenant) {
            user.ip_addresses.seen = seen.to_vec();
        }
        Ok(())
    }

    async fn count_with_role(&self, tenant: &TenantId, role: &RoleId) -> Result<u64, RepoError> {
        let rows = self.rows.lock().unwrap();
        Ok(rows.values().filter(|u| u.tenant_id == *tenant && u.role_ids.contains(role)).count() as u64)
    }
}

#[derive(Default)]
pub(super) struct MemoryRoles {
    rows: Mutex<HashMap<RoleId, Role>>,
}

#[async_trait]
impl RoleRepo for MemoryRoles {
    async fn insert(&self, role: &Role) -> Result<(), RepoError> {
        let mut rows = self.rows.lock().unwrap();
        if rows.values().any(|r| r.tenant_id == role.tenant_id && r.name == role.name) {
            return Err(role_name_taken());
        }
        if rows.contains_key(&role.id) {
            return Err(RepoError::conflict("role_exists", "a role with this id already exists"));
        }
        rows.insert(role.id, role.clone());
        Ok(())
    }

    async fn get(&self, tenant: &TenantId, id: &RoleId) -> Result<Option<Role>, RepoError> {
        Ok(self.rows.lock().unwrap().get(id).filter(|r| r.tenant_id == *tenant).cloned())
    }

    async fn find_by_name(&self, tenant: &TenantId, name: &Name) -> Result<Option<Role>, RepoError> {
        let rows = self.rows.lock().unwrap();
        Ok(rows.values().find(|r| r.tenant_id == *tenant && r.name == *name).cloned())
    }

    async fn list(&self, tenant: &TenantId) -> Result<Vec<Role>, RepoError> {
        let rows: Vec<Role> = self.rows.lock().unwrap().values().filter(|r| r.tenant_id == *tenant).cloned().collect();
        Ok(oldest_first(rows, |r| (r.created_at, r.id.to_string())))
    }

    async fn update(&self, tenant: &TenantId, id: &RoleId, patch: &RolePatch) -> Result<Role, RepoError> {
        let mut rows = self.rows.lock().unwrap();
        if rows.get(id).is_none_or(|r| r.tenant_id != *tenant) {
            return Err(role_not_found());
        }
        if let Some(name) = &patch.name
            && rows.values().any(|r| r.tenant_id == *tenant && r.id != *id && r.name == *name)
        {
            return Err(role_name_taken());
        }
        let role = rows.get_mut(id).ok_or_else(role_not_found)?;
        if let Some(name) = &patch.name {
            role.name = name.clone();
        }
        if let Some(permissions) = &patch.permissions {
            role.permissions = permissions.clone();
        }
        role.updated_at = Timestamp::now();
        Ok(role.clone())
    }

    async fn delete(&self, tenant: &TenantId, id: &RoleId) -> Result<(), RepoError> {
        let mut rows = self.rows.lock().unwrap();
        match rows.get(id) {
            Some(role) if role.tenant_id == *tenant => {
                rows.remove(id);
                Ok(())
            }
            _ => Err(role_not_found()),
        }
    }
}

#[derive(Default)]
pub(super) struct MemorySessions {
    rows: Mutex<HashMap<SessionId, Session>>,
}

#[async_trait]
impl SessionRepo for MemorySessions {
    async fn insert(&self, session: &Session) -> Result<(), RepoError> {
        self.rows.lock().unwrap().insert(session.id, session.clone());
        Ok(())
    }

    async fn get(&self, id: &SessionId) -> Result<Option<Session>, RepoError> {
        Ok(self.rows.lock().unwrap().get(id).cloned())
    }

    async fn rotate(&self, session: &Session, rotation: &Rotation) -> Result<bool, RepoError> {
        let mut rows = self.rows.lock().unwrap();
        let Some(stored) = rows.get_mut(&session.id).filter(|s| s.hash == rotation.old_hash) else { return Ok(false) };
        stored.rotated_hashes = session.rotated_after();
        stored.hash = rotation.new_hash.clone();
        stored.expires_at = rotation.expires_at;
        stored.ip = rotation.ip.clone();
        stored.last_used_at = Timestamp::now();
        Ok(true)
    }

    async fn delete(&self, id: &SessionId) -> Result<(), RepoError> {
        self.rows.lock().unwrap().remove(id);
        Ok(())
    }

    async fn delete_for_user(&self, tenant: &TenantId, user: &UserId) -> Result<(), RepoError> {
        self.rows.lock().unwrap().retain(|_, s| !(s.tenant_id == *tenant && s.user_id == *user));
        Ok(())
    }

    async fn delete_expired_for_user(&self, tenant: &TenantId, user: &UserId, now: Timestamp) -> Result<(), RepoError> {
        self.rows.lock().unwrap().retain(|_, s| !(s.tenant_id == *tenant && s.user_id == *user && s.expires_at < now));
        Ok(())
    }
}

#[derive(Default)]
pub(super) struct MemoryChatbots {
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

#[derive(Default)]
pub(super) struct MemoryChatrooms {
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
        *room = next.clone();
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

    async fn list_by_ids(&self, tenant: &TenantId, ids: &[ChatroomId]) -> Result<Vec<Chatroom>, RepoError> {
        Ok(self.select(|r| r.tenant_id == *tenant && r.is_open() && ids.contains(&r.id)))
    }

    async fn list_open(&self, tenant: &TenantId, limit: u32) -> Result<Vec<Chatroom>, RepoError> {
        let mut rows = self.select(|r| r.tenant_id == *tenant && r.is_open());
        rows.truncate(limit as usize);
        Ok(rows)
    }

    async fn list_created_between(
        &self,
        tenant: &TenantId,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<Chatroom>, RepoError> {
        let mut rows = self.select(|r| r.tenant_id == *tenant && r.created_at >= from && r.created_at < to);
        rows.truncate(limit as usize);
        Ok(rows)
    }

    async fn last_activity(&self, tenant: &TenantId, chatbot: &ChatbotId) -> Result<Option<Timestamp>, RepoError> {
        let rows = self.rows.lock().unwrap();
        let of_chatbot = rows.values().filter(|r| r.tenant_id == *tenant && r.chatbot_id == *chatbot);
        Ok(of_chatbot.map(|r| r.last_activity_at).max())
    }

    async fn list_waiting(&self, tenant: &TenantId, limit: u32) -> Result<Vec<Chatroom>, RepoError> {
        let mut rows = self.select(|r| r.tenant_id == *tenant && r.status == ChatroomStatus::Waiting);
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

    async fn next_seq(&self, tenant: &TenantId, id: &ChatroomId) -> Result<Option<u64>, RepoError> {
        let now = Timestamp::now();
        Ok(self.change(tenant, id, |room| chatrooms::next_seq(room, now)).map(|r| r.last_seq))
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
        let mut rows: Vec<Chatroom> = self
            .rows
            .lock()
            .unwrap()
            .values()
            .filter(|r| r.status == ChatroomStatus::Standby && r.standby_until.is_some_and(|until| until <= now))
            .cloned()
            .collect();
        rows.sort_by_key(|r| (r.standby_until, r.id.to_string()));
        rows.truncate(limit as usize);
        Ok(rows)
    }

    async fn request_transcript(&self, tenant: &TenantId, id: &ChatroomId) -> Result<Option<Chatroom>, RepoError> {
        Ok(self.change(tenant, id, chatrooms::transcript))
    }

    async fn list_unclaimed(&self, waiting_since: Timestamp, limit: u32) -> Result<Vec<Chatroom>, RepoError> {
        let mut rows: Vec<Chatroom> =
            self.rows.lock().unwrap().values().filter(|r| chatrooms::unclaimed(r, waiting_since)).cloned().collect();
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

#[derive(Default)]
pub(super) struct MemoryMessages {
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

    async fn list_sent_between(
        &self,
        tenant: &TenantId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SentMessage>, RepoError> {
        let rows = self.rows.lock().unwrap();
        let mut sent: Vec<&Message> =
            rows.values().filter(|m| m.tenant_id == *tenant && m.sent_at >= from && m.sent_at < to).collect();
        sent.sort_by_key(|m| (m.sent_at, m.id.to_string()));
        Ok(sent.into_iter().map(SentMessage::from).collect())
    }

    async fn find_by_client_id(
        &self,
        tenant: &TenantId,
        chatroom: &ChatroomId,
        id: &ClientMsgId,
    ) -> Result<Option<Message>, RepoError> {
        let rows = self.rows.lock().unwrap();
        Ok(rows
            .values()
            .find(|m| m.tenant_id == *tenant && m.chatroom_id == *chatroom && m.client_msg_id == *id)
            .cloned())
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

#[derive(Default)]
pub(super) struct MemoryBlocks {
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
        Ok(self.rows.lock().unwrap().values().any(|b| blocks::matches(b, tenant, chatbot, email, ip)))
    }
}
