//! The chatbot-provisioning function's routes, one module per resource.

pub mod blocks;
pub mod chatbots;
pub mod credentials;
pub mod snippet;

use axum::{
    Router,
    extract::Request,
    middleware::{self, Next},
    response::Response,
    routing::get,
};
use shared::{
    ApiError,
    auth::Agent,
    domain::{Chatbot, Permission},
};
use utoipa::OpenApi as _;

use crate::{AppState, openapi::ApiDoc};

/// Every chatbot route needs `chatbots:manage`, every block route `chatrooms:moderate`: one layer
/// per group checks it, before a handler reads the body, so a caller without it learns nothing
/// about what a valid body would be.
pub fn router(state: AppState) -> Router {
    let chatbot_routes = Router::new()
        .merge(chatbots::routes())
        .merge(credentials::routes())
        .merge(snippet::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), require_chatbots_manage));
    let block_routes = blocks::routes().route_layer(middleware::from_fn_with_state(state.clone(), require_moderate));
    Router::new()
        .merge(chatbot_routes)
        .merge(block_routes)
        .merge(shared::http::health_routes())
        .route("/openapi.json", get(|| async { shared::Json(ApiDoc::openapi()) }))
        .with_state(state)
}

/// 401 without a valid access token, 403 without `chatbots:manage`; else the handler runs with
/// the verified agent.
async fn require_chatbots_manage(agent: Agent, mut request: Request, next: Next) -> Result<Response, ApiError> {
    agent.require(Permission::ChatbotsManage)?;
    request.extensions_mut().insert(agent);
    Ok(next.run(request).await)
}

/// 401 without a valid access token, 403 without `chatrooms:moderate`.
async fn require_moderate(agent: Agent, mut request: Request, next: Next) -> Result<Response, ApiError> {
    agent.require(Permission::ChatroomsModerate)?;
    request.extensions_mut().insert(agent);
    Ok(next.run(request).await)
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
