//! Everything a test's app could have changed, read at one moment, so an adversarial test can
//! say "this refused request changed nothing" and, when it did change something, name what.
//!
//! A [`StateSnapshot`] holds:
//! - every document of every collection of the test's MongoDB database (the `outbox` among them,
//!   so an event a refused request stored there shows too), each as canonical JSON (keys sorted,
//!   extended JSON for BSON types), by collection and `_id`;
//! - every Redis key under the test's prefix with its value, read by type (string, hash, list,
//!   set, zset; TTLs left out: they tick by themselves), except [`VOLATILE_REDIS_KEYS`];
//! - the end offset of every partition of every Kafka topic under the test's topic prefix.
//!
//! [`Watch::snapshot`] first lets the outbox drain (see [`Watch::snapshot`]): an app publishes
//! before it answers, to Kafka or, when Kafka does not take the event, to the outbox, and the
//! relay moves outbox entries to Kafka within a second or so; reading while it moves one would
//! show the event in neither place.
//!
//! Failure modes: a service that does not answer fails the test (with the service's error); a
//! database that holds a great deal makes snapshots slow, so the adversarial tests keep theirs
//! small (two tenants and what they made).

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use futures::TryStreamExt as _;
use rdkafka::{
    ClientConfig,
    consumer::{BaseConsumer, Consumer as _},
};
use serde_json::Value;

use crate::{config::KafkaConfig, redis::Redis};

/// Redis keys (under the test's prefix; `*` matches any tail) that change on their own or on
/// every request, refused or not, and so are left out of snapshots. Keep it short: every entry
/// is something a refused request may change without anyone noticing.
/// - `ratelimit:*`: a rate limit counts every attempt, including refused ones (that is the
///   point: a client hammering login with bad passwords is slowed down), and expires by itself.
/// - `replicas`: each function replica run as a server rewrites its report every heartbeat
///   ([`crate::discovery`]).
/// - `nodes`: each socket-node rewrites its report (connections, last seen) every heartbeat
///   ([`crate::presence`]).
pub const VOLATILE_REDIS_KEYS: &[&str] = &["ratelimit:*", "replicas", "nodes"];

/// How long [`Watch::snapshot`] waits for the outbox to drain before reading it as it is.
const OUTBOX_DRAIN: Duration = Duration::from_secs(10);

/// The state one test's app can change (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StateSnapshot {
    /// Collection → `_id` (canonical JSON) → document (canonical JSON).
    pub mongo: BTreeMap<String, BTreeMap<String, String>>,
    /// Key (with its prefix) → value, written `<type> <canonical JSON>`.
    pub redis: BTreeMap<String, String>,
    /// `<topic>/<partition>` → end offset (the next offset a message would get).
    pub kafka: BTreeMap<String, i64>,
}

/// One difference between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added { place: String, now: String },
    Removed { place: String, was: String },
    Changed { place: String, was: String, now: String },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Added { place, now } => write!(f, "+ {place}: {now}"),
            Change::Removed { place, was } => write!(f, "- {place}: {was}"),
            Change::Changed { place, was, now } => write!(f, "~ {place}: {was} -> {now}"),
        }
    }
}

impl Change {
    /// What is there after the change (nothing for a removal).
    pub fn now(&self) -> Option<&str> {
        match self {
            Change::Added { now, .. } | Change::Changed { now, .. } => Some(now),
            Change::Removed { .. } => None,
        }
    }

    /// Where: `mongo <collection> <_id>`, `redis <key>` or `kafka <topic>/<partition>`.
    pub fn place(&self) -> &str {
        match self {
            Change::Added { place, .. } | Change::Removed { place, .. } | Change::Changed { place, .. } => place,
        }
    }
}

fn diff_maps<V: ToString + PartialEq>(
    what: &str,
    before: &BTreeMap<String, V>,
    after: &BTreeMap<String, V>,
    into: &mut Vec<Change>,
) {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for key in keys {
        let place = format!("{what} {key}");
        match (before.get(key), after.get(key)) {
            (None, Some(now)) => into.push(Change::Added { place, now: now.to_string() }),
            (Some(was), None) => into.push(Change::Removed { place, was: was.to_string() }),
            (Some(was), Some(now)) if was != now => {
                into.push(Change::Changed { place, was: was.to_string(), now: now.to_string() })
            }
            _ => {}
        }
    }
}

