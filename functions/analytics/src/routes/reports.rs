//! Usage reports (`analytics:view`), as JSON or, with `?format=csv`, as a CSV download:
//!
//! - `GET /reports?from&to`: the stored daily reports of the range, one per day the job has
//!   computed, and the range's totals.
//! - `GET /reports/agents?from&to`: one row per agent and day.
//! - `GET /reports/chatrooms?from&to`: one row per chatroom created in the range, with its
//!   timings, read live from MongoDB.
//!
//! `from` and `to` are days (`YYYY-MM-DD`, UTC, both included); `to` defaults to today and `from`
//! to 29 days before `to`. A range is at most 366 days.

use axum::{
    Router,
    extract::{RawQuery, State},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Serialize;
use shared::{
    ApiError, Json,
    auth::Agent,
    domain::{ChatbotId, Chatroom, ChatroomId, ChatroomStatus, CloseReason, Timestamp, UserId},
    http::QueryParams,
};
use time::Date;
use utoipa::{IntoParams, ToSchema};

use crate::{
    AppState,
    csv::{Csv, number, optional, text},
    reports::{DAY_FORMAT, DailyReport, MessageCounts, day_bounds, format_day, job::today},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports", get(daily))
        .route("/reports/agents", get(agents))
        .route("/reports/chatrooms", get(chatrooms))
}

/// The longest range one request may ask for.
const MAX_DAYS: i64 = 366;
/// The most chatrooms `/reports/chatrooms` lists; a larger range is refused, never cut short.
const MAX_CHATROOM_ROWS: u32 = 10_000;

/// `json` (the default) or `csv` (a download).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Format {
    Json,
    Csv,
}

/// The query every report route takes, as the OpenAPI document shows it ([`QueryParams`] reads it).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "only described: QueryParams reads the query")]
pub struct ReportQuery {
    /// The first day, `YYYY-MM-DD` (UTC, included); 29 days before `to` when absent.
    #[param(format = Date)]
    from: Option<String>,
    /// The last day, `YYYY-MM-DD` (UTC, included); today when absent. A range is at most 366 days.
    #[param(format = Date)]
    to: Option<String>,
    /// `json` (the default) or `csv`: a download (`text/csv; charset=utf-8`, CRLF line ends).
    #[param(value_type = Option<Format>)]
    format: Option<String>,
}

/// A request's range and format.
struct Range {
    from: Date,
    to: Date,
    format: Format,
}

impl Range {
    fn parse(query: Option<String>) -> Result<Self, ApiError> {
        let query = QueryParams::parse(query.as_deref(), &["from", "to", "format"])?;
        let format = match query.get("format") {
            None | Some("json") => Format::Json,
            Some("csv") => Format::Csv,
            Some(_) => return Err(ApiError::bad_request("invalid_format", "format is json or csv")),
        };
        let to = query.get("to").map(|v| day(v, "to")).transpose()?.unwrap_or_else(today);
        let from = query.get("from").map(|v| day(v, "from")).transpose()?;
        let from = from.unwrap_or_else(|| to - time::Duration::days(29));
        if from > to {
            return Err(ApiError::bad_request("invalid_range", "from is after to"));
        }
        if (to - from).whole_days() >= MAX_DAYS {
            return Err(ApiError::bad_request("invalid_range", format!("a range is at most {MAX_DAYS} days")));
        }
        Ok(Self { from, to, format })
    }

    fn days(&self) -> (String, String) {
        (format_day(self.from), format_day(self.to))
    }

    fn filename(&self, what: &str) -> String {
        let (from, to) = self.days();
        format!("parley-{what}-{from}-to-{to}.csv")
    }
}

fn day(value: &str, name: &str) -> Result<Date, ApiError> {
    Date::parse(value, DAY_FORMAT)
        .map_err(|_| ApiError::bad_request("invalid_date", format!("{name} is a day written YYYY-MM-DD")))
}

/// What the range adds up to. Medians do not add up: they are per day (or in the chatroom rows).
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    chatrooms: u64,
    messages: MessageCounts,
    abandoned: u64,
}

/// `GET /reports` as JSON.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DailyReports {
    #[schema(format = Date)]
    from: String,
    #[schema(format = Date)]
    to: String,
    /// One report per day the job has computed, oldest first.
    days: Vec<DailyReport>,
    totals: Totals,
}

/// The daily reports of the range and its totals. CSV columns: `date, chatrooms,
/// visitor_messages, agent_messages, system_messages, first_response_median_secs,
/// first_response_p90_secs, assignment_median_secs, assignment_p90_secs, resolution_median_secs,
/// resolution_p90_secs, abandoned, busiest_hour, computed_at`.
#[utoipa::path(get, path = "/reports", operation_id = "daily_reports", tag = "reports", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, description = "The reports (format=csv: a download, one row per day)",
            content((DailyReports = "application/json"), (String = "text/csv")),
            headers(("Content-Disposition" = String, description = "format=csv: attachment; filename=parley-reports-<from>-to-<to>.csv"))),
        (status = 400, description = "invalid_date, invalid_range, invalid_format, invalid_query"),
        (status = 401, description = "missing_token, invalid_token, token_expired"),
        (status = 403, description = "permission_denied (analytics:view)"),
        (status = 503, description = "analytics_unavailable (local-dev in memory mode), service_unavailable")))]
