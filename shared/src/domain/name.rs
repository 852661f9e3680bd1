//! Display names (tenant, user, role, chatbot names): trimmed, 1 to 100 characters, no control
//! characters, so a name is always safe to put in a header, a log field or an email subject.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::InvalidValue;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 100;

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(super) fn from_admin_role() -> Self {
        Self(super::Role::ADMIN.to_owned())
    }
}

impl FromStr for Name {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        if name.is_empty() {
            return Err(InvalidValue("a name cannot be empty".into()));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(InvalidValue(format!("a name has at most {} characters", Self::MAX_CHARS)));
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidValue("a name cannot contain control characters".into()));
        }
        Ok(Self(name.to_owned()))
    }
}

super::text_value!(Name);

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(" Acme ".parse::<Name>().unwrap().as_str(), "Acme");
        assert!("   ".parse::<Name>().is_err());
        assert!("é".repeat(100).parse::<Name>().is_ok());
        assert!("é".repeat(101).parse::<Name>().is_err());
        assert!("Acme\r\nBcc: x".parse::<Name>().is_err());
    }
}
