//! Chatbots as a tenant's admin keeps them: created with their key shown once, sane defaults and
//! origins written one way; listed oldest first; read; changed field by field; deleted. And the
//! events other services learn of it from, keyed by the tenant and never carrying a key or secret.

use serde_json::{Value, json};

use crate::support::*;

fn path(id: &str) -> String {
    format!("/chatbots/{id}")
}

fn default_settings() -> Value {
    json!({
        "greeting": "Thanks for reaching out! A live agent will join shortly.",
        "colour": "#2563eb",
        "position": "bottom-right",
        "launcherText": "Chat with us",
    })
}

/// What `parley_pk_…` + the last four characters of `key` looks like.
fn masked(key: &str) -> String {
    format!("parley_pk_…{}", &key[key.len() - 4..])
}

/// A stored document as JSON.
fn as_json(document: bson::Document) -> Value {
    bson::Bson::Document(document).into_relaxed_extjson()
}

/// Every string stored under a field called one of `names`, at any depth.
fn strings_under(value: &Value, names: &[&str], found: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                match field.as_str() {
                    Some(text) if names.contains(&name.as_str()) => found.push(text.to_owned()),
                    _ => strings_under(field, names, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| strings_under(item, names, found)),
        _ => {}
    }
}

#[tokio::test]
async fn a_new_chatbot_answers_its_key_once_with_default_settings_and_origins_written_one_way() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let body = json!({
        "name": "  Support  ",
        "allowedOrigins": [
            "HTTPS://Example.com:443/",
            "https://example.com",
            "http://LOCALHOST:3000",
            "https://*.Example.com",
            "https://example.com/",
        ],
    });
    let answer = expect_status(app.post("/chatbots", admin.bearer(), body).await, 201).await;
    let mut fields: Vec<&str> = answer.as_object().expect("an object").keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["apiKey", "chatbot", "identitySecret", "snippet"], "{answer}");

    let key = answer["apiKey"].as_str().unwrap();
    let secret = answer["identitySecret"].as_str().unwrap();
    assert!(key.starts_with("parley_pk_") && key.len() == "parley_pk_".len() + 72, "{key}");
    assert!(secret.starts_with("parley_is_") && secret.len() > 30, "{secret}");

    let chatbot = &answer["chatbot"];
    let id = chatbot["id"].as_str().unwrap();
    uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("the id {id} is not a UUID: {e}"));
    assert_eq!(chatbot["tenantId"], admin.tenant_id);
    assert_eq!(chatbot["name"], "Support");
    assert_eq!(
        chatbot["allowedOrigins"],
        json!(["https://example.com", "http://localhost:3000", "https://*.example.com"]),
        "canonical, duplicates dropped, first kept"
    );
    assert_eq!(chatbot["settings"], default_settings());
    assert_eq!(chatbot["status"], "active");
    assert_eq!(chatbot["enforceIdentity"], false);
    assert_eq!(chatbot["apiKey"]["masked"], masked(key));
    assert_eq!(chatbot["apiKey"]["expiresAt"], Value::Null);
    assert_eq!(instant(&chatbot["apiKey"]["createdAt"]), instant(&chatbot["createdAt"]));
    assert_eq!(chatbot["previousApiKey"], Value::Null);
    instant(&chatbot["identitySecretCreatedAt"]);
    assert_eq!(chatbot["createdAt"], chatbot["updatedAt"]);
    let shown = chatbot.to_string();
    assert!(!shown.contains(key) && !shown.contains(secret), "the view shows a credential: {shown}");

    // What GET shows is what POST answered, and the key is never shown again.
    let read = get_chatbot(&app, &admin, id).await;
    assert_eq!(read, *chatbot);
    let list = expect_status(app.get("/chatbots", admin.bearer()).await, 200).await;
    assert_eq!(list, json!([chatbot]));
    for text in [read.to_string(), list.to_string()] {
        assert!(!text.contains(key) && !text.contains(secret), "a credential shown again: {text}");
    }
}

