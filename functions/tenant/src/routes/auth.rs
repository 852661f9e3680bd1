//! Login, refresh, logout and password reset.

use axum::{Router, extract::State, http::StatusCode, routing::post};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use shared::{
    ApiError, Json,
    auth::secret::{constant_time_eq, sha256_hex},
    client_ip::ClientIp,
    domain::{EmailAddress, Timestamp, UserStatus},
    events::{Event, PasswordResetRequested, UserUpdated},
};
use utoipa::ToSchema;

use crate::{
    AppState, limits, password, sessions,
    set_password::{SetPasswordToken, new_set_password_token},
    views::TokensView,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/password-reset", post(request_password_reset))
        .route("/auth/password-reset/confirm", post(confirm_password_reset))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Login {
    #[schema(value_type = String, format = Email)]
    email: EmailAddress,
    #[schema(value_type = String, format = Password)]
    password: password::Submitted,
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "the email address or the password is wrong")
}

/// Signs a user in with email and password. Limited per client address and per email address.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Login,
    responses((status = 200, body = TokensView), (status = 401, description = "invalid_credentials"),
        (status = 403, description = "user_disabled, ip_not_allowed"), (status = 429, description = "rate_limited")))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<Login>,
) -> Result<Json<TokensView>, ApiError> {
    limits::per_address_and_email(&state, "login", ip, &body.email).await?;
    let user = state.repos.users.find_by_email(&body.email).await?;
    let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
    if !password::verify(&body.password, stored).await {
        return Err(invalid_credentials());
    }
    let user = user.ok_or_else(invalid_credentials)?;
    sessions::check_may_sign_in(&user, ip)?;
    let seen = user.ip_addresses.seen_after_login(ip, Timestamp::now());
    state.repos.users.record_login(&user.tenant_id, &user.id, &seen).await?;
    Ok(Json(sessions::start(&state, &user, ip).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(value_type = String)]
    refresh_token: SecretString,
}

/// Trades a refresh token for a new pair; the presented token stops working.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokensView), (status = 401, description = "invalid_refresh_token, refresh_token_reused"),
        (status = 403, description = "user_disabled, ip_not_allowed")))]
pub async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<RefreshRequest>,
) -> Result<Json<TokensView>, ApiError> {
    Ok(Json(sessions::refresh(&state, body.refresh_token.expose_secret(), ip).await?))
}

/// Ends the refresh token's session; answers 204 whatever the token.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", request_body = RefreshRequest, responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, Json(body): Json<RefreshRequest>) -> Result<StatusCode, ApiError> {
    sessions::end(&state, body.refresh_token.expose_secret()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(value_type = String, format = Email)]
    email: EmailAddress,
}

/// Mails a single-use reset token (valid 30 minutes) if the address belongs to an active user.
/// Answers 202 either way, so it tells nobody whether an address is registered.
#[utoipa::path(post, path = "/auth/password-reset", tag = "auth", request_body = PasswordResetRequest,
    responses((status = 202), (status = 429, description = "rate_limited")))]
pub async fn request_password_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<PasswordResetRequest>,
) -> Result<StatusCode, ApiError> {
    limits::per_address_and_email(&state, "reset", ip, &body.email).await?;
    let user = state.repos.users.find_by_email(&body.email).await?;
    if let Some(user) = user.filter(|u| u.status == UserStatus::Active) {
        let (token, stored) = new_set_password_token(&user, state.policy.reset_ttl);
        state.repos.users.set_password_change_token(&user.tenant_id, &user.id, &stored).await?;
        let event = PasswordResetRequested {
            user_id: user.id,
            email: user.email,
            name: user.name,
            token: token.text,
            expires_at: stored.expires_at,
        };
        state.publish(user.tenant_id, Event::PasswordResetRequested(event)).await;
    }
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordResetConfirm {
    /// The token from the reset or invitation email.
    #[schema(value_type = String)]
    token: SecretString,
    #[schema(value_type = String, format = Password, min_length = 10, max_length = 256)]
    password: password::Submitted,
}

fn invalid_reset_token() -> ApiError {
    ApiError::bad_request("invalid_reset_token", "this link is not valid or was already used; ask for a new one")
}

/// Sets a new password with a reset (or invitation) token, and signs the user out everywhere.
#[utoipa::path(post, path = "/auth/password-reset/confirm", tag = "auth", request_body = PasswordResetConfirm,
    responses((status = 204), (status = 400, description = "invalid_reset_token, reset_token_expired"),
        (status = 422, description = "weak_password")))]
pub async fn confirm_password_reset(
    State(state): State<AppState>,
    Json(body): Json<PasswordResetConfirm>,
) -> Result<StatusCode, ApiError> {
    let token = SetPasswordToken::parse(body.token.expose_secret()).ok_or_else(invalid_reset_token)?;
    let user = state.repos.users.get(&token.tenant, &token.user).await?.ok_or_else(invalid_reset_token)?;
    let pending = user.password_change_token.as_ref().ok_or_else(invalid_reset_token)?;
    let hash = sha256_hex(&token.text);
    if !constant_time_eq(&pending.hash, &hash) {
        return Err(invalid_reset_token());
    }
    if pending.expires_at < Timestamp::now() {
        return Err(ApiError::bad_request("reset_token_expired", "this link has expired; ask for a new one"));
    }
    body.password.check_new(&user.email)?;
    let password_hash = password::hash(&body.password).await?;
    if !state.repos.users.set_password_with_token(&user.tenant_id, &user.id, &hash, &password_hash).await? {
        return Err(invalid_reset_token());
    }
    state.repos.sessions.delete_for_user(&user.tenant_id, &user.id).await?;
    let event = UserUpdated { user_id: user.id, changes: vec!["password".to_owned()] };
    state.publish(user.tenant_id, Event::UserUpdated(event)).await;
    Ok(StatusCode::NO_CONTENT)
}
