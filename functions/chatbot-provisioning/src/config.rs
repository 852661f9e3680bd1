//! The chatbot-provisioning function's configuration, from `PARLEY_*` variables.

use std::{fmt, net::SocketAddr, str::FromStr, time::Duration};

use shared::{
    auth::{AuthConfig, IdentityKeys},
    config::{ConfigError, Env, HttpConfig},
    services::ServicesConfig,
};

pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8082);

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    /// MongoDB, Redis (the chatbot cache) and Kafka: all required.
    pub services: ServicesConfig,
    pub auth: AuthConfig,
    pub identity: IdentityKeys,
    pub policy: Policy,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            http: HttpConfig::from_env(env, DEFAULT_ADDR)?,
            services: ServicesConfig::required(env)?,
            auth: AuthConfig::from_env(env)?,
            identity: IdentityKeys::from_env(env)?,
            policy: Policy::from_env(env, PublicUrl::default_socket_node())?,
        })
    }
}

/// How keys rotate and where the widget is served from.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `PARLEY_API_KEY_GRACE_HOURS` (default 24): how long a replaced API key keeps working when
    /// a rotation does not say.
    pub key_grace: Duration,
    /// `PARLEY_PUBLIC_SOCKET_URL`: where browsers reach the socket-node, which serves
    /// `/widget.js` (the embed snippet points there).
    pub public_socket_url: PublicUrl,
}

impl Policy {
    /// The longest grace period a rotation may ask for.
    pub const MAX_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);

    pub fn from_env(env: &Env, default_url: PublicUrl) -> Result<Self, ConfigError> {
        let hours: u64 = env.or("PARLEY_API_KEY_GRACE_HOURS", 24)?;
        let key_grace = Duration::from_secs(hours * 3600);
        if key_grace > Self::MAX_GRACE {
            return Err(ConfigError {
                var: "PARLEY_API_KEY_GRACE_HOURS".into(),
                reason: "at most 168 (7 days)".into(),
            });
        }
        Ok(Self { key_grace, public_socket_url: env.or("PARLEY_PUBLIC_SOCKET_URL", default_url)? })
    }
}

/// A public base URL (`https://chat.example.com`, or with a path prefix), without a trailing
/// slash, safe to put in an HTML attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    pub fn default_socket_node() -> Self {
        Self("http://127.0.0.1:8090".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PublicUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let url = s.trim().trim_end_matches('/');
        let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
        let ok = rest.is_some_and(|rest| {
            !rest.is_empty()
                && !rest.starts_with('/')
                && rest.bytes().all(|b| b.is_ascii_graphic() && !b"\"'<>`?#@\\".contains(&b))
        });
        if ok { Ok(Self(url.to_owned())) } else { Err("must be an http(s) URL without query, fragment or user".into()) }
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_checked_and_trimmed() {
        assert_eq!("https://chat.example.com/".parse::<PublicUrl>().unwrap().as_str(), "https://chat.example.com");
        assert_eq!(
            "http://127.0.0.1:8080/parley".parse::<PublicUrl>().unwrap().as_str(),
            "http://127.0.0.1:8080/parley"
        );
        for bad in ["chat.example.com", "ftp://x", "https://", "https://x/\"onload=", "https://x?a=1", "https://u:p@x"]
        {
            assert!(bad.parse::<PublicUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_grace_period_is_bounded() {
        let env = Env::from_pairs([("PARLEY_API_KEY_GRACE_HOURS", "200")]);
        assert_eq!(
            Policy::from_env(&env, PublicUrl::default_socket_node()).unwrap_err().var,
            "PARLEY_API_KEY_GRACE_HOURS"
        );
        let policy = Policy::from_env(&Env::default(), PublicUrl::default_socket_node()).unwrap();
        assert_eq!(policy.key_grace, Duration::from_secs(24 * 3600));
    }
}
