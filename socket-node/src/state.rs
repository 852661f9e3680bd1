//! The node's shared state and its start-up: connections to MongoDB, Redis and Kafka, the hub,
//! the bus subscription and the background tasks (queue refresher, standby sweeper, heartbeat,
//! outbox relay).

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::extract::FromRef;
use shared::{
    auth::{AccessTokens, ChatbotAccess, ChatroomTokens},
    client_ip::TrustedProxies,
    domain::Timestamp,
    error::ServiceError,
    events::{EventQueue, KafkaPublisher, Topic},
    ratelimit::{RateLimiter, RedisRateLimiter},
    redis::Redis,
    repos::Repos,
};
use tokio::{sync::watch, task::JoinHandle};

use crate::{bus::Bus, config::Config, hub::Hub, metrics::Metrics, presence::Presence};

/// Everything a request or a connection needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub node: Arc<NodeInfo>,
    pub repos: Repos,
    pub redis: Redis,
    pub access: ChatbotAccess,
    pub agent_tokens: AccessTokens,
    pub chatroom_tokens: ChatroomTokens,
    pub events: EventQueue,
    pub limiter: Arc<dyn RateLimiter>,
    pub hub: Arc<Hub>,
    pub bus: Bus,
    pub presence: Presence,
    pub metrics: Arc<Metrics>,
    pub ip_slots: IpSlots,
    pub kafka: KafkaPublisher,
    pub mongo: mongodb::Database,
    /// Turns true when the node shuts down; every connection closes with 1001.
    pub shutdown: watch::Receiver<bool>,
    connection_ids: Arc<AtomicU64>,
}

impl FromRef<AppState> for TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.config.proxies.clone()
    }
}

/// Who this node is, as its heartbeat reports it.
#[derive(Debug)]
pub struct NodeInfo {
    /// Random per start, so a restarted node never inherits the presence of its previous life.
    pub id: String,
    pub address: SocketAddr,
    pub started_at: Timestamp,
}

impl AppState {
    pub fn next_connection_id(&self) -> u64 {
        self.connection_ids.fetch_add(1, Ordering::Relaxed)
    }
}

/// A running node's state and the handles that stop it.
pub struct Node {
    pub state: AppState,
    shutdown: ShutdownTrigger,
    tasks: Vec<JoinHandle<()>>,
    events: JoinHandle<()>,
}

impl Node {
    /// Connects to MongoDB, Redis and Kafka (in that order, creating indexes and topics),
    /// subscribes to the bus and starts the background tasks. `address` is where the node is
    /// reachable (reported in its heartbeat).
    pub async fn start(config: Config, address: SocketAddr) -> Result<Self, ServiceError> {
        let db = shared::mongo::open(&config.mongo).await?;
        let redis = shared::redis::connect(&config.redis).await?;
        let kafka = KafkaPublisher::connect(&config.kafka).await?;
        shared::events::ensure_topics(&config.kafka, &Topic::ALL).await?;
        let repos = Repos::mongo(&db);

        let node =
            Arc::new(NodeInfo { id: uuid::Uuid::new_v4().simple().to_string(), address, started_at: Timestamp::now() });
        let (shutdown_tx, shutdown) = watch::channel(false);
        let (outbox, relay) = shared::events::kafka_with_outbox(kafka.clone(), &db, wait_for(shutdown.clone()));
        let (events, events_task) = EventQueue::spawn(outbox, 10_000);
        let hub = Arc::new(Hub::default());
        let (queue_changes_tx, queue_changes) = tokio::sync::mpsc::unbounded_channel();
        let bus = Bus::new(redis.clone(), node.id.clone(), hub.clone(), queue_changes_tx);

        let state = AppState {
            access: ChatbotAccess::new(repos.chatbots.clone(), config.identity.clone(), Some(redis.clone())),
            agent_tokens: AccessTokens::new(&config.auth),
            chatroom_tokens: ChatroomTokens::new(&config.auth, config.chatroom_token_ttl),
            limiter: Arc::new(RedisRateLimiter::new(redis.clone())),
            presence: Presence::new(redis.clone(), node.id.clone()),
            metrics: Arc::default(),
            ip_slots: IpSlots::default(),
            connection_ids: Arc::new(AtomicU64::new(1)),
            config: Arc::new(config),
            node,
            repos,
            redis,
            events,
            hub,
            bus: bus.clone(),
            kafka,
            mongo: db,
            shutdown: shutdown.clone(),
        };

        let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
        let mut tasks = vec![tokio::spawn(bus.run(shutdown.clone(), subscribed_tx))];
        tokio::time::timeout(Duration::from_secs(10), subscribed)
            .await
            .map_err(|_| ServiceError::unreachable("Redis", "pub/sub", "no subscription within 10s"))?
            .map_err(|_| ServiceError::unreachable("Redis", "pub/sub", "the subscription ended"))?;
        tasks.push(tokio::spawn(crate::waiting::run_refresher(state.clone(), queue_changes, shutdown.clone())));
        tasks.push(tokio::spawn(crate::waiting::run_sweeper(state.clone(), shutdown.clone())));
        tasks.push(tokio::spawn(run_heartbeat(state.clone(), shutdown.clone())));
        tasks.push(relay);
        Ok(Self { state, shutdown: ShutdownTrigger(Arc::new(shutdown_tx)), tasks, events: events_task })
    }

