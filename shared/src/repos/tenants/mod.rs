//! Tenants: a tenant is its own scope, so its id is the only key (no index beyond `_id`).

mod memory;
mod mongo;

use async_trait::async_trait;

use super::RepoError;
use crate::domain::{Tenant, TenantId, TenantPatch};

pub(super) use memory::MemoryTenants;
pub(super) use mongo::MongoTenants;

/// Tenants. A tenant is its own scope, so its id is the only key.
#[async_trait]
pub trait TenantRepo: Send + Sync {
    async fn insert(&self, tenant: &Tenant) -> Result<(), RepoError>;

    async fn get(&self, id: &TenantId) -> Result<Option<Tenant>, RepoError>;

    /// Applies `patch` and answers the updated tenant; `tenant_not_found` when it does not exist.
    async fn update(&self, id: &TenantId, patch: &TenantPatch) -> Result<Tenant, RepoError>;

    /// Removes the tenant's own row (sign-up undoes a half-made tenant with it); `tenant_not_found`
    /// when it does not exist.
    async fn delete(&self, id: &TenantId) -> Result<(), RepoError>;
}

pub(super) fn tenant_not_found() -> RepoError {
    RepoError::not_found("tenant_not_found", "no such tenant")
}
