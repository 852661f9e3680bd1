//! Signed visitor identity: a tenant's backend proves who a visitor is by signing the visitor's
//! email with the chatbot's identity secret, `hex(HMAC-SHA256(key = secret, message = email))`,
//! and the widget passes the signature along. When the chatbot enforces identity, a session
//! without a valid signature is refused.
//!
//! The secret has to be at hand to check a signature, yet the database must not hold it. So it
//! is derived: `HMAC-SHA256(server key, chatbot id + salt)`, where the server key comes from
//! `PARLEY_IDENTITY_KEYS` (a keyring, see [`super::keyring`]) and only the key's id and the
//! random salt are stored ([`IdentitySeed`]). Rotating a chatbot's secret draws a new salt;
//! rotating the server key means listing the new key first and keeping the old one while
//! chatbots still use it.

use std::sync::Arc;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;

use super::keyring::{self, SecretKey};
use crate::{
    config::{ConfigError, Env},
    domain::{ChatbotId, IdentitySeed, Timestamp},
};

type HmacSha256 = Hmac<Sha256>;

/// The server keys identity secrets are derived from. Cheap to clone.
#[derive(Debug, Clone)]
pub struct IdentityKeys {
    keys: Arc<[SecretKey]>,
}

/// The chatbot's secret was derived from a server key that is no longer configured.
#[derive(Debug, Clone, thiserror::Error)]
#[error("identity key {0:?} is not in PARLEY_IDENTITY_KEYS any more")]
pub struct UnknownIdentityKey(pub String);

impl IdentityKeys {
    pub const VAR: &str = "PARLEY_IDENTITY_KEYS";

    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self { keys: keyring::from_env(env, Self::VAR)?.into() })
    }

    /// One random key, for tests: identity secrets made with it die with the process.
    pub fn ephemeral() -> Self {
        Self { keys: vec![SecretKey::ephemeral()].into() }
    }

    /// A new secret for `chatbot`, and the seed to store so it can be derived again.
    pub fn issue(&self, chatbot: ChatbotId) -> (IdentitySeed, IdentitySecret) {
        let key = &self.keys[0];
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let seed =
            IdentitySeed { key_id: key.id.clone(), salt: URL_SAFE_NO_PAD.encode(salt), created_at: Timestamp::now() };
        let secret = derive(key, chatbot, &seed.salt);
        (seed, secret)
    }

    /// The secret `seed` stands for.
    pub fn secret(&self, chatbot: ChatbotId, seed: &IdentitySeed) -> Result<IdentitySecret, UnknownIdentityKey> {
        let key =
            self.keys.iter().find(|k| k.id == seed.key_id).ok_or_else(|| UnknownIdentityKey(seed.key_id.clone()))?;
        Ok(derive(key, chatbot, &seed.salt))
    }
}

fn derive(key: &SecretKey, chatbot: ChatbotId, salt: &str) -> IdentitySecret {
    let mut mac = HmacSha256::new_from_slice(key.secret.expose_secret().as_bytes()).expect("HMAC takes any key length");
    mac.update(b"parley identity secret v1\0");
    mac.update(chatbot.to_string().as_bytes());
    mac.update(b"\0");
    mac.update(salt.as_bytes());
    let digest = mac.finalize().into_bytes();
    IdentitySecret(SecretString::from(format!("{}{}", IdentitySecret::PREFIX, URL_SAFE_NO_PAD.encode(digest))))
}

/// A chatbot's identity secret in plain text (`parley_is_…`). Its `Debug` never shows it.
#[derive(Clone)]
pub struct IdentitySecret(SecretString);

impl IdentitySecret {
    pub const PREFIX: &str = "parley_is_";

    /// The signature of `email`: lower-case hex of HMAC-SHA256 keyed with the secret's text.
    /// (What a tenant's backend computes; Parley uses it in tests and examples.)
    pub fn sign(&self, email: &str) -> String {
        let mut mac = self.mac();
        mac.update(email.as_bytes());
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `signature` is the signature of `email`, exactly as sent. Hex in either case is
    /// accepted; anything that is not 64 hex digits is not a signature. The comparison takes the
    /// same time wherever the signature differs.
    pub fn verify(&self, email: &str, signature: &str) -> bool {
        let Some(bytes) = decode_hex_32(signature) else { return false };
        let mut mac = self.mac();
        mac.update(email.as_bytes());
        mac.verify_slice(&bytes).is_ok()
    }

    /// The secret itself, for the one response that hands it out.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(self.0.expose_secret().as_bytes()).expect("HMAC takes any key length")
    }
}

impl std::fmt::Debug for IdentitySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentitySecret(…)")
    }
}

fn decode_hex_32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
        let digit = |c: u8| (c as char).to_digit(16);
        *byte = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(spec: &str) -> IdentityKeys {
        IdentityKeys::from_env(&Env::from_pairs([(IdentityKeys::VAR, spec)])).unwrap()
    }

    const KEY_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const KEY_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn a_secret_is_derived_again_from_its_seed() {
        let keys = keys(&format!("k1:{KEY_A}"));
        let chatbot = ChatbotId::new();
        let (seed, secret) = keys.issue(chatbot);
        assert!(secret.expose().starts_with("parley_is_"));
        assert_eq!(keys.secret(chatbot, &seed).unwrap().expose(), secret.expose());
        assert!(!format!("{seed:?}{secret:?}").contains(&secret.expose()[10..]));
        let (_, other) = keys.issue(chatbot);
        assert_ne!(other.expose(), secret.expose(), "a new salt makes a new secret");
        assert_ne!(keys.secret(ChatbotId::new(), &seed).unwrap().expose(), secret.expose());
    }

    #[test]
    fn old_server_keys_keep_their_secrets_until_dropped() {
        let chatbot = ChatbotId::new();
        let (seed, secret) = keys(&format!("k1:{KEY_A}")).issue(chatbot);
        let rotated = keys(&format!("k2:{KEY_B},k1:{KEY_A}"));
        assert_eq!(rotated.secret(chatbot, &seed).unwrap().expose(), secret.expose());
        assert_eq!(rotated.issue(chatbot).0.key_id, "k2");
        assert!(keys(&format!("k2:{KEY_B}")).secret(chatbot, &seed).is_err());
    }

    #[test]
    fn signatures_verify_exactly() {
        let (_, secret) = keys(&format!("k1:{KEY_A}")).issue(ChatbotId::new());
        let email = "Ada@Example.com";
        let signature = secret.sign(email);
        assert!(secret.verify(email, &signature));
        assert!(secret.verify(email, &signature.to_uppercase()), "hex is case-insensitive");
        assert!(!secret.verify("ada@example.com", &signature), "the email is signed as sent");
        assert!(!secret.verify(email, &signature[..63]));
        assert!(!secret.verify(email, &signature[..32]));
        assert!(!secret.verify(email, ""));
        assert!(!secret.verify(email, &format!("{signature}00")));
        assert!(!secret.verify(email, &"g".repeat(64)));
        let mut wrong = signature.into_bytes();
        wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
        assert!(!secret.verify(email, &String::from_utf8(wrong).unwrap()));
    }
}
