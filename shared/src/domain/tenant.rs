//! A tenant: one business using Parley, owner of its users, roles, chatbots and chatrooms.

use serde::{Deserialize, Serialize};

use super::{Name, TenantId, Timestamp};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    #[serde(rename = "_id")]
    pub id: TenantId,
    pub name: Name,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Tenant {
    pub fn new(name: Name) -> Self {
        let now = Timestamp::now();
        Self { id: TenantId::new(), name, created_at: now, updated_at: now }
    }
}
