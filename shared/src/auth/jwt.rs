//! Access tokens: short-lived JWTs for agents and admins.
//!
//! The algorithm is pinned (HS256; a token claiming any other is refused), the audience is
//! checked, and clock skew is allowed for explicitly ([`LEEWAY_SECS`]). Keys come from
//! `PARLEY_JWT_KEYS` as `kid:secret` pairs; the first signs, every one verifies.

use std::{sync::Arc, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::keyring::{self, SecretKey};
use crate::{
    config::{ConfigError, Env},
    domain::{Permission, TenantId, Timestamp, UserId},
};

/// The audience of agents' access tokens (visitors' chatroom tokens have their own).
pub const AGENT_AUDIENCE: &str = "parley:agent";
/// How far apart the clocks of the signer and a verifier may be.
pub const LEEWAY_SECS: u64 = 5;
const ALGORITHM: Algorithm = Algorithm::HS256;

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

    /// A single random key, for the embedded default: tokens die with the process.
    pub fn ephemeral() -> Self {
        Self { keys: vec![SecretKey::ephemeral()], access_ttl: Duration::from_secs(900) }
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

/// Signs and verifies access tokens. Cheap to clone.
#[derive(Clone)]
pub struct AccessTokens {
    keys: Arc<Vec<Key>>,
    ttl: Duration,
    validation: Arc<Validation>,
}

impl AccessTokens {
    pub fn new(config: &AuthConfig) -> Self {
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
        let mut validation = Validation::new(ALGORITHM);
        validation.leeway = LEEWAY_SECS;
        validation.set_audience(&[AGENT_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "aud", "sub"]);
        Self { keys: Arc::new(keys), ttl: config.access_ttl, validation: Arc::new(validation) }
    }

    /// Signs a token for the user with the first configured key.
    pub fn issue(&self, user: UserId, tenant: TenantId, perms: Vec<Permission>) -> IssuedToken {
        let key = &self.keys[0];
        let now = Timestamp::now().unix_millis() / 1000;
        let claims = AccessClaims {
            sub: user,
            tid: tenant,
            perms,
            aud: AGENT_AUDIENCE.to_owned(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: uuid::Uuid::now_v7().to_string(),
        };
        let header = Header { kid: Some(key.id.clone()), ..Header::new(ALGORITHM) };
        // Signing HS256 claims of plain types cannot fail.
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding).expect("HS256 signing");
        IssuedToken { token, expires_in: self.ttl }
    }

    /// Verifies signature (with the key the `kid` names), algorithm, audience and expiry.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != ALGORITHM {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.ok_or(TokenError::Invalid)?;
        let key = self.keys.iter().find(|k| k.id == kid).ok_or(TokenError::Invalid)?;
        jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &self.validation).map(|data| data.claims).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            },
        )
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

    #[test]
    fn bad_key_configuration_is_named_without_the_secret() {
        for bad in ["k1", "k1:short", &format!(":{SECRET_A}"), &format!("k1:{SECRET_A},k1:{SECRET_B}")] {
            let err = AuthConfig::from_env(&Env::from_pairs([(AuthConfig::KEYS_VAR, bad)])).unwrap_err();
            assert_eq!(err.var, AuthConfig::KEYS_VAR);
            assert!(!err.to_string().contains(SECRET_A) && !err.to_string().contains("short"), "{err}");
        }
    }
}
