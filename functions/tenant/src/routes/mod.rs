//! The tenant function's routes, one module per resource.

pub mod auth;
pub mod me;
pub mod roles;
pub mod tenants;
pub mod users;

use axum::{Router, routing::get};
use utoipa::OpenApi as _;

use crate::{AppState, openapi::ApiDoc};

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(tenants::routes())
        .merge(auth::routes())
        .merge(me::routes())
        .merge(users::routes())
        .merge(roles::routes())
        .merge(shared::http::health_routes())
        .route("/openapi.json", get(|| async { shared::Json(ApiDoc::openapi()) }))
        .with_state(state)
}

/// Parses an id from the path; a malformed one names nothing, so it answers the same 404 as an
/// unknown one.
pub fn parse_id<T: std::str::FromStr>(raw: &str, not_found: fn() -> shared::ApiError) -> Result<T, shared::ApiError> {
    raw.parse().map_err(|_| not_found())
}
