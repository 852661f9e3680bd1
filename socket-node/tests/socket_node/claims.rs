//! Agents and the queue: one winner when two agents race for a chatroom, leaving, blocking a
//! visitor, and the session rate limits.

use serde_json::json;

use crate::support::*;

/// "joined" when `agent_id` got the chatroom, else the error code the agent was given.
async fn outcome(client: &mut Client, room: &str, agent_id: &str) -> String {
    let frame = client
        .next_where_any(&["chatroom", "error"], |f| {
            f["type"] == "error" && f["chatroomId"] == room
                || f["chatroomId"] == room && f["status"] == "active" && f["agent"]["id"] == agent_id
        })
        .await;
    if frame["type"] == "error" { frame["code"].as_str().unwrap().to_owned() } else { "joined".into() }
}

#[tokio::test]
async fn two_agents_racing_for_a_chatroom_on_two_nodes_one_wins_the_other_is_told() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let second = cluster.agent(&tenant.admin).await;
    for _ in 0..3 {
        let session = open_session(cluster.node(0), &tenant).await;
        let room = session.chatroom_id.as_str();
        let (mut a, _, _) = agent_client(cluster.node(0), &tenant.agent).await;
        let (mut b, _, _) = agent_client(cluster.node(1), &second).await;
        let frame = json!({"type": "join", "chatroomId": room});
        tokio::join!(a.send(frame.clone()), b.send(frame));
        let (a_got, b_got) =
            tokio::join!(outcome(&mut a, room, &tenant.agent.user_id), outcome(&mut b, room, &second.user_id));
        let mut outcomes = [a_got.as_str(), b_got.as_str()];
        outcomes.sort_unstable();
        assert_eq!(outcomes, ["chatroom_already_claimed", "joined"]);
        cluster.chatrooms_topic.wait_for("chatroom.assigned", |e| e["data"]["chatroomId"] == room).await;
        a.close().await;
        b.close().await;
    }
    cluster.chatrooms_topic.caught_up().await;
    assert_eq!(cluster.chatrooms_topic.of_type("chatroom.assigned").len(), 3, "one join per chatroom");
}

#[tokio::test]
async fn an_agent_who_leaves_hands_the_chatroom_back_to_the_queue() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let session = open_session(cluster.node(0), &tenant).await;
    let room = session.chatroom_id.as_str();
    let (mut visitor, _) = Client::authenticated(cluster.node(0), &session.token).await;
    let (mut agent, _, _) = agent_client(cluster.node(1), &tenant.agent).await;
    join(&mut agent, room).await;
    agent.send(json!({"type": "leave", "chatroomId": room})).await;
    let waiting = visitor.next_where("chatroom", |f| f["status"] == "waiting").await;
    assert_eq!(waiting["agent"], serde_json::Value::Null);
    agent.next_where("queue", |f| f["chatrooms"][0]["chatroomId"] == room).await;
    agent.say(room, "still here?").await;
    assert_eq!(agent.error().await["code"], "not_in_chatroom", "who left no longer writes there");
    cluster.chatrooms_topic.wait_for("chatroom.agent_left", |e| e["data"]["chatroomId"] == room).await;
}

#[tokio::test]
async fn a_blocked_visitor_is_disconnected_and_cannot_open_another_session() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let ip = random_ip();
    let body = session_body(&tenant, "Mallory", "mallory@example.net");
    let created = expect_status(post_session(cluster.node(0), &ip, &body).await, 201).await;
    let room = created["chatroomId"].as_str().unwrap();
    let (mut visitor, _) = Client::authenticated(cluster.node(0), created["token"].as_str().unwrap()).await;
    let (mut agent, _, _) = agent_client(cluster.node(1), &tenant.agent).await;
    join(&mut agent, room).await;

    agent.send(json!({"type": "mark", "chatroomId": room, "as": "blocked"})).await;
    let blocked = visitor.next_where("chatroom", |f| f["status"] == "blocked").await;
    assert_eq!(blocked["closeReason"], "blocked");
    assert_eq!(visitor.closed().await.code, 4403);
    cluster.chatrooms_topic.wait_for("chatroom.blocked", |e| e["data"]["chatroomId"] == room).await;

    // The same email from another address, and another email from the same address: refused.
    let response = post_session(cluster.node(1), &random_ip(), &body).await;
    assert_error(response, 403, "visitor_blocked").await;
    let other = session_body(&tenant, "Mallory", "another@example.net");
    assert_error(post_session(cluster.node(0), &ip, &other).await, 403, "visitor_blocked").await;
    // Someone else is fine.
    open_session(cluster.node(0), &tenant).await;
}

