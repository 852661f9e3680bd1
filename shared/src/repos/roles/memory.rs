//! Roles in process memory.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{RolePatch, RoleRepo, role_name_taken, role_not_found};
use crate::{
    domain::{Name, Role, RoleId, TenantId, Timestamp},
    repos::{RepoError, oldest_first},
};

#[derive(Default)]
pub(in crate::repos) struct MemoryRoles {
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