impl StateSnapshot {
    /// What differs in `after`, in a stable order: MongoDB, then Redis, then Kafka.
    pub fn diff(&self, after: &StateSnapshot) -> Vec<Change> {
        let mut changes = Vec::new();
        let empty = BTreeMap::new();
        let collections: BTreeSet<&String> = self.mongo.keys().chain(after.mongo.keys()).collect();
        for collection in collections {
            let (before, now) =
                (self.mongo.get(collection).unwrap_or(&empty), after.mongo.get(collection).unwrap_or(&empty));
            diff_maps(&format!("mongo {collection}"), before, now, &mut changes);
        }
        diff_maps("redis", &self.redis, &after.redis, &mut changes);
        diff_maps("kafka", &self.kafka, &after.kafka, &mut changes);
        changes
    }

    /// Fails the test, naming every change, unless `after` is this snapshot. `what` says what was
    /// done in between (the request).
    pub fn assert_unchanged(&self, after: &StateSnapshot, what: &str) {
        let changes = self.diff(after);
        assert!(changes.is_empty(), "{what} changed the stored state:\n{}", lines(&changes));
    }
}

/// Changes one per line, for failure messages.
pub fn lines(changes: &[Change]) -> String {
    changes.iter().map(|c| format!("  {c}")).collect::<Vec<_>>().join("\n")
}

/// JSON with every object's keys sorted, so equal values print alike whatever their order.
pub fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, String> = map.iter().map(|(k, v)| (k, canonical(v))).collect();
            let fields: Vec<String> =
                sorted.into_iter().map(|(k, v)| format!("{}:{v}", Value::String(k.clone()))).collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// What a snapshot reads: the test's database, its Redis key prefix and its Kafka topic prefix.
/// It keeps one Kafka client for all its snapshots: connecting takes longer than reading.
pub struct Watch {
    db: mongodb::Database,
    redis: Redis,
    kafka: Arc<BaseConsumer>,
    topic_prefix: String,
}

