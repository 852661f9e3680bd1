//! The node's shared state: what a request or a connection reaches. [`Node`](crate::node::Node)
//! builds it at start-up.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::extract::FromRef;
use shared::{
    auth::{AccessTokens, ChatbotAccess, ChatroomTokens},
    client_ip::TrustedProxies,
    domain::Timestamp,
    ratelimit::RateLimiter,
};
use tokio::sync::watch;

use crate::{
    backends::Probe, chat::ChatService, config::Config, hub::Hub, metrics::Metrics, notice::ConnId, web::WebAssets,
};

/// Everything a request or a connection needs: one pointer to the node's [`NodeState`], as
/// every connection holds it for as long as it lives (`scripts/bench/idle`).
#[derive(Clone)]
pub struct AppState(Arc<NodeState>);

impl AppState {
    pub fn new(state: NodeState) -> Self {
        Self(Arc::new(state))
    }
}

impl std::ops::Deref for AppState {
    type Target = NodeState;

    fn deref(&self) -> &NodeState {
        &self.0
    }
}

/// What [`AppState`] points to.
pub struct NodeState {
    pub config: Arc<Config>,
    pub node: Arc<NodeInfo>,
    /// What chat operations reach.
    pub chat: ChatService,
    pub access: ChatbotAccess,
    pub agent_tokens: AccessTokens,
    pub chatroom_tokens: ChatroomTokens,
    pub limiter: Arc<dyn RateLimiter>,
    pub hub: Arc<Hub>,
    pub metrics: Arc<Metrics>,
    pub ip_slots: IpSlots,
    pub probes: Arc<[Probe]>,
    /// The built widget, read at start-up.
    pub web: Arc<WebAssets>,
    /// Turns true when the node shuts down; every connection closes with 1001.
    pub shutdown: watch::Receiver<bool>,
    pub(crate) connection_ids: Arc<AtomicU64>,
}

impl FromRef<AppState> for TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.config.proxies.clone()
    }
}

/// Who this node is, as its heartbeat reports it.
#[derive(Debug)]
pub struct NodeInfo {
    /// Random per start, so a restarted node never inherits the presence of its previous life.
    pub id: String,
    pub address: SocketAddr,
    pub started_at: Timestamp,
}

impl NodeInfo {
    /// A node reachable at `address`, with a fresh id.
    pub fn new(address: SocketAddr) -> Self {
        Self { id: uuid::Uuid::new_v4().simple().to_string(), address, started_at: Timestamp::now() }
    }
}

impl AppState {
    pub fn next_connection_id(&self) -> ConnId {
        self.connection_ids.fetch_add(1, Ordering::Relaxed)
    }
}

/// Open connections per client address on this node, to cap them.
#[derive(Clone, Default)]
pub struct IpSlots(Arc<Mutex<HashMap<IpAddr, u32>>>);

/// One connection's place in its address's count; dropping it frees the place.
pub struct IpSlot {
    slots: IpSlots,
    ip: IpAddr,
}

impl IpSlots {
    pub fn acquire(&self, ip: IpAddr, max: u32) -> Option<IpSlot> {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(ip).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(IpSlot { slots: self.clone(), ip })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.slots.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_cap_and_dropping_frees_a_place() {
        let slots = IpSlots::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let first = slots.acquire(ip, 2).unwrap();
        let _second = slots.acquire(ip, 2).unwrap();
        assert!(slots.acquire(ip, 2).is_none());
        assert!(slots.acquire("192.0.2.8".parse().unwrap(), 2).is_some());
        drop(first);
        assert!(slots.acquire(ip, 2).is_some());
    }
}
