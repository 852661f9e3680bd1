//! Requests that are not what a route takes: cut-short JSON, unknown fields, wrong types, query
//! operators where a string belongs, names and texts out of bounds, origins that are not origins,
//! too many origins, bad widget settings, too long a grace period, ids that name no chatbot.
//! Each is refused with our error shape, the message names the field but never repeats a name,
//! text, colour or origin that was sent, and nothing is written or announced.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

enum Body {
    Raw(String),
    Json(Value),
}

struct Case {
    what: String,
    body: Body,
    status: u16,
    code: &'static str,
    /// A field the error message must name.
    names: Option<String>,
    /// What was sent that the message must not repeat.
    sent: Option<String>,
}

fn invalid(what: impl Into<String>, body: Value, names: Option<&str>) -> Case {
    Case {
        what: what.into(),
        body: Body::Json(body),
        status: 422,
        code: "invalid_body",
        names: names.map(Into::into),
        sent: None,
    }
}

impl Case {
    /// The message must not repeat `text`.
    fn sent(mut self, text: impl Into<String>) -> Self {
        self.sent = Some(text.into());
        self
    }
}

fn malformed(what: &str, text: String) -> Case {
    Case { what: what.into(), body: Body::Raw(text), status: 400, code: "malformed_json", names: None, sent: None }
}

fn with(base: &Value, field: &str, value: Value) -> Value {
    let mut body = base.clone();
    body[field] = value;
    body
}

/// `count` distinct origins.
fn origins(count: usize) -> Vec<String> {
    (0..count).map(|n| format!("https://site-{n}.example.com")).collect()
}

/// Origins that are not origins (each paired with what it gets wrong).
const BAD_ORIGINS: [(&str, &str); 14] = [
    ("no scheme", "www.parley-bad-origin.com"),
    ("a path", "https://www.parley-bad-origin.com/path"),
    ("a query", "https://www.parley-bad-origin.com?x=1"),
    ("ftp", "ftp://www.parley-bad-origin.com"),
    ("a wildcard over a top-level domain", "https://*.com"),
    ("a wildcard in the middle", "https://app.*.parley-bad-origin.com"),
    ("a wildcard glued to a label", "https://*parley-bad-origin.com"),
    ("a wildcard after the host", "https://parley-bad-origin.*"),
    ("a user and password", "https://user:parley-pw@parley-bad-origin.com"),
    ("port 99999", "https://www.parley-bad-origin.com:99999"),
    ("port 0", "https://www.parley-bad-origin.com:0"),
    ("a space", "https://www.parley bad-origin.com"),
    ("unicode", "https://www.parley-bäd-origin.com"),
    ("null", "null"),
];

