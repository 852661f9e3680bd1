//! The lists agents watch (the waiting queue, and every open chatroom for moderators), and the
//! timers behind standby.
//!
//! All are read from MongoDB, where a chatroom's status and deadline are stored anyway: the
//! queue is the tenant's chatrooms with status `waiting`, the open list those waiting, active or
//! in standby, both oldest first (index `tenantId, status, createdAt`), and an expired standby is
//! a chatroom with status `standby` whose `standbyUntil` has passed (index `status,
//! standbyUntil`). Redis carries the *changes*: a `chatroomsChanged` notice on the bus makes each
//! node with agents of that tenant rebuild the lists once and push them. So a flushed or
//! restarted Redis loses no waiting visitor and no standby deadline.

use std::{collections::HashMap, sync::Arc};

use shared::{
    domain::{ChatroomStatus, TenantId, Timestamp},
    repos::{RepoError, Repos},
};
use tokio::sync::{mpsc, watch};

use crate::{
    chat::ChatService,
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

/// A tenant's chatrooms changed (`queue`: its waiting queue too).
#[derive(Debug, Clone, Copy)]
pub struct ListChange {
    pub tenant: TenantId,
    pub queue: bool,
}

/// Rebuilds the lists of each tenant named on `changes` (coalescing bursts: a tenant named many
/// times while a rebuild runs is rebuilt once more) and pushes them to this node's agents: the
/// queue when it changed, the open list when a moderator of the tenant is connected here.
pub async fn run_refresher(
    chat: ChatService,
    hub: Arc<Hub>,
    mut changes: mpsc::UnboundedReceiver<ListChange>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let first = tokio::select! {
            change = changes.recv() => match change { Some(c) => c, None => return },
            _ = shutdown.changed() => return,
        };
        let mut tenants = HashMap::from([(first.tenant, first.queue)]);
        while let Ok(change) = changes.try_recv() {
            *tenants.entry(change.tenant).or_default() |= change.queue;
        }
        for (tenant, queue) in tenants {
            if queue {
                push(&hub, Route::Tenant(tenant), NoticeKind::Queue, queue_frame(&chat.repos, &tenant).await);
            }
            if hub.has_moderators(&tenant) {
                push(&hub, Route::Moderators(tenant), NoticeKind::Open, open_frame(&chat.repos, &tenant).await);
            }
        }
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
