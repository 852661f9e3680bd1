//! Roles: named sets of permissions, unique by name within a tenant.

mod memory;
mod mongo;

use async_trait::async_trait;

use super::RepoError;
use crate::domain::{Name, Permission, Role, RoleId, TenantId};

pub(super) use memory::MemoryRoles;
pub(super) use mongo::{MongoRoles, ensure_indexes};

/// A partial update of a role: `None` leaves the field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RolePatch {
    pub name: Option<Name>,
    pub permissions: Option<Vec<Permission>>,
}

/// Roles, unique by name within a tenant.
#[async_trait]
pub trait RoleRepo: Send + Sync {
    /// Stores a new role; `role_name_taken` (409) when the tenant has a role of that name.
    async fn insert(&self, role: &Role) -> Result<(), RepoError>;

    async fn get(&self, tenant: &TenantId, id: &RoleId) -> Result<Option<Role>, RepoError>;

    async fn find_by_name(&self, tenant: &TenantId, name: &Name) -> Result<Option<Role>, RepoError>;

    /// The tenant's roles, oldest first.
    async fn list(&self, tenant: &TenantId) -> Result<Vec<Role>, RepoError>;

    /// `role_not_found` for an unknown id, `role_name_taken` for a name already in use.
    async fn update(&self, tenant: &TenantId, id: &RoleId, patch: &RolePatch) -> Result<Role, RepoError>;

    /// `role_not_found` when the id is not one of the tenant's roles.
    async fn delete(&self, tenant: &TenantId, id: &RoleId) -> Result<(), RepoError>;
}

pub(super) fn role_not_found() -> RepoError {
    RepoError::not_found("role_not_found", "no such role")
}

pub(super) fn role_name_taken() -> RepoError {
    RepoError::conflict("role_name_taken", "the tenant already has a role with this name")
}
