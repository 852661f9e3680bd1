//! Users: agents and admins of the tenant (`users:manage`).

use std::collections::BTreeSet;

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
    domain::{Assigning, EmailAddress, IpRange, Name, Permission, Role, RoleId, User, UserId, UserPatch, UserStatus},
    events::{Event, UserDeleted, UserInvited, UserUpdated},
};
use utoipa::ToSchema;

use super::{parse_id, roles::check_can_hand_out};
use crate::{
    AppState, admins,
    set_password::new_set_password_token,
    views::{AssigningView, UserView},
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/users", get(list).post(invite)).route("/users/{id}", get(read).patch(update).delete(remove))
}

fn user_not_found() -> ApiError {
    ApiError::not_found("user_not_found", "no such user")
}

/// 422 `unknown_role` unless every id is one of the tenant's roles.
fn check_roles_exist(role_ids: &[RoleId], roles: &[Role]) -> Result<(), ApiError> {
    match role_ids.iter().find(|id| !roles.iter().any(|r| r.id == **id)) {
        Some(id) => Err(ApiError::unprocessable("unknown_role", format!("the tenant has no role {id}"))),
        None => Ok(()),
    }
}

async fn load(state: &AppState, agent: &Agent, id: &str) -> Result<User, ApiError> {
    let id: UserId = parse_id(id, user_not_found)?;
    state.repos.users.get(&agent.tenant_id, &id).await?.ok_or_else(user_not_found)
}

