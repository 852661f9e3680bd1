//! Real-time analytics (`analytics:view`): the pipes of `infra/tinybird`, read from Tinybird for
//! the caller's own tenant ([`crate::tinybird::pipes`]).
//!
//! - `GET /live/activity?from&to`: chatrooms opened and messages sent, per minute (default: the
//!   last 3 hours; at most 24 hours).
//! - `GET /live/response-times?from&to`: the wait for an agent and the first response of the
//!   chatrooms opened in the window, for the tenant, per chatbot and per agent, with names
//!   (default: since midnight UTC; at most 31 days).
//! - `GET /live/response-time-distribution?from&to`: how those waits and first responses spread
//!   over bands from "under 15 s" to "10 min or more".
//! - `GET /live/browsers?from&to`: the chatrooms opened in the window by browser and system.
//!
//! `from` and `to` are RFC 3339 instants (`to` defaults to now), read to the second. The tenant
//! is the caller's: a `tenant_id` (or any parameter but these two) is refused as `invalid_query`.
//! Without `PARLEY_TINYBIRD_READ_TOKEN` every route answers 503 `tinybird_not_configured`,
//! naming what to set.

use std::collections::HashMap;

use axum::{
    Router,
    extract::{RawQuery, State},
    http::StatusCode,
    routing::get,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use shared::{
    ApiError, Json,
    auth::Agent,
    domain::{TenantId, Timestamp},
    http::QueryParams,
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use utoipa::{IntoParams, ToSchema};

use crate::{
    AppState,
    reports::{Timings, secs},
    tinybird::pipes::{self, Pipe, PipeError},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/live/activity", get(activity))
        .route("/live/response-times", get(response_times))
        .route("/live/response-time-distribution", get(distribution))
        .route("/live/browsers", get(browsers))
}

/// The bands of `/live/response-time-distribution`, by their first second (as the pipe names them).
pub const BANDS: [u32; 7] = [0, 15, 30, 60, 120, 300, 600];

/// The query every live route takes, as the OpenAPI document shows it ([`QueryParams`] reads it).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "only described: QueryParams reads the query")]
pub struct LiveQuery {
    /// The window's start, RFC 3339 (read to the second); the route's default window when absent.
    #[param(format = DateTime)]
    from: Option<String>,
    /// The window's end, RFC 3339 (excluded); now when absent.
    #[param(format = DateTime)]
    to: Option<String>,
}

/// A window `[from, to)`.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: Timestamp,
    to: Timestamp,
}

impl Window {
    /// The request's window; without `from`, `default_from` of `to`. At most `max_hours` long.
    fn parse(
        query: Option<String>,
        default_from: fn(Timestamp) -> Timestamp,
        max_hours: i64,
    ) -> Result<Self, ApiError> {
        let query = QueryParams::parse(query.as_deref(), &["from", "to"])?;
        let to = query.get("to").map(|v| instant(v, "to")).transpose()?.unwrap_or_else(Timestamp::now);
        let from = query.get("from").map(|v| instant(v, "from")).transpose()?.unwrap_or_else(|| default_from(to));
        if from >= to {
            return Err(ApiError::bad_request("invalid_range", "from is not before to"));
        }
        if to.unix_millis() - from.unix_millis() > max_hours * 3_600_000 {
            return Err(ApiError::bad_request("invalid_range", format!("a window is at most {max_hours} hours")));
        }
        Ok(Self { from, to })
    }
}

fn instant(value: &str, name: &str) -> Result<Timestamp, ApiError> {
    let parsed = OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
        ApiError::bad_request("invalid_time", format!("{name} is an instant written RFC 3339 (2026-12-06T09:30:00Z)"))
    })?;
    Ok(Timestamp::from(parsed))
}

fn three_hours_before(to: Timestamp) -> Timestamp {
    to.minus_std(std::time::Duration::from_secs(3 * 3_600))
}

/// Midnight (UTC) of `to`'s day, or the day before when `to` is midnight itself.
fn start_of_day(to: Timestamp) -> Timestamp {
    let just_before = Timestamp::from_unix_millis(to.unix_millis() - 1);
    crate::reports::day_bounds(just_before.as_offset_date_time().date()).0
}

