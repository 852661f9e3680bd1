//! One connection's session: who it authenticated as, which chatrooms it follows, and what it
//! has been given of each. The [commands](crate::commands) act on it for the client's frames;
//! the [connection](crate::connection) hands it the notices the hub queued.
//!
//! An agent's connection follows the chatrooms the agent holds and, for a moderator, those it
//! watches (read-only). Each chatroom the connection follows has a [`Delivered`] record, so every message reaches a
//! connection at most once even when it arrives both live and in a replay, and a replay (a
//! client's `resume`, or a resync after the broker resubscribed) fills in what live delivery
//! missed.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use shared::domain::{Chatroom, ChatroomId, ChatroomStatus, TenantId};
use tokio::time::Instant;

use crate::{
    allowance::Allowances,
    chat::{self, Actor, ChatError},
    hub::{Delivery, Outlet},
    notice::{ConnId, Notice, NoticeKind, Route},
    protocol::{self, Code, HISTORY_PAGE, MessageView, ServerFrame, close},
    state::AppState,
    writer::{Ending, Out, Outgoing},
};

/// Messages fetched per page when replaying.
const REPLAY_PAGE: u32 = 200;

/// How long a new subscription waits for the broker to deliver its route's notices here. Longer
/// only while the broker reconnects; once it is back, every connection fills in from the store.
const LISTEN_WAIT: Duration = Duration::from_secs(1);

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

pub struct Session {
    pub state: AppState,
    pub id: ConnId,
    pub outlet: Outlet,
    pub out: Out,
    pub actor: Option<Actor>,
    pub following: HashMap<ChatroomId, Delivered>,
    /// The followed chatrooms a moderator watches rather than holds.
    pub watching: HashSet<ChatroomId>,
    pub token_expires: Option<Instant>,
    /// Frames of each kind the connection may still send; a visitor's rates until an agent
    /// authenticates.
    pub allowances: Allowances,
}

impl Session {
    pub fn new(state: AppState, id: ConnId, outlet: Outlet, out: Out) -> Self {
        let allowances = Allowances::new(&state.config.limits.visitor_frames, Instant::now());
        Self {
            state,
            id,
            outlet,
            out,
            actor: None,
            following: HashMap::new(),
            watching: HashSet::new(),
            token_expires: None,
            allowances,
        }
    }

