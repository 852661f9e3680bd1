//! What visitors and agents do besides chatting: opening a session (the widget check, the body,
//! signed identity, the visitor's address) and ending, marking and reading chatrooms, with who
//! may do what.

use serde_json::{Value, json};

use crate::support::*;

// --- sessions -----------------------------------------------------------------------------------

/// Posts a session from `origin` and answers its status and body; no answer ever shows the key.
async fn try_session(node: &TestNode, tenant: &Tenant, origin: Option<&str>, body: &Value) -> (u16, Value) {
    let response = session_request(node, &random_ip(), origin).json(body).send().await.expect("an answer");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert!(!text.contains(&tenant.api_key), "the answer shows the API key: {text}");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn assert_refused((status, body): &(u16, Value), expected: (u16, &str)) {
    assert_eq!((*status, body["code"].as_str().unwrap_or_default()), expected, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

async fn chatrooms_stored(cluster: &Cluster) -> u64 {
    cluster.db.db.collection::<bson::Document>("chatrooms").count_documents(bson::doc! {}).await.unwrap()
}

#[tokio::test]
async fn a_session_from_an_origin_the_chatbot_does_not_allow_or_with_a_bad_key_is_refused() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let other = cluster.tenant().await;
    let node = cluster.node(0);
    let body = session_body(&tenant, "Ada", "ada@example.net");

    let refused = try_session(node, &tenant, Some("https://evil.example.org"), &body).await;
    assert_refused(&refused, (403, "origin_not_allowed"));
    assert_refused(&try_session(node, &tenant, None, &body).await, (403, "origin_not_allowed"));
    let mut malformed = body.clone();
    malformed["apiKey"] = json!("parley_pk_0123456789");
    assert_refused(&try_session(node, &tenant, Some(ORIGIN), &malformed).await, (401, "api_key_invalid"));
    let mut anothers = body.clone();
    anothers["apiKey"] = json!(other.api_key);
    assert_refused(&try_session(node, &other, Some(ORIGIN), &anothers).await, (401, "api_key_invalid"));
    assert_eq!(chatrooms_stored(&cluster).await, 0, "no refused visitor waits in a queue");

    let (status, created) = try_session(node, &tenant, Some(ORIGIN), &body).await;
    assert_eq!(status, 201, "{created}");
}

#[tokio::test]
async fn a_session_body_with_a_bad_missing_or_unknown_field_is_refused_422_naming_it() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let node = cluster.node(1);
    let good = session_body(&tenant, "Ada", "ada@example.net");
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut bad_email = good.clone();
    bad_email["email"] = json!("ada-at-example.net");
    cases.push((bad_email, "email"));
    let mut no_name = good.clone();
    no_name.as_object_mut().unwrap().remove("name");
    cases.push((no_name, "name"));
    let mut long_name = good.clone();
    long_name["name"] = json!("a".repeat(101));
    cases.push((long_name, "name"));
    let mut tenant_in_visitor = good.clone();
    tenant_in_visitor["visitor"]["tenantId"] = json!(tenant.admin.tenant_id);
    cases.push((tenant_in_visitor, "tenantId"));
    let mut seq = good.clone();
    seq["seq"] = json!(1);
    cases.push((seq, "seq"));

    for (body, field) in cases {
        let refused = try_session(node, &tenant, Some(ORIGIN), &body).await;
        assert_refused(&refused, (422, "invalid_body"));
        assert!(refused.1["message"].as_str().unwrap().contains(field), "names {field}: {}", refused.1);
    }
    assert_eq!(chatrooms_stored(&cluster).await, 0);
}

#[tokio::test]
async fn with_identity_enforced_only_a_correctly_signed_email_opens_a_session_and_it_shows_verified() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let node = cluster.node(0);
    let email = "ada@example.net";
    let body = session_body(&tenant, "Ada", email);
    let signed = |signature: String| {
        let mut body = body.clone();
        body["identitySignature"] = json!(signature);
        body
    };

    // Not enforced: an unsigned visitor is welcome, and shown as unverified.
    let (status, unsigned) = try_session(node, &tenant, Some(ORIGIN), &body).await;
    assert_eq!(status, 201, "{unsigned}");
    let (_, ready) = Client::authenticated(node, unsigned["token"].as_str().unwrap()).await;
    assert_eq!(ready["chatrooms"][0]["identityVerified"], false);

    let path = format!("/chatbots/{}", tenant.chatbot_id);
    let patched = expect_status(
        cluster.chatbots.patch(&path, tenant.admin.bearer(), json!({"enforceIdentity": true})).await,
        200,
    )
    .await;
    assert_eq!(patched["enforceIdentity"], true);

    assert_refused(&try_session(node, &tenant, Some(ORIGIN), &body).await, (401, "identity_required"));
    for wrong in
        [sign(&tenant.identity_secret, "someone-else@example.net"), sign("parley_is_guess", email), "ab".into()]
    {
        assert_refused(&try_session(node, &tenant, Some(ORIGIN), &signed(wrong)).await, (401, "identity_invalid"));
    }

    let signature = sign(&tenant.identity_secret, email);
    let (status, created) = try_session(node, &tenant, Some(ORIGIN), &signed(signature.to_uppercase())).await;
    assert_eq!(status, 201, "hex in either case: {created}");
    let (_, ready) = Client::authenticated(cluster.node(1), created["token"].as_str().unwrap()).await;
    assert_eq!(ready["chatrooms"][0]["identityVerified"], true);
    let room = created["chatroomId"].as_str().unwrap();
    let event = cluster.chatrooms_topic.wait_for("chatroom.created", |e| e["data"]["chatroomId"] == room).await;
    assert_eq!(event["data"]["identityVerified"], true);
    assert!(!event.to_string().contains(&tenant.api_key) && !event.to_string().contains(&signature));
}

