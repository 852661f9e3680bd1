//! The tenant function's configuration, from `PARLEY_*` variables.

use std::{net::SocketAddr, time::Duration};

use shared::{
    auth::AuthConfig,
    client_ip::TrustedProxies,
    config::{ConfigError, Env, HttpConfig},
    services::ServicesConfig,
};

pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8081);

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    /// MongoDB, Redis (the login limits) and Kafka: all required.
    pub services: ServicesConfig,
    pub auth: AuthConfig,
    pub proxies: TrustedProxies,
    pub policy: Policy,
    pub cookie: AuthCookie,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            http: HttpConfig::from_env(env, DEFAULT_ADDR)?,
            services: ServicesConfig::required(env)?,
            auth: AuthConfig::from_env(env)?,
            proxies: TrustedProxies::from_env(env)?,
            policy: Policy::from_env(env)?,
            cookie: AuthCookie::from_env(env)?,
        })
    }
}

/// How long tokens live and how hard login is limited.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// `PARLEY_REFRESH_TOKEN_TTL_DAYS` (default 30): a session ends after this long unused.
    pub refresh_ttl: Duration,
    /// How long a password-reset token works.
    pub reset_ttl: Duration,
    /// `PARLEY_PASSWORD_RESET_ANSWER_MS` (default 250, at most 10000): a password-reset request
    /// answers this long after it arrived, for a registered address (which stores a token and
    /// publishes an event) as for an unknown one (which does neither), so the answer's time tells
    /// nothing. Keep it above what the registered path takes; a request that takes longer is
    /// answered at once and logged as a warning.
    pub reset_answer: Duration,
    /// How long an invitation's set-password token works.
    pub invitation_ttl: Duration,
    /// `PARLEY_LOGIN_LIMIT_PER_IP` (default 50) attempts per client address per window.
    pub login_per_ip: u32,
    /// `PARLEY_LOGIN_LIMIT_PER_EMAIL` (default 10) attempts per email address per window.
    pub login_per_email: u32,
    pub login_window: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            reset_ttl: Duration::from_secs(30 * 60),
            reset_answer: Duration::from_millis(250),
            invitation_ttl: Duration::from_secs(7 * 24 * 3600),
            login_per_ip: 50,
            login_per_email: 10,
            login_window: Duration::from_secs(15 * 60),
        }
    }
}

impl Policy {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let at_least_one = |var: &str, n: u64| {
            if n == 0 { Err(ConfigError { var: var.into(), reason: "must be at least 1".into() }) } else { Ok(n) }
        };
        let days = at_least_one("PARLEY_REFRESH_TOKEN_TTL_DAYS", env.or("PARLEY_REFRESH_TOKEN_TTL_DAYS", 30)?)?;
        let per_ip = at_least_one("PARLEY_LOGIN_LIMIT_PER_IP", env.or("PARLEY_LOGIN_LIMIT_PER_IP", 50)?)?;
        let per_email = at_least_one("PARLEY_LOGIN_LIMIT_PER_EMAIL", env.or("PARLEY_LOGIN_LIMIT_PER_EMAIL", 10)?)?;
        let reset_answer_ms: u64 = env.or("PARLEY_PASSWORD_RESET_ANSWER_MS", 250)?;
        if !(1..=10_000).contains(&reset_answer_ms) {
            return Err(ConfigError {
                var: "PARLEY_PASSWORD_RESET_ANSWER_MS".into(),
                reason: format!("expected 1 to 10000 milliseconds (got {reset_answer_ms})"),
            });
        }
        Ok(Self {
            refresh_ttl: Duration::from_secs(days * 24 * 3600),
            reset_answer: Duration::from_millis(reset_answer_ms),
            login_per_ip: u32::try_from(per_ip).unwrap_or(u32::MAX),
            login_per_email: u32::try_from(per_email).unwrap_or(u32::MAX),
            ..defaults
        })
    }
}

/// The refresh-token cookie of cookie mode (`X-Parley-Refresh: cookie`, see [`crate::refresh_cookie`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCookie {
    /// `PARLEY_AUTH_COOKIE_PATH` (default `/api/tenant/auth`): the `Path` of the cookie, the auth
    /// routes as browsers see them (under `/api/tenant` in local-dev and behind nginx), so the
    /// browser sends it to refresh and logout and nowhere else.
    pub path: String,
    /// `PARLEY_AUTH_COOKIE_SECURE` (default `true`): whether the cookie says `Secure`. Browsers
    /// accept Secure cookies from `http://localhost` and `http://127.0.0.1`; `false` is only for
    /// plain-HTTP deployments on other hosts.
    pub secure: bool,
}

impl Default for AuthCookie {
    fn default() -> Self {
        Self { path: "/api/tenant/auth".to_owned(), secure: true }
    }
}

impl AuthCookie {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let path: String = env.or("PARLEY_AUTH_COOKIE_PATH", defaults.path)?;
        let valid = path.starts_with('/') && path.bytes().all(|b| b.is_ascii_graphic() && b != b';' && b != b',');
        if !valid {
            return Err(ConfigError {
                var: "PARLEY_AUTH_COOKIE_PATH".into(),
                reason: format!(
                    "expected a URL path starting with / without spaces, commas or semicolons (got {path:?})"
                ),
            });
        }
        let secure = env.or("PARLEY_AUTH_COOKIE_SECURE", true)?;
        Ok(Self { path, secure })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_auth_cookie_defaults_to_the_nginx_path_and_secure() {
        assert_eq!(AuthCookie::from_env(&Env::default()).unwrap(), AuthCookie::default());
        let env = Env::from_pairs([("PARLEY_AUTH_COOKIE_PATH", "/auth"), ("PARLEY_AUTH_COOKIE_SECURE", "false")]);
        assert_eq!(AuthCookie::from_env(&env).unwrap(), AuthCookie { path: "/auth".into(), secure: false });
    }

    #[test]
    fn a_reset_answer_time_outside_1_to_10000_ms_names_its_variable() {
        assert_eq!(Policy::from_env(&Env::default()).unwrap().reset_answer, Duration::from_millis(250));
        let env = Env::from_pairs([("PARLEY_PASSWORD_RESET_ANSWER_MS", "80")]);
        assert_eq!(Policy::from_env(&env).unwrap().reset_answer, Duration::from_millis(80));
        for value in ["0", "10001", "fast"] {
            let err = Policy::from_env(&Env::from_pairs([("PARLEY_PASSWORD_RESET_ANSWER_MS", value)])).unwrap_err();
            assert_eq!(err.var, "PARLEY_PASSWORD_RESET_ANSWER_MS", "{err}");
        }
    }

    #[test]
    fn a_bad_cookie_setting_names_its_variable() {
        for (var, value) in [
            ("PARLEY_AUTH_COOKIE_PATH", "api/tenant/auth"),
            ("PARLEY_AUTH_COOKIE_PATH", "/a; Domain=evil.test"),
            ("PARLEY_AUTH_COOKIE_SECURE", "yes"),
        ] {
            let err = AuthCookie::from_env(&Env::from_pairs([(var, value)])).unwrap_err();
            assert_eq!(err.var, var, "{err}");
        }
    }
}
