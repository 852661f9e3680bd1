//! The lists agents watch (the waiting queue, every open chatroom for moderators, the team), the
//! visitors' places in the queue, and the timers behind standby.
//!
//! All are read from MongoDB, where a chatroom's status and deadline are stored anyway: the
//! queue is the tenant's chatrooms with status `waiting`, the open list those waiting, active or
//! in standby, both oldest first (index `tenantId, status, createdAt`), and an expired standby is
//! a chatroom with status `standby` whose `standbyUntil` has passed (index `status,
//! standbyUntil`). Redis carries the *changes*: a `chatroomsChanged` notice on the bus makes each
//! node with agents of that tenant rebuild the lists once and push them, and each node with
//! visitors of the tenant tell each waiting visitor their place (`queue_position`, with the
//! tenant's usual wait: the median of its latest chatrooms' waits, [`Estimates`]). So a flushed or
//! restarted Redis loses no waiting visitor and no standby deadline.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use shared::{
    domain::{Chatroom, ChatroomId, ChatroomStatus, TenantId, Timestamp},
    repos::{RepoError, Repos},
};
use tokio::sync::{mpsc, watch};

use crate::{
    chat::{ChatError, ChatService},
    hub::Hub,
    notice::{Notice, NoticeKind, Route},
    protocol::{ChatroomView, ServerFrame},
};

/// The longest list an agent is shown.
pub const LIST_LIMIT: u32 = 200;

/// The tenant's queue as a `queue` frame.
pub async fn queue_frame(repos: &Repos, tenant: &TenantId) -> Result<ServerFrame, RepoError> {
    let rooms = repos.chatrooms.list_with_status(tenant, &[ChatroomStatus::Waiting], LIST_LIMIT).await?;
    Ok(ServerFrame::Queue { chatrooms: rooms.iter().map(ChatroomView::from).collect() })
}

/// Every open chatroom of the tenant as an `open` frame.
pub async fn open_frame(repos: &Repos, tenant: &TenantId) -> Result<ServerFrame, RepoError> {
    let rooms = repos.chatrooms.list_with_status(tenant, &ChatroomStatus::OPEN, LIST_LIMIT).await?;
    Ok(ServerFrame::Open { chatrooms: rooms.iter().map(ChatroomView::from).collect() })
}

/// What of a tenant's changed: its chatrooms (`queue`: its waiting queue too), for this node's
/// agents; its agents; its queue, for this node's visitors.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListChange {
    pub queue: bool,
    pub open: bool,
    pub agents: bool,
    pub visitors: bool,
}

impl ListChange {
    fn merge(&mut self, other: ListChange) {
        self.queue |= other.queue;
        self.open |= other.open;
        self.agents |= other.agents;
        self.visitors |= other.visitors;
    }
}

/// The waiting chatrooms' places: `queue_position` frames, one per chatroom of `queue` (the
/// tenant's waiting chatrooms, oldest first).
pub fn position_frames(queue: &[Chatroom], estimated_wait_ms: Option<u64>) -> Vec<(ChatroomId, ServerFrame)> {
    queue
        .iter()
        .zip(1..)
        .map(|(room, position)| {
            (room.id, ServerFrame::QueuePosition { chatroom_id: room.id, position, estimated_wait_ms })
        })
        .collect()
}

/// How far back the waits behind an estimate go, how many, and how long one is reused.
const ESTIMATE_WINDOW: Duration = Duration::from_secs(7 * 86_400);
const ESTIMATE_SAMPLE: u32 = 50;
const ESTIMATE_TTL: Duration = Duration::from_secs(30);

/// Each tenant's usual wait: the median time to an agent of its latest chatrooms an agent took
/// (at most [`ESTIMATE_SAMPLE`], of the last [`ESTIMATE_WINDOW`]), reused for [`ESTIMATE_TTL`].
/// (The median of an even count is the upper middle one: an estimate errs long.)
#[derive(Default)]
pub struct Estimates(Mutex<HashMap<TenantId, (Instant, Option<u64>)>>);

