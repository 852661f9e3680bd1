//! The in-process broker: every subscribed handler hears every notice, synchronously, in the
//! order it was published. Nodes in one process share one `MemoryBroker` (clone it).

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicU64, Ordering},
};

use async_trait::async_trait;
use tokio::sync::{oneshot, watch};

use super::{Broker, BrokerError, NoticeHandler};
use crate::notice::Notice;

/// A subscription: its number and its handler.
type Subscriber = (u64, Arc<dyn NoticeHandler>);

#[derive(Clone, Default)]
pub struct MemoryBroker {
    subscribers: Arc<Mutex<Vec<Subscriber>>>,
    ids: Arc<AtomicU64>,
}

impl MemoryBroker {
    fn subscribers(&self) -> std::sync::MutexGuard<'_, Vec<Subscriber>> {
        self.subscribers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    async fn publish(&self, notice: &Notice) -> Result<(), BrokerError> {
        let handlers: Vec<Arc<dyn NoticeHandler>> = self.subscribers().iter().map(|(_, h)| h.clone()).collect();
        for handler in handlers {
            handler.on_notice(notice.clone());
        }
        Ok(())
    }

    async fn run(
        &self,
        handler: Arc<dyn NoticeHandler>,
        mut shutdown: watch::Receiver<bool>,
        ready: oneshot::Sender<()>,
    ) {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        self.subscribers().push((id, handler));
        let _ = ready.send(());
        let _ = shutdown.wait_for(|stopping| *stopping).await;
        self.subscribers().retain(|(other, _)| *other != id);
    }
}
