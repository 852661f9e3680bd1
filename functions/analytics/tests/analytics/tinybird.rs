//! Streaming to Tinybird against a local Tinybird stand-in: Tinybird's Events API cannot be
//! reached from here, so a small server answers `POST /v0/events` the way Tinybird does. It
//! checks what it is sent (the path, the datasource's name, the bearer token, the content type,
//! and every NDJSON line against the columns of `infra/tinybird/datasources/parley_events.datasource`),
//! keeps the rows, and can be told to answer with an error first. Each test says so in its name.

use std::{
    collections::{BTreeSet, HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use analytics::{
    config::TinybirdConfig,
    tinybird::{Ingest, IngestError, consumer, handle, lambda},
};
use aws_lambda_events::event::kafka::KafkaEvent;
use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::{
    domain::{EventId, TenantId, Timestamp, UserId},
    events::{Envelope, EventPublisher, KafkaPublisher, OutgoingEvent, Topic, ensure_topics},
    testing::{EVENT_TIMEOUT, eventually, kafka_config, lambda::kafka_record, random_string, unique_email},
};

/// A visitor's user agent: only the families it names (Firefox, Linux) are streamed.
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

const DATASOURCE_FILE: &str = include_str!("../../../../infra/tinybird/datasources/parley_events.datasource");

/// The `json:$.<field>` paths the datasource declares: exactly the fields a line must have.
fn datasource_fields() -> BTreeSet<String> {
    DATASOURCE_FILE
        .lines()
        .filter_map(|line| line.split("`json:$.").nth(1))
        .map(|rest| rest.split('`').next().unwrap_or_default().to_owned())
        .collect()
}

/// An answer the stand-in was told to give before it takes rows again.
#[derive(Clone)]
struct Scripted {
    status: StatusCode,
    retry_after: Option<u64>,
    error: &'static str,
}

/// What the stand-in saw.
#[derive(Default)]
struct Seen {
    /// Every request's body, as sent, and what the stand-in answered.
    requests: Vec<(String, StatusCode)>,
    /// The rows of the requests it took, in order, one `Vec` per request.
    batches: Vec<Vec<Value>>,
    /// What was wrong with requests it refused on its own.
    problems: Vec<String>,
    script: VecDeque<Scripted>,
}

#[derive(Clone)]
struct Shared {
    token: String,
    datasource: String,
    fields: Arc<BTreeSet<String>>,
    seen: Arc<Mutex<Seen>>,
}

/// The local Tinybird stand-in.
pub(crate) struct EventsStandIn {
    url: String,
    shared: Shared,
}

impl EventsStandIn {
    pub(crate) async fn start() -> Self {
        let shared = Shared {
            token: format!("p.{}", random_string(40)),
            datasource: format!("parley_events_{}", random_string(8)),
            fields: Arc::new(datasource_fields()),
            seen: Arc::default(),
        };
        let app = Router::new().route("/v0/events", post(events)).with_state(shared.clone());
        Self { url: shared::testing::serve(app).await, shared }
    }

    /// The function's settings for this stand-in.
    pub(crate) fn config(&self, batch_rows: usize) -> TinybirdConfig {
        TinybirdConfig {
            url: self.url.clone(),
            token: SecretString::from(self.shared.token.clone()),
            datasource: self.shared.datasource.clone(),
            batch_rows,
            batch_wait: Duration::from_millis(300),
            group_id: format!("tinybird-{}", random_string(12)),
        }
    }

    fn ingest(&self, batch_rows: usize) -> Ingest {
        Ingest::new(&self.config(batch_rows)).expect("a valid Tinybird configuration")
    }

    /// The next requests are answered with `answers`, in order, and their rows are not kept.
    fn answer_first(&self, answers: &[Scripted]) {
        self.shared.seen.lock().unwrap().script.extend(answers.iter().cloned());
    }

    /// The rows taken, one `Vec` per request, after checking nothing malformed was sent.
    fn batches(&self) -> Vec<Vec<Value>> {
        let seen = self.shared.seen.lock().unwrap();
        assert!(seen.problems.is_empty(), "the stand-in refused requests: {:?}", seen.problems);
        seen.batches.clone()
    }

    pub(crate) fn rows(&self) -> Vec<Value> {
        self.batches().into_iter().flatten().collect()
    }

    /// The status of every request, in order.
    fn answers(&self) -> Vec<u16> {
        self.shared.seen.lock().unwrap().requests.iter().map(|(_, status)| status.as_u16()).collect()
    }

    /// Every body sent, refused ones too.
    fn bodies(&self) -> String {
        self.shared.seen.lock().unwrap().requests.iter().map(|(body, _)| body.as_str()).collect::<Vec<_>>().join("")
    }
}

fn refusal(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

/// `POST /v0/events`, as Tinybird answers it (`wait=true`: 200 once written, else 202).
async fn events(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut seen = shared.seen.lock().unwrap();
    let (status, response) = answer(&shared, &mut seen, &query, &headers, &body);
    seen.requests.push((body, status));
    response
}

fn answer(
    shared: &Shared,
    seen: &mut Seen,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &str,
) -> (StatusCode, Response) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let authorization = header("authorization");
    if authorization != format!("Bearer {}", shared.token) {
        // Echoing the token it got: the worst an API could do with it.
        let error = format!("invalid authentication token {:?}", authorization.trim_start_matches("Bearer "));
        return (StatusCode::FORBIDDEN, refusal(StatusCode::FORBIDDEN, &error));
    }
    if query.get("name") != Some(&shared.datasource) {
        let error = format!("Data Source {:?} not found", query.get("name"));
        return (StatusCode::NOT_FOUND, refusal(StatusCode::NOT_FOUND, &error));
    }
    let mut problem = None;
    if header("content-type") != "application/x-ndjson" {
        problem = Some(format!("content type {:?}", header("content-type")));
    } else if !body.ends_with('\n') {
        problem = Some("the last line does not end with a newline".to_owned());
    }
    let mut rows = Vec::new();
    for line in body.lines() {
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(row)) if row.keys().cloned().collect::<BTreeSet<_>>() == *shared.fields => {
                rows.push(Value::Object(row));
            }
            _ => problem = Some(format!("a line that does not match the datasource: {line}")),
        }
    }
    if let Some(problem) = problem {
        seen.problems.push(problem.clone());
        return (StatusCode::BAD_REQUEST, refusal(StatusCode::BAD_REQUEST, &problem));
    }
    if let Some(scripted) = seen.script.pop_front() {
        let mut response = refusal(scripted.status, scripted.error);
        if let Some(seconds) = scripted.retry_after {
            response.headers_mut().insert("retry-after", seconds.into());
        }
        return (scripted.status, response);
    }
    let status =
        if query.get("wait").map(String::as_str) == Some("true") { StatusCode::OK } else { StatusCode::ACCEPTED };
    let answer = json!({ "successful_rows": rows.len(), "quarantined_rows": 0 });
    seen.batches.push(rows);
    (status, (status, Json(answer)).into_response())
}

