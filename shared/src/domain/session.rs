//! A session: one refresh-token family, from a login to its logout or expiry.
//!
//! The refresh token itself is never stored, only its SHA-256 (`hash`). Every refresh replaces
//! `hash` with the new token's and keeps the old one in `rotatedHashes`, so a rotated token that
//! comes back (a stolen copy, or a client replaying) is recognised and the whole session is
//! revoked. Sessions live in their own collection rather than in the user's document: a refresh
//! is then one single-document compare-and-swap on the session (`hash` must still be the old
//! one), which MongoDB and FerretDB both do atomically, and a user's document does not grow with
//! their devices.

use serde::{Deserialize, Serialize};

use super::{SessionId, TenantId, Timestamp, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The family id; refresh tokens carry it.
    #[serde(rename = "_id")]
    pub id: SessionId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    /// SHA-256 (hex) of the current refresh token.
    pub hash: String,
    /// When the current refresh token stops working; every rotation pushes it forward.
    pub expires_at: Timestamp,
    /// Hashes of this family's earlier tokens, newest last, at most [`Session::ROTATED_KEPT`].
    #[serde(default)]
    pub rotated_hashes: Vec<String>,
    /// The client address at login and at the latest refresh.
    pub ip: String,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
}

impl Session {
    /// How many rotated hashes a session remembers for reuse detection. A token older than that
    /// is refused as unknown instead of revoking the session.
    pub const ROTATED_KEPT: usize = 50;

    /// `rotated_hashes` after the current token is replaced.
    pub fn rotated_after(&self) -> Vec<String> {
        let mut rotated = self.rotated_hashes.clone();
        rotated.push(self.hash.clone());
        let excess = rotated.len().saturating_sub(Self::ROTATED_KEPT);
        rotated.drain(..excess);
        rotated
    }
}