#[tokio::test]
async fn the_chatroom_keeps_the_address_a_trusted_proxy_saw_not_one_the_visitor_made_up() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let body = session_body(&tenant, "Ada", "ada@example.net");
    // The visitor sent "X-Forwarded-For: 192.0.2.66"; the proxy (127.0.0.1) appended the peer.
    let response =
        session_request(cluster.node(0), "192.0.2.66, 198.51.100.23", Some(ORIGIN)).json(&body).send().await.unwrap();
    let created = expect_status(response, 201).await;
    let room = created["chatroomId"].as_str().unwrap();
    let event = cluster.chatrooms_topic.wait_for("chatroom.created", |e| e["data"]["chatroomId"] == room).await;
    assert_eq!(event["data"]["visitor"]["ip"], "198.51.100.23");
    assert_eq!(event["data"]["visitor"]["os"], "Linux");
}

// --- ending, marking and reading chatrooms ------------------------------------------------------

#[tokio::test]
async fn a_visitor_who_reads_and_closes_ends_the_chatroom_and_the_agent_sees_both() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    let seq = agent.say_acked(room, "Anything else?").await;
    visitor.message("Anything else?").await;

    visitor.send(json!({"type": "read", "chatroomId": room, "upToSeq": seq})).await;
    let receipt = agent.next_of("read").await;
    assert_eq!((receipt["reader"].as_str(), receipt["upToSeq"].as_u64()), (Some("visitor"), Some(seq)));

    visitor.send(json!({"type": "close", "chatroomId": room})).await;
    let closed = agent.next_where("chatroom", |f| f["chatroomId"] == room && f["status"] == "closed").await;
    assert_eq!(closed["closeReason"], "closed_by_visitor");
    assert_eq!(closed["visitorReadSeq"].as_u64(), Some(seq), "the read is stored");
    let own = visitor.next_where("chatroom", |f| f["status"] == "closed").await;
    assert_eq!(own["closeReason"], "closed_by_visitor");
    let ended = visitor.closed().await;
    assert_eq!((ended.code, ended.reason.as_str()), (1000, "chatroom_closed"));
    let event = cluster.chatrooms_topic.wait_for("chatroom.closed", |e| e["data"]["chatroomId"] == room).await;
    assert_eq!(event["data"]["reason"], "closed_by_visitor");
    assert_eq!(event["data"]["by"]["kind"], "visitor");

    // Nothing more is said in a closed chatroom.
    let id = agent.say(room, "Bye!").await;
    let refused = agent.error().await;
    assert_eq!(
        (refused["code"].as_str(), refused["chatroomId"].as_str(), refused["clientMsgId"].as_str()),
        (Some("chatroom_closed"), Some(room), Some(id.as_str()))
    );
    agent.send(json!({"type": "close", "chatroomId": room})).await;
    assert_eq!(agent.error().await["code"], "chatroom_closed");
}

#[tokio::test]
async fn only_the_agent_holding_a_chatroom_or_a_moderator_can_close_or_mark_it() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut holder, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    let (mut colleague, _, _) = agent_client(cluster.node(0), &cluster.agent(&tenant.admin).await).await;
    for frame in [
        json!({"type": "close", "chatroomId": room}),
        json!({"type": "mark", "chatroomId": room, "as": "stale"}),
        json!({"type": "mark", "chatroomId": room, "as": "blocked"}),
    ] {
        colleague.send(frame.clone()).await;
        let refused = colleague.error().await;
        assert_eq!(
            (refused["code"].as_str(), refused["chatroomId"].as_str()),
            (Some("not_in_chatroom"), Some(room)),
            "{frame}"
        );
    }
    holder.say_acked(room, "Still here").await;
    visitor.message("Still here").await;

    // The admin holds chatrooms:moderate: they may close another agent's chatroom.
    let (mut admin, _, _) = agent_client(cluster.node(0), &tenant.admin).await;
    admin.send(json!({"type": "close", "chatroomId": room})).await;
    let closed = holder.next_where("chatroom", |f| f["chatroomId"] == room && f["status"] == "closed").await;
    assert_eq!(closed["closeReason"], "closed_by_agent");
    assert_eq!(visitor.closed().await.code, 1000);
    let event = cluster.chatrooms_topic.wait_for("chatroom.closed", |e| e["data"]["chatroomId"] == room).await;
    assert_eq!(event["data"]["by"], json!({"kind": "agent", "id": tenant.admin.user_id}));
}

