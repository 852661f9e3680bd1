//! A tenant: one business using Parley, owner of its users, roles, chatbots and chatrooms.

use serde::{Deserialize, Serialize};

use super::{Name, TenantId, Timestamp};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    #[serde(rename = "_id")]
    pub id: TenantId,
    pub name: Name,
    /// The name emails to the tenant's visitors come from (`Acme Support <noreply@...>`); the
    /// tenant's name when not set.
    #[serde(default)]
    pub email_sender_name: Option<Name>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Tenant {
    pub fn new(name: Name) -> Self {
        let now = Timestamp::now();
        Self { id: TenantId::new(), name, email_sender_name: None, created_at: now, updated_at: now }
    }

    /// The display name of emails sent on the tenant's behalf.
    pub fn sender_name(&self) -> &Name {
        self.email_sender_name.as_ref().unwrap_or(&self.name)
    }
}

/// A partial update of a tenant: `None` leaves the field as it is; `emailSenderName:
/// Some(None)` goes back to the tenant's name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantPatch {
    pub name: Option<Name>,
    pub email_sender_name: Option<Option<Name>>,
}

impl TenantPatch {
    /// Applies the patch in place (the in-memory repository; MongoDB sets the same fields).
    pub fn apply_to(&self, tenant: &mut Tenant, now: Timestamp) {
        if let Some(name) = &self.name {
            tenant.name = name.clone();
        }
        if let Some(sender) = &self.email_sender_name {
            tenant.email_sender_name = sender.clone();
        }
        tenant.updated_at = now;
    }
}
