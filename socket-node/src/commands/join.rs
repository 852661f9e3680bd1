//! `join {chatroomId}`: an agent claims a waiting chatroom (the first wins; the others get
//! `chatroom_already_claimed`) and follows it.

use shared::domain::ChatroomId;

use crate::{
    chat::{self, AgentActor, ChatError},
    session::Session,
};

pub async fn run(session: &mut Session, agent: &AgentActor, chatroom_id: ChatroomId) -> Result<(), ChatError> {
    chat::join(&session.state.chat, agent, chatroom_id).await?;
    session.follow_assigned(chatroom_id).await
}
