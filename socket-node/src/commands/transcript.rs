//! `transcript {chatroomId}`: the visitor wants the conversation by email when it ends.

use shared::domain::ChatroomId;

use crate::{
    chat::{self, Actor, ChatError},
    protocol::Code,
    session::Session,
};

pub async fn run(session: &mut Session, actor: &Actor, chatroom_id: ChatroomId) -> Result<(), ChatError> {
    if let Actor::Agent(_) = actor {
        return Err(ChatError::new(Code::VisitorOnly, "only the visitor asks for their transcript"));
    }
    chat::request_transcript(&session.state.chat, actor, chatroom_id).await.map(drop)
}
