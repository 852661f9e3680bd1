//! `availability {status: online|away}`: an agent says whether they take offers.

use shared::domain::Availability;

use crate::{
    chat::{self, AgentActor, ChatError},
    session::Session,
};

pub async fn run(session: &mut Session, agent: &AgentActor, status: Availability) -> Result<(), ChatError> {
    chat::set_availability(&session.state.chat, agent, status).await
}
