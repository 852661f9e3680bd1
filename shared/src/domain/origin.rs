//! Web origins: where a chatbot's widget may be embedded.
//!
//! An [`Origin`] is what a browser sends in its `Origin` header: `scheme://host[:port]`, with
//! the scheme's default port left out. An [`OriginPattern`] is what a tenant allows:
//! - an exact origin, `https://www.example.com` (scheme, host and port must all match);
//! - a wildcard for subdomains, `https://*.example.com`, matching `https://app.example.com` and
//!   `https://a.b.example.com` but neither `https://example.com` itself nor look-alikes such as
//!   `https://example.com.evil.net` or `https://evilexample.com`;
//! - `*`, any origin (and requests without one), for development.
//!
//! Hosts are lower-cased; internationalised names must be written in punycode (`xn--…`), as
//! browsers send them.

use std::{fmt, net::Ipv6Addr, str::FromStr};

use serde::{Deserialize, Serialize};

use super::InvalidValue;

/// A concrete origin, as a browser sends it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: Scheme,
    host: String,
    port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

fn invalid(reason: &str) -> InvalidValue {
    InvalidValue(format!("not a web origin ({reason}); write it as https://host or https://host:port"))
}

/// Splits `scheme://authority`, tolerating one trailing `/` (people paste `https://example.com/`).
fn split(text: &str) -> Result<(Scheme, &str), InvalidValue> {
    let (scheme, rest) = text.split_once("://").ok_or_else(|| invalid("no scheme"))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        _ => return Err(invalid("only http and https")),
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#']) {
        return Err(invalid("an origin has no path, query or fragment"));
    }
    if authority.contains('@') {
        return Err(invalid("an origin has no user name or password"));
    }
    Ok((scheme, authority))
}

/// Splits `host[:port]` (or `[v6]:port`) and checks the port.
fn host_and_port(authority: &str, scheme: Scheme) -> Result<(&str, u16), InvalidValue> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']').ok_or_else(|| invalid("an unclosed IPv6 address"))?;
        let (host, rest) = authority.split_at(end + 1);
        (host, rest.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => scheme.default_port(),
        Some(digits) if !digits.is_empty() && digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| invalid("the port must be 1 to 65535"))?
        }
        Some(_) => return Err(invalid("the port must be 1 to 65535")),
    };
    Ok((host, port))
}

/// A host name (letters, digits and hyphens in dot-separated labels) or a bracketed IPv6
/// address, lower-cased.
fn check_host(host: &str) -> Result<String, InvalidValue> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let ip: Ipv6Addr = inner.parse().map_err(|_| invalid("not an IPv6 address"))?;
        return Ok(format!("[{ip}]"));
    }
    if !host.is_ascii() {
        return Err(invalid("write internationalised domain names in punycode (xn--...)"));
    }
    let host = host.to_ascii_lowercase();
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if host.is_empty() || host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(invalid("not a valid host name"));
    }
    Ok(host)
}

impl Origin {
    fn canonical(&self) -> String {
        if self.port == self.scheme.default_port() {
            format!("{}://{}", self.scheme.as_str(), self.host)
        } else {
            format!("{}://{}:{}", self.scheme.as_str(), self.host, self.port)
        }
    }
}

impl FromStr for Origin {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, authority) = split(s.trim())?;
        let (host, port) = host_and_port(authority, scheme)?;
        Ok(Self { scheme, host: check_host(host)?, port })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

/// An allowed origin, exact or a wildcard (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum OriginPattern {
    /// `*`: anywhere, even without an `Origin` header.
    Any,
    Exact(Origin),
    Subdomains(Wildcard),
}

/// `scheme://*.parent[:port]`: any host that ends in `.parent`, on that scheme and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Wildcard {
    scheme: Scheme,
    parent: String,
    port: u16,
}

impl OriginPattern {
    /// Whether a request from `origin` (`None` when it sent no `Origin` header) is allowed.
    pub fn allows(&self, origin: Option<&Origin>) -> bool {
        match (self, origin) {
            (Self::Any, _) => true,
            (_, None) => false,
            (Self::Exact(allowed), Some(origin)) => allowed == origin,
            (Self::Subdomains(wildcard), Some(origin)) => {
                origin.scheme == wildcard.scheme
                    && origin.port == wildcard.port
                    && origin
                        .host
                        .strip_suffix(wildcard.parent.as_str())
                        .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
            }
        }
    }
}

