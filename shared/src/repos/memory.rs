//! In-memory repositories: the embedded default's storage, held to the same contract as MongoDB.
//! Each lock is taken and released within one synchronous block, never across an `.await`.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{
    RepoError, RolePatch, RoleRepo, TenantRepo, UserRepo,
    roles::{role_name_taken, role_not_found},
    tenants::tenant_not_found,
    users::{email_taken, user_not_found},
};
use crate::domain::{EmailAddress, Name, Role, RoleId, Tenant, TenantId, Timestamp, User, UserId, UserPatch};

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