    /// Closes every connection with 1001, stops the background tasks, and sends the events
    /// still queued (to Kafka, or to the outbox).
    pub async fn stop(self) {
        self.shutdown.begin();
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        self.state.presence.depart().await;
        self.state.events.close();
        let _ = tokio::time::timeout(Duration::from_secs(15), self.events).await;
    }

    /// What starts the shutdown (closing every connection with 1001) from elsewhere, e.g. a
    /// signal handler; [`Node::stop`] then finishes it.
    pub fn shutdown_trigger(&self) -> ShutdownTrigger {
        self.shutdown.clone()
    }
}

#[derive(Clone)]
pub struct ShutdownTrigger(Arc<watch::Sender<bool>>);

impl ShutdownTrigger {
    pub fn begin(&self) {
        let _ = self.0.send(true);
    }
}

async fn wait_for(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stopping| *stopping).await;
}

/// Reports the node in Redis every heartbeat, and puts in standby the chatrooms whose visitor
/// was connected to a node that stopped beating.
async fn run_heartbeat(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let interval = state.config.timing.heartbeat;
    let mut ticks = tokio::time::interval(interval);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => return,
        }
        let beat =
            state.presence.heartbeat(state.node.address, state.metrics.connections(), state.node.started_at, interval);
        match beat.await {
            Ok(orphaned) => {
                for (tenant, room) in orphaned {
                    if state.presence.count(room).await.unwrap_or(1) == 0
                        && let Err(err) = crate::chat::go_standby(&state, tenant, room).await
                    {
                        tracing::warn!(error = %err, "standby of an orphaned chatroom failed");
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "heartbeat failed"),
        }
    }
}

/// Open connections per client address on this node, to cap them.
#[derive(Clone, Default)]
pub struct IpSlots(Arc<Mutex<HashMap<IpAddr, u32>>>);

/// One connection's place in its address's count; dropping it frees the place.
pub struct IpSlot {
    slots: IpSlots,
    ip: IpAddr,
}

impl IpSlots {
    pub fn acquire(&self, ip: IpAddr, max: u32) -> Option<IpSlot> {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(ip).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(IpSlot { slots: self.clone(), ip })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.slots.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_cap_and_dropping_frees_a_place() {
        let slots = IpSlots::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let first = slots.acquire(ip, 2).unwrap();
        let _second = slots.acquire(ip, 2).unwrap();
        assert!(slots.acquire(ip, 2).is_none());
        assert!(slots.acquire("192.0.2.8".parse().unwrap(), 2).is_some());
        drop(first);
        assert!(slots.acquire(ip, 2).is_some());
    }
}