/// Reads `pipe` for the caller's tenant over the window.
async fn read<R: DeserializeOwned>(
    state: &AppState,
    pipe: Pipe,
    tenant: TenantId,
    window: Window,
) -> Result<Vec<R>, ApiError> {
    let Some(pipes) = &state.live else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "tinybird_not_configured",
            "real-time analytics read Tinybird, which this Parley is not connected to: push infra/tinybird to a \
             Tinybird workspace, then set PARLEY_TINYBIRD_TOKEN (append), PARLEY_TINYBIRD_READ_TOKEN (pipes) and \
             PARLEY_TINYBIRD_URL on the analytics function (infra/tinybird/README.md). The day reports need none \
             of it.",
        ));
    };
    pipes.read(pipe, tenant, window.from, window.to).await.map_err(|err| {
        tracing::warn!(pipe = pipe.name(), error = %err, "a Tinybird pipe could not be read");
        match err {
            PipeError::Unavailable(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "tinybird_unavailable",
                "Tinybird did not answer; the charts will try again",
            ),
            PipeError::Refused { .. } => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "tinybird_refused",
                format!(
                    "Tinybird refused to run the pipe {} ({err}): are the pipes of infra/tinybird pushed, and may \
                    PARLEY_TINYBIRD_READ_TOKEN read them?",
                    pipe.name()
                ),
            ),
            PipeError::Unexpected(_) => unexpected(pipe),
        }
    })
}

fn unexpected(pipe: Pipe) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "tinybird_unexpected_answer",
        format!("the pipe {} answered rows this Parley does not expect: push infra/tinybird again", pipe.name()),
    )
}

/// `activity_per_minute`'s row.
#[derive(Deserialize)]
struct ActivityRow {
    minute: String,
    chatrooms: u64,
    visitor_messages: u64,
    agent_messages: u64,
}

/// One minute with something in it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityMinute {
    /// The minute's start.
    #[schema(value_type = String, format = DateTime)]
    minute: Timestamp,
    /// Chatrooms opened in it.
    chatrooms: u64,
    visitor_messages: u64,
    agent_messages: u64,
}

/// `GET /live/activity`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    #[schema(value_type = String, format = DateTime)]
    from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    to: Timestamp,
    /// The minutes with a chatroom opened or a message sent, oldest first; the others had none.
    minutes: Vec<ActivityMinute>,
}

/// Chatrooms opened and messages sent by visitors and agents per minute (default: the last 3
/// hours; at most 24).
#[utoipa::path(get, path = "/live/activity", operation_id = "live_activity", tag = "live", security(("bearer" = [])), params(LiveQuery),
    responses((status = 200, body = Activity),
        (status = 400, description = "invalid_time, invalid_range, invalid_query"),
        (status = 401, description = "missing_token, invalid_token, token_expired"),
        (status = 403, description = "permission_denied (analytics:view)"),
        (status = 502, description = "tinybird_refused, tinybird_unexpected_answer"),
        (status = 503, description = "tinybird_not_configured, tinybird_unavailable")))]
