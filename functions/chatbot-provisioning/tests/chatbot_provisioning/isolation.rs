//! One tenant never reaches another's chatbots: their ids answer 404 exactly as unknown ones do,
//! lists show only the tenant's own, and nothing of the other tenant's chatbot changes: not its
//! settings, not its key, not the events others read.

use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn another_tenant_s_chatbot_answers_404_on_every_route_and_stays_as_it_was() {
    let app = spawn_app().await;
    let a = admin(&app).await;
    let b = admin(&app).await;
    let a_chatbot = create_chatbot_with(&app, &a, chatbot_body("A's")).await;
    let b_chatbot = create_chatbot_with(&app, &b, chatbot_body("B's")).await;
    let before = get_chatbot(&app, &a, &a_chatbot.id).await;
    let stored_before = app.stored_chatbots().await;

    let mut calls = chatbot_routes(&a_chatbot.id);
    let path = format!("/chatbots/{}", a_chatbot.id);
    for body in [
        json!({ "allowedOrigins": ["*"] }),
        json!({ "enforceIdentity": true }),
        json!({ "settings": { "greeting": "Hijacked" } }),
    ] {
        calls.push((reqwest::Method::PATCH, path.clone(), Some(body)));
    }
    calls.push((reqwest::Method::POST, format!("{path}/api-key/rotate"), None));
    for call in &calls {
        let (method, path, body) = call;
        let answer = assert_error(send(&app, b.bearer(), call).await, 404, "chatbot_not_found").await;
        let text = answer.to_string();
        assert!(
            !text.contains(&a.tenant_id) && !text.contains("A's"),
            "{method} {path} {body:?} says too much: {text}"
        );
    }

    let b_list = expect_status(app.get("/chatbots", b.bearer()).await, 200).await;
    assert_eq!(b_list, json!([get_chatbot(&app, &b, &b_chatbot.id).await]), "B lists only its own");
    let a_list = expect_status(app.get("/chatbots", a.bearer()).await, 200).await;
    assert_eq!(a_list, json!([before]), "A lists only its own");

    assert_eq!(get_chatbot(&app, &a, &a_chatbot.id).await, before);
    let stored_after = app.stored_chatbots().await;
    assert_eq!(stored_after, stored_before, "nothing was written");
    let tenant = a.tenant_id.parse().unwrap();
    let opened = app.access().await.verify(&tenant, &a_chatbot.api_key, Some("https://www.example.com")).await;
    assert_eq!(opened.expect("A's key still opens A's widget").id.to_string(), a_chatbot.id);

    app.events.caught_up().await;
    let about_a: Vec<Value> =
        chatbot_events(&app, &a_chatbot.id).into_iter().filter(|e| e["type"] != "chatbot.created").collect();
    assert!(about_a.is_empty(), "{about_a:?}");
    let by_b: Vec<Value> = app
        .events
        .all()
        .into_iter()
        .filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("chatbot.")) && e["tenantId"] == b.tenant_id)
        .collect();
    assert_eq!(by_b.len(), 1, "only B's own chatbot.created: {by_b:?}");
}

#[tokio::test]
async fn a_key_opens_the_widget_only_under_its_own_tenant_id() {
    let app = spawn_app().await;
    let a = admin(&app).await;
    let b = admin(&app).await;
    let a_chatbot = create_chatbot(&app, &a).await;
    let b_chatbot = create_chatbot(&app, &b).await;
    let access = app.access().await;
    let (a_tenant, b_tenant) = (a.tenant_id.parse().unwrap(), b.tenant_id.parse().unwrap());
    let origin = Some("https://www.example.com");

    for (tenant, key) in [(&b_tenant, &a_chatbot.api_key), (&a_tenant, &b_chatbot.api_key)] {
        let refused = access.verify(tenant, key, origin).await.expect_err("another tenant's key was accepted");
        assert_eq!(refused.code(), "api_key_invalid");
    }
    access.verify(&a_tenant, &a_chatbot.api_key, origin).await.expect("A's key under A");
    access.verify(&b_tenant, &b_chatbot.api_key, origin).await.expect("B's key under B");
}
