//! Server-side secret keys with ids, as configured in `PARLEY_JWT_KEYS` and
//! `PARLEY_IDENTITY_KEYS`: comma-separated `kid:secret` pairs. The first key makes new things
//! (signs tokens, derives new identity secrets); every key listed still verifies what it made, so
//! a key is rotated by putting the new one first and dropping the old one later.

use secrecy::{ExposeSecret as _, SecretString};

use crate::config::{ConfigError, Env};

const MIN_SECRET_LEN: usize = 32;

/// One key: its id (a JWT's `kid`, or the `keyId` stored beside what it derived) and its secret.
#[derive(Clone)]
pub struct SecretKey {
    pub id: String,
    pub secret: SecretString,
}

impl SecretKey {
    /// A random key, for tests: what it made dies with the process.
    pub fn ephemeral() -> Self {
        Self { id: "ephemeral".into(), secret: SecretString::from(super::secret::random_token()) }
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Reads the keyring in `var`; it must be set.
pub fn from_env(env: &Env, var: &str) -> Result<Vec<SecretKey>, ConfigError> {
    let raw = env.secret_any(&[var]).ok_or_else(|| ConfigError::missing(var))?;
    parse(raw.expose_secret()).map_err(|reason| ConfigError { var: var.to_owned(), reason })
}

/// Parses `kid:secret,kid:secret` (secrets of at least 32 characters). The reasons never quote a
/// secret.
fn parse(raw: &str) -> Result<Vec<SecretKey>, String> {
    let mut keys: Vec<SecretKey> = Vec::new();
    for (n, pair) in raw.split(',').map(str::trim).enumerate() {
        let (id, secret) =
            pair.split_once(':').ok_or_else(|| format!("key {} is not of the form kid:secret", n + 1))?;
        let id_ok =
            !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !id_ok {
            return Err(format!("key {}: the id must be 1-64 letters, digits, '.', '_' or '-'", n + 1));
        }
        if secret.len() < MIN_SECRET_LEN {
            return Err(format!("key {id:?}: the secret must have at least {MIN_SECRET_LEN} characters"));
        }
        if keys.iter().any(|k| k.id == id) {
            return Err(format!("key id {id:?} appears twice"));
        }
        keys.push(SecretKey { id: id.to_owned(), secret: SecretString::from(secret.to_owned()) });
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const SECRET_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn keys_keep_their_order() {
        let keys = parse(&format!("new:{SECRET_B}, old:{SECRET_A}")).unwrap();
        let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(ids, ["new", "old"]);
        assert_eq!(keys[1].secret.expose_secret(), SECRET_A);
    }

    #[test]
    fn bad_keyrings_are_named_without_the_secret() {
        for bad in ["k1", "k1:short", &format!(":{SECRET_A}"), &format!("k1:{SECRET_A},k1:{SECRET_B}")] {
            let err = from_env(&Env::from_pairs([("PARLEY_X_KEYS", bad)]), "PARLEY_X_KEYS").unwrap_err();
            assert_eq!(err.var, "PARLEY_X_KEYS");
            assert!(!err.to_string().contains(SECRET_A) && !err.to_string().contains("short"), "{err}");
        }
        assert_eq!(from_env(&Env::default(), "PARLEY_X_KEYS").unwrap_err().var, "PARLEY_X_KEYS");
    }
}
