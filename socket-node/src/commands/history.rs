//! `history {chatroomId, beforeSeq?}`: a page of the chatroom's past, answered by one `history`
//! frame. A visitor reads their own chatroom; an agent one they hold, or with
//! `chatrooms:moderate` any of the tenant's. A `beforeSeq` more than one past the last message is
//! `seq_out_of_range`.

use shared::domain::ChatroomId;

use crate::{
    chat::{self, Actor, ChatError},
    protocol::{HISTORY_PAGE, MessageView, ServerFrame},
    session::Session,
};

pub async fn run(
    session: &mut Session,
    actor: &Actor,
    chatroom_id: ChatroomId,
    before_seq: Option<u64>,
) -> Result<(), ChatError> {
    let room = chat::load_for(&session.state.chat, actor, chatroom_id, true).await?;
    let last_seq = match before_seq {
        // `beforeSeq` may be one past the last message (the page ending with it), no further.
        Some(before) => chat::check_position(&session.state.chat, &room, before.saturating_sub(1), "beforeSeq").await?,
        None => chat::last_seq(&session.state.chat, &room).await,
    };
    let (from_seq, before) = page(before_seq, last_seq);
    let messages = if before > from_seq {
        let limit = u32::try_from(before - from_seq).unwrap_or(u32::MAX);
        session.state.chat.repos.messages.list_after(&room.tenant_id, &room.id, from_seq - 1, limit).await?
    } else {
        Vec::new()
    };
    let messages = messages.iter().map(MessageView::from).collect();
    session.emit(&ServerFrame::History { chatroom_id, from_seq, messages }).await;
    Ok(())
}

/// The seqs a page holds, `from..before`: at most [`HISTORY_PAGE`] below `before_seq` (or
/// below the next seq), never below 1.
fn page(before_seq: Option<u64>, last_seq: u64) -> (u64, u64) {
    let before = before_seq.unwrap_or(u64::MAX).min(last_seq + 1).max(1);
    (before.saturating_sub(HISTORY_PAGE).max(1), before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_the_fifty_seqs_below_the_one_asked_and_stops_at_the_first() {
        assert_eq!(page(None, 120), (71, 121), "the latest fifty");
        assert_eq!(page(Some(71), 120), (21, 71));
        assert_eq!(page(Some(21), 120), (1, 21), "the first page is short");
        assert_eq!(page(Some(1), 120), (1, 1), "nothing before the first");
        assert_eq!(page(Some(500), 120), (71, 121), "nothing past the last");
        assert_eq!(page(None, 0), (1, 1), "no message yet");
    }
}
