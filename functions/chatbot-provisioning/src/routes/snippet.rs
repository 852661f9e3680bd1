//! `GET /chatbots/{id}/snippet`: the embed snippet (`chatbots:manage`).

use axum::{
    Router,
    extract::{Path, State},
    routing::get,
};
use serde::Serialize;
use shared::{ApiError, Json, auth::Agent};
use utoipa::ToSchema;

use super::load;
use crate::{AppState, snippet, views::masked};

pub fn routes() -> Router<AppState> {
    Router::new().route("/chatbots/{id}/snippet", get(show))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snippet {
    /// The `<script>` tag to paste before `</body>`. API keys are shown only when they are made,
    /// so `data-api-key` holds `apiKeyPlaceholder`: replace it with the key (the create and
    /// rotate answers carry the snippet with the key filled in).
    pub html: String,
    #[schema(example = "parley_pk_…x7k2")]
    pub api_key_placeholder: String,
    /// Where the widget is loaded from.
    pub widget_url: String,
    #[schema(value_type = String, format = "uuid")]
    pub tenant_id: String,
}

#[utoipa::path(get, path = "/chatbots/{id}/snippet", tag = "chatbots", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Snippet), (status = 404, description = "chatbot_not_found")))]
pub async fn show(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<Json<Snippet>, ApiError> {
    let chatbot = load(&state, &agent, &id).await?;
    let placeholder = match &chatbot.api_keys.current {
        Some(key) => masked(&key.hint),
        None => "NO_ACTIVE_KEY_ROTATE_TO_ISSUE_ONE".to_owned(),
    };
    let base = &state.policy.public_socket_url;
    Ok(Json(Snippet {
        html: snippet::html(base, &chatbot.tenant_id, &placeholder),
        api_key_placeholder: placeholder,
        widget_url: format!("{base}/widget.js"),
        tenant_id: chatbot.tenant_id.to_string(),
    }))
}
