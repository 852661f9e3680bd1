//! Chatbots: create, list, read, change, delete (`chatbots:manage`).

use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    routing::get,
};
use serde::Deserialize;
use shared::{
    ApiError, Json,
    auth::{Agent, ApiKey},
    domain::{
        Chatbot, ChatbotId, ChatbotPatch, ChatbotStatus, Colour, Name, OriginPattern, Position, Routing, Text,
        WidgetSettings,
    },
    events::{ChatbotCreated, ChatbotDeleted, ChatbotUpdated, Event},
};
use utoipa::ToSchema;

use super::load;
use crate::{
    AppState, snippet,
    views::{ChatbotView, Credentials},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chatbots", get(list).post(create))
        .route("/chatbots/{id}", get(read).patch(update).delete(remove))
}

/// At most this many allowed origins per chatbot.
const MAX_ORIGINS: usize = 50;

/// Changes to the widget's settings; what is left out stays as it is (or takes its default).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsUpdate {
    #[schema(value_type = Option<String>, max_length = 500)]
    greeting: Option<Text<500>>,
    #[schema(value_type = Option<String>, pattern = "^#[0-9a-fA-F]{6}$", example = "#2563eb")]
    colour: Option<Colour>,
    #[schema(value_type = Option<String>, example = "bottom-right")]
    position: Option<Position>,
    #[schema(value_type = Option<String>, max_length = 40)]
    launcher_text: Option<Text<40>>,
}

impl SettingsUpdate {
    fn applied_to(self, settings: &WidgetSettings) -> WidgetSettings {
        let current = settings.clone();
        WidgetSettings {
            greeting: self.greeting.unwrap_or(current.greeting),
            colour: self.colour.unwrap_or(current.colour),
            position: self.position.unwrap_or(current.position),
            launcher_text: self.launcher_text.unwrap_or(current.launcher_text),
        }
    }
}

/// Duplicates dropped (first kept), at most [`MAX_ORIGINS`].
fn checked_origins(origins: Vec<OriginPattern>) -> Result<Vec<OriginPattern>, ApiError> {
    let mut unique: Vec<OriginPattern> = Vec::with_capacity(origins.len());
    for origin in origins {
        if !unique.contains(&origin) {
            unique.push(origin);
        }
    }
    if unique.len() > MAX_ORIGINS {
        return Err(ApiError::unprocessable(
            "too_many_origins",
            format!("a chatbot has at most {MAX_ORIGINS} allowed origins"),
        ));
    }
    Ok(unique)
}

/// What events say about a chatbot: never a key, hash or secret.
pub fn event_data(chatbot: &Chatbot) -> ChatbotCreated {
    ChatbotCreated {
        chatbot_id: chatbot.id,
        name: chatbot.name.clone(),
        status: chatbot.status,
        allowed_origins: chatbot.allowed_origins.clone(),
        enforce_identity: chatbot.enforce_identity,
    }
}

/// `chatbot.updated` with the names of the fields that changed.
pub fn updated(chatbot: &Chatbot, changes: &[&str]) -> Event {
    let changes = changes.iter().map(|c| (*c).to_owned()).collect();
    Event::ChatbotUpdated(ChatbotUpdated { chatbot: event_data(chatbot), changes })
}

/// The names of the fields that differ between `before` and `after`, for `chatbot.updated`
/// (a PATCH that changes nothing publishes nothing).
fn changes(before: &Chatbot, after: &Chatbot) -> Vec<&'static str> {
    [
        ("name", before.name != after.name),
        ("allowedOrigins", before.allowed_origins != after.allowed_origins),
        ("settings", before.settings != after.settings),
        ("enforceIdentity", before.enforce_identity != after.enforce_identity),
        ("routing", before.routing != after.routing),
        ("status", before.status != after.status),
    ]
    .into_iter()
    .filter_map(|(field, differs)| differs.then_some(field))
    .collect()
}

/// The tenant's chatbots, oldest first.
#[utoipa::path(get, path = "/chatbots", tag = "chatbots", security(("bearer" = [])),
    responses((status = 200, body = Vec<ChatbotView>)))]