/// What a chatbot body may get wrong, field by field (shared by create and PATCH).
fn field_cases(base: &Value, name_required: bool, origins_required: bool) -> Vec<Case> {
    let text = base.to_string();
    let mut cases = vec![
        malformed("cut short", text[..text.len() - 3].to_owned()),
        malformed("not JSON", "name=x&allowedOrigins=y".into()),
        malformed("empty", String::new()),
        invalid("a list instead of an object", json!([base]), None),
        invalid("a string instead of an object", json!("hello"), None),
        invalid("null instead of an object", Value::Null, None),
        invalid("the key", with(base, "apiKey", json!("parley_pk_sent")), Some("apiKey")),
        invalid("stored key hashes", with(base, "apiKeys", json!({ "current": null })), Some("apiKeys")),
        invalid("a tenant", with(base, "tenantId", json!(uuid::Uuid::now_v7().to_string())), Some("tenantId")),
        invalid("a revision", with(base, "revision", json!(0)), Some("revision")),
        invalid("a $set operator", with(base, "$set", json!({ "status": "disabled" })), Some("$set")),
    ];

    let name = "name";
    cases.extend([
        invalid("$ne in name", with(base, name, json!({ "$ne": "" })), Some(name)),
        invalid("$gt in name", with(base, name, json!({ "$gt": "" })), Some(name)),
        invalid("a number for name", with(base, name, json!(42)), Some(name)),
        invalid("a list for name", with(base, name, json!(["Support"])), Some(name)),
        invalid("name empty", with(base, name, json!("")), Some(name)),
        invalid("name blank", with(base, name, json!("   ")), Some(name)),
        invalid("name of 101 characters", with(base, name, json!("n".repeat(101))), Some(name)).sent("n".repeat(101)),
        invalid("a bell in name", with(base, name, json!("Sup\u{7}port-sent")), Some(name)).sent("port-sent"),
    ]);
    if name_required {
        let mut missing = base.clone();
        missing.as_object_mut().unwrap().remove(name);
        cases.push(invalid("name missing", missing, Some(name)));
        cases.push(invalid("name null", with(base, name, Value::Null), Some(name)));
    }

    let field = "allowedOrigins";
    cases.extend([
        invalid("one origin as a string", with(base, field, json!("https://www.example.com")), Some(field)),
        invalid("$ne in allowedOrigins", with(base, field, json!([{ "$ne": "" }])), Some(field)),
        invalid("$exists for allowedOrigins", with(base, field, json!({ "$exists": true })), Some(field)),
        invalid("a number in allowedOrigins", with(base, field, json!([42])), Some(field)),
        invalid("an empty origin", with(base, field, json!([""])), Some(field)),
    ]);
    for (what, origin) in BAD_ORIGINS {
        let body = with(base, field, json!(["https://www.example.com", origin]));
        let case = invalid(format!("an origin with {what}"), body, Some(field));
        cases.push(if origin.len() > 4 { case.sent(origin) } else { case });
    }
    if origins_required {
        let mut missing = base.clone();
        missing.as_object_mut().unwrap().remove(field);
        cases.push(invalid("allowedOrigins missing", missing, Some(field)));
        cases.push(invalid("allowedOrigins null", with(base, field, Value::Null), Some(field)));
    }
    cases.push(Case {
        what: "51 origins".into(),
        body: Body::Json(with(base, field, json!(origins(51)))),
        status: 422,
        code: "too_many_origins",
        names: None,
        sent: Some("site-50".into()),
    });

    let settings = |value: Value| with(base, "settings", value);
    cases.extend([
        invalid("settings as a string", settings(json!("dark")), Some("settings")),
        invalid("settings as a list", settings(json!([])), Some("settings")),
        invalid("an unknown setting", settings(json!({ "theme": "dark" })), Some("theme")),
        invalid("colour as a word", settings(json!({ "colour": "parley-blue" })), Some("colour")).sent("parley-blue"),
        invalid("colour of three digits", settings(json!({ "colour": "#abc" })), Some("colour")),
        invalid("colour not hex", settings(json!({ "colour": "#gggggg" })), Some("colour")).sent("#gggggg"),
        invalid("colour without #", settings(json!({ "colour": "2563eb" })), Some("colour")).sent("2563eb"),
        invalid("colour with alpha", settings(json!({ "colour": "#2563ebff" })), Some("colour")).sent("#2563ebff"),
        invalid("$ne in colour", settings(json!({ "colour": { "$ne": "" } })), Some("colour")),
        invalid("an unknown position", settings(json!({ "position": "top-middle" })), Some("position")),
        invalid("position in capitals", settings(json!({ "position": "BOTTOM-RIGHT" })), Some("position")),
        invalid(
            "launcherText of 41 characters",
            settings(json!({ "launcherText": "l".repeat(41) })),
            Some("launcherText"),
        )
        .sent("l".repeat(41)),
        invalid("launcherText empty", settings(json!({ "launcherText": "" })), Some("launcherText")),
        invalid("a tab in launcherText", settings(json!({ "launcherText": "Chat\twith-sent" })), Some("launcherText"))
            .sent("with-sent"),
        invalid("greeting of 501 characters", settings(json!({ "greeting": "g".repeat(501) })), Some("greeting"))
            .sent("g".repeat(501)),
        invalid("greeting blank", settings(json!({ "greeting": "  \n " })), Some("greeting")),
        invalid("$gt in greeting", settings(json!({ "greeting": { "$gt": "" } })), Some("greeting")),
    ]);

    let field = "enforceIdentity";
    cases.extend([
        invalid("enforceIdentity as a word", with(base, field, json!("yes")), Some(field)),
        invalid("enforceIdentity as a number", with(base, field, json!(1)), Some(field)),
        invalid("$ne in enforceIdentity", with(base, field, json!({ "$ne": false })), Some(field)),
    ]);
    cases
}

/// Sends every case and checks each answer; fails naming every case answered wrongly.
async fn refuse_all(app: &TestApp, method: Method, path: &str, caller: Caller<'_>, cases: Vec<Case>) {
    let mut wrong = Vec::new();
    for case in cases {
        let text = match &case.body {
            Body::Raw(text) => text.clone(),
            Body::Json(value) => value.to_string(),
        };
        let response = app.send_raw(method.clone(), path, caller, &text).await;
        let (status, answer) = (response.status().as_u16(), response.text().await.unwrap());
        let body: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
        let message = body["message"].as_str().unwrap_or_default();
        let what = &case.what;
        if (status, body["code"].as_str()) != (case.status, Some(case.code)) {
            wrong.push(format!("{what}: expected {} {}, got {status} {answer}", case.status, case.code));
        } else if message.is_empty() {
            wrong.push(format!("{what}: no message: {answer}"));
        } else if case.names.as_ref().is_some_and(|field| !message.contains(field.as_str())) {
            wrong.push(format!("{what}: the message does not name {}: {answer}", case.names.unwrap()));
        } else if case.sent.as_ref().is_some_and(|sent| message.contains(sent.as_str())) {
            wrong.push(format!("{what}: the message repeats what was sent: {answer}"));
        }
    }
    assert!(wrong.is_empty(), "{method} {path}:\n{}", wrong.join("\n"));
}

