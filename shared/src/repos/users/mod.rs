//! Users (agents and admins): unique by email address across all tenants.

mod memory;
mod mongo;

use async_trait::async_trait;

use super::RepoError;
use crate::domain::{EmailAddress, PasswordChangeToken, RoleId, SeenIp, TenantId, User, UserId, UserPatch};

pub(super) use memory::MemoryUsers;
pub(super) use mongo::{MongoUsers, ensure_indexes};

/// Users (agents and admins).
#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Stores a new user; `email_taken` (409) when any user, in any tenant, has the address.
    async fn insert(&self, user: &User) -> Result<(), RepoError>;

    async fn get(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, RepoError>;

    /// The user with this address, whatever their tenant: login starts here, before the tenant
    /// is known. Nothing else may look users up across tenants.
    async fn find_by_email(&self, email: &EmailAddress) -> Result<Option<User>, RepoError>;

    /// The tenant's users, oldest first.
    async fn list(&self, tenant: &TenantId) -> Result<Vec<User>, RepoError>;

    /// Applies `patch` atomically and answers the updated user; `user_not_found` when the id is
    /// not one of the tenant's users.
    async fn update(&self, tenant: &TenantId, id: &UserId, patch: &UserPatch) -> Result<User, RepoError>;

    /// `user_not_found` when the id is not one of the tenant's users.
    async fn delete(&self, tenant: &TenantId, id: &UserId) -> Result<(), RepoError>;

    /// Stores a pending set-password token (replacing any earlier one); `user_not_found` when the
    /// id is not one of the tenant's users.
    async fn set_password_change_token(
        &self,
        tenant: &TenantId,
        id: &UserId,
        token: &PasswordChangeToken,
    ) -> Result<(), RepoError>;

    /// Sets the password if the pending token's hash is still `token_hash`, and removes the token,
    /// in one atomic write: a token works once. `Ok(false)` when the token was already used or
    /// replaced.
    async fn set_password_with_token(
        &self,
        tenant: &TenantId,
        id: &UserId,
        token_hash: &str,
        password_hash: &str,
    ) -> Result<bool, RepoError>;

    /// Records the addresses the user logged in from (`ipAddresses.seen`).
    async fn record_login(&self, tenant: &TenantId, id: &UserId, seen: &[SeenIp]) -> Result<(), RepoError>;

    /// How many of the tenant's users hold the role (a role in use cannot be deleted, and the
    /// last admin cannot be removed).
    async fn count_with_role(&self, tenant: &TenantId, role: &RoleId) -> Result<u64, RepoError>;
}

pub(super) fn user_not_found() -> RepoError {
    RepoError::not_found("user_not_found", "no such user")
}

pub(super) fn email_taken() -> RepoError {
    RepoError::conflict("email_taken", "a user with this email address already exists")
}
