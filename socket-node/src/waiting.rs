//! The waiting queue agents watch, and the timers behind standby.
//!
//! Both are read from MongoDB, where a chatroom's status and deadline are stored anyway: the
//! queue is the tenant's chatrooms with status `waiting`, oldest first (index `tenantId, status,
//! createdAt`), and an expired standby is a chatroom with status `standby` whose `standbyUntil`
//! has passed (index `status, standbyUntil`). Redis carries the *changes*: a `queueChanged`
//! notice on the bus makes each node with agents of that tenant rebuild the queue once and push
//! it to them. So a flushed or restarted Redis loses no waiting visitor and no standby deadline.

use std::{collections::HashSet, sync::Arc};

use shared::{
    domain::{ChatroomStatus, TenantId, Timestamp},
    repos::Repos,
};
use tokio::sync::{mpsc, watch};

use crate::{
    chat::ChatService,
    hub::Hub,
    notice::{Notice, NoticeKind, Route},
    protocol::{ChatroomView, ServerFrame},
};

/// The longest queue an agent is shown.
pub const QUEUE_LIMIT: u32 = 200;

/// The tenant's queue as a `queue` frame.
pub async fn queue_frame(repos: &Repos, tenant: &TenantId) -> Result<ServerFrame, shared::repos::RepoError> {
    let rooms = repos.chatrooms.list_waiting(tenant, QUEUE_LIMIT).await?;
    Ok(ServerFrame::Queue { chatrooms: rooms.iter().map(ChatroomView::from).collect() })
}

/// Rebuilds the queue of each tenant named on `changes` (coalescing bursts: a tenant named many
/// times while a rebuild runs is rebuilt once more) and pushes it to this node's agents.
pub async fn run_refresher(
    chat: ChatService,
    hub: Arc<Hub>,
    mut changes: mpsc::UnboundedReceiver<TenantId>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let first = tokio::select! {
            tenant = changes.recv() => match tenant { Some(t) => t, None => return },
            _ = shutdown.changed() => return,
        };
        let mut tenants = HashSet::from([first]);
        while let Ok(tenant) = changes.try_recv() {
            tenants.insert(tenant);
        }
        for tenant in tenants {
            match queue_frame(&chat.repos, &tenant).await {
                Ok(frame) => {
                    let notice = Notice {
                        route: Route::Tenant(tenant),
                        kind: NoticeKind::Queue,
                        origin: None,
                        frame: frame.to_json(),
                    };
                    hub.dispatch(Arc::new(notice), None);
                }
                Err(err) => tracing::error!(error = %err, tenant_id = %tenant, "queue not rebuilt"),
            }
        }
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
