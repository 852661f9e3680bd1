//! The analytics function's configuration, from `PARLEY_*` variables.

use std::{net::SocketAddr, str::FromStr, time::Duration};

use secrecy::{ExposeSecret as _, SecretString};
use shared::{
    auth::AuthConfig,
    config::{ConfigError, Env, HttpConfig},
    services::ServicesConfig,
};

pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8083);

#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    /// MongoDB (the reports), Redis (live counts) and Kafka (checked by `/status`, read by the
    /// Tinybird stream): all required.
    pub services: ServicesConfig,
    /// Verifies the agents' access tokens (`PARLEY_JWT_KEYS`).
    pub auth: AuthConfig,
    pub status: StatusConfig,
    pub reports: ReportsConfig,
    /// Set when `PARLEY_TINYBIRD_TOKEN` is: then events are streamed to Tinybird.
    pub tinybird: Option<TinybirdConfig>,
    /// Set when `PARLEY_TINYBIRD_READ_TOKEN` is: then `/live/...` reads Tinybird's pipes.
    pub live: Option<LiveConfig>,
    /// On Lambda, which of the function's three jobs this deployment does.
    pub role: Role,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            http: HttpConfig::from_env(env, DEFAULT_ADDR)?,
            services: ServicesConfig::required(env)?,
            auth: AuthConfig::from_env(env)?,
            status: StatusConfig::from_env(env)?,
            reports: ReportsConfig::from_env(env)?,
            tinybird: TinybirdConfig::from_env(env)?,
            live: LiveConfig::from_env(env)?,
            role: env.or("PARLEY_ANALYTICS_ROLE", Role::Api)?,
        })
    }
}

/// What `GET /status` checks and how long it waits.
#[derive(Debug, Clone)]
pub struct StatusConfig {
    /// `PARLEY_STATUS_FUNCTIONS`: `name=url` pairs, comma-separated, each a function's health URL
    /// (`tenant=http://10.0.0.5:8081/healthz,...`). Listed as given.
    pub functions: Vec<FunctionUrl>,
    /// `PARLEY_STATUS_CHECK_MS` (default 1500): how long one check may take before its component
    /// counts as down. Checks run at once, so `/status` answers within about this long.
    pub check_timeout: Duration,
    /// `PARLEY_STATUS_TOKEN` (optional): when set, `/status` answers only
    /// `Authorization: Bearer <token>`.
    pub token: Option<SecretString>,
}

impl StatusConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        // Read like a secret, so a URL that wrongly carries credentials is not echoed back.
        let functions = match env.secret_any(&["PARLEY_STATUS_FUNCTIONS"]) {
            Some(value) => value
                .expose_secret()
                .parse::<FunctionUrls>()
                .map_err(|reason| ConfigError { var: "PARLEY_STATUS_FUNCTIONS".into(), reason })?,
            None => FunctionUrls::default(),
        };
        let check_ms: u64 = env.or("PARLEY_STATUS_CHECK_MS", 1_500)?;
        if !(50..=10_000).contains(&check_ms) {
            return Err(ConfigError { var: "PARLEY_STATUS_CHECK_MS".into(), reason: "expected 50 to 10000".into() });
        }
        Ok(Self {
            functions: functions.0,
            check_timeout: Duration::from_millis(check_ms),
            token: env.secret_any(&["PARLEY_STATUS_TOKEN"]),
        })
    }
}

/// A function `/status` checks: its name and its health URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionUrl {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, Default)]
struct FunctionUrls(Vec<FunctionUrl>);

impl FromStr for FunctionUrls {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut functions = Vec::new();
        for (i, pair) in s.split(',').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
            let entry = i + 1;
            let (name, url) = pair.split_once('=').ok_or_else(|| format!("entry {entry}: expected name=url"))?;
            let (name, url) = (name.trim(), url.trim());
            if name.is_empty() || !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("entry {entry}: expected name=http(s)://..."));
            }
            if url.contains('@') {
                return Err(format!("{name}: a health URL carries no credentials"));
            }
            functions.push(FunctionUrl { name: name.to_owned(), url: url.to_owned() });
        }
        Ok(Self(functions))
    }
}

/// The usage-report job.
#[derive(Debug, Clone, Copy)]
pub struct ReportsConfig {
    /// `PARLEY_REPORT_INTERVAL_SECS` (default 900; 0 turns the self-hosted timer off): how often
    /// the job runs. On Lambda an EventBridge schedule runs it instead.
    pub interval: Option<Duration>,
    /// `PARLEY_REPORT_DAYS` (default 2): how many days, today included, each run computes again,
    /// so a chatroom that ends the day after it started is counted in its day's report.
    pub days: u32,
}

