//! The local hub: which of this node's connections want which notices.
//!
//! Every notice reaches every node through the [broker](crate::broker); the hub hands it to the
//! connections here that subscribed to its route: a chatroom (its visitor and agent), a tenant
//! (its agents, for the waiting queue) or an agent (all of that agent's connections).
//!
//! Delivery never waits: each connection has a bounded queue, and a connection whose queue is
//! full is kicked (it closes with `4408`, its client reconnects and resumes), so one slow reader
//! never holds up a chatroom. The registry's lock is a plain mutex held only to look up or change
//! the maps, never across an `.await`.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex, PoisonError},
};

use shared::domain::{ChatroomId, TenantId, UserId};
use tokio::sync::{Notify, mpsc};

use crate::notice::{ConnId, Notice, Route};

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

#[derive(Default)]
pub struct Hub {
    registry: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    chatrooms: HashMap<ChatroomId, HashMap<ConnId, Outlet>>,
    tenants: HashMap<TenantId, HashMap<ConnId, Outlet>>,
    agents: HashMap<UserId, HashMap<ConnId, Outlet>>,
    moderators: HashMap<TenantId, HashMap<ConnId, Outlet>>,
}

fn add<K: Hash + Eq>(map: &mut HashMap<K, HashMap<ConnId, Outlet>>, key: K, outlet: &Outlet) {
    map.entry(key).or_default().insert(outlet.id, outlet.clone());
}

fn remove<K: Hash + Eq>(map: &mut HashMap<K, HashMap<ConnId, Outlet>>, key: &K, id: ConnId) {
    if let Some(outlets) = map.get_mut(key) {
        outlets.remove(&id);
        if outlets.is_empty() {
            map.remove(key);
        }
    }
}

impl Hub {
    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        // No code panics while holding the lock with the maps half-changed; a poisoned lock is usable.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn subscribe(&self, route: Route, outlet: &Outlet) {
        let mut registry = self.registry();
        match route {
            Route::Chatroom(id) => add(&mut registry.chatrooms, id, outlet),
            Route::Tenant(id) => add(&mut registry.tenants, id, outlet),
            Route::Agent(id) => add(&mut registry.agents, id, outlet),
            Route::Moderators(id) => add(&mut registry.moderators, id, outlet),
        }
    }

    pub fn unsubscribe(&self, route: Route, id: ConnId) {
        let mut registry = self.registry();
        match route {
            Route::Chatroom(key) => remove(&mut registry.chatrooms, &key, id),
            Route::Tenant(key) => remove(&mut registry.tenants, &key, id),
            Route::Agent(key) => remove(&mut registry.agents, &key, id),
            Route::Moderators(key) => remove(&mut registry.moderators, &key, id),
        }
    }

    /// Hands the notice to every subscriber of its route except the connection it came from.
    /// Returns how many connections got it.
    pub fn dispatch(&self, notice: Arc<Notice>, origin: Option<ConnId>) -> usize {
        let outlets: Vec<Outlet> = {
            let registry = self.registry();
            let subscribers = match notice.route {
                Route::Chatroom(id) => registry.chatrooms.get(&id),
                Route::Tenant(id) => registry.tenants.get(&id),
                Route::Agent(id) => registry.agents.get(&id),
                Route::Moderators(id) => registry.moderators.get(&id),
            };
            subscribers.map(|s| s.values().filter(|o| Some(o.id) != origin).cloned().collect()).unwrap_or_default()
        };
        outlets.iter().filter(|outlet| outlet.offer(Delivery::Notice(notice.clone()))).count()
    }

    /// Tells every connection to fill in what it may have missed.
    pub fn resync_all(&self) {
        let outlets: Vec<Outlet> = {
            let registry = self.registry();
            let mut all: HashMap<ConnId, Outlet> = HashMap::new();
            for outlets in registry.chatrooms.values() {
                all.extend(outlets.iter().map(|(id, o)| (*id, o.clone())));
            }
            all.into_values().collect()
        };
        for outlet in outlets {
            outlet.offer(Delivery::Resync);
        }
    }

    /// The tenants with at least one agent connected here (whose queues this node shows).
    pub fn tenants(&self) -> Vec<TenantId> {
        self.registry().tenants.keys().copied().collect()
    }

    pub fn has_tenant(&self, tenant: &TenantId) -> bool {
        self.registry().tenants.contains_key(tenant)
    }

    /// Whether a moderator of the tenant is connected here (whose open list this node shows).
    pub fn has_moderators(&self, tenant: &TenantId) -> bool {
        self.registry().moderators.contains_key(tenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notice::NoticeKind;

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
        let hub = Hub::default();
        let room = ChatroomId::new();
        let (slow, _slow_rx, slow_kick) = outlet(1, 1);
        let (fast, mut fast_rx, _) = outlet(2, 8);
        hub.subscribe(Route::Chatroom(room), &slow);
        hub.subscribe(Route::Chatroom(room), &fast);
        assert_eq!(hub.dispatch(notice(Route::Chatroom(room)), None), 2);
        assert_eq!(hub.dispatch(notice(Route::Chatroom(room)), None), 1, "the slow queue is full");
        slow_kick.notified().await;
        assert!(fast_rx.try_recv().is_ok() && fast_rx.try_recv().is_ok());
    }

    #[test]
    fn the_origin_does_not_get_its_own_notice_and_unsubscribed_connections_get_nothing() {
        let hub = Hub::default();
        let room = ChatroomId::new();
        let (a, mut a_rx, _) = outlet(1, 8);
        let (b, mut b_rx, _) = outlet(2, 8);
        hub.subscribe(Route::Chatroom(room), &a);
        hub.subscribe(Route::Chatroom(room), &b);
        assert_eq!(hub.dispatch(notice(Route::Chatroom(room)), Some(1)), 1);
        assert!(a_rx.try_recv().is_err() && b_rx.try_recv().is_ok());
        hub.unsubscribe(Route::Chatroom(room), 2);
        assert_eq!(hub.dispatch(notice(Route::Chatroom(room)), None), 1);
        assert_eq!(hub.dispatch(notice(Route::Chatroom(ChatroomId::new())), None), 0);
    }
}
