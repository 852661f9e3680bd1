//! `transfer {chatroomId, toAgentId?}`: an agent hands a chatroom they hold to another agent, or
//! back to the queue. The other agent's consoles follow it (an `Assigned` notice); this agent's
//! stop (the chatroom's `status` notice names someone else).

use shared::domain::{ChatroomId, UserId};

use crate::{
    chat::{self, AgentActor, ChatError},
    session::Session,
};

pub async fn run(
    session: &mut Session,
    agent: &AgentActor,
    chatroom_id: ChatroomId,
    to: Option<UserId>,
) -> Result<(), ChatError> {
    chat::transfer(&session.state.chat, agent, chatroom_id, to).await.map(drop)
}