pub async fn activity(
    State(state): State<AppState>,
    agent: Agent,
    RawQuery(query): RawQuery,
) -> Result<Json<Activity>, ApiError> {
    let window = Window::parse(query, three_hours_before, 24)?;
    let pipe = Pipe::ActivityPerMinute;
    let rows: Vec<ActivityRow> = read(&state, pipe, agent.tenant_id, window).await?;
    let minutes = rows
        .into_iter()
        .map(|row| {
            Ok(ActivityMinute {
                minute: pipes::parse_date_time(&row.minute).ok_or_else(|| unexpected(pipe))?,
                chatrooms: row.chatrooms,
                visitor_messages: row.visitor_messages,
                agent_messages: row.agent_messages,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(Activity { from: window.from, to: window.to, minutes }))
}

/// `response_times`'s row: durations in milliseconds.
#[derive(Deserialize)]
struct ResponseTimeRow {
    dimension: String,
    key: String,
    chatrooms: u64,
    assigned: u64,
    wait_median_ms: Option<f64>,
    wait_p90_ms: Option<f64>,
    answered: u64,
    first_response_median_ms: Option<f64>,
    first_response_p90_ms: Option<f64>,
}

/// The wait and first response over some chatrooms: the usage reports' `Timings`, so the two read
/// the same.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResponseFigures {
    /// The chatroom's chatbot or agent; null for the whole tenant.
    id: Option<String>,
    /// Its name now; null for the whole tenant, or when it was deleted since.
    name: Option<String>,
    /// Chatrooms opened in the window (for an agent: the ones they hold).
    chatrooms: u64,
    /// From opening to an agent taking it, over the chatrooms an agent took.
    wait: Timings,
    /// From opening to the first agent message, over the chatrooms an agent answered.
    first_response: Timings,
}

impl ResponseFigures {
    fn of(row: &ResponseTimeRow, name: Option<String>) -> Self {
        let timings = |count, median: Option<f64>, p90: Option<f64>| Timings {
            count,
            median_secs: median.map(secs),
            p90_secs: p90.map(secs),
        };
        Self {
            id: (!row.key.is_empty()).then(|| row.key.clone()),
            name,
            chatrooms: row.chatrooms,
            wait: timings(row.assigned, row.wait_median_ms, row.wait_p90_ms),
            first_response: timings(row.answered, row.first_response_median_ms, row.first_response_p90_ms),
        }
    }
}

/// `GET /live/response-times`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResponseTimes {
    #[schema(value_type = String, format = DateTime)]
    from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    to: Timestamp,
    /// The whole tenant.
    tenant: ResponseFigures,
    /// Per chatbot that had a chatroom opened, by name.
    chatbots: Vec<ResponseFigures>,
    /// Per agent holding one of those chatrooms, by name.
    agents: Vec<ResponseFigures>,
}

/// The wait for an agent and the first response of the chatrooms opened in the window (default:
/// since midnight UTC; at most 31 days), for the tenant, per chatbot and per agent.
#[utoipa::path(get, path = "/live/response-times", operation_id = "live_response_times", tag = "live", security(("bearer" = [])), params(LiveQuery),
    responses((status = 200, body = ResponseTimes),
        (status = 400, description = "invalid_time, invalid_range, invalid_query"),
        (status = 401, description = "missing_token, invalid_token, token_expired"),
        (status = 403, description = "permission_denied (analytics:view)"),
        (status = 502, description = "tinybird_refused, tinybird_unexpected_answer"),
        (status = 503, description = "tinybird_not_configured, tinybird_unavailable")))]
pub async fn response_times(
    State(state): State<AppState>,
    agent: Agent,
    RawQuery(query): RawQuery,
) -> Result<Json<ResponseTimes>, ApiError> {
    let window = Window::parse(query, start_of_day, 31 * 24)?;
    let tenant_id = agent.tenant_id;
    let rows: Vec<ResponseTimeRow> = read(&state, Pipe::ResponseTimes, tenant_id, window).await?;
    let chatbots: HashMap<String, String> = state
        .repos
        .chatbots
        .list(&tenant_id)
        .await?
        .into_iter()
        .map(|bot| (bot.id.to_string(), bot.name.to_string()))
        .collect();
    let users: HashMap<String, String> =
        state.repos.users.list(&tenant_id).await?.into_iter().map(|u| (u.id.to_string(), u.name.to_string())).collect();
    let mut tenant = None;
    let (mut by_chatbot, mut by_agent) = (Vec::new(), Vec::new());
    for row in &rows {
        match row.dimension.as_str() {
            "tenant" => tenant = Some(ResponseFigures::of(row, None)),
            "chatbot" => by_chatbot.push(ResponseFigures::of(row, chatbots.get(&row.key).cloned())),
            "agent" => by_agent.push(ResponseFigures::of(row, users.get(&row.key).cloned())),
            _ => return Err(unexpected(Pipe::ResponseTimes)),
        }
    }
    // A window with no chatroom has no rows at all.
    let tenant = tenant.unwrap_or(ResponseFigures {
        id: None,
        name: None,
        chatrooms: 0,
        wait: Timings::default(),
        first_response: Timings::default(),
    });
    for list in [&mut by_chatbot, &mut by_agent] {
        list.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    }
    Ok(Json(ResponseTimes { from: window.from, to: window.to, tenant, chatbots: by_chatbot, agents: by_agent }))
}

/// `response_time_distribution`'s row.
#[derive(Deserialize)]
struct BandRow {
    lower_s: u32,
    waits: u64,
    first_responses: u64,
}

/// One band of durations.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Band {
    /// Its first second.
    lower_secs: u32,
    /// The next band's first second; null for the last band (10 minutes or more).
    upper_secs: Option<u32>,
    /// Chatrooms whose wait for an agent fell in it.
    waits: u64,
    /// Chatrooms whose first response fell in it.
    first_responses: u64,
}

/// `GET /live/response-time-distribution`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Distribution {
    #[schema(value_type = String, format = DateTime)]
    from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    to: Timestamp,
    /// Every band, shortest first, empty ones too.
    bands: Vec<Band>,
}

