//! What the API answers: the stored aggregates as clients see them (no hashes, no tokens).

use serde::Serialize;
use shared::domain::{Assigning, Permission, Role, Tenant, User};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    #[schema(value_type = String, format = "uuid")]
    pub id: String,
    pub name: String,
    /// The name emails to visitors come from (the tenant's name unless set).
    pub email_sender_name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: String,
}

impl From<&Tenant> for TenantView {
    fn from(t: &Tenant) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name.to_string(),
            email_sender_name: t.sender_name().to_string(),
            created_at: t.created_at.to_rfc3339(),
            updated_at: t.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    #[schema(value_type = String, format = "uuid")]
    pub id: String,
    #[schema(value_type = String, format = "uuid")]
    pub tenant_id: String,
    pub email: String,
    pub name: String,
    pub role_ids: Vec<String>,
    pub grants: Vec<String>,
    pub denies: Vec<String>,
    /// Effective permissions: the roles' and the grants, minus the denies.
    pub permissions: Vec<String>,
    pub assigning: AssigningView,
    /// `active` or `disabled`.
    pub status: String,
    pub ip_addresses: IpAddressesView,
    /// Whether the user has set a password (an invited user has not, yet).
    pub password_set: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssigningView {
    /// Whether the agent takes chatrooms from the queue.
    pub enabled: bool,
    /// How many chatrooms they take at once (1 to 100).
    pub max_concurrent: u32,
}

impl From<Assigning> for AssigningView {
    fn from(a: Assigning) -> Self {
        Self { enabled: a.enabled, max_concurrent: a.max_concurrent }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IpAddressesView {
    /// Recent login addresses, newest first.
    pub seen: Vec<SeenIpView>,
    /// When not empty, the only addresses or networks login and refresh are allowed from.
    pub allow_list: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeenIpView {
    pub ip: String,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: String,
}

fn names(permissions: &[Permission]) -> Vec<String> {
    permissions.iter().map(|p| p.as_str().to_owned()).collect()
}

impl UserView {
    pub fn new(user: &User, permissions: &[Permission]) -> Self {
        Self {
            id: user.id.to_string(),
            tenant_id: user.tenant_id.to_string(),
            email: user.email.to_string(),
            name: user.name.to_string(),
            role_ids: user.role_ids.iter().map(ToString::to_string).collect(),
            grants: names(&user.grants),
            denies: names(&user.denies),
            permissions: names(permissions),
            assigning: user.assigning.into(),
            status: user.status.as_str().to_owned(),
            ip_addresses: IpAddressesView {
                seen: user
                    .ip_addresses
                    .seen
                    .iter()
                    .map(|s| SeenIpView { ip: s.ip.clone(), last_seen_at: s.last_seen_at.to_rfc3339() })
                    .collect(),
                allow_list: user.ip_addresses.allow_list.iter().map(ToString::to_string).collect(),
            },
            password_set: user.password_hash.is_some(),
            created_at: user.created_at.to_rfc3339(),
            updated_at: user.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleView {
    #[schema(value_type = String, format = "uuid")]
    pub id: String,
    pub name: String,
    pub permissions: Vec<String>,
    /// The `admin` role: every permission, never changed or deleted.
    pub builtin: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: String,
}

impl From<&Role> for RoleView {
    fn from(r: &Role) -> Self {
        Self {
            id: r.id.to_string(),
            name: r.name.to_string(),
            permissions: names(&r.permissions),
            builtin: r.is_admin(),
            created_at: r.created_at.to_rfc3339(),
            updated_at: r.updated_at.to_rfc3339(),
        }
    }
}

/// A fresh pair of tokens.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokensView {
    /// The access token (JWT), for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The single-use refresh token. Left out in cookie mode (`X-Parley-Refresh: cookie`), where
    /// it travels in the `parley_refresh` cookie instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refresh_token: Option<String>,
    /// When the refresh token stops working (in cookie mode too).
    #[schema(value_type = String, format = DateTime)]
    pub refresh_expires_at: String,
}
