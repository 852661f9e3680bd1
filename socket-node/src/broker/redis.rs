//! The Redis broker: one pub/sub channel per route (`<prefix>bus:chatroom:<id>`,
//! `<prefix>bus:tenant:<id>`, ...), each node subscribed to the routes its hub has connections
//! for. Redis hands a notice only to the nodes subscribed to its channel, so a node's share of the
//! bus does not grow with the number of nodes.
//!
//! One connection per node carries every subscription. [`Broker::listen`] and [`Broker::ignore`]
//! record the change in `wanted` and queue it; the running subscription applies the queue in
//! order (consecutive changes of one kind as one `SUBSCRIBE` or `UNSUBSCRIBE`) and tells each
//! listener once Redis has confirmed its channel (then `wanted` keeps just the route: a node
//! holding 10,000 chatrooms holds 10,000 of them). A new connection subscribes everything in
//! `wanted` at once, then connections fill in what they missed ([`NoticeHandler::on_resubscribed`]).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use futures::StreamExt as _;
use redis::{
    AsyncCommands as _, RedisResult,
    aio::{PubSubSink, PubSubStream},
};
use shared::redis::Redis;
use tokio::sync::{mpsc, oneshot, watch};

use super::{Broker, BrokerError, Listening, NoticeHandler};
use crate::notice::{Notice, Route};

/// Channels per `SUBSCRIBE` or `UNSUBSCRIBE`.
const CHANNELS_PER_COMMAND: usize = 1000;

/// A change to the node's subscriptions, queued for the running subscription.
enum Change {
    /// Subscribe, then tell the listeners.
    Listen(Route, watch::Sender<bool>),
    Ignore(Route),
}

impl Change {
    fn route(&self) -> &Route {
        match self {
            Change::Listen(route, _) | Change::Ignore(route) => route,
        }
    }
}

/// The routes a node wants, each with what tells its listeners that it is subscribed while
/// Redis has not confirmed it yet.
type Wanted = HashMap<Route, Option<watch::Sender<bool>>>;

pub struct RedisBroker {
    redis: Redis,
    wanted: Mutex<Wanted>,
    changes: mpsc::UnboundedSender<Change>,
    /// The queue's other end, held by the running subscription.
    queued: tokio::sync::Mutex<mpsc::UnboundedReceiver<Change>>,
}

/// Why a subscription's connection ended.
enum Ended {
    Shutdown,
    Lost,
}

impl RedisBroker {
    pub fn new(redis: Redis) -> Self {
        let (changes, queued) = mpsc::unbounded_channel();
        Self { redis, wanted: Mutex::default(), changes, queued: tokio::sync::Mutex::new(queued) }
    }

    fn channel(&self, route: &Route) -> String {
        self.redis.keys.key(&["bus", &route.to_string()])
    }

    fn wanted(&self) -> std::sync::MutexGuard<'_, Wanted> {
        self.wanted.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Redis confirmed the route's channel, asked for by `listen`: its listeners hear it, and
    /// only the route stays wanted. A later `listen` of the same route, still queued, keeps
    /// waiting for its own confirmation.
    fn started(&self, route: &Route, listen: &watch::Sender<bool>) {
        listen.send_replace(true);
        let mut wanted = self.wanted();
        if let Some(pending) = wanted.get_mut(route)
            && pending.as_ref().is_some_and(|pending| pending.same_channel(listen))
        {
            *pending = None;
        }
    }

    /// Opens a pub/sub connection subscribed to every wanted channel.
    async fn connect(&self, queued: &mut mpsc::UnboundedReceiver<Change>) -> RedisResult<(PubSubSink, PubSubStream)> {
        let (mut sink, stream) = self.redis.client.get_async_pubsub().await?.split();
        // Whatever is queued is in `wanted` already (or no longer wanted).
        while queued.try_recv().is_ok() {}
        let wanted: Vec<(Route, Option<watch::Sender<bool>>)> =
            self.wanted().iter().map(|(route, pending)| (*route, pending.clone())).collect();
        for chunk in wanted.chunks(CHANNELS_PER_COMMAND) {
            let channels: Vec<String> = chunk.iter().map(|(route, _)| self.channel(route)).collect();
            sink.subscribe(&channels).await?;
        }
        for (route, pending) in &wanted {
            if let Some(listen) = pending {
                self.started(route, listen);
            }
        }
        Ok((sink, stream))
    }

