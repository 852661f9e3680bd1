//! Steps 4 to 8 of the story (blueprint section 1), with the visitor on one node and the agent on
//! the other: a visitor opens the widget, waits in the queue with the greeting, an agent sees the
//! queue live and joins, they chat with typing indicators, read receipts and acks, and every
//! message is stored and produced to Kafka after it was delivered.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_visitor_and_an_agent_on_different_nodes_chat_end_to_end() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let (mut agent, ready, queue) = agent_client(cluster.node(1), &tenant.agent).await;
    assert_eq!(ready["role"], "agent");
    assert_eq!(queue["chatrooms"], json!([]), "nobody waits yet");

    // Step 4: the visitor opens the widget.
    let body = session_body(&tenant, "Ada Visitor", "ada@example.net");
    let created = expect_status(post_session(cluster.node(0), "198.51.100.7", &body).await, 201).await;
    let room = created["chatroomId"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "waiting");
    assert_eq!(created["websocketPath"], "/v1/ws");

    // Step 6: chatroom.created, and the agent's queue shows the visitor live.
    let queued = agent.next_where("queue", |f| f["chatrooms"].as_array().is_some_and(|c| !c.is_empty())).await;
    assert_eq!(queued["chatrooms"][0]["chatroomId"], room.as_str());
    assert_eq!(queued["chatrooms"][0]["name"], "Ada Visitor");
    assert_eq!(queued["chatrooms"][0]["email"], "ada@example.net");
    // The agent's visitor panel: where they are and what they use.
    assert_eq!(queued["chatrooms"][0]["visitor"]["ip"], "198.51.100.7");
    assert_eq!(queued["chatrooms"][0]["visitor"]["browser"], "Chrome");
    assert_eq!(queued["chatrooms"][0]["visitor"]["pageUrl"], "https://www.example.com/pricing");
    let event =
        cluster.chatrooms_topic.wait_for("chatroom.created", |e| e["data"]["chatroomId"] == room.as_str()).await;
    assert_eq!(event["tenantId"], tenant.admin.tenant_id.as_str());
    assert_eq!(event["data"]["visitor"]["ip"], "198.51.100.7", "the IP is stored as metadata");
    assert_eq!(event["data"]["visitor"]["browser"], "Chrome");
    assert_eq!(event["data"]["visitor"]["pageUrl"], "https://www.example.com/pricing");
    assert_eq!(cluster.chatrooms_topic.key_of(event["id"].as_str().unwrap()).as_deref(), Some(room.as_str()));

    // Step 5: the greeting is the chatroom's first message.
    let token = created["token"].as_str().unwrap();
    let (mut visitor, ready) = Client::authenticated(cluster.node(0), token).await;
    assert_eq!(ready["role"], "visitor");
    assert_eq!(ready["chatrooms"][0]["status"], "waiting");
    visitor.send(json!({"type": "resume", "chatroomId": room, "afterSeq": 0})).await;
    let greeting = visitor.next_of("message").await;
    assert_eq!((greeting["seq"].as_u64(), greeting["sender"]["kind"].as_str()), (Some(1), Some("system")));
    assert_eq!(greeting["message"], "Hi! A live agent will join shortly.");
    visitor.next_of("resumed").await;

    // The visitor writes before anyone joined: stored, acked.
    let early = visitor.say_acked(&room, "Hello? Is anyone there?").await;
    assert_eq!(early, 2);

    // Step 7: the agent joins; the visitor is told who; the agent gets the history.
    let joined = join(&mut agent, &room).await;
    assert_eq!(joined["agent"]["id"], tenant.agent.user_id.as_str());
    let told = visitor.next_where("chatroom", |f| f["status"] == "active").await;
    assert_eq!(told["agent"]["id"], tenant.agent.user_id.as_str());
    assert!(told["agent"]["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert_eq!(agent.message("Hello? Is anyone there?").await["seq"], 2);
    let joined_note = visitor.next_where("message", |f| f["sender"]["kind"] == "system").await;
    assert!(joined_note["message"].as_str().unwrap().ends_with("joined the chat"), "{joined_note}");
    agent.next_where("queue", |f| f["chatrooms"] == json!([])).await;
    cluster.chatrooms_topic.wait_for("chatroom.assigned", |e| e["data"]["chatroomId"] == room.as_str()).await;

    // Typing indicators both ways, not stored.
    agent.send(json!({"type": "typing", "chatroomId": room, "typing": true})).await;
    let typing = visitor.next_of("typing").await;
    assert_eq!((typing["sender"]["kind"].as_str(), typing["typing"].as_bool()), (Some("agent"), Some(true)));
    visitor.send(json!({"type": "typing", "chatroomId": room, "typing": true})).await;
    assert_eq!(agent.next_of("typing").await["sender"]["kind"], "visitor");

    // Messages both ways, acked with their seq, delivered across nodes.
    let reply_seq = agent.say_acked(&room, "Hi Ada, I'm here. How can I help?").await;
    let reply = visitor.message("Hi Ada, I'm here. How can I help?").await;
    assert_eq!(reply["seq"].as_u64(), Some(reply_seq));
    assert_eq!(reply["sender"]["kind"], "agent");
    let question_seq = visitor.say_acked(&room, "My invoice is wrong <b>twice</b>").await;
    assert!(question_seq > reply_seq);
    assert_eq!(agent.message("My invoice is wrong <b>twice</b>").await["seq"].as_u64(), Some(question_seq));

    // Read receipts: the agent read up to the question; the visitor sees it.
    agent.send(json!({"type": "read", "chatroomId": room, "upToSeq": question_seq})).await;
    let receipt = visitor.next_of("read").await;
    assert_eq!((receipt["reader"].as_str(), receipt["upToSeq"].as_u64()), (Some("agent"), Some(question_seq)));

    // Step 8: every message is stored in MongoDB, in order, and produced to Kafka.
    let stored = stored_messages(&cluster, &room).await;
    let texts: Vec<&str> = stored.iter().map(|m| m.get_str("message").unwrap()).collect();
    assert_eq!(texts[0], "Hi! A live agent will join shortly.");
    assert_eq!(&texts[1], &"Hello? Is anyone there?");
    assert!(
        texts.contains(&"Hi Ada, I'm here. How can I help?") && texts.contains(&"My invoice is wrong <b>twice</b>")
    );
    let question = stored.iter().find(|m| m.get_str("message") == Ok("My invoice is wrong <b>twice</b>")).unwrap();
    assert_eq!(question.get_bool("read"), Ok(true), "the agent's read receipt is stored");
    let sent = cluster.messages_topic.wait_for("message.sent", |e| e["data"]["seq"] == question_seq).await;
    assert_eq!(sent["data"]["message"], "My invoice is wrong <b>twice</b>");
    assert_eq!(sent["data"]["sender"]["kind"], "visitor");
    assert_eq!(cluster.messages_topic.key_of(sent["id"].as_str().unwrap()).as_deref(), Some(room.as_str()));

    // The agent closes; the visitor's socket ends normally; chatroom.closed is produced.
    agent.send(json!({"type": "close", "chatroomId": room})).await;
    let closed = visitor.next_where("chatroom", |f| f["status"] == "closed").await;
    assert_eq!(closed["closeReason"], "closed_by_agent");
    assert_eq!(visitor.closed().await.code, 1000);
    let event = cluster.chatrooms_topic.wait_for("chatroom.closed", |e| e["data"]["chatroomId"] == room.as_str()).await;
    assert_eq!(event["data"]["reason"], "closed_by_agent");
}

/// The chatroom's messages as MongoDB holds them, by seq.
pub async fn stored_messages(cluster: &Cluster, chatroom_id: &str) -> Vec<bson::Document> {
    use futures::TryStreamExt as _;
    let filter = bson::doc! {"chatroomId": chatroom_id};
    let options = mongodb::options::FindOptions::builder().sort(bson::doc! {"seq": 1}).build();
    let cursor =
        cluster.db.db.collection::<bson::Document>("messages").find(filter).with_options(options).await.unwrap();
    cursor.try_collect().await.unwrap()
}
