//! What the API answers: chatbots and blocks as clients see them. No key or secret appears here except in
//! [`Credentials`], which only the responses that make them carry.

use serde::Serialize;
use shared::domain::{Chatbot, Routing, Timestamp, WidgetSettings};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatbotView {
    #[schema(value_type = String, format = "uuid")]
    pub id: String,
    #[schema(value_type = String, format = "uuid")]
    pub tenant_id: String,
    pub name: String,
    #[schema(example = json!(["https://www.example.com", "https://*.example.com"]))]
    pub allowed_origins: Vec<String>,
    pub settings: SettingsView,
    /// `active` or `disabled`.
    pub status: String,
    pub enforce_identity: bool,
    pub routing: Routing,
    /// The current key, masked; `null` after a revocation until the next rotation.
    pub api_key: Option<KeyView>,
    /// The key the current one replaced, while it still works.
    pub previous_api_key: Option<KeyView>,
    #[schema(value_type = String, format = DateTime)]
    pub identity_secret_created_at: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: String,
}

/// A key as lists show it: `parley_pk_…x7k2`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    #[schema(example = "parley_pk_…x7k2")]
    pub masked: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<String>,
    /// When a replaced key stops working.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub greeting: String,
    #[schema(example = "#2563eb")]
    pub colour: String,
    /// `bottom-right` or `bottom-left`.
    pub position: String,
    pub launcher_text: String,
}

pub fn masked(hint: &str) -> String {
    format!("{}…{hint}", shared::auth::ApiKey::PREFIX)
}

impl From<&WidgetSettings> for SettingsView {
    fn from(s: &WidgetSettings) -> Self {
        Self {
            greeting: s.greeting.as_str().to_owned(),
            colour: s.colour.as_str().to_owned(),
            position: s.position.as_str().to_owned(),
            launcher_text: s.launcher_text.as_str().to_owned(),
        }
    }
}

impl From<&Chatbot> for ChatbotView {
    fn from(c: &Chatbot) -> Self {
        let now = Timestamp::now();
        Self {
            id: c.id.to_string(),
            tenant_id: c.tenant_id.to_string(),
            name: c.name.to_string(),
            allowed_origins: c.allowed_origins.iter().map(ToString::to_string).collect(),
            settings: SettingsView::from(&c.settings),
            status: c.status.as_str().to_owned(),
            enforce_identity: c.enforce_identity,
            routing: c.routing,
            api_key: c.api_keys.current.as_ref().map(|k| KeyView {
                masked: masked(&k.hint),
                created_at: Some(k.created_at.to_rfc3339()),
                expires_at: None,
            }),
            previous_api_key: c.api_keys.previous.as_ref().filter(|k| now < k.expires_at).map(|k| KeyView {
                masked: masked(&k.hint),
                created_at: None,
                expires_at: Some(k.expires_at.to_rfc3339()),
            }),
            identity_secret_created_at: c.identity_secret.created_at.to_rfc3339(),
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

/// The answer to the calls that make a key or secret: the only time either is shown.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    pub chatbot: ChatbotView,
    /// The API key, shown this once; it goes in the embed snippet.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "parley_pk_…")]
    pub api_key: Option<String>,
    /// The identity secret, shown this once; it stays on the tenant's servers.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "parley_is_…")]
    pub identity_secret: Option<String>,
    /// The embed snippet with the new key filled in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

/// A blocked visitor, as moderators see them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockView {
    #[schema(value_type = String, format = "uuid")]
    pub id: String,
    #[schema(value_type = String, format = "uuid")]
    pub chatbot_id: String,
    /// `null` when the chatbot was deleted since.
    pub chatbot_name: Option<String>,
    /// The chatroom the visitor was blocked from.
    #[schema(value_type = String, format = "uuid")]
    pub chatroom_id: String,
    /// Blocked: a new session with this email address is refused.
    #[schema(example = "mallory@example.net")]
    pub email: String,
    /// Blocked too: a new session from this address is refused. `null` when it was unknown.
    #[schema(example = "203.0.113.9")]
    pub ip: Option<String>,
    pub blocked_by: Blocker,
    /// When the visitor was blocked.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
}

/// The agent who blocked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Blocker {
    #[schema(value_type = String, format = "uuid")]
    pub id: String,
    /// `null` when the agent was deleted since.
    pub name: Option<String>,
}

/// A page of blocks, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockPage {
    pub blocks: Vec<BlockView>,
    /// The `before` of the next page; `null` on the last.
    pub next: Option<String>,
}
