//! `decline {chatroomId}`: an agent refuses the chatroom offered to them; it goes to the next.

use shared::domain::ChatroomId;

use crate::{
    chat::{self, AgentActor, ChatError},
    session::Session,
};

pub async fn run(session: &mut Session, agent: &AgentActor, chatroom_id: ChatroomId) -> Result<(), ChatError> {
    chat::decline(&session.state.chat, agent, chatroom_id).await.map(drop)
}
