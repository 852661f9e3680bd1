//! The Redis broker: one pub/sub channel (`<prefix>bus`) for every notice.
//!
//! One channel keeps every node's subscription fixed (nothing to re-subscribe per chatroom);
//! each node reads every notice, which is fine for the handful of nodes a deployment runs.
//! Per-chatroom channels (sharded pub/sub on Redis Cluster) are the next step if that changes.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use futures::StreamExt as _;
use redis::AsyncCommands as _;
use shared::redis::Redis;
use tokio::sync::{oneshot, watch};

use super::{Broker, BrokerError, NoticeHandler};
use crate::notice::Notice;

#[derive(Clone)]
pub struct RedisBroker {
    redis: Redis,
    channel: String,
}

impl RedisBroker {
    pub fn new(redis: Redis) -> Self {
        let channel = redis.keys.key(&["bus"]);
        Self { redis, channel }
    }
}

#[async_trait]
impl Broker for RedisBroker {
    async fn publish(&self, notice: &Notice) -> Result<(), BrokerError> {
        let payload = serde_json::to_string(notice).expect("notices serialise");
        let mut conn = self.redis.conn.clone();
        let published: Result<u64, _> = conn.publish(&self.channel, payload).await;
        published.map(drop).map_err(|err| BrokerError(err.to_string()))
    }

    async fn run(
        &self,
        handler: Arc<dyn NoticeHandler>,
        mut shutdown: watch::Receiver<bool>,
        ready: oneshot::Sender<()>,
    ) {
        let mut ready = Some(ready);
        let mut backoff = Duration::from_millis(100);
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.redis.client.get_async_pubsub().await {
                Ok(mut pubsub) => match pubsub.subscribe(&self.channel).await {
                    Ok(()) => {
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
                        let mut messages = pubsub.on_message();
                        loop {
                            tokio::select! {
                                message = messages.next() => match message {
                                    Some(message) => receive(handler.as_ref(), message.get_payload_bytes()),
                                    None => break,
                                },
                                _ = shutdown.changed() => return,
                            }
                        }
                        tracing::warn!("broker subscription lost; reconnecting");
                    }
                    Err(err) => tracing::warn!(error = %err, "broker subscribe failed"),
                },
                Err(err) => tracing::warn!(error = %err, "broker connection failed"),
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
