//! Set-password tokens: what an invitation (valid 7 days) and a password reset (30 minutes) mail
//! to the user. A token reads `pwt_<tenant id>.<user id>.<secret>`; only its SHA-256 is stored, in
//! the user's `passwordChangeToken`, and confirming consumes it in one conditional write.

use shared::{
    auth::secret::{is_random_token, random_token, sha256_hex},
    domain::{PasswordChangeToken, TenantId, Timestamp, User, UserId},
};

/// A set-password token as mailed: `pwt_<tenant id>.<user id>.<secret>`.
pub struct SetPasswordToken {
    pub tenant: TenantId,
    pub user: UserId,
    pub text: String,
}

impl SetPasswordToken {
    const PREFIX: &str = "pwt_";

    pub fn fresh(tenant: TenantId, user: UserId) -> Self {
        Self { tenant, user, text: format!("{}{tenant}.{user}.{}", Self::PREFIX, random_token()) }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.strip_prefix(Self::PREFIX)?.split('.');
        let (tenant, user, secret) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !is_random_token(secret) {
            return None;
        }
        Some(Self { tenant: tenant.parse().ok()?, user: user.parse().ok()?, text: text.to_owned() })
    }

    /// What is stored: the hash and the expiry.
    pub fn stored(&self, expires_at: Timestamp) -> PasswordChangeToken {
        PasswordChangeToken { hash: sha256_hex(&self.text), expires_at }
    }
}

/// A fresh set-password token for the user, valid for `ttl`, and what to store of it.
pub fn new_set_password_token(user: &User, ttl: std::time::Duration) -> (SetPasswordToken, PasswordChangeToken) {
    let token = SetPasswordToken::fresh(user.tenant_id, user.id);
    let expires_at = Timestamp::now().plus(time::Duration::try_from(ttl).unwrap_or(time::Duration::MAX));
    let stored = token.stored(expires_at);
    (token, stored)
}
