//! The two kinds of JWT Parley signs: agents' access tokens (short-lived, the tenant function
//! issues them) and visitors' chatroom tokens (one chatroom, the socket-node issues them).
//!
//! Both are signed with the same keyring and told apart by their audience, so a token of one
//! kind is never accepted as the other. The algorithm is pinned (HS256; a token claiming any
//! other is refused), and clock skew is allowed for explicitly ([`LEEWAY_SECS`]). Keys come from
//! `PARLEY_JWT_KEYS` as `kid:secret` pairs; the first signs, every one verifies.
//!
//! Every time claim is checked, each with the same leeway: `exp` must not have passed, `nbf`
//! (when present) must have come, and `iat` must not lie in the future. A token issued in the
//! future comes from a signer whose clock is wrong or from a stolen key minting tokens that
//! outlive their `exp`-based revocation window; either way it is refused as invalid. The claims
//! every token must carry are listed in [`REQUIRED_CLAIMS`]; the others (`tid`, `jti`, ...) are
//! required by the claim types themselves, which have no defaults.

use std::{sync::Arc, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::keyring::{self, SecretKey};
use crate::{
    config::{ConfigError, Env},
    domain::{ChatbotId, ChatroomId, Permission, TenantId, Timestamp, UserId},
};

/// The audience of agents' access tokens.
pub const AGENT_AUDIENCE: &str = "parley:agent";
/// The audience of visitors' chatroom tokens.
pub const VISITOR_AUDIENCE: &str = "parley:visitor";
/// How far apart the clocks of the signer and a verifier may be.
pub const LEEWAY_SECS: u64 = 5;
const ALGORITHM: Algorithm = Algorithm::HS256;
/// The registered claims a token is refused without.
pub const REQUIRED_CLAIMS: [&str; 4] = ["exp", "iat", "aud", "sub"];

/// `PARLEY_JWT_KEYS` (comma-separated `kid:secret`, secrets of at least 32 characters; the first
/// key signs) and `PARLEY_ACCESS_TOKEN_TTL_SECS` (default 900).
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub keys: Vec<SecretKey>,
    pub access_ttl: Duration,
}

impl AuthConfig {
    pub const KEYS_VAR: &str = "PARLEY_JWT_KEYS";

    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let keys = keyring::from_env(env, Self::KEYS_VAR)?;
        let ttl_secs: u64 = env.or("PARLEY_ACCESS_TOKEN_TTL_SECS", 900)?;
        if ttl_secs == 0 {
            return Err(ConfigError {
                var: "PARLEY_ACCESS_TOKEN_TTL_SECS".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(Self { keys, access_ttl: Duration::from_secs(ttl_secs) })
    }
}

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user.
    pub sub: UserId,
    /// Their tenant.
    pub tid: TenantId,
    /// Their effective permissions when the token was issued.
    pub perms: Vec<Permission>,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// A unique token id, for logs and revocation lists.
    pub jti: String,
}

/// A freshly signed access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_in: Duration,
}

/// Why a token was refused; each maps to a 401 with its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid")]
    Invalid,
}

struct Key {
    id: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// The keyring as `jsonwebtoken` keys: signs with the first, verifies with the one `kid` names.
#[derive(Clone)]
struct Signer {
    keys: Arc<Vec<Key>>,
}

impl Signer {
    fn new(config: &AuthConfig) -> Self {
        assert!(!config.keys.is_empty(), "AuthConfig always holds at least one key");
        let keys = config
            .keys
            .iter()
            .map(|k| {
                let secret = k.secret.expose_secret().as_bytes();
                Key {
                    id: k.id.clone(),
                    encoding: EncodingKey::from_secret(secret),
                    decoding: DecodingKey::from_secret(secret),
                }
            })
            .collect();
        Self { keys: Arc::new(keys) }
    }

    fn sign(&self, claims: &impl Serialize) -> String {
        let key = &self.keys[0];
        let header = Header { kid: Some(key.id.clone()), ..Header::new(ALGORITHM) };
        // Signing HS256 claims of plain types cannot fail.
        jsonwebtoken::encode(&header, claims, &key.encoding).expect("HS256 signing")
    }

