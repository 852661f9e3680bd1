//! The in-process event bus of `scripts/dev --memory` (and of unit tests): the last
//! [`KEPT`] published events are kept, and subscribers receive them live.

use std::{collections::VecDeque, sync::Mutex};

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{EventPublisher, OutgoingEvent, PublishError};

/// How many published events a publisher keeps (the oldest go first), so a long development
/// session does not grow without bound.
pub const KEPT: usize = 10_000;

pub struct MemoryPublisher {
    published: Mutex<VecDeque<OutgoingEvent>>,
    live: broadcast::Sender<OutgoingEvent>,
}

impl Default for MemoryPublisher {
    fn default() -> Self {
        Self { published: Mutex::new(VecDeque::new()), live: broadcast::channel(1024).0 }
    }
}

impl MemoryPublisher {
    /// The events published so far (the last [`KEPT`]), in order.
    pub fn published(&self) -> Vec<OutgoingEvent> {
        self.published.lock().unwrap().iter().cloned().collect()
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
        {
            let mut published = self.published.lock().unwrap();
            if published.len() == KEPT {
                published.pop_front();
            }
            published.push_back(event.clone());
        }
        let _ = self.live.send(event.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        domain::{EventId, TenantId, Timestamp},
        events::{Envelope, Topic},
    };

    fn event(n: usize) -> OutgoingEvent {
        let tenant_id = TenantId::new();
        let envelope = Envelope {
            id: EventId::new(),
            event_type: "tenant.updated".into(),
            tenant_id,
            occurred_at: Timestamp::now(),
            data: serde_json::json!({ "n": n }),
        };
        OutgoingEvent { topic: Topic::Tenants, key: tenant_id.to_string(), envelope }
    }

    #[tokio::test]
    async fn the_last_events_are_kept_in_order_and_the_oldest_go() {
        let publisher = MemoryPublisher::default();
        for n in 0..KEPT + 5 {
            publisher.publish(&event(n)).await.unwrap();
        }
        let kept = publisher.published();
        assert_eq!(kept.len(), KEPT);
        assert_eq!(kept[0].envelope.data["n"], 5, "the five oldest went first");
        assert_eq!(kept[KEPT - 1].envelope.data["n"], KEPT + 4);
    }
}
