//! The socket-node's configuration, from `PARLEY_*` environment variables.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use shared::{
    auth::{AuthConfig, ChatroomTokens, IdentityKeys},
    client_ip::TrustedProxies,
    config::{ConfigError, Env, HttpConfig},
    ratelimit::Limit,
};

use crate::allowance::FrameRates;

pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8090);
/// Where `npm run build` in `socket-node/web` writes the built web files.
pub const DEFAULT_WEB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/web/dist");

/// The node's own settings; where its services are is [`shared::services::ServicesConfig`].
#[derive(Debug, Clone)]
pub struct Config {
    pub http: HttpConfig,
    pub auth: AuthConfig,
    pub identity: IdentityKeys,
    pub proxies: TrustedProxies,
    pub chatroom_token_ttl: Duration,
    pub limits: Limits,
    pub timing: Timing,
    /// `PARLEY_WEB_DIR` (default [`DEFAULT_WEB_DIR`]): the built widget (and console) the node
    /// serves, read once at start-up (see [`crate::web`]).
    pub web_dir: PathBuf,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            http: HttpConfig::from_env(env, DEFAULT_ADDR)?,
            auth: AuthConfig::from_env(env)?,
            identity: IdentityKeys::from_env(env)?,
            proxies: TrustedProxies::from_env(env)?,
            chatroom_token_ttl: Duration::from_secs(positive(env, ChatroomTokens::TTL_VAR, 86_400)?),
            limits: Limits::from_env(env)?,
            timing: Timing::from_env(env)?,
            web_dir: env.or("PARLEY_WEB_DIR", PathBuf::from(DEFAULT_WEB_DIR))?,
        })
    }
}

/// Sizes and rates that keep one client from hurting the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `PARLEY_MAX_MESSAGE_BYTES` (default 4096): the longest chat message, in UTF-8 bytes.
    pub message_bytes: usize,
    /// `PARLEY_MAX_FRAME_BYTES` (default 16384): the largest WebSocket frame a client may send.
    pub frame_bytes: usize,
    /// `PARLEY_SEND_QUEUE` (default 256): frames waiting for a slow connection before it is dropped.
    pub send_queue: usize,
    /// `PARLEY_MAX_CONNECTIONS_PER_IP` (default 50) on one node.
    pub connections_per_ip: u32,
    /// `PARLEY_SESSIONS_PER_IP_PER_MINUTE` (default 10): new visitor sessions from one address.
    pub sessions_per_ip: Limit,
    /// `PARLEY_SESSIONS_PER_CHATBOT_PER_MINUTE` (default 600): new visitor sessions of one chatbot.
    pub sessions_per_chatbot: Limit,
    /// `PARLEY_VISITOR_FRAME_LIMITS`: each frame kind's rate on a visitor's connection.
    pub visitor_frames: FrameRates,
    /// `PARLEY_AGENT_FRAME_LIMITS`: each frame kind's rate on an agent's connection.
    pub agent_frames: FrameRates,
}

impl Limits {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let per_minute = |max| Limit { max, window: Duration::from_secs(60) };
        Ok(Self {
            message_bytes: positive(env, "PARLEY_MAX_MESSAGE_BYTES", 4096)? as usize,
            frame_bytes: positive(env, "PARLEY_MAX_FRAME_BYTES", 16_384)? as usize,
            send_queue: positive(env, "PARLEY_SEND_QUEUE", 256)? as usize,
            connections_per_ip: positive(env, "PARLEY_MAX_CONNECTIONS_PER_IP", 50)? as u32,
            sessions_per_ip: per_minute(positive(env, "PARLEY_SESSIONS_PER_IP_PER_MINUTE", 10)? as u32),
            sessions_per_chatbot: per_minute(positive(env, "PARLEY_SESSIONS_PER_CHATBOT_PER_MINUTE", 600)? as u32),
            visitor_frames: FrameRates::from_env(env, FrameRates::VISITOR_VAR, FrameRates::visitor_defaults())?,
            agent_frames: FrameRates::from_env(env, FrameRates::AGENT_VAR, FrameRates::agent_defaults())?,
        })
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::from_env(&Env::from_pairs::<&str, &str>([])).expect("the defaults are valid")
    }
}

