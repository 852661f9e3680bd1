//! Blocks (`chatrooms:moderate`): the visitors agents blocked from the tenant's chatbots, listed
//! newest first a page at a time, and lifted one by one (`block.lifted`). An agent blocks with
//! the WebSocket frame `mark {as: blocked}` (the socket-node stores the block); once it is
//! lifted, the visitor can open a session again at once (the socket-node reads blocks from
//! MongoDB on every new session, uncached).
//!
//! The routes are tenant-wide (`/blocks`, with a `chatbotId` filter) rather than under
//! `/chatbots/{id}`: they belong to moderators, who need not hold `chatbots:manage` and so
//! cannot list the chatbots, and the blocks of a deleted chatbot stay reachable to be lifted.

use std::collections::{HashMap, hash_map::Entry};

use axum::{
    Router,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    routing::{delete, get},
};
use shared::{
    ApiError, Json,
    auth::Agent,
    domain::{Block, BlockCursor, BlockId, ChatbotId, TenantId, UserId},
    events::{BlockLifted, Event},
    http::QueryParams,
};
use utoipa::IntoParams;

use crate::{
    AppState,
    views::{BlockPage, BlockView, Blocker},
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/blocks", get(list)).route("/blocks/{id}", delete(lift))
}

/// How many blocks a page holds unless `limit` says otherwise, and the most it may say.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 100;

/// The query of `GET /blocks`, as the OpenAPI document shows it ([`QueryParams`] reads it).
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[allow(dead_code, reason = "only described: QueryParams reads the query")]
pub struct BlockQuery {
    /// Only the blocks of this chatbot.
    #[param(format = "uuid")]
    chatbot_id: Option<String>,
    /// The `next` of the page before: this page starts after its last block.
    before: Option<String>,
    /// At most this many blocks (1 to 100, default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// What a request asks for, parsed.
struct Page {
    chatbot: Option<ChatbotId>,
    before: Option<BlockCursor>,
    limit: u32,
}

impl Page {
    fn parse(query: Option<String>) -> Result<Self, ApiError> {
        let query = QueryParams::parse(query.as_deref(), &["chatbotId", "before", "limit"])?;
        let invalid = |what: &str| ApiError::bad_request("invalid_query", what.to_owned());
        let chatbot =
            query.get("chatbotId").map(str::parse).transpose().map_err(|_| invalid("chatbotId is not an id"))?;
        let before = query
            .get("before")
            .map(str::parse)
            .transpose()
            .map_err(|_| invalid("before is not a cursor this API gave"))?;
        let limit = match query.get("limit") {
            None => DEFAULT_LIMIT,
            Some(limit) => limit
                .parse()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| invalid("limit is a whole number from 1 to 100"))?,
        };
        Ok(Self { chatbot, before, limit })
    }
}

/// The tenant's blocks, newest first, a page at a time: `next` is the `before` of the next
/// page, `null` on the last. Each names its chatbot and the agent who blocked, while they exist.
#[utoipa::path(get, path = "/blocks", operation_id = "list_blocks", tag = "blocks", security(("bearer" = [])), params(BlockQuery),
    responses((status = 200, body = BlockPage), (status = 400, description = "invalid_query"),
        (status = 403, description = "permission_denied (needs chatrooms:moderate)")))]
pub async fn list(
    State(state): State<AppState>,
    agent: Agent,
    RawQuery(query): RawQuery,
) -> Result<Json<BlockPage>, ApiError> {
    let page = Page::parse(query)?;
    let tenant = agent.tenant_id;
    // One more than asked tells whether there is a next page.
    let mut blocks =
        state.repos.blocks.list(&tenant, page.chatbot.as_ref(), page.before.as_ref(), page.limit + 1).await?;
    let more = blocks.len() > page.limit as usize;
    blocks.truncate(page.limit as usize);
    let next = more.then(|| blocks.last().map(|b| BlockCursor::after(b).to_string())).flatten();
    let names = Names::of(&state, &tenant, &blocks).await?;
    let blocks = blocks.iter().map(|b| names.view(b)).collect();
    Ok(Json(BlockPage { blocks, next }))
}

/// The names of the chatbots and agents a page of blocks mentions (each looked up once); `None`
/// for one deleted since.
struct Names {
    chatbots: HashMap<ChatbotId, Option<String>>,
    users: HashMap<UserId, Option<String>>,
}

impl Names {
    async fn of(state: &AppState, tenant: &TenantId, blocks: &[Block]) -> Result<Self, ApiError> {
        let mut names = Self { chatbots: HashMap::new(), users: HashMap::new() };
        for block in blocks {
            if let Entry::Vacant(slot) = names.chatbots.entry(block.chatbot_id) {
                let chatbot = state.repos.chatbots.get(tenant, &block.chatbot_id).await?;
                slot.insert(chatbot.map(|c| c.name.to_string()));
            }
            if let Entry::Vacant(slot) = names.users.entry(block.blocked_by) {
                let user = state.repos.users.get(tenant, &block.blocked_by).await?;
                slot.insert(user.map(|u| u.name.to_string()));
            }
        }
        Ok(names)
    }

    fn view(&self, block: &Block) -> BlockView {
        BlockView {
            id: block.id.to_string(),
            chatbot_id: block.chatbot_id.to_string(),
            chatbot_name: self.chatbots.get(&block.chatbot_id).cloned().flatten(),
            chatroom_id: block.chatroom_id.to_string(),
            email: block.email.to_string(),
            ip: (!block.ip.is_empty()).then(|| block.ip.clone()),
            blocked_by: Blocker {
                id: block.blocked_by.to_string(),
                name: self.users.get(&block.blocked_by).cloned().flatten(),
            },
            created_at: block.created_at.to_rfc3339(),
        }
    }
}

/// Lifts the block: the visitor's next session is accepted (unless another block matches them).
/// Publishes `block.lifted`.
#[utoipa::path(delete, path = "/blocks/{id}", operation_id = "lift_block", tag = "blocks", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 403, description = "permission_denied (needs chatrooms:moderate)"),
        (status = 404, description = "block_not_found")))]
pub async fn lift(State(state): State<AppState>, agent: Agent, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    // A malformed id names no block: 404 like an unknown one.
    let id: BlockId = id.parse().map_err(|_| ApiError::not_found("block_not_found", "no such block"))?;
    let block = state.repos.blocks.delete(&agent.tenant_id, &id).await?;
    let event = BlockLifted {
        block_id: block.id,
        chatbot_id: block.chatbot_id,
        chatroom_id: block.chatroom_id,
        email: block.email,
        ip: block.ip,
        blocked_by: block.blocked_by,
        blocked_at: block.created_at,
        lifted_by: agent.user_id,
    };
    state.publish(agent.tenant_id, Event::BlockLifted(event)).await;
    Ok(StatusCode::NO_CONTENT)
}