/// The tenant's users, oldest first.
#[utoipa::path(get, path = "/users", operation_id = "list_users", tag = "users", security(("bearer" = [])), responses((status = 200, body = Vec<UserView>)))]
pub async fn list(State(state): State<AppState>, agent: Agent) -> Result<Json<Vec<UserView>>, ApiError> {
    agent.require(Permission::UsersManage)?;
    let roles = state.repos.roles.list(&agent.tenant_id).await?;
    let users = state.repos.users.list(&agent.tenant_id).await?;
    Ok(Json(users.iter().map(|u| UserView::new(u, &u.permissions(&roles))).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Invitation {
    #[schema(value_type = String, max_length = 100)]
    name: Name,
    #[schema(value_type = String, format = Email, max_length = 254)]
    email: EmailAddress,
    #[schema(value_type = Vec<String>)]
    role_ids: Vec<RoleId>,
}

/// Invites a user: they get an email with a link to set their password (valid 7 days).
#[utoipa::path(post, path = "/users", operation_id = "invite_user", tag = "users", security(("bearer" = [])), request_body = Invitation,
    responses((status = 201, body = UserView), (status = 409, description = "email_taken"),
        (status = 422, description = "unknown_role")))]
pub async fn invite(
    State(state): State<AppState>,
    agent: Agent,
    Json(body): Json<Invitation>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    agent.require(Permission::UsersManage)?;
    let roles = state.repos.roles.list(&agent.tenant_id).await?;
    let role_ids: Vec<RoleId> = body.role_ids.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
    check_roles_exist(&role_ids, &roles)?;
    let mut user = User::new(agent.tenant_id, body.email, body.name, None, role_ids);
    let permissions = user.permissions(&roles);
    check_can_hand_out(&agent, &permissions)?;
    let (token, stored) = new_set_password_token(&user, state.policy.invitation_ttl);
    let expires_at = stored.expires_at;
    user.password_change_token = Some(stored);
    state.repos.users.insert(&user).await?;
    let event = UserInvited {
        user_id: user.id,
        email: user.email.clone(),
        name: user.name.clone(),
        invited_by: agent.user_id,
        token: token.text,
        expires_at,
    };
    state.publish(agent.tenant_id, Event::UserInvited(event)).await;
    Ok((StatusCode::CREATED, Json(UserView::new(&user, &permissions))))
}

#[utoipa::path(get, path = "/users/{id}", operation_id = "read_user", tag = "users", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = UserView), (status = 404, description = "user_not_found")))]
pub async fn read(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    agent.require(Permission::UsersManage)?;
    let user = load(&state, &agent, &id).await?;
    let roles = state.repos.roles.list(&agent.tenant_id).await?;
    Ok(Json(UserView::new(&user, &user.permissions(&roles))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserUpdate {
    #[schema(value_type = Option<String>, max_length = 100)]
    name: Option<Name>,
    #[schema(value_type = Option<Vec<String>>)]
    role_ids: Option<Vec<RoleId>>,
    #[schema(value_type = Option<Vec<String>>)]
    grants: Option<Vec<Permission>>,
    #[schema(value_type = Option<Vec<String>>)]
    denies: Option<Vec<Permission>>,
    assigning: Option<AssigningView>,
    /// `active` or `disabled`.
    #[schema(value_type = Option<String>)]
    status: Option<UserStatus>,
    /// Addresses or CIDR networks; `[]` lifts the restriction.
    #[schema(value_type = Option<Vec<String>>)]
    ip_allow_list: Option<Vec<IpRange>>,
}

impl UserUpdate {
    fn into_patch(self) -> Result<UserPatch, ApiError> {
        let assigning = match self.assigning {
            Some(a) if !(1..=100).contains(&a.max_concurrent) => {
                return Err(ApiError::unprocessable("invalid_body", "assigning.maxConcurrent is between 1 and 100"));
            }
            Some(a) => Some(Assigning { enabled: a.enabled, max_concurrent: a.max_concurrent }),
            None => None,
        };
        let sorted = |v: Vec<Permission>| v.into_iter().collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>();
        Ok(UserPatch {
            name: self.name,
            role_ids: self.role_ids.map(|ids| ids.into_iter().collect::<BTreeSet<_>>().into_iter().collect()),
            grants: self.grants.map(sorted),
            denies: self.denies.map(sorted),
            assigning,
            status: self.status,
            ip_allow_list: self.ip_allow_list,
            ..UserPatch::default()
        })
    }
}

/// The names of the fields `patch` changes on `user`, for the `user.updated` event.
fn changes(user: &User, after: &User) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut check = |name, differs: bool| {
        if differs {
            changed.push(name);
        }
    };
    check("name", user.name != after.name);
    check("roleIds", user.role_ids != after.role_ids);
    check("grants", user.grants != after.grants);
    check("denies", user.denies != after.denies);
    check("assigning", user.assigning != after.assigning);
    check("status", user.status != after.status);
    check("ipAllowList", user.ip_addresses.allow_list != after.ip_addresses.allow_list);
    changed
}

/// The patch that puts back what `patch` changed on `before`.
fn undo(before: &User) -> UserPatch {
    UserPatch {
        name: Some(before.name.clone()),
        role_ids: Some(before.role_ids.clone()),
        grants: Some(before.grants.clone()),
        denies: Some(before.denies.clone()),
        assigning: Some(before.assigning),
        status: Some(before.status),
        ip_allow_list: Some(before.ip_addresses.allow_list.clone()),
        ..UserPatch::default()
    }
}

/// Changes a user. Disabling signs them out everywhere.
#[utoipa::path(patch, path = "/users/{id}", operation_id = "update_user", tag = "users", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = UserUpdate,
    responses((status = 200, body = UserView), (status = 404, description = "user_not_found"),
        (status = 409, description = "last_admin"), (status = 422, description = "unknown_role")))]
pub async fn update(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
    Json(body): Json<UserUpdate>,
) -> Result<Json<UserView>, ApiError> {
    agent.require(Permission::UsersManage)?;
    let before = load(&state, &agent, &id).await?;
    let patch = body.into_patch()?;
    let roles = state.repos.roles.list(&agent.tenant_id).await?;
    if let Some(role_ids) = &patch.role_ids {
        check_roles_exist(role_ids, &roles)?;
    }
    let mut preview = before.clone();
    patch.apply_to(&mut preview, before.updated_at);
    let (had, will_have) = (before.permissions(&roles), preview.permissions(&roles));
    let gained: Vec<Permission> = will_have.iter().filter(|p| !had.contains(p)).copied().collect();
    check_can_hand_out(&agent, &gained)?;

    let admin_role = admins::admin_role(&roles);
    let demotes_an_admin = admins::is_admin(&before, admin_role) && !admins::is_admin(&preview, admin_role);
    if demotes_an_admin && admins::count(&state, &agent.tenant_id, admin_role, Some(&before)).await? == 0 {
        return Err(admins::last_admin());
    }
    let after = state.repos.users.update(&agent.tenant_id, &before.id, &patch).await?;
    if demotes_an_admin && admins::count(&state, &agent.tenant_id, admin_role, None).await? == 0 {
        state.repos.users.update(&agent.tenant_id, &before.id, &undo(&before)).await?;
        return Err(admins::last_admin());
    }
    if after.status == UserStatus::Disabled {
        state.repos.sessions.delete_for_user(&agent.tenant_id, &after.id).await?;
    }
    let changed = changes(&before, &after);
    if !changed.is_empty() {
        let changes = changed.into_iter().map(str::to_owned).collect();
        state.publish(agent.tenant_id, Event::UserUpdated(UserUpdated { user_id: after.id, changes })).await;
    }
    Ok(Json(UserView::new(&after, &after.permissions(&roles))))
}

/// Deletes a user and ends their sessions.
#[utoipa::path(delete, path = "/users/{id}", operation_id = "remove_user", tag = "users", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, description = "user_not_found"), (status = 409, description = "last_admin")))]
pub async fn remove(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    agent.require(Permission::UsersManage)?;
    let user = load(&state, &agent, &id).await?;
    let admin_role = admins::admin_role(&state.repos.roles.list(&agent.tenant_id).await?);
    let removes_an_admin = admins::is_admin(&user, admin_role);
    if removes_an_admin && admins::count(&state, &agent.tenant_id, admin_role, Some(&user)).await? == 0 {
        return Err(admins::last_admin());
    }
    state.repos.users.delete(&agent.tenant_id, &user.id).await?;
    if removes_an_admin && admins::count(&state, &agent.tenant_id, admin_role, None).await? == 0 {
        state.repos.users.insert(&user).await?;
        return Err(admins::last_admin());
    }
    state.repos.sessions.delete_for_user(&agent.tenant_id, &user.id).await?;
    state.publish(agent.tenant_id, Event::UserDeleted(UserDeleted { user_id: user.id })).await;
    Ok(StatusCode::NO_CONTENT)
}
