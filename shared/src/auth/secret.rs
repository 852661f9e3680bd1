//! Opaque secrets: random tokens handed to a client once, of which only a SHA-256 is stored.
//!
//! A plain SHA-256 is the right hash here (argon2 is for passwords): the tokens carry 256 bits of
//! randomness, so nobody can guess one from its hash, and a look-up by hash stays cheap.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// 32 random bytes from a cryptographically secure generator (rand's thread-local ChaCha,
/// seeded and reseeded from the operating system), base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `s` has the shape [`random_token`] produces, so malformed input is refused before
/// any look-up.
pub fn is_random_token(s: &str) -> bool {
    s.len() == 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// SHA-256 of `secret`, lower-case hex.
pub fn sha256_hex(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets (or their hashes) in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_recognisable() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert!(is_random_token(&a));
        assert!(!is_random_token(&a[1..]));
        assert!(!is_random_token(&format!("{}=", &a[1..])));
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