pub async fn daily(
    State(state): State<AppState>,
    agent: Agent,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let range = Range::parse(query)?;
    let (from, to) = range.days();
    let reports = state.reports.list(&agent.tenant_id, &from, &to).await?;
    if range.format == Format::Csv {
        return Ok(daily_csv(&reports).into_response(&range.filename("reports")));
    }
    let mut totals = Totals::default();
    for report in &reports {
        totals.chatrooms += report.chatrooms;
        totals.messages.visitor += report.messages.visitor;
        totals.messages.agent += report.messages.agent;
        totals.messages.system += report.messages.system;
        totals.abandoned += report.abandoned;
    }
    Ok(Json(DailyReports { from, to, days: reports, totals }).into_response())
}

fn daily_csv(reports: &[DailyReport]) -> Csv {
    let mut csv = Csv::new(&[
        "date",
        "chatrooms",
        "visitor_messages",
        "agent_messages",
        "system_messages",
        "first_response_median_secs",
        "first_response_p90_secs",
        "assignment_median_secs",
        "assignment_p90_secs",
        "resolution_median_secs",
        "resolution_p90_secs",
        "abandoned",
        "busiest_hour",
        "computed_at",
    ]);
    for r in reports {
        csv.row(vec![
            text(&r.date),
            number(r.chatrooms),
            number(r.messages.visitor),
            number(r.messages.agent),
            number(r.messages.system),
            optional(r.first_response.median_secs),
            optional(r.first_response.p90_secs),
            optional(r.time_to_assignment.median_secs),
            optional(r.time_to_assignment.p90_secs),
            optional(r.resolution.median_secs),
            optional(r.resolution.p90_secs),
            number(r.abandoned),
            optional(r.busiest_hour),
            text(&r.computed_at.to_rfc3339()),
        ]);
    }
    csv
}

/// One agent's day.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentDay {
    #[schema(format = Date)]
    date: String,
    #[schema(value_type = String, format = "uuid")]
    agent_id: UserId,
    name: String,
    /// Chatrooms created that day that the agent holds (or held when they ended).
    chatrooms: u64,
    /// Messages the agent sent that day.
    messages: u64,
    /// Median first response of the agent's chatrooms, in seconds; null when none was answered.
    first_response_median_secs: Option<f64>,
}

/// `GET /reports/agents` as JSON.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentReports {
    #[schema(format = Date)]
    from: String,
    #[schema(format = Date)]
    to: String,
    /// One row per agent and day.
    agents: Vec<AgentDay>,
}

/// One row per agent and day. CSV columns: `date, agent_id, agent_name, chatrooms, messages,
/// first_response_median_secs`.
#[utoipa::path(get, path = "/reports/agents", operation_id = "agent_reports", tag = "reports", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, description = "The agents' days (format=csv: a download)",
            content((AgentReports = "application/json"), (String = "text/csv")),
            headers(("Content-Disposition" = String, description = "format=csv: attachment; filename=parley-agents-<from>-to-<to>.csv"))),
        (status = 400, description = "invalid_date, invalid_range, invalid_format, invalid_query"),
        (status = 401, description = "missing_token, invalid_token, token_expired"),
        (status = 403, description = "permission_denied (analytics:view)"),
        (status = 503, description = "analytics_unavailable (local-dev in memory mode), service_unavailable")))]
pub async fn agents(
    State(state): State<AppState>,
    agent: Agent,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let range = Range::parse(query)?;
    let (from, to) = range.days();
    let reports = state.reports.list(&agent.tenant_id, &from, &to).await?;
    let rows: Vec<AgentDay> = reports
        .iter()
        .flat_map(|report| {
            report.agents.iter().map(|a| AgentDay {
                date: report.date.clone(),
                agent_id: a.agent_id,
                name: a.name.clone(),
                chatrooms: a.chatrooms,
                messages: a.messages,
                first_response_median_secs: a.first_response.median_secs,
            })
        })
        .collect();
    if range.format == Format::Json {
        return Ok(Json(AgentReports { from, to, agents: rows }).into_response());
    }
    let mut csv = Csv::new(&["date", "agent_id", "agent_name", "chatrooms", "messages", "first_response_median_secs"]);
    for row in &rows {
        csv.row(vec![
            text(&row.date),
            text(&row.agent_id.to_string()),
            text(&row.name),
            number(row.chatrooms),
            number(row.messages),
            optional(row.first_response_median_secs),
        ]);
    }
    Ok(csv.into_response(&range.filename("agents")))
}

