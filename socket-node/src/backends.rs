//! What a node runs on: the repositories, the event publisher, the broker, presence, the rate
//! limiter and the chatbot and chatroom caches. On the real services (MongoDB, Redis, Kafka behind the MongoDB
//! outbox) for production and tests; in process memory for `scripts/dev --memory`. The node is
//! the same either way.

use std::{sync::Arc, time::Duration};

use futures::{FutureExt as _, future::BoxFuture};
use redis::AsyncCommands as _;
use shared::{
    error::ServiceError,
    events::{EventPublisher, Topic},
    ratelimit::RateLimiter,
    redis::Redis,
    repos::Repos,
    services::{Services, ServicesConfig},
};
use tokio::{sync::watch, task::JoinHandle};

use crate::{
    broker::{Broker, MemoryBroker, RedisBroker},
    chatroom_cache::CachedChatrooms,
    presence::{MemoryPresence, MemorySpace, Presence, RedisPresence},
    recent::RecentMessages,
    seqs::{MemorySeqs, RedisSeqs, Seqs},
};

/// How long each readiness check may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Backends {
    pub repos: Repos,
    pub events: Arc<dyn EventPublisher>,
    pub broker: Arc<dyn Broker>,
    pub presence: Arc<dyn Presence>,
    /// Each chatroom's message numbers: in Redis, or in this process without it.
    pub seqs: Arc<dyn Seqs>,
    /// Each chatroom's recent messages, with Redis.
    pub recent: Option<Arc<RecentMessages>>,
    pub limiter: Arc<dyn RateLimiter>,
    /// The chatbot cache, when there is Redis.
    pub cache: Option<Redis>,
    /// What `/readyz` checks: one probe per service.
    pub probes: Vec<Probe>,
    /// The outbox relay this node runs, stopped with the node.
    pub relay: Option<Relay>,
}

/// A readiness check: the service's name, whether it answers, and whether the node can serve
/// chat without it.
#[derive(Clone)]
pub struct Probe {
    pub name: &'static str,
    /// Chat stops without it (MongoDB, Redis); without Kafka it goes on, events waiting in the
    /// outbox, so a node whose Kafka is down stays ready and only says so.
    pub required: bool,
    check: Arc<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>,
}

impl Probe {
    pub fn new<F>(name: &'static str, required: bool, check: impl Fn() -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = bool> + Send + 'static,
    {
        Self { name, required, check: Arc::new(move || check().boxed()) }
    }

    /// Whether the service answered within [`PROBE_TIMEOUT`].
    pub async fn up(&self) -> bool {
        tokio::time::timeout(PROBE_TIMEOUT, (self.check)()).await.unwrap_or(false)
    }
}

/// The outbox relay's task and what stops it.
pub struct Relay {
    pub stop: watch::Sender<bool>,
    pub task: JoinHandle<()>,
}

impl Backends {
    /// The standalone node's: MongoDB, Redis and Kafka (its topics created, events through the
    /// outbox, whose relay this node runs). `node` is the node's id.
    pub async fn connect(config: &ServicesConfig, node: &str) -> Result<Self, ServiceError> {
        let services = Services::connect(config, &Topic::ALL).await?;
        let (stop, mut stopped) = watch::channel(false);
        let pipeline = services.events(async move {
            let _ = stopped.wait_for(|stopping| *stopping).await;
        });
        let mut backends = Self::on(&services, pipeline.publisher, node);
        backends.relay = pipeline.relay.map(|task| Relay { stop, task });
        Ok(backends)
    }

    /// Over services already connected, publishing to `events`: with Redis, the broker and
    /// presence are Redis's; without it, this process's own (one node).
    pub fn on(services: &Services, events: Arc<dyn EventPublisher>, node: &str) -> Self {
        let (broker, presence, seqs): (Arc<dyn Broker>, Arc<dyn Presence>, Arc<dyn Seqs>) = match &services.redis {
            Some(redis) => (
                Arc::new(RedisBroker::new(redis.clone())),
                Arc::new(RedisPresence::new(redis.clone(), node.to_owned())),
                Arc::new(RedisSeqs::new(redis.clone())),
            ),
            None => (
                Arc::new(MemoryBroker::default()),
                Arc::new(MemoryPresence::new(MemorySpace::default(), node.to_owned())),
                Arc::new(MemorySeqs::default()),
            ),
        };
        let mut repos = services.repos();
        if let Some(redis) = &services.redis {
            repos.chatrooms = Arc::new(CachedChatrooms::new(repos.chatrooms, redis.clone()));
        }
        Self {
            repos,
            events,
            broker,
            presence,
            seqs,
            recent: services.redis.clone().map(|redis| Arc::new(RecentMessages::new(redis))),
            limiter: services.limiter(),
            cache: services.redis.clone(),
            probes: probes(services),
            relay: None,
        }
    }
}

fn probes(services: &Services) -> Vec<Probe> {
    let mut probes = Vec::new();
    if let Some(db) = services.db.clone() {
        probes.push(Probe::new("mongodb", true, move || {
            let db = db.clone();
            async move { db.run_command(mongodb::bson::doc! {"ping": 1}).await.is_ok() }
        }));
    }
    if let Some(redis) = services.redis.clone() {
        probes.push(Probe::new("redis", true, move || {
            let mut conn = redis.conn.clone();
            async move { conn.ping::<String>().await.is_ok() }
        }));
    }
    if let Some((kafka, _)) = services.kafka.clone() {
        probes.push(Probe::new("kafka", false, move || {
            let kafka = kafka.clone();
            async move { kafka.probe(PROBE_TIMEOUT).await }
        }));
    }
    probes
}