    /// Receives notices and applies subscription changes until the connection breaks or the node
    /// stops.
    async fn serve(
        &self,
        handler: &dyn NoticeHandler,
        (mut sink, mut stream): (PubSubSink, PubSubStream),
        queued: &mut mpsc::UnboundedReceiver<Change>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Ended {
        let receiving = async {
            while let Some(message) = stream.next().await {
                receive(handler, message.get_payload_bytes());
            }
        };
        let applying = async {
            while let Some(change) = queued.recv().await {
                if let Err(err) = self.apply(&mut sink, change, queued).await {
                    tracing::warn!(error = %err, "broker subscription change failed");
                    return;
                }
            }
        };
        tokio::select! {
            () = receiving => Ended::Lost,
            () = applying => Ended::Lost,
            _ = shutdown.changed() => Ended::Shutdown,
        }
    }

    /// Applies `first` and whatever else is queued, in order.
    async fn apply(
        &self,
        sink: &mut PubSubSink,
        first: Change,
        queued: &mut mpsc::UnboundedReceiver<Change>,
    ) -> RedisResult<()> {
        let mut changes = vec![first];
        while changes.len() < CHANNELS_PER_COMMAND {
            match queued.try_recv() {
                Ok(change) => changes.push(change),
                Err(_) => break,
            }
        }
        let listen = |change: &Change| matches!(change, Change::Listen(..));
        for run in changes.chunk_by(|a, b| listen(a) == listen(b)) {
            let channels: Vec<String> = run.iter().map(|change| self.channel(change.route())).collect();
            if listen(&run[0]) {
                sink.subscribe(&channels).await?;
                for change in run {
                    if let Change::Listen(route, listen) = change {
                        self.started(route, listen);
                    }
                }
            } else {
                sink.unsubscribe(&channels).await?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Broker for RedisBroker {
    async fn publish(&self, notice: &Notice) -> Result<(), BrokerError> {
        let payload = serde_json::to_string(notice).expect("notices serialise");
        let mut conn = self.redis.conn.clone();
        let published: Result<u64, _> = conn.publish(self.channel(&notice.route), payload).await;
        published.map(drop).map_err(|err| BrokerError(err.to_string()))
    }

    fn listen(&self, route: Route) -> Listening {
        let (started, listening) = watch::channel(false);
        self.wanted().insert(route, Some(started.clone()));
        // The queue's receiver lives as long as the broker.
        let _ = self.changes.send(Change::Listen(route, started));
        Listening::when(listening)
    }

    fn listening(&self, route: Route) -> Listening {
        match self.wanted().get(&route) {
            Some(Some(started)) => Listening::when(started.subscribe()),
            _ => Listening::now(),
        }
    }

    fn ignore(&self, route: Route) {
        self.wanted().remove(&route);
        let _ = self.changes.send(Change::Ignore(route));
    }

    async fn run(
        &self,
        handler: Arc<dyn NoticeHandler>,
        mut shutdown: watch::Receiver<bool>,
        ready: oneshot::Sender<()>,
    ) {
        let mut queued = self.queued.lock().await;
        let mut ready = Some(ready);
        let mut backoff = Duration::from_millis(100);
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.connect(&mut queued).await {
                Ok(connection) => {
                    backoff = Duration::from_millis(100);
                    match ready.take() {
                        Some(tx) => {
                            let _ = tx.send(());
                        }
                        None => {
                            tracing::info!("broker subscription restored; connections resync");
                            handler.on_resubscribed();
                        }
                    }
                    match self.serve(handler.as_ref(), connection, &mut queued, &mut shutdown).await {
                        Ended::Shutdown => return,
                        Ended::Lost => tracing::warn!("broker subscription lost; reconnecting"),
                    }
                }
                Err(err) => tracing::warn!(error = %err, "broker subscription failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}

fn receive(handler: &dyn NoticeHandler, payload: &[u8]) {
    match serde_json::from_slice::<Notice>(payload) {
        Ok(notice) => handler.on_notice(notice),
        // Another deployment on the same prefix, or a newer node: not ours to act on.
        Err(err) => tracing::warn!(error = %err, "unreadable notice skipped"),
    }
}
