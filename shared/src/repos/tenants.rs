use async_trait::async_trait;

use super::RepoError;
use crate::domain::{Tenant, TenantId, TenantPatch};

/// Tenants. A tenant is its own scope, so its id is the only key.
#[async_trait]
pub trait TenantRepo: Send + Sync {
    async fn insert(&self, tenant: &Tenant) -> Result<(), RepoError>;

    async fn get(&self, id: &TenantId) -> Result<Option<Tenant>, RepoError>;

    /// Tenant ids in id order, those after `after` (all when `None`), at most `limit`: how a job
    /// that visits every tenant pages through them.
    async fn list_ids(&self, after: Option<&TenantId>, limit: u32) -> Result<Vec<TenantId>, RepoError>;

    /// Applies `patch` and answers the updated tenant; `tenant_not_found` when it does not exist.
    async fn update(&self, id: &TenantId, patch: &TenantPatch) -> Result<Tenant, RepoError>;

    /// Removes the tenant's own row (sign-up undoes a half-made tenant with it); `tenant_not_found`
    /// when it does not exist.
    async fn delete(&self, id: &TenantId) -> Result<(), RepoError>;
}

pub(super) fn tenant_not_found() -> RepoError {
    RepoError::not_found("tenant_not_found", "no such tenant")
}