    /// Verifies signature (with the key the `kid` names), algorithm, audience and every time claim.
    fn verify<C: DeserializeOwned + Issued>(&self, token: &str, validation: &Validation) -> Result<C, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != ALGORITHM {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.ok_or(TokenError::Invalid)?;
        let key = self.keys.iter().find(|k| k.id == kid).ok_or(TokenError::Invalid)?;
        let claims =
            jsonwebtoken::decode::<C>(token, &key.decoding, validation).map(|data| data.claims).map_err(|e| match e
                .kind()
            {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                // `nbf` still ahead (ImmatureSignature) and every other failure.
                _ => TokenError::Invalid,
            })?;
        if claims.issued_at() > unix_now() + LEEWAY_SECS as i64 {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }
}

/// Claims that say when they were issued (`jsonwebtoken` checks `exp` and `nbf`, not `iat`).
trait Issued {
    fn issued_at(&self) -> i64;
}

impl Issued for AccessClaims {
    fn issued_at(&self) -> i64 {
        self.iat
    }
}

impl Issued for ChatroomClaims {
    fn issued_at(&self) -> i64 {
        self.iat
    }
}

fn validation(audience: &str) -> Arc<Validation> {
    let mut validation = Validation::new(ALGORITHM);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&REQUIRED_CLAIMS);
    Arc::new(validation)
}

fn unix_now() -> i64 {
    Timestamp::now().unix_millis() / 1000
}

/// Signs and verifies access tokens. Cheap to clone.
#[derive(Clone)]
pub struct AccessTokens {
    signer: Signer,
    ttl: Duration,
    validation: Arc<Validation>,
}

impl AccessTokens {
    pub fn new(config: &AuthConfig) -> Self {
        Self { signer: Signer::new(config), ttl: config.access_ttl, validation: validation(AGENT_AUDIENCE) }
    }

    /// Signs a token for the user with the first configured key.
    pub fn issue(&self, user: UserId, tenant: TenantId, perms: Vec<Permission>) -> IssuedToken {
        let now = unix_now();
        let claims = AccessClaims {
            sub: user,
            tid: tenant,
            perms,
            aud: AGENT_AUDIENCE.to_owned(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: uuid::Uuid::now_v7().to_string(),
        };
        IssuedToken { token: self.signer.sign(&claims), expires_in: self.ttl }
    }

    /// Verifies signature (with the key the `kid` names), algorithm, audience and expiry.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        self.signer.verify(token, &self.validation)
    }
}

/// What a visitor's chatroom token says: it opens one chatroom, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatroomClaims {
    /// The chatroom.
    pub sub: ChatroomId,
    pub tid: TenantId,
    /// The chatbot the chatroom was opened through.
    pub cbt: ChatbotId,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// Signs and verifies visitors' chatroom tokens (`PARLEY_CHATROOM_TOKEN_TTL_SECS`, default a
/// day: long enough to come back to a conversation after a standby). Cheap to clone.
#[derive(Clone)]
pub struct ChatroomTokens {
    signer: Signer,
    ttl: Duration,
    validation: Arc<Validation>,
}

impl ChatroomTokens {
    pub const TTL_VAR: &str = "PARLEY_CHATROOM_TOKEN_TTL_SECS";

    pub fn new(config: &AuthConfig, ttl: Duration) -> Self {
        Self { signer: Signer::new(config), ttl, validation: validation(VISITOR_AUDIENCE) }
    }

