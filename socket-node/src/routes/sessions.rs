//! `POST /v1/visitor/sessions`: a visitor opens the widget and starts a conversation.
//!
//! The checks run cheapest first: the per-address rate limit, the API key's form (a malformed
//! key costs no look-up), the per-chatbot rate limit, then the widget check (tenant id + key +
//! `Origin`), the signed identity, and the chatbot's block list. Then the chatroom is opened
//! and the visitor gets its id and a chatroom token for `GET /v1/ws`.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
};
use serde::{Deserialize, Serialize};
use shared::{
    ApiError, Json,
    auth::ApiKey,
    client_ip::ClientIp,
    domain::{ChatroomId, ChatroomStatus, EmailAddress, Name, TenantId, VisitorInfo},
    ratelimit::{Decision, Limit},
};

use crate::{
    chat::{self, NewVisitor},
    state::AppState,
};

/// Longest browser-reported text kept (page URL, referrer, user agent, ...).
const MAX_INFO_CHARS: usize = 1024;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSession {
    tenant_id: TenantId,
    api_key: String,
    name: Name,
    email: EmailAddress,
    /// Hex HMAC-SHA256 of `email` with the chatbot's identity secret, from the tenant's backend.
    #[serde(default)]
    identity_signature: Option<String>,
    #[serde(default)]
    visitor: BrowserInfo,
}

/// What the widget reads from the browser. All optional; long values are cut, control
/// characters dropped.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BrowserInfo {
    language: Option<String>,
    page_url: Option<String>,
    referrer: Option<String>,
    timezone: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionCreated {
    chatroom_id: ChatroomId,
    status: ChatroomStatus,
    /// The chatroom token: the first frame on `GET /v1/ws` is `{"type":"auth","token":...}`.
    token: String,
    expires_in: u64,
    websocket_path: &'static str,
}

pub async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(body): Json<NewSession>,
) -> Result<impl IntoResponse, ApiError> {
    let limits = state.config.limits;
    limit(&state, &format!("sessions:ip:{ip}"), limits.sessions_per_ip).await?;
    let chatbot_id = ApiKey::parse(&body.api_key)
        .map_err(|_| ApiError::unauthorized("api_key_invalid", "the API key is not valid"))?
        .chatbot_id();
    limit(&state, &format!("sessions:chatbot:{chatbot_id}"), limits.sessions_per_chatbot).await?;

    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let chatbot = state.access.verify(&body.tenant_id, &body.api_key, origin).await?;
    let identity = state.access.check_identity(&chatbot, body.email.as_str(), body.identity_signature.as_deref())?;
    let ip = ip.to_string();
    if state.chat.repos.blocks.is_blocked(&chatbot.tenant_id, &chatbot.id, &body.email, &ip).await? {
        return Err(ApiError::forbidden("visitor_blocked", "this chatbot does not take conversations from you"));
    }

    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (browser, os) = user_agent.as_deref().map(describe_user_agent).unwrap_or_default();
    let info = VisitorInfo {
        ip,
        browser,
        os,
        user_agent: user_agent.map(cut),
        language: body.visitor.language.map(cut),
        page_url: body.visitor.page_url.map(cut),
        referrer: body.visitor.referrer.map(cut),
        timezone: body.visitor.timezone.map(cut),
    };
    let visitor = NewVisitor { email: body.email, name: body.name, identity, info };
    let room = chat::open(&state.chat, &chatbot, visitor).await.map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    state.metrics.sessions_created.inc();
    let token = state.chatroom_tokens.issue(room.tenant_id, room.chatbot_id, room.id);
    let created = SessionCreated {
        chatroom_id: room.id,
        status: room.status,
        token: token.token,
        expires_in: token.expires_in.as_secs(),
        websocket_path: "/v1/ws",
    };
    Ok((StatusCode::CREATED, axum::Json(created)))
}

async fn limit(state: &AppState, key: &str, limit: Limit) -> Result<(), ApiError> {
    match state.limiter.hit(key, limit).await? {
        Decision::Allowed => Ok(()),
        Decision::Limited { retry_after } => Err(ApiError::rate_limited(retry_after.as_secs())),
    }
}

/// A browser value as stored: without control characters, at most [`MAX_INFO_CHARS`].
fn cut(text: String) -> String {
    let mut text = chat::without_controls(text, false);
    if let Some((at, _)) = text.char_indices().nth(MAX_INFO_CHARS) {
        text.truncate(at);
    }
    text
}

/// The browser and operating system a user agent names, for agents' eyes (not for security:
/// anyone can send any user agent).
fn describe_user_agent(ua: &str) -> (Option<String>, Option<String>) {
    let browser =
        [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")]
            .iter()
            .find(|(token, _)| ua.contains(token))
            .map(|(_, name)| (*name).to_owned());
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(token, _)| ua.contains(token))
    .map(|(_, name)| (*name).to_owned());
    (browser, os)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_name_their_browser_and_system() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        assert_eq!(describe_user_agent(chrome), (Some("Chrome".into()), Some("Linux".into())));
        let iphone =
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Safari/604.1";
        assert_eq!(describe_user_agent(iphone), (Some("Safari".into()), Some("iOS".into())));
        assert_eq!(describe_user_agent("curl/8.0"), (None, None));
    }

    #[test]
    fn long_browser_values_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_INFO_CHARS + 10);
        assert_eq!(cut(long).chars().count(), MAX_INFO_CHARS);
    }
}
