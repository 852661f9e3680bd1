//! `leave {chatroomId}`: an agent hands the chatroom back to the queue.

use shared::domain::ChatroomId;

use crate::{
    chat::{self, AgentActor, ChatError},
    session::Session,
};

pub async fn run(session: &mut Session, agent: &AgentActor, chatroom_id: ChatroomId) -> Result<(), ChatError> {
    chat::leave(&session.state.chat, agent, chatroom_id).await.map(drop)
}
