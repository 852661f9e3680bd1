//! `close {chatroomId}`: the visitor or the agent ends the conversation.

use shared::domain::{ChatroomId, CloseReason};

use crate::{
    chat::{self, Actor, ChatError},
    session::Session,
};

pub async fn run(session: &mut Session, actor: &Actor, chatroom_id: ChatroomId) -> Result<(), ChatError> {
    let reason = match actor {
        Actor::Agent(_) => CloseReason::ClosedByAgent,
        Actor::Visitor { .. } => CloseReason::ClosedByVisitor,
    };
    chat::end(&session.state.chat, actor, chatroom_id, reason).await.map(drop)
}
