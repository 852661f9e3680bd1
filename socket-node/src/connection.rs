//! One WebSocket connection, from upgrade to close.
//!
//! Two tasks: a writer that owns the socket's sending half and drains a bounded queue, and the
//! session loop, which `select!`s over the client's frames, the notices the hub queued for this
//! connection, pings, the auth and token deadlines, and node shutdown. Clean-up (hub, presence,
//! standby, gauges) always runs when the loop ends, whatever ended it.
//!
//! Each chatroom the connection follows has a [`Delivered`] record, so every message reaches a
//! connection at most once even when it arrives both live and in a replay, and a replay (a
//! client's `resume`, or a resync after the bus reconnected) fills in what live delivery missed.

use std::{
    collections::{BTreeSet, HashMap},
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use futures::{SinkExt as _, StreamExt as _};
use shared::{
    auth::TokenError,
    domain::{ChatroomId, ChatroomStatus, CloseReason, Permission, UserStatus},
};
use tokio::{
    sync::{Notify, mpsc},
    time::Instant,
};

use crate::{
    bus::{NoticeKind, Route},
    chat::{self, Actor, AgentActor, ChatError},
    hub::{ConnId, Delivery, Outlet},
    protocol::{self, ChatroomView, ClientFrame, Code, Mark, MessageView, Role, ServerFrame, close},
    state::{AppState, IpSlot},
};

/// How long the session waits for room in its writer's queue before it gives the client up, and
/// how long the writer then has to hand over the last frames (the close frame among them)
/// before the socket is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages fetched per page when replaying.
const REPLAY_PAGE: u32 = 200;

enum Outgoing {
    Text(String),
    Ping,
    Close(u16, &'static str),
}

/// Which seqs of one chatroom this connection has been given.
#[derive(Debug, Default, Clone)]
pub struct Delivered {
    /// Every seq up to this one was given (or the client said it had them).
    upto: u64,
    /// Seqs above `upto` given out of order.
    above: BTreeSet<u64>,
}

impl Delivered {
    pub fn from(upto: u64) -> Self {
        Self { upto, above: BTreeSet::new() }
    }

    /// Records `seq`; false when it was given before.
    pub fn insert(&mut self, seq: u64) -> bool {
        if seq <= self.upto || !self.above.insert(seq) {
            return false;
        }
        while self.above.remove(&(self.upto + 1)) {
            self.upto += 1;
        }
        true
    }

    pub fn highest(&self) -> u64 {
        self.above.last().copied().unwrap_or(self.upto)
    }
}

/// Why the session loop ended.
enum Ending {
    Close(u16, &'static str),
    /// The client went away or the socket broke: nothing more to send.
    Gone,
}

struct Session {
    state: AppState,
    id: ConnId,
    outlet: Outlet,
    out: mpsc::Sender<Outgoing>,
    /// Rung by the hub when this connection's queue is full.
    kick: Arc<Notify>,
    /// Set when a frame found no room in time: nothing more is queued, and the connection ends
    /// with 4408.
    too_slow: AtomicBool,
    actor: Option<Actor>,
    following: HashMap<ChatroomId, Delivered>,
    token_expires: Option<Instant>,
}

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
    let (out, out_rx) = mpsc::channel(capacity + 1);
    let close_slot = out.clone().try_reserve_owned().expect("a new queue has room");
    let mut writer = tokio::spawn(write(sink, out_rx));
    let (hub_tx, mut hub_rx) = mpsc::channel(capacity);
    let kick = Arc::new(Notify::new());
    let id = state.next_connection_id();
    let mut session = Session {
        outlet: Outlet::new(id, hub_tx, kick.clone()),
        state: state.clone(),
        id,
        out,
        kick: kick.clone(),
        too_slow: AtomicBool::new(false),
        actor: None,
        following: HashMap::new(),
        token_expires: None,
    };
    state.metrics.unauthenticated_connections.inc();

    let timing = state.config.timing;
    let auth_deadline = Instant::now() + timing.auth_timeout;
    let mut pings = tokio::time::interval_at(Instant::now() + timing.ping, timing.ping);
    let mut last_heard = Instant::now();
    let mut shutdown = state.shutdown.clone();

    let ending = loop {
        if session.too_slow.load(Ordering::Relaxed) {
            break Ending::Close(close::TOO_SLOW, "too_slow");
        }
        let deadline = match (&session.actor, session.token_expires) {
            (None, _) => auth_deadline,
            (Some(_), Some(expires)) => expires,
            (Some(_), None) => Instant::now() + Duration::from_secs(86_400),
        };
        tokio::select! {
            frame = stream.next() => {
                last_heard = Instant::now();
                match frame {
                    Some(Ok(WsMessage::Text(text))) => {
                        if let Some(ending) = session.on_text(text.as_str()).await {
                            break ending;
                        }
                    }
                    Some(Ok(WsMessage::Binary(_))) => {
                        session.refuse(ServerFrame::error(Code::BinaryNotSupported, "frames are JSON text")).await;
                    }
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                    Some(Ok(WsMessage::Close(_))) | None => break Ending::Gone,
                    Some(Err(err)) => {
                        // Most often a frame over the size limit; the socket cannot go on either way.
                        tracing::debug!(error = %err, "WebSocket read failed");
                        break Ending::Close(close::TOO_BIG, "frame_too_large_or_malformed");
                    }
                }
            }
            delivery = hub_rx.recv() => {
                let Some(delivery) = delivery else { break Ending::Gone };
                if let Some(ending) = session.on_delivery(delivery).await {
                    break ending;
                }
            }
            () = kick.notified() => break Ending::Close(close::TOO_SLOW, "too_slow"),
            _ = pings.tick() => {
                if last_heard.elapsed() > timing.ping * 3 {
                    break Ending::Gone;
                }
                if !session.push(Outgoing::Ping).await {
                    break Ending::Gone;
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                if session.actor.is_none() {
                    break Ending::Close(close::UNAUTHORIZED, "auth_timeout");
                }
                session.emit(&ServerFrame::error(Code::TokenExpired, "the token has expired; reconnect with a fresh one")).await;
                break Ending::Close(close::UNAUTHORIZED, "token_expired");
            }
            _ = shutdown.changed() => break Ending::Close(close::GOING_AWAY, "node_shutting_down"),
        }
    };

    // However the loop noticed it (a failed push reads as the client gone), a connection that
    // could not keep up is closed as too slow.
    let ending =
        if session.too_slow.load(Ordering::Relaxed) { Ending::Close(close::TOO_SLOW, "too_slow") } else { ending };
    match ending {
        Ending::Close(code, reason) => {
            if code == close::TOO_SLOW {
                state.metrics.slow_connections_dropped.inc();
            }
            drop(close_slot.send(Outgoing::Close(code, reason)));
        }
        Ending::Gone => drop(close_slot),
    }
    session.clean_up().await;
    drop(session);
    // A client that does not take its last frames in time is cut off: the socket is dropped
    // rather than left to a writer that would wait on it for as long as the peer lives.
    if tokio::time::timeout(WRITE_TIMEOUT, &mut writer).await.is_err() {
        writer.abort();
    }
}

async fn write(mut sink: futures::stream::SplitSink<WebSocket, WsMessage>, mut queue: mpsc::Receiver<Outgoing>) {
    while let Some(outgoing) = queue.recv().await {
        let (message, last) = match outgoing {
            Outgoing::Text(text) => (WsMessage::Text(text.into()), false),
            Outgoing::Ping => (WsMessage::Ping(Default::default()), false),
            Outgoing::Close(code, reason) => {
                (WsMessage::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) })), true)
            }
        };
        if sink.send(message).await.is_err() || last {
            break;
        }
    }
    let _ = sink.close().await;
}

