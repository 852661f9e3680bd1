//! Passwords: the rules a new one must meet, and argon2id hashing.
//!
//! Hashing is deliberately slow (argon2's default cost: 19 MiB, 2 passes), so it runs on the
//! blocking pool, never on the async workers. Login with an unknown email verifies against a
//! dummy hash of the same cost, so a wrong address takes as long as a wrong password.

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng},
};
use serde::Deserialize;
use shared::{ApiError, domain::EmailAddress};

/// A password as submitted: any string (never an object), redacted in `Debug`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Submitted(String);

impl std::fmt::Debug for Submitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Submitted(..)")
    }
}

impl Submitted {
    /// Longest password accepted: hashing cost grows with length, and nobody types more.
    pub const MAX_CHARS: usize = 256;
    pub const MIN_CHARS: usize = 10;

    /// Checks the rules for a new password: 10 to 256 characters, and not the email address.
    pub fn check_new(&self, email: &EmailAddress) -> Result<(), ApiError> {
        let chars = self.0.chars().count();
        let weak = |message: String| Err(ApiError::unprocessable("weak_password", message));
        if chars < Self::MIN_CHARS {
            return weak(format!("a password has at least {} characters", Self::MIN_CHARS));
        }
        if chars > Self::MAX_CHARS {
            return weak(format!("a password has at most {} characters", Self::MAX_CHARS));
        }
        if self.0.trim().eq_ignore_ascii_case(email.as_str()) {
            return weak("the password cannot be the email address".into());
        }
        Ok(())
    }
}

/// Hashes a new password into an argon2id PHC string.
pub async fn hash(password: &Submitted) -> Result<String, ApiError> {
    let password = password.0.clone();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::internal(anyhow::anyhow!("argon2: {e}")))
}

/// What [`verify`] checks a password against when there is no stored hash: an argon2id hash with
/// the parameters [`hash`] uses (a unit test keeps them alike), of a password nobody has. A
/// constant, so that no request pays for making it: made on first use, it cost the first
/// unknown address a process saw a second hash, which told it apart.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$JRV91FNm2ogHKdY08yhy1A$7tl9rSVEFjmfLdSfrJ8aq/wwJpM58jj6lfCPfp5k4d8";

/// Whether `password` matches `stored` (an argon2 PHC string). `None` (an unknown user, or one
/// who has not set a password) is checked against a dummy hash of the same cost and never
/// matches.
pub async fn verify(password: &Submitted, stored: Option<&str>) -> bool {
    if password.0.chars().count() > Submitted::MAX_CHARS {
        return false;
    }
    let (password, known, stored) = (password.0.clone(), stored.is_some(), stored.map(str::to_owned));
    tokio::task::spawn_blocking(move || {
        let stored = stored.as_deref().unwrap_or(DUMMY_HASH);
        let Ok(parsed) = PasswordHash::new(stored) else { return false };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && known
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submitted(s: &str) -> Submitted {
        Submitted(s.to_owned())
    }

    #[test]
    fn new_passwords_follow_the_rules() {
        let email: EmailAddress = "ada@example.com".parse().unwrap();
        assert!(submitted("correct horse").check_new(&email).is_ok());
        assert_eq!(submitted("short").check_new(&email).unwrap_err().code, "weak_password");
        assert_eq!(submitted("Ada@Example.com").check_new(&email).unwrap_err().code, "weak_password");
        assert_eq!(submitted(&"x".repeat(257)).check_new(&email).unwrap_err().code, "weak_password");
        assert!(format!("{:?}", submitted("correct horse")).find("horse").is_none());
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let password = submitted("correct horse battery");
        let stored = hash(&password).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify(&password, Some(&stored)).await);
        assert!(!verify(&submitted("wrong horse battery"), Some(&stored)).await);
        assert!(!verify(&password, None).await);
    }

    #[tokio::test]
    async fn the_dummy_hash_costs_what_a_real_one_costs() {
        let real = hash(&submitted("correct horse battery")).await.unwrap();
        let (real, dummy) = (PasswordHash::new(&real).unwrap(), PasswordHash::new(DUMMY_HASH).unwrap());
        assert_eq!((dummy.algorithm, dummy.version, &dummy.params), (real.algorithm, real.version, &real.params));
        assert_eq!(dummy.salt.map(|s| s.len()), real.salt.map(|s| s.len()));
        assert_eq!(dummy.hash.map(|h| h.len()), real.hash.map(|h| h.len()));
    }
}
