//! The analytics function on live socket-node state: chatbot status follows what visitors and
//! agents do, and `/status` lists the nodes from their heartbeats.

use serde_json::{Value, json};
use shared::testing::{Api, eventually, instant};

use crate::support::*;

/// The tenant's chatbot status, as the admin (who holds `analytics:view`) reads it.
async fn chatbot_status(analytics: &Api, tenant: &Tenant) -> Value {
    let status = expect_status(analytics.get("/chatbots/status", tenant.admin.bearer()).await, 200).await;
    let chatbot = status["chatbots"].as_array().unwrap().iter().find(|c| c["id"] == tenant.chatbot_id.as_str());
    chatbot.expect("the tenant's chatbot is listed").clone()
}

/// Waits until the chatbot's waiting, active and standby counts and agents online are `expected`.
async fn until_status(analytics: &Api, tenant: &Tenant, expected: [u64; 4]) -> Value {
    eventually(WAIT, &format!("chatbot status {expected:?}"), || async {
        let status = chatbot_status(analytics, tenant).await;
        let seen = ["waiting", "active", "standby", "agentsOnline"].map(|k| status[k].as_u64().unwrap());
        (seen == expected).then_some(status)
    })
    .await
}

#[tokio::test]
async fn chatbot_status_follows_visitors_and_agents() {
    let cluster = cluster().await;
    let analytics = cluster.start_analytics().await;
    let tenant = cluster.tenant().await;
    let idle = until_status(&analytics, &tenant, [0, 0, 0, 0]).await;
    assert_eq!((idle["name"].as_str(), idle["lastActivityAt"].as_str()), (Some("Support"), None));

    let session = open_session(cluster.node(0), &tenant).await;
    let waiting = until_status(&analytics, &tenant, [1, 0, 0, 0]).await;
    assert!(waiting["lastActivityAt"].is_string(), "{waiting}");

    let (mut agent, _, _) = agent_client(cluster.node(1), &tenant.agent).await;
    let (second_console, _, _) = agent_client(cluster.node(0), &tenant.agent).await;
    until_status(&analytics, &tenant, [1, 0, 0, 1]).await;
    let (visitor, _) = Client::authenticated(cluster.node(0), &session.token).await;
    join(&mut agent, &session.chatroom_id).await;
    let active = until_status(&analytics, &tenant, [0, 1, 0, 1]).await;
    assert!(instant(&active["lastActivityAt"]) >= instant(&waiting["lastActivityAt"]));

    visitor.close().await;
    until_status(&analytics, &tenant, [0, 0, 1, 1]).await;
    second_console.close().await;
    agent.close().await;
    until_status(&analytics, &tenant, [0, 0, 1, 0]).await;

    let other = cluster.tenant().await;
    let theirs = expect_status(analytics.get("/chatbots/status", other.admin.bearer()).await, 200).await;
    assert_eq!(theirs["chatbots"].as_array().unwrap().len(), 1, "another tenant sees only its own: {theirs}");
    assert_eq!(theirs["chatbots"][0]["waiting"], 0);
}

#[tokio::test]
async fn chatbot_status_needs_the_analytics_permission() {
    let cluster = cluster().await;
    let analytics = cluster.start_analytics().await;
    let tenant = cluster.tenant().await;
    assert_error(analytics.get("/chatbots/status", tenant.agent.bearer()).await, 403, "permission_denied").await;
    assert_error(analytics.get("/chatbots/status", anonymous()).await, 401, "missing_token").await;
}

#[tokio::test]
async fn status_lists_every_socket_node_and_forgets_one_that_stopped() {
    let mut cluster = cluster().await;
    let analytics = cluster.start_analytics().await;
    let addresses: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| n.api.url("").trim_start_matches("http://").trim_end_matches('/').to_owned())
        .collect();
    let node_status = |status: &Value, address: &str| {
        status["socketNodes"].as_array().unwrap().iter().find(|n| n["address"] == address).map(|n| n["status"].clone())
    };
    let up = eventually(WAIT, "both nodes up", || async {
        let status = expect_status(analytics.get("/status", anonymous()).await, 200).await;
        addresses.iter().all(|a| node_status(&status, a) == Some(json!("up"))).then_some(status)
    })
    .await;
    assert_eq!(up["status"], "ok", "{up}");
    assert_eq!(
        (up["mongodb"]["status"].as_str(), up["redis"]["status"].as_str(), up["kafka"]["status"].as_str()),
        (Some("up"), Some("up"), Some("up"))
    );

    // A node that stops cleanly leaves the list; one that stops beating shows down.
    cluster.nodes[1].stop().await;
    let after = eventually(WAIT, "the stopped node gone", || async {
        let status = expect_status(analytics.get("/status", anonymous()).await, 200).await;
        (node_status(&status, &addresses[1]).is_none()).then_some(status)
    })
    .await;
    assert_eq!(node_status(&after, &addresses[0]), Some(json!("up")));
    assert_eq!(after["status"], "ok");
}