impl Session {
    /// Queues for the writer, waiting a little when it is behind; false when the client is gone
    /// or too slow. Too slow: the writer's queue stayed full for [`WRITE_TIMEOUT`], or the hub
    /// found this connection's other queue full meanwhile (a kick).
    async fn push(&self, outgoing: Outgoing) -> bool {
        if self.too_slow.load(Ordering::Relaxed) {
            return false;
        }
        tokio::select! {
            biased;
            sent = self.out.send(outgoing) => return sent.is_ok(),
            () = self.kick.notified() => {}
            () = tokio::time::sleep(WRITE_TIMEOUT) => {}
        }
        self.too_slow.store(true, Ordering::Relaxed);
        false
    }

    async fn emit(&self, frame: &ServerFrame) -> bool {
        self.push(Outgoing::Text(frame.to_json())).await
    }

    async fn refuse(&self, frame: ServerFrame) {
        self.state.metrics.frames_refused.inc();
        self.emit(&frame).await;
    }

    async fn refuse_with(
        &self,
        err: ChatError,
        chatroom_id: Option<ChatroomId>,
        client_msg_id: Option<shared::domain::ClientMsgId>,
    ) {
        self.refuse(ServerFrame::Error { code: err.code, message: err.message, chatroom_id, client_msg_id }).await;
    }

