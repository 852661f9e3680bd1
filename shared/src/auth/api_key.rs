//! Chatbot API keys: `parley_pk_` followed by 72 characters of lower-case Crockford base32.
//!
//! The 45 bytes under the base32 are the chatbot's id (16), 24 random bytes, and a 5-byte
//! checksum (the start of a SHA-256 of the first 40). So:
//! - a key names its chatbot, and checking one is a read by id, never a scan;
//! - a mistyped or truncated key fails its checksum and is refused before any database look-up;
//! - the prefix lets secret scanners and people recognise a leaked key.
//!
//! Only a SHA-256 of the key is stored, with a short hint (its last four characters) for people
//! to tell keys apart. The key itself is shown once, when it is made.

use std::fmt;

use rand::RngCore as _;
use sha2::{Digest, Sha256};

use super::secret::sha256_hex;
use crate::domain::ChatbotId;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const ID_LEN: usize = 16;
const RANDOM_LEN: usize = 24;
const CHECKSUM_LEN: usize = 5;
const BYTES: usize = ID_LEN + RANDOM_LEN + CHECKSUM_LEN;
const ENCODED_LEN: usize = BYTES * 8 / 5;

/// A chatbot's API key in plain text. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    text: String,
    chatbot: ChatbotId,
}

/// Why a string is not an API key (`api_key_invalid`). Said without quoting the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this is not a Parley API key (they start with {prefix} and have {len} characters)", prefix = ApiKey::PREFIX, len = ApiKey::LEN)]
pub struct MalformedApiKey;

impl ApiKey {
    pub const PREFIX: &str = "parley_pk_";
    pub const LEN: usize = Self::PREFIX.len() + ENCODED_LEN;

    /// A fresh random key for `chatbot`.
    pub fn generate(chatbot: ChatbotId) -> Self {
        let mut bytes = [0u8; BYTES];
        bytes[..ID_LEN].copy_from_slice(chatbot.as_uuid().as_bytes());
        rand::rng().fill_bytes(&mut bytes[ID_LEN..ID_LEN + RANDOM_LEN]);
        let checksum = checksum(&bytes[..ID_LEN + RANDOM_LEN]);
        bytes[ID_LEN + RANDOM_LEN..].copy_from_slice(&checksum);
        Self { text: format!("{}{}", Self::PREFIX, encode(&bytes)), chatbot }
    }

    /// Checks the prefix, length, alphabet and checksum; touches no database.
    pub fn parse(text: &str) -> Result<Self, MalformedApiKey> {
        let body = text.strip_prefix(Self::PREFIX).ok_or(MalformedApiKey)?;
        let bytes = decode(body).ok_or(MalformedApiKey)?;
        let (payload, sum) = bytes.split_at(ID_LEN + RANDOM_LEN);
        if checksum(payload) != sum {
            return Err(MalformedApiKey);
        }
        let id = uuid::Uuid::from_slice(&payload[..ID_LEN]).map_err(|_| MalformedApiKey)?;
        Ok(Self { text: text.to_owned(), chatbot: ChatbotId::from_uuid(id) })
    }

    /// The chatbot this key belongs to (if it is genuine: only the hash comparison says so).
    pub fn chatbot_id(&self) -> ChatbotId {
        self.chatbot
    }

    /// What is stored: the SHA-256 of the whole key, hex.
    pub fn hash(&self) -> String {
        sha256_hex(&self.text)
    }

    /// The last four characters, to tell keys apart in lists (`parley_pk_…x7k2`).
    pub fn hint(&self) -> String {
        self.text[self.text.len() - 4..].to_owned()
    }

    /// The key itself, for the one response that hands it out.
    pub fn expose(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}…{})", Self::PREFIX, self.hint())
    }
}

fn checksum(payload: &[u8]) -> [u8; CHECKSUM_LEN] {
    let digest = Sha256::digest(payload);
    let mut sum = [0u8; CHECKSUM_LEN];
    sum.copy_from_slice(&digest[..CHECKSUM_LEN]);
    sum
}

/// Base32 of exactly [`BYTES`] bytes (a multiple of five, so no padding).
fn encode(bytes: &[u8; BYTES]) -> String {
    let mut out = String::with_capacity(ENCODED_LEN);
    for chunk in bytes.chunks(5) {
        let group = chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        for shift in (0..8).rev() {
            out.push(char::from(ALPHABET[((group >> (shift * 5)) & 31) as usize]));
        }
    }
    out
}

fn decode(text: &str) -> Option<[u8; BYTES]> {
    if text.len() != ENCODED_LEN {
        return None;
    }
    let mut bytes = [0u8; BYTES];
    for (chunk, out) in text.as_bytes().chunks(8).zip(bytes.chunks_mut(5)) {
        let mut group = 0u64;
        for c in chunk {
            let value = ALPHABET.iter().position(|a| a == c)?;
            group = (group << 5) | value as u64;
        }
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = (group >> (8 * (4 - i))) as u8;
        }
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_parses_back_to_its_chatbot() {
        let chatbot = ChatbotId::new();
        let key = ApiKey::generate(chatbot);
        assert_eq!(key.expose().len(), ApiKey::LEN);
        assert!(key.expose().starts_with("parley_pk_"));
        let parsed = ApiKey::parse(key.expose()).unwrap();
        assert_eq!(parsed.chatbot_id(), chatbot);
        assert_eq!(parsed.hash(), key.hash());
        assert_ne!(ApiKey::generate(chatbot).hash(), key.hash());
    }

    #[test]
    fn typos_truncations_and_strangers_are_malformed() {
        let key = ApiKey::generate(ChatbotId::new());
        let text = key.expose();
        let mut typo = text.as_bytes().to_vec();
        let last = typo.len() - 10;
        typo[last] = if typo[last] == b'a' { b'b' } else { b'a' };
        for bad in [
            String::from_utf8(typo).unwrap(),
            text[..text.len() - 1].to_owned(),
            format!("{text}0"),
            text.replace("parley_pk_", "parley_sk_"),
            text.to_uppercase(),
            String::new(),
            "parley_pk_".to_owned(),
        ] {
            assert_eq!(ApiKey::parse(&bad), Err(MalformedApiKey), "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_key() {
        let key = ApiKey::generate(ChatbotId::new());
        let shown = format!("{key:?}");
        assert!(!shown.contains(&key.expose()[10..40]), "{shown}");
        assert!(shown.ends_with(&format!("{})", key.hint())));
    }
}