/// Timers. The defaults are the product's; tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// `PARLEY_STANDBY_SECS` (default 600): how long a chatroom waits for its visitor to come back.
    pub standby: Duration,
    /// `PARLEY_STANDBY_SWEEP_MS` (default 1000): how often expired standbys (and unclaimed
    /// chatrooms) are looked for.
    pub standby_sweep: Duration,
    /// `PARLEY_UNCLAIMED_ALERT_SECS` (default 300): how long a chatroom waits in the queue before
    /// `chatroom.unclaimed` tells the email function to alert the tenant's agents.
    pub unclaimed_alert: Duration,
    /// `PARLEY_AUTH_TIMEOUT_SECS` (default 10): the time a new connection has to send `auth`.
    pub auth_timeout: Duration,
    /// `PARLEY_PING_SECS` (default 20): WebSocket pings; a connection silent for three is dead.
    pub ping: Duration,
    /// `PARLEY_HEARTBEAT_SECS` (default 5, [`HttpConfig::heartbeat`]): how often the node reports
    /// itself to presence.
    pub heartbeat: Duration,
    /// `PARLEY_STORE_WINDOW_MS` (default 1, at most 2; 0 stores each message at once): how long
    /// the messages sent at about the same moment gather to be stored together
    /// ([`crate::message_writer`]).
    pub store_window: Duration,
}

impl Timing {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            standby: Duration::from_secs(positive(env, "PARLEY_STANDBY_SECS", 600)?),
            standby_sweep: Duration::from_millis(positive(env, "PARLEY_STANDBY_SWEEP_MS", 1000)?),
            unclaimed_alert: Duration::from_secs(positive(env, "PARLEY_UNCLAIMED_ALERT_SECS", 300)?),
            auth_timeout: Duration::from_secs(positive(env, "PARLEY_AUTH_TIMEOUT_SECS", 10)?),
            ping: Duration::from_secs(positive(env, "PARLEY_PING_SECS", 20)?),
            heartbeat: HttpConfig::heartbeat(env)?,
            store_window: Duration::from_millis(store_window(env)?),
        })
    }
}

impl Default for Timing {
    fn default() -> Self {
        Self::from_env(&Env::from_pairs::<&str, &str>([])).expect("the defaults are valid")
    }
}

fn store_window(env: &Env) -> Result<u64, ConfigError> {
    const VAR: &str = "PARLEY_STORE_WINDOW_MS";
    let value: u64 = env.or(VAR, 1)?;
    if value > 2 {
        return Err(ConfigError { var: VAR.into(), reason: "must be 0, 1 or 2 (milliseconds)".into() });
    }
    Ok(value)
}

fn positive(env: &Env, var: &str, default: u64) -> Result<u64, ConfigError> {
    let value: u64 = env.or(var, default)?;
    if value == 0 {
        return Err(ConfigError { var: var.into(), reason: "must be at least 1".into() });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_timers_have_the_product_defaults_and_refuse_zero() {
        let env = Env::from_pairs([("PARLEY_STANDBY_SECS", "3")]);
        assert_eq!(Timing::from_env(&env).unwrap().standby, Duration::from_secs(3));
        assert_eq!(Timing::default().standby, Duration::from_secs(600));
        assert_eq!(Limits::default().message_bytes, 4096);
        let err = Limits::from_env(&Env::from_pairs([("PARLEY_MAX_MESSAGE_BYTES", "0")])).unwrap_err();
        assert_eq!(err.var, "PARLEY_MAX_MESSAGE_BYTES");
    }
}