#[tokio::test]
async fn settings_and_enforce_identity_given_at_creation_are_kept_and_the_rest_take_their_defaults() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let body = json!({
        "name": "Shop",
        "allowedOrigins": [],
        "settings": { "colour": "#AABBCC", "position": "bottom-left" },
        "enforceIdentity": true,
    });
    let created = create_chatbot_with(&app, &admin, body).await;
    let expected = json!({
        "greeting": "Thanks for reaching out! A live agent will join shortly.",
        "colour": "#aabbcc",
        "position": "bottom-left",
        "launcherText": "Chat with us",
    });
    assert_eq!(created.chatbot["settings"], expected);
    assert_eq!(created.chatbot["enforceIdentity"], true);
    assert_eq!(created.chatbot["allowedOrigins"], json!([]));

    let body = json!({
        "name": "Docs",
        "allowedOrigins": ["*"],
        "settings": { "greeting": "  Ask us\nanything  ", "launcherText": "Help" },
    });
    let created = create_chatbot_with(&app, &admin, body).await;
    let read = get_chatbot(&app, &admin, &created.id).await;
    assert_eq!(read["settings"]["greeting"], "Ask us\nanything");
    assert_eq!(read["settings"]["launcherText"], "Help");
    assert_eq!(read["settings"]["colour"], "#2563eb");
    assert_eq!(read["allowedOrigins"], json!(["*"]));
}

#[tokio::test]
async fn chatbots_are_listed_oldest_first_as_each_reads() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    assert_eq!(expect_status(app.get("/chatbots", admin.bearer()).await, 200).await, json!([]));

    let mut ids = Vec::new();
    for name in ["First", "Second", "Third", "Fourth"] {
        ids.push(create_chatbot_with(&app, &admin, chatbot_body(name)).await.id);
    }
    let list = expect_status(app.get("/chatbots", admin.bearer()).await, 200).await;
    let list = list.as_array().expect("a list");
    let names: Vec<&str> = list.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["First", "Second", "Third", "Fourth"]);
    let listed: Vec<&str> = list.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids);
    for (item, id) in list.iter().zip(&ids) {
        assert_eq!(*item, get_chatbot(&app, &admin, id).await);
    }
}

#[tokio::test]
async fn each_field_changes_alone_and_the_answer_is_what_get_shows() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    let id = created.id.as_str();
    let tenant = admin.tenant_id.parse().unwrap();
    let access = app.access().await;
    let greeting = json!({
        "greeting": "Hello there",
        "colour": "#2563eb",
        "position": "bottom-right",
        "launcherText": "Chat with us",
    });
    let colour_and_position = json!({
        "greeting": "Hello there",
        "colour": "#ff0000",
        "position": "bottom-left",
        "launcherText": "Chat with us",
    });
    let launcher = json!({
        "greeting": "Hello there",
        "colour": "#ff0000",
        "position": "bottom-left",
        "launcherText": "Help",
    });
    let cases = [
        (json!({ "name": " Sales " }), "name", json!("Sales")),
        (
            json!({ "allowedOrigins": ["HTTPS://Shop.Example.org/", "https://shop.example.org", "http://localhost:8080"] }),
            "allowedOrigins",
            json!(["https://shop.example.org", "http://localhost:8080"]),
        ),
        (json!({ "settings": { "greeting": "Hello there" } }), "settings", greeting),
        (json!({ "settings": { "colour": "#FF0000", "position": "bottom-left" } }), "settings", colour_and_position),
        (json!({ "settings": { "launcherText": "Help" } }), "settings", launcher),
        (json!({ "enforceIdentity": true }), "enforceIdentity", json!(true)),
        (json!({ "enforceIdentity": false }), "enforceIdentity", json!(false)),
        (json!({ "status": "disabled" }), "status", json!("disabled")),
        (json!({ "status": "active" }), "status", json!("active")),
    ];
    let mut before = created.chatbot.clone();
    for (body, field, value) in &cases {
        let after = expect_status(app.patch(&path(id), admin.bearer(), body.clone()).await, 200).await;
        let mut expected = before.clone();
        expected[*field] = value.clone();
        expected["updatedAt"] = after["updatedAt"].clone();
        assert_eq!(after, expected, "PATCH {body} should change {field} and nothing else");
        assert!(instant(&after["updatedAt"]) > instant(&before["updatedAt"]), "updatedAt did not move: {body}");
        assert_eq!(get_chatbot(&app, &admin, id).await, after, "GET after PATCH {body}");

        // The widget sees the status at once.
        let origin = Some("https://shop.example.org");
        match after["status"].as_str() {
            Some("disabled") => {
                let refused = access.verify(&tenant, &created.api_key, origin).await.unwrap_err();
                assert_eq!(refused.code(), "chatbot_disabled");
            }
            _ if *field == "status" => {
                access.verify(&tenant, &created.api_key, origin).await.expect("active again");
            }
            _ => {}
        }
        before = after;
    }
    assert_eq!(before["createdAt"], created.chatbot["createdAt"]);
    assert_eq!(before["apiKey"], created.chatbot["apiKey"], "a PATCH leaves the key alone");

    // One chatbot.updated per PATCH, in order, each naming its field.
    app.events
        .wait_for("chatbot.updated", |e| {
            e["data"]["chatbotId"] == id && e["data"]["status"] == "active" && e["data"]["changes"] == json!(["status"])
        })
        .await;
    let updated: Vec<Value> =
        app.events.of_type("chatbot.updated").into_iter().filter(|e| e["data"]["chatbotId"] == id).collect();
    let changes: Vec<&Value> = updated.iter().map(|e| &e["data"]["changes"]).collect();
    let expected: Vec<Value> = cases.iter().map(|(_, field, _)| json!([field])).collect();
    assert_eq!(changes, expected.iter().collect::<Vec<_>>());
}

