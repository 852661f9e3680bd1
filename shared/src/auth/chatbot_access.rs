//! The one check every widget request passes: tenant id + API key + `Origin` → the chatbot, or
//! a precise refusal. The socket-node calls it when a visitor session starts.
//!
//! In order, so a refusal never says more than the caller already knows:
//! 1. the key's shape and checksum (`api_key_invalid`, before any look-up);
//! 2. the chatbot the key names, in the given tenant (`api_key_invalid` when there is none);
//! 3. the key against the chatbot's keys (`api_key_revoked` for a revoked key or one past its
//!    grace period, `api_key_invalid` for any other);
//! 4. the chatbot's status (`chatbot_disabled`);
//! 5. the origin against its allowed origins (`origin_not_allowed`).
//!
//! Then [`ChatbotAccess::check_identity`] checks a signed visitor identity
//! (`identity_invalid`, `identity_required`).
//!
//! Chatbots are cached in Redis for [`CACHE_TTL`] under `<prefix>chatbot:<id>`, shared by every
//! process. A change to a chatbot calls [`ChatbotAccess::invalidate`] after it is stored, which
//! overwrites the entry with a short-lived tombstone: readers that loaded the old document
//! before the change cannot put it back (they only fill an empty entry, `SET NX`), so every
//! process sees the change on its next request. When Redis fails, the check reads MongoDB.

use std::{sync::Arc, time::Duration};

use axum::http::StatusCode;
use redis::AsyncCommands as _;

use super::{ApiKey, IdentityKeys, UnknownIdentityKey};
use crate::{
    ApiError,
    domain::{Chatbot, ChatbotId, ChatbotStatus, KeyStanding, Origin, TenantId, Timestamp},
    redis::Redis,
    repos::{ChatbotRepo, RepoError},
};

/// How long a cached chatbot is trusted without a change being announced.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// How long an invalidation keeps readers from caching what they read before it.
const TOMBSTONE_TTL: Duration = Duration::from_secs(10);
const TOMBSTONE: &str = "invalidated";

/// Why a widget request was refused. Each has its own stable code.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("the API key is not valid")]
    ApiKeyInvalid,
    #[error("the API key has been revoked; use the chatbot's current key")]
    ApiKeyRevoked,
    #[error("this chatbot is disabled")]
    ChatbotDisabled,
    #[error("this chatbot may not be used from this origin")]
    OriginNotAllowed,
    #[error("this chatbot accepts only visitors whose identity is signed; send the email's signature")]
    IdentityRequired,
    #[error("the identity signature does not match the email")]
    IdentityInvalid,
    #[error(transparent)]
    IdentityUnavailable(#[from] UnknownIdentityKey),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl AccessError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::ApiKeyInvalid => "api_key_invalid",
            Self::ApiKeyRevoked => "api_key_revoked",
            Self::ChatbotDisabled => "chatbot_disabled",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::IdentityRequired => "identity_required",
            Self::IdentityInvalid => "identity_invalid",
            Self::IdentityUnavailable(_) => "internal_error",
            Self::Repo(_) => "service_unavailable",
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(err: AccessError) -> Self {
        let status = match err {
            AccessError::Repo(repo) => return repo.into(),
            AccessError::IdentityUnavailable(source) => return ApiError::internal(source),
            AccessError::ApiKeyInvalid
            | AccessError::ApiKeyRevoked
            | AccessError::IdentityRequired
            | AccessError::IdentityInvalid => StatusCode::UNAUTHORIZED,
            AccessError::ChatbotDisabled | AccessError::OriginNotAllowed => StatusCode::FORBIDDEN,
        };
        ApiError::new(status, err.code(), err.to_string())
    }
}

/// Who a visitor is, as far as the chatbot can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitorIdentity {
    /// The tenant's backend signed the visitor's email.
    Verified,
    /// No signature came, and the chatbot does not ask for one.
    Unverified,
}

/// Checks widget credentials; cheap to clone. Without Redis (`scripts/dev --memory`) it reads the
/// repository every time.
#[derive(Clone)]
pub struct ChatbotAccess {
    chatbots: Arc<dyn ChatbotRepo>,
    identity: IdentityKeys,
    cache: Option<Redis>,
}

impl ChatbotAccess {
    pub fn new(chatbots: Arc<dyn ChatbotRepo>, identity: IdentityKeys, cache: Option<Redis>) -> Self {
        Self { chatbots, identity, cache }
    }

