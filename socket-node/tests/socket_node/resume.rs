//! Losing nothing: duplicate sends store one message; a dropped connection resumes with every
//! message it missed, once each and in order; a visitor who stays away closes the chatroom.

use serde_json::{Value, json};

use crate::{story::stored_messages, support::*};

#[tokio::test]
async fn a_repeated_client_msg_id_gets_the_same_ack_and_stores_one_message() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    let send = json!({"type": "send", "chatroomId": room, "clientMsgId": "retry-1", "message": "once only"});
    visitor.send(send.clone()).await;
    let first = visitor.next_where("ack", |f| f["clientMsgId"] == "retry-1").await;
    visitor.send(send.clone()).await;
    let second = visitor.next_where("ack", |f| f["clientMsgId"] == "retry-1").await;
    assert_eq!(first, second, "the same ack, seq and time");

    // From a second connection of the same visitor (a reconnect that retries), too.
    let (mut again, _) = Client::authenticated(cluster.node(1), &session.token).await;
    again.send(send).await;
    assert_eq!(again.next_where("ack", |f| f["clientMsgId"] == "retry-1").await, first);

    let after = agent.say_acked(room, "and this is next").await;
    assert!(after > first["seq"].as_u64().unwrap(), "the next message comes after it");
    let stored = stored_messages(&cluster, room).await;
    assert_eq!(stored.iter().filter(|m| m.get_str("message") == Ok("once only")).count(), 1);
    agent.message("once only").await;
    cluster.messages_topic.caught_up().await;
    let sent = cluster.messages_topic.of_type("message.sent");
    assert_eq!(sent.iter().filter(|e| e["data"]["clientMsgId"] == "retry-1").count(), 1, "one message.sent");
}

#[tokio::test]
async fn a_visitor_who_drops_resumes_with_everything_missed_once_and_in_order() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    let last_seen = visitor.say_acked(room, "I have a question").await;
    agent.message("I have a question").await;

    // The visitor's network goes: the chatroom goes to standby and the agent sees it.
    visitor.close().await;
    let standby = agent.next_where("chatroom", |f| f["status"] == "standby").await;
    assert!(standby["standbyUntil"].is_string());
    cluster.chatrooms_topic.wait_for("chatroom.standby", |e| e["data"]["chatroomId"] == room).await;

    // The agent keeps answering meanwhile: stored, acked.
    let mut missed = Vec::new();
    for i in 0..5 {
        missed.push(agent.say_acked(room, &format!("answer {i}")).await);
    }

    // The visitor comes back on the other node and resumes from what they had.
    let (mut back, ready) = Client::authenticated(cluster.node(1), &session.token).await;
    assert_eq!(ready["chatrooms"][0]["status"], "active", "the chatroom is active again");
    back.send(json!({"type": "resume", "chatroomId": room, "afterSeq": last_seen})).await;
    let resumed = back.next_of("resumed").await;
    let replayed: Vec<u64> =
        back.seen.iter().filter(|f| f["type"] == "message").map(|f| f["seq"].as_u64().unwrap()).collect();
    assert_eq!(replayed, missed, "every missed message, once, in order, nothing from before");
    assert_eq!(resumed["lastSeq"].as_u64(), missed.last().copied());
    let texts: Vec<&str> =
        back.seen.iter().filter(|f| f["type"] == "message").map(|f| f["message"].as_str().unwrap()).collect();
    assert_eq!(texts, ["answer 0", "answer 1", "answer 2", "answer 3", "answer 4"]);
    agent.next_where("chatroom", |f| f["status"] == "active").await;
    cluster.chatrooms_topic.wait_for("chatroom.resumed", |e| e["data"]["chatroomId"] == room).await;

    // And live again, both ways.
    agent.say_acked(room, "welcome back").await;
    assert_eq!(back.message("welcome back").await["seq"].as_u64(), Some(missed.last().unwrap() + 1));
    back.say_acked(room, "thanks").await;
    agent.message("thanks").await;
}

