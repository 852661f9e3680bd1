//! The email function on the socket-node's events, end to end: a visitor session sends the
//! welcome email, a visitor who asks gets the transcript when the chatroom ends, and a chatroom
//! nobody joins alerts the tenant's agents once.

use serde_json::json;
use shared::testing::Mailbox;

use crate::support::*;

#[tokio::test]
async fn a_visitor_session_sends_the_welcome_email() {
    let cluster = cluster().await;
    let _email = cluster.start_email_function().await;
    let tenant = cluster.tenant().await;
    let address = format!("vera-{}@example.net", random_string(8).to_lowercase());
    let body = session_body(&tenant, "Vera <Visitor>", &address);
    expect_status(post_session(cluster.node(0), &random_ip(), &body).await, 201).await;

    let mail = Mailbox::shared().wait_for(&address).await;
    assert_eq!(mail.subject, "Thanks for contacting Acme");
    assert_eq!(mail.to, [address.as_str()]);
    assert!(mail.html.contains("Hi Vera &lt;Visitor&gt;,"), "{}", mail.html);
}

#[tokio::test]
async fn a_visitor_who_asks_gets_the_transcript_when_the_agent_closes() {
    let cluster = cluster().await;
    let _email = cluster.start_email_function().await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();

    visitor.send(json!({"type": "transcript", "chatroomId": room})).await;
    let asked = visitor.next_where("chatroom", |f| f["transcriptRequested"] == true).await;
    assert_eq!(asked["status"], "active");
    agent.next_where("chatroom", |f| f["transcriptRequested"] == true).await;

    agent.send(json!({"type": "transcript", "chatroomId": room})).await;
    assert_eq!(agent.error().await["code"], "visitor_only");

    visitor.say_acked(room, "My order <#1234> never came").await;
    agent.say_acked(room, "Sorry! It ships today.").await;
    agent.send(json!({"type": "close", "chatroomId": room})).await;
    let closed = cluster.chatrooms_topic.wait_for("chatroom.closed", |e| e["data"]["chatroomId"] == room).await;
    assert_eq!(closed["data"]["transcriptRequested"], true);

    let address = cluster_room_email(&cluster, room).await;
    let mail = Mailbox::shared().wait_for_where(&address, |m| m.subject.starts_with("Your conversation")).await;
    assert_eq!(mail.subject, "Your conversation with Acme");
    let (asked_at, answered_at) = (
        mail.text.find("You: My order <#1234> never came").expect("the visitor's message"),
        mail.text.find(": Sorry! It ships today.").expect("the agent's answer"),
    );
    assert!(asked_at < answered_at, "{}", mail.text);
    assert!(mail.html.contains("My order &lt;#1234&gt; never came"), "{}", mail.html);
}

/// The visitor's address of a chatroom, as stored.
async fn cluster_room_email(cluster: &Cluster, room: &str) -> String {
    let found = cluster.db.db.collection::<bson::Document>("chatrooms").find_one(bson::doc! {"_id": room}).await;
    found.unwrap().expect("the chatroom").get_str("email").unwrap().to_owned()
}

#[tokio::test]
async fn a_chatroom_nobody_joins_alerts_the_tenants_agents_once() {
    let cluster = cluster_with(&[("PARLEY_UNCLAIMED_ALERT_SECS", "1")]).await;
    let _email = cluster.start_email_function().await;
    let tenant = cluster.tenant().await;
    let session = open_session(cluster.node(0), &tenant).await;
    let room = session.chatroom_id.as_str();

    let event = cluster.chatrooms_topic.wait_for("chatroom.unclaimed", |e| e["data"]["chatroomId"] == room).await;
    assert!(event["data"]["waitedMs"].as_i64().is_some_and(|ms| ms >= 1_000), "{event}");
    assert_eq!(event["data"]["name"], "Ada Visitor");

    let mailbox = Mailbox::shared();
    let alert = |m: &shared::testing::Mail| m.subject.contains("has waited");
    for who in [&tenant.agent, &tenant.admin] {
        let mail = mailbox.wait_for_where(&who.email, alert).await;
        assert_eq!(mail.subject.split(" has waited").next(), Some("Ada Visitor"), "{}", mail.subject);
        assert!(mail.html_links().contains(&format!("https://chat.example.com/console/chatrooms/{room}")));
    }
    // Both nodes sweep: still one event, one email each.
    cluster.chatrooms_topic.caught_up().await;
    let events = cluster.chatrooms_topic.of_type("chatroom.unclaimed");
    assert_eq!(events.iter().filter(|e| e["data"]["chatroomId"] == room).count(), 1);
    let alerts = mailbox.to(&tenant.agent.email).await.into_iter().filter(|m| alert(m)).count();
    assert_eq!(alerts, 1);
}
