//! A role: a named set of permissions within one tenant. Every tenant gets an `admin` role with
//! every permission when it is created; a user's effective permissions are the union of their
//! roles' permissions and their grants, minus their denies.

use serde::{Deserialize, Serialize};

use super::{Name, RoleId, TenantId, Timestamp};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    #[serde(rename = "_id")]
    pub id: RoleId,
    pub tenant_id: TenantId,
    pub name: Name,
    pub permissions: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Role {
    pub fn new(tenant_id: TenantId, name: Name, permissions: Vec<String>) -> Self {
        let now = Timestamp::now();
        Self { id: RoleId::new(), tenant_id, name, permissions, created_at: now, updated_at: now }
    }
}