    async fn on_text(&mut self, text: &str) -> Option<Ending> {
        let frame = match protocol::parse(text) {
            Ok(frame) => frame,
            Err((code, message)) => {
                self.refuse(ServerFrame::error(code, message)).await;
                return self.actor.is_none().then_some(Ending::Close(close::UNAUTHORIZED, "auth_required"));
            }
        };
        match (frame, self.actor.clone()) {
            (ClientFrame::Auth { token, v }, _) => self.authenticate(&token, v).await,
            (frame, None) => {
                let message = format!("send auth first, not {}", frame.name());
                self.refuse(ServerFrame::error(Code::AuthRequired, message)).await;
                Some(Ending::Close(close::UNAUTHORIZED, "auth_required"))
            }
            (frame, Some(actor)) => {
                self.handle(frame, actor).await;
                None
            }
        }
    }

    async fn handle(&mut self, frame: ClientFrame, actor: Actor) {
        let origin = self.state.bus.origin(self.id);
        let state = self.state.clone();
        let agent = match &actor {
            Actor::Agent(agent) => Some(agent.clone()),
            Actor::Visitor { .. } => None,
        };
        let agent_only = || ChatError::new(Code::AgentOnly, "only an agent can do this");
        match frame {
            ClientFrame::Auth { .. } => unreachable!("handled before"),
            ClientFrame::Ping { nonce } => {
                self.emit(&ServerFrame::Pong { nonce }).await;
            }
            ClientFrame::Send { chatroom_id, client_msg_id, message } => {
                match chat::send(&state, &actor, origin, chatroom_id, client_msg_id.clone(), message).await {
                    Ok(sent) => {
                        let message = sent.message;
                        if let Some(delivered) = self.following.get_mut(&chatroom_id) {
                            delivered.insert(message.seq);
                        }
                        let ack = ServerFrame::Ack {
                            chatroom_id,
                            client_msg_id: message.client_msg_id.clone(),
                            seq: message.seq,
                            sent_at: message.sent_at,
                        };
                        self.emit(&ack).await;
                        if sent.fresh {
                            chat::message_sent(&state, &message).await;
                        }
                    }
                    Err(err) => self.refuse_with(err, Some(chatroom_id), Some(client_msg_id)).await,
                }
            }
            ClientFrame::Typing { chatroom_id, typing } => {
                // A connection follows exactly the open chatrooms it may act in.
                if self.following.contains_key(&chatroom_id) {
                    chat::typing(&state, &actor, origin, chatroom_id, typing).await;
                } else {
                    self.refuse_with(not_following(&actor), Some(chatroom_id), None).await;
                }
            }
            ClientFrame::Read { chatroom_id, up_to_seq } => {
                if let Err(err) = chat::read(&state, &actor, origin, chatroom_id, up_to_seq).await {
                    self.refuse_with(err, Some(chatroom_id), None).await;
                }
            }
            ClientFrame::Resume { chatroom_id, after_seq } => {
                if let Err(err) = self.resume(&actor, chatroom_id, after_seq).await {
                    self.refuse_with(err, Some(chatroom_id), None).await;
                }
            }
            ClientFrame::Join { chatroom_id } => {
                let result = match &agent {
                    Some(agent) => chat::join(&state, agent, chatroom_id).await,
                    None => Err(agent_only()),
                };
                match result {
                    Ok(_) => {
                        if let Err(err) = self.follow_assigned(chatroom_id).await {
                            self.refuse_with(err, Some(chatroom_id), None).await;
                        }
                    }
                    Err(err) => self.refuse_with(err, Some(chatroom_id), None).await,
                }
            }
            ClientFrame::Leave { chatroom_id } => {
                let result = match &agent {
                    Some(agent) => chat::leave(&state, agent, chatroom_id).await.map(drop),
                    None => Err(agent_only()),
                };
                if let Err(err) = result {
                    self.refuse_with(err, Some(chatroom_id), None).await;
                }
            }
            ClientFrame::Close { chatroom_id } => {
                let reason = if agent.is_some() { CloseReason::ClosedByAgent } else { CloseReason::ClosedByVisitor };
                if let Err(err) = chat::end(&state, &actor, chatroom_id, reason).await {
                    self.refuse_with(err, Some(chatroom_id), None).await;
                }
            }
            ClientFrame::Transcript { chatroom_id } => {
                let result = match agent {
                    None => chat::request_transcript(&state, &actor, chatroom_id).await.map(drop),
                    Some(_) => Err(ChatError::new(Code::VisitorOnly, "only the visitor asks for their transcript")),
                };
                if let Err(err) = result {
                    self.refuse_with(err, Some(chatroom_id), None).await;
                }
            }
            ClientFrame::Mark { chatroom_id, mark } => {
                let reason = match mark {
                    Mark::Stale => CloseReason::MarkedStale,
                    Mark::Blocked => CloseReason::Blocked,
                };
                let result = match agent {
                    Some(_) => chat::end(&state, &actor, chatroom_id, reason).await.map(drop),
                    None => Err(agent_only()),
                };
                if let Err(err) = result {
                    self.refuse_with(err, Some(chatroom_id), None).await;
                }
            }
        }
    }

