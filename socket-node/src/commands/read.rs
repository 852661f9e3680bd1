//! `read {chatroomId, upToSeq}`: the actor has read the other side's messages up to that seq.

use shared::domain::ChatroomId;

use crate::{
    chat::{self, Actor, ChatError},
    session::Session,
};

pub async fn run(
    session: &mut Session,
    actor: &Actor,
    chatroom_id: ChatroomId,
    up_to_seq: u64,
) -> Result<(), ChatError> {
    let origin = session.state.chat.notices.origin(session.id);
    chat::read(&session.state.chat, actor, origin, chatroom_id, up_to_seq).await
}