#[tokio::test]
async fn a_moderator_lifts_a_block_through_the_api_and_the_visitor_chats_again() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let ip = random_ip();
    let body = session_body(&tenant, "Mallory", "mallory@example.net");
    let created = expect_status(post_session(cluster.node(0), &ip, &body).await, 201).await;
    let room = created["chatroomId"].as_str().unwrap();
    let (mut agent, _, _) = agent_client(cluster.node(1), &tenant.agent).await;
    join(&mut agent, room).await;
    agent.send(json!({"type": "mark", "chatroomId": room, "as": "blocked"})).await;
    agent.next_where("chatroom", |f| f["chatroomId"] == room && f["status"] == "blocked").await;
    assert_error(post_session(cluster.node(0), &ip, &body).await, 403, "visitor_blocked").await;

    // The moderator (the admin) finds the block: whom, from where, by whom, from which chatroom.
    let page = expect_status(cluster.chatbots.get("/blocks", tenant.admin.bearer()).await, 200).await;
    let block = &page["blocks"][0];
    assert_eq!(page["blocks"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!((block["email"].as_str(), block["ip"].as_str()), (Some("mallory@example.net"), Some(ip.as_str())));
    assert_eq!(
        (block["chatroomId"].as_str(), block["chatbotId"].as_str()),
        (Some(room), Some(tenant.chatbot_id.as_str()))
    );
    assert_eq!(block["blockedBy"]["id"], tenant.agent.user_id.as_str());
    // The agent who blocked may not lift it; the moderator may.
    let path = format!("/blocks/{}", block["id"].as_str().unwrap());
    assert_error(cluster.chatbots.delete(&path, tenant.agent.bearer()).await, 403, "permission_denied").await;
    expect_status(cluster.chatbots.delete(&path, tenant.admin.bearer()).await, 204).await;
    let lifted = cluster.chatrooms_topic.wait_for("block.lifted", |e| e["data"]["chatroomId"] == room).await;
    assert_eq!(lifted["data"]["liftedBy"], tenant.admin.user_id.as_str());

    // The same visitor, same address and email, opens a new chatroom and is answered.
    let again = expect_status(post_session(cluster.node(0), &ip, &body).await, 201).await;
    let new_room = again["chatroomId"].as_str().unwrap();
    assert_ne!(new_room, room);
    let (mut visitor, _) = Client::authenticated(cluster.node(0), again["token"].as_str().unwrap()).await;
    join(&mut agent, new_room).await;
    visitor.say_acked(new_room, "sorry about before").await;
    agent.message("sorry about before").await;
}

#[tokio::test]
async fn a_visitor_cannot_act_as_an_agent() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let session = open_session(cluster.node(0), &tenant).await;
    let (mut visitor, _) = Client::authenticated(cluster.node(0), &session.token).await;
    for frame in [
        json!({"type": "join", "chatroomId": session.chatroom_id}),
        json!({"type": "leave", "chatroomId": session.chatroom_id}),
        json!({"type": "mark", "chatroomId": session.chatroom_id, "as": "stale"}),
    ] {
        visitor.send(frame).await;
        assert_eq!(visitor.error().await["code"], "agent_only");
    }
}

#[tokio::test]
async fn sessions_are_rate_limited_per_address_and_per_chatbot() {
    let cluster =
        cluster_with(&[("PARLEY_SESSIONS_PER_IP_PER_MINUTE", "2"), ("PARLEY_SESSIONS_PER_CHATBOT_PER_MINUTE", "4")])
            .await;
    let tenant = cluster.tenant().await;
    let ip = random_ip();
    let body = |n: usize| session_body(&tenant, "Ada", &format!("ada{n}@example.net"));
    for n in 0..2 {
        expect_status(post_session(cluster.node(n % 2), &ip, &body(n)).await, 201).await;
    }
    let limited = post_session(cluster.node(0), &ip, &body(9)).await;
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_error(limited, 429, "rate_limited").await;

    // Other addresses share the chatbot's budget: two more, then the chatbot is limited.
    for n in 2..4 {
        expect_status(post_session(cluster.node(1), &random_ip(), &body(n)).await, 201).await;
    }
    assert_error(post_session(cluster.node(1), &random_ip(), &body(5)).await, 429, "rate_limited").await;
}
