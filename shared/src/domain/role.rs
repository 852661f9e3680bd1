//! A role: a named set of permissions within one tenant. Every tenant gets an `admin` role with
//! every permission when it is created; a user's effective permissions are the union of their
//! roles' permissions and their grants, minus their denies.

use serde::{Deserialize, Serialize};

use super::{Name, Permission, RoleId, TenantId, Timestamp};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    #[serde(rename = "_id")]
    pub id: RoleId,
    pub tenant_id: TenantId,
    pub name: Name,
    pub permissions: Vec<Permission>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Role {
    /// The name of the built-in role every tenant gets: every permission, never changed or deleted.
    pub const ADMIN: &str = "admin";

    pub fn new(tenant_id: TenantId, name: Name, permissions: Vec<Permission>) -> Self {
        let now = Timestamp::now();
        Self { id: RoleId::new(), tenant_id, name, permissions, created_at: now, updated_at: now }
    }

    /// The tenant's `admin` role, holding the whole catalogue.
    pub fn admin(tenant_id: TenantId) -> Self {
        Self::new(tenant_id, Name::from_admin_role(), Permission::ALL.to_vec())
    }

    pub fn is_admin(&self) -> bool {
        self.name.as_str() == Self::ADMIN
    }
}
