//! Who may manage chatbots: nobody without a token, no agent without `chatbots:manage` (and
//! their attempts change nothing), and anyone whose role holds it, on every route.

use crate::support::*;

#[tokio::test]
async fn every_chatbot_route_answers_401_missing_token_without_a_token() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    let before = get_chatbot(&app, &admin, &created.id).await;

    for call in every_route(&created.id) {
        let (method, path, _) = &call;
        let response = send(&app, anonymous(), &call).await;
        let body = assert_error(response, 401, "missing_token").await;
        assert!(body.is_object(), "{method} {path}");
        let response = send(&app, bearer("not-a-token"), &call).await;
        let body = assert_error(response, 401, "invalid_token").await;
        assert!(body.is_object(), "{method} {path}");
    }

    assert_eq!(get_chatbot(&app, &admin, &created.id).await, before);
    assert_eq!(app.stored_chatbots().await.len(), 1);
}

#[tokio::test]
async fn an_agent_without_chatbots_manage_is_refused_403_on_every_route_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let agent = agent(&app, &admin).await;
    let created = create_chatbot(&app, &admin).await;
    let before = get_chatbot(&app, &admin, &created.id).await;
    let stored = app.stored_chatbots().await;

    for call in every_route(&created.id) {
        let (method, path, _) = &call;
        let body = assert_error(send(&app, agent.bearer(), &call).await, 403, "permission_denied").await;
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("chatbots:manage"), "{method} {path}: the message does not name it: {message}");
    }

    assert_eq!(app.stored_chatbots().await, stored, "nothing was written");
    assert_eq!(get_chatbot(&app, &admin, &created.id).await, before);
    let tenant = admin.tenant_id.parse().unwrap();
    let chatbot = app.access().await.verify(&tenant, &created.api_key, Some("https://www.example.com")).await;
    assert!(chatbot.is_ok(), "the key no longer opens the widget: {:?}", chatbot.err());
    app.events.caught_up().await;
    let chatbot_events: Vec<_> = app
        .events
        .all()
        .into_iter()
        .filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("chatbot.")))
        .collect();
    assert_eq!(chatbot_events.len(), 1, "only the admin's chatbot.created: {chatbot_events:?}");
}

#[tokio::test]
async fn a_user_whose_only_role_holds_chatbots_manage_can_do_everything() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let manager = user_with(&app, &admin, &["chatbots:manage"]).await;

    // A chatbot of their own, in their tenant.
    let own = create_chatbot_with(&app, &manager, chatbot_body("Theirs")).await;
    assert_eq!(own.chatbot["tenantId"], admin.tenant_id);
    assert_eq!(get_chatbot(&app, &admin, &own.id).await, own.chatbot);

    // And every route on the admin's.
    let created = create_chatbot(&app, &admin).await;
    let listed = expect_status(app.get("/chatbots", manager.bearer()).await, 200).await;
    let listed: Vec<&str> = listed.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [own.id.as_str(), created.id.as_str()]);
    for call in chatbot_routes(&created.id) {
        let (method, path, _) = &call;
        let response = send(&app, manager.bearer(), &call).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let expected = if *method == reqwest::Method::DELETE { 204 } else { 200 };
        assert_eq!(status, expected, "{method} {path}: {text}");
    }
    assert_error(app.get(&format!("/chatbots/{}", created.id), admin.bearer()).await, 404, "chatbot_not_found").await;

    // Each of those calls did what it says.
    app.events.caught_up().await;
    let types: Vec<String> =
        chatbot_events(&app, &created.id).iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect();
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
}

#[tokio::test]
async fn without_chatbots_manage_a_bad_body_is_refused_403_before_it_is_read() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let agent = agent(&app, &admin).await;
    let created = create_chatbot(&app, &admin).await;
    let path = format!("/chatbots/{}", created.id);
    for (method, path, body) in [
        (reqwest::Method::POST, "/chatbots", r#"{"name": 42}"#),
        (reqwest::Method::POST, "/chatbots", "{not json"),
        (reqwest::Method::PATCH, path.as_str(), r#"{"status": "paused"}"#),
    ] {
        let response = app.send_raw(method.clone(), path, agent.bearer(), body).await;
        assert_error(response, 403, "permission_denied").await;
    }
    assert_eq!(app.stored_chatbots().await.len(), 1, "nothing was written");
}
