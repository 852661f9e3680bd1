//! In-memory repositories: the embedded default's storage, held to the same contract as MongoDB.
//! Each lock is taken and released within one synchronous block, never across an `.await`.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{
    ChatbotRepo, RepoError, RolePatch, RoleRepo, Rotation, SessionRepo, TenantRepo, UserRepo,
    chatbots::{chatbot_changed, chatbot_not_found},
    roles::{role_name_taken, role_not_found},
    tenants::tenant_not_found,
    users::{email_taken, user_not_found},
};
use crate::domain::{
    Chatbot, ChatbotId, ChatbotPatch, EmailAddress, Name, PasswordChangeToken, Role, RoleId, SeenIp, Session,
    SessionId, Tenant, TenantId, Timestamp, User, UserId, UserPatch,
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

    async fn rename(&self, id: &TenantId, name: &Name) -> Result<Tenant, RepoError> {
        let mut rows = self.rows.lock().unwrap();
        let tenant = rows.get_mut(id).ok_or_else(tenant_not_found)?;
        tenant.name = name.clone();
        tenant.updated_at = Timestamp::now();
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
