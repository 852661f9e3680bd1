//! The in-process event bus of `scripts/dev --memory` (and of unit tests): every published event
//! is kept, and subscribers receive them live.

use std::sync::Mutex;

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{EventPublisher, OutgoingEvent, PublishError};

pub struct MemoryPublisher {
    published: Mutex<Vec<OutgoingEvent>>,
    live: broadcast::Sender<OutgoingEvent>,
}

impl Default for MemoryPublisher {
    fn default() -> Self {
        Self { published: Mutex::new(Vec::new()), live: broadcast::channel(1024).0 }
    }
}

impl MemoryPublisher {
    /// Every event published so far, in order.
    pub fn published(&self) -> Vec<OutgoingEvent> {
        self.published.lock().unwrap().clone()
    }

    /// Events published from now on. A subscriber that falls more than 1,024 events behind
    /// gets a `Lagged` error and can catch up from [`MemoryPublisher::published`].
    pub fn subscribe(&self) -> broadcast::Receiver<OutgoingEvent> {
        self.live.subscribe()
    }
}

#[async_trait]
impl EventPublisher for MemoryPublisher {
    async fn publish(&self, event: &OutgoingEvent) -> Result<(), PublishError> {
        self.published.lock().unwrap().push(event.clone());
        let _ = self.live.send(event.clone());
        Ok(())
    }
}