impl Watch {
    pub fn new(db: &mongodb::Database, redis: &Redis, kafka: &KafkaConfig) -> Self {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &kafka.brokers)
            .set("group.id", format!("{}snapshot", kafka.topic_prefix))
            .set("enable.auto.commit", "false")
            .create()
            .expect("a Kafka client");
        Self {
            db: db.clone(),
            redis: redis.clone(),
            kafka: Arc::new(consumer),
            topic_prefix: kafka.topic_prefix.clone(),
        }
    }

    /// The state now, once the outbox is empty (or after [`OUTBOX_DRAIN`], when Kafka does not
    /// take its entries: they are then part of the snapshot as they are).
    pub async fn snapshot(&self) -> StateSnapshot {
        self.drain_outbox().await;
        let (mongo, redis, kafka) = tokio::join!(self.mongo(), self.redis(), self.kafka());
        StateSnapshot { mongo, redis, kafka }
    }

    async fn drain_outbox(&self) {
        let outbox = self.db.collection::<bson::Document>("outbox");
        let deadline = tokio::time::Instant::now() + OUTBOX_DRAIN;
        loop {
            let waiting = outbox.count_documents(bson::doc! {}).await.expect("count the outbox");
            if waiting == 0 || tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn mongo(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut collections = BTreeMap::new();
        let names = self.db.list_collection_names().await.expect("list the test database's collections");
        for name in names.into_iter().filter(|n| !n.starts_with("system.")) {
            let cursor = self.db.collection::<bson::Document>(&name).find(bson::doc! {}).await.expect("find");
            let documents: Vec<bson::Document> =
                cursor.try_collect().await.unwrap_or_else(|e| panic!("read collection {name}: {e}"));
            let documents = documents
                .into_iter()
                .map(|doc| {
                    let id = doc.get("_id").cloned().unwrap_or(bson::Bson::Null);
                    let id = canonical(&id.into_relaxed_extjson());
                    (id, canonical(&bson::Bson::Document(doc).into_relaxed_extjson()))
                })
                .collect();
            collections.insert(name, documents);
        }
        collections
    }

    /// The keys under the test's prefix that snapshots leave out ([`VOLATILE_REDIS_KEYS`]).
    pub async fn volatile_keys(&self) -> Vec<String> {
        let prefix = self.redis.keys.prefix();
        let volatile = |key: &String| VOLATILE_REDIS_KEYS.iter().any(|p| matches_pattern(p, &key[prefix.len()..]));
        self.keys().await.into_iter().filter(volatile).collect()
    }

    async fn keys(&self) -> Vec<String> {
        let mut conn = self.redis.conn.clone();
        let prefix = self.redis.keys.prefix();
        let mut keys = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .expect("SCAN the test's keys");
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        keys
    }

    async fn redis(&self) -> BTreeMap<String, String> {
        let mut conn = self.redis.conn.clone();
        let prefix = self.redis.keys.prefix();
        let mut values = BTreeMap::new();
        for key in self.keys().await {
            let tail = &key[prefix.len()..];
            if VOLATILE_REDIS_KEYS.iter().any(|pattern| matches_pattern(pattern, tail)) {
                continue;
            }
            let kind: String = redis::cmd("TYPE").arg(&key).query_async(&mut conn).await.expect("TYPE");
            let value: Value = match kind.as_str() {
                "string" => {
                    let v: Option<Vec<u8>> = redis::cmd("GET").arg(&key).query_async(&mut conn).await.expect("GET");
                    v.map_or(Value::Null, |v| Value::String(String::from_utf8_lossy(&v).into_owned()))
                }
                "hash" => {
                    let v: BTreeMap<String, String> =
                        redis::cmd("HGETALL").arg(&key).query_async(&mut conn).await.expect("HGETALL");
                    serde_json::to_value(v).expect("a map")
                }
                "list" => {
                    let v: Vec<String> =
                        redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).query_async(&mut conn).await.expect("LRANGE");
                    serde_json::to_value(v).expect("a list")
                }
                "set" => {
                    let v: BTreeSet<String> =
                        redis::cmd("SMEMBERS").arg(&key).query_async(&mut conn).await.expect("SMEMBERS");
                    serde_json::to_value(v).expect("a set")
                }
                "zset" => {
                    let v: Vec<(String, f64)> = redis::cmd("ZRANGE")
                        .arg(&key)
                        .arg(0)
                        .arg(-1)
                        .arg("WITHSCORES")
                        .query_async(&mut conn)
                        .await
                        .expect("ZRANGE");
                    serde_json::to_value(v).expect("a sorted set")
                }
                // Gone between SCAN and TYPE.
                "none" => continue,
                other => Value::String(format!("<a {other}>")),
            };
            values.insert(key, format!("{kind} {}", canonical(&value)));
        }
        values
    }

    async fn kafka(&self) -> BTreeMap<String, i64> {
        let (consumer, prefix) = (self.kafka.clone(), self.topic_prefix.clone());
        tokio::task::spawn_blocking(move || {
            let timeout = Duration::from_secs(10);
            let metadata = consumer.fetch_metadata(None, timeout).expect("Kafka's topic list");
            let mut offsets = BTreeMap::new();
            for topic in metadata.topics().iter().filter(|t| t.name().starts_with(&prefix)) {
                for partition in topic.partitions() {
                    let (_, high) = consumer
                        .fetch_watermarks(topic.name(), partition.id(), timeout)
                        .unwrap_or_else(|e| panic!("the end offset of {}/{}: {e}", topic.name(), partition.id()));
                    offsets.insert(format!("{}/{}", topic.name(), partition.id()), high);
                }
            }
            offsets
        })
        .await
        .expect("the Kafka read")
    }
}

/// Whether `key` is `pattern`, or starts with what comes before a trailing `*`.
fn matches_pattern(pattern: &str, key: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(head) => key.starts_with(head),
        None => key == pattern,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let a = json!({"b": 1, "a": {"d": [1, {"z": 0, "y": 1}], "c": null}});
        assert_eq!(canonical(&a), r#"{"a":{"c":null,"d":[1,{"y":1,"z":0}]},"b":1}"#);
    }

    #[test]
    fn volatile_patterns_match_their_keys_only() {
        assert!(matches_pattern("ratelimit:*", "ratelimit:login:ip:10.0.0.1"));
        assert!(matches_pattern("nodes", "nodes"));
        assert!(!matches_pattern("nodes", "node:n1:rooms"));
        assert!(!matches_pattern("replicas", "replicas2"));
    }

    #[test]
    fn a_diff_names_what_was_added_removed_and_changed() {
        let mut before = StateSnapshot::default();
        before.redis.insert("k1".into(), "string \"a\"".into());
        before.redis.insert("k2".into(), "string \"b\"".into());
        before.kafka.insert("t/0".into(), 3);
        let mut after = before.clone();
        after.redis.remove("k1");
        after.redis.insert("k2".into(), "string \"c\"".into());
        after.mongo.entry("users".into()).or_default().insert("\"u1\"".into(), "{}".into());
        after.kafka.insert("t/0".into(), 4);
        let shown: Vec<String> = before.diff(&after).iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "+ mongo users \"u1\": {}",
                "- redis k1: string \"a\"",
                "~ redis k2: string \"b\" -> string \"c\"",
                "~ kafka t/0: 3 -> 4",
            ]
        );
    }
}
