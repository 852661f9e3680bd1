//! Usage reports: one per tenant and day (UTC), computed from MongoDB by a periodic job and
//! stored, so reading a month of them is one query.
//!
//! A day's report counts the chatrooms *created* that day, with their timings (whenever the
//! chatroom ended; the job recomputes the last `PARLEY_REPORT_DAYS` days every run), and the
//! messages *sent* that day:
//!
//! - first response: from the chatroom's creation (the visitor opening the chat) to the first
//!   agent message, over the chatrooms an agent answered; median and p90.
//! - time to assignment: from creation to an agent taking the chatroom (joining it, or accepting
//!   Parley's offer), over the chatrooms an agent took; median and p90.
//! - resolution: from creation to the end, over chatrooms ended by an agent or the visitor
//!   (closed or marked stale); median and p90. Blocked and abandoned chatrooms are not resolved.
//! - abandoned: chatrooms that closed because the visitor left (`visitor_left`).
//! - per agent: the chatrooms they hold (created that day), the messages they sent that day, and
//!   the median first response of their chatrooms.
//! - hours: chatrooms created and messages sent per hour of the day; the busiest hour is the one
//!   with the most chatrooms created (then the most messages; then the earliest).
//!
//! The median of an even count is the mean of the two middle values; p90 is the nearest rank
//! (the smallest value with at least 90% of the values at or below it). Durations are seconds
//! with millisecond precision. FerretDB cannot group by hour or take percentiles, so everything
//! is computed here, in Rust, from the day's chatrooms and messages.

pub mod job;
pub mod store;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shared::domain::{Chatroom, CloseReason, SenderKind, TenantId, Timestamp, UserId};
use time::{Date, OffsetDateTime, Time, format_description::FormatItem, macros::format_description};
use utoipa::ToSchema;

pub use store::ReportStore;

use crate::source::SentMessage;

/// `YYYY-MM-DD`, how days are written in URLs, reports and CSV.
pub const DAY_FORMAT: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// The first instant of `day` (UTC) and the first instant of the next.
pub fn day_bounds(day: Date) -> (Timestamp, Timestamp) {
    let start = OffsetDateTime::new_utc(day, Time::MIDNIGHT);
    let millis = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as i64;
    let next = start + time::Duration::DAY;
    (Timestamp::from_unix_millis(millis(start)), Timestamp::from_unix_millis(millis(next)))
}

pub fn format_day(day: Date) -> String {
    day.format(DAY_FORMAT).unwrap_or_default()
}

/// One tenant's day (UTC): chatrooms created that day with their timings, messages sent that day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DailyReport {
    #[schema(value_type = String, format = "uuid")]
    pub tenant_id: TenantId,
    /// The day, `YYYY-MM-DD` (UTC).
    #[schema(format = Date)]
    pub date: String,
    /// When the report job computed it (it recomputes the last days every run).
    #[schema(value_type = String, format = DateTime)]
    pub computed_at: Timestamp,
    /// Chatrooms created that day.
    pub chatrooms: u64,
    pub messages: MessageCounts,
    pub first_response: Timings,
    /// From the visitor opening the chat to an agent taking it. (Reports computed before it was
    /// recorded have none.)
    #[serde(default)]
    pub time_to_assignment: Timings,
    pub resolution: Timings,
    /// Chatrooms that closed because the visitor left.
    pub abandoned: u64,
    pub agents: Vec<AgentLoad>,
    /// 24 entries, hour 0 to 23 (UTC).
    pub hours: Vec<HourLoad>,
    /// The hour (0 to 23) with the most chatrooms created (then messages; then the earliest);
    /// null on an empty day.
    pub busiest_hour: Option<u8>,
}

/// Messages by sender.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageCounts {
    pub visitor: u64,
    pub agent: u64,
    pub system: u64,
}

impl MessageCounts {
    pub fn total(&self) -> u64 {
        self.visitor + self.agent + self.system
    }

    fn count(&mut self, kind: SenderKind) {
        match kind {
            SenderKind::Visitor => self.visitor += 1,
            SenderKind::Agent => self.agent += 1,
            SenderKind::System => self.system += 1,
        }
    }
}

/// Durations over a set of chatrooms, in seconds; null when the set is empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    pub count: u64,
    pub median_secs: Option<f64>,
    pub p90_secs: Option<f64>,
}

impl Timings {
    /// The timings of `millis` (in any order).
    pub fn of(mut millis: Vec<i64>) -> Self {
        millis.sort_unstable();
        let n = millis.len();
        let median = (n > 0).then(|| {
            let middle =
                if n % 2 == 1 { millis[n / 2] as f64 } else { (millis[n / 2 - 1] + millis[n / 2]) as f64 / 2.0 };
            secs(middle)
        });
        // Nearest rank: the ceil(0.9 n)-th smallest.
        let p90 = (n > 0).then(|| secs(millis[(n * 9).div_ceil(10) - 1] as f64));
        Self { count: n as u64, median_secs: median, p90_secs: p90 }
    }
}

/// Milliseconds as seconds, to the millisecond (a median can fall on a half).
pub fn secs(ms: f64) -> f64 {
    ms.round() / 1000.0
}

