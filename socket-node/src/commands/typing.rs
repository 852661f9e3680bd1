//! `typing {chatroomId, typing}`: shown to the other side; nothing is stored or read (the hot
//! path stays off the store): a connection follows exactly the open chatrooms it may act in,
//! besides those a moderator only watches.

use shared::domain::ChatroomId;

use crate::{
    chat::{self, Actor, ChatError},
    session::Session,
};

pub async fn run(session: &mut Session, actor: &Actor, chatroom_id: ChatroomId, typing: bool) -> Result<(), ChatError> {
    if !session.following.contains_key(&chatroom_id) || session.watching.contains(&chatroom_id) {
        return Err(super::not_following(actor));
    }
    let origin = session.state.chat.notices.origin(session.id);
    chat::typing(&session.state.chat, actor, origin, chatroom_id, typing).await;
    Ok(())
}
