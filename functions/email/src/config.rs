//! The email function's configuration, from `PARLEY_*` variables.

use std::{fmt, net::SocketAddr, str::FromStr, time::Duration};

use secrecy::SecretString;
use shared::{
    config::{ConfigError, Env, HttpConfig, RedisConfig},
    domain::EmailAddress,
    services::{Service, ServicesConfig},
};

pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8084);

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    /// MongoDB (the repositories, the sent-log, the outbox) and Kafka; no Redis.
    pub services: ServicesConfig,
    /// Redis, when configured: only to announce the process for `/status` ([`shared::discovery`]).
    pub redis: Option<RedisConfig>,
    pub mail: MailConfig,
    pub transport: TransportConfig,
    pub retry: RetryPolicy,
    /// `PARLEY_EMAIL_GROUP` (default `parley-email`): the Kafka consumer group when self-hosted.
    pub group_id: String,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            http: HttpConfig::from_env(env, DEFAULT_ADDR)?,
            services: ServicesConfig::requiring(env, &[Service::Mongo, Service::Kafka])?,
            redis: RedisConfig::from_env(env)?,
            mail: MailConfig::from_env(env)?,
            transport: TransportConfig::from_env(env)?,
            retry: RetryPolicy::from_env(env)?,
            group_id: env.or("PARLEY_EMAIL_GROUP", "parley-email".to_owned())?,
        })
    }
}

/// What every email says about where it comes from and where its links go.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `PARLEY_EMAIL_FROM` (default `noreply@parley.localhost`): the sending address. The display
    /// name is the tenant's sender name (`PATCH /tenant {emailSenderName}`), or "Parley" for mail
    /// that is not on a tenant's behalf.
    pub from: EmailAddress,
    /// `PARLEY_EMAIL_REPLY_TO` (optional): where replies go.
    pub reply_to: Option<EmailAddress>,
    /// `PARLEY_PUBLIC_URL` (default `http://127.0.0.1:8080`): the address people open Parley at;
    /// every link in an email starts with it.
    pub public_url: PublicUrl,
}

impl MailConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            from: env.or("PARLEY_EMAIL_FROM", "noreply@parley.localhost".parse().expect("a valid default"))?,
            reply_to: env.optional("PARLEY_EMAIL_REPLY_TO")?,
            public_url: env.or("PARLEY_PUBLIC_URL", "http://127.0.0.1:8080".parse().expect("a valid default"))?,
        })
    }
}

/// An `http(s)://` base address without query or fragment, kept without its trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// `path` (starting with `/`) under the public address.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

impl FromStr for PublicUrl {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const EXPECTED: &str = "expected an http:// or https:// address without query or fragment";
        let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).ok_or(EXPECTED)?;
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() || s.contains(['?', '#', ' ', '"', '<', '>']) || s.chars().any(char::is_control) {
            return Err(EXPECTED);
        }
        Ok(Self(s.trim_end_matches('/').to_owned()))
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How email leaves: `PARLEY_EMAIL_TRANSPORT` = `smtp` (default) or `ses`.
#[derive(Debug, Clone)]
pub enum TransportConfig {
    Smtp(SmtpConfig),
    Ses(SesConfig),
}

impl TransportConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let kind: String = env.or("PARLEY_EMAIL_TRANSPORT", "smtp".to_owned())?;
        match kind.as_str() {
            "smtp" => Ok(Self::Smtp(SmtpConfig::from_env(env)?)),
            "ses" => Ok(Self::Ses(SesConfig { endpoint: env.optional("PARLEY_SES_ENDPOINT")? })),
            other => Err(ConfigError {
                var: "PARLEY_EMAIL_TRANSPORT".into(),
                reason: format!("expected smtp or ses (got {other:?})"),
            }),
        }
    }
}

/// An SMTP relay: `PARLEY_SMTP_HOST` (default 127.0.0.1), `PARLEY_SMTP_PORT` (default 1025,
/// Mailpit's), `PARLEY_SMTP_TLS` (`none`, `starttls` or `tls`; default `none` on a loopback host,
/// else `starttls`), `PARLEY_SMTP_USERNAME` and `PARLEY_SMTP_PASSWORD` (optional, together).
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub credentials: Option<(String, SecretString)>,
    /// How long one connection or command may take before the attempt counts as failed.
    pub timeout: Duration,
}

