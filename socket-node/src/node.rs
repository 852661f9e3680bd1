//! A running node: start-up, the background tasks and shutdown.
//!
//! [`Node::start`] wires the [backends](crate::backends) together: the broker hands what it
//! receives to this node's [`NodeHandler`] (notices to the hub, list changes to the list
//! refresher and the router); chat operations publish through the broker and fall back to the
//! same handler. Background tasks: the broker subscription, the list refresher and the sweeper
//! ([`waiting`](crate::waiting)), the router ([`routing`](crate::routing)), the heartbeat (below), and the outbox relay when the node runs
//! one. [`Node::stop`] closes every connection with 1001, stops the tasks and sends the events
//! still queued.

use std::{
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

use shared::{
    auth::{AccessTokens, ChatbotAccess, ChatroomTokens},
    domain::TenantId,
    error::ServiceError,
    events::EventQueue,
};
use tokio::{
    sync::{mpsc, oneshot, watch},
    task::JoinHandle,
};

use crate::{
    backends::{Backends, Relay},
    broker::{NoticeHandler, Publisher},
    chat::ChatService,
    config::Config,
    hub::Hub,
    message_writer::MessageWriter,
    metrics::Metrics,
    notice::{Notice, NoticeKind, Route},
    presence::Beat,
    routing::RouteRequests,
    state::{AppState, IpSlots, NodeInfo, NodeState},
    waiting::ListChange,
    web::WebAssets,
};

/// Events waiting for the publisher before a chat operation waits for room.
const EVENT_QUEUE: usize = 10_000;

/// What the node does with each notice its broker receives.
pub struct NodeHandler {
    node: String,
    hub: Arc<Hub>,
    list_changes: mpsc::UnboundedSender<(TenantId, ListChange)>,
    routing: RouteRequests,
    metrics: Arc<Metrics>,
}

impl NodeHandler {
    /// Rebuilds what changed for this node's connections, and routes the tenant's queue again
    /// when it or the agents changed and this node has agents of the tenant.
    fn changed(&self, tenant: TenantId, change: ListChange) {
        if (change.queue || change.agents) && self.hub.has_tenant(&tenant) {
            self.routing.route(tenant);
        }
        let _ = self.list_changes.send((tenant, change));
    }
}

impl NoticeHandler for NodeHandler {
    fn on_notice(&self, notice: Notice) {
        self.metrics.notices_received.inc();
        match (&notice.kind, notice.route) {
            (NoticeKind::ChatroomsChanged { queue }, Route::Tenant(tenant)) => {
                return self.changed(tenant, ListChange { queue: *queue, open: true, ..ListChange::default() });
            }
            (NoticeKind::ChatroomsChanged { .. }, Route::Visitors(tenant)) => {
                return self.changed(tenant, ListChange { visitors: true, ..ListChange::default() });
            }
            (NoticeKind::AgentsChanged, Route::Tenant(tenant)) => {
                return self.changed(tenant, ListChange { agents: true, ..ListChange::default() });
            }
            (NoticeKind::ChatroomsChanged { .. } | NoticeKind::AgentsChanged, _) => return,
            _ => {}
        }
        let origin = notice.origin.as_ref().filter(|o| o.node == self.node).map(|o| o.conn);
        self.hub.dispatch(Arc::new(notice), origin);
    }

    fn on_resubscribed(&self) {
        self.hub.resync_all();
    }
}

/// A running node's state and the handles that stop it.
pub struct Node {
    pub state: AppState,
    shutdown: ShutdownTrigger,
    tasks: Vec<JoinHandle<()>>,
    events: JoinHandle<()>,
    relay: Option<Relay>,
}

impl Node {
    /// Starts a node on `backends` (see [`Backends::connect`]): subscribes to the broker and
    /// starts the background tasks. `info.address` is where the node is reachable (reported in
    /// its heartbeat).
    pub async fn start(config: Config, backends: Backends, info: NodeInfo) -> Result<Self, ServiceError> {
        let info = Arc::new(info);
        let (shutdown_tx, shutdown) = watch::channel(false);
        let (events, events_task) = EventQueue::spawn(backends.events, EVENT_QUEUE);
        let hub = Arc::new(Hub::new(backends.broker.clone()));
        let (list_changes_tx, list_changes) = mpsc::unbounded_channel();
        let (routing, route_requests) = RouteRequests::channel();
        let metrics: Arc<Metrics> = Arc::default();
        let handler: Arc<dyn NoticeHandler> = Arc::new(NodeHandler {
            node: info.id.clone(),
            hub: hub.clone(),
            list_changes: list_changes_tx,
            routing: routing.clone(),
            metrics: metrics.clone(),
        });
        let chat = ChatService {
            repos: backends.repos.clone(),
            events,
            notices: Publisher::new(backends.broker.clone(), handler.clone(), info.id.clone()),
            presence: backends.presence,
            seqs: backends.seqs,
            last_seqs: Arc::default(),
            messages: MessageWriter::spawn(backends.repos.messages.clone(), config.timing.store_window),
            recent: backends.recent,
            limits: config.limits,
            timing: config.timing,
            metrics: Arc::clone(&metrics),
            routing,
            estimates: Arc::default(),
        };
        let state = AppState::new(NodeState {
            access: ChatbotAccess::new(backends.repos.chatbots.clone(), config.identity.clone(), backends.cache),
            agent_tokens: AccessTokens::new(&config.auth),
            chatroom_tokens: ChatroomTokens::new(&config.auth, config.chatroom_token_ttl),
            limiter: backends.limiter,
            metrics,
            ip_slots: IpSlots::default(),
            probes: backends.probes.into(),
            web: Arc::new(WebAssets::load(&config.web_dir)),
            connection_ids: Arc::new(AtomicU64::new(1)),
            config: Arc::new(config),
            node: info,
            chat,
            hub,
            shutdown: shutdown.clone(),
        });

        let (subscribed_tx, subscribed) = oneshot::channel();
        let broker = backends.broker;
        let subscription = shutdown.clone();
        let mut tasks = vec![tokio::spawn(async move { broker.run(handler, subscription, subscribed_tx).await })];
        tokio::time::timeout(Duration::from_secs(10), subscribed)
            .await
            .map_err(|_| ServiceError::unreachable("the broker", "pub/sub", "no subscription within 10s"))?
            .map_err(|_| ServiceError::unreachable("the broker", "pub/sub", "the subscription ended"))?;
        let (chat, hub) = (state.chat.clone(), state.hub.clone());
        tasks.push(tokio::spawn(crate::waiting::run_refresher(
            chat.clone(),
            hub.clone(),
            list_changes,
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(crate::routing::run_router(chat, hub, route_requests, shutdown.clone())));
        tasks.push(tokio::spawn(crate::waiting::run_sweeper(state.chat.clone(), shutdown.clone())));
        let (last_seqs, repos) = (state.chat.last_seqs.clone(), state.chat.repos.clone());
        tasks.push(tokio::spawn(crate::seqs::run_writer(last_seqs, repos, shutdown.clone())));
        tasks.push(tokio::spawn(run_heartbeat(state.clone(), shutdown.clone())));
        let shutdown = ShutdownTrigger(Arc::new(shutdown_tx));
        Ok(Self { state, shutdown, tasks, events: events_task, relay: backends.relay })
    }

    /// Closes every connection with 1001, stops the background tasks, and sends the events
    /// still queued (to Kafka, or to the outbox).
    pub async fn stop(self) {
        self.shutdown.begin();
        if let Some(relay) = &self.relay {
            let _ = relay.stop.send(true);
        }
        let relay = self.relay.map(|relay| relay.task);
        for task in self.tasks.into_iter().chain(relay) {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        self.state.chat.presence.depart().await;
        self.state.chat.events.close();
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

/// Reports the node every heartbeat, and puts in standby the chatrooms whose visitor was
/// connected to a node that stopped beating.
async fn run_heartbeat(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let interval = state.config.timing.heartbeat;
    let mut ticks = tokio::time::interval(interval);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => return,
        }
        let beat = Beat {
            address: state.node.address,
            connections: state.metrics.connections(),
            started_at: state.node.started_at,
            interval,
        };
        match state.chat.presence.heartbeat(beat).await {
            Ok(orphaned) => {
                for (tenant, room) in orphaned {
                    if state.chat.presence.count(room).await.unwrap_or(1) == 0
                        && let Err(err) = crate::chat::go_standby(&state.chat, tenant, room).await
                    {
                        tracing::warn!(error = %err, "standby of an orphaned chatroom failed");
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "heartbeat failed"),
        }
    }
}
