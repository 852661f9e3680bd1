//! Sessions: one per sign-in, a refresh-token family.

mod memory;
mod mongo;

use async_trait::async_trait;

use super::RepoError;
use crate::domain::{Session, SessionId, TenantId, Timestamp, UserId};

pub(super) use memory::MemorySessions;
pub(super) use mongo::{MongoSessions, ensure_indexes};

/// How a rotation should change a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub old_hash: String,
    pub new_hash: String,
    pub expires_at: Timestamp,
    pub ip: String,
}

/// Signed-in sessions (refresh-token families).
#[async_trait]
pub trait SessionRepo: Send + Sync {
    async fn insert(&self, session: &Session) -> Result<(), RepoError>;

    /// The session a refresh token names. Session ids are unique across tenants and only a
    /// token's holder knows one, so this is looked up before the tenant is known.
    async fn get(&self, id: &SessionId) -> Result<Option<Session>, RepoError>;

    /// Replaces the current token's hash, if it is still `rotation.old_hash`, atomically; the old
    /// hash joins `rotatedHashes`. `Ok(false)` when another refresh won the race or the session is
    /// gone.
    async fn rotate(&self, session: &Session, rotation: &Rotation) -> Result<bool, RepoError>;

    /// Revokes one session (logout, reuse detected). Revoking an unknown session is not an error.
    async fn delete(&self, id: &SessionId) -> Result<(), RepoError>;

    /// Revokes every session of the user (password changed, user disabled or deleted).
    async fn delete_for_user(&self, tenant: &TenantId, user: &UserId) -> Result<(), RepoError>;

    /// Forgets the user's sessions that expired before `now` (run at login, so a user's expired
    /// sessions never pile up).
    async fn delete_expired_for_user(&self, tenant: &TenantId, user: &UserId, now: Timestamp) -> Result<(), RepoError>;
}
