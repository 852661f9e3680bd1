//! `resume {chatroomId, afterSeq}`: everything stored after `afterSeq`, in order, then
//! `resumed {lastSeq}`; live messages follow. An `afterSeq` beyond the chatroom's last message is
//! `seq_out_of_range`, and the connection's bookkeeping stays as it was.

use shared::domain::ChatroomId;

use crate::{
    chat::{self, Actor, ChatError},
    protocol::ServerFrame,
    session::{Delivered, Session},
};

pub async fn run(
    session: &mut Session,
    actor: &Actor,
    chatroom_id: ChatroomId,
    after_seq: u64,
) -> Result<(), ChatError> {
    if !session.following.contains_key(&chatroom_id) {
        return Err(super::not_following(actor));
    }
    let room = chat::load_for(&session.state.chat, actor, chatroom_id, true).await?;
    chat::check_position(&session.state.chat, &room, after_seq, "afterSeq").await?;
    session.following.insert(chatroom_id, Delivered::from(after_seq));
    session.replay(actor.tenant(), chatroom_id).await?;
    let last_seq = session.following.get(&chatroom_id).map_or(after_seq, Delivered::highest);
    session.emit(&ServerFrame::Resumed { chatroom_id, last_seq }).await;
    Ok(())
}