/// One chatroom with its timings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatroomRow {
    #[schema(value_type = String, format = "uuid")]
    chatroom_id: ChatroomId,
    #[schema(value_type = String, format = "uuid")]
    chatbot_id: ChatbotId,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    status: ChatroomStatus,
    close_reason: Option<CloseReason>,
    #[schema(value_type = Option<String>, format = DateTime)]
    closed_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = "uuid")]
    agent_id: Option<UserId>,
    agent_name: Option<String>,
    visitor_name: String,
    visitor_email: String,
    /// Every message of the chatroom, the system's included.
    messages: u64,
    /// Creation to the first agent taking it; null while nobody did.
    assignment_secs: Option<f64>,
    /// Creation to the first agent message; null when no agent answered.
    first_response_secs: Option<f64>,
    /// Creation to end, whatever ended it; null while open.
    duration_secs: Option<f64>,
}

/// `GET /reports/chatrooms` as JSON.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatroomReports {
    #[schema(format = Date)]
    from: String,
    #[schema(format = Date)]
    to: String,
    /// One row per chatroom created in the range, oldest first, read live.
    chatrooms: Vec<ChatroomRow>,
}

fn secs_between(from: Timestamp, to: Timestamp) -> f64 {
    (to.unix_millis() - from.unix_millis()) as f64 / 1000.0
}

impl From<&Chatroom> for ChatroomRow {
    fn from(room: &Chatroom) -> Self {
        Self {
            chatroom_id: room.id,
            chatbot_id: room.chatbot_id,
            created_at: room.created_at,
            status: room.status,
            close_reason: room.close_reason,
            closed_at: room.closed_at,
            agent_id: room.agent_id,
            agent_name: room.agent_name.clone(),
            visitor_name: room.name.as_str().to_owned(),
            visitor_email: room.email.to_string(),
            messages: room.last_seq,
            assignment_secs: room.assigned_at.map(|at| secs_between(room.created_at, at)),
            first_response_secs: room.first_agent_reply_at.map(|at| secs_between(room.created_at, at)),
            duration_secs: room.closed_at.map(|at| secs_between(room.created_at, at)),
        }
    }
}

/// One row per chatroom created in the range, oldest first, read live (at most 10,000). CSV: the
/// same columns in snake_case.
#[utoipa::path(get, path = "/reports/chatrooms", operation_id = "chatroom_reports", tag = "reports", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, description = "The chatrooms (format=csv: a download)",
            content((ChatroomReports = "application/json"), (String = "text/csv")),
            headers(("Content-Disposition" = String, description = "format=csv: attachment; filename=parley-chatrooms-<from>-to-<to>.csv"))),
        (status = 400, description = "invalid_date, invalid_range, invalid_format, invalid_query"),
        (status = 401, description = "missing_token, invalid_token, token_expired"),
        (status = 403, description = "permission_denied (analytics:view)"),
        (status = 422, description = "too_many_rows: more than 10,000 chatrooms, ask for a shorter range"),
        (status = 503, description = "analytics_unavailable (local-dev in memory mode), service_unavailable")))]
pub async fn chatrooms(
    State(state): State<AppState>,
    agent: Agent,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let range = Range::parse(query)?;
    let (start, _) = day_bounds(range.from);
    let (_, end) = day_bounds(range.to);
    let rooms =
        state.source.list_chatrooms_created_between(&agent.tenant_id, start, end, MAX_CHATROOM_ROWS + 1).await?;
    if rooms.len() > MAX_CHATROOM_ROWS as usize {
        return Err(ApiError::unprocessable(
            "too_many_rows",
            format!("more than {MAX_CHATROOM_ROWS} chatrooms in this range; ask for a shorter one"),
        ));
    }
    let rows: Vec<ChatroomRow> = rooms.iter().map(ChatroomRow::from).collect();
    if range.format == Format::Json {
        let (from, to) = range.days();
        return Ok(Json(ChatroomReports { from, to, chatrooms: rows }).into_response());
    }
    let mut csv = Csv::new(&[
        "chatroom_id",
        "chatbot_id",
        "created_at",
        "status",
        "close_reason",
        "closed_at",
        "agent_id",
        "agent_name",
        "visitor_name",
        "visitor_email",
        "messages",
        "assignment_secs",
        "first_response_secs",
        "duration_secs",
    ]);
    for row in &rows {
        csv.row(vec![
            text(&row.chatroom_id.to_string()),
            text(&row.chatbot_id.to_string()),
            text(&row.created_at.to_rfc3339()),
            text(row.status.as_str()),
            text(row.close_reason.map(|r| r.as_str()).unwrap_or_default()),
            text(&row.closed_at.map(|t| t.to_rfc3339()).unwrap_or_default()),
            text(&row.agent_id.map(|id| id.to_string()).unwrap_or_default()),
            text(row.agent_name.as_deref().unwrap_or_default()),
            text(&row.visitor_name),
            text(&row.visitor_email),
            number(row.messages),
            optional(row.assignment_secs),
            optional(row.first_response_secs),
            optional(row.duration_secs),
        ]);
    }
    Ok(csv.into_response(&range.filename("chatrooms")))
}