#[tokio::test]
async fn a_patch_naming_several_fields_changes_them_together_and_says_so() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    let body = json!({
        "name": "Billing",
        "allowedOrigins": ["*"],
        "settings": { "launcherText": "Billing help" },
        "enforceIdentity": true,
        "status": "disabled",
    });
    let after = expect_status(app.patch(&path(&created.id), admin.bearer(), body).await, 200).await;
    assert_eq!(after["name"], "Billing");
    assert_eq!(after["allowedOrigins"], json!(["*"]));
    assert_eq!(after["settings"]["launcherText"], "Billing help");
    assert_eq!(after["settings"]["greeting"], created.chatbot["settings"]["greeting"]);
    assert_eq!((&after["enforceIdentity"], &after["status"]), (&json!(true), &json!("disabled")));
    let event = app.events.wait_for("chatbot.updated", |e| e["data"]["chatbotId"] == created.id.as_str()).await;
    assert_eq!(
        sorted(&event["data"]["changes"]),
        strings(&["allowedOrigins", "enforceIdentity", "name", "settings", "status"])
    );
}

#[tokio::test]
async fn a_patch_that_changes_nothing_announces_nothing() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    let id = created.id.as_str();
    let same = [
        json!({}),
        json!({ "name": "Support" }),
        json!({ "name": null, "allowedOrigins": null, "settings": null, "status": null }),
        json!({ "allowedOrigins": ["HTTPS://WWW.EXAMPLE.COM", "https://*.example.com/"] }),
        json!({ "settings": {} }),
        json!({ "settings": { "colour": "#2563EB", "position": "bottom-right" } }),
        json!({ "enforceIdentity": false, "status": "active" }),
    ];
    for body in same {
        let after = expect_status(app.patch(&path(id), admin.bearer(), body.clone()).await, 200).await;
        let mut expected = created.chatbot.clone();
        expected["updatedAt"] = after["updatedAt"].clone();
        assert_eq!(after, expected, "PATCH {body}");
    }
    expect_status(app.patch(&path(id), admin.bearer(), json!({ "name": "Sales" })).await, 200).await;
    app.events.wait_for("chatbot.updated", |e| e["data"]["chatbotId"] == id).await;
    app.events.caught_up().await;
    let updated = app.events.of_type("chatbot.updated");
    assert_eq!(updated.len(), 1, "only the rename is announced: {updated:?}");
    assert_eq!(updated[0]["data"]["changes"], json!(["name"]));
}

#[tokio::test]
async fn a_deleted_chatbot_is_gone_from_reads_lists_and_the_widget() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let kept = create_chatbot_with(&app, &admin, chatbot_body("Kept")).await;
    let gone = create_chatbot_with(&app, &admin, chatbot_body("Gone")).await;

    let answer = app.delete(&path(&gone.id), admin.bearer()).await;
    assert_eq!(answer.status(), 204);
    assert_eq!(answer.text().await.unwrap(), "", "a 204 has no body");

    assert_error(app.get(&path(&gone.id), admin.bearer()).await, 404, "chatbot_not_found").await;
    let list = expect_status(app.get("/chatbots", admin.bearer()).await, 200).await;
    assert_eq!(list, json!([kept.chatbot]));
    let stored: Vec<String> =
        app.stored_chatbots().await.iter().map(|d| d.get_str("_id").expect("_id").to_owned()).collect();
    assert_eq!(stored, vec![kept.id.clone()]);
    for call in chatbot_routes(&gone.id) {
        let (method, path, _) = &call;
        let response = send(&app, admin.bearer(), &call).await;
        let body = assert_error(response, 404, "chatbot_not_found").await;
        assert!(body.is_object(), "{method} {path}");
    }

    let tenant = admin.tenant_id.parse().unwrap();
    let access = app.access().await;
    let refused = access.verify(&tenant, &gone.api_key, Some("https://www.example.com")).await.unwrap_err();
    assert_eq!(refused.code(), "api_key_invalid");
    access.verify(&tenant, &kept.api_key, Some("https://www.example.com")).await.expect("the other one works");
}

