//! `watch {chatroomId}` and `unwatch {chatroomId}`: a moderator follows another agent's open
//! chatroom read-only (its state, latest messages, then everything live) without holding it.
//! Following ends with `unwatch`, or when the chatroom ends.

use shared::domain::{ChatroomId, Permission};

use crate::{
    chat::{AgentActor, ChatError},
    protocol::Code,
    session::Session,
};

pub async fn watch(session: &mut Session, agent: &AgentActor, chatroom_id: ChatroomId) -> Result<(), ChatError> {
    if !agent.permissions.contains(&Permission::ChatroomsModerate) {
        return Err(ChatError::new(Code::PermissionDenied, "watching needs the chatrooms:moderate permission"));
    }
    if session.following.contains_key(&chatroom_id) {
        return Ok(());
    }
    session.follow(chatroom_id, 0).await;
    match session.state.chat.repos.chatrooms.get(&agent.tenant, &chatroom_id).await {
        Ok(Some(room)) if room.status.is_open() => {
            session.watching.insert(chatroom_id);
            session.show_latest(&room).await
        }
        Ok(Some(room)) => {
            session.unfollow(chatroom_id);
            Err(ChatError::new(Code::ChatroomClosed, format!("the chatroom is {}", room.status)))
        }
        Ok(None) => {
            session.unfollow(chatroom_id);
            Err(ChatError::new(Code::ChatroomNotFound, "no such chatroom"))
        }
        Err(err) => {
            session.unfollow(chatroom_id);
            Err(err.into())
        }
    }
}

pub async fn unwatch(session: &mut Session, chatroom_id: ChatroomId) -> Result<(), ChatError> {
    if session.watching.contains(&chatroom_id) {
        session.unfollow(chatroom_id);
    }
    Ok(())
}
