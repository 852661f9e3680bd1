//! Authentication shared by every Parley service.
//!
//! - [`AccessTokens`] signs and verifies agents' access tokens (JWT, HS256 pinned, `kid` header
//!   naming one of the configured keys, so keys can be rotated: add the new key first, sign with
//!   it, drop the old one once its tokens have expired);
//! - [`Agent`] is the axum extractor every route that needs a signed-in agent or admin takes: it
//!   reads `Authorization: Bearer`, verifies the token and answers 401 otherwise, and
//!   [`Agent::require`] answers 403 without the permission;
//! - [`secret`] makes and hashes the opaque tokens (refresh, password-reset, API keys).

mod agent;
mod jwt;
pub mod secret;

pub use agent::Agent;
pub use jwt::{AccessClaims, AccessTokens, AuthConfig, IssuedToken, JwtKey, TokenError};