/// The `chatbot.*` events published so far, once everything published has been read.
async fn chatbot_event_count(app: &TestApp) -> usize {
    app.events.caught_up().await;
    app.events.all().iter().filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("chatbot."))).count()
}

#[tokio::test]
async fn bad_chatbots_are_refused_and_create_nothing() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let existing = create_chatbot(&app, &admin).await;
    let stored = app.stored_chatbots().await;
    let events = chatbot_event_count(&app).await;

    let base = chatbot_body("Support");
    refuse_all(&app, Method::POST, "/chatbots", admin.bearer(), field_cases(&base, true, true)).await;

    assert_eq!(app.stored_chatbots().await, stored, "a refused create wrote something");
    let list = expect_status(app.get("/chatbots", admin.bearer()).await, 200).await;
    assert_eq!(list, json!([get_chatbot(&app, &admin, &existing.id).await]));
    assert_eq!(chatbot_event_count(&app).await, events, "a refused create published an event");
}

#[tokio::test]
async fn bad_changes_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    let path = format!("/chatbots/{}", created.id);
    let before = get_chatbot(&app, &admin, &created.id).await;
    let stored = app.stored_chatbots().await;
    let events = chatbot_event_count(&app).await;

    let base = json!({ "name": "Sales" });
    let mut cases = field_cases(&base, false, false);
    cases.extend([
        invalid("an unknown status", json!({ "status": "paused" }), Some("status")),
        invalid("status in capitals", json!({ "status": "DISABLED" }), Some("status")),
        invalid("$ne in status", json!({ "status": { "$ne": "active" } }), Some("status")),
        invalid("an identity secret", json!({ "identitySecret": "parley_is_sent" }), Some("identitySecret")),
        invalid("the creation time", json!({ "createdAt": "2020-01-01T00:00:00Z" }), Some("createdAt")),
        invalid("offers of 4 s", json!({ "routing": { "mode": "automatic", "offerSeconds": 4 } }), Some("routing")),
        invalid("offers of 301 s", json!({ "routing": { "mode": "automatic", "offerSeconds": 301 } }), Some("routing")),
        invalid("an unknown mode", json!({ "routing": { "mode": "random", "offerSeconds": 30 } }), Some("routing")),
        invalid("routing without its mode", json!({ "routing": { "offerSeconds": 30 } }), Some("routing")),
    ]);
    refuse_all(&app, Method::PATCH, &path, admin.bearer(), cases).await;

    assert_eq!(app.stored_chatbots().await, stored, "a refused change wrote something");
    assert_eq!(get_chatbot(&app, &admin, &created.id).await, before);
    assert_eq!(chatbot_event_count(&app).await, events, "a refused change published an event");
}

#[tokio::test]
async fn bad_rotations_are_refused_and_the_key_stays() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    let path = format!("/chatbots/{}/api-key/rotate", created.id);
    let stored = app.stored_chatbots().await;
    let events = chatbot_event_count(&app).await;

    let body = json!({ "graceSeconds": 3600 }).to_string();
    let cases = vec![
        malformed("cut short", body[..body.len() - 3].to_owned()),
        malformed("empty", String::new()),
        Case {
            what: "a grace of 7 days and a second".into(),
            body: Body::Json(json!({ "graceSeconds": 604_801 })),
            status: 422,
            code: "grace_too_long",
            names: Some("graceSeconds".into()),
            sent: Some("604801".into()),
        },
        Case {
            what: "a grace of a year".into(),
            body: Body::Json(json!({ "graceSeconds": 31_536_000 })),
            status: 422,
            code: "grace_too_long",
            names: Some("graceSeconds".into()),
            sent: Some("31536000".into()),
        },
        invalid("a negative grace", json!({ "graceSeconds": -1 }), Some("graceSeconds")),
        invalid("a fractional grace", json!({ "graceSeconds": 1.5 }), Some("graceSeconds")),
        invalid("a grace as text", json!({ "graceSeconds": "3600" }), Some("graceSeconds")),
        invalid("$gt in graceSeconds", json!({ "graceSeconds": { "$gt": 0 } }), Some("graceSeconds")),
        invalid("a grace in hours", json!({ "graceHours": 1 }), Some("graceHours")),
        invalid("a list", json!([{ "graceSeconds": 1 }]), None),
    ];
    refuse_all(&app, Method::POST, &path, admin.bearer(), cases).await;

    assert_eq!(app.stored_chatbots().await, stored, "a refused rotation wrote something");
    assert_eq!(chatbot_event_count(&app).await, events, "a refused rotation published an event");
    let tenant = admin.tenant_id.parse().unwrap();
    let access = app.access().await;
    access.verify(&tenant, &created.api_key, Some("https://www.example.com")).await.expect("the key still works");

    // The bounds themselves are accepted.
    let rotated = expect_status(app.post(&path, admin.bearer(), json!({ "graceSeconds": 604_800 })).await, 200).await;
    let expires = instant(&rotated["chatbot"]["previousApiKey"]["expiresAt"]);
    let created_at = instant(&rotated["chatbot"]["apiKey"]["createdAt"]);
    assert_eq!((expires - created_at).whole_seconds(), 604_800, "{rotated}");
}

