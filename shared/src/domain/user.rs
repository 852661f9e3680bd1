//! A user: an agent or admin of one tenant. Email addresses are unique across Parley, because
//! login takes an email and a password and finds the tenant from the user.

use serde::{Deserialize, Serialize};

use super::{EmailAddress, Name, RoleId, TenantId, Timestamp, UserId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(rename = "_id")]
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: EmailAddress,
    pub name: Name,
    /// An argon2id PHC string; never serialised into an API response (responses use their own types).
    pub password_hash: String,
    pub role_ids: Vec<RoleId>,
    /// Permissions granted to this user beyond their roles.
    pub grants: Vec<String>,
    /// Permissions taken from this user whatever their roles say.
    pub denies: Vec<String>,
    pub assigning: Assigning,
    pub status: UserStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Whether the agent takes chatrooms, and how many at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assigning {
    pub enabled: bool,
    pub max_concurrent: u32,
}

impl Default for Assigning {
    fn default() -> Self {
        Self { enabled: true, max_concurrent: 5 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    /// Cannot log in; existing sessions fail at their next refresh.
    Disabled,
}

impl UserStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

/// A partial update of a user: `None` leaves the field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPatch {
    pub name: Option<Name>,
    pub password_hash: Option<String>,
    pub role_ids: Option<Vec<RoleId>>,
    pub grants: Option<Vec<String>>,
    pub denies: Option<Vec<String>>,
    pub assigning: Option<Assigning>,
    pub status: Option<UserStatus>,
}

impl UserPatch {
    /// Applies the patch in place (the in-memory repository and tests use it; MongoDB applies
    /// the same fields with `$set`).
    pub fn apply_to(&self, user: &mut User, now: Timestamp) {
        if let Some(name) = &self.name {
            user.name = name.clone();
        }
        if let Some(hash) = &self.password_hash {
            user.password_hash = hash.clone();
        }
        if let Some(role_ids) = &self.role_ids {
            user.role_ids = role_ids.clone();
        }
        if let Some(grants) = &self.grants {
            user.grants = grants.clone();
        }
        if let Some(denies) = &self.denies {
            user.denies = denies.clone();
        }
        if let Some(assigning) = self.assigning {
            user.assigning = assigning;
        }
        if let Some(status) = self.status {
            user.status = status;
        }
        user.updated_at = now;
    }
}

impl User {
    pub fn new(
        tenant_id: TenantId,
        email: EmailAddress,
        name: Name,
        password_hash: String,
        role_ids: Vec<RoleId>,
    ) -> Self {
        let now = Timestamp::now();
        Self {
            id: UserId::new(),
            tenant_id,
            email,
            name,
            password_hash,
            role_ids,
            grants: Vec::new(),
            denies: Vec::new(),
            assigning: Assigning::default(),
            status: UserStatus::Active,
            created_at: now,
            updated_at: now,
        }
    }
}
