//! Group commit: messages sent at about the same moment are stored with one `insertMany`.
//!
//! A send hands its numbered message to the node's [`MessageWriter`] and waits for its own
//! answer. The writer's task takes the first message waiting, gathers whatever else arrives within
//! the window (at most [`MAX_BATCH`]) and stores the lot unordered; the next batch gathers while
//! one is at the store, with at most [`IN_FLIGHT`] there at once. Under light load a message waits
//! the window at most; under heavy load batches grow instead of the store taking one insert per
//! message, which on FerretDB is where the time goes (an `insertMany` of 50 costs about what 4
//! single inserts do).
//!
//! Each message's answer is its own ([`MessageRepo::insert_many`]): a retry or a taken seq in a
//! batch fails nobody else. No ack is given before its message is stored.

use std::{sync::Arc, time::Duration};

use shared::{
    domain::Message,
    repos::{Inserted, MessageRepo, RepoError},
};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// The most messages in one `insertMany`.
pub const MAX_BATCH: usize = 256;
/// The most batches at the store at once.
pub const IN_FLIGHT: usize = 4;

type Answer = Result<Inserted, RepoError>;

struct Pending {
    message: Message,
    answer: oneshot::Sender<Answer>,
}

/// Where sends store their messages. Cheap to clone; its task ends when the last clone is dropped,
/// after storing what it holds.
#[derive(Clone)]
pub struct MessageWriter {
    pending: mpsc::UnboundedSender<Pending>,
}

impl MessageWriter {
    /// Starts the writer's task on `messages`, gathering each batch for up to `window`.
    pub fn spawn(messages: Arc<dyn MessageRepo>, window: Duration) -> Self {
        let (pending, incoming) = mpsc::unbounded_channel();
        tokio::spawn(run(messages, window, incoming));
        Self { pending }
    }

    /// Stores `message` with whatever else is being sent now; answers as
    /// [`MessageRepo::insert`] would.
    pub async fn insert(&self, message: Message) -> Answer {
        let (answer, answered) = oneshot::channel();
        let stopped = || RepoError::Unavailable(anyhow::anyhow!("the node's message writer has stopped"));
        self.pending.send(Pending { message, answer }).map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

async fn run(messages: Arc<dyn MessageRepo>, window: Duration, mut incoming: mpsc::UnboundedReceiver<Pending>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = incoming.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + window;
        while batch.len() < MAX_BATCH {
            match incoming.try_recv() {
                Ok(next) => batch.push(next),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => match tokio::time::timeout_at(deadline, incoming.recv()).await
                {
                    Ok(Some(next)) => batch.push(next),
                    Ok(None) | Err(_) => break,
                },
            }
        }
        // While every slot is taken, messages keep arriving and the next batch grows.
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        while batch.len() < MAX_BATCH {
            let Ok(next) = incoming.try_recv() else { break };
            batch.push(next);
        }
        let messages = messages.clone();
        tokio::spawn(async move {
            store(messages.as_ref(), batch).await;
            drop(slot);
        });
    }
    // Stopping: let the batches at the store finish.
    let _ = slots.acquire_many(IN_FLIGHT as u32).await;
}

async fn store(messages: &dyn MessageRepo, batch: Vec<Pending>) {
    let (documents, answers): (Vec<Message>, Vec<oneshot::Sender<Answer>>) =
        batch.into_iter().map(|p| (p.message, p.answer)).unzip();
    let outcomes = messages.insert_many(&documents).await;
    for (answer, outcome) in answers.into_iter().zip(outcomes) {
        // A sender that gave up waiting changes nothing: its message is stored or not as told.
        let _ = answer.send(outcome);
    }
}

#[cfg(test)]
mod tests {
    use shared::{
        domain::{ChatroomId, ClientMsgId, Sender, SenderKind, TenantId, Timestamp},
        repos::Repos,
    };

    use super::*;

    fn message(tenant: TenantId, chatroom: ChatroomId, seq: u64, client_msg_id: &str) -> Message {
        let client_msg_id: ClientMsgId = client_msg_id.parse().unwrap();
        let sender = Sender { kind: SenderKind::System, id: None, name: "Parley".into() };
        Message::new(tenant, chatroom, seq, client_msg_id, sender, "hi".into(), Timestamp::now())
    }

    #[tokio::test]
    async fn concurrent_sends_each_get_their_own_answer() {
        let repos = Repos::memory();
        let writer = MessageWriter::spawn(repos.messages.clone(), Duration::from_millis(2));
        let (tenant, room) = (TenantId::new(), ChatroomId::new());
        let sends = (1..=300).map(|seq| writer.insert(message(tenant, room, seq, &format!("c-{seq}"))));
        let answers = futures::future::join_all(sends).await;
        assert!(answers.iter().all(|a| matches!(a, Ok(Inserted::New))), "{answers:?}");

        let again = writer.insert(message(tenant, room, 301, "c-7")).await.unwrap();
        assert!(matches!(again, Inserted::Duplicate(first) if first.seq == 7), "a retry gets the first copy");
        let clash = writer.insert(message(tenant, room, 7, "c-new")).await;
        assert!(matches!(clash, Err(RepoError::Conflict { code: "message_seq_taken", .. })), "{clash:?}");
    }
}