/// What the test's events carry that must never reach Tinybird.
struct Private {
    visitor_email: String,
    visitor_name: &'static str,
    visitor_ip: &'static str,
    text: &'static str,
}

impl Private {
    fn new() -> Self {
        Self {
            visitor_email: unique_email("vera"),
            visitor_name: "Vera Visitorson",
            visitor_ip: "203.0.113.77",
            text: "my order 4411-SECRET never arrived",
        }
    }

    fn assert_absent_from(&self, bodies: &str) {
        assert!(!bodies.is_empty(), "nothing was sent");
        for private in
            [self.visitor_email.as_str(), self.visitor_name, self.visitor_ip, self.text, "Ivy Agentova", FIREFOX]
        {
            assert!(!bodies.contains(private), "{private:?} was sent to Tinybird: {bodies}");
        }
    }
}

fn at(event: OutgoingEvent, millis: i64) -> Envelope {
    Envelope { occurred_at: Timestamp::from_unix_millis(millis), ..event.envelope }
}

/// A conversation's events with the data socket-node gives them (`socket-node/src/chat.rs`), at
/// known instants from 2026-11-25T10:00:00.000Z, and a kind of event this code does not know.
fn conversation(tenant: TenantId, private: &Private) -> (Vec<Envelope>, Vec<Value>) {
    let (room, chatbot, agent) =
        ("0193a0f2-7d6e-7c4a-9f3e-5b1a2c3d4e5f", "0193a0f2-0000-7000-8000-000000000001", UserId::new());
    let t0 = 1_795_600_800_000;
    let created = shared::testing::raw_event(
        shared::events::Topic::Chatrooms,
        "chatroom.created",
        tenant,
        room,
        json!({"chatroomId": room, "chatbotId": chatbot, "name": private.visitor_name, "email": private.visitor_email,
               "identityVerified": false,
               "visitor": {"ip": private.visitor_ip, "userAgent": FIREFOX, "browser": "Firefox", "os": "Linux",
                           "pageUrl": "https://acme.test/help"},
               "createdAt": "2026-11-25T10:00:00Z"}),
    );
    let joined = shared::testing::raw_event(
        shared::events::Topic::Chatrooms,
        "chatroom.assigned",
        tenant,
        room,
        json!({"chatroomId": room, "agentId": agent, "agentName": "Ivy Agentova", "waitedMs": 42_000}),
    );
    let from_visitor = shared::testing::raw_event(
        shared::events::Topic::Messages,
        "message.sent",
        tenant,
        room,
        json!({"chatroomId": room, "messageId": EventId::new(), "seq": 3, "clientMsgId": "c-1",
               "sender": {"kind": "visitor", "id": private.visitor_email, "name": private.visitor_name},
               "message": private.text, "sentAt": "2026-11-25T10:01:00Z"}),
    );
    let from_agent = shared::testing::raw_event(
        shared::events::Topic::Messages,
        "message.sent",
        tenant,
        room,
        json!({"chatroomId": room, "messageId": EventId::new(), "seq": 4, "clientMsgId": "c-2",
               "sender": {"kind": "agent", "id": agent, "name": "Ivy Agentova"},
               "message": "Sorry to hear that — checking", "sentAt": "2026-11-25T10:01:30Z"}),
    );
    let closed = shared::testing::raw_event(
        shared::events::Topic::Chatrooms,
        "chatroom.closed",
        tenant,
        room,
        json!({"chatroomId": room, "reason": "closed_by_agent", "by": {"kind": "agent", "id": agent},
               "closedAt": "2026-11-25T10:05:00Z", "transcriptRequested": true}),
    );
    let mut rated = shared::testing::raw_event(
        shared::events::Topic::Chatrooms,
        "chatroom.resumed",
        tenant,
        room,
        json!({"chatroomId": room, "stars": 5}),
    );
    rated.envelope.event_type = "chatroom.rated".to_owned();
    let envelopes = vec![
        at(created, t0),
        at(joined, t0 + 42_000),
        at(from_visitor, t0 + 60_000),
        at(from_agent, t0 + 90_123),
        at(closed, t0 + 300_000),
        at(rated, t0 + 301_000),
    ];
    let row = |envelope: &Envelope, at: &str, fields: Value| {
        let mut row = json!({
            "event_id": envelope.id, "event_type": envelope.event_type, "tenant_id": tenant, "occurred_at": at,
            "chatroom_id": room, "chatbot_id": null, "agent_id": null, "sender_kind": null, "seq": null,
            "message_length": null, "waited_ms": null, "close_reason": null, "status": null, "browser": null,
            "os": null,
        });
        for (name, value) in fields.as_object().unwrap() {
            row[name] = value.clone();
        }
        row
    };
    let agent = agent.to_string();
    let expected = vec![
        row(
            &envelopes[0],
            "2026-11-25T10:00:00.000Z",
            json!({"chatbot_id": chatbot, "browser": "Firefox", "os": "Linux"}),
        ),
        row(&envelopes[1], "2026-11-25T10:00:42.000Z", json!({"agent_id": agent, "waited_ms": 42_000})),
        row(
            &envelopes[2],
            "2026-11-25T10:01:00.000Z",
            json!({"sender_kind": "visitor", "seq": 3, "message_length": private.text.chars().count()}),
        ),
        row(
            &envelopes[3],
            "2026-11-25T10:01:30.123Z",
            json!({"agent_id": agent, "sender_kind": "agent", "seq": 4, "message_length": 29}),
        ),
        row(&envelopes[4], "2026-11-25T10:05:00.000Z", json!({"agent_id": agent, "close_reason": "closed_by_agent"})),
        row(&envelopes[5], "2026-11-25T10:05:01.000Z", json!({})),
    ];
    (envelopes, expected)
}

