//! Messages, one document each, numbered per chatroom.

mod memory;
mod mongo;

use async_trait::async_trait;

use super::RepoError;
use crate::domain::{ChatroomId, ClientMsgId, Message, SenderKind, TenantId};

pub(super) use memory::MemoryMessages;
pub(super) use mongo::{MongoMessages, ensure_indexes};

/// What [`MessageRepo::insert`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// The message is stored.
    New,
    /// The chatroom already had a message with this `clientMsgId` (the sender retried): this is
    /// that message, and nothing new was stored.
    Duplicate(Message),
}

#[async_trait]
pub trait MessageRepo: Send + Sync {
    /// Stores the message, or answers the one already stored with the same (chatroomId,
    /// clientMsgId) as [`Inserted::Duplicate`], never a second copy. Another message with the
    /// same (chatroomId, seq) is `message_seq_taken` (409): seqs come from
    /// a counter that may hand a number out twice after losing its state (the socket-node's
    /// `seqs`), whose caller then asks for another.
    async fn insert(&self, message: &Message) -> Result<Inserted, RepoError>;

    /// Stores several messages at once (the socket-node's group commit): one answer per message,
    /// in their order, each what [`MessageRepo::insert`] would answer for it alone. One message
    /// refused (a retry, a taken seq) fails none of the others.
    async fn insert_many(&self, messages: &[Message]) -> Vec<Result<Inserted, RepoError>> {
        let mut answers = Vec::with_capacity(messages.len());
        for message in messages {
            answers.push(self.insert(message).await);
        }
        answers
    }

    /// The chatroom's message with this `clientMsgId`: one read by primary key, as a message's
    /// id derives from it ([`crate::domain::MessageId::of`]).
    async fn find_by_client_id(
        &self,
        tenant: &TenantId,
        chatroom: &ChatroomId,
        id: &ClientMsgId,
    ) -> Result<Option<Message>, RepoError>;

    /// The chatroom's messages with a seq above `after_seq`, in seq order, at most `limit`:
    /// what a reconnecting client missed.
    async fn list_after(
        &self,
        tenant: &TenantId,
        chatroom: &ChatroomId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Message>, RepoError>;

    /// The highest seq stored for the chatroom (0 when none): where its numbering goes on when
    /// the counter in Redis was lost.
    async fn highest_seq(&self, tenant: &TenantId, chatroom: &ChatroomId) -> Result<u64, RepoError>;

    /// Marks read every message up to seq `up_to` that `reader`'s side did not send (a visitor
    /// reads the agents' and system messages, an agent the visitor's and system messages);
    /// answers how many changed.
    async fn mark_read(
        &self,
        tenant: &TenantId,
        chatroom: &ChatroomId,
        reader: SenderKind,
        up_to: u64,
    ) -> Result<u64, RepoError>;
}

pub(super) fn message_seq_taken() -> RepoError {
    RepoError::conflict("message_seq_taken", "another message of this chatroom already has this seq")
}

pub(super) fn message_exists() -> RepoError {
    RepoError::conflict("message_exists", "a message with this id already exists")
}
