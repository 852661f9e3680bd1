//! Streaming chatroom and message events to Tinybird's Events API.
//!
//! [`handle`] is the one core: events in, one flat [`Row`] per event, POSTed as NDJSON to
//! `{url}/v0/events?name={datasource}&wait=true` in requests of at most `batch_rows` rows, the
//! token in an `Authorization: Bearer` header (never in the URL or a log line). Two thin adapters
//! feed it: [`lambda`] (a Kafka-triggered Lambda: one `handle` call per batch) and [`consumer`]
//! (a consumer group when self-hosted, batched by [`shared::events::consume_batches`]).
//!
//! Delivery is at least once. `wait=true` makes Tinybird answer only once the rows are written,
//! so an answer of success means stored. A throttled (429) or failing (5xx, unreachable) Tinybird
//! is retried a few times with backoff; after that, and on any other refusal (a bad token, a
//! missing datasource), `handle` answers an error and the adapter delivers the whole batch again
//! later (Lambda retries the batch, the consumer retries it in place): nothing is dropped. Rows
//! sent twice that way, or by a request that timed out after Tinybird stored it, collapse into one:
//! the datasource (`infra/tinybird/datasources/parley_events.datasource`) is a
//! `ReplacingMergeTree` sorted by `(tenant_id, event_id)`.
//!
//! [`pipes`] reads the other way: it runs the pipes of `infra/tinybird` for one tenant, for the
//! console's real-time charts.
//!
//! What a row carries is an allowlist of ids, kinds, counts and states. Never a message's text,
//! the visitor's name, email or address, or a token; the `tenants` topic (password-reset tokens,
//! invitations) is not streamed at all.

pub mod consumer;
pub mod lambda;
pub mod pipes;

use std::{sync::Arc, time::Duration};

use reqwest::{
    StatusCode, Url,
    header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER},
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::{
    domain::SenderKind,
    error::ServiceError,
    events::{Envelope, Event, EventError, Topic},
};
use time::{UtcOffset, format_description::BorrowedFormatItem, macros::format_description};

use crate::config::TinybirdConfig;

/// The topics streamed to Tinybird. Not `tenants`: its events carry password-reset tokens and
/// invitations.
pub const STREAMED: [Topic; 2] = [Topic::Chatrooms, Topic::Messages];

/// Whether a topic, named with whatever prefix the deployment uses, is one of [`STREAMED`].
pub fn is_streamed(topic: &str) -> bool {
    STREAMED.iter().any(|t| topic.ends_with(t.base_name()))
}

/// How many times one request is tried before `handle` gives the batch back.
const ATTEMPTS: u32 = 4;
/// The pause after the first failed attempt; it doubles after each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest pause a `Retry-After` header may impose.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// The most of Tinybird's error message that goes into an error or a log line.
const MAX_ERROR_CHARS: usize = 300;

/// What streams to Tinybird: an HTTP client, the endpoint and the token. Cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// `{url}/v0/events?name={datasource}&wait=true`: no credentials in it.
    endpoint: Url,
    /// `Bearer <token>`, marked sensitive so that it never shows in a `Debug` output.
    authorization: HeaderValue,
    /// Kept to blank it out of anything Tinybird answers.
    token: SecretString,
    batch_rows: usize,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("batch_rows", &self.inner.batch_rows)
            .finish_non_exhaustive()
    }
}

impl Ingest {
    /// Checks the configuration and sets the HTTP client up; nothing is sent yet.
    pub fn new(config: &TinybirdConfig) -> Result<Self, ServiceError> {
        let bad = |reason: String| ServiceError::misconfigured("Tinybird", reason);
        if !is_datasource_name(&config.datasource) {
            return Err(bad(format!(
                "PARLEY_TINYBIRD_DATASOURCE: expected letters, digits and underscores, starting with a letter (got {:?})",
                config.datasource
            )));
        }
        let mut endpoint = Url::parse(&format!("{}/v0/events", config.url))
            .map_err(|e| bad(format!("PARLEY_TINYBIRD_URL: {e} (got {:?})", config.url)))?;
        endpoint.query_pairs_mut().append_pair("name", &config.datasource).append_pair("wait", "true");
        let authorization = bearer(&config.token, "PARLEY_TINYBIRD_TOKEN")?;
        let http = client(Duration::from_secs(30))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                endpoint,
                authorization,
                token: config.token.clone(),
                batch_rows: config.batch_rows.max(1),
            }),
        })
    }
}