#[tokio::test]
async fn on_a_local_tinybird_stand_in_handle_sends_one_row_per_event_in_order_in_batches_and_nothing_private() {
    let tinybird = EventsStandIn::start().await;
    let private = Private::new();
    let (envelopes, expected) = conversation(TenantId::new(), &private);

    let sent = handle(&tinybird.ingest(4), &envelopes).await.expect("streamed");
    assert_eq!((sent.rows, sent.requests, sent.quarantined), (6, 2, 0));
    let batches = tinybird.batches();
    assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [4, 2], "ceil(6 / 4) requests");
    assert_eq!(tinybird.rows(), expected, "one row per event, in order, with exactly these fields");
    private.assert_absent_from(&tinybird.bodies());
    assert_eq!(tinybird.answers(), [200, 200], "asked with wait=true, so answered once written");

    // A batch of one row per request, and an empty batch, which sends nothing.
    let tinybird = EventsStandIn::start().await;
    let sent = handle(&tinybird.ingest(1), &envelopes[..3]).await.unwrap();
    assert_eq!((sent.rows, sent.requests), (3, 3));
    assert_eq!(tinybird.rows(), expected[..3]);
    assert_eq!(handle(&tinybird.ingest(1), &[]).await.unwrap().requests, 0);
    assert_eq!(tinybird.answers().len(), 3);
}