impl SmtpConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let host: String = env.or("PARLEY_SMTP_HOST", "127.0.0.1".to_owned())?;
        let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let tls = env.or("PARLEY_SMTP_TLS", if loopback { SmtpTls::None } else { SmtpTls::StartTls })?;
        let username: Option<String> = env.optional("PARLEY_SMTP_USERNAME")?;
        let password = env.secret_any(&["PARLEY_SMTP_PASSWORD"]);
        let credentials = match (username, password) {
            (Some(user), Some(password)) => Some((user, password)),
            (None, None) => None,
            (Some(_), None) => return Err(ConfigError::missing("PARLEY_SMTP_PASSWORD")),
            (None, Some(_)) => return Err(ConfigError::missing("PARLEY_SMTP_USERNAME")),
        };
        Ok(Self { host, port: env.or("PARLEY_SMTP_PORT", 1025)?, tls, credentials, timeout: Duration::from_secs(10) })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text: only for a relay on the same machine or network.
    None,
    /// Upgrade with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl FromStr for SmtpTls {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Self::None),
            "starttls" => Ok(Self::StartTls),
            "tls" => Ok(Self::Tls),
            _ => Err("expected none, starttls or tls"),
        }
    }
}

/// Amazon SES v2: region and credentials come from the standard AWS chain (`AWS_REGION`,
/// `AWS_ACCESS_KEY_ID`, the Lambda role, ...); `PARLEY_SES_ENDPOINT` overrides the endpoint.
#[derive(Debug, Clone)]
pub struct SesConfig {
    pub endpoint: Option<String>,
}

/// How a transient failure (the relay is down, SES throttles) is retried before the email goes
/// to the dead-letter topic: `PARLEY_EMAIL_ATTEMPTS` (default 5) attempts, the first retry
/// after `PARLEY_EMAIL_RETRY_MS` (default 1000), doubling up to 30 s.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let attempts: u32 = env.or("PARLEY_EMAIL_ATTEMPTS", 5)?;
        if attempts == 0 {
            return Err(ConfigError { var: "PARLEY_EMAIL_ATTEMPTS".into(), reason: "must be at least 1".into() });
        }
        let first_ms: u64 = env.or("PARLEY_EMAIL_RETRY_MS", 1000)?;
        Ok(Self { attempts, first_delay: Duration::from_millis(first_ms), max_delay: Duration::from_secs(30) })
    }

    /// The pause before attempt `n + 1` after attempt `n` (1-based) failed.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 2_u32.saturating_pow(attempt.saturating_sub(1).min(16));
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_http_bases_without_query_or_fragment() {
        let url: PublicUrl = "https://chat.example.com/".parse().unwrap();
        assert_eq!(url.join("/console/"), "https://chat.example.com/console/");
        assert_eq!(
            "http://127.0.0.1:8080/parley".parse::<PublicUrl>().unwrap().join("/x"),
            "http://127.0.0.1:8080/parley/x"
        );
        for bad in ["chat.example.com", "ftp://x", "https://", "https://x/?a=1", "https://x/#t", "https://x/\"y"] {
            assert!(bad.parse::<PublicUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn smtp_defaults_to_plain_text_only_on_loopback() {
        let local = SmtpConfig::from_env(&Env::default()).unwrap();
        assert_eq!((local.host.as_str(), local.port, local.tls), ("127.0.0.1", 1025, SmtpTls::None));
        let remote = SmtpConfig::from_env(&Env::from_pairs([("PARLEY_SMTP_HOST", "smtp.example.com")])).unwrap();
        assert_eq!(remote.tls, SmtpTls::StartTls);
        let half = Env::from_pairs([("PARLEY_SMTP_USERNAME", "parley")]);
        assert_eq!(SmtpConfig::from_env(&half).unwrap_err().var, "PARLEY_SMTP_PASSWORD");
    }

    #[test]
    fn bad_values_name_their_variable() {
        let env = Env::from_pairs([("PARLEY_EMAIL_TRANSPORT", "pigeon")]);
        assert_eq!(TransportConfig::from_env(&env).unwrap_err().var, "PARLEY_EMAIL_TRANSPORT");
        let env = Env::from_pairs([("PARLEY_EMAIL_FROM", "not an address")]);
        assert_eq!(MailConfig::from_env(&env).unwrap_err().var, "PARLEY_EMAIL_FROM");
        let env = Env::from_pairs([("PARLEY_EMAIL_ATTEMPTS", "0")]);
        assert_eq!(RetryPolicy::from_env(&env).unwrap_err().var, "PARLEY_EMAIL_ATTEMPTS");
    }

    #[test]
    fn retries_back_off_doubling_up_to_a_ceiling() {
        let policy =
            RetryPolicy { attempts: 5, first_delay: Duration::from_secs(1), max_delay: Duration::from_secs(30) };
        let delays: Vec<u64> = (1..=7).map(|n| policy.delay_after(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
    }
}
