//! The analytics function's routes, one module per resource.

pub mod chatbots;
pub mod live;
pub mod reports;
pub mod status;

use axum::{
    Router,
    extract::Request,
    middleware::{self, Next},
    response::Response,
};
use shared::{ApiError, auth::Agent, domain::Permission};

use crate::AppState;

/// `/status` (open, or behind `PARLEY_STATUS_TOKEN`), `/openapi.json` (open), and the tenant's
/// views behind `analytics:view`, checked by one layer before any handler runs.
pub fn router(state: AppState) -> Router {
    let tenant_routes = Router::new()
        .merge(chatbots::routes())
        .merge(reports::routes())
        .merge(live::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), require_analytics_view));
    Router::new()
        .merge(tenant_routes)
        .merge(status::routes())
        .merge(crate::openapi::routes())
        .merge(shared::http::health_routes())
        .with_state(state)
}

/// 401 without a valid access token, 403 without `analytics:view`.
async fn require_analytics_view(agent: Agent, mut request: Request, next: Next) -> Result<Response, ApiError> {
    agent.require(Permission::AnalyticsView)?;
    request.extensions_mut().insert(agent);
    Ok(next.run(request).await)
}
