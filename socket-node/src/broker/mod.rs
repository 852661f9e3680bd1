//! The broker: notices between socket-nodes (centrifuge's `Broker`).
//!
//! Whichever node causes a notice publishes it; every node, the publisher included, receives it
//! and hands it to the [`NoticeHandler`] it registered (the node's: it gives notices to its
//! [hub](crate::hub) and queue changes to its queue refresher). The broker knows that handler,
//! never the hub. So a visitor on one node and their agent on another see the same notices in
//! the same order: a broker keeps one publisher's order.
//!
//! Two brokers, one contract (tests/socket_node/broker.rs runs the same suite on both):
//! - [`RedisBroker`]: Redis pub/sub, for any number of nodes. Pub/sub is at most once: a node
//!   that loses its subscription misses what was published meanwhile, so when the subscription
//!   comes back the handler hears [`NoticeHandler::on_resubscribed`] and every connection fills
//!   in from the store.
//! - [`MemoryBroker`]: in process, for `scripts/dev --memory` (and several nodes in one test
//!   process sharing one broker).
//!
//! A publish that fails is handed to this node's handler at least, and logged ([`Publisher`]).

mod memory;
mod redis;

use std::sync::Arc;

use async_trait::async_trait;
pub use memory::MemoryBroker;
pub use redis::RedisBroker;
use tokio::sync::{oneshot, watch};

use crate::notice::{ConnId, Notice, Origin};

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
    /// Sends the notice to every subscribed node, this one included.
    async fn publish(&self, notice: &Notice) -> Result<(), BrokerError>;

    /// Subscribes and hands every notice that arrives to `handler`, resubscribing when the
    /// subscription breaks, until `shutdown` turns true. `ready` is told once the first
    /// subscription is in place.
    async fn run(&self, handler: Arc<dyn NoticeHandler>, shutdown: watch::Receiver<bool>, ready: oneshot::Sender<()>);
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
