//! What an operator watches: `/healthz`, `/readyz`, `/metrics` and each node's heartbeat in
//! Redis (`<prefix>nodes`), which the analytics function reads.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn health_and_readiness_answer_200_and_name_no_address() {
    let cluster = cluster().await;
    let node = cluster.node(0);
    assert_eq!(expect_status(node.api.get("/healthz", anonymous()).await, 200).await, json!({"status": "ok"}));

    let response = node.api.get("/readyz", anonymous()).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(body, json!({"status": "ready", "checks": {"mongodb": "up", "redis": "up", "kafka": "up"}}));
    let addresses = ["PARLEY_MONGODB_URL", "PARLEY_REDIS_URL", "PARLEY_KAFKA_BROKERS"];
    for (name, value) in cluster.env.iter().filter(|(name, _)| addresses.contains(name)) {
        assert!(!text.contains(value.as_str()), "{name} shows in {text}");
    }
    assert!(!text.contains("127.0.0.1") && !text.contains("://"), "{text}");
}

#[tokio::test]
async fn metrics_count_connections_sessions_and_messages_on_the_node_where_they_happen() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let (here, there) = (cluster.node(0), cluster.node(1));
    let text = here.api.get("/metrics", anonymous()).await.text().await.unwrap();
    for line in [
        "# TYPE parley_connections gauge",
        "# TYPE parley_sessions_created_total counter",
        "# TYPE parley_messages_sent_total counter",
        "# TYPE parley_slow_connections_dropped_total counter",
        "# TYPE parley_connections_refused_per_ip_total counter",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in {text}");
    }
    const VISITORS: &str = "parley_connections{role=\"visitor\"}";
    const AGENTS: &str = "parley_connections{role=\"agent\"}";
    const SESSIONS: &str = "parley_sessions_created_total";
    const MESSAGES: &str = "parley_messages_sent_total";
    let (here_before, there_before) = (metrics(here).await, metrics(there).await);
    let moved = |before: &HashMap<String, f64>, after: &HashMap<String, f64>| -> Vec<(&'static str, f64)> {
        [VISITORS, AGENTS, SESSIONS, MESSAGES].into_iter().map(|name| (name, after[name] - before[name])).collect()
    };

    // A visitor opens a session and connects here; an agent connects there; each writes once.
    let session = open_session(here, &tenant).await;
    let room = session.chatroom_id.as_str();
    let (mut visitor, _) = Client::authenticated(here, &session.token).await;
    let (mut agent, _, _) = agent_client(there, &tenant.agent).await;
    join(&mut agent, room).await;
    visitor.say_acked(room, "Hello").await;
    agent.message("Hello").await;
    agent.say_acked(room, "Hi, how can I help?").await;
    visitor.message("Hi, how can I help?").await;
    let (here_during, there_during) = (metrics(here).await, metrics(there).await);
    assert_eq!(moved(&here_before, &here_during), [(VISITORS, 1.0), (AGENTS, 0.0), (SESSIONS, 1.0), (MESSAGES, 1.0)]);
    assert_eq!(moved(&there_before, &there_during), [(VISITORS, 0.0), (AGENTS, 1.0), (SESSIONS, 0.0), (MESSAGES, 1.0)]);

    // A message sent again (same clientMsgId) is not counted twice; connections that end are
    // no longer counted.
    let again = json!({"type": "send", "chatroomId": room, "clientMsgId": "once", "message": "Once"});
    visitor.send(again.clone()).await;
    visitor.next_where("ack", |f| f["clientMsgId"] == "once").await;
    visitor.send(again).await;
    visitor.next_where("ack", |f| f["clientMsgId"] == "once").await;
    assert_eq!(metric(here, MESSAGES).await, here_during[MESSAGES] + 1.0);
    visitor.close().await;
    agent.close().await;
    eventually(WAIT, "the gauges to come back down", || async {
        let (h, t) = (metrics(here).await, metrics(there).await);
        (h[VISITORS] == here_before[VISITORS] && t[AGENTS] == there_before[AGENTS]).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_node_hears_the_notices_of_its_own_chatrooms_only() {
    const RECEIVED: &str = "parley_notices_received_total";
    let mut cluster = cluster().await;
    cluster.add_node().await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    let before: Vec<f64> = futures::future::join_all(cluster.nodes.iter().map(|n| metric(n, RECEIVED))).await;
    for i in 0..5 {
        let text = format!("message {i}");
        visitor.say_acked(room, &text).await;
        agent.message(&text).await;
    }
    let after: Vec<f64> = futures::future::join_all(cluster.nodes.iter().map(|n| metric(n, RECEIVED))).await;
    let heard: Vec<f64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert!(heard[0] >= 5.0 && heard[1] >= 5.0, "the visitor's and the agent's nodes hear each message: {heard:?}");
    assert_eq!(heard[2], 0.0, "a node without a connection of the chatroom hears none of it: {heard:?}");
}

/// The reports in `<prefix>nodes`, by node id.
async fn node_reports(cluster: &Cluster) -> HashMap<String, Value> {
    let redis = &cluster.redis.redis;
    let mut conn = redis.conn.clone();
    let reports: HashMap<String, String> =
        redis::cmd("HGETALL").arg(redis.keys.key(&["nodes"])).query_async(&mut conn).await.unwrap();
    reports.into_iter().map(|(id, report)| (id, serde_json::from_str(&report).expect("a JSON report"))).collect()
}

#[tokio::test]
async fn each_node_reports_its_address_and_connections_every_heartbeat_and_a_stopped_node_leaves() {
    let mut cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let info = |i: usize| cluster.nodes[i].node.as_ref().unwrap().state.node.clone();
    let (first, second) = (info(0), info(1));

    let reports = eventually(WAIT, "both nodes to report", || async {
        let reports = node_reports(&cluster).await;
        (reports.len() == 2).then_some(reports)
    })
    .await;
    for node in [&first, &second] {
        let report = &reports[&node.id];
        assert_eq!(report["address"], node.address.to_string());
        assert_eq!(report["connections"], 0);
        shared::testing::instant(&report["startedAt"]);
        shared::testing::instant(&report["lastSeen"]);
    }

    // Two connections on the first node show in its next reports, with a newer lastSeen.
    let session = open_session(cluster.node(0), &tenant).await;
    let (_visitor, _) = Client::authenticated(cluster.node(0), &session.token).await;
    let (_agent, _, _) = agent_client(cluster.node(0), &tenant.agent).await;
    let seen_before = shared::testing::instant(&reports[&first.id]["lastSeen"]);
    let reports = eventually(WAIT, "the first node to report two connections", || async {
        let reports = node_reports(&cluster).await;
        (reports.get(&first.id).is_some_and(|r| r["connections"] == 2)).then_some(reports)
    })
    .await;
    assert!(shared::testing::instant(&reports[&first.id]["lastSeen"]) > seen_before);
    assert_eq!(reports[&second.id]["connections"], 0);

    // A node that stops takes its report away; the other keeps beating.
    cluster.nodes[0].stop().await;
    let reports = node_reports(&cluster).await;
    assert!(!reports.contains_key(&first.id), "{reports:?}");
    let seen = shared::testing::instant(&reports[&second.id]["lastSeen"]);
    eventually(WAIT, "the second node to beat again", || async {
        let reports = node_reports(&cluster).await;
        reports.get(&second.id).filter(|r| shared::testing::instant(&r["lastSeen"]) > seen).map(drop)
    })
    .await;
    assert!(!node_reports(&cluster).await.contains_key(&first.id));
}
