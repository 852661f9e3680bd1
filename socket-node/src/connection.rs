//! One WebSocket connection's transport, from upgrade to close (mini-redis's `server.rs`).
//!
//! Two tasks: the [writer](crate::writer), which owns the socket's sending half and drains a
//! bounded queue, and the read loop, which `select!`s over the client's frames, the notices the hub
//! queued for this connection, pings, the auth and token deadlines, and node shutdown. Text frames
//! go to the [commands](crate::commands), notices to the [session](crate::session); this module
//! only moves frames and decides how the socket closes. Clean-up always runs when the loop ends, whatever
//! ended it.

use std::{
    net::IpAddr,
    sync::{Arc, atomic::AtomicBool},
};

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use futures::{SinkExt as _, StreamExt as _};
use tokio::{
    sync::{Notify, mpsc},
    time::Instant,
};

use crate::{
    commands,
    hub::Outlet,
    protocol::{Code, ServerFrame, close},
    session::Session,
    state::{AppState, IpSlot},
    writer::{Ending, Out, Outgoing, WRITE_TIMEOUT, write},
};

/// Serves one upgraded connection until it ends.
pub async fn serve(state: AppState, socket: WebSocket, ip: IpAddr, slot: Option<IpSlot>) {
    let (mut sink, mut stream) = socket.split();
    let Some(_slot) = slot else {
        tracing::debug!(%ip, "connection refused: too many from this address");
        state.metrics.connections_refused_per_ip.inc();
        let frame = CloseFrame { code: close::TOO_MANY, reason: Utf8Bytes::from_static("too_many_connections") };
        let _ = sink.send(WsMessage::Close(Some(frame))).await;
        return;
    };

    let capacity = state.config.limits.send_queue;
    // One place more than the queue holds, kept for the close frame: a connection closed because
    // its queue filled is still told why (4408) when its client reads again.
    let (tx, out_rx) = mpsc::channel(capacity + 1);
    let close_slot = tx.clone().try_reserve_owned().expect("a new queue has room");
    let mut writer = tokio::spawn(write(sink, out_rx));
    let (hub_tx, mut hub_rx) = mpsc::channel(capacity);
    let kick = Arc::new(Notify::new());
    let id = state.next_connection_id();
    let out = Out { tx, kick: kick.clone(), too_slow: AtomicBool::new(false) };
    let mut session = Session::new(state.clone(), id, Outlet::new(id, hub_tx, kick.clone()), out);
    state.metrics.unauthenticated_connections.inc();

    let timing = state.config.timing;
    let auth_deadline = Instant::now() + timing.auth_timeout;
    let mut pings = tokio::time::interval_at(Instant::now() + timing.ping, timing.ping);
    let mut last_heard = Instant::now();
    let mut shutdown = state.shutdown.clone();

    let ending = loop {
        if session.out.too_slow() {
            break Ending::Close(close::TOO_SLOW, "too_slow");
        }
        let deadline = session.deadline().unwrap_or(auth_deadline);
        tokio::select! {
            frame = stream.next() => {
                last_heard = Instant::now();
                match frame {
                    Some(Ok(WsMessage::Text(text))) => {
                        // Boxed, here and below: the work a frame starts is allocated while it
                        // runs, not carried in every idle connection's task.
                        if let Some(ending) = Box::pin(commands::on_text(&mut session, text.as_str())).await {
                            break ending;
                        }
                    }
                    Some(Ok(WsMessage::Binary(_))) => {
                        session.refuse_frame(ServerFrame::error(Code::BinaryNotSupported, "frames are JSON text")).await;
                    }
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                    Some(Ok(WsMessage::Close(_))) | None => break Ending::Gone,
                    Some(Err(err)) => break read_failed(err),
                }
            }
            delivery = hub_rx.recv() => {
                let Some(delivery) = delivery else { break Ending::Gone };
                if let Some(ending) = Box::pin(session.on_delivery(delivery)).await {
                    break ending;
                }
            }
            () = kick.notified() => break Ending::Close(close::TOO_SLOW, "too_slow"),
            _ = pings.tick() => {
                if last_heard.elapsed() > timing.ping * 3 {
                    break Ending::Gone;
                }
                if !session.out.push(Outgoing::Ping).await {
                    break Ending::Gone;
                }
            }
            () = tokio::time::sleep_until(deadline) => break Box::pin(session.on_deadline()).await,
            _ = shutdown.changed() => break Ending::Close(close::GOING_AWAY, "node_shutting_down"),
        }
    };

    // However the loop noticed it (a failed push reads as the client gone), a connection that
    // could not keep up is closed as too slow.
    let ending = if session.out.too_slow() { Ending::Close(close::TOO_SLOW, "too_slow") } else { ending };
    match ending {
        Ending::Close(code, reason) => {
            if code == close::TOO_SLOW {
                state.metrics.slow_connections_dropped.inc();
            }
            drop(close_slot.send(Outgoing::Close(code, reason)));
        }
        Ending::Gone => drop(close_slot),
    }
    Box::pin(session.clean_up()).await;
    drop(session);
    // A client that does not take its last frames in time is cut off: the socket is dropped
    // rather than left to a writer that would wait on it for as long as the peer lives.
    if tokio::time::timeout(WRITE_TIMEOUT, &mut writer).await.is_err() {
        writer.abort();
    }
}

/// How a connection whose read failed ends: with RFC 6455's close code for what the client did
/// wrong (the socket cannot go on either way), or without a word when the transport failed.
fn read_failed(err: axum::Error) -> Ending {
    use tokio_tungstenite::tungstenite::{Error, error::CapacityError};
    tracing::debug!(error = %err, "WebSocket read failed");
    match err.into_inner().downcast::<Error>().map(|err| *err) {
        Ok(Error::Capacity(CapacityError::MessageTooLong { .. })) => Ending::Close(close::TOO_BIG, "frame_too_large"),
        Ok(Error::Utf8(_)) => Ending::Close(close::INVALID_PAYLOAD, "invalid_utf8"),
        Ok(Error::Protocol(_) | Error::Capacity(_)) => Ending::Close(close::PROTOCOL_ERROR, "protocol_error"),
        _ => Ending::Gone,
    }
}
