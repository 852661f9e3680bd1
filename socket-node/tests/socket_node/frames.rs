//! Authentication failures and malformed frames: the server answers each with its code, never
//! panics, and never takes a client's word for who it is.

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;

#[tokio::test]
async fn a_connection_that_does_not_authenticate_in_time_is_closed_4401() {
    let cluster = cluster_with(&[("PARLEY_AUTH_TIMEOUT_SECS", "1")]).await;
    let mut client = Client::connect(cluster.node(0)).await;
    let closed = client.closed().await;
    assert_eq!((closed.code, closed.reason.as_str()), (4401, "auth_timeout"));
}

#[tokio::test]
async fn frames_before_auth_and_bad_tokens_are_refused_and_closed_4401() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let session = open_session(cluster.node(0), &tenant).await;

    let mut early = Client::connect(cluster.node(0)).await;
    early.say(&session.chatroom_id, "let me in").await;
    assert_eq!(early.error().await["code"], "auth_required");
    assert_eq!(early.closed().await.code, 4401);

    let mut forged = Client::connect(cluster.node(1)).await;
    forged.send(json!({"type": "auth", "token": "eyJhbGciOiJub25lIn0.e30."})).await;
    assert_eq!(forged.error().await["code"], "token_invalid");
    assert_eq!(forged.closed().await.code, 4401);

    // An agent token that expired a minute ago, signed with the real key.
    let (kid, secret) = cluster.jwt_keys.split_once(':').unwrap();
    let now = shared::domain::Timestamp::now().unix_millis() / 1000;
    let claims = json!({
        "sub": tenant.agent.user_id, "tid": tenant.agent.tenant_id, "perms": ["chatrooms:join"],
        "aud": "parley:agent", "iat": now - 1000, "exp": now - 60, "jti": "expired",
    });
    let header =
        jsonwebtoken::Header { kid: Some(kid.into()), ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256) };
    let expired =
        jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes())).unwrap();
    let mut late = Client::connect(cluster.node(0)).await;
    late.send(json!({"type": "auth", "token": expired})).await;
    assert_eq!(late.error().await["code"], "token_expired");
    assert_eq!(late.closed().await.code, 4401);
}

#[tokio::test]
async fn an_agent_without_chatrooms_join_is_refused_4403() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let role =
        shared::testing::accounts::create_role(&cluster.tenant, &tenant.admin, "viewer", &["analytics:view"]).await;
    let viewer = shared::testing::accounts::invite_user_with_password(
        &cluster.tenant,
        &cluster.tenants_topic,
        &tenant.admin,
        &[&role],
    )
    .await;
    let mut client = Client::connect(cluster.node(0)).await;
    client.send(json!({"type": "auth", "token": viewer.access})).await;
    assert_eq!(client.error().await["code"], "permission_denied");
    assert_eq!(client.closed().await.code, 4403);
}

#[tokio::test]
async fn a_visitor_token_opens_its_own_chatroom_only() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let mine = open_session(cluster.node(0), &tenant).await;
    let theirs = open_session(cluster.node(0), &tenant).await;
    let (mut visitor, _) = Client::authenticated(cluster.node(0), &mine.token).await;
    let (mut other, _) = Client::authenticated(cluster.node(1), &theirs.token).await;
    for frame in [
        json!({"type": "send", "chatroomId": theirs.chatroom_id, "clientMsgId": "x-1", "message": "hi"}),
        json!({"type": "resume", "chatroomId": theirs.chatroom_id, "afterSeq": 0}),
        json!({"type": "typing", "chatroomId": theirs.chatroom_id, "typing": true}),
        json!({"type": "close", "chatroomId": theirs.chatroom_id}),
    ] {
        visitor.send(frame).await;
        let error = visitor.error().await;
        assert_eq!(error["code"], "not_in_chatroom");
        assert_eq!(error["chatroomId"], theirs.chatroom_id.as_str());
    }
    other.send(json!({"type": "ping", "nonce": "n1"})).await;
    assert_eq!(other.next_of("pong").await["nonce"], "n1");
    assert!(other.seen.iter().all(|f| f["type"] != "message" && f["type"] != "typing"), "{:?}", other.seen);
}

