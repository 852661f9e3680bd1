//! The bus: notices between socket-nodes, over Redis pub/sub.
//!
//! A notice is something connections must hear about now (a message, a typing indicator, a
//! chatroom's new status, a change in a tenant's queue). Whichever node causes it publishes it on
//! one channel (`<prefix>bus`); every node, the publisher included, receives it and gives it to
//! its [hub](crate::hub), so a visitor on one node and their agent on another see the same
//! notices in the same order (Redis keeps one publisher's order).
//!
//! Pub/sub is at most once: a node that loses its subscription misses what was published
//! meanwhile. So when the subscription comes back, every connection on the node is told to
//! resync, and fills in from MongoDB, the source of truth. A publish that fails is handed to the
//! local hub at least, and logged.
//!
//! One channel for all notices keeps every node's subscription fixed (nothing to re-subscribe per
//! chatroom); each node reads every notice, which is fine for the handful of nodes a deployment
//! runs. Per-chatroom channels are the next step if that changes.

use std::{sync::Arc, time::Duration};

use futures::StreamExt as _;
use redis::AsyncCommands as _;
use serde::{Deserialize, Serialize};
use shared::{
    domain::{ChatroomId, ChatroomStatus, TenantId, UserId},
    redis::Redis,
};
use tokio::sync::{mpsc, watch};

use crate::hub::{ConnId, Hub};

/// Who a notice is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "to", content = "id")]
pub enum Route {
    /// The chatroom's visitor and agent connections.
    Chatroom(ChatroomId),
    /// The tenant's agents.
    Tenant(TenantId),
    /// Every connection of one agent.
    Agent(UserId),
}

/// What a notice is about, beyond the frame it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum NoticeKind {
    Message {
        seq: u64,
    },
    Status {
        chatroom_id: ChatroomId,
        status: ChatroomStatus,
        agent_id: Option<UserId>,
    },
    Typing,
    Read,
    /// The tenant's waiting queue changed: each node rebuilds it once for its agents.
    QueueChanged,
    /// A `queue` frame, built here, for this node's agents of the tenant.
    Queue,
    /// The agent now holds the chatroom: all their connections follow it. (They stop following
    /// when a `status` notice shows the chatroom ended or held by someone else.)
    Assigned {
        chatroom_id: ChatroomId,
    },
}

/// The connection a notice came from: it already has what it needs (an ack, say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub node: String,
    pub conn: ConnId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub route: Route,
    pub kind: NoticeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// The server frame to send, as JSON text (empty when there is none).
    #[serde(default)]
    pub frame: String,
}

/// Publishes notices and runs this node's subscription.
#[derive(Clone)]
pub struct Bus {
    redis: Redis,
    channel: String,
    node: String,
    hub: Arc<Hub>,
    queue_changes: mpsc::UnboundedSender<TenantId>,
}

impl Bus {
    /// `queue_changes` receives the tenants whose queue changed, for the node's queue refresher.
    pub fn new(redis: Redis, node: String, hub: Arc<Hub>, queue_changes: mpsc::UnboundedSender<TenantId>) -> Self {
        let channel = redis.keys.key(&["bus"]);
        Self { redis, channel, node, hub, queue_changes }
    }

    pub fn origin(&self, conn: ConnId) -> Origin {
        Origin { node: self.node.clone(), conn }
    }

    /// Sends the notice to every node (this one included, through Redis).
    pub async fn publish(&self, notice: Notice) {
        let payload = serde_json::to_string(&notice).expect("notices serialise");
        let mut conn = self.redis.conn.clone();
        let published: Result<u64, _> = conn.publish(&self.channel, payload).await;
        if let Err(err) = published {
            tracing::warn!(error = %err, "bus publish failed; delivering on this node only");
            self.deliver(notice);
        }
    }

    /// Gives a notice that arrived (or could not be published) to this node.
    pub fn deliver(&self, notice: Notice) {
        if notice.kind == NoticeKind::QueueChanged {
            if let Route::Tenant(tenant) = notice.route
                && self.hub.has_tenant(&tenant)
            {
                let _ = self.queue_changes.send(tenant);
            }
            return;
        }
        let origin = notice.origin.as_ref().filter(|o| o.node == self.node).map(|o| o.conn);
        self.hub.dispatch(Arc::new(notice), origin);
    }

    /// Subscribes, delivers what arrives, and resubscribes (telling every connection to resync)
    /// after the subscription breaks, until `shutdown` turns true. `subscribed` is told once the
    /// first subscription is in place.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>, subscribed: tokio::sync::oneshot::Sender<()>) {
        let mut subscribed = Some(subscribed);
        let mut backoff = Duration::from_millis(100);
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.redis.client.get_async_pubsub().await {
                Ok(mut pubsub) => match pubsub.subscribe(&self.channel).await {
                    Ok(()) => {
                        backoff = Duration::from_millis(100);
                        match subscribed.take() {
                            Some(tx) => {
                                let _ = tx.send(());
                            }
                            None => {
                                tracing::info!("bus subscription restored; connections resync");
                                self.hub.resync_all();
                            }
                        }
                        let mut messages = pubsub.on_message();
                        loop {
                            tokio::select! {
                                message = messages.next() => match message {
                                    Some(message) => self.receive(message.get_payload_bytes()),
                                    None => break,
                                },
                                _ = shutdown.changed() => return,
                            }
                        }
                        tracing::warn!("bus subscription lost; reconnecting");
                    }
                    Err(err) => tracing::warn!(error = %err, "bus subscribe failed"),
                },
                Err(err) => tracing::warn!(error = %err, "bus connection failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    fn receive(&self, payload: &[u8]) {
        match serde_json::from_slice::<Notice>(payload) {
            Ok(notice) => self.deliver(notice),
            // Another deployment on the same prefix, or a newer node: not ours to act on.
            Err(err) => tracing::warn!(error = %err, "unreadable bus notice skipped"),
        }
    }
}
