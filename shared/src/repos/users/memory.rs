//! Users in process memory.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{UserRepo, email_taken, user_not_found};
use crate::{
    domain::{EmailAddress, PasswordChangeToken, RoleId, SeenIp, TenantId, Timestamp, User, UserId, UserPatch},
    repos::{RepoError, oldest_first},
};

#[derive(Default)]
pub(in crate::repos) struct MemoryUsers {
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
