//! Bodies that are not what a route takes: cut-short JSON, unknown fields, wrong types, query
//! operators where a string belongs, over-long names and addresses. Each is refused with our
//! error shape, and nothing is written.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{
    Account, Caller, TestApp, agent, anonymous, assert_error, expect_status, from_ip, get_user, login, login_from,
    random_ip, role_id, sign_up, sign_up_body, spawn_app, spawn_app_with, user_ids,
};

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
}

fn invalid(what: impl Into<String>, body: Value, names: Option<&str>) -> Case {
    Case { what: what.into(), body: Body::Json(body), status: 422, code: "invalid_body", names: names.map(Into::into) }
}

fn with(base: &Value, field: &str, value: Value) -> Value {
    let mut body = base.clone();
    body[field] = value;
    body
}

/// An address of 261 characters whose parts are each within their own limits.
fn too_long_email() -> String {
    format!("{}@{}.{}.{}.test", "x".repeat(64), "a".repeat(63), "b".repeat(63), "c".repeat(63))
}

/// The cases every JSON route shares, from a valid `base` body.
fn cases(base: &Value, strings: &[&str], emails: &[&str], names: &[&str], required: bool) -> Vec<Case> {
    let text = base.to_string();
    let mut cases = vec![
        Case {
            what: "cut short".into(),
            body: Body::Raw(text[..text.len() - 3].to_owned()),
            status: 400,
            code: "malformed_json",
            names: None,
        },
        Case {
            what: "not JSON".into(),
            body: Body::Raw("name=x&email=y".into()),
            status: 400,
            code: "malformed_json",
            names: None,
        },
        invalid("an unknown field", with(base, "isAdmin", json!(true)), Some("isAdmin")),
        invalid("a list instead of an object", json!([base]), None),
        invalid("a string instead of an object", json!("hello"), None),
    ];
    for field in strings {
        cases.push(invalid(format!("$ne in {field}"), with(base, field, json!({ "$ne": "" })), Some(field)));
        cases.push(invalid(format!("$gt in {field}"), with(base, field, json!({ "$gt": "" })), Some(field)));
        cases.push(invalid(format!("a number in {field}"), with(base, field, json!(42)), Some(field)));
        cases.push(invalid(format!("a list in {field}"), with(base, field, json!(["a"])), Some(field)));
        if required {
            let mut missing = base.clone();
            missing.as_object_mut().unwrap().remove(*field);
            cases.push(invalid(format!("{field} missing"), missing, Some(field)));
        }
    }
    for field in emails {
        for (what, email) in [
            ("too long", too_long_email()),
            ("without a domain", "ada@".to_owned()),
            ("without an @", "ada.acme.test".to_owned()),
            ("with a space", "ada lovelace@acme.test".to_owned()),
            ("with two @", "ada@lovelace@acme.test".to_owned()),
        ] {
            cases.push(invalid(format!("{field} {what}"), with(base, field, json!(email)), Some(field)));
        }
    }
    for field in names {
        cases.push(invalid(
            format!("{field} of 101 characters"),
            with(base, field, json!("n".repeat(101))),
            Some(field),
        ));
        cases.push(invalid(format!("{field} empty"), with(base, field, json!("")), Some(field)));
        cases.push(invalid(format!("{field} blank"), with(base, field, json!("   ")), Some(field)));
    }
    cases
}

/// Sends every case and checks each answer.
async fn refuse_all(app: &TestApp, method: Method, path: &str, caller: Caller<'_>, cases: Vec<Case>) {
    for case in cases {
        let response = match &case.body {
            Body::Raw(text) => app.send_raw(method.clone(), path, caller, text).await,
            Body::Json(value) => app.send_raw(method.clone(), path, caller, &value.to_string()).await,
        };
        let (status, text) = (response.status().as_u16(), response.text().await.unwrap());
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_eq!(
            (status, body["code"].as_str()),
            (case.status, Some(case.code)),
            "{method} {path} with {}: got {status} {text}",
            case.what
        );
        if let Some(field) = &case.names {
            let message = body["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(field.as_str()),
                "{method} {path} with {}: the message does not name {field}: {text}",
                case.what
            );
        }
    }
}

