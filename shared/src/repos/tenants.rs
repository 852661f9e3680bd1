use async_trait::async_trait;

use super::RepoError;
use crate::domain::{Name, Tenant, TenantId};

/// Tenants. A tenant is its own scope, so its id is the only key.
#[async_trait]
pub trait TenantRepo: Send + Sync {
    async fn insert(&self, tenant: &Tenant) -> Result<(), RepoError>;

    async fn get(&self, id: &TenantId) -> Result<Option<Tenant>, RepoError>;

    /// Renames the tenant; `tenant_not_found` when it does not exist.
    async fn rename(&self, id: &TenantId, name: &Name) -> Result<Tenant, RepoError>;

    /// Removes the tenant's own row (sign-up undoes a half-made tenant with it); `tenant_not_found`
    /// when it does not exist.
    async fn delete(&self, id: &TenantId) -> Result<(), RepoError>;
}

pub(super) fn tenant_not_found() -> RepoError {
    RepoError::not_found("tenant_not_found", "no such tenant")
}