/// One agent's share of a day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentLoad {
    #[schema(value_type = String, format = "uuid")]
    pub agent_id: UserId,
    pub name: String,
    /// Chatrooms created that day that the agent holds (or held when they ended).
    pub chatrooms: u64,
    /// Messages the agent sent that day.
    pub messages: u64,
    /// First response of the agent's chatrooms.
    pub first_response: Timings,
}

/// One hour of a day (UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HourLoad {
    /// 0 to 23.
    pub hour: u8,
    pub chatrooms: u64,
    pub messages: u64,
}

fn hour_of(at: Timestamp) -> usize {
    usize::from(at.as_offset_date_time().hour())
}

fn millis_between(from: Timestamp, to: Timestamp) -> i64 {
    to.unix_millis() - from.unix_millis()
}

fn is_resolved(reason: Option<CloseReason>) -> bool {
    matches!(reason, Some(CloseReason::ClosedByAgent | CloseReason::ClosedByVisitor | CloseReason::MarkedStale))
}

/// The report of `tenant` for `day`, from the chatrooms created that day and the messages sent
/// that day.
pub fn compute(
    tenant: TenantId,
    day: Date,
    chatrooms: &[Chatroom],
    messages: &[SentMessage],
    computed_at: Timestamp,
) -> DailyReport {
    let mut hours: Vec<HourLoad> = (0..24).map(|hour| HourLoad { hour, ..HourLoad::default() }).collect();
    let mut counts = MessageCounts::default();
    let mut agents: BTreeMap<UserId, (String, u64, u64, Vec<i64>)> = BTreeMap::new();
    for message in messages {
        counts.count(message.sender.kind);
        hours[hour_of(message.sent_at)].messages += 1;
        if message.sender.kind == SenderKind::Agent
            && let Some(id) = message.sender.id.as_deref().and_then(|id| id.parse::<UserId>().ok())
        {
            let entry = agents.entry(id).or_insert_with(|| (message.sender.name.clone(), 0, 0, Vec::new()));
            entry.2 += 1;
        }
    }
    let (mut first_responses, mut assignments, mut resolutions, mut abandoned) =
        (Vec::new(), Vec::new(), Vec::new(), 0);
    for room in chatrooms {
        hours[hour_of(room.created_at)].chatrooms += 1;
        let first_response = room.first_agent_reply_at.map(|at| millis_between(room.created_at, at));
        first_responses.extend(first_response);
        assignments.extend(room.assigned_at.map(|at| millis_between(room.created_at, at)));
        if is_resolved(room.close_reason)
            && let Some(closed) = room.closed_at
        {
            resolutions.push(millis_between(room.created_at, closed));
        }
        if room.close_reason == Some(CloseReason::VisitorLeft) {
            abandoned += 1;
        }
        if let Some(agent) = room.agent() {
            let entry = agents.entry(agent.id).or_insert_with(|| (agent.name.clone(), 0, 0, Vec::new()));
            entry.0 = agent.name.clone();
            entry.1 += 1;
            entry.3.extend(first_response);
        }
    }
    let busiest_hour = hours
        .iter()
        .filter(|h| h.chatrooms + h.messages > 0)
        .max_by(|a, b| (a.chatrooms, a.messages).cmp(&(b.chatrooms, b.messages)).then(b.hour.cmp(&a.hour)))
        .map(|h| h.hour);
    let mut agents: Vec<AgentLoad> = agents
        .into_iter()
        .map(|(agent_id, (name, chatrooms, messages, responses))| AgentLoad {
            agent_id,
            name,
            chatrooms,
            messages,
            first_response: Timings::of(responses),
        })
        .collect();
    agents.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.agent_id.to_string().cmp(&b.agent_id.to_string())));
    DailyReport {
        tenant_id: tenant,
        date: format_day(day),
        computed_at,
        chatrooms: chatrooms.len() as u64,
        messages: counts,
        first_response: Timings::of(first_responses),
        time_to_assignment: Timings::of(assignments),
        resolution: Timings::of(resolutions),
        abandoned,
        agents,
        hours,
        busiest_hour,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_average_the_middle_pair_and_p90_is_the_nearest_rank() {
        let t = Timings::of(vec![4_000, 1_000, 3_000, 2_000]);
        assert_eq!((t.count, t.median_secs, t.p90_secs), (4, Some(2.5), Some(4.0)));
        let t = Timings::of((1..=10).map(|s| s * 1_000).collect());
        assert_eq!((t.median_secs, t.p90_secs), (Some(5.5), Some(9.0)));
        let t = Timings::of(vec![1_234]);
        assert_eq!((t.median_secs, t.p90_secs), (Some(1.234), Some(1.234)));
        assert_eq!(Timings::of(vec![]), Timings { count: 0, median_secs: None, p90_secs: None });
    }

    #[test]
    fn a_day_is_bounded_by_utc_midnights() {
        let day = Date::from_calendar_date(2026, time::Month::November, 24).unwrap();
        let (start, end) = day_bounds(day);
        assert_eq!(
            (start.to_rfc3339(), end.to_rfc3339()),
            ("2026-11-24T00:00:00Z".into(), "2026-11-25T00:00:00Z".into())
        );
        assert_eq!(format_day(day), "2026-11-24");
    }
}