    /// Verifies the token of the first `auth` (or of a later one, which must name the same
    /// visitor or agent and extends the connection to the new token's expiry).
    async fn authenticate(&mut self, token: &str, version: Option<u32>) -> Option<Ending> {
        if version.is_some_and(|v| v != protocol::VERSION) {
            self.refuse(ServerFrame::error(
                Code::UnsupportedVersion,
                format!("this server speaks version {}", protocol::VERSION),
            ))
            .await;
            return Some(Ending::Close(close::UNAUTHORIZED, "unsupported_version"));
        }
        let result = match self.state.chatroom_tokens.verify(token) {
            Ok(claims) => self.visitor(claims).await,
            Err(TokenError::Expired) => Err(ChatError::new(Code::TokenExpired, "the token has expired")),
            Err(TokenError::Invalid) => match self.state.agent_tokens.verify(token) {
                Ok(claims) => self.agent(claims).await,
                Err(TokenError::Expired) => Err(ChatError::new(Code::TokenExpired, "the token has expired")),
                Err(TokenError::Invalid) => Err(ChatError::new(Code::TokenInvalid, "the token is not valid")),
            },
        };
        match result {
            Ok(()) => None,
            Err(err) => {
                let code = if err.code == Code::PermissionDenied { close::FORBIDDEN } else { close::UNAUTHORIZED };
                let reason = err.code.as_str();
                self.refuse_with(err, None, None).await;
                Some(Ending::Close(code, reason))
            }
        }
    }

