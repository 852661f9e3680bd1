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
use tokio::time::Instant;
use utoipa::{IntoParams, ToSchema};

use crate::{
    AppState, limits, password,
    refresh_cookie::{Mode, Presented, SetCookie},
    sessions,
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
/// With `X-Parley-Refresh: cookie` the refresh token comes in the `parley_refresh` cookie, not
/// in the body.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Login, params(RefreshModeHeader),
    responses((status = 200, body = TokensView, headers(("Set-Cookie" = String, description = "cookie mode only: `parley_refresh=<token>; HttpOnly; Secure; SameSite=Strict; Path=/api/tenant/auth; Max-Age=<seconds until refreshExpiresAt>` (Path is PARLEY_AUTH_COOKIE_PATH; Secure unless PARLEY_AUTH_COOKIE_SECURE=false); the body then has no refreshToken"))),
        (status = 400, description = "invalid_refresh_mode"), (status = 401, description = "invalid_credentials"),
        (status = 403, description = "user_disabled, ip_not_allowed"), (status = 429, description = "rate_limited")))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    mode: Mode,
    Json(body): Json<Login>,
) -> Result<(Option<SetCookie>, Json<TokensView>), ApiError> {
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
    Ok(mode.hand_over(&state.cookie, sessions::start(&state, &user, ip).await?))
}

/// The body of a refresh or a logout in JSON mode. In cookie mode the body is empty or `{}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(value_type = String)]
    refresh_token: SecretString,
}

impl From<RefreshRequest> for SecretString {
    fn from(body: RefreshRequest) -> Self {
        body.refresh_token
    }
}

/// Trades a refresh token for a new pair; the presented token stops working. In cookie mode the
/// token comes from the `parley_refresh` cookie and the new one goes back in it; a 401 clears it.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", params(RefreshModeHeader, RefreshCookie),
    request_body(content = Option<RefreshRequest>, description = "JSON mode: `{refreshToken}`; cookie mode: empty or `{}`"),
    responses((status = 200, body = TokensView, headers(("Set-Cookie" = String, description = "cookie mode only: `parley_refresh=<token>; HttpOnly; Secure; SameSite=Strict; Path=/api/tenant/auth; Max-Age=<seconds until refreshExpiresAt>` (Path is PARLEY_AUTH_COOKIE_PATH; Secure unless PARLEY_AUTH_COOKIE_SECURE=false); the body then has no refreshToken"))),
        (status = 400, description = "invalid_refresh_mode"),
        (status = 401, description = "invalid_refresh_token, refresh_token_reused (cookie mode: the cookie is cleared)"),
        (status = 403, description = "user_disabled, ip_not_allowed")))]
pub async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    presented: Presented<RefreshRequest>,
) -> Result<(Option<SetCookie>, Json<TokensView>), (Option<SetCookie>, ApiError)> {
    let mode = presented.mode;
    let issued = sessions::refresh(&state, presented.token(), ip).await.map_err(|e| mode.refuse(&state.cookie, e))?;
    Ok(mode.hand_over(&state.cookie, issued))
}

/// Ends the refresh token's session; answers 204 whatever the token (in cookie mode, with or
/// without the cookie, which it clears).
#[utoipa::path(post, path = "/auth/logout", tag = "auth", params(RefreshModeHeader, RefreshCookie),
    request_body(content = Option<RefreshRequest>, description = "JSON mode: `{refreshToken}`; cookie mode: empty or `{}`"),
    responses((status = 204, headers(("Set-Cookie" = String, description = "cookie mode: `parley_refresh=; ...; Max-Age=0`, the cookie cleared"))),
        (status = 400, description = "invalid_refresh_mode")))]
pub async fn logout(
    State(state): State<AppState>,
    presented: Presented<RefreshRequest>,
) -> Result<(StatusCode, Option<SetCookie>, ()), ApiError> {
    sessions::end(&state, presented.token()).await?;
    Ok((StatusCode::NO_CONTENT, presented.mode.sign_out(&state.cookie), ()))
}

/// `X-Parley-Refresh`, as the OpenAPI document shows it.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code, reason = "only described: refresh_cookie::Mode reads the header")]
pub struct RefreshModeHeader {
    /// `cookie`: keep the refresh token in the `parley_refresh` cookie (`HttpOnly; Secure;
    /// SameSite=Strict`, scoped to the auth routes) instead of the JSON body. Absent: JSON mode.
    #[param(rename = "X-Parley-Refresh", inline)]
    mode: Option<RefreshMode>,
}

/// The one value of `X-Parley-Refresh`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code, reason = "only described: refresh_cookie::Mode reads the header")]
pub enum RefreshMode {
    Cookie,
}

/// The `parley_refresh` cookie, as the OpenAPI document shows it.
#[derive(IntoParams)]
#[into_params(parameter_in = Cookie)]
#[allow(dead_code, reason = "only described: refresh_cookie::Presented reads the cookie")]
pub struct RefreshCookie {
    /// Cookie mode: the refresh token, which sign-up, login and refresh set (the browser sends it
    /// by itself; scripts cannot read it).
    parley_refresh: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(value_type = String, format = Email)]
    email: EmailAddress,
}

/// Mails a single-use reset token (valid 30 minutes) if the address belongs to an active user.
/// Answers 202 either way, and at the same time either way: `PARLEY_PASSWORD_RESET_ANSWER_MS`
/// (default 250 ms) after the request arrived. So neither the answer nor its time tells whether
/// an address is registered.
#[utoipa::path(post, path = "/auth/password-reset", tag = "auth", request_body = PasswordResetRequest,
    responses((status = 202), (status = 429, description = "rate_limited")))]
pub async fn request_password_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<PasswordResetRequest>,
) -> Result<StatusCode, ApiError> {
    let arrived = Instant::now();
    limits::per_address_and_email(&state, "reset", ip, &body.email).await?;
    let sent = send_reset_link(&state, &body.email).await;
    answer_at(arrived + state.policy.reset_answer).await;
    sent.map(|()| StatusCode::ACCEPTED)
}

/// Stores a fresh reset token on the active user with this address and publishes the
/// `PasswordResetRequested` the email function mails; does nothing for any other address.
///
/// The two paths take different times (a MongoDB write and a Kafka publish, a few milliseconds,
/// against nothing), which [`answer_at`] hides. Doing the same work on both was not possible:
/// an unknown address has no event to publish, and an event for it would reach the consumers.
/// Publishing after answering was not either: on Lambda the process is frozen once it answers.
async fn send_reset_link(state: &AppState, email: &EmailAddress) -> Result<(), ApiError> {
    let user = state.repos.users.find_by_email(email).await?;
    let Some(user) = user.filter(|u| u.status == UserStatus::Active) else { return Ok(()) };
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
    Ok(())
}

/// Waits until `at`, the time every reset request answers. A request already past it (a slow
/// database or broker, or a Kafka outage's first event, which waits out the producer's
/// timeout) answers at once, so its time may tell a registered address: that is logged, for
/// the operator to raise `PARLEY_PASSWORD_RESET_ANSWER_MS`.
async fn answer_at(at: Instant) {
    let now = Instant::now();
    if now > at {
        let late_ms = u64::try_from((now - at).as_millis()).unwrap_or(u64::MAX);
        tracing::warn!(
            late_ms,
            "a password-reset request took longer than PARLEY_PASSWORD_RESET_ANSWER_MS; its answer's time may tell whether the address is registered"
        );
        return;
    }
    tokio::time::sleep_until(at).await;
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