pub async fn list(State(state): State<AppState>, agent: Agent) -> Result<Json<Vec<ChatbotView>>, ApiError> {
    let chatbots = state.repos.chatbots.list(&agent.tenant_id).await?;
    Ok(Json(chatbots.iter().map(ChatbotView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewChatbot {
    #[schema(value_type = String, max_length = 100)]
    name: Name,
    /// Where the widget may be embedded: `https://host[:port]`, `https://*.example.com`, or `*`
    /// for anywhere. Empty allows nowhere.
    #[schema(value_type = Vec<String>, example = json!(["https://www.example.com"]))]
    allowed_origins: Vec<OriginPattern>,
    #[serde(default)]
    settings: SettingsUpdate,
    #[serde(default)]
    enforce_identity: bool,
    /// How waiting chatrooms reach agents; manual (agents pick from the queue) when left out.
    #[serde(default)]
    routing: Routing,
}

/// Creates a chatbot with its API key and identity secret, both shown in this answer only.
#[utoipa::path(post, path = "/chatbots", tag = "chatbots", security(("bearer" = [])), request_body = NewChatbot,
    responses((status = 201, body = Credentials), (status = 422, description = "invalid_body, too_many_origins")))]
pub async fn create(
    State(state): State<AppState>,
    agent: Agent,
    Json(body): Json<NewChatbot>,
) -> Result<(StatusCode, Json<Credentials>), ApiError> {
    let id = ChatbotId::new();
    let key = ApiKey::generate(id);
    let (seed, secret) = state.identity.issue(id);
    let mut chatbot = Chatbot::new(id, agent.tenant_id, body.name, &key, seed);
    chatbot.allowed_origins = checked_origins(body.allowed_origins)?;
    chatbot.settings = body.settings.applied_to(&chatbot.settings);
    chatbot.enforce_identity = body.enforce_identity;
    chatbot.routing = body.routing;
    state.repos.chatbots.insert(&chatbot).await?;
    state.publish(agent.tenant_id, Event::ChatbotCreated(event_data(&chatbot))).await;
    let credentials = Credentials {
        snippet: Some(snippet::html(&state.policy.public_socket_url, &chatbot.tenant_id, key.expose())),
        api_key: Some(key.expose().to_owned()),
        identity_secret: Some(secret.expose().to_owned()),
        chatbot: ChatbotView::from(&chatbot),
    };
    Ok((StatusCode::CREATED, Json(credentials)))
}

#[utoipa::path(get, path = "/chatbots/{id}", tag = "chatbots", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ChatbotView), (status = 404, description = "chatbot_not_found")))]
pub async fn read(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<Json<ChatbotView>, ApiError> {
    Ok(Json(ChatbotView::from(&load(&state, &agent, &id).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChatbotUpdate {
    #[schema(value_type = Option<String>, max_length = 100)]
    name: Option<Name>,
    #[schema(value_type = Option<Vec<String>>)]
    allowed_origins: Option<Vec<OriginPattern>>,
    settings: Option<SettingsUpdate>,
    enforce_identity: Option<bool>,
    /// The whole routing: mode and offer time.
    routing: Option<Routing>,
    /// `active` or `disabled` (the widget is refused with `chatbot_disabled`).
    #[schema(value_type = Option<String>, example = "disabled")]
    status: Option<ChatbotStatus>,
}

/// Changes what the body names. The widget sees the change on its next request.
#[utoipa::path(patch, path = "/chatbots/{id}", tag = "chatbots", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = ChatbotUpdate,
    responses((status = 200, body = ChatbotView), (status = 404, description = "chatbot_not_found"),
        (status = 422, description = "invalid_body, too_many_origins")))]
pub async fn update(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
    Json(body): Json<ChatbotUpdate>,
) -> Result<Json<ChatbotView>, ApiError> {
    let before = load(&state, &agent, &id).await?;
    let patch = ChatbotPatch {
        name: body.name,
        allowed_origins: body.allowed_origins.map(checked_origins).transpose()?,
        settings: body.settings.map(|s| s.applied_to(&before.settings)),
        enforce_identity: body.enforce_identity,
        routing: body.routing,
        status: body.status,
        ..ChatbotPatch::default()
    };
    let chatbot = state.repos.chatbots.update(&agent.tenant_id, &before.id, &patch, None).await?;
    let changes = changes(&before, &chatbot);
    if !changes.is_empty() {
        state.changed(&chatbot, updated(&chatbot, &changes)).await;
    }
    Ok(Json(ChatbotView::from(&chatbot)))
}

/// Deletes the chatbot; its key stops working at once.
#[utoipa::path(delete, path = "/chatbots/{id}", tag = "chatbots", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, description = "chatbot_not_found")))]
pub async fn remove(
    State(state): State<AppState>,
    agent: Agent,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let chatbot = load(&state, &agent, &id).await?;
    state.repos.chatbots.delete(&agent.tenant_id, &chatbot.id).await?;
    let event = ChatbotDeleted { chatbot_id: chatbot.id, name: chatbot.name.clone() };
    state.changed(&chatbot, Event::ChatbotDeleted(event)).await;
    Ok(StatusCode::NO_CONTENT)
}