    fn expiry(exp: i64) -> Instant {
        let left = exp - shared::domain::Timestamp::now().unix_millis() / 1000;
        Instant::now()
            + Duration::from_secs(u64::try_from(left).unwrap_or(0))
            + Duration::from_secs(shared::auth::LEEWAY_SECS)
    }

    async fn visitor(&mut self, claims: shared::auth::ChatroomClaims) -> Result<(), ChatError> {
        if let Some(actor) = &self.actor {
            let Actor::Visitor { tenant, chatroom, .. } = actor else { return Err(another_identity()) };
            if *chatroom != claims.sub {
                return Err(another_identity());
            }
            // A fresh token of the same visitor: the connection lives on, and says so.
            let room = self.state.repos.chatrooms.get(tenant, chatroom).await?;
            let room = room.ok_or_else(|| ChatError::new(Code::TokenInvalid, "the token's chatroom does not exist"))?;
            self.token_expires = Some(Self::expiry(claims.exp));
            let chatrooms = vec![ChatroomView::from(&room)];
            self.emit(&ServerFrame::Ready { v: protocol::VERSION, role: Role::Visitor, chatrooms }).await;
            return Ok(());
        }
        let (tenant, chatroom) = (claims.tid, claims.sub);
        self.state.hub.subscribe(Route::Chatroom(chatroom), &self.outlet);
        let room = match self.state.repos.chatrooms.get(&tenant, &chatroom).await? {
            Some(room) => room,
            None => {
                self.state.hub.unsubscribe(Route::Chatroom(chatroom), self.id);
                return Err(ChatError::new(Code::TokenInvalid, "the token's chatroom does not exist"));
            }
        };
        self.actor = Some(Actor::Visitor { tenant, chatroom, name: room.name.as_str().to_owned() });
        self.token_expires = Some(Self::expiry(claims.exp));
        self.following.insert(chatroom, Delivered::from(room.last_seq));
        self.state.metrics.unauthenticated_connections.dec();
        self.state.metrics.visitor_connections.inc();
        let room = if room.status.is_open() { chat::visitor_arrived(&self.state, &room, self.id).await? } else { room };
        self.emit(&ServerFrame::Ready {
            v: protocol::VERSION,
            role: Role::Visitor,
            chatrooms: vec![ChatroomView::from(&room)],
        })
        .await;
        Ok(())
    }

    async fn agent(&mut self, claims: shared::auth::AccessClaims) -> Result<(), ChatError> {
        let refreshing = match &self.actor {
            None => false,
            Some(Actor::Agent(agent)) if agent.id == claims.sub => true,
            Some(_) => return Err(another_identity()),
        };
        if !claims.perms.contains(&Permission::ChatroomsJoin) {
            return Err(ChatError::new(Code::PermissionDenied, "this needs the chatrooms:join permission"));
        }
        let user = self.state.repos.users.get(&claims.tid, &claims.sub).await?;
        let Some(user) = user.filter(|u| u.status == UserStatus::Active) else {
            return Err(ChatError::new(Code::PermissionDenied, "the account is not an active agent"));
        };
        let agent = AgentActor {
            tenant: claims.tid,
            id: user.id,
            name: user.name.as_str().to_owned(),
            email: user.email.clone(),
            permissions: claims.perms.clone(),
            max_concurrent: user.assigning.max_concurrent,
        };
        if refreshing {
            // A fresh token of the same agent: the connection lives on with what the token and
            // the account say now (permissions changed by an admin take effect here).
            let held = self.state.repos.chatrooms.list_for_agent(&agent.tenant, &agent.id).await?;
            self.actor = Some(Actor::Agent(agent));
            self.token_expires = Some(Self::expiry(claims.exp));
            let chatrooms = held.iter().map(ChatroomView::from).collect();
            self.emit(&ServerFrame::Ready { v: protocol::VERSION, role: Role::Agent, chatrooms }).await;
            return Ok(());
        }
        self.state.hub.subscribe(Route::Tenant(agent.tenant), &self.outlet);
        self.state.hub.subscribe(Route::Agent(agent.id), &self.outlet);
        let held = self.state.repos.chatrooms.list_for_agent(&agent.tenant, &agent.id).await?;
        for room in &held {
            self.state.hub.subscribe(Route::Chatroom(room.id), &self.outlet);
            self.following.insert(room.id, Delivered::from(room.last_seq));
        }
        let (tenant, agent_id) = (agent.tenant, agent.id);
        self.actor = Some(Actor::Agent(agent));
        self.token_expires = Some(Self::expiry(claims.exp));
        self.state.metrics.unauthenticated_connections.dec();
        self.state.metrics.agent_connections.inc();
        if let Err(err) = self.state.presence.agent_online(tenant, agent_id, self.id).await {
            tracing::warn!(error = %err, "agent presence not recorded; the next heartbeat records it");
        }
        let chatrooms = held.iter().map(ChatroomView::from).collect();
        self.emit(&ServerFrame::Ready { v: protocol::VERSION, role: Role::Agent, chatrooms }).await;
        let queue = crate::waiting::queue_frame(&self.state, &tenant).await?;
        self.emit(&queue).await;
        Ok(())
    }

