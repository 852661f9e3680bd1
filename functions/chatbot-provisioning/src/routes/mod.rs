//! The chatbot-provisioning function's routes, one module per resource.

pub mod chatbots;
pub mod credentials;
pub mod snippet;

use axum::{Router, routing::get};
use shared::{ApiError, auth::Agent, domain::Chatbot};
use utoipa::OpenApi as _;

use crate::{AppState, openapi::ApiDoc};

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(chatbots::routes())
        .merge(credentials::routes())
        .merge(snippet::routes())
        .merge(shared::http::health_routes())
        .route("/openapi.json", get(|| async { shared::Json(ApiDoc::openapi()) }))
        .with_state(state)
}

fn chatbot_not_found() -> ApiError {
    ApiError::not_found("chatbot_not_found", "no such chatbot")
}

/// The agent's tenant's chatbot with the id in the path. A malformed id names nothing, and
/// another tenant's chatbot is not this tenant's: both answer 404 like an unknown one.
pub async fn load(state: &AppState, agent: &Agent, id: &str) -> Result<Chatbot, ApiError> {
    let id = id.parse().map_err(|_| chatbot_not_found())?;
    state.repos.chatbots.get(&agent.tenant_id, &id).await?.ok_or_else(chatbot_not_found)
}