const UNAVAILABLE: Scripted =
    Scripted { status: StatusCode::SERVICE_UNAVAILABLE, retry_after: None, error: "Service temporarily unavailable" };

#[tokio::test]
async fn on_a_local_tinybird_stand_in_throttling_and_outages_are_retried_and_the_rows_arrive_once() {
    let tinybird = EventsStandIn::start().await;
    let (envelopes, expected) = conversation(TenantId::new(), &Private::new());
    let throttled =
        Scripted { status: StatusCode::TOO_MANY_REQUESTS, retry_after: Some(1), error: "Too many requests" };
    tinybird.answer_first(&[UNAVAILABLE, throttled]);

    let started = tokio::time::Instant::now();
    let sent = handle(&tinybird.ingest(10), &envelopes).await.expect("streamed after the retries");
    assert_eq!(sent.requests, 1, "one request, tried three times");
    assert_eq!(tinybird.answers(), [503, 429, 200]);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
    assert_eq!(tinybird.rows(), expected, "delivered once");
}

#[tokio::test]
async fn on_a_local_tinybird_stand_in_an_outage_outlasting_the_retries_fails_the_batch_and_its_redelivery_arrives() {
    let tinybird = EventsStandIn::start().await;
    let (envelopes, expected) = conversation(TenantId::new(), &Private::new());
    tinybird.answer_first(&[UNAVAILABLE; 4]);
    let ingest = tinybird.ingest(10);

    let err = handle(&ingest, &envelopes).await.unwrap_err();
    assert!(matches!(err, IngestError::Unavailable { attempts: 4, .. }), "{err:?}");
    assert!(err.to_string().contains("503 Service Unavailable: Service temporarily unavailable"), "{err}");
    assert!(tinybird.rows().is_empty());
    // The adapter delivers the batch again: nothing was dropped.
    handle(&ingest, &envelopes).await.expect("the redelivery");
    assert_eq!(tinybird.rows(), expected);
}

