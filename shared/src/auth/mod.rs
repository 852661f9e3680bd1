//! Authentication shared by every Parley service.
//!
//! - [`AccessTokens`] signs and verifies agents' access tokens and [`ChatroomTokens`] visitors'
//!   chatroom tokens (JWT, HS256 pinned, told apart by audience, `kid` header naming one of the
//!   configured keys, so keys can be rotated: add the new key first, sign with it, drop the old
//!   one once its tokens have expired);
//! - [`Agent`] is the axum extractor every route that needs a signed-in agent or admin takes: it
//!   reads `Authorization: Bearer`, verifies the token and answers 401 otherwise, and
//!   [`Agent::require`] answers 403 without the permission;
//! - [`ApiKey`] is a chatbot's API key (prefixed, with a checksum, so a malformed key is refused
//!   before any look-up) and [`IdentityKeys`] derives and checks chatbots' identity secrets
//!   (signed visitor identity); [`ChatbotAccess`] is the check every widget request passes
//!   (tenant id + API key + origin → the chatbot);
//! - [`secret`] makes and hashes the opaque tokens (refresh, password-reset);
//! - [`keyring`] reads the server's `kid:secret` key lists.

mod agent;
mod api_key;
mod chatbot_access;
mod identity;
mod jwt;
pub mod keyring;
pub mod secret;

pub use agent::Agent;
pub use api_key::{ApiKey, MalformedApiKey};
pub use chatbot_access::{AccessError, CACHE_TTL, ChatbotAccess, VisitorIdentity};
pub use identity::{IdentityKeys, IdentitySecret, UnknownIdentityKey};
pub use jwt::{
    AGENT_AUDIENCE, AccessClaims, AccessTokens, AuthConfig, ChatroomClaims, ChatroomTokens, IssuedToken, LEEWAY_SECS,
    REQUIRED_CLAIMS, TokenError, VISITOR_AUDIENCE,
};
pub use keyring::SecretKey;