    /// Starts following a chatroom the agent now holds: its state, then every message so far.
    async fn follow_assigned(&mut self, chatroom: ChatroomId) -> Result<(), ChatError> {
        let Some(Actor::Agent(agent)) = &self.actor else { return Ok(()) };
        if self.following.contains_key(&chatroom) {
            return Ok(());
        }
        let tenant = agent.tenant;
        self.state.hub.subscribe(Route::Chatroom(chatroom), &self.outlet);
        self.following.insert(chatroom, Delivered::from(0));
        let room = self.state.repos.chatrooms.get(&tenant, &chatroom).await?;
        match room {
            Some(room) if room.agent_id == Some(agent.id) && room.status.is_open() => {
                self.emit(&ServerFrame::Chatroom(ChatroomView::from(&room))).await;
                self.replay(tenant, chatroom).await
            }
            _ => {
                self.unfollow(chatroom);
                Ok(())
            }
        }
    }

    fn unfollow(&mut self, chatroom: ChatroomId) {
        self.state.hub.unsubscribe(Route::Chatroom(chatroom), self.id);
        self.following.remove(&chatroom);
    }

    /// A client's `resume`: everything stored after `after_seq`, in order, then `resumed`.
    async fn resume(&mut self, actor: &Actor, chatroom: ChatroomId, after_seq: u64) -> Result<(), ChatError> {
        if !self.following.contains_key(&chatroom) {
            return Err(not_following(actor));
        }
        self.following.insert(chatroom, Delivered::from(after_seq));
        self.replay(actor.tenant(), chatroom).await?;
        let last_seq = self.following.get(&chatroom).map_or(after_seq, Delivered::highest);
        self.emit(&ServerFrame::Resumed { chatroom_id: chatroom, last_seq }).await;
        Ok(())
    }

    /// Sends every stored message of the chatroom this connection has not been given, in order.
    async fn replay(&mut self, tenant: shared::domain::TenantId, chatroom: ChatroomId) -> Result<(), ChatError> {
        let Some(mut after) = self.following.get(&chatroom).map(|d| d.upto) else { return Ok(()) };
        loop {
            let page = self.state.repos.messages.list_after(&tenant, &chatroom, after, REPLAY_PAGE).await?;
            for message in &page {
                let fresh = self.following.get_mut(&chatroom).is_some_and(|d| d.insert(message.seq));
                if fresh && !self.emit(&ServerFrame::Message(MessageView::from(message))).await {
                    return Ok(());
                }
            }
            match page.last() {
                Some(last) if page.len() == REPLAY_PAGE as usize => after = last.seq,
                _ => return Ok(()),
            }
        }
    }