#[tokio::test]
async fn on_a_local_tinybird_stand_in_a_refusal_is_an_error_naming_the_status_and_never_the_token() {
    let tinybird = EventsStandIn::start().await;
    let (envelopes, _) = conversation(TenantId::new(), &Private::new());
    let token = tinybird.shared.token.clone();
    let unauthorized =
        Scripted { status: StatusCode::UNAUTHORIZED, retry_after: None, error: "authentication required" };
    tinybird.answer_first(&[unauthorized]);

    let unauthorized = handle(&tinybird.ingest(10), &envelopes).await.unwrap_err();
    assert_eq!(unauthorized.to_string(), "Tinybird refused the rows: 401 Unauthorized: authentication required");
    assert_eq!(tinybird.answers(), [401], "a refusal is not retried");

    // A token Tinybird does not know (the stand-in echoes it back), and a missing datasource.
    let wrong = format!("p.{}", random_string(40));
    let config = TinybirdConfig { token: SecretString::from(wrong.clone()), ..tinybird.config(10) };
    let forbidden = handle(&Ingest::new(&config).unwrap(), &envelopes).await.unwrap_err();
    assert!(matches!(forbidden, IngestError::Refused { status: StatusCode::FORBIDDEN, .. }), "{forbidden:?}");
    assert!(forbidden.to_string().contains("403 Forbidden: invalid authentication token"), "{forbidden}");
    let config = TinybirdConfig { datasource: "missing".into(), ..tinybird.config(10) };
    let ingest = Ingest::new(&config).unwrap();
    let not_found = handle(&ingest, &envelopes).await.unwrap_err();
    assert!(not_found.to_string().starts_with("Tinybird refused the rows: 404 Not Found: Data Source"), "{not_found}");

    let mut messages = vec![format!("{ingest:?}")];
    for err in [&unauthorized, &forbidden, &not_found] {
        messages.extend([err.to_string(), format!("{err:?}")]);
    }
    for message in messages {
        assert!(!message.contains(&token) && !message.contains(&wrong), "a token in {message}");
    }
    assert!(tinybird.rows().is_empty());
}

/// An envelope as a Kafka record's value holds it.
pub(crate) fn encoded(envelope: &Envelope) -> Vec<u8> {
    serde_json::to_vec(envelope).unwrap()
}

#[tokio::test]
async fn on_a_local_tinybird_stand_in_the_lambda_adapter_streams_a_kafka_batch_in_offset_order() {
    let tinybird = EventsStandIn::start().await;
    let tenant = TenantId::new();
    let private = Private::new();
    let (e, expected) = conversation(tenant, &private);
    let reset_token = format!("pwt_{}", random_string(32));
    let reset = shared::testing::raw_event(
        shared::events::Topic::Tenants,
        "password_reset.requested",
        tenant,
        tenant,
        json!({"userId": UserId::new(), "email": unique_email("ivy"), "token": reset_token}),
    )
    .envelope;
    // Partitions listed out of order and records within them too; topics under a prefix.
    let document = json!({
        "eventSource": "aws:kafka",
        "eventSourceArn": "arn:aws:kafka:eu-west-1:123456789012:cluster/parley/abcd1234-0123-4567-89ab-cdef01234567-1",
        "bootstrapServers": "b-1.parley.abcd12.c2.kafka.eu-west-1.amazonaws.com:9092",
        "records": {
            "prod.messages-1": [
                kafka_record("prod.messages", 1, 8, b"not an envelope"),
                kafka_record("prod.messages", 1, 7, &encoded(&e[3])),
                kafka_record("prod.messages", 1, 6, &encoded(&e[2])),
            ],
            "prod.tenants-0": [kafka_record("prod.tenants", 0, 1, &encoded(&reset))],
            "prod.chatrooms-0": [
                kafka_record("prod.chatrooms", 0, 12, &encoded(&e[4])),
                kafka_record("prod.chatrooms", 0, 10, &encoded(&e[0])),
                kafka_record("prod.chatrooms", 0, 11, &encoded(&e[1])),
            ],
        },
    });
    let event: KafkaEvent = serde_json::from_value(document).expect("the KafkaEvent document");

    let summary = lambda::handle_batch(&tinybird.ingest(100), &event).await.expect("streamed");
    assert_eq!(serde_json::to_value(summary).unwrap(), json!({"records": 7, "streamed": 5, "unreadable": 1}));
    let by_offset = [&expected[0], &expected[1], &expected[4], &expected[2], &expected[3]];
    assert_eq!(tinybird.rows().iter().collect::<Vec<_>>(), by_offset, "(topic, partition, offset) order");
    assert_eq!(tinybird.answers(), [200], "one request for the batch");
    let bodies = tinybird.bodies();
    assert!(!bodies.contains(&reset_token) && !bodies.contains("password_reset"), "the tenants topic is not streamed");
    private.assert_absent_from(&bodies);

    // Tinybird refusing fails the invocation, so that Lambda delivers the batch again.
    let unauthorized =
        Scripted { status: StatusCode::UNAUTHORIZED, retry_after: None, error: "authentication required" };
    tinybird.answer_first(&[unauthorized]);
    let err = lambda::handle_batch(&tinybird.ingest(100), &event).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
}

