//! When a service goes away: Kafka stopped and restarted (chat goes on, the nodes stay ready,
//! every event arrives afterwards, in order), Redis flushed mid-conversation (no stored message is lost), and a node
//! shut down (its clients are told 1001, reconnect to the other node and resume).

use serde_json::json;
use shared::testing::PrivateKafka;

use crate::support::*;

#[tokio::test]
async fn with_kafka_stopped_chat_goes_on_and_every_event_arrives_in_order_once_it_is_back() {
    let mut kafka = PrivateKafka::start().await;
    let cluster = cluster_on(kafka.config(), &[]).await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    let before = visitor.say_acked(room, "before the outage").await;
    cluster.messages_topic.wait_for("message.sent", |e| e["data"]["seq"] == before).await;

    kafka.stop().await;
    let mut during = Vec::new();
    for i in 0..6 {
        let (from, to) = if i % 2 == 0 { (&mut visitor, &mut agent) } else { (&mut agent, &mut visitor) };
        let text = format!("during the outage {i}");
        during.push(from.say_acked(room, &text).await);
        to.message(&text).await;
    }
    // Stored and delivered all the same; the events wait in MongoDB.
    let waiting = eventually(WAIT * 3, "the events to wait in the outbox", || async {
        let count = cluster.db.db.collection::<bson::Document>("outbox").count_documents(bson::doc! {}).await.unwrap();
        (count >= during.len() as u64).then_some(count)
    })
    .await;
    assert!(waiting >= 6, "{waiting}");
    // The node stays ready, so a load balancer keeps it in rotation, and says Kafka is down.
    let ready = expect_status(cluster.node(0).api.get("/readyz", anonymous()).await, 200).await;
    assert_eq!(ready, json!({"status": "ready", "checks": {"mongodb": "up", "redis": "up", "kafka": "down"}}));

    kafka.restart().await;
    for seq in &during {
        cluster.messages_topic.wait_for("message.sent", |e| e["data"]["seq"] == *seq).await;
    }
    let after = agent.say_acked(room, "after the outage").await;
    cluster.messages_topic.wait_for("message.sent", |e| e["data"]["seq"] == after).await;
    cluster.messages_topic.caught_up().await;
    let seqs: Vec<u64> = cluster
        .messages_topic
        .of_type("message.sent")
        .iter()
        .filter(|e| e["data"]["chatroomId"] == room)
        .map(|e| e["data"]["seq"].as_u64().unwrap())
        .collect();
    let mut expected = vec![before];
    expected.extend(&during);
    expected.push(after);
    assert_eq!(seqs, expected, "every message.sent once, in the chatroom's order");
}

#[tokio::test]
async fn flushing_redis_mid_conversation_loses_no_stored_message() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    let first = visitor.say_acked(room, "one").await;
    agent.message("one").await;

    flush_prefix(&cluster).await;

    let second = agent.say_acked(room, "two, after the flush").await;
    visitor.message("two, after the flush").await;
    let third = visitor.say_acked(room, "three").await;
    agent.message("three").await;

    // A reconnect resumes from MongoDB, whatever Redis lost.
    visitor.close().await;
    let (mut back, _) = Client::authenticated(cluster.node(1), &session.token).await;
    back.send(json!({"type": "resume", "chatroomId": room, "afterSeq": 0})).await;
    back.next_of("resumed").await;
    let replayed: Vec<u64> =
        back.seen.iter().filter(|f| f["type"] == "message").map(|f| f["seq"].as_u64().unwrap()).collect();
    assert!(replayed.windows(2).all(|w| w[0] < w[1]), "in order: {replayed:?}");
    for seq in [first, second, third] {
        assert!(replayed.contains(&seq), "seq {seq} replayed: {replayed:?}");
    }
    // The presence rebuilt by the heartbeats: the agent still sees the chatroom active.
    back.say_acked(room, "four").await;
    agent.message("four").await;
}

/// Deletes every key of this test's Redis prefix (other tests share the server).
async fn flush_prefix(cluster: &Cluster) {
    let redis = &cluster.redis.redis;
    let mut conn = redis.conn.clone();
    let keys: Vec<String> =
        redis::cmd("KEYS").arg(format!("{}*", redis.keys.prefix())).query_async(&mut conn).await.unwrap();
    assert!(!keys.is_empty(), "the nodes keep state in Redis");
    let _: u64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();
}

#[tokio::test]
async fn a_node_that_shuts_down_closes_its_sockets_1001_and_its_visitors_resume_elsewhere() {
    let mut cluster = cluster_with(&[("PARLEY_STANDBY_SECS", "60")]).await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.clone();
    let seen = visitor.say_acked(&room, "hello").await;

    cluster.nodes[0].stop().await;
    let closed = visitor.closed().await;
    assert_eq!(closed.code, 1001);
    agent.next_where("chatroom", |f| f["status"] == "standby").await;
    agent.say_acked(&room, "are you there?").await;

    let (mut back, _) = Client::authenticated(cluster.node(1), &session.token).await;
    back.send(json!({"type": "resume", "chatroomId": room, "afterSeq": seen})).await;
    assert_eq!(back.message("are you there?").await["sender"]["kind"], "agent");
    agent.next_where("chatroom", |f| f["status"] == "active").await;
    assert!(cluster.nodes[0].node.is_none());
}