impl FromStr for OriginPattern {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "*" {
            return Ok(Self::Any);
        }
        let (scheme, authority) = split(s)?;
        let (host, port) = host_and_port(authority, scheme)?;
        let Some(parent) = host.strip_prefix("*.") else {
            if host.contains('*') {
                return Err(invalid("a wildcard stands only for the leftmost labels: https://*.example.com"));
            }
            return Ok(Self::Exact(Origin { scheme, host: check_host(host)?, port }));
        };
        let parent = check_host(parent)
            .map_err(|_| invalid("a wildcard stands only for the leftmost labels: https://*.example.com"))?;
        // `*.com` would allow the whole top-level domain; a numeric last label is an IP address.
        let labels: Vec<&str> = parent.split('.').collect();
        if labels.len() < 2 || labels.last().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit())) {
            return Err(invalid("a wildcard needs a domain under it, such as https://*.example.com"));
        }
        Ok(Self::Subdomains(Wildcard { scheme, parent, port }))
    }
}

super::text_value!(OriginPattern);

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Exact(origin) => f.write_str(&origin.canonical()),
            Self::Subdomains(Wildcard { scheme, parent, port }) => {
                let origin = Origin { scheme: *scheme, host: format!("*.{parent}"), port: *port };
                f.write_str(&origin.canonical())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(pattern: &str, origin: &str) -> bool {
        let pattern: OriginPattern = pattern.parse().unwrap();
        pattern.allows(Some(&origin.parse().unwrap()))
    }

    #[test]
    fn exact_origins_match_scheme_host_and_port() {
        assert!(allows("https://example.com", "https://example.com"));
        assert!(allows("https://Example.COM/", "https://example.com:443"));
        assert!(allows("http://localhost:3000", "http://localhost:3000"));
        assert!(!allows("https://example.com", "http://example.com"));
        assert!(!allows("https://example.com", "https://example.com:8443"));
        assert!(!allows("https://example.com", "https://www.example.com"));
        assert!(!allows("https://example.com", "https://example.com.evil.net"));
        assert!(allows("http://[::1]:8080", "http://[0:0:0:0:0:0:0:1]:8080"));
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        let p = "https://*.example.com";
        assert!(allows(p, "https://app.example.com"));
        assert!(allows(p, "https://a.b.example.com"));
        assert!(!allows(p, "https://example.com"));
        assert!(!allows(p, "https://evilexample.com"));
        assert!(!allows(p, "https://app.example.com.evil.net"));
        assert!(!allows(p, "http://app.example.com"));
        assert!(!allows(p, "https://app.example.com:8443"));
        assert!(allows("https://*.example.com:8443", "https://app.example.com:8443"));
    }

    #[test]
    fn any_allows_everything_even_no_origin() {
        assert!(OriginPattern::Any.allows(None));
        assert!(!"https://example.com".parse::<OriginPattern>().unwrap().allows(None));
    }

    #[test]
    fn patterns_print_canonically() {
        for (input, shown) in [
            ("HTTPS://Example.com:443/", "https://example.com"),
            ("http://localhost:8080", "http://localhost:8080"),
            ("https://*.Example.com", "https://*.example.com"),
            (" * ", "*"),
        ] {
            assert_eq!(input.parse::<OriginPattern>().unwrap().to_string(), shown);
        }
    }

    #[test]
    fn malformed_patterns_and_origins_are_refused() {
        for bad in [
            "",
            "example.com",
            "ftp://example.com",
            "https://example.com/path",
            "https://example.com?x=1",
            "https://user:pw@example.com",
            "https://example.com:0",
            "https://example.com:99999",
            "https://exa mple.com",
            "https://exämple.com",
            "https://*.com",
            "https://*.0.0.1",
            "https://app.*.example.com",
            "https://*example.com",
            "https://-bad.example.com",
            "null",
        ] {
            assert!(bad.parse::<OriginPattern>().is_err(), "{bad:?} parsed");
        }
        assert!("https://*.example.com".parse::<Origin>().is_err());
        assert!("null".parse::<Origin>().is_err());
    }
}
