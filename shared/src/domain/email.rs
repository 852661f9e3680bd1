//! Email addresses: trimmed, lower-cased, at most 254 characters, one `@` with a dotted domain.
//! Deliberately simpler than RFC 5322: what a person types into a sign-up form, nothing that a
//! mail header could be tricked with (no spaces, quotes, angle brackets or control characters).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::InvalidValue;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_LEN: usize = 254;

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

impl FromStr for EmailAddress {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let email = s.trim().to_lowercase();
        if email.len() > Self::MAX_LEN {
            return Err(InvalidValue(format!("an email address has at most {} characters", Self::MAX_LEN)));
        }
        let invalid = || InvalidValue("not a valid email address".into());
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let allowed = |c: char| !c.is_control() && !c.is_whitespace() && !"@<>()[]\\,;:\"".contains(c);
        if local.is_empty() || local.len() > 64 || !local.chars().all(allowed) {
            return Err(invalid());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err(invalid());
        }
        Ok(Self(email))
    }
}

super::text_value!(EmailAddress);

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised() {
        let email: EmailAddress = "  Ada.Lovelace@Example.COM ".parse().unwrap();
        assert_eq!(email.as_str(), "ada.lovelace@example.com");
        assert_eq!(email.domain(), "example.com");
    }

    #[test]
    fn invalid_addresses_are_refused() {
        let long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@localhost",
            "ada@@example.com",
            "ada lovelace@example.com",
            "ada@example..com",
            "ada@-example.com",
            "ada@example.com\r\nBcc: x@y.z",
            "<ada@example.com>",
            &long,
        ] {
            assert!(bad.parse::<EmailAddress>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn objects_never_deserialise_as_addresses() {
        assert!(serde_json::from_str::<EmailAddress>(r#"{"$ne": ""}"#).is_err());
    }
}
