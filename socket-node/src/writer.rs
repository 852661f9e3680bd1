//! What a connection sends: the writer task, which owns the socket's sending half and drains a
//! bounded queue, and [`Out`], the queue's sending end. A client that does not keep up is given
//! up as too slow (4408) rather than let it hold a chatroom back.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use futures::SinkExt as _;
use tokio::sync::{Notify, mpsc};

use crate::protocol::ServerFrame;

/// How long a frame waits for room in the writer's queue before the client is given up as too
/// slow, and how long the writer then has to hand over the last frames (the close frame among
/// them) before the socket is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

pub enum Outgoing {
    Text(String),
    Ping,
    Close(u16, &'static str),
}

/// Why a connection ends.
pub enum Ending {
    Close(u16, &'static str),
    /// The client went away or the socket broke: nothing more to send.
    Gone,
}

/// The way frames reach the client: the writer's bounded queue.
pub struct Out {
    pub(crate) tx: mpsc::Sender<Outgoing>,
    /// Rung by the hub when this connection's notice queue is full.
    pub(crate) kick: Arc<Notify>,
    /// Set when a frame found no room in time: nothing more is queued, and the connection ends
    /// with 4408.
    pub(crate) too_slow: AtomicBool,
}

impl Out {
    /// Queues for the writer, waiting a little when it is behind; false when the client is gone
    /// or too slow. Too slow: the writer's queue stayed full for [`WRITE_TIMEOUT`], or the hub
    /// found this connection's notice queue full meanwhile (a kick).
    pub async fn push(&self, outgoing: Outgoing) -> bool {
        if self.too_slow.load(Ordering::Relaxed) {
            return false;
        }
        tokio::select! {
            biased;
            sent = self.tx.send(outgoing) => return sent.is_ok(),
            () = self.kick.notified() => {}
            () = tokio::time::sleep(WRITE_TIMEOUT) => {}
        }
        self.too_slow.store(true, Ordering::Relaxed);
        false
    }

    pub async fn emit(&self, frame: &ServerFrame) -> bool {
        self.push(Outgoing::Text(frame.to_json())).await
    }

    pub fn too_slow(&self) -> bool {
        self.too_slow.load(Ordering::Relaxed)
    }
}

/// Sends what the queue brings until a close frame or a broken socket; frames queued together
/// leave in one write.
pub async fn write(mut sink: futures::stream::SplitSink<WebSocket, WsMessage>, mut queue: mpsc::Receiver<Outgoing>) {
    'sending: while let Some(first) = queue.recv().await {
        let mut next = Some(first);
        while let Some(outgoing) = next.take() {
            let (message, last) = match outgoing {
                Outgoing::Text(text) => (WsMessage::Text(text.into()), false),
                Outgoing::Ping => (WsMessage::Ping(Default::default()), false),
                Outgoing::Close(code, reason) => {
                    (WsMessage::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) })), true)
                }
            };
            if sink.feed(message).await.is_err() {
                break 'sending;
            }
            if last {
                let _ = sink.flush().await;
                break 'sending;
            }
            next = queue.try_recv().ok();
        }
        if sink.flush().await.is_err() {
            break;
        }
    }
    let _ = sink.close().await;
}