impl ReportsConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let interval: u64 = env.or("PARLEY_REPORT_INTERVAL_SECS", 900)?;
        let days: u32 = env.or("PARLEY_REPORT_DAYS", 2)?;
        if !(1..=366).contains(&days) {
            return Err(ConfigError { var: "PARLEY_REPORT_DAYS".into(), reason: "expected 1 to 366".into() });
        }
        Ok(Self { interval: (interval > 0).then(|| Duration::from_secs(interval)), days })
    }
}

/// Streaming events to Tinybird's Events API.
#[derive(Debug, Clone)]
pub struct TinybirdConfig {
    /// `PARLEY_TINYBIRD_URL` (default `https://api.tinybird.co`): the API's base address (the
    /// region's, or a local stand-in's in tests).
    pub url: String,
    /// `PARLEY_TINYBIRD_TOKEN`: a token with append rights on the datasource. Sent as a bearer
    /// header, never in the URL.
    pub token: SecretString,
    /// `PARLEY_TINYBIRD_DATASOURCE` (default `parley_events`).
    pub datasource: String,
    /// `PARLEY_TINYBIRD_BATCH` (default 500): the most events in one request.
    pub batch_rows: usize,
    /// `PARLEY_TINYBIRD_WAIT_MS` (default 1000): how long the self-hosted consumer gathers a batch.
    pub batch_wait: Duration,
    /// `PARLEY_TINYBIRD_GROUP` (default `parley-analytics`): the self-hosted consumer group.
    pub group_id: String,
}

impl TinybirdConfig {
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(token) = env.secret_any(&["PARLEY_TINYBIRD_TOKEN"]) else { return Ok(None) };
        let url = tinybird_url(env)?;
        let batch_rows: usize = env.or("PARLEY_TINYBIRD_BATCH", 500)?;
        if !(1..=10_000).contains(&batch_rows) {
            return Err(ConfigError { var: "PARLEY_TINYBIRD_BATCH".into(), reason: "expected 1 to 10000".into() });
        }
        Ok(Some(Self {
            url,
            token,
            datasource: env.or("PARLEY_TINYBIRD_DATASOURCE", "parley_events".to_owned())?,
            batch_rows,
            batch_wait: Duration::from_millis(env.or("PARLEY_TINYBIRD_WAIT_MS", 1_000)?),
            group_id: env.or("PARLEY_TINYBIRD_GROUP", "parley-analytics".to_owned())?,
        }))
    }
}

/// `PARLEY_TINYBIRD_URL` (default `https://api.tinybird.co`), without a trailing `/`.
fn tinybird_url(env: &Env) -> Result<String, ConfigError> {
    let url: String = env.or("PARLEY_TINYBIRD_URL", "https://api.tinybird.co".to_owned())?;
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains('@') || url.contains('?') {
        return Err(ConfigError {
            var: "PARLEY_TINYBIRD_URL".into(),
            reason: "expected an http(s):// base address without credentials or query".into(),
        });
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Reading Tinybird's pipes for the console's real-time charts (`/live/...`).
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// `PARLEY_TINYBIRD_URL`, as for streaming.
    pub url: String,
    /// `PARLEY_TINYBIRD_READ_TOKEN`: a token with `PIPES:READ` on the pipes of `infra/tinybird`
    /// and nothing else. Sent as a bearer header, never in the URL; never given to a browser.
    pub token: SecretString,
}

impl LiveConfig {
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(token) = env.secret_any(&["PARLEY_TINYBIRD_READ_TOKEN"]) else { return Ok(None) };
        Ok(Some(Self { url: tinybird_url(env)?, token }))
    }
}

/// On Lambda, one binary is deployed as three functions: the HTTP API, the scheduled report job
/// (EventBridge) and the Kafka-triggered Tinybird stream. Self-hosted, `api` (the default) does
/// all three in one process, and `reports` or `ingest` runs that job alone (the real topology runs
/// the API's replicas with `PARLEY_REPORT_INTERVAL_SECS=0` and one report job).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Api,
    Reports,
    Ingest,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Api => "api",
            Self::Reports => "reports",
            Self::Ingest => "ingest",
        })
    }
}

impl FromStr for Role {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "api" => Ok(Self::Api),
            "reports" => Ok(Self::Reports),
            "ingest" => Ok(Self::Ingest),
            _ => Err("expected api, reports or ingest"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_urls_are_name_url_pairs_without_credentials() {
        let urls: FunctionUrls =
            "tenant=http://10.0.0.5:8081/healthz, email=https://e.example/healthz".parse().unwrap();
        assert_eq!(urls.0[1], FunctionUrl { name: "email".into(), url: "https://e.example/healthz".into() });
        assert!("tenant".parse::<FunctionUrls>().is_err());
        assert!("tenant=ftp://x".parse::<FunctionUrls>().is_err());
        assert!("tenant=http://user:pw@x/healthz".parse::<FunctionUrls>().is_err());
    }
}