    /// The chatbot `api_key` opens in `tenant`, if the request's `Origin` header (`None` when
    /// absent) is allowed. An `Origin` that does not parse (`null`, from sandboxed frames and
    /// files) is treated as absent: only `*` allows it.
    pub async fn verify(&self, tenant: &TenantId, api_key: &str, origin: Option<&str>) -> Result<Chatbot, AccessError> {
        let key = ApiKey::parse(api_key).map_err(|_| AccessError::ApiKeyInvalid)?;
        let chatbot = self.load(tenant, key.chatbot_id()).await?.ok_or(AccessError::ApiKeyInvalid)?;
        match chatbot.api_keys.standing(&key.hash(), Timestamp::now()) {
            KeyStanding::Valid => {}
            KeyStanding::Revoked => return Err(AccessError::ApiKeyRevoked),
            KeyStanding::Unknown => return Err(AccessError::ApiKeyInvalid),
        }
        if chatbot.status == ChatbotStatus::Disabled {
            return Err(AccessError::ChatbotDisabled);
        }
        let origin = origin.and_then(|o| o.parse::<Origin>().ok());
        if !chatbot.allows_origin(origin.as_ref()) {
            return Err(AccessError::OriginNotAllowed);
        }
        Ok(chatbot)
    }

    /// Checks a visitor's identity signature (`signature`, hex HMAC-SHA256 of `email` as sent)
    /// for `chatbot`. A signature that is sent must match, whether or not the chatbot enforces
    /// identity (`identity_invalid`); none at all is refused only when it does
    /// (`identity_required`).
    pub fn check_identity(
        &self,
        chatbot: &Chatbot,
        email: &str,
        signature: Option<&str>,
    ) -> Result<VisitorIdentity, AccessError> {
        let Some(signature) = signature else {
            return if chatbot.enforce_identity {
                Err(AccessError::IdentityRequired)
            } else {
                Ok(VisitorIdentity::Unverified)
            };
        };
        let secret = self.identity.secret(chatbot.id, &chatbot.identity_secret)?;
        if secret.verify(email, signature) { Ok(VisitorIdentity::Verified) } else { Err(AccessError::IdentityInvalid) }
    }

    /// Forgets the cached chatbot in every process. Call it after a change is stored.
    pub async fn invalidate(&self, chatbot: &ChatbotId) {
        let Some(redis) = &self.cache else { return };
        let key = cache_key(redis, chatbot);
        let mut conn = redis.conn.clone();
        let result: redis::RedisResult<()> = conn.set_ex(&key, TOMBSTONE, TOMBSTONE_TTL.as_secs()).await;
        if let Err(err) = result {
            // The entry, if any, expires within CACHE_TTL: the change shows by then.
            tracing::error!(chatbot_id = %chatbot, error = %err, "chatbot cache not invalidated");
        }
    }

    async fn load(&self, tenant: &TenantId, id: ChatbotId) -> Result<Option<Chatbot>, RepoError> {
        let Some(redis) = &self.cache else { return self.chatbots.get(tenant, &id).await };
        let key = cache_key(redis, &id);
        let mut conn = redis.conn.clone();
        match conn.get::<_, Option<String>>(&key).await {
            Ok(Some(cached)) if cached != TOMBSTONE => {
                if let Ok(chatbot) = serde_json::from_str::<Chatbot>(&cached) {
                    return Ok((chatbot.tenant_id == *tenant).then_some(chatbot));
                }
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "chatbot cache unavailable; reading MongoDB"),
        }
        let Some(chatbot) = self.chatbots.get(tenant, &id).await? else { return Ok(None) };
        if let Ok(json) = serde_json::to_string(&chatbot) {
            let options = redis::SetOptions::default()
                .conditional_set(redis::ExistenceCheck::NX)
                .with_expiration(redis::SetExpiry::EX(CACHE_TTL.as_secs()));
            let result: redis::RedisResult<Option<String>> = conn.set_options(&key, json, options).await;
            if let Err(err) = result {
                tracing::warn!(error = %err, "chatbot not cached");
            }
        }
        Ok(Some(chatbot))
    }
}

fn cache_key(redis: &Redis, chatbot: &ChatbotId) -> String {
    redis.keys.key(&["chatbot", &chatbot.to_string()])
}
