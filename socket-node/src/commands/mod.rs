//! One function per client frame (mini-redis's `cmd/`): [`on_text`] parses a text frame and runs
//! it; each module runs one frame kind for a [session](crate::session), doing the chat work
//! through [`chat`](crate::chat). A refusal comes back as a [`ChatError`], and [`on_text`] turns
//! every one into the `error` frame, with the frame's chatroom and `clientMsgId`: one place.
//! [`on_text`] also takes each frame from its kind's [allowance](crate::allowance) first.

pub mod auth;
mod availability;
mod close;
mod decline;
mod history;
mod join;
mod leave;
mod mark;
mod ping;
mod read;
mod resume;
mod send;
mod transcript;
mod transfer;
mod typing;
mod watch;

use shared::domain::{ChatroomId, ClientMsgId};
use tokio::time::Instant;

use crate::{
    allowance::Allowances,
    chat::{Actor, AgentActor, ChatError},
    protocol::{self, ClientFrame, Code, FrameKind, ServerFrame},
    session::Session,
    writer::Ending,
};

/// A text frame from the client: parsed, run, and any refusal answered.
pub async fn on_text(session: &mut Session, text: &str) -> Option<Ending> {
    let frame = match protocol::parse(text) {
        Ok(frame) => frame,
        Err((code, message)) => {
            session.refuse_frame(ServerFrame::error(code, message)).await;
            return session.actor.is_none().then_some(Ending::Close(protocol::close::UNAUTHORIZED, "auth_required"));
        }
    };
    let kind = frame.kind();
    // The first `auth` is not counted: a connection sends it once, and a refused one ends it.
    if session.actor.is_some()
        && let Err(wait) = session.allowances.take(kind, Instant::now())
    {
        session.state.metrics.frames_rate_limited.inc();
        // A late typing indicator is worth nothing, and answering each one would be a flood too.
        if kind != FrameKind::Typing {
            let seconds = wait.as_secs_f64().ceil();
            let err = ChatError::new(
                Code::RateLimited,
                format!("too many {} frames; send again in {seconds} s", kind.name()),
            );
            refuse(session, err, frame.chatroom_id(), frame.client_msg_id().cloned()).await;
        }
        return None;
    }
    match (frame, session.actor.clone()) {
        (ClientFrame::Auth { token, v }, was) => match auth::run(session, &token, v).await {
            Ok(()) => {
                if was.is_none()
                    && let Some(Actor::Agent(_)) = &session.actor
                {
                    session.allowances = Allowances::new(&session.state.config.limits.agent_frames, Instant::now());
                }
                None
            }
            Err(err) => {
                let code = match err.code {
                    Code::PermissionDenied => protocol::close::FORBIDDEN,
                    _ => protocol::close::UNAUTHORIZED,
                };
                let reason = err.code.as_str();
                refuse(session, err, None, None).await;
                Some(Ending::Close(code, reason))
            }
        },
        (frame, None) => {
            let message = format!("send auth first, not {}", frame.name());
            session.refuse_frame(ServerFrame::error(Code::AuthRequired, message)).await;
            Some(Ending::Close(protocol::close::UNAUTHORIZED, "auth_required"))
        }
        (frame, Some(actor)) => {
            let (chatroom_id, client_msg_id) = (frame.chatroom_id(), frame.client_msg_id().cloned());
            if let Err(err) = run(session, frame, &actor).await {
                refuse(session, err, chatroom_id, client_msg_id).await;
            }
            None
        }
    }
}

async fn refuse(
    session: &Session,
    err: ChatError,
    chatroom_id: Option<ChatroomId>,
    client_msg_id: Option<ClientMsgId>,
) {
    session.refuse_frame(ServerFrame::Error { code: err.code, message: err.message, chatroom_id, client_msg_id }).await;
}

/// Runs one frame of an authenticated connection.
async fn run(session: &mut Session, frame: ClientFrame, actor: &Actor) -> Result<(), ChatError> {
    match frame {
        // `on_text` runs every `auth` itself: its refusals close the connection.
        ClientFrame::Auth { .. } => unreachable!("on_text handles auth"),
        ClientFrame::Ping { nonce } => ping::run(session, nonce).await,
        ClientFrame::Send { chatroom_id, client_msg_id, message } => {
            send::run(session, actor, chatroom_id, client_msg_id, message).await
        }
        ClientFrame::Typing { chatroom_id, typing } => typing::run(session, actor, chatroom_id, typing).await,
        ClientFrame::Read { chatroom_id, up_to_seq } => read::run(session, actor, chatroom_id, up_to_seq).await,
        ClientFrame::Resume { chatroom_id, after_seq } => resume::run(session, actor, chatroom_id, after_seq).await,
        ClientFrame::History { chatroom_id, before_seq } => history::run(session, actor, chatroom_id, before_seq).await,
        ClientFrame::Join { chatroom_id } => join::run(session, agent(actor)?, chatroom_id).await,
        ClientFrame::Watch { chatroom_id } => watch::watch(session, agent(actor)?, chatroom_id).await,
        ClientFrame::Unwatch { chatroom_id } => watch::unwatch(session, chatroom_id).await,
        ClientFrame::Leave { chatroom_id } => leave::run(session, agent(actor)?, chatroom_id).await,
        ClientFrame::Close { chatroom_id } => close::run(session, actor, chatroom_id).await,
        ClientFrame::Transcript { chatroom_id } => transcript::run(session, actor, chatroom_id).await,
        ClientFrame::Mark { chatroom_id, mark } => {
            agent(actor)?;
            mark::run(session, actor, chatroom_id, mark).await
        }
        ClientFrame::Availability { status } => availability::run(session, agent(actor)?, status).await,
        ClientFrame::Decline { chatroom_id } => decline::run(session, agent(actor)?, chatroom_id).await,
        ClientFrame::Transfer { chatroom_id, to_agent_id } => {
            transfer::run(session, agent(actor)?, chatroom_id, to_agent_id).await
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