#[tokio::test]
async fn the_limits_themselves_are_accepted() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let mut allowed = origins(50);
    allowed.extend(origins(10)); // duplicates count once
    let body = json!({
        "name": "n".repeat(100),
        "allowedOrigins": allowed,
        "settings": { "greeting": "g".repeat(500), "launcherText": "l".repeat(40) },
    });
    let created = create_chatbot_with(&app, &admin, body).await;
    assert_eq!(created.chatbot["name"], "n".repeat(100));
    assert_eq!(created.chatbot["allowedOrigins"], json!(origins(50)));
    assert_eq!(created.chatbot["settings"]["greeting"], "g".repeat(500));
    assert_eq!(created.chatbot["settings"]["launcherText"], "l".repeat(40));

    let path = format!("/chatbots/{}", created.id);
    let others: Vec<String> = origins(60).split_off(10);
    let mut more = others.clone();
    more.extend(others[..5].iter().cloned());
    let changed = expect_status(app.patch(&path, admin.bearer(), json!({ "allowedOrigins": more })).await, 200).await;
    assert_eq!(changed["allowedOrigins"], json!(others));
    let renamed = expect_status(app.patch(&path, admin.bearer(), json!({ "name": "m".repeat(100) })).await, 200).await;
    assert_eq!(renamed["name"], "m".repeat(100));
    assert_eq!(renamed["allowedOrigins"], json!(others));
    assert_eq!(renamed["routing"], json!({ "mode": "manual", "offerSeconds": 30 }), "manual by default");
    for seconds in [5, 300] {
        let routing = json!({ "mode": "automatic", "offerSeconds": seconds });
        let routed = expect_status(app.patch(&path, admin.bearer(), json!({ "routing": routing })).await, 200).await;
        assert_eq!(routed["routing"], routing);
        assert_eq!(get_chatbot(&app, &admin, &created.id).await["routing"], routing, "stored");
    }
}

#[tokio::test]
async fn a_body_without_a_json_content_type_answers_415_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    let stored = app.stored_chatbots().await;
    let path = format!("/chatbots/{}", created.id);
    let calls = [
        (Method::POST, "/chatbots".to_owned(), chatbot_body("Plain")),
        (Method::PATCH, path.clone(), json!({ "name": "Plain" })),
        (Method::POST, format!("{path}/api-key/rotate"), json!({ "graceSeconds": 0 })),
    ];
    for (method, path, body) in calls {
        for content_type in [None, Some("text/plain")] {
            if content_type.is_none() && path.ends_with("/rotate") {
                continue; // a rotation without a content type is a rotation without a body
            }
            let mut request = app.request(method.clone(), &path, admin.bearer()).body(body.to_string());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.unwrap();
            let answer = assert_error(response, 415, "unsupported_media_type").await;
            assert!(answer.is_object(), "{method} {path} with {content_type:?}");
        }
    }
    assert_eq!(app.stored_chatbots().await, stored);
}

#[tokio::test]
async fn unknown_and_malformed_ids_answer_404_chatbot_not_found_and_change_nothing() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    let deleted = create_chatbot(&app, &admin).await;
    expect_status(app.delete(&format!("/chatbots/{}", deleted.id), admin.bearer()).await, 204).await;
    let stored = app.stored_chatbots().await;
    let events = chatbot_event_count(&app).await;

    let unknown = uuid::Uuid::now_v7().to_string();
    let ids = [
        unknown.as_str(),
        deleted.id.as_str(),
        admin.tenant_id.as_str(),
        admin.user_id.as_str(),
        "not-an-id",
        "123",
        "00000000000000000000000000000000",
        &created.id[..35],
        "%24ne",
    ];
    for id in ids {
        for call in chatbot_routes(id) {
            let (method, path, _) = &call;
            let answer = assert_error(send(&app, admin.bearer(), &call).await, 404, "chatbot_not_found").await;
            assert!(!answer["message"].as_str().unwrap().contains(id), "{method} {path} repeats the id: {answer}");
        }
    }
    assert_eq!(app.stored_chatbots().await, stored);
    assert_eq!(chatbot_event_count(&app).await, events);
}