    /// When the connection must have authenticated again (`None` before the first `auth`).
    pub fn deadline(&self) -> Option<Instant> {
        self.actor.as_ref()?;
        Some(self.token_expires.unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400)))
    }

    /// The auth deadline passed, or the token expired.
    pub async fn on_deadline(&mut self) -> Ending {
        if self.actor.is_none() {
            return Ending::Close(close::UNAUTHORIZED, "auth_timeout");
        }
        self.out
            .emit(&ServerFrame::error(Code::TokenExpired, "the token has expired; reconnect with a fresh one"))
            .await;
        Ending::Close(close::UNAUTHORIZED, "token_expired")
    }

    pub async fn emit(&self, frame: &ServerFrame) -> bool {
        self.out.emit(frame).await
    }

    /// Sends an `error` frame (counted as a refused frame).
    pub async fn refuse_frame(&self, frame: ServerFrame) {
        self.state.metrics.frames_refused.inc();
        self.out.emit(&frame).await;
    }

    /// Starts following a chatroom the agent now holds: its state, then its latest messages.
    pub async fn follow_assigned(&mut self, chatroom: ChatroomId) -> Result<(), ChatError> {
        let Some(Actor::Agent(agent)) = &self.actor else { return Ok(()) };
        if self.following.contains_key(&chatroom) {
            self.watching.remove(&chatroom);
            return Ok(());
        }
        let (tenant, agent_id) = (agent.tenant, agent.id);
        self.follow(chatroom, 0).await;
        let room = self.state.chat.repos.chatrooms.get(&tenant, &chatroom).await?;
        match room {
            Some(room) if room.agent_id == Some(agent_id) && room.status.is_open() => self.show_latest(&room).await,
            _ => {
                self.unfollow(chatroom);
                Ok(())
            }
        }
    }

    /// Sends a chatroom this connection now follows: its state, then its latest
    /// [`HISTORY_PAGE`] messages (older ones by `history`). Call after [`Self::follow`], so
    /// nothing stored in between is missed.
    pub async fn show_latest(&mut self, room: &Chatroom) -> Result<(), ChatError> {
        let last_seq = chat::last_seq(&self.state.chat, room).await;
        self.following.insert(room.id, Delivered::from(last_seq.saturating_sub(HISTORY_PAGE)));
        self.emit(&ServerFrame::Chatroom(protocol::ChatroomView::from(room))).await;
        self.replay(room.tenant_id, room.id).await
    }

    /// Subscribes to the route's notices and returns once they reach this node, so a read made
    /// next misses nothing published meanwhile.
    pub async fn subscribe(&self, route: Route) {
        let listening = self.state.hub.subscribe(route, &self.outlet);
        if !listening.wait(LISTEN_WAIT).await {
            tracing::warn!(%route, "the broker is not delivering yet; the connection resyncs once it does");
        }
    }

    /// Subscribes to the chatroom's notices, counting every seq up to `upto` as given.
    pub async fn follow(&mut self, chatroom: ChatroomId, upto: u64) {
        self.following.insert(chatroom, Delivered::from(upto));
        self.subscribe(Route::Chatroom(chatroom)).await;
    }

    pub fn unfollow(&mut self, chatroom: ChatroomId) {
        self.state.hub.unsubscribe(Route::Chatroom(chatroom), self.id);
        self.following.remove(&chatroom);
        self.watching.remove(&chatroom);
    }

    /// Sends every stored message of the chatroom this connection has not been given, in order:
    /// from the chatroom's window of recent messages when it holds them all, else from the store.
    pub async fn replay(&mut self, tenant: TenantId, chatroom: ChatroomId) -> Result<(), ChatError> {
        let Some(mut after) = self.following.get(&chatroom).map(|d| d.upto) else { return Ok(()) };
        let recent = match &self.state.chat.recent {
            Some(recent) => recent.after(&chatroom, after).await,
            None => None,
        };
        if let Some(frames) = recent {
            for (seq, frame) in frames {
                let fresh = self.following.get_mut(&chatroom).is_some_and(|d| d.insert(seq));
                if fresh && !self.out.push(Outgoing::Text(frame)).await {
                    return Ok(());
                }
            }
            return Ok(());
        }
        loop {
            let page = self.state.chat.repos.messages.list_after(&tenant, &chatroom, after, REPLAY_PAGE).await?;
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

    /// A notice (or a resync) the hub queued for this connection.
    pub async fn on_delivery(&mut self, delivery: Delivery) -> Option<Ending> {
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
        self.on_notice(&notice).await
    }

    async fn on_notice(&mut self, notice: &Arc<Notice>) -> Option<Ending> {
        match &notice.kind {
            NoticeKind::Message { seq } => {
                let Route::Chatroom(room) = notice.route else { return None };
                let fresh = self.following.get_mut(&room).is_some_and(|d| d.insert(*seq));
                if fresh && !self.out.push(Outgoing::Text(notice.frame.clone())).await {
                    return Some(Ending::Gone);
                }
            }
            NoticeKind::Status { chatroom_id, status, agent_id } => {
                if !self.out.push(Outgoing::Text(notice.frame.clone())).await {
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
                    Some(Actor::Agent(agent))
                        if !status.is_open()
                            || (*agent_id != Some(agent.id) && !self.watching.contains(chatroom_id)) =>
                    {
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
            NoticeKind::Typing
            | NoticeKind::Read
            | NoticeKind::Queue
            | NoticeKind::Open
            | NoticeKind::Agents
            | NoticeKind::Position => {
                if !self.out.push(Outgoing::Text(notice.frame.clone())).await {
                    return Some(Ending::Gone);
                }
            }
            NoticeKind::ChatroomsChanged { .. } | NoticeKind::AgentsChanged => {}
        }
        None
    }

    /// Unsubscribes everything and tells presence the connection left (a visitor's last
    /// connection leaving puts the chatroom in standby).
    pub async fn clean_up(&mut self) {
        let rooms: Vec<ChatroomId> = self.following.keys().copied().collect();
        for room in rooms {
            self.unfollow(room);
        }
        match self.actor.take() {
            None => self.state.metrics.unauthenticated_connections.dec(),
            Some(Actor::Visitor { tenant, chatroom, .. }) => {
                self.state.metrics.visitor_connections.dec();
                self.state.hub.unsubscribe(Route::Visitors(tenant), self.id);
                if let Err(err) = chat::visitor_departed(&self.state.chat, tenant, chatroom, self.id).await {
                    tracing::warn!(error = %err, "standby not started");
                }
            }
            Some(Actor::Agent(agent)) => {
                self.state.metrics.agent_connections.dec();
                if let Err(err) = self.state.chat.presence.agent_offline(agent.tenant, self.id).await {
                    tracing::warn!(error = %err, "agent presence not cleared");
                }
                self.state.hub.unsubscribe(Route::Tenant(agent.tenant), self.id);
                self.state.hub.unsubscribe(Route::Agent(agent.id), self.id);
                self.state.hub.unsubscribe(Route::Moderators(agent.tenant), self.id);
                // Their offers pass on, from this node even when it has no other agent of theirs.
                chat::agents_changed(&self.state.chat, agent.tenant).await;
                self.state.chat.routing.route(agent.tenant);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
