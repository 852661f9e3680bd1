//! The local hub: which of this node's connections want which notices.
//!
//! A notice reaches the nodes that listen to its route through the [broker](crate::broker); the
//! hub hands it to the connections here that subscribed to the route: a chatroom (its visitor and
//! agent), a tenant (its agents, for the waiting queue), an agent (all of that agent's
//! connections) or a tenant's moderators. The hub tells the broker which routes this node wants:
//! a route's first subscriber here starts listening, its last one stops it.
//!
//! Delivery never waits: each connection has a bounded queue, and a connection whose queue is
//! full is kicked (it closes with `4408`, its client reconnects and resumes), so one slow reader
//! never holds up a chatroom. The registry's lock is a plain mutex held only to look up or change
//! the maps, never across an `.await`.

use std::{
    collections::{HashMap, hash_map::Entry},
    sync::{Arc, Mutex, PoisonError},
};

use shared::domain::TenantId;
use tokio::sync::{Notify, mpsc};

use crate::{
    broker::{Broker, Listening},
    notice::{ConnId, Notice, Route},
};

/// What a connection's queue carries.
#[derive(Debug, Clone)]
pub enum Delivery {
    Notice(Arc<Notice>),
    /// Notices may have been missed (the bus reconnected): fill in from MongoDB.
    Resync,
}

/// The sending end of one connection's queue, and the bell that kicks it.
#[derive(Clone)]
pub struct Outlet {
    pub id: ConnId,
    tx: mpsc::Sender<Delivery>,
    kick: Arc<Notify>,
}

impl Outlet {
    pub fn new(id: ConnId, tx: mpsc::Sender<Delivery>, kick: Arc<Notify>) -> Self {
        Self { id, tx, kick }
    }

    /// Queues without waiting; a full queue kicks the connection. False when it was kicked or gone.
    fn offer(&self, delivery: Delivery) -> bool {
        match self.tx.try_send(delivery) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.kick.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

pub struct Hub {
    /// The connections here that subscribed to each route.
    registry: Mutex<HashMap<Route, HashMap<ConnId, Outlet>>>,
    /// Told when a route gets its first connection here and when it loses its last.
    broker: Arc<dyn Broker>,
}

impl Hub {
    pub fn new(broker: Arc<dyn Broker>) -> Self {
        Self { registry: Mutex::default(), broker }
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, HashMap<Route, HashMap<ConnId, Outlet>>> {
        // No code panics while holding the lock with the map half-changed; a poisoned lock is usable.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Subscribes the connection to the route. The answer tells when the route's notices reach
    /// this node: wait for it before reading what the notices would change, so nothing published
    /// in between is missed.
    pub fn subscribe(&self, route: Route, outlet: &Outlet) -> Listening {
        let mut registry = self.registry();
        let (outlets, listening) = match registry.entry(route) {
            Entry::Occupied(entry) => (entry.into_mut(), self.broker.listening(route)),
            Entry::Vacant(entry) => (entry.insert(HashMap::new()), self.broker.listen(route)),
        };
        outlets.insert(outlet.id, outlet.clone());
        listening
    }

    pub fn unsubscribe(&self, route: Route, id: ConnId) {
        let mut registry = self.registry();
        if let Some(outlets) = registry.get_mut(&route) {
            outlets.remove(&id);
            if outlets.is_empty() {
                registry.remove(&route);
                self.broker.ignore(route);
            }
        }
    }

    /// Hands the notice to every subscriber of its route except the connection it came from.
    /// Returns how many connections got it.
    pub fn dispatch(&self, notice: Arc<Notice>, origin: Option<ConnId>) -> usize {
        let outlets: Vec<Outlet> = match self.registry().get(&notice.route) {
            Some(outlets) => outlets.values().filter(|o| Some(o.id) != origin).cloned().collect(),
            None => Vec::new(),
        };
        outlets.iter().filter(|outlet| outlet.offer(Delivery::Notice(notice.clone()))).count()
    }

    /// Tells every connection that follows a chatroom to fill in what it may have missed.
    pub fn resync_all(&self) {
        let outlets: HashMap<ConnId, Outlet> = self
            .registry()
            .iter()
            .filter(|(route, _)| matches!(route, Route::Chatroom(_)))
            .flat_map(|(_, outlets)| outlets.iter().map(|(id, o)| (*id, o.clone())))
            .collect();
        for outlet in outlets.into_values() {
            outlet.offer(Delivery::Resync);
        }
    }

    /// Whether an agent of the tenant is connected here (whose queue this node shows).
    pub fn has_tenant(&self, tenant: &TenantId) -> bool {
        self.registry().contains_key(&Route::Tenant(*tenant))
    }

    /// Whether a visitor of the tenant is connected here (whose place in the queue this node shows).
    pub fn has_visitors(&self, tenant: &TenantId) -> bool {
        self.registry().contains_key(&Route::Visitors(*tenant))
    }

    /// Whether a moderator of the tenant is connected here (whose open list this node shows).
    pub fn has_moderators(&self, tenant: &TenantId) -> bool {
        self.registry().contains_key(&Route::Moderators(*tenant))
    }
}

#[cfg(test)]
mod tests {
    use shared::domain::ChatroomId;

    use super::*;
    use crate::{broker::MemoryBroker, notice::NoticeKind};

    fn hub() -> Hub {
        Hub::new(Arc::new(MemoryBroker::default()))
    }

    fn outlet(id: ConnId, capacity: usize) -> (Outlet, mpsc::Receiver<Delivery>, Arc<Notify>) {
        let (tx, rx) = mpsc::channel(capacity);
        let kick = Arc::new(Notify::new());
        (Outlet::new(id, tx, kick.clone()), rx, kick)
    }

    fn notice(route: Route) -> Arc<Notice> {
        Arc::new(Notice { route, kind: NoticeKind::Typing, origin: None, frame: "{}".into() })
    }

    #[tokio::test]
    async fn a_full_queue_kicks_its_connection_and_never_blocks_the_others() {
        let hub = hub();
        let room = ChatroomId::new();
        let (slow, _slow_rx, slow_kick) = outlet(1, 1);
        let (fast, mut fast_rx, _) = outlet(2, 8);
        let _ = hub.subscribe(Route::Chatroom(room), &slow);
        let _ = hub.subscribe(Route::Chatroom(room), &fast);
        assert_eq!(hub.dispatch(notice(Route::Chatroom(room)), None), 2);
        assert_eq!(hub.dispatch(notice(Route::Chatroom(room)), None), 1, "the slow queue is full");
        slow_kick.notified().await;
        assert!(fast_rx.try_recv().is_ok() && fast_rx.try_recv().is_ok());
    }

    #[test]
    fn the_origin_does_not_get_its_own_notice_and_unsubscribed_connections_get_nothing() {
        let hub = hub();
        let room = ChatroomId::new();
        let (a, mut a_rx, _) = outlet(1, 8);
        let (b, mut b_rx, _) = outlet(2, 8);
        let _ = hub.subscribe(Route::Chatroom(room), &a);
        let _ = hub.subscribe(Route::Chatroom(room), &b);
        assert_eq!(hub.dispatch(notice(Route::Chatroom(room)), Some(1)), 1);
        assert!(a_rx.try_recv().is_err() && b_rx.try_recv().is_ok());
        hub.unsubscribe(Route::Chatroom(room), 2);
        assert_eq!(hub.dispatch(notice(Route::Chatroom(room)), None), 1);
        assert_eq!(hub.dispatch(notice(Route::Chatroom(ChatroomId::new())), None), 0);
    }
}
