//! Messages in `messages`.

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::{Collection, Database, bson::doc, error::ErrorKind};

use super::{Inserted, MessageRepo, message_exists, message_seq_taken};
use crate::{
    domain::{ChatroomId, ClientMsgId, Message, MessageId, SenderKind, TenantId},
    mongo::{DUPLICATE_KEY, classify, create_indexes, is_duplicate_key, unique_index},
    repos::{RepoError, mongo_util},
};

/// The messages' indexes. (Analytics adds its own: `functions/analytics/src/source.rs`.)
pub(in crate::repos) async fn ensure_indexes(db: &Database) -> Result<(), RepoError> {
    let indexes = vec![
        // Also serves every read of a chatroom's messages by seq (the tenant is then a residual
        // filter on a handful of rows).
        unique_index(doc! { "chatroomId": 1, "seq": 1 }, "chatroom_seq_unique"),
        unique_index(doc! { "chatroomId": 1, "clientMsgId": 1 }, "chatroom_client_msg_id_unique"),
    ];
    create_indexes(db, "messages", indexes).await
}

/// A sequence number as stored: BSON has no unsigned integers. Seqs count messages, so they never
/// come near `i64::MAX`; a larger bound (from a client) means "all of them".
fn seq(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Messages, in `messages`; unique (chatroomId, seq) and (chatroomId, clientMsgId). Stored once,
/// then only `read` changes (and only from false to true, so FerretDB's whole-document writes
/// lose nothing).
pub(in crate::repos) struct MongoMessages {
    collection: Collection<Message>,
}

impl MongoMessages {
    pub(in crate::repos) fn new(db: &Database) -> Self {
        Self { collection: db.collection("messages") }
    }

    /// Which unique key refused `message`. The server's words name the index on MongoDB but not
    /// on FerretDB, so ask: a retry of a stored message first (by its derived id, then by
    /// clientMsgId for a message stored before ids were derived), then a taken seq.
    async fn which_duplicate(
        &self,
        message: &Message,
        detail: &(dyn std::fmt::Display + Sync),
    ) -> Result<Inserted, RepoError> {
        let (tenant, chatroom) = (&message.tenant_id, &message.chatroom_id);
        if let Some(first) = self.find_by_client_id(tenant, chatroom, &message.client_msg_id).await? {
            return Ok(Inserted::Duplicate(first));
        }
        let filter = doc! {
            "tenantId": tenant.to_string(),
            "chatroomId": chatroom.to_string(),
            "clientMsgId": message.client_msg_id.as_str(),
        };
        if let Some(first) = self.collection.find_one(filter).await.map_err(classify)? {
            return Ok(Inserted::Duplicate(first));
        }
        let filter = doc! { "chatroomId": chatroom.to_string(), "seq": seq(message.seq) };
        if self.collection.count_documents(filter).await.map_err(classify)? > 0 {
            return Err(message_seq_taken());
        }
        tracing::debug!(error = %detail, "a message insert hit a unique key other than seq or clientMsgId");
        Err(message_exists())
    }
}

#[async_trait]
impl MessageRepo for MongoMessages {
    async fn insert(&self, message: &Message) -> Result<Inserted, RepoError> {
        match self.collection.insert_one(message).await {
            Ok(_) => Ok(Inserted::New),
            Err(err) if is_duplicate_key(&err) => self.which_duplicate(message, &err).await,
            Err(err) => Err(classify(err)),
        }
    }

    async fn insert_many(&self, messages: &[Message]) -> Vec<Result<Inserted, RepoError>> {
        if messages.is_empty() {
            return Vec::new(); // the server refuses an empty insert
        }
        let err = match self.collection.insert_many(messages).ordered(false).await {
            Ok(_) => return messages.iter().map(|_| Ok(Inserted::New)).collect(),
            Err(err) => err,
        };
        let refused = match err.kind.as_ref() {
            ErrorKind::InsertMany(failure) if failure.write_concern_error.is_none() => failure.write_errors.as_ref(),
            _ => None,
        };
        let mut answers = Vec::with_capacity(messages.len());
        match refused {
            // The server named the documents it refused; the others are stored.
            Some(refused) => {
                for (i, message) in messages.iter().enumerate() {
                    let answer = match refused.iter().find(|e| e.index == i) {
                        None => Ok(Inserted::New),
                        Some(e) if e.code == DUPLICATE_KEY => self.which_duplicate(message, &e.message).await,
                        Some(e) => Err(RepoError::Internal(anyhow::anyhow!("message not stored: {}", e.message))),
                    };
                    answers.push(answer);
                }
            }
            // A duplicate key without saying which document: each goes again alone, and one the
            // batch did store is found as itself (its id and seq are this message's).
            None if is_duplicate_key(&err) => {
                for message in messages {
                    answers.push(match self.insert(message).await {
                        Ok(Inserted::Duplicate(stored)) if stored.seq == message.seq => Ok(Inserted::New),
                        answer => answer,
                    });
                }
            }
            None => answers.extend(messages.iter().map(|_| Err(classify(err.clone())))),
        }
        answers
    }

    async fn find_by_client_id(
        &self,
        tenant: &TenantId,
        chatroom: &ChatroomId,
        id: &ClientMsgId,
    ) -> Result<Option<Message>, RepoError> {
        let id = MessageId::of(chatroom, id);
        let filter = doc! { "_id": id.to_string(), "tenantId": tenant.to_string(), "chatroomId": chatroom.to_string() };
        self.collection.find_one(filter).await.map_err(classify)
    }

    async fn list_after(
        &self,
        tenant: &TenantId,
        chatroom: &ChatroomId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Message>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let filter = doc! {
            "tenantId": tenant.to_string(),
            "chatroomId": chatroom.to_string(),
            "seq": { "$gt": seq(after_seq) },
        };
        let cursor = self
            .collection
            .find(filter)
            .sort(doc! { "seq": 1 })
            .limit(mongo_util::limit(limit))
            .await
            .map_err(classify)?;
        cursor.try_collect().await.map_err(classify)
    }

    async fn highest_seq(&self, tenant: &TenantId, chatroom: &ChatroomId) -> Result<u64, RepoError> {
        let filter = doc! { "tenantId": tenant.to_string(), "chatroomId": chatroom.to_string() };
        let last = self.collection.find_one(filter).sort(doc! { "seq": -1 }).await.map_err(classify)?;
        Ok(last.map_or(0, |m| m.seq))
    }

    async fn mark_read(
        &self,
        tenant: &TenantId,
        chatroom: &ChatroomId,
        reader: SenderKind,
        up_to: u64,
    ) -> Result<u64, RepoError> {
        let filter = doc! {
            "tenantId": tenant.to_string(),
            "chatroomId": chatroom.to_string(),
            "seq": { "$lte": seq(up_to) },
            "sender.kind": { "$ne": reader.as_str() },
            "read": false,
        };
        let result = self.collection.update_many(filter, doc! { "$set": { "read": true } }).await.map_err(classify)?;
        Ok(result.modified_count)
    }
}