#[tokio::test]
async fn marking_a_chatroom_stale_ends_it_and_the_visitor_is_closed_1000() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    agent.send(json!({"type": "mark", "chatroomId": room, "as": "stale"})).await;
    let stale = visitor.next_where("chatroom", |f| f["status"] == "stale").await;
    assert_eq!(stale["closeReason"], "marked_stale");
    let ended = visitor.closed().await;
    assert_eq!((ended.code, ended.reason.as_str()), (1000, "chatroom_closed"));
    agent.next_where("chatroom", |f| f["chatroomId"] == room && f["status"] == "stale").await;
    let event = cluster.chatrooms_topic.wait_for("chatroom.marked_stale", |e| e["data"]["chatroomId"] == room).await;
    assert_eq!(event["data"]["reason"], "marked_stale");
    assert_eq!(event["data"]["by"], json!({"kind": "agent", "id": tenant.agent.user_id}));

    // Coming back, the visitor finds it ended and cannot write.
    let (mut back, ready) = Client::authenticated(cluster.node(1), &session.token).await;
    assert_eq!(ready["chatrooms"][0]["status"], "stale");
    back.say(room, "Hello?").await;
    assert_eq!(back.error().await["code"], "chatroom_closed");
}

#[tokio::test]
async fn an_agent_at_their_max_concurrent_chatrooms_cannot_join_another_until_one_ends() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let path = format!("/users/{}", tenant.agent.user_id);
    let body = json!({"assigning": {"enabled": true, "maxConcurrent": 1}});
    let user = expect_status(cluster.tenant.patch(&path, tenant.admin.bearer(), body).await, 200).await;
    assert_eq!(user["assigning"]["maxConcurrent"], 1);
    let (first, second) = (open_session(cluster.node(0), &tenant).await, open_session(cluster.node(0), &tenant).await);

    // The limit is read when the agent connects.
    let (mut agent, _, _) = agent_client(cluster.node(1), &tenant.agent).await;
    join(&mut agent, &first.chatroom_id).await;
    agent.send(json!({"type": "join", "chatroomId": second.chatroom_id})).await;
    let refused = agent.error().await;
    assert_eq!(
        (refused["code"].as_str(), refused["chatroomId"].as_str()),
        (Some("too_many_chatrooms"), Some(second.chatroom_id.as_str()))
    );
    agent.next_where("queue", |f| f["chatrooms"][0]["chatroomId"] == second.chatroom_id.as_str()).await;

    agent.send(json!({"type": "close", "chatroomId": first.chatroom_id})).await;
    agent.next_where("chatroom", |f| f["chatroomId"] == first.chatroom_id.as_str() && f["status"] == "closed").await;
    join(&mut agent, &second.chatroom_id).await;
}

#[tokio::test]
async fn an_agent_cannot_join_a_chatroom_of_another_tenant() {
    let cluster = cluster().await;
    let (ours, theirs) = (cluster.tenant().await, cluster.tenant().await);
    let session = open_session(cluster.node(0), &theirs).await;
    let (mut agent, _, _) = agent_client(cluster.node(1), &ours.agent).await;
    agent.send(json!({"type": "join", "chatroomId": session.chatroom_id})).await;
    let refused = agent.error().await;
    assert_eq!(
        (refused["code"].as_str(), refused["chatroomId"].as_str()),
        (Some("chatroom_not_found"), Some(session.chatroom_id.as_str()))
    );
    agent.send(json!({"type": "resume", "chatroomId": session.chatroom_id, "afterSeq": 0})).await;
    assert_eq!(agent.error().await["code"], "not_in_chatroom");
    assert!(agent.seen.iter().all(|f| f["type"] != "message"), "{:?}", agent.seen);

    // It is still waiting for its own tenant's agents.
    let (mut theirs_agent, _, queue) = agent_client(cluster.node(0), &theirs.agent).await;
    assert_eq!(queue["chatrooms"][0]["chatroomId"], session.chatroom_id.as_str());
    join(&mut theirs_agent, &session.chatroom_id).await;
}
