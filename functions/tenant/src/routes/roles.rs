//! Roles: named sets of permissions (`roles:manage`).

use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    routing::get,
};
use serde::Deserialize;
use shared::{
    ApiError, Json,
    auth::Agent,
    domain::{Name, Permission, Role, RoleId},
    events::{Event, RoleChanged, RoleDeleted},
    repos::RolePatch,
};
use utoipa::ToSchema;

use super::parse_id;
use crate::{AppState, views::RoleView};

pub fn routes() -> Router<AppState> {
    Router::new().route("/roles", get(list).post(create)).route("/roles/{id}", get(read).patch(update).delete(remove))
}

fn role_not_found() -> ApiError {
    ApiError::not_found("role_not_found", "no such role")
}

fn protected() -> ApiError {
    ApiError::conflict(
        "role_protected",
        "the admin role always holds every permission; it cannot be changed or deleted",
    )
}

/// 403 unless the agent holds every one of `permissions`: nobody hands out more than they have.
pub fn check_can_hand_out(agent: &Agent, permissions: &[Permission]) -> Result<(), ApiError> {
    match permissions.iter().find(|p| !agent.holds(**p)) {
        Some(p) => {
            Err(ApiError::forbidden("permission_denied", format!("you cannot hand out {p}, which you do not hold")))
        }
        None => Ok(()),
    }
}

async fn load(state: &AppState, agent: &Agent, id: &str) -> Result<Role, ApiError> {
    let id: RoleId = parse_id(id, role_not_found)?;
    state.repos.roles.get(&agent.tenant_id, &id).await?.ok_or_else(role_not_found)
}

/// The tenant's roles, oldest first: for those who manage roles, and for those who manage users
/// (who give people roles, so must see their names).
#[utoipa::path(get, path = "/roles", operation_id = "list_roles", tag = "roles", security(("bearer" = [])),
    responses((status = 200, body = Vec<RoleView>), (status = 403, description = "permission_denied: neither roles:manage nor users:manage")))]
pub async fn list(State(state): State<AppState>, agent: Agent) -> Result<Json<Vec<RoleView>>, ApiError> {
    if !agent.holds(Permission::UsersManage) {
        agent.require(Permission::RolesManage)?;
    }
    let roles = state.repos.roles.list(&agent.tenant_id).await?;
    Ok(Json(roles.iter().map(RoleView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRole {
    #[schema(value_type = String, max_length = 100)]
    name: Name,
    #[schema(value_type = Vec<String>, example = json!(["chatrooms:join"]))]
    permissions: Vec<Permission>,
}

#[utoipa::path(post, path = "/roles", operation_id = "create_role", tag = "roles", security(("bearer" = [])), request_body = NewRole,
    responses((status = 201, body = RoleView), (status = 409, description = "role_name_taken")))]
pub async fn create(
    State(state): State<AppState>,
    agent: Agent,
    Json(body): Json<NewRole>,
) -> Result<(StatusCode, Json<RoleView>), ApiError> {
    agent.require(Permission::RolesManage)?;
    check_can_hand_out(&agent, &body.permissions)?;
    let role = Role::new(agent.tenant_id, body.name, dedup(body.permissions));
    state.repos.roles.insert(&role).await?;
    state.publish(agent.tenant_id, Event::RoleCreated(event_data(&role))).await;
    Ok((StatusCode::CREATED, Json(RoleView::from(&role))))
}

fn dedup(mut permissions: Vec<Permission>) -> Vec<Permission> {
    permissions.sort_unstable();
    permissions.dedup();
    permissions
}

fn event_data(role: &Role) -> RoleChanged {
    RoleChanged { role_id: role.id, name: role.name.clone(), permissions: role.permissions.clone() }
}

#[utoipa::path(get, path = "/roles/{id}", operation_id = "read_role", tag = "roles", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = RoleView), (status = 404, description = "role_not_found")))]
pub async fn read(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<Json<RoleView>, ApiError> {
    agent.require(Permission::RolesManage)?;
    Ok(Json(RoleView::from(&load(&state, &agent, &id).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleUpdate {
    #[schema(value_type = Option<String>, max_length = 100)]
    name: Option<Name>,
    #[schema(value_type = Option<Vec<String>>)]
    permissions: Option<Vec<Permission>>,
}

#[utoipa::path(patch, path = "/roles/{id}", operation_id = "update_role", tag = "roles", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = RoleUpdate,
    responses((status = 200, body = RoleView), (status = 404, description = "role_not_found"),
        (status = 409, description = "role_name_taken, role_protected")))]
pub async fn update(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
    Json(body): Json<RoleUpdate>,
) -> Result<Json<RoleView>, ApiError> {
    agent.require(Permission::RolesManage)?;
    let role = load(&state, &agent, &id).await?;
    if role.is_admin() {
        return Err(protected());
    }
    if let Some(permissions) = &body.permissions {
        check_can_hand_out(&agent, permissions)?;
    }
    let patch = RolePatch { name: body.name, permissions: body.permissions.map(dedup) };
    let role = state.repos.roles.update(&agent.tenant_id, &role.id, &patch).await?;
    state.publish(agent.tenant_id, Event::RoleUpdated(event_data(&role))).await;
    Ok(Json(RoleView::from(&role)))
}

#[utoipa::path(delete, path = "/roles/{id}", operation_id = "remove_role", tag = "roles", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, description = "role_not_found"), (status = 409, description = "role_protected, role_in_use")))]
pub async fn remove(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    agent.require(Permission::RolesManage)?;
    let role = load(&state, &agent, &id).await?;
    if role.is_admin() {
        return Err(protected());
    }
    let holders = state.repos.users.count_with_role(&agent.tenant_id, &role.id).await?;
    if holders > 0 {
        return Err(ApiError::conflict(
            "role_in_use",
            format!("{holders} user(s) hold this role; take it from them first"),
        ));
    }
    state.repos.roles.delete(&agent.tenant_id, &role.id).await?;
    let event = RoleDeleted { role_id: role.id, name: role.name.clone() };
    state.publish(agent.tenant_id, Event::RoleDeleted(event)).await;
    Ok(StatusCode::NO_CONTENT)
}
