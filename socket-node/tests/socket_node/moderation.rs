//! Long conversations and moderators: a join sends only the latest page of messages and
//! `history` pages back to the first; a moderator sees every open chatroom live and watches
//! another agent's conversation read-only.

use serde_json::{Value, json};

use crate::support::*;

/// The seqs of the `message` frames in `frames`.
fn seqs(frames: &[Value]) -> Vec<u64> {
    frames.iter().filter(|f| f["type"] == "message").map(|f| f["seq"].as_u64().unwrap()).collect()
}

async fn history(client: &mut Client, room: &str, before_seq: Option<u64>) -> Value {
    let mut frame = json!({"type": "history", "chatroomId": room});
    if let Some(before) = before_seq {
        frame["beforeSeq"] = before.into();
    }
    client.send(frame).await;
    client.next_where_any(&["history", "error"], |f| f["chatroomId"] == room).await
}

/// A `history` frame's `fromSeq` and the seqs of its messages.
fn page(frame: &Value) -> (u64, Vec<u64>) {
    assert_eq!(frame["type"], "history", "{frame}");
    let messages = frame["messages"].as_array().unwrap();
    (frame["fromSeq"].as_u64().unwrap(), messages.iter().map(|m| m["seq"].as_u64().unwrap()).collect())
}

#[tokio::test]
async fn a_join_sends_the_latest_fifty_messages_and_history_pages_back_to_the_greeting() {
    let cluster = cluster_with(&[("PARLEY_VISITOR_FRAME_LIMITS", "send=1000/60")]).await;
    let tenant = cluster.tenant().await;
    let session = open_session(cluster.node(0), &tenant).await;
    let room = session.chatroom_id.as_str();
    let (mut visitor, _) = Client::authenticated(cluster.node(0), &session.token).await;
    let mut last = 0;
    for i in 2..=120 {
        last = visitor.say_acked(room, &format!("question {i}")).await;
    }
    assert_eq!(last, 120, "the greeting is seq 1");

    let (mut agent, _, _) = agent_client(cluster.node(1), &tenant.agent).await;
    let seen_before = agent.seen.len();
    join(&mut agent, room).await;
    // Frames on one connection keep their order: the latest page comes after the join's replay.
    let latest = history(&mut agent, room, None).await;
    // Seq 121 is the system message saying the agent joined.
    let replayed = seqs(&agent.seen[seen_before..]);
    assert_eq!(replayed, (72..=121).collect::<Vec<_>>(), "the join sent the latest fifty, in order");
    assert_eq!(page(&latest), (72, (72..=121).collect()));

    assert_eq!(page(&history(&mut agent, room, Some(72)).await), (22, (22..=71).collect()));
    let first = history(&mut agent, room, Some(22)).await;
    assert_eq!(page(&first), (1, (1..=21).collect()), "the first page is short and ends at the greeting");
    assert_eq!(first["messages"][0]["sender"]["kind"], "system");
    assert_eq!(first["messages"][1]["message"], "question 2");
    assert_eq!(page(&history(&mut agent, room, Some(1)).await), (1, vec![]), "nothing before the first");

    // The visitor reads their own; an agent who does not hold it may not; a moderator may.
    assert_eq!(page(&history(&mut visitor, room, Some(3)).await), (1, vec![1, 2]));
    let other = cluster.agent(&tenant.admin).await;
    let (mut other, _, _) = agent_client(cluster.node(0), &other).await;
    let refused = history(&mut other, room, None).await;
    assert_eq!((refused["type"].as_str(), refused["code"].as_str()), (Some("error"), Some("not_in_chatroom")));
    let (mut admin, _, _) = agent_client(cluster.node(0), &tenant.admin).await;
    assert_eq!(page(&history(&mut admin, room, Some(120)).await).1, (70..=119).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_moderator_sees_every_open_chatroom_live_and_watches_one_read_only() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let (mut admin, _, _) = agent_client(cluster.node(0), &tenant.admin).await;
    let open = admin.next_of("open").await;
    assert_eq!(open["chatrooms"], json!([]), "nothing open yet");

    // A visitor arrives and an agent on the other node joins: the open list follows both.
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    let held =
        admin.next_where("open", |f| f["chatrooms"].as_array().unwrap().iter().any(|c| c["status"] == "active")).await;
    assert_eq!(held["chatrooms"][0]["chatroomId"], room);
    assert_eq!(held["chatrooms"][0]["agent"]["id"], tenant.agent.user_id.as_str());

    // An agent without chatrooms:moderate gets no open list and may not watch.
    let (mut plain, _, _) = agent_client(cluster.node(1), &cluster.agent(&tenant.admin).await).await;
    plain.send(json!({"type": "watch", "chatroomId": room})).await;
    let refused = plain.error().await;
    assert_eq!((refused["code"].as_str(), refused["chatroomId"].as_str()), (Some("permission_denied"), Some(room)));
    assert!(!plain.seen.iter().any(|f| f["type"] == "open"), "no open list for a plain agent");

    // The moderator watches: the chatroom, its messages so far, then everything live.
    visitor.say_acked(room, "my order is late").await;
    admin.send(json!({"type": "watch", "chatroomId": room})).await;
    let state = admin.next_where("chatroom", |f| f["chatroomId"] == room).await;
    assert_eq!(state["agent"]["id"], tenant.agent.user_id.as_str());
    admin.message("my order is late").await;
    agent.say_acked(room, "looking into it").await;
    admin.message("looking into it").await;

    // Read-only: no message, typing or read receipt of theirs reaches the chatroom.
    admin.say(room, "a moderator's word").await;
    assert_eq!(admin.error().await["code"], "not_in_chatroom");
    admin.send(json!({"type": "typing", "chatroomId": room, "typing": true})).await;
    assert_eq!(admin.error().await["code"], "not_in_chatroom");
    admin.send(json!({"type": "read", "chatroomId": room, "upToSeq": 2})).await;
    assert_eq!(admin.error().await["code"], "not_in_chatroom");
    visitor.say_acked(room, "thanks").await;
    agent.message("thanks").await;
    admin.message("thanks").await;
    assert!(!visitor.seen.iter().any(|f| f["type"] == "typing" || f["message"] == "a moderator's word"));

    // After unwatch nothing more arrives; the chatroom's end empties the open list.
    admin.send(json!({"type": "unwatch", "chatroomId": room})).await;
    admin.send(json!({"type": "ping", "nonce": "after-unwatch"})).await;
    admin.next_where("pong", |f| f["nonce"] == "after-unwatch").await;
    let seen = admin.seen.len();
    agent.say_acked(room, "not for the moderator").await;
    agent.send(json!({"type": "close", "chatroomId": room})).await;
    admin.next_where("open", |f| f["chatrooms"] == json!([])).await;
    assert!(!admin.seen[seen..].iter().any(|f| f["type"] == "message"), "unwatched: {:?}", &admin.seen[seen..]);

    // An ended chatroom cannot be watched; its history can still be read.
    admin.send(json!({"type": "watch", "chatroomId": room})).await;
    assert_eq!(admin.error().await["code"], "chatroom_closed");
    let past = history(&mut admin, room, None).await;
    assert!(past["messages"].as_array().unwrap().iter().any(|m| m["message"] == "not for the moderator"));
}