    async fn on_delivery(&mut self, delivery: Delivery) -> Option<Ending> {
        let notice = match delivery {
            Delivery::Notice(notice) => notice,
            Delivery::Resync => {
                let tenant = self.actor.as_ref()?.tenant();
                let rooms: Vec<ChatroomId> = self.following.keys().copied().collect();
                for room in rooms {
                    if let Err(err) = self.replay(tenant, room).await {
                        tracing::warn!(error = %err, "resync failed");
                    }
                }
                return None;
            }
        };
        match &notice.kind {
            NoticeKind::Message { seq } => {
                let Route::Chatroom(room) = notice.route else { return None };
                let fresh = self.following.get_mut(&room).is_some_and(|d| d.insert(*seq));
                if fresh && !self.push(Outgoing::Text(notice.frame.clone())).await {
                    return Some(Ending::Gone);
                }
            }
            NoticeKind::Status { chatroom_id, status, agent_id } => {
                if !self.push(Outgoing::Text(notice.frame.clone())).await {
                    return Some(Ending::Gone);
                }
                match &self.actor {
                    Some(Actor::Visitor { .. }) => match status {
                        ChatroomStatus::Blocked => return Some(Ending::Close(close::FORBIDDEN, "visitor_blocked")),
                        ChatroomStatus::Closed | ChatroomStatus::Stale => {
                            return Some(Ending::Close(close::NORMAL, "chatroom_closed"));
                        }
                        _ => {}
                    },
                    Some(Actor::Agent(agent)) if !status.is_open() || *agent_id != Some(agent.id) => {
                        self.unfollow(*chatroom_id);
                    }
                    _ => {}
                }
            }
            NoticeKind::Assigned { chatroom_id } => {
                if let Err(err) = self.follow_assigned(*chatroom_id).await {
                    tracing::warn!(error = %err, "could not follow an assigned chatroom");
                }
            }
            NoticeKind::Typing | NoticeKind::Read | NoticeKind::Queue => {
                if !self.push(Outgoing::Text(notice.frame.clone())).await {
                    return Some(Ending::Gone);
                }
            }
            NoticeKind::QueueChanged => {}
        }
        None
    }

    async fn clean_up(&mut self) {
        let rooms: Vec<ChatroomId> = self.following.keys().copied().collect();
        for room in rooms {
            self.unfollow(room);
        }
        match self.actor.take() {
            None => self.state.metrics.unauthenticated_connections.dec(),
            Some(Actor::Visitor { tenant, chatroom, .. }) => {
                self.state.metrics.visitor_connections.dec();
                if let Err(err) = chat::visitor_departed(&self.state, tenant, chatroom, self.id).await {
                    tracing::warn!(error = %err, "standby not started");
                }
            }
            Some(Actor::Agent(agent)) => {
                self.state.metrics.agent_connections.dec();
                if let Err(err) = self.state.presence.agent_offline(agent.tenant, self.id).await {
                    tracing::warn!(error = %err, "agent presence not cleared");
                }
                self.state.hub.unsubscribe(Route::Tenant(agent.tenant), self.id);
                self.state.hub.unsubscribe(Route::Agent(agent.id), self.id);
            }
        }
    }
}

/// The refusal for a chatroom this connection does not follow.
fn not_following(actor: &Actor) -> ChatError {
    match actor {
        Actor::Visitor { .. } => ChatError::new(Code::NotInChatroom, "this token opens another chatroom"),
        Actor::Agent(_) => ChatError::new(Code::NotInChatroom, "join the chatroom first"),
    }
}

fn another_identity() -> ChatError {
    ChatError::new(Code::TokenInvalid, "a connection keeps the identity it authenticated with")
}

#[cfg(test)]
mod tests {
    use super::Delivered;

    #[test]
    fn each_seq_is_delivered_once_whatever_the_order() {
        let mut delivered = Delivered::from(2);
        assert!(!delivered.insert(1) && !delivered.insert(2));
        assert!(delivered.insert(4));
        assert!(!delivered.insert(4));
        assert_eq!((delivered.upto, delivered.highest()), (2, 4));
        assert!(delivered.insert(3));
        assert_eq!((delivered.upto, delivered.highest()), (4, 4));
        assert!(delivered.above.is_empty());
    }
}
