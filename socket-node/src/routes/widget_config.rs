//! `POST /v1/widget/config`: what the loader needs to draw the launcher on a tenant's page
//! before any conversation (the chatbot's name, colour, position, texts, and whether visitors
//! must be signed).
//!
//! It passes the widget check as a session does (tenant id + API key + `Origin`; a malformed key
//! is refused before any look-up) and answers only with the widget check's refusals. The API
//! key travels in the body, never in the URL. Answers are not cached (`Cache-Control: no-store`,
//! set where the route is mounted): a disabled chatbot or a revoked key shows on the next page.

use axum::{
    extract::State,
    http::{HeaderMap, header},
};
use serde::{Deserialize, Serialize};
use shared::{
    ApiError, Json,
    domain::{ChatbotId, Name, TenantId, WidgetSettings},
};

use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigRequest {
    tenant_id: TenantId,
    api_key: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WidgetConfig {
    chatbot_id: ChatbotId,
    name: Name,
    settings: WidgetSettings,
    enforce_identity: bool,
}

pub async fn answer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<ConfigRequest>,
) -> Result<Json<WidgetConfig>, ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let chatbot = state.access.verify(&body.tenant_id, &body.api_key, origin).await?;
    Ok(Json(WidgetConfig {
        chatbot_id: chatbot.id,
        name: chatbot.name,
        settings: chatbot.settings,
        enforce_identity: chatbot.enforce_identity,
    }))
}