#[tokio::test]
async fn changes_publish_events_keyed_by_the_tenant_that_never_carry_a_key_or_secret() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let body = json!({ "name": "Support", "allowedOrigins": ["HTTPS://WWW.Example.com/"], "enforceIdentity": true });
    let created = create_chatbot_with(&app, &admin, body).await;
    let id = created.id.as_str();
    let mut credentials = vec![created.api_key.clone(), created.identity_secret.clone()];

    let event = app.events.wait_for("chatbot.created", |e| e["data"]["chatbotId"] == id).await;
    assert_eq!(event["tenantId"], admin.tenant_id);
    assert_eq!(app.events.key_of(event["id"].as_str().unwrap()), Some(admin.tenant_id.clone()));
    let expected = json!({
        "chatbotId": id,
        "name": "Support",
        "status": "active",
        "allowedOrigins": ["https://www.example.com"],
        "enforceIdentity": true,
    });
    assert_eq!(event["data"], expected);

    let patch = json!({ "name": "Sales", "status": "disabled" });
    expect_status(app.patch(&path(id), admin.bearer(), patch).await, 200).await;
    let event = app.events.wait_for("chatbot.updated", |e| e["data"]["chatbotId"] == id).await;
    assert_eq!(app.events.key_of(event["id"].as_str().unwrap()), Some(admin.tenant_id.clone()));
    assert_eq!(event["tenantId"], admin.tenant_id);
    assert_eq!(sorted(&event["data"]["changes"]), strings(&["name", "status"]));
    let mut without_changes = event["data"].clone();
    without_changes.as_object_mut().unwrap().remove("changes");
    let expected = json!({
        "chatbotId": id,
        "name": "Sales",
        "status": "disabled",
        "allowedOrigins": ["https://www.example.com"],
        "enforceIdentity": true,
    });
    assert_eq!(without_changes, expected);

    // Every credential the chatbot ever had, and what is stored in their place.
    let mut stored = Vec::new();
    strings_under(&as_json(app.stored_chatbots().await.remove(0)), &["hash", "salt"], &mut stored);
    let rotate = format!("{}/api-key/rotate", path(id));
    let rotated = expect_status(app.post(&rotate, admin.bearer(), json!({ "graceSeconds": 3600 })).await, 200).await;
    credentials.push(rotated["apiKey"].as_str().unwrap().to_owned());
    expect_status(app.post(&format!("{}/api-key/revoke", path(id)), admin.bearer(), json!({})).await, 200).await;
    let secret_rotate = format!("{}/identity-secret/rotate", path(id));
    let secret = expect_status(app.post(&secret_rotate, admin.bearer(), json!({})).await, 200).await;
    credentials.push(secret["identitySecret"].as_str().unwrap().to_owned());
    strings_under(&as_json(app.stored_chatbots().await.remove(0)), &["hash", "salt"], &mut stored);
    assert!(stored.len() >= 5, "expected the stored hashes and salts: {stored:?}");

    assert_eq!(app.delete(&path(id), admin.bearer()).await.status(), 204);
    let event = app.events.wait_for("chatbot.deleted", |e| e["data"]["chatbotId"] == id).await;
    assert_eq!(app.events.key_of(event["id"].as_str().unwrap()), Some(admin.tenant_id.clone()));
    assert_eq!(event["tenantId"], admin.tenant_id);
    assert_eq!(event["data"], json!({ "chatbotId": id, "name": "Sales" }));

    app.events.caught_up().await;
    let events = chatbot_events(&app, id);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "chatbot.created",
            "chatbot.updated",
            "chatbot.key_rotated",
            "chatbot.updated",
            "chatbot.updated",
            "chatbot.deleted"
        ]
    );
    for event in &events {
        let text = event.to_string();
        for secret in credentials.iter().chain(&stored) {
            assert!(!text.contains(secret.as_str()), "an event carries a credential or its hash: {text}");
        }
        let mut named = Vec::new();
        strings_under(event, &["hash", "salt", "keyId", "identitySecret", "apiKeys"], &mut named);
        assert!(named.is_empty(), "an event carries stored credential fields: {text}");
        assert_eq!(app.events.key_of(event["id"].as_str().unwrap()), Some(admin.tenant_id.clone()), "{text}");
    }
}
