//! The broker: notices between socket-nodes (centrifuge's `Broker`).
//!
//! Whichever node causes a notice publishes it to its [route](crate::notice::Route); the nodes
//! that listen to that route, the publisher included if it does, receive it and hand it to the
//! [`NoticeHandler`] they registered (the node's: it gives notices to its [hub](crate::hub) and
//! queue changes to its queue refresher). A node listens to exactly the routes its hub has
//! connections for: the hub calls [`Broker::listen`] when a route gets its first connection on
//! the node and [`Broker::ignore`] when it loses its last. So each node's share of the bus is
//! that of its own chatrooms, agents and tenants, however many nodes run. A visitor on one node
//! and their agent on another see the same notices in the same order: a broker keeps one
//! publisher's order.
//!
//! Two brokers, one contract (tests/socket_node/broker.rs runs the same suite on both):
//! - [`RedisBroker`]: Redis pub/sub, one channel per route, for any number of nodes. Pub/sub is
//!   at most once: a node that loses its subscription misses what was published meanwhile, so
//!   when the subscription comes back the handler hears [`NoticeHandler::on_resubscribed`] and
//!   every connection fills in from the store.
//! - [`MemoryBroker`]: in process, for `scripts/dev --memory` (and several nodes in one test
//!   process, each with its own handle on one medium: [`MemoryBroker::another_node`]).
//!
//! A publish that fails is handed to this node's handler at least, and logged ([`Publisher`]).

mod memory;
mod redis;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
pub use memory::MemoryBroker;
pub use redis::RedisBroker;
use tokio::sync::{oneshot, watch};

use crate::notice::{ConnId, Notice, Origin, Route};

/// What a node does with the notices its broker receives.
pub trait NoticeHandler: Send + Sync {
    /// A notice arrived. Called on the broker's task: it must not block.
    fn on_notice(&self, notice: Notice);
    /// The subscription was lost and is back: notices may have been missed.
    fn on_resubscribed(&self);
}

/// Why a notice could not be published (the broker's words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BrokerError(pub String);

#[async_trait]
pub trait Broker: Send + Sync {
    /// Sends the notice to every node that listens to its route, this one included.
    async fn publish(&self, notice: &Notice) -> Result<(), BrokerError>;

    /// This node wants the route's notices from now on (its first connection for the route
    /// arrived). Called by the hub under its lock, so calls for one route come in order; never
    /// blocks. The answer tells when the notices flow.
    fn listen(&self, route: Route) -> Listening;

    /// Whether the notices of a route this node listens to flow yet (for its next connection).
    fn listening(&self, route: Route) -> Listening;

    /// This node no longer wants the route's notices (its last connection for the route left).
    fn ignore(&self, route: Route);

    /// Subscribes and hands every notice that arrives to `handler`, resubscribing when the
    /// subscription breaks, until `shutdown` turns true. `ready` is told once the first
    /// subscription is in place.
    async fn run(&self, handler: Arc<dyn NoticeHandler>, shutdown: watch::Receiver<bool>, ready: oneshot::Sender<()>);
}

/// Whether the broker delivers a route's notices to this node yet.
#[derive(Clone, Debug)]
#[must_use = "wait for it before reading what the route's notices would change"]
pub struct Listening(Option<watch::Receiver<bool>>);

impl Listening {
    /// The broker delivers the route's notices already.
    pub fn now() -> Self {
        Self(None)
    }

    /// Listening that starts when `started` says so.
    pub fn when(started: watch::Receiver<bool>) -> Self {
        Self(Some(started))
    }

    /// Waits until the notices flow, at most `limit`. False when they do not yet: the broker is
    /// reconnecting, and once it is back every connection fills in from the store.
    pub async fn wait(self, limit: Duration) -> bool {
        let Some(mut started) = self.0 else { return true };
        matches!(tokio::time::timeout(limit, started.wait_for(|started| *started)).await, Ok(Ok(_)))
    }
}

/// How a node publishes: through its broker, or, when the broker fails, to itself at least.
#[derive(Clone)]
pub struct Publisher {
    broker: Arc<dyn Broker>,
    local: Arc<dyn NoticeHandler>,
    node: String,
}

impl Publisher {
    pub fn new(broker: Arc<dyn Broker>, local: Arc<dyn NoticeHandler>, node: String) -> Self {
        Self { broker, local, node }
    }

    /// Names a connection of this node as a notice's origin.
    pub fn origin(&self, conn: ConnId) -> Origin {
        Origin { node: self.node.clone(), conn }
    }

    pub async fn publish(&self, notice: Notice) {
        if let Err(err) = self.broker.publish(&notice).await {
            tracing::warn!(error = %err, "broker publish failed; delivering on this node only");
            self.local.on_notice(notice);
        }
    }
}
