//! One function per client frame (mini-redis's `cmd/`): each module runs one frame kind for an
//! authenticated [session](crate::session), doing the chat work through
//! [`chat`](crate::chat). A refusal comes back as a [`ChatError`]; the session turns it into
//! the `error` frame, with the frame's chatroom and `clientMsgId`.

pub mod auth;
mod close;
mod join;
mod leave;
mod mark;
mod ping;
mod read;
mod resume;
mod send;
mod transcript;
mod typing;

use crate::{
    chat::{Actor, AgentActor, ChatError},
    protocol::{ClientFrame, Code},
    session::Session,
};

/// Runs one frame of an authenticated connection.
pub async fn run(session: &mut Session, frame: ClientFrame, actor: &Actor) -> Result<(), ChatError> {
    match frame {
        // The session verifies tokens before it knows an actor, and again when one is sent later.
        ClientFrame::Auth { token, v } => auth::run(session, &token, v).await,
        ClientFrame::Ping { nonce } => ping::run(session, nonce).await,
        ClientFrame::Send { chatroom_id, client_msg_id, message } => {
            send::run(session, actor, chatroom_id, client_msg_id, message).await
        }
        ClientFrame::Typing { chatroom_id, typing } => typing::run(session, actor, chatroom_id, typing).await,
        ClientFrame::Read { chatroom_id, up_to_seq } => read::run(session, actor, chatroom_id, up_to_seq).await,
        ClientFrame::Resume { chatroom_id, after_seq } => resume::run(session, actor, chatroom_id, after_seq).await,
        ClientFrame::Join { chatroom_id } => join::run(session, agent(actor)?, chatroom_id).await,
        ClientFrame::Leave { chatroom_id } => leave::run(session, agent(actor)?, chatroom_id).await,
        ClientFrame::Close { chatroom_id } => close::run(session, actor, chatroom_id).await,
        ClientFrame::Transcript { chatroom_id } => transcript::run(session, actor, chatroom_id).await,
        ClientFrame::Mark { chatroom_id, mark } => {
            agent(actor)?;
            mark::run(session, actor, chatroom_id, mark).await
        }
    }
}

/// The agent acting, or `agent_only` for a visitor.
fn agent(actor: &Actor) -> Result<&AgentActor, ChatError> {
    match actor {
        Actor::Agent(agent) => Ok(agent),
        Actor::Visitor { .. } => Err(ChatError::new(Code::AgentOnly, "only an agent can do this")),
    }
}

/// The refusal for a chatroom this connection does not follow.
fn not_following(actor: &Actor) -> ChatError {
    match actor {
        Actor::Visitor { .. } => ChatError::new(Code::NotInChatroom, "this token opens another chatroom"),
        Actor::Agent(_) => ChatError::new(Code::NotInChatroom, "join the chatroom first"),
    }
}
