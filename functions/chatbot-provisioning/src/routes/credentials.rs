//! A chatbot's credentials (`chatbots:manage`): rotate or revoke its API key, rotate its
//! identity secret. Each new key or secret is shown in the answer that makes it, and never again.

use std::time::Duration;

use axum::{
    Router,
    extract::{Path, State},
    routing::post,
};
use serde::Deserialize;
use shared::{
    ApiError, Json,
    auth::{Agent, ApiKey},
    domain::{Chatbot, ChatbotPatch, Timestamp},
    events::{ChatbotKeyRotated, Event},
    repos::RepoError,
};
use utoipa::ToSchema;

use super::{chatbots::updated, load};
use crate::{
    AppState,
    config::Policy,
    snippet,
    views::{ChatbotView, Credentials, masked},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chatbots/{id}/api-key/rotate", post(rotate_api_key))
        .route("/chatbots/{id}/api-key/revoke", post(revoke_api_key))
        .route("/chatbots/{id}/identity-secret/rotate", post(rotate_identity_secret))
}

/// How often a credential change re-reads and retries when another change won the race.
const ATTEMPTS: usize = 3;

/// Reads the chatbot, makes `patch_for` it and stores the patch only over the revision read:
/// a change that raced in between is never overwritten, and the caller never receives a key or
/// secret that was not stored. Retries a few times, then answers 409 `chatbot_changed`.
async fn change_credentials<T>(
    state: &AppState,
    agent: &Agent,
    id: &str,
    mut patch_for: impl FnMut(&Chatbot, Timestamp) -> (ChatbotPatch, T),
) -> Result<(Chatbot, T), ApiError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let chatbot = load(state, agent, id).await?;
        let (patch, made) = patch_for(&chatbot, Timestamp::now());
        match state.repos.chatbots.update(&agent.tenant_id, &chatbot.id, &patch, Some(chatbot.revision)).await {
            Ok(chatbot) => return Ok((chatbot, made)),
            Err(RepoError::Conflict { code: "chatbot_changed", .. }) if attempt < ATTEMPTS => continue,
            Err(err) => return Err(err.into()),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateApiKey {
    /// How long the replaced key keeps working, 0 to 604800 (7 days); default
    /// `PARLEY_API_KEY_GRACE_HOURS` (24 h). 0 revokes it at once.
    #[schema(maximum = 604800)]
    grace_seconds: Option<u64>,
}

/// Issues a new API key. The replaced key keeps working for the grace period, then answers
/// `api_key_revoked`. The body is optional.
#[utoipa::path(post, path = "/chatbots/{id}/api-key/rotate", tag = "credentials", security(("bearer" = [])),
    params(("id" = String, Path)), request_body(content = Option<RotateApiKey>),
    responses((status = 200, body = Credentials), (status = 404, description = "chatbot_not_found"),
        (status = 409, description = "chatbot_changed"), (status = 422, description = "grace_too_long, invalid_body")))]
pub async fn rotate_api_key(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
    body: Option<Json<RotateApiKey>>,
) -> Result<Json<Credentials>, ApiError> {
    let body = body.map(|Json(body)| body).unwrap_or_default();
    let grace = match body.grace_seconds {
        None => state.policy.key_grace,
        Some(secs) if Duration::from_secs(secs) <= Policy::MAX_GRACE => Duration::from_secs(secs),
        Some(_) => return Err(ApiError::unprocessable("grace_too_long", "graceSeconds is at most 604800 (7 days)")),
    };
    let (chatbot, key) = change_credentials(&state, &agent, &id, |chatbot, now| {
        let key = ApiKey::generate(chatbot.id);
        let api_keys = chatbot.api_keys.rotated(&key, grace, now);
        (ChatbotPatch { api_keys: Some(api_keys), ..ChatbotPatch::default() }, key)
    })
    .await?;
    let event = ChatbotKeyRotated {
        chatbot_id: chatbot.id,
        api_key: masked(&key.hint()),
        previous_key_expires_at: chatbot.api_keys.previous.as_ref().map(|k| k.expires_at),
    };
    state.changed(&chatbot, Event::ChatbotKeyRotated(event)).await;
    Ok(Json(Credentials {
        snippet: Some(snippet::html(&state.policy.public_socket_url, &chatbot.tenant_id, key.expose())),
        api_key: Some(key.expose().to_owned()),
        identity_secret: None,
        chatbot: ChatbotView::from(&chatbot),
    }))
}

/// Revokes every working key of the chatbot at once (the current one and one in its grace
/// period): the widget stops until a rotation issues a new key.
#[utoipa::path(post, path = "/chatbots/{id}/api-key/revoke", tag = "credentials", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = ChatbotView), (status = 404, description = "chatbot_not_found"),
        (status = 409, description = "chatbot_changed")))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<Json<ChatbotView>, ApiError> {
    let (chatbot, ()) = change_credentials(&state, &agent, &id, |chatbot, now| {
        (ChatbotPatch { api_keys: Some(chatbot.api_keys.revoked_all(now)), ..ChatbotPatch::default() }, ())
    })
    .await?;
    state.changed(&chatbot, updated(&chatbot, &["apiKey"])).await;
    Ok(Json(ChatbotView::from(&chatbot)))
}

/// Issues a new identity secret; signatures made with the old one fail at once.
#[utoipa::path(post, path = "/chatbots/{id}/identity-secret/rotate", tag = "credentials", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Credentials), (status = 404, description = "chatbot_not_found"),
        (status = 409, description = "chatbot_changed")))]
pub async fn rotate_identity_secret(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<Json<Credentials>, ApiError> {
    let identity = state.identity.clone();
    let (chatbot, secret) = change_credentials(&state, &agent, &id, |chatbot, _| {
        let (seed, secret) = identity.issue(chatbot.id);
        (ChatbotPatch { identity_secret: Some(seed), ..ChatbotPatch::default() }, secret)
    })
    .await?;
    state.changed(&chatbot, updated(&chatbot, &["identitySecret"])).await;
    Ok(Json(Credentials {
        chatbot: ChatbotView::from(&chatbot),
        api_key: None,
        identity_secret: Some(secret.expose().to_owned()),
        snippet: None,
    }))
}
