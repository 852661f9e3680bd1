//! The signed-in user (`GET /me`) and the permission catalogue (`GET /permissions`).

use axum::{Router, extract::State, routing::get};
use serde::Serialize;
use shared::{ApiError, Json, auth::Agent, domain::Permission};
use utoipa::ToSchema;

use crate::{
    AppState, sessions,
    views::{TenantView, UserView},
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/me", get(me)).route("/permissions", get(permissions))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    user: UserView,
    tenant: TenantView,
    /// Effective permissions as stored now (the access token's may be up to its lifetime older).
    permissions: Vec<String>,
}

/// Who is signed in, their tenant and their permissions.
#[utoipa::path(get, path = "/me", tag = "users", security(("bearer" = [])), responses((status = 200, body = Me)))]
pub async fn me(State(state): State<AppState>, agent: Agent) -> Result<Json<Me>, ApiError> {
    let gone = || ApiError::unauthorized("invalid_token", "this user no longer exists");
    let user = state.repos.users.get(&agent.tenant_id, &agent.user_id).await?.ok_or_else(gone)?;
    let tenant = state.repos.tenants.get(&agent.tenant_id).await?.ok_or_else(gone)?;
    let permissions = sessions::permissions_of(&state, &user).await?;
    Ok(Json(Me {
        user: UserView::new(&user, &permissions),
        tenant: TenantView::from(&tenant),
        permissions: permissions.iter().map(|p| p.as_str().to_owned()).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionView {
    name: &'static str,
    description: &'static str,
}

/// The permission catalogue.
#[utoipa::path(get, path = "/permissions", tag = "roles", security(("bearer" = [])),
    responses((status = 200, body = Vec<PermissionView>)))]
pub async fn permissions(_agent: Agent) -> Json<Vec<PermissionView>> {
    Json(Permission::ALL.iter().map(|p| PermissionView { name: p.as_str(), description: p.description() }).collect())
}
