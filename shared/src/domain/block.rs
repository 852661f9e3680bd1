//! A block: an agent stopped a visitor from chatting through one chatbot again. A block matches
//! the visitor's email address or their IP address, so a new address alone does not get round it.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::{BlockId, ChatbotId, ChatroomId, EmailAddress, InvalidValue, TenantId, Timestamp, UserId};

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

/// Where a page of blocks (newest first) goes on: just after the block it names, the last of the
/// page before. Written `<creation time in Unix milliseconds>_<block id>`, so a page can be asked
/// for after its last block was lifted. Opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockCursor {
    pub created_at: Timestamp,
    pub id: BlockId,
}

impl BlockCursor {
    /// The cursor of the page after the one `block` ends.
    pub fn after(block: &Block) -> Self {
        Self { created_at: block.created_at, id: block.id }
    }

    /// Whether `block` comes after the cursor, newest first: created earlier, or at the same
    /// millisecond with a smaller id (the in-memory twin of the MongoDB filter).
    pub fn precedes(&self, block: &Block) -> bool {
        (block.created_at, block.id) < (self.created_at, self.id)
    }
}

impl fmt::Display for BlockCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.created_at.unix_millis(), self.id)
    }
}

impl FromStr for BlockCursor {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidValue("not a cursor this API gave".into());
        let (millis, id) = s.split_once('_').ok_or_else(invalid)?;
        let millis: i64 = millis.parse().map_err(|_| invalid())?;
        Ok(Self { created_at: Timestamp::from_unix_millis(millis), id: id.parse().map_err(|_| invalid())? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_what_it_writes_and_refuses_anything_else() {
        let cursor = BlockCursor { created_at: Timestamp::from_unix_millis(1_795_600_800_120), id: BlockId::new() };
        assert_eq!(cursor.to_string().parse::<BlockCursor>(), Ok(cursor));
        for bad in ["", "123", "x_y", "123_not-a-uuid", &format!("_{}", cursor.id), "1.5_0"] {
            assert!(bad.parse::<BlockCursor>().is_err(), "{bad:?}");
        }
    }
}
