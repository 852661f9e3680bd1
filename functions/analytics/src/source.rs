//! What analytics reads from the chat data: the tenants' ids, open chatrooms, chatrooms created
//! in a window, a chatbot's last activity and messages sent in a window. Only analytics asks
//! these questions, so they live here rather than in `shared::repos`, read straight from the
//! collections the repositories write (`tenants`, `chatrooms`, `messages`), with the indexes
//! only they need ([`Source::ensure_indexes`], run by [`crate::AppState::new`]).
//!
//! MongoDB only: analytics runs on the real services (`scripts/dev --memory`
//! answers 503 `analytics_unavailable`), so there is no in-memory version. Its contract tests
//! are `functions/analytics/tests/analytics/source.rs`, on FerretDB in `scripts/test`.

use futures::TryStreamExt as _;
use mongodb::{
    Collection, Database,
    bson::{Document, doc},
};
use serde::{Deserialize, Serialize};
use shared::{
    domain::{ChatbotId, Chatroom, ChatroomId, ChatroomStatus, Sender, Tenant, TenantId, Timestamp},
    mongo::{classify, create_indexes, index},
    repos::RepoError,
};

/// A message without its text: which chatroom, who, when. What reports count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentMessage {
    pub chatroom_id: ChatroomId,
    pub sender: Sender,
    pub sent_at: Timestamp,
}

/// Analytics' queries over the chat data, on one database. Cheap to clone.
#[derive(Clone)]
pub struct Source {
    tenants: Collection<Tenant>,
    chatrooms: Collection<Chatroom>,
    messages: Collection<SentMessage>,
}

impl Source {
    pub fn new(db: &Database) -> Self {
        Self {
            tenants: db.collection("tenants"),
            chatrooms: db.collection("chatrooms"),
            messages: db.collection("messages"),
        }
    }

    /// Creates the indexes these queries need, beside those `shared::mongo::ensure_indexes`
    /// creates. Idempotent.
    pub async fn ensure_indexes(&self, db: &Database) -> Result<(), RepoError> {
        let chatrooms = vec![
            // Reports: a tenant's chatrooms by creation time.
            index(doc! { "tenantId": 1, "createdAt": 1 }, "tenant_created"),
            // A chatbot's last activity.
            index(doc! { "tenantId": 1, "chatbotId": 1, "lastActivityAt": -1 }, "tenant_chatbot_activity"),
        ];
        create_indexes(db, "chatrooms", chatrooms).await?;
        // Reports: a tenant's messages by time.
        create_indexes(db, "messages", vec![index(doc! { "tenantId": 1, "sentAt": 1 }, "tenant_sent")]).await
    }

    /// Tenant ids in id order, those after `after` (all when `None`), at most `limit`: how the
    /// report job pages through every tenant.
    pub async fn list_tenant_ids(&self, after: Option<&TenantId>, limit: u32) -> Result<Vec<TenantId>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let filter = after.map_or_else(Document::new, |after| doc! { "_id": { "$gt": after.to_string() } });
        let find = self.tenants.find(filter).sort(doc! { "_id": 1 }).limit(i64::from(limit));
        let tenants: Vec<Tenant> = find.await.map_err(classify)?.try_collect().await.map_err(classify)?;
        Ok(tenants.into_iter().map(|tenant| tenant.id).collect())
    }

    /// The tenant's open chatrooms (waiting, active, standby), oldest first, at most `limit`.
    pub async fn list_open_chatrooms(&self, tenant: &TenantId, limit: u32) -> Result<Vec<Chatroom>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let open: Vec<&str> = ChatroomStatus::OPEN.iter().map(ChatroomStatus::as_str).collect();
        let filter = doc! { "tenantId": tenant.to_string(), "status": { "$in": open } };
        self.list_chatrooms(filter, doc! { "createdAt": 1, "_id": 1 }, limit).await
    }

    /// The tenant's chatrooms created at or after `from` and before `to`, oldest first, at most
    /// `limit` (index `tenantId, createdAt`): what reports are made of.
    pub async fn list_chatrooms_created_between(
        &self,
        tenant: &TenantId,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<Chatroom>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let filter = doc! { "tenantId": tenant.to_string(), "createdAt": { "$gte": from, "$lt": to } };
        self.list_chatrooms(filter, doc! { "createdAt": 1, "_id": 1 }, limit).await
    }

    /// When anything last happened in a chatroom of the chatbot (`lastActivityAt`, which
    /// creation, every status change and every message set), if it ever had one.
    pub async fn last_activity(&self, tenant: &TenantId, chatbot: &ChatbotId) -> Result<Option<Timestamp>, RepoError> {
        let filter = doc! { "tenantId": tenant.to_string(), "chatbotId": chatbot.to_string() };
        let latest = self.list_chatrooms(filter, doc! { "lastActivityAt": -1 }, 1).await?;
        Ok(latest.first().map(|room| room.last_activity_at))
    }

    /// The tenant's messages sent at or after `from` and before `to`, without their text, in the
    /// order they were sent (index `tenantId, sentAt`): what reports count. The caller bounds
    /// the window.
    pub async fn list_messages_sent_between(
        &self,
        tenant: &TenantId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SentMessage>, RepoError> {
        let filter = doc! { "tenantId": tenant.to_string(), "sentAt": { "$gte": from, "$lt": to } };
        let find = self
            .messages
            .find(filter)
            .projection(doc! { "_id": 0, "chatroomId": 1, "sender": 1, "sentAt": 1 })
            .sort(doc! { "sentAt": 1, "_id": 1 });
        find.await.map_err(classify)?.try_collect().await.map_err(classify)
    }

    /// `limit` is at least 1 (zero would mean "no limit" to MongoDB).
    async fn list_chatrooms(&self, filter: Document, sort: Document, limit: u32) -> Result<Vec<Chatroom>, RepoError> {
        let find = self.chatrooms.find(filter).sort(sort).limit(i64::from(limit));
        find.await.map_err(classify)?.try_collect().await.map_err(classify)
    }
}
