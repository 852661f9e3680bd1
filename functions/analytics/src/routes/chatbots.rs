//! `GET /chatbots/status`: what each of the tenant's chatbots is doing now.
//!
//! Chatroom counts come from MongoDB (the chatrooms' status is stored there first), agents online
//! from the socket-nodes' presence in Redis: an agent with a console open on a live node. Every
//! agent of the tenant serves every chatbot, so each chatbot shows the tenant's agents online.

use std::collections::{BTreeSet, HashMap};

use axum::{Router, extract::State, routing::get};
use serde::Serialize;
use shared::{
    ApiError, Json,
    auth::Agent,
    domain::{ChatbotId, ChatroomStatus, Timestamp},
};

use utoipa::ToSchema;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/chatbots/status", get(status))
}

/// The most open chatrooms counted per tenant; beyond it the counts say `truncated`.
const OPEN_LIMIT: u32 = 10_000;

/// What the tenant's chatbots are doing now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatbotsStatus {
    /// The tenant's agents with a console open on a live socket-node, each once.
    agents_online: usize,
    chatbots: Vec<ChatbotStatus>,
    /// More open chatrooms than could be counted (10,000): the counts are lower bounds.
    truncated: bool,
    #[schema(value_type = String, format = DateTime)]
    checked_at: Timestamp,
}

/// One chatbot's open chatrooms, by status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatbotStatus {
    #[schema(value_type = String, format = "uuid")]
    id: ChatbotId,
    name: String,
    /// Chatrooms in the queue, no agent yet.
    waiting: u64,
    /// Chatrooms an agent holds.
    active: u64,
    /// Chatrooms waiting for their visitor to come back.
    standby: u64,
    /// Every agent serves every chatbot: the tenant's agents online.
    agents_online: usize,
    /// When anything last happened in one of its chatrooms; null when it never had one.
    #[schema(value_type = Option<String>, format = DateTime)]
    last_activity_at: Option<Timestamp>,
}

/// Per chatbot: waiting, active and standby chatrooms, agents online, last activity.
#[utoipa::path(get, path = "/chatbots/status", operation_id = "chatbots_status", tag = "status", security(("bearer" = [])),
    responses((status = 200, body = ChatbotsStatus),
        (status = 401, description = "missing_token, invalid_token, token_expired"),
        (status = 403, description = "permission_denied (analytics:view)"),
        (status = 503, description = "analytics_unavailable (local-dev in memory mode), service_unavailable")))]
pub async fn status(State(state): State<AppState>, agent: Agent) -> Result<Json<ChatbotsStatus>, ApiError> {
    let tenant = agent.tenant_id;
    let chatbots = state.repos.chatbots.list(&tenant).await?;
    let open = state.source.list_open_chatrooms(&tenant, OPEN_LIMIT).await?;
    let mut counts: HashMap<(ChatbotId, ChatroomStatus), u64> = HashMap::new();
    for room in &open {
        *counts.entry((room.chatbot_id, room.status)).or_default() += 1;
    }
    let agents_online = agents_online(&state, &tenant).await?;
    let count = |id: ChatbotId, status| counts.get(&(id, status)).copied().unwrap_or(0);
    let mut rows = Vec::with_capacity(chatbots.len());
    for chatbot in chatbots {
        rows.push(ChatbotStatus {
            id: chatbot.id,
            name: chatbot.name.as_str().to_owned(),
            waiting: count(chatbot.id, ChatroomStatus::Waiting),
            active: count(chatbot.id, ChatroomStatus::Active),
            standby: count(chatbot.id, ChatroomStatus::Standby),
            agents_online,
            last_activity_at: state.source.last_activity(&tenant, &chatbot.id).await?,
        });
    }
    Ok(Json(ChatbotsStatus {
        agents_online,
        chatbots: rows,
        truncated: open.len() >= OPEN_LIMIT as usize,
        checked_at: Timestamp::now(),
    }))
}

/// How many of the tenant's agents have a console open on a live socket-node.
async fn agents_online(state: &AppState, tenant: &shared::domain::TenantId) -> Result<usize, ApiError> {
    let unavailable = |err: redis::RedisError| ApiError::unavailable(anyhow::anyhow!("Redis: {err}"));
    let now = Timestamp::now();
    let nodes = shared::presence::read_nodes(&state.redis).await.map_err(unavailable)?;
    let alive: BTreeSet<String> =
        nodes.into_iter().filter(|(_, report)| report.is_alive(now)).map(|(id, _)| id).collect();
    let agents = shared::presence::agents_online(&state.redis, tenant, &alive).await.map_err(unavailable)?;
    Ok(agents.len())
}
