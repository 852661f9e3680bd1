//! Tenants in process memory.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{TenantRepo, tenant_not_found};
use crate::{
    domain::{Tenant, TenantId, TenantPatch, Timestamp},
    repos::RepoError,
};

#[derive(Default)]
pub(in crate::repos) struct MemoryTenants {
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
