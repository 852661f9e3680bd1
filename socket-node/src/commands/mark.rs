//! `mark {chatroomId, as: stale|blocked}`: an agent ends the chatroom as stale, or blocks the
//! visitor (their email and address can open no new chatroom with this chatbot).

use shared::domain::{ChatroomId, CloseReason};

use crate::{
    chat::{self, Actor, ChatError},
    protocol::Mark,
    session::Session,
};

pub async fn run(session: &mut Session, actor: &Actor, chatroom_id: ChatroomId, mark: Mark) -> Result<(), ChatError> {
    let reason = match mark {
        Mark::Stale => CloseReason::MarkedStale,
        Mark::Blocked => CloseReason::Blocked,
    };
    chat::end(&session.state.chat, actor, chatroom_id, reason).await.map(drop)
}
