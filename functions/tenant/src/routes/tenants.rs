//! Sign-up (`POST /tenants`) and the tenant's profile (`GET`/`PATCH /tenant`).

use axum::{
    Router,
    extract::State,
    http::StatusCode,
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use shared::{
    ApiError, Json,
    auth::Agent,
    client_ip::ClientIp,
    domain::{EmailAddress, Name, Permission, Role, Tenant, TenantPatch, User},
    events::{Event, TenantCreated, TenantUpdated},
};
use utoipa::ToSchema;

use super::auth;
use crate::{
    AppState, limits, password,
    refresh_cookie::{Mode, SetCookie},
    sessions,
    views::{TenantView, TokensView, UserView},
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/tenants", post(sign_up)).route("/tenant", get(get_tenant).patch(update_tenant))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignUp {
    #[schema(value_type = String, max_length = 100)]
    tenant_name: Name,
    #[schema(value_type = String, max_length = 100)]
    admin_name: Name,
    #[schema(value_type = String, format = Email, max_length = 254)]
    admin_email: EmailAddress,
    #[schema(value_type = String, format = Password, min_length = 10, max_length = 256)]
    admin_password: password::Submitted,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedUp {
    tenant: TenantView,
    user: UserView,
    tokens: TokensView,
}

/// Creates a tenant with its `admin` and `agent` roles and its first admin, and signs them in
/// (with `X-Parley-Refresh: cookie`, the refresh token in the `parley_refresh` cookie).
#[utoipa::path(post, path = "/tenants", tag = "tenants", request_body = SignUp, params(auth::RefreshModeHeader),
    responses((status = 201, body = SignedUp, headers(("Set-Cookie" = String, description = "cookie mode only: `parley_refresh=<token>; HttpOnly; Secure; SameSite=Strict; Path=/api/tenant/auth; Max-Age=<seconds until refreshExpiresAt>` (Path is PARLEY_AUTH_COOKIE_PATH; Secure unless PARLEY_AUTH_COOKIE_SECURE=false); the body then has no refreshToken"))),
        (status = 400, description = "invalid_refresh_mode"), (status = 409, description = "email_taken"),
        (status = 422, description = "weak_password, invalid_body"), (status = 429, description = "rate_limited")))]
pub async fn sign_up(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    mode: Mode,
    Json(body): Json<SignUp>,
) -> Result<(StatusCode, Option<SetCookie>, Json<SignedUp>), ApiError> {
    limits::per_address(&state, "signup", ip).await?;
    body.admin_password.check_new(&body.admin_email)?;
    if state.repos.users.find_by_email(&body.admin_email).await?.is_some() {
        return Err(ApiError::conflict("email_taken", "a user with this email address already exists"));
    }
    let password_hash = password::hash(&body.admin_password).await?;

    let tenant = Tenant::new(body.tenant_name);
    let admin = Role::admin(tenant.id);
    let agent = Role::new(tenant.id, "agent".parse().expect("a valid name"), vec![Permission::ChatroomsJoin]);
    let mut user = User::new(tenant.id, body.admin_email, body.admin_name, Some(password_hash), vec![admin.id]);
    user.ip_addresses.seen = user.ip_addresses.seen_after_login(ip, user.created_at);
    // No transactions: the rows go in one by one, and a failure takes back what went in.
    state.repos.tenants.insert(&tenant).await?;
    let created = async {
        state.repos.roles.insert(&admin).await?;
        state.repos.roles.insert(&agent).await?;
        state.repos.users.insert(&user).await
    }
    .await;
    if let Err(err) = created {
        let _ = state.repos.roles.delete(&tenant.id, &admin.id).await;
        let _ = state.repos.roles.delete(&tenant.id, &agent.id).await;
        let _ = state.repos.tenants.delete(&tenant.id).await;
        return Err(err.into());
    }

    let issued = sessions::start(&state, &user, ip).await?;
    let event = TenantCreated {
        tenant_id: tenant.id,
        name: tenant.name.clone(),
        admin_user_id: user.id,
        admin_email: user.email.clone(),
    };
    state.publish(tenant.id, Event::TenantCreated(event)).await;
    let view = UserView::new(&user, &Permission::ALL);
    let (cookie, Json(tokens)) = mode.hand_over(&state.cookie, issued);
    Ok((StatusCode::CREATED, cookie, Json(SignedUp { tenant: TenantView::from(&tenant), user: view, tokens })))
}

async fn load(state: &AppState, agent: &Agent) -> Result<Tenant, ApiError> {
    state
        .repos
        .tenants
        .get(&agent.tenant_id)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant_not_found", "no such tenant"))
}

/// The signed-in user's tenant.
#[utoipa::path(get, path = "/tenant", tag = "tenants", security(("bearer" = [])), responses((status = 200, body = TenantView)))]
pub async fn get_tenant(State(state): State<AppState>, agent: Agent) -> Result<Json<TenantView>, ApiError> {
    Ok(Json(TenantView::from(&load(&state, &agent).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantUpdate {
    #[schema(value_type = String, max_length = 100)]
    #[serde(default)]
    name: Option<Name>,
    /// The name emails to visitors come from; `null` goes back to the tenant's name.
    #[schema(value_type = Option<String>, max_length = 100)]
    #[serde(default, deserialize_with = "shared::json::present")]
    email_sender_name: Option<Option<Name>>,
}

/// Renames the tenant or sets the name its emails come from (`tenant:manage`).
#[utoipa::path(patch, path = "/tenant", tag = "tenants", security(("bearer" = [])), request_body = TenantUpdate,
    responses((status = 200, body = TenantView), (status = 403, description = "permission_denied")))]
pub async fn update_tenant(
    State(state): State<AppState>,
    agent: Agent,
    Json(body): Json<TenantUpdate>,
) -> Result<Json<TenantView>, ApiError> {
    agent.require(Permission::TenantManage)?;
    let patch = TenantPatch { name: body.name, email_sender_name: body.email_sender_name };
    let tenant = state.repos.tenants.update(&agent.tenant_id, &patch).await?;
    let event = TenantUpdated {
        tenant_id: tenant.id,
        name: tenant.name.clone(),
        email_sender_name: tenant.email_sender_name.clone(),
    };
    state.publish(tenant.id, Event::TenantUpdated(event)).await;
    Ok(Json(TenantView::from(&tenant)))
}