#[tokio::test]
async fn bad_sign_up_bodies_are_refused_and_create_nothing() {
    let app = spawn_app().await;
    let base = sign_up_body();
    let cases = cases(
        &base,
        &["tenantName", "adminName", "adminEmail", "adminPassword"],
        &["adminEmail"],
        &["tenantName", "adminName"],
        true,
    );
    refuse_all(&app, Method::POST, "/tenants", from_ip(&random_ip()), cases).await;

    let email = base["adminEmail"].as_str().unwrap();
    let password = base["adminPassword"].as_str().unwrap();
    assert_error(login_from(&app, &random_ip(), email, password).await, 401, "invalid_credentials").await;
    app.events.caught_up().await;
    assert!(app.events.of_type("tenant.created").is_empty(), "{:?}", app.events.all());
    // The address is still free.
    expect_status(app.post("/tenants", from_ip(&random_ip()), base).await, 201).await;
}

#[tokio::test]
async fn bad_login_bodies_are_refused_and_never_sign_in() {
    let app = spawn_app_with(&[("PARLEY_LOGIN_LIMIT_PER_EMAIL", "1000"), ("PARLEY_LOGIN_LIMIT_PER_IP", "1000")]).await;
    let admin = sign_up(&app).await;
    let base = json!({ "email": admin.email, "password": admin.password });
    let mut cases = cases(&base, &["email", "password"], &["email"], &[], true);
    // The classic injection: any password "not equal to the empty string".
    cases.push(invalid(
        "an operator for the password",
        json!({ "email": admin.email, "password": { "$ne": "" } }),
        Some("password"),
    ));
    cases.push(invalid("operators for both", json!({ "email": { "$ne": "" }, "password": { "$ne": "" } }), None));
    cases.push(invalid(
        "a regex for the email",
        json!({ "email": { "$regex": ".*" }, "password": admin.password }),
        Some("email"),
    ));
    refuse_all(&app, Method::POST, "/auth/login", from_ip(&random_ip()), cases).await;
    // Nothing was locked or changed by all that.
    login(&app, &admin.email, &admin.password).await;
}

#[tokio::test]
async fn bad_invitations_are_refused_and_invite_nobody() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent_role = role_id(&app, &admin, "agent").await;
    let base = json!({ "name": "Grace", "email": "grace-bad-input@acme.test", "roleIds": [agent_role] });
    let mut cases = cases(&base, &["name", "email"], &["email"], &["name"], true);
    cases.push(invalid("roleIds as a string", with(&base, "roleIds", json!(agent_role)), Some("roleIds")));
    cases.push(invalid("an operator in roleIds", with(&base, "roleIds", json!([{ "$ne": "" }])), Some("roleIds")));
    let mut missing = base.clone();
    missing.as_object_mut().unwrap().remove("roleIds");
    cases.push(invalid("roleIds missing", missing, Some("roleIds")));
    refuse_all(&app, Method::POST, "/users", admin.bearer(), cases).await;

    assert_eq!(user_ids(&app, &admin).await, vec![admin.user_id.clone()]);
    app.events.caught_up().await;
    assert!(app.events.of_type("user.invited").is_empty(), "{:?}", app.events.of_type("user.invited"));
    // The limit is 100 characters, not fewer.
    let body = with(&base, "name", json!("n".repeat(100)));
    assert_eq!(expect_status(app.post("/users", admin.bearer(), body).await, 201).await["name"], "n".repeat(100));
}

#[tokio::test]
async fn bad_role_bodies_are_refused_and_create_nothing() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let before = expect_status(app.get("/roles", admin.bearer()).await, 200).await;
    let base = json!({ "name": "pilot", "permissions": ["chatrooms:join"] });
    let mut cases = cases(&base, &["name"], &[], &["name"], true);
    cases.push(invalid(
        "permissions as a string",
        with(&base, "permissions", json!("chatrooms:join")),
        Some("permissions"),
    ));
    cases.push(invalid(
        "an operator in permissions",
        with(&base, "permissions", json!([{ "$ne": "" }])),
        Some("permissions"),
    ));
    cases.push(invalid(
        "permissions as an operator",
        with(&base, "permissions", json!({ "$exists": true })),
        Some("permissions"),
    ));
    refuse_all(&app, Method::POST, "/roles", admin.bearer(), cases).await;

    assert_eq!(expect_status(app.get("/roles", admin.bearer()).await, 200).await, before);
    app.events.caught_up().await;
    assert!(app.events.of_type("role.created").is_empty());
}