/// `Bearer <token>`, marked sensitive so that it never shows in a `Debug` output.
fn bearer(token: &SecretString, var: &str) -> Result<HeaderValue, ServiceError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
        .map_err(|_| ServiceError::misconfigured("Tinybird", format!("{var}: not usable in an HTTP header")))?;
    value.set_sensitive(true);
    Ok(value)
}

/// An HTTP client for Tinybird's API: no redirects followed (a token is never sent elsewhere).
fn client(timeout: Duration) -> Result<reqwest::Client, ServiceError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ServiceError::misconfigured("Tinybird", format!("the HTTP client: {e}")))
}

fn is_datasource_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 128
}

/// One event as Tinybird stores it: flat, snake_case, the same fields for every kind of event
/// (kinds the datasource does not know yet are sent too). Fields an event does not have are null.
/// The datasource declares exactly these fields (a unit test checks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub event_id: String,
    pub event_type: String,
    pub tenant_id: String,
    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-25T10:15:30.120Z`.
    pub occurred_at: String,
    pub chatroom_id: Option<String>,
    pub chatbot_id: Option<String>,
    /// The agent the event is about: who joined or left, who sent the message, who ended the
    /// chatroom.
    pub agent_id: Option<String>,
    /// `message.sent`: `visitor`, `agent` or `system`.
    pub sender_kind: Option<String>,
    /// `message.sent`: the message's number in its chatroom.
    pub seq: Option<u64>,
    /// `message.sent`: the text's length in characters (the text itself is never sent).
    pub message_length: Option<u64>,
    /// `chatroom.assigned` and `chatroom.unclaimed`: how long the visitor had waited.
    pub waited_ms: Option<u64>,
    /// The chatroom's close reason, on the events that end it.
    pub close_reason: Option<String>,
    /// The chatroom's status, on the events that carry it (`chatroom.resumed`).
    pub status: Option<String>,
    /// `chatroom.created`: the family of the visitor's browser (`Chrome`, `Firefox`, ...), as the
    /// socket-node read it from the user agent; never the user agent itself.
    pub browser: Option<String>,
    /// `chatroom.created`: the family of the visitor's operating system (`iOS`, `Windows`, ...).
    pub os: Option<String>,
}

const OCCURRED_AT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

impl Row {
    /// The row of an event, or `None` when its data does not fit its type (it can never be
    /// streamed; logged). A kind this build does not know (a newer producer) still gets a row,
    /// with the chatroom and chatbot ids every chatroom event names the same way.
    pub fn from_envelope(envelope: &Envelope) -> Option<Self> {
        let occurred_at = envelope.occurred_at.as_offset_date_time().to_offset(UtcOffset::UTC);
        let mut row = Self {
            event_id: envelope.id.to_string(),
            event_type: envelope.event_type.clone(),
            tenant_id: envelope.tenant_id.to_string(),
            occurred_at: occurred_at.format(OCCURRED_AT).unwrap_or_else(|_| envelope.occurred_at.to_rfc3339()),
            chatroom_id: None,
            chatbot_id: None,
            agent_id: None,
            sender_kind: None,
            seq: None,
            message_length: None,
            waited_ms: None,
            close_reason: None,
            status: None,
            browser: None,
            os: None,
        };
        let event = match envelope.event() {
            Ok(event) => event,
            Err(EventError::Unknown(_)) => {
                let ids = UnknownKind::deserialize(&envelope.data).unwrap_or_default();
                return Some(Self { chatroom_id: ids.chatroom_id, chatbot_id: ids.chatbot_id, ..row });
            }
            Err(err @ EventError::Malformed { .. }) => {
                tracing::error!(event_id = %envelope.id, error = %err, "skipping an event whose data is unusable");
                return None;
            }
        };
        let waited = |ms: i64| u64::try_from(ms).ok();
        match event {
            Event::ChatroomCreated(e) => {
                row.chatroom_id = Some(e.chatroom_id.to_string());
                row.chatbot_id = Some(e.chatbot_id.to_string());
                row.browser = e.visitor.browser;
                row.os = e.visitor.os;
            }
            Event::ChatroomAssigned(e) => {
                row.chatroom_id = Some(e.chatroom_id.to_string());
                row.agent_id = Some(e.agent_id.to_string());
                row.waited_ms = waited(e.waited_ms);
            }
            Event::ChatroomAgentLeft(e) => {
                row.chatroom_id = Some(e.chatroom_id.to_string());
                row.agent_id = Some(e.agent_id.to_string());
            }
            Event::ChatroomOffered(e) => {
                row.chatroom_id = Some(e.chatroom_id.to_string());
                row.agent_id = Some(e.agent_id.to_string());
            }
            Event::ChatroomTransferred(e) => {
                row.chatroom_id = Some(e.chatroom_id.to_string());
                row.agent_id = e.to_agent_id.map(|id| id.to_string());
            }
            Event::ChatroomStandby(e) => row.chatroom_id = Some(e.chatroom_id.to_string()),
            Event::ChatroomResumed(e) => {
                row.chatroom_id = Some(e.chatroom_id.to_string());
                row.status = Some(e.status.as_str().to_owned());
            }
            Event::ChatroomClosed(e) | Event::ChatroomMarkedStale(e) | Event::ChatroomBlocked(e) => {
                row.chatroom_id = Some(e.chatroom_id.to_string());
                row.agent_id = (e.by.kind == SenderKind::Agent).then_some(e.by.id).flatten();
                row.close_reason = Some(e.reason.as_str().to_owned());
            }
            Event::ChatroomUnclaimed(e) => {
                row.chatroom_id = Some(e.chatroom_id.to_string());
                row.chatbot_id = Some(e.chatbot_id.to_string());
                row.waited_ms = waited(e.waited_ms);
            }
            Event::BlockLifted(e) => {
                row.chatroom_id = Some(e.chatroom_id.to_string());
                row.chatbot_id = Some(e.chatbot_id.to_string());
                row.agent_id = Some(e.lifted_by.to_string());
            }
            Event::MessageSent(e) => {
                row.chatroom_id = Some(e.chatroom_id.to_string());
                row.agent_id = (e.sender.kind == SenderKind::Agent).then_some(e.sender.id).flatten();
                row.sender_kind = Some(e.sender.kind.as_str().to_owned());
                row.seq = Some(e.seq);
                row.message_length = Some(e.message.chars().count() as u64);
            }
            // Not on a streamed topic: the envelope's fields are all a row would take.
            Event::TenantCreated(_)
            | Event::TenantUpdated(_)
            | Event::UserInvited(_)
            | Event::UserUpdated(_)
            | Event::UserDeleted(_)
            | Event::RoleCreated(_)
            | Event::RoleUpdated(_)
            | Event::RoleDeleted(_)
            | Event::PasswordResetRequested(_)
            | Event::ChatbotCreated(_)
            | Event::ChatbotUpdated(_)
            | Event::ChatbotDeleted(_)
            | Event::ChatbotKeyRotated(_)
            | Event::EmailDeadLettered(_) => {}
        }
        Some(row)
    }
}

/// What a row takes from an event of a kind this build does not know.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UnknownKind {
    chatroom_id: Option<String>,
    chatbot_id: Option<String>,
}

/// What `handle` sent.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub rows: usize,
    pub requests: usize,
    /// Rows Tinybird took but could not fit the datasource's schema: they sit in its quarantine
    /// table (`parley_events_quarantine`), logged as a warning.
    pub quarantined: usize,
}

/// Why the batch must be delivered again later.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Tinybird refused the request (400, 401, 403, 404, ...): a bad token, a missing datasource,
    /// a request it cannot read. Retrying will not help until the configuration is fixed; the
    /// events wait in Kafka meanwhile.
    #[error("Tinybird refused the rows: {status}{}", detail(.error))]
    Refused { status: StatusCode, error: Option<String> },
    /// Tinybird throttled (429), failed (5xx) or could not be reached on every attempt.
    #[error("Tinybird did not take the rows after {attempts} attempts: {reason}")]
    Unavailable { attempts: u32, reason: String },
    #[error("a row could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

fn detail(error: &Option<String>) -> String {
    error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
}

/// Sends one row per event, in order, in requests of at most `batch_rows` rows. An error means
/// the events must be delivered again (the requests before the failing one may have been stored:
/// their rows collapse with the redelivered ones).
#[tracing::instrument(skip_all, fields(events = events.len()))]
pub async fn handle(ingest: &Ingest, events: &[Envelope]) -> Result<Sent, IngestError> {
    let mut sent = Sent::default();
    for chunk in events.chunks(ingest.inner.batch_rows) {
        let mut body = Vec::new();
        let mut rows = 0;
        for row in chunk.iter().filter_map(Row::from_envelope) {
            serde_json::to_writer(&mut body, &row)?;
            body.push(b'\n');
            rows += 1;
        }
        if rows == 0 {
            continue;
        }
        let answer = ingest.post(body).await?;
        let quarantined = answer.quarantined_rows.unwrap_or(0) as usize;
        if quarantined > 0 {
            tracing::warn!(
                quarantined,
                successful = answer.successful_rows,
                "Tinybird quarantined rows that do not fit the datasource; see its quarantine table"
            );
        }
        sent.rows += rows;
        sent.requests += 1;
        sent.quarantined += quarantined;
    }
    if sent.rows > 0 {
        tracing::debug!(rows = sent.rows, requests = sent.requests, "events streamed to Tinybird");
    }
    Ok(sent)
}

/// Tinybird's answer to a request it took.
#[derive(Debug, Default, Deserialize)]
struct Answer {
    successful_rows: Option<u64>,
    quarantined_rows: Option<u64>,
}

/// Why one attempt failed.
enum Failure {
    Transient { reason: String, retry_after: Option<Duration> },
    Refused { status: StatusCode, error: Option<String> },
}

impl Ingest {
    /// POSTs one NDJSON body, retrying what may pass later.
    async fn post(&self, body: Vec<u8>) -> Result<Answer, IngestError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (reason, retry_after) = match self.post_once(body.clone()).await {
                Ok(answer) => return Ok(answer),
                Err(Failure::Refused { status, error }) => return Err(IngestError::Refused { status, error }),
                Err(Failure::Transient { reason, retry_after }) => (reason, retry_after),
            };
            if attempt >= ATTEMPTS {
                return Err(IngestError::Unavailable { attempts: attempt, reason });
            }
            let pause = retry_after.map_or(FIRST_BACKOFF * 2u32.pow(attempt - 1), |after| after.min(MAX_RETRY_AFTER));
            tracing::warn!(attempt, retry_in_ms = pause.as_millis() as u64, error = %reason, "Tinybird did not take the rows; retrying");
            tokio::time::sleep(pause).await;
        }
    }

    async fn post_once(&self, body: Vec<u8>) -> Result<Answer, Failure> {
        let inner = &self.inner;
        let response = inner
            .http
            .post(inner.endpoint.clone())
            .header(AUTHORIZATION, inner.authorization.clone())
            .header(CONTENT_TYPE, "application/x-ndjson")
            .body(body)
            .send()
            .await
            .map_err(|e| Failure::Transient { reason: causes(&e.without_url()), retry_after: None })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // A body that cannot be read leaves the answer's counts unknown, nothing more.
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(serde_json::from_str(&text).unwrap_or_default());
        }
        let error = self.error_of(&text);
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT || status.is_server_error()
        {
            return Err(Failure::Transient { reason: format!("{status}{}", detail(&error)), retry_after });
        }
        Err(Failure::Refused { status, error })
    }

    fn error_of(&self, body: &str) -> Option<String> {
        error_of(body, &self.inner.token)
    }
}

/// The `error` field of Tinybird's answer, shortened, with the token blanked out should Tinybird
/// ever echo it.
fn error_of(body: &str, token: &SecretString) -> Option<String> {
    let error = serde_json::from_str::<Value>(body).ok()?.get("error")?.as_str()?.to_owned();
    let token = token.expose_secret();
    let error = if token.is_empty() { error } else { error.replace(token, "[token]") };
    Some(error.chars().take(MAX_ERROR_CHARS).collect())
}

/// An error and its causes on one line (reqwest's own message says little: "error sending
/// request").
fn causes(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;
    use shared::{
        domain::{ChatroomId, MessageId, Sender, TenantId, Timestamp},
        events::{MessageSent, OutgoingEvent},
    };

    use super::*;

    const DATASOURCE: &str = include_str!("../../../../infra/tinybird/datasources/parley_events.datasource");

    /// The datasource's columns: `json:$.<field>` path → column type.
    fn columns() -> BTreeMap<String, String> {
        let schema = DATASOURCE.split("SCHEMA >").nth(1).expect("a SCHEMA block");
        schema
            .lines()
            .skip(1)
            .take_while(|line| line.starts_with(' ') || line.starts_with('\t'))
            .map(|line| {
                let (_, rest) = line.trim().trim_end_matches(',').split_once("` ").expect("`name` Type `json:$.path`");
                let (kind, path) = rest.split_once(" `json:$.").expect("a json path");
                (path.trim_end_matches('`').to_owned(), kind.trim().to_owned())
            })
            .collect()
    }

    fn envelope(event_type: &str, data: Value) -> Envelope {
        Envelope {
            id: shared::domain::EventId::new(),
            event_type: event_type.to_owned(),
            tenant_id: TenantId::new(),
            occurred_at: Timestamp::from_unix_millis(1_795_600_800_120),
            data,
        }
    }

    #[test]
    fn the_datasource_declares_every_field_a_row_carries_and_no_other() {
        let columns = columns();
        let row = Row::from_envelope(&envelope("chatroom.rated", json!({}))).expect("a row");
        let row = serde_json::to_value(row).unwrap();
        let row = row.as_object().unwrap();
        let fields: Vec<&String> = row.keys().collect();
        let paths: Vec<&String> = columns.keys().collect();
        let mut sorted = fields.clone();
        sorted.sort();
        assert_eq!(sorted, paths, "the rows' fields and the datasource's json paths differ");
        // What an event may leave out is Nullable there; what every row has is not.
        for (field, value) in row {
            let nullable = columns[field].contains("Nullable(");
            assert_eq!(value.is_null(), nullable, "{field}: {} for a value of {value}", columns[field]);
        }
    }

    #[test]
    fn the_datasource_collapses_redelivered_events() {
        assert!(DATASOURCE.contains("ENGINE ReplacingMergeTree\n"), "{DATASOURCE}");
        assert!(DATASOURCE.contains("ENGINE_SORTING_KEY tenant_id, event_id\n"), "{DATASOURCE}");
    }

    fn message_sent(sender: Sender) -> Envelope {
        let event = MessageSent {
            chatroom_id: ChatroomId::new(),
            message_id: MessageId::new(),
            seq: 7,
            client_msg_id: "x".parse().unwrap(),
            sender,
            message: "héllo".into(),
            sent_at: Timestamp::now(),
        };
        let envelope = OutgoingEvent::new(TenantId::new(), Event::MessageSent(event)).envelope;
        Envelope { occurred_at: Timestamp::from_unix_millis(1_795_600_800_120), ..envelope }
    }

    #[test]
    fn a_row_carries_ids_kinds_and_counts_and_never_the_text() {
        let agent = shared::domain::UserId::new().to_string();
        let sent = message_sent(Sender { kind: SenderKind::Agent, id: Some(agent.clone()), name: "Ivy".into() });
        let row = Row::from_envelope(&sent).unwrap();
        assert_eq!(row.occurred_at, "2026-11-25T10:00:00.120Z");
        let on_the_second = Envelope { occurred_at: Timestamp::from_unix_millis(1_795_600_800_000), ..sent.clone() };
        assert_eq!(
            Row::from_envelope(&on_the_second).unwrap().occurred_at,
            "2026-11-25T10:00:00.000Z",
            "always milliseconds"
        );
        assert_eq!(
            (row.sender_kind.as_deref(), row.seq, row.message_length, row.agent_id.as_deref()),
            (Some("agent"), Some(7), Some(5), Some(agent.as_str()))
        );
        let line = serde_json::to_string(&row).unwrap();
        assert!(!line.contains("héllo") && !line.contains("Ivy"), "{line}");

        // A visitor's sender id is not an agent id.
        let from_visitor =
            message_sent(Sender { kind: SenderKind::Visitor, id: Some("v@x.test".into()), name: "V".into() });
        assert_eq!(Row::from_envelope(&from_visitor).unwrap().agent_id, None);
        // A kind this build does not know keeps the ids every chatroom event shares, nothing else.
        let other = envelope("chatroom.rated", json!({"chatroomId": "c1", "seq": 3, "message": "hi", "stars": 5}));
        let row = Row::from_envelope(&other).unwrap();
        assert_eq!((row.chatroom_id.as_deref(), row.seq, row.message_length), (Some("c1"), None, None));
        // Data that does not fit its kind makes no row.
        assert_eq!(Row::from_envelope(&envelope("message.sent", json!({"seq": "seven"}))), None);
    }

    #[test]
    fn topics_are_recognised_under_any_prefix() {
        assert!(is_streamed("chatrooms") && is_streamed("prod.messages") && is_streamed("test_1.chatrooms"));
        assert!(!is_streamed("prod.tenants") && !is_streamed("emails.dlq") && !is_streamed("messages.tenants"));
    }

    #[test]
    fn datasource_names_are_checked() {
        assert!(is_datasource_name("parley_events") && is_datasource_name("Events2"));
        assert!(!is_datasource_name("") && !is_datasource_name("1x") && !is_datasource_name("a&b=c"));
    }
}
