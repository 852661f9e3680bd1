//! `ping {nonce}`: answered with `pong {nonce}`.

use crate::{chat::ChatError, protocol::ServerFrame, session::Session};

pub async fn run(session: &mut Session, nonce: Option<String>) -> Result<(), ChatError> {
    session.emit(&ServerFrame::Pong { nonce }).await;
    Ok(())
}