#[tokio::test]
async fn a_visitor_who_stays_away_past_the_standby_closes_the_chatroom_as_visitor_left() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let (visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    visitor.close().await;
    agent.next_where("chatroom", |f| f["status"] == "standby").await;
    let closed = agent.next_where("chatroom", |f| f["status"] == "closed").await;
    assert_eq!(closed["closeReason"], "visitor_left");
    let event = cluster.chatrooms_topic.wait_for("chatroom.closed", |e| e["data"]["chatroomId"] == room).await;
    assert_eq!(event["data"]["reason"], "visitor_left");
    cluster.chatrooms_topic.caught_up().await;
    let closes = cluster.chatrooms_topic.of_type("chatroom.closed");
    assert_eq!(
        closes.iter().filter(|e| e["data"]["chatroomId"] == room).count(),
        1,
        "two sweeping nodes close it once"
    );

    // Coming back too late: the visitor sees the closed chatroom and cannot write.
    let (mut late, ready) = Client::authenticated(cluster.node(0), &session.token).await;
    assert_eq!(ready["chatrooms"][0]["status"], "closed");
    late.say(room, "hello?").await;
    assert_eq!(late.error().await["code"], "chatroom_closed");
}

#[tokio::test]
async fn a_resume_within_the_recent_window_is_answered_without_the_store() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    for text in ["one", "two", "three"] {
        visitor.say_acked(room, text).await;
        agent.message(text).await;
    }
    let stored: Vec<String> =
        stored_messages(&cluster, room).await.iter().map(|m| m.get_str("message").unwrap().to_owned()).collect();

    // Gone from the store: what the agent gets back can only have come from Redis.
    let filter = bson::doc! {"chatroomId": room};
    cluster.db.db.collection::<bson::Document>("messages").delete_many(filter).await.unwrap();
    agent.close().await;
    let (mut back, _, _) = agent_client(cluster.node(0), &tenant.agent).await;
    back.send(json!({"type": "resume", "chatroomId": room, "afterSeq": 0})).await;
    let resumed = back.next_of("resumed").await;
    let replayed: Vec<&Value> =
        back.seen.iter().filter(|f| f["type"] == "message" && f["chatroomId"] == room).collect();
    let texts: Vec<String> = replayed.iter().map(|f| f["message"].as_str().unwrap().to_owned()).collect();
    assert_eq!(texts, stored, "every message, in order, from the window");
    assert_eq!(resumed["lastSeq"], replayed.last().unwrap()["seq"]);
}

#[tokio::test]
async fn a_message_stored_but_missing_from_the_recent_window_is_resumed_from_the_store() {
    use shared::domain::{ChatroomId, Message, Sender, SenderKind, TenantId, Timestamp};
    use socket_node::seqs::{RedisSeqs, Seqs};

    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    visitor.say_acked(room, "before").await;
    agent.message("before").await;

    // A node numbers a message, stores it and dies before filling the window (or telling anyone).
    let before = stored_messages(&cluster, room).await.pop().unwrap();
    let tenant_id: TenantId = before.get_str("tenantId").unwrap().parse().unwrap();
    let chatroom_id: ChatroomId = room.parse().unwrap();
    let seqs = RedisSeqs::new(cluster.redis.redis.clone());
    let seq = seqs.next(&shared::repos::Repos::memory(), &tenant_id, &chatroom_id, 0).await.unwrap();
    let sender = Sender { kind: SenderKind::Visitor, id: None, name: "Vera".into() };
    let text = "stored, then the node died".to_owned();
    let orphan = Message::new(tenant_id, chatroom_id, seq, "orphan".parse().unwrap(), sender, text, Timestamp::now());
    cluster.db.db.collection::<Message>("messages").insert_one(orphan).await.unwrap();
    visitor.say_acked(room, "after").await;
    agent.message("after").await;

    agent.close().await;
    let (mut back, _, _) = agent_client(cluster.node(0), &tenant.agent).await;
    back.send(json!({"type": "resume", "chatroomId": room, "afterSeq": 0})).await;
    back.next_of("resumed").await;
    let texts: Vec<&str> = back
        .seen
        .iter()
        .filter(|f| f["type"] == "message" && f["chatroomId"] == room)
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    let at = |text: &str| texts.iter().position(|t| *t == text);
    assert!(at("stored, then the node died").is_some(), "the orphan is replayed: {texts:?}");
    assert!(at("before") < at("stored, then the node died") && at("stored, then the node died") < at("after"));
}