    pub fn issue(&self, tenant: TenantId, chatbot: ChatbotId, chatroom: ChatroomId) -> IssuedToken {
        let now = unix_now();
        let claims = ChatroomClaims {
            sub: chatroom,
            tid: tenant,
            cbt: chatbot,
            aud: VISITOR_AUDIENCE.to_owned(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: uuid::Uuid::now_v7().to_string(),
        };
        IssuedToken { token: self.signer.sign(&claims), expires_in: self.ttl }
    }

    pub fn verify(&self, token: &str) -> Result<ChatroomClaims, TokenError> {
        self.signer.verify(token, &self.validation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(keys: &str) -> AuthConfig {
        AuthConfig::from_env(&Env::from_pairs([(AuthConfig::KEYS_VAR, keys)])).unwrap()
    }

    const SECRET_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const SECRET_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn a_signed_token_verifies_and_carries_its_claims() {
        let tokens = AccessTokens::new(&config(&format!("k1:{SECRET_A}")));
        let (user, tenant) = (UserId::new(), TenantId::new());
        let issued = tokens.issue(user, tenant, vec![Permission::ChatroomsJoin]);
        let claims = tokens.verify(&issued.token).unwrap();
        assert_eq!((claims.sub, claims.tid), (user, tenant));
        assert_eq!(claims.perms, [Permission::ChatroomsJoin]);
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn keys_rotate_old_tokens_verify_until_their_key_is_dropped() {
        let old = AccessTokens::new(&config(&format!("k1:{SECRET_A}")));
        let token = old.issue(UserId::new(), TenantId::new(), vec![]).token;
        let rotated = AccessTokens::new(&config(&format!("k2:{SECRET_B},k1:{SECRET_A}")));
        assert!(rotated.verify(&token).is_ok());
        let fresh = rotated.issue(UserId::new(), TenantId::new(), vec![]).token;
        assert_eq!(jsonwebtoken::decode_header(&fresh).unwrap().kid.as_deref(), Some("k2"));
        let dropped = AccessTokens::new(&config(&format!("k2:{SECRET_B}")));
        assert_eq!(dropped.verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn forged_and_tampered_tokens_are_refused() {
        let tokens = AccessTokens::new(&config(&format!("k1:{SECRET_A}")));
        let other = AccessTokens::new(&config(&format!("k1:{SECRET_B}")));
        let forged = other.issue(UserId::new(), TenantId::new(), Permission::ALL.to_vec()).token;
        assert_eq!(tokens.verify(&forged), Err(TokenError::Invalid));
        let mut parts: Vec<String> =
            tokens.issue(UserId::new(), TenantId::new(), vec![]).token.split('.').map(str::to_owned).collect();
        parts[1] = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, br#"{"sub":"x"}"#);
        assert_eq!(tokens.verify(&parts.join(".")), Err(TokenError::Invalid));
        assert_eq!(tokens.verify("not-a-jwt"), Err(TokenError::Invalid));
    }

    #[test]
    fn chatroom_and_access_tokens_are_never_taken_for_each_other() {
        let config = config(&format!("k1:{SECRET_A}"));
        let (access, chatroom) = (AccessTokens::new(&config), ChatroomTokens::new(&config, Duration::from_secs(60)));
        let (tenant, chatbot, room) = (TenantId::new(), ChatbotId::new(), ChatroomId::new());
        let visitor = chatroom.issue(tenant, chatbot, room).token;
        let claims = chatroom.verify(&visitor).unwrap();
        assert_eq!((claims.sub, claims.tid, claims.cbt), (room, tenant, chatbot));
        assert_eq!(access.verify(&visitor), Err(TokenError::Invalid));
        let agent = access.issue(UserId::new(), tenant, Permission::ALL.to_vec()).token;
        assert_eq!(chatroom.verify(&agent), Err(TokenError::Invalid));
    }

    #[test]
    fn expired_tokens_are_told_apart() {
        let tokens = AccessTokens::new(&config(&format!("k1:{SECRET_A}")));
        let now = Timestamp::now().unix_millis() / 1000;
        let claims = AccessClaims {
            sub: UserId::new(),
            tid: TenantId::new(),
            perms: vec![],
            aud: AGENT_AUDIENCE.into(),
            iat: now - 100,
            exp: now - LEEWAY_SECS as i64 - 10,
            jti: "j".into(),
        };
        let header = Header { kid: Some("k1".into()), ..Header::new(ALGORITHM) };
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(SECRET_A.as_bytes())).unwrap();
        assert_eq!(tokens.verify(&token), Err(TokenError::Expired));
    }

    /// A token with these claims, signed with `SECRET_A` as key `k1`.
    fn signed(claims: serde_json::Value) -> String {
        let header = Header { kid: Some("k1".into()), ..Header::new(ALGORITHM) };
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(SECRET_A.as_bytes())).unwrap()
    }

    #[test]
    fn every_time_claim_is_checked_within_the_leeway() {
        let tokens = AccessTokens::new(&config(&format!("k1:{SECRET_A}")));
        let now = Timestamp::now().unix_millis() / 1000;
        let leeway = LEEWAY_SECS as i64;
        let claims = |extra: serde_json::Value| {
            let mut claims = serde_json::json!({
                "sub": UserId::new(), "tid": TenantId::new(), "perms": [], "aud": AGENT_AUDIENCE,
                "iat": now, "exp": now + 600, "jti": "j",
            });
            claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            claims
        };
        assert!(tokens.verify(&signed(claims(serde_json::json!({})))).is_ok());
        let within = claims(serde_json::json!({"iat": now + leeway - 2, "nbf": now + leeway - 2}));
        assert!(tokens.verify(&signed(within)).is_ok(), "a clock a little ahead is allowed for");
        let refused = [
            ("nbf ahead", serde_json::json!({"nbf": now + leeway + 60})),
            ("iat ahead", serde_json::json!({"iat": now + leeway + 60})),
            ("iat far ahead, exp further", serde_json::json!({"iat": now + 86_400, "exp": now + 2 * 86_400})),
        ];
        for (case, extra) in refused {
            assert_eq!(tokens.verify(&signed(claims(extra))), Err(TokenError::Invalid), "{case}");
        }
        for claim in ["iat", "exp", "aud", "sub", "tid", "jti"] {
            let mut partial = claims(serde_json::json!({}));
            partial.as_object_mut().unwrap().remove(claim);
            assert_eq!(tokens.verify(&signed(partial)), Err(TokenError::Invalid), "without {claim}");
        }
    }

    #[test]
    fn bad_key_configuration_is_named_without_the_secret() {
        for bad in ["k1", "k1:short", &format!(":{SECRET_A}"), &format!("k1:{SECRET_A},k1:{SECRET_B}")] {
            let err = AuthConfig::from_env(&Env::from_pairs([(AuthConfig::KEYS_VAR, bad)])).unwrap_err();
            assert_eq!(err.var, AuthConfig::KEYS_VAR);
            assert!(!err.to_string().contains(SECRET_A) && !err.to_string().contains("short"), "{err}");
        }
    }
}