/// How the waits and first responses of the chatrooms opened in the window spread over bands
/// (default: since midnight UTC; at most 31 days).
#[utoipa::path(get, path = "/live/response-time-distribution", operation_id = "live_response_time_distribution", tag = "live", security(("bearer" = [])), params(LiveQuery),
    responses((status = 200, body = Distribution),
        (status = 400, description = "invalid_time, invalid_range, invalid_query"),
        (status = 401, description = "missing_token, invalid_token, token_expired"),
        (status = 403, description = "permission_denied (analytics:view)"),
        (status = 502, description = "tinybird_refused, tinybird_unexpected_answer"),
        (status = 503, description = "tinybird_not_configured, tinybird_unavailable")))]
pub async fn distribution(
    State(state): State<AppState>,
    agent: Agent,
    RawQuery(query): RawQuery,
) -> Result<Json<Distribution>, ApiError> {
    let window = Window::parse(query, start_of_day, 31 * 24)?;
    let pipe = Pipe::ResponseTimeDistribution;
    let rows: Vec<BandRow> = read(&state, pipe, agent.tenant_id, window).await?;
    let mut bands: Vec<Band> = BANDS
        .iter()
        .enumerate()
        .map(|(i, &lower)| Band {
            lower_secs: lower,
            upper_secs: BANDS.get(i + 1).copied(),
            waits: 0,
            first_responses: 0,
        })
        .collect();
    for row in rows {
        let band = bands.iter_mut().find(|band| band.lower_secs == row.lower_s).ok_or_else(|| unexpected(pipe))?;
        band.waits = row.waits;
        band.first_responses = row.first_responses;
    }
    Ok(Json(Distribution { from: window.from, to: window.to, bands }))
}

/// `chatrooms_by_browser`'s row.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct BrowserShare {
    /// `Chrome`, `Edge`, `Firefox`, `Opera`, `Safari`, or `other`.
    browser: String,
    /// `Android`, `ChromeOS`, `iOS`, `Linux`, `macOS`, `Windows`, or `other`.
    os: String,
    chatrooms: u64,
}

/// `GET /live/browsers`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Browsers {
    #[schema(value_type = String, format = DateTime)]
    from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    to: Timestamp,
    /// Most chatrooms first.
    browsers: Vec<BrowserShare>,
}

/// The chatrooms opened in the window by the visitor's browser and system (default: since
/// midnight UTC; at most 31 days).
#[utoipa::path(get, path = "/live/browsers", operation_id = "live_browsers", tag = "live", security(("bearer" = [])), params(LiveQuery),
    responses((status = 200, body = Browsers),
        (status = 400, description = "invalid_time, invalid_range, invalid_query"),
        (status = 401, description = "missing_token, invalid_token, token_expired"),
        (status = 403, description = "permission_denied (analytics:view)"),
        (status = 502, description = "tinybird_refused, tinybird_unexpected_answer"),
        (status = 503, description = "tinybird_not_configured, tinybird_unavailable")))]
pub async fn browsers(
    State(state): State<AppState>,
    agent: Agent,
    RawQuery(query): RawQuery,
) -> Result<Json<Browsers>, ApiError> {
    let window = Window::parse(query, start_of_day, 31 * 24)?;
    let browsers = read(&state, Pipe::ChatroomsByBrowser, agent.tenant_id, window).await?;
    Ok(Json(Browsers { from: window.from, to: window.to, browsers }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_day_starts_at_the_last_midnight() {
        let at = |text: &str| instant(text, "t").unwrap();
        assert_eq!(start_of_day(at("2026-12-06T10:30:00Z")), at("2026-12-06T00:00:00Z"));
        assert_eq!(start_of_day(at("2026-12-06T00:00:00Z")), at("2026-12-05T00:00:00Z"));
    }

    #[test]
    fn windows_are_checked() {
        let parse = |q: &str| Window::parse(Some(q.to_owned()), three_hours_before, 24).map_err(|e| e.code);
        assert!(parse("from=2026-12-06T09:00:00Z&to=2026-12-06T10:00:00Z").is_ok());
        assert_eq!(parse("from=2026-12-06T10:00:00Z&to=2026-12-06T09:00:00Z").unwrap_err(), "invalid_range");
        assert_eq!(parse("from=2026-12-04T10:00:00Z&to=2026-12-06T09:00:00Z").unwrap_err(), "invalid_range");
        assert_eq!(parse("from=yesterday").unwrap_err(), "invalid_time");
        assert_eq!(parse("tenant_id=x").unwrap_err(), "invalid_query");
    }
}
