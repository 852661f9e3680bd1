//! Sessions: what login starts, refresh rotates and logout ends.
//!
//! A refresh token reads `prt_<session id>.<secret>`: the session id says which family it
//! belongs to, the secret (256 random bits) proves possession. Only its SHA-256 is stored.

use std::{net::IpAddr, time::Duration};

use shared::{
    ApiError,
    auth::secret::{constant_time_eq, is_random_token, random_token, sha256_hex},
    domain::{Permission, Session, SessionId, Timestamp, User, UserStatus},
    repos::Rotation,
};

use crate::{AppState, views::TokensView};

const PREFIX: &str = "prt_";

/// A refresh token, parsed.
pub struct RefreshToken {
    session: SessionId,
    text: String,
}

impl RefreshToken {
    fn fresh(session: SessionId) -> Self {
        Self { session, text: format!("{PREFIX}{session}.{}", random_token()) }
    }

    /// `None` for anything that is not shaped like one of ours: refused before any look-up.
    pub fn parse(text: &str) -> Option<Self> {
        let (session, secret) = text.strip_prefix(PREFIX)?.split_once('.')?;
        if !is_random_token(secret) {
            return None;
        }
        Some(Self { session: session.parse().ok()?, text: text.to_owned() })
    }

    fn hash(&self) -> String {
        sha256_hex(&self.text)
    }
}

fn invalid() -> ApiError {
    ApiError::unauthorized("invalid_refresh_token", "the refresh token is not valid; log in again")
}

fn plus(now: Timestamp, ttl: Duration) -> Timestamp {
    now.plus(time::Duration::try_from(ttl).unwrap_or(time::Duration::MAX))
}

/// 403 `user_disabled` or `ip_not_allowed` when the user may not have tokens from `ip`.
pub fn check_may_sign_in(user: &User, ip: IpAddr) -> Result<(), ApiError> {
    if user.status == UserStatus::Disabled {
        return Err(ApiError::forbidden("user_disabled", "this user is disabled; ask an admin"));
    }
    if !user.ip_addresses.allows(ip) {
        return Err(ApiError::forbidden("ip_not_allowed", "signing in from this address is not allowed for this user"));
    }
    Ok(())
}

/// The user's effective permissions, from their roles as stored now.
pub async fn permissions_of(state: &AppState, user: &User) -> Result<Vec<Permission>, ApiError> {
    Ok(user.permissions(&state.repos.roles.list(&user.tenant_id).await?))
}

/// A fresh pair, before it is handed over (all in the body, or the refresh token in a cookie:
/// [`crate::refresh_cookie`]).
pub struct Issued {
    pub tokens: TokensView,
    pub refresh_expires_at: Timestamp,
}

fn tokens(
    state: &AppState,
    user: &User,
    permissions: Vec<Permission>,
    refresh: &RefreshToken,
    expires_at: Timestamp,
) -> Issued {
    let access = state.tokens.issue(user.id, user.tenant_id, permissions);
    let tokens = TokensView {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in.as_secs(),
        refresh_token: Some(refresh.text.clone()),
        refresh_expires_at: expires_at.to_rfc3339(),
    };
    Issued { tokens, refresh_expires_at: expires_at }
}

/// Starts a session for a user who just proved who they are (login, sign-up).
pub async fn start(state: &AppState, user: &User, ip: IpAddr) -> Result<Issued, ApiError> {
    let now = Timestamp::now();
    let refresh = RefreshToken::fresh(SessionId::new());
    let expires_at = plus(now, state.policy.refresh_ttl);
    let session = Session {
        id: refresh.session,
        tenant_id: user.tenant_id,
        user_id: user.id,
        hash: refresh.hash(),
        expires_at,
        rotated_hashes: Vec::new(),
        ip: ip.to_string(),
        created_at: now,
        last_used_at: now,
    };
    state.repos.sessions.delete_expired_for_user(&user.tenant_id, &user.id, now).await?;
    state.repos.sessions.insert(&session).await?;
    let permissions = permissions_of(state, user).await?;
    Ok(tokens(state, user, permissions, &refresh, expires_at))
}

/// Trades a refresh token for a new pair. A token that was already rotated revokes its session.
pub async fn refresh(state: &AppState, text: &str, ip: IpAddr) -> Result<Issued, ApiError> {
    let presented = RefreshToken::parse(text).ok_or_else(invalid)?;
    let sessions = &state.repos.sessions;
    let session = sessions.get(&presented.session).await?.ok_or_else(invalid)?;
    let hash = presented.hash();
    if !constant_time_eq(&session.hash, &hash) {
        if session.rotated_hashes.iter().any(|old| constant_time_eq(old, &hash)) {
            sessions.delete(&session.id).await?;
            tracing::warn!(session = %session.id, user = %session.user_id, "a rotated refresh token was reused; session revoked");
            return Err(reused());
        }
        return Err(invalid());
    }
    let now = Timestamp::now();
    if session.expires_at < now {
        sessions.delete(&session.id).await?;
        return Err(invalid());
    }
    let Some(user) = state.repos.users.get(&session.tenant_id, &session.user_id).await? else {
        sessions.delete(&session.id).await?;
        return Err(invalid());
    };
    check_may_sign_in(&user, ip)?;

    let next = RefreshToken::fresh(session.id);
    let expires_at = plus(now, state.policy.refresh_ttl);
    let rotation = Rotation { old_hash: hash, new_hash: next.hash(), expires_at, ip: ip.to_string() };
    if !sessions.rotate(&session, &rotation).await? {
        // Another request rotated this very token first: two holders of one token.
        sessions.delete(&session.id).await?;
        return Err(reused());
    }
    let permissions = permissions_of(state, &user).await?;
    Ok(tokens(state, &user, permissions, &next, expires_at))
}

fn reused() -> ApiError {
    ApiError::unauthorized(
        "refresh_token_reused",
        "this refresh token was already used; the session is revoked, log in again",
    )
}

/// Ends the token's session. Unknown and malformed tokens end nothing, silently.
pub async fn end(state: &AppState, text: &str) -> Result<(), ApiError> {
    let Some(presented) = RefreshToken::parse(text) else { return Ok(()) };
    let Some(session) = state.repos.sessions.get(&presented.session).await? else { return Ok(()) };
    let hash = presented.hash();
    let known =
        constant_time_eq(&session.hash, &hash) || session.rotated_hashes.iter().any(|h| constant_time_eq(h, &hash));
    if known {
        state.repos.sessions.delete(&session.id).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_round_trip_and_malformed_ones_are_refused() {
        let token = RefreshToken::fresh(SessionId::new());
        let parsed = RefreshToken::parse(&token.text).unwrap();
        assert_eq!(parsed.session, token.session);
        assert_eq!(parsed.hash(), token.hash());
        for bad in ["", "prt_", "prt_x.y", &token.text[..token.text.len() - 1], &token.text.replace("prt_", "xyz_")] {
            assert!(RefreshToken::parse(bad).is_none(), "{bad:?}");
        }
    }
}