impl Estimates {
    pub async fn wait_ms(&self, repos: &Repos, tenant: TenantId) -> Result<Option<u64>, RepoError> {
        if let Some((at, estimate)) = self.known().get(&tenant)
            && at.elapsed() < ESTIMATE_TTL
        {
            return Ok(*estimate);
        }
        let since = Timestamp::now().minus_std(ESTIMATE_WINDOW);
        let taken = repos.chatrooms.list_assigned_since(&tenant, since, ESTIMATE_SAMPLE).await?;
        let mut waits: Vec<u64> = taken
            .iter()
            .filter_map(|room| room.assigned_at.map(|at| at.unix_millis() - room.created_at.unix_millis()))
            .map(|ms| u64::try_from(ms).unwrap_or(0))
            .collect();
        waits.sort_unstable();
        let estimate = (!waits.is_empty()).then(|| waits[waits.len() / 2]);
        // No history yet is not kept: the first chatroom taken makes one.
        if estimate.is_some() {
            self.known().insert(tenant, (Instant::now(), estimate));
        }
        Ok(estimate)
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, (Instant, Option<u64>)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The visitor's place in the queue, while their chatroom waits.
pub async fn position_of(chat: &ChatService, room: &Chatroom) -> Result<Option<ServerFrame>, ChatError> {
    if room.status != ChatroomStatus::Waiting {
        return Ok(None);
    }
    let queue = chat.repos.chatrooms.list_with_status(&room.tenant_id, &[ChatroomStatus::Waiting], LIST_LIMIT).await?;
    let estimate = chat.estimates.wait_ms(&chat.repos, room.tenant_id).await?;
    Ok(position_frames(&queue, estimate).into_iter().find(|(id, _)| *id == room.id).map(|(_, frame)| frame))
}

/// Rebuilds what changed of each tenant named on `changes` (coalescing bursts: a tenant named
/// many times while a rebuild runs is rebuilt once more) and pushes it to this node's connections:
/// the queue to its agents, the open list to its moderators, the `agents` frame, and each waiting
/// visitor's place.
pub async fn run_refresher(
    chat: ChatService,
    hub: Arc<Hub>,
    mut changes: mpsc::UnboundedReceiver<(TenantId, ListChange)>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (tenant, change) = tokio::select! {
            change = changes.recv() => match change { Some(c) => c, None => return },
            _ = shutdown.changed() => return,
        };
        let mut tenants = HashMap::from([(tenant, change)]);
        while let Ok((tenant, change)) = changes.try_recv() {
            tenants.entry(tenant).or_default().merge(change);
        }
        for (tenant, change) in tenants {
            refresh(&chat, &hub, tenant, change).await;
        }
    }
}

async fn refresh(chat: &ChatService, hub: &Hub, tenant: TenantId, change: ListChange) {
    let agents_here = hub.has_tenant(&tenant);
    let visitors_here = change.visitors && hub.has_visitors(&tenant);
    if (change.queue && agents_here) || visitors_here {
        match chat.repos.chatrooms.list_with_status(&tenant, &[ChatroomStatus::Waiting], LIST_LIMIT).await {
            Ok(queue) => {
                if change.queue && agents_here {
                    let frame = ServerFrame::Queue { chatrooms: queue.iter().map(ChatroomView::from).collect() };
                    push(hub, Route::Tenant(tenant), NoticeKind::Queue, Ok(frame));
                }
                if visitors_here {
                    tell_places(chat, hub, tenant, &queue).await;
                }
            }
            Err(err) => tracing::error!(error = %err, %tenant, "queue not rebuilt"),
        }
    }
    if (change.queue || change.open) && hub.has_moderators(&tenant) {
        push(hub, Route::Moderators(tenant), NoticeKind::Open, open_frame(&chat.repos, &tenant).await);
    }
    if change.agents && agents_here {
        match crate::routing::agents_frame(chat, tenant).await {
            Ok(frame) => push(hub, Route::Tenant(tenant), NoticeKind::Agents, Ok(frame)),
            Err(err) => tracing::error!(error = %err, %tenant, "agents not rebuilt"),
        }
    }
}

/// Tells each waiting visitor connected here their place in `queue`.
async fn tell_places(chat: &ChatService, hub: &Hub, tenant: TenantId, queue: &[Chatroom]) {
    let estimate = chat.estimates.wait_ms(&chat.repos, tenant).await.unwrap_or_else(|err| {
        tracing::warn!(error = %err, "no wait estimate");
        None
    });
    for (chatroom, frame) in position_frames(queue, estimate) {
        let notice = Notice {
            route: Route::Chatroom(chatroom),
            kind: NoticeKind::Position,
            origin: None,
            frame: frame.to_json(),
        };
        hub.dispatch(Arc::new(notice), None);
    }
}

fn push(hub: &Hub, route: Route, kind: NoticeKind, frame: Result<ServerFrame, RepoError>) {
    match frame {
        Ok(frame) => {
            hub.dispatch(Arc::new(Notice { route, kind, origin: None, frame: frame.to_json() }), None);
        }
        Err(err) => tracing::error!(error = %err, ?route, "list not rebuilt"),
    }
}

/// Every `standby_sweep`: closes chatrooms whose standby expired (reason `visitor_left`), and
/// announces chatrooms that have waited `unclaimed_alert` with nobody joining
/// (`chatroom.unclaimed`, which the email function turns into an alert to the tenant's agents).
/// Every node sweeps; both changes are conditional updates, so exactly one node acts on each
/// chatroom.
pub async fn run_sweeper(state: ChatService, mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(state.timing.standby_sweep);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => return,
        }
        sweep_standby(&state).await;
        sweep_unclaimed(&state).await;
    }
}

async fn sweep_standby(state: &ChatService) {
    let overdue = match state.repos.chatrooms.list_overdue_standby(Timestamp::now(), 100).await {
        Ok(rooms) => rooms,
        Err(err) => return tracing::error!(error = %err, "standby sweep failed"),
    };
    for room in overdue {
        debug_assert_eq!(room.status, ChatroomStatus::Standby);
        if let Err(err) = crate::chat::expire_standby(state, &room).await {
            tracing::error!(error = %err, chatroom_id = %room.id, "standby not expired");
        }
    }
}

async fn sweep_unclaimed(state: &ChatService) {
    let waiting_since = Timestamp::now().minus_std(state.timing.unclaimed_alert);
    let unclaimed = match state.repos.chatrooms.list_unclaimed(waiting_since, 100).await {
        Ok(rooms) => rooms,
        Err(err) => return tracing::error!(error = %err, "unclaimed-chatroom sweep failed"),
    };
    for room in unclaimed {
        if let Err(err) = crate::chat::alert_unclaimed(state, &room).await {
            tracing::error!(error = %err, chatroom_id = %room.id, "unclaimed chatroom not announced");
        }
    }
}