#[tokio::test]
async fn bad_user_updates_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent: Account = agent(&app, &admin).await;
    let path = format!("/users/{}", agent.user_id);
    let before = get_user(&app, &admin, &agent.user_id).await;
    let base = json!({ "name": "Grace" });
    let mut cases = cases(&base, &["name"], &[], &["name"], false);
    let more = [
        ("roleIds as a string", json!({ "roleIds": "agent" }), "roleIds"),
        ("an operator in roleIds", json!({ "roleIds": [{ "$ne": "" }] }), "roleIds"),
        ("an unknown status", json!({ "status": "superuser" }), "status"),
        ("an operator for the status", json!({ "status": { "$ne": "" } }), "status"),
        ("enabled as a string", json!({ "assigning": { "enabled": "yes", "maxConcurrent": 2 } }), "enabled"),
        ("a negative maxConcurrent", json!({ "assigning": { "enabled": true, "maxConcurrent": -1 } }), "maxConcurrent"),
        (
            "an unknown field in assigning",
            json!({ "assigning": { "enabled": true, "maxConcurrent": 2, "priority": 1 } }),
            "priority",
        ),
        ("grants as a string", json!({ "grants": "users:manage" }), "grants"),
        ("an unknown permission in grants", json!({ "grants": ["planes:fly"] }), "grants"),
        ("an operator in denies", json!({ "denies": [{ "$ne": "" }] }), "denies"),
        ("not an address in ipAllowList", json!({ "ipAllowList": ["not-an-ip"] }), "ipAllowList"),
        ("a bad network in ipAllowList", json!({ "ipAllowList": ["10.0.0.0/33"] }), "ipAllowList"),
        ("a $set operator", json!({ "$set": { "status": "disabled" } }), "$set"),
        ("the email", json!({ "email": "new@acme.test" }), "email"),
        ("the password hash", json!({ "passwordHash": "x" }), "passwordHash"),
    ];
    cases.extend(more.into_iter().map(|(what, body, field)| invalid(what, body, Some(field))));
    refuse_all(&app, Method::PATCH, &path, admin.bearer(), cases).await;

    assert_eq!(get_user(&app, &admin, &agent.user_id).await, before);
    login(&app, &agent.email, &agent.password).await;
    app.events.caught_up().await;
    let updated: Vec<Value> =
        app.events.of_type("user.updated").into_iter().filter(|e| e["data"]["userId"] == agent.user_id).collect();
    assert!(updated.iter().all(|e| e["data"]["changes"] == json!(["password"])), "{updated:?}");
}

#[tokio::test]
async fn a_json_body_without_a_json_content_type_answers_415() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let routes: [(Method, String, Caller<'_>, Value); 5] = [
        (Method::POST, "/tenants".into(), anonymous(), sign_up_body()),
        (Method::POST, "/auth/login".into(), anonymous(), json!({ "email": admin.email, "password": admin.password })),
        (
            Method::POST,
            "/users".into(),
            admin.bearer(),
            json!({ "name": "G", "email": "g-415@acme.test", "roleIds": [] }),
        ),
        (Method::POST, "/roles".into(), admin.bearer(), json!({ "name": "pilot", "permissions": [] })),
        (Method::PATCH, format!("/users/{}", admin.user_id), admin.bearer(), json!({ "name": "Changed" })),
    ];
    for (method, path, caller, body) in routes {
        let response = app.request(method.clone(), &path, caller).body(body.to_string()).send().await.unwrap();
        let body = assert_error(response, 415, "unsupported_media_type").await;
        assert!(body.is_object(), "{method} {path}");
    }
    assert_eq!(user_ids(&app, &admin).await, vec![admin.user_id.clone()]);
    assert_eq!(get_user(&app, &admin, &admin.user_id).await["name"], "Ada Admin");
}