#[tokio::test]
async fn malformed_frames_get_codes_and_the_connection_and_node_carry_on() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let session = open_session(cluster.node(0), &tenant).await;
    let room = session.chatroom_id.as_str();
    let (mut visitor, _) = Client::authenticated(cluster.node(0), &session.token).await;

    let cases: Vec<(Message, &str)> = vec![
        (Message::Text("{not json".into()), "invalid_frame"),
        (Message::Text("[1,2,3]".into()), "invalid_frame"),
        (Message::Text(r#"{"type":"dance"}"#.into()), "unknown_type"),
        (Message::Text(r#"{"type":"send","chatroomId":"nope","clientMsgId":"a","message":"x"}"#.into()), "invalid_frame"),
        (Message::Text(format!(r#"{{"type":"send","chatroomId":"{room}","clientMsgId":"has space","message":"x"}}"#).into()), "invalid_frame"),
        (Message::Binary(vec![0, 159, 146, 150].into()), "binary_not_supported"),
        (
            Message::Text(
                format!(r#"{{"type":"send","chatroomId":"{room}","clientMsgId":"t1","message":"x","tenantId":"{}"}}"#, tenant.admin.tenant_id)
                    .into(),
            ),
            "invalid_frame",
        ),
        (
            Message::Text(
                format!(r#"{{"type":"send","chatroomId":"{room}","clientMsgId":"t2","message":"x","sender":{{"kind":"agent","id":"{}","name":"Boss"}}}}"#, tenant.agent.user_id)
                    .into(),
            ),
            "invalid_frame",
        ),
        (Message::Text(format!(r#"{{"type":"send","chatroomId":"{room}","clientMsgId":"t3","message":"x","seq":1}}"#).into()), "invalid_frame"),
        (Message::Text(format!(r#"{{"type":"send","chatroomId":"{room}","clientMsgId":"t4","message":"{}"}}"#, "a".repeat(4097)).into()), "message_too_large"),
        (Message::Text(format!(r#"{{"type":"send","chatroomId":"{room}","clientMsgId":"t5","message":"   "}}"#).into()), "message_empty"),
    ];
    for (frame, code) in cases {
        let shown = format!("{frame:?}").chars().take(120).collect::<String>();
        visitor.send_raw(frame).await;
        assert_eq!(visitor.error().await["code"], code, "{shown}");
    }
    // Nothing of it was stored or shown as sent by anyone else.
    let stored = crate::story::stored_messages(&cluster, room).await;
    assert_eq!(stored.len(), 1, "only the greeting: {stored:?}");

    // A message at the limit is fine, and the connection still works.
    let seq = visitor.say_acked(room, &"é".repeat(2048)).await;
    assert_eq!(seq, 2);
    let stored = crate::story::stored_messages(&cluster, room).await;
    assert_eq!(stored[1].get_document("sender").unwrap().get_str("kind"), Ok("visitor"));

    // A frame over the frame limit ends the connection with 1009; the node carries on.
    visitor.send_raw(Message::Text("x".repeat(20_000).into())).await;
    assert_eq!(visitor.closed().await.code, 1009);
    let (mut again, ready) = Client::authenticated(cluster.node(0), &session.token).await;
    assert_eq!(ready["chatrooms"][0]["chatroomId"], room);
    again.say_acked(room, "still here").await;
}

#[tokio::test]
async fn a_visitor_who_floods_is_refused_rate_limited_and_the_agent_sees_only_the_allowance() {
    // Three at once, then one every five seconds: the four sends below come well within that.
    let cluster = cluster_with(&[("PARLEY_VISITOR_FRAME_LIMITS", "send=3/12")]).await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();

    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(visitor.say(room, &format!("flood {i}")).await);
    }
    for id in &ids[..3] {
        visitor.next_where("ack", |f| f["clientMsgId"] == id.as_str()).await;
    }
    let refused_id = ids[3].clone();
    let refused = visitor.error().await;
    assert_eq!(refused["code"], "rate_limited");
    assert_eq!((refused["chatroomId"].as_str(), refused["clientMsgId"].as_str()), (Some(room), Some(&*refused_id)));
    for i in 0..3 {
        agent.message(&format!("flood {i}")).await;
    }

    // The allowance refills: the same message, sent again as a client retries, goes through once.
    let deadline = tokio::time::Instant::now() + WAIT;
    let frame = json!({"type": "send", "chatroomId": room, "clientMsgId": refused_id, "message": "flood 3"});
    let seq = loop {
        visitor.send(frame.clone()).await;
        let answer = visitor.next_where_any(&["ack", "error"], |f| f["clientMsgId"] == refused_id.as_str()).await;
        if answer["type"] == "ack" {
            break answer["seq"].as_u64().unwrap();
        }
        assert_eq!(answer["code"], "rate_limited");
        assert!(tokio::time::Instant::now() < deadline, "the allowance never refilled");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(agent.message("flood 3").await["seq"].as_u64(), Some(seq));
}
