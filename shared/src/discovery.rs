//! Discovery: every long-lived process of a deployment says in Redis that it is there, so
//! `/status` lists each replica without a hand-kept list.
//!
//! - Socket-nodes report into `<prefix>nodes`, with their connection counts ([`crate::presence`]).
//! - Functions run as servers report into `<prefix>replicas`: a hash `replica id →`
//!   [`ReplicaReport`] `{function, address, startedAt, lastSeen, heartbeatMs}`, rewritten every
//!   heartbeat (`PARLEY_HEARTBEAT_SECS`) by [`Announcer`], and withdrawn when the process stops
//!   as asked. A replica killed outright stays behind: it is down once its last beat is
//!   [`DEAD_AFTER_BEATS`] intervals old, and any replica's beat forgets it after
//!   [`FORGET_AFTER_MS`].
//! - Functions on Lambda live no longer than an invocation and never beat: `/status` checks them
//!   by the health URLs listed in `PARLEY_STATUS_FUNCTIONS`.
//!
//! Announcing is best effort: a process whose beat fails serves on and says so in its log.

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use redis::AsyncCommands as _;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::{
    config::{HttpConfig, RedisConfig},
    domain::Timestamp,
    redis::{Keys, Redis},
};

/// A process whose last beat is this many intervals old is gone.
pub const DEAD_AFTER_BEATS: u32 = 3;

/// How long a replica that stopped beating stays listed, as down, before it is forgotten.
pub const FORGET_AFTER_MS: i64 = 60 * 60 * 1000;

/// Whether a process that last beat at `last_seen`, every `heartbeat_ms`, is alive at `now`.
pub fn is_alive(last_seen: Timestamp, heartbeat_ms: u64, now: Timestamp) -> bool {
    let age = now.unix_millis() - last_seen.unix_millis();
    age < i64::try_from(heartbeat_ms.saturating_mul(u64::from(DEAD_AFTER_BEATS))).unwrap_or(i64::MAX)
}

/// One replica's report, as stored in `<prefix>replicas`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaReport {
    /// What it runs: `tenant`, `chatbot-provisioning`, `analytics`, `analytics-reports`, `email`...
    pub function: String,
    pub address: String,
    pub started_at: Timestamp,
    pub last_seen: Timestamp,
    pub heartbeat_ms: u64,
}

impl ReplicaReport {
    pub fn is_alive(&self, now: Timestamp) -> bool {
        is_alive(self.last_seen, self.heartbeat_ms, now)
    }
}

/// The hash of replicas, under the deployment's prefix.
pub fn replicas_key(keys: &Keys) -> String {
    keys.key(&["replicas"])
}

/// Every replica's report by id, sorted by function then address; reports that do not parse are
/// left out.
pub async fn read_replicas(redis: &Redis) -> redis::RedisResult<Vec<(String, ReplicaReport)>> {
    let mut conn = redis.conn.clone();
    let reports: HashMap<String, String> = conn.hgetall(replicas_key(&redis.keys)).await?;
    let mut replicas: Vec<(String, ReplicaReport)> =
        reports.into_iter().filter_map(|(id, report)| Some((id, serde_json::from_str(&report).ok()?))).collect();
    replicas.sort_by(|a, b| {
        (a.1.function.as_str(), a.1.address.as_str(), a.0.as_str()).cmp(&(
            b.1.function.as_str(),
            b.1.address.as_str(),
            b.0.as_str(),
        ))
    });
    Ok(replicas)
}

/// Announces one function process while it runs.
#[derive(Debug, Clone)]
pub struct Announcer {
    function: &'static str,
    redis: Option<RedisConfig>,
    interval: Duration,
}

impl Announcer {
    /// A process running `function`, beating every `http.heartbeat` into the Redis of `redis`;
    /// without Redis it announces nothing.
    pub fn new(function: &'static str, redis: Option<&RedisConfig>, http: &HttpConfig) -> Self {
        Self { function, redis: redis.cloned(), interval: http.heartbeat }
    }

    /// Announces the process listening at `address` every interval until `stopped` resolves,
    /// then withdraws it. The report is written at once, so the replica is listed as soon as it
    /// serves.
    pub fn start(self, address: SocketAddr, stopped: impl Future<Output = ()> + Send + 'static) -> JoinHandle<()> {
        tokio::spawn(async move {
            let Some(config) = self.redis.clone() else { return };
            let id = uuid::Uuid::new_v4().simple().to_string();
            let started_at = Timestamp::now();
            tokio::pin!(stopped);
            let mut redis: Option<Redis> = None;
            let mut ticks = tokio::time::interval(self.interval);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = &mut stopped => break,
                }
                if redis.is_none() {
                    match crate::redis::connect(&config).await {
                        Ok(connected) => redis = Some(connected),
                        Err(err) => {
                            tracing::warn!(error = %err, "cannot announce this replica: Redis is unreachable");
                            continue;
                        }
                    }
                }
                let Some(redis) = &redis else { continue };
                let report = ReplicaReport {
                    function: self.function.to_owned(),
                    address: address.to_string(),
                    started_at,
                    last_seen: Timestamp::now(),
                    heartbeat_ms: u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX),
                };
                if let Err(err) = beat(redis, &id, &report).await {
                    tracing::warn!(error = %err, "this replica's heartbeat failed");
                }
            }
            if let Some(redis) = redis {
                let mut conn = redis.conn.clone();
                let _: Result<u64, _> = conn.hdel(replicas_key(&redis.keys), &id).await;
            }
        })
    }
}

/// Writes `report`, and forgets the replicas silent for longer than [`FORGET_AFTER_MS`].
async fn beat(redis: &Redis, id: &str, report: &ReplicaReport) -> redis::RedisResult<()> {
    let key = replicas_key(&redis.keys);
    let mut conn = redis.conn.clone();
    let _: u64 = conn.hset(&key, id, serde_json::to_string(report).expect("reports serialise")).await?;
    let forgotten: Vec<String> = read_replicas(redis)
        .await?
        .into_iter()
        .filter(|(_, other)| report.last_seen.unix_millis() - other.last_seen.unix_millis() > FORGET_AFTER_MS)
        .map(|(id, _)| id)
        .collect();
    if !forgotten.is_empty() {
        let _: u64 = conn.hdel(&key, forgotten).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_is_alive_for_three_heartbeats() {
        let last_seen = Timestamp::from_unix_millis(10_000);
        assert!(is_alive(last_seen, 1_000, Timestamp::from_unix_millis(12_999)));
        assert!(!is_alive(last_seen, 1_000, Timestamp::from_unix_millis(13_000)));
    }
}