#[tokio::test]
async fn on_a_local_tinybird_stand_in_the_consumer_group_streams_chatroom_and_message_events_in_batches() {
    let tinybird = EventsStandIn::start().await;
    let kafka = kafka_config();
    ensure_topics(&kafka, &[Topic::Chatrooms, Topic::Messages, Topic::Tenants]).await.expect("topics");
    let publisher = KafkaPublisher::connect(&kafka).await.expect("producer");
    let tenant = TenantId::new();
    let private = Private::new();
    let room = shared::domain::ChatroomId::new();
    let created = shared::testing::raw_event(
        shared::events::Topic::Chatrooms,
        "chatroom.created",
        tenant,
        room,
        json!({"chatroomId": room, "chatbotId": shared::domain::ChatbotId::new(), "name": private.visitor_name,
               "email": private.visitor_email, "identityVerified": false, "visitor": {"ip": private.visitor_ip},
               "createdAt": Timestamp::now()}),
    );
    let invite_token = format!("pwt_{}", random_string(32));
    let invited = shared::testing::raw_event(
        shared::events::Topic::Tenants,
        "user.invited",
        tenant,
        tenant,
        json!({"userId": UserId::new(), "email": unique_email("ivy"), "token": invite_token}),
    );
    publisher.publish(&created).await.expect("published");
    publisher.publish(&invited).await.expect("published");
    let mut messages = Vec::new();
    for seq in 1..=8 {
        let sent = shared::testing::raw_event(
            shared::events::Topic::Messages,
            "message.sent",
            tenant,
            room,
            json!({"chatroomId": room, "messageId": EventId::new(), "seq": seq, "clientMsgId": format!("c-{seq}"),
                   "sender": {"kind": "visitor", "id": null, "name": private.visitor_name}, "message": private.text,
                   "sentAt": Timestamp::now()}),
        );
        publisher.publish(&sent).await.expect("published");
        messages.push(sent.envelope.id.to_string());
    }

    let config = tinybird.config(5);
    let ingest = tinybird.ingest(5);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        consumer::run(&ingest, &kafka, &config, async {
            let _ = stopped.await;
        })
        .await
    });
    let rows = eventually(EVENT_TIMEOUT * 2, "the nine events in Tinybird", || async {
        let rows = tinybird.rows();
        (rows.len() >= 9).then_some(rows)
    })
    .await;
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), running).await.expect("the consumer stops").unwrap().unwrap();

    let ids = |kind: &str| -> Vec<String> {
        rows.iter().filter(|r| r["event_type"] == kind).map(|r| r["event_id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids("message.sent"), messages, "each partition's events in order, once");
    assert_eq!(ids("chatroom.created"), [created.envelope.id.to_string()]);
    assert_eq!(rows.len(), 9, "nothing else, the tenants topic's event least of all");
    let batches: Vec<usize> = tinybird.batches().iter().map(Vec::len).collect();
    assert!(batches.len() < 9 && batches.iter().all(|&n| n <= 5), "batched, at most 5 rows a request: {batches:?}");
    let bodies = tinybird.bodies();
    assert!(!bodies.contains(&invite_token), "the tenants topic is not streamed");
    private.assert_absent_from(&bodies);
}
