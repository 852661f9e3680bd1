//! The signed-in agent or admin, as an axum extractor.

use axum::{
    extract::{FromRef, FromRequestParts},
    http::{header::AUTHORIZATION, request::Parts},
};

use super::{AccessTokens, TokenError};
use crate::{
    ApiError,
    domain::{Permission, TenantId, UserId},
};

/// Who is calling: verified from `Authorization: Bearer <access token>`. A handler that takes an
/// `Agent` never runs for an anonymous caller, and every query it makes is scoped by
/// `agent.tenant_id`.
///
/// A middleware that already verified the caller (say, to refuse a missing permission before
/// the handler reads the body) puts the `Agent` in the request's extensions; the extractor then
/// takes that one instead of verifying the token again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub user_id: UserId,
    pub tenant_id: TenantId,
    pub permissions: Vec<Permission>,
}

impl Agent {
    /// 403 `permission_denied` unless the agent holds `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.holds(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden("permission_denied", format!("this needs the {permission} permission")))
        }
    }

    pub fn holds(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

impl<S> FromRequestParts<S> for Agent
where
    S: Send + Sync,
    AccessTokens: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(agent) = parts.extensions.get::<Agent>() {
            return Ok(agent.clone());
        }
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = header
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("missing_token", "send an access token as Authorization: Bearer"))?;
        let claims = AccessTokens::from_ref(state).verify(token).map_err(|e| match e {
            TokenError::Expired => ApiError::unauthorized("token_expired", "the access token has expired; refresh it"),
            TokenError::Invalid => ApiError::unauthorized("invalid_token", "the access token is not valid"),
        })?;
        Ok(Self { user_id: claims.sub, tenant_id: claims.tid, permissions: claims.perms })
    }
}
