//! A block: an agent stopped a visitor from chatting through one chatbot again. A block matches
//! the visitor's email address or their IP address, so a new address alone does not get round it.

use serde::{Deserialize, Serialize};

use super::{BlockId, ChatbotId, ChatroomId, EmailAddress, TenantId, Timestamp, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Block {
    #[serde(rename = "_id")]
    pub id: BlockId,
    pub tenant_id: TenantId,
    pub chatbot_id: ChatbotId,
    /// The chatroom the visitor was blocked from.
    pub chatroom_id: ChatroomId,
    pub email: EmailAddress,
    /// The visitor's IP address as the chatroom recorded it; empty when unknown (then only the
    /// email address blocks).
    pub ip: String,
    /// The agent who blocked.
    pub blocked_by: UserId,
    pub created_at: Timestamp,
}

impl Block {
    /// A new block with a fresh id.
    pub fn new(
        tenant_id: TenantId,
        chatbot_id: ChatbotId,
        chatroom_id: ChatroomId,
        email: EmailAddress,
        ip: String,
        blocked_by: UserId,
        now: Timestamp,
    ) -> Self {
        Self { id: BlockId::new(), tenant_id, chatbot_id, chatroom_id, email, ip, blocked_by, created_at: now }
    }
}
