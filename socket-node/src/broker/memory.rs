//! The in-process broker: every node that listens to a notice's route hears it, synchronously,
//! in the order it was published. Nodes in one process each hold a handle on one medium
//! ([`MemoryBroker::another_node`]); a handle's routes are its node's.

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use async_trait::async_trait;
use tokio::sync::{oneshot, watch};

use super::{Broker, BrokerError, Listening, NoticeHandler};
use crate::notice::{Notice, Route};

type Routes = Arc<Mutex<HashSet<Route>>>;

/// A running subscription: its number, its handler and the routes its node listens to.
struct Subscriber {
    id: u64,
    handler: Arc<dyn NoticeHandler>,
    routes: Routes,
}

#[derive(Default)]
struct Medium {
    subscribers: Mutex<Vec<Subscriber>>,
    ids: AtomicU64,
}

/// One node's handle on the medium.
#[derive(Default)]
pub struct MemoryBroker {
    medium: Arc<Medium>,
    routes: Routes,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryBroker {
    /// A handle for another node on the same medium, listening to nothing yet.
    pub fn another_node(&self) -> Self {
        Self { medium: self.medium.clone(), routes: Routes::default() }
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    async fn publish(&self, notice: &Notice) -> Result<(), BrokerError> {
        let handlers: Vec<Arc<dyn NoticeHandler>> = lock(&self.medium.subscribers)
            .iter()
            .filter(|s| lock(&s.routes).contains(&notice.route))
            .map(|s| s.handler.clone())
            .collect();
        for handler in handlers {
            handler.on_notice(notice.clone());
        }
        Ok(())
    }

    fn listen(&self, route: Route) -> Listening {
        lock(&self.routes).insert(route);
        Listening::now()
    }

    fn listening(&self, _route: Route) -> Listening {
        Listening::now()
    }

    fn ignore(&self, route: Route) {
        lock(&self.routes).remove(&route);
    }

    async fn run(
        &self,
        handler: Arc<dyn NoticeHandler>,
        mut shutdown: watch::Receiver<bool>,
        ready: oneshot::Sender<()>,
    ) {
        let id = self.medium.ids.fetch_add(1, Ordering::Relaxed);
        lock(&self.medium.subscribers).push(Subscriber { id, handler, routes: self.routes.clone() });
        let _ = ready.send(());
        let _ = shutdown.wait_for(|stopping| *stopping).await;
        lock(&self.medium.subscribers).retain(|s| s.id != id);
    }
}
