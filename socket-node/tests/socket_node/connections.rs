//! What ends a connection, and what does not: the per-address cap, a reader too slow for its
//! chatrooms, and tokens that expire unless refreshed.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde_json::json;

use crate::support::*;

const SLOW_DROPPED: &str = "parley_slow_connections_dropped_total";

/// A node whose sockets hold little unsent data (a 4 KiB send buffer, which accepted sockets
/// inherit from the listener), so a client that stops reading backs its writes up within a
/// few frames rather than the megabytes loopback otherwise buffers.
async fn node_with_small_send_buffers(cluster: &Cluster) -> TestNode {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(4096).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    start_node_on(socket.listen(64).unwrap(), &cluster.env).await
}

/// A connection to `node` whose socket takes in little (a 4 KiB receive buffer).
async fn small_buffer_client(node: &TestNode) -> Client {
    let address = node.node.as_ref().expect("a running node").state.node.address;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(address).await.expect("the node accepts");
    let (stream, _) =
        tokio_tungstenite::client_async(node.ws_url.as_str(), tokio_tungstenite::MaybeTlsStream::Plain(tcp))
            .await
            .expect("the WebSocket upgrade");
    Client::over(stream)
}

/// The seqs of the `message` frames of `room` a client got, in the order it got them.
fn message_seqs(client: &Client, room: &str) -> Vec<u64> {
    client
        .seen
        .iter()
        .filter(|f| f["type"] == "message" && f["chatroomId"] == room)
        .map(|f| f["seq"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn an_agent_who_stops_reading_is_dropped_4408_and_resumes_with_every_message_once_in_order() {
    let cluster = cluster_with(&[("PARLEY_SEND_QUEUE", "4"), ("PARLEY_VISITOR_FRAME_LIMITS", "send=1000/60")]).await;
    let node = node_with_small_send_buffers(&cluster).await;
    let tenant = cluster.tenant().await;
    let session = open_session(cluster.node(0), &tenant).await;
    let room = session.chatroom_id.clone();
    let (mut visitor, _) = Client::authenticated(cluster.node(0), &session.token).await;
    let mut agent = small_buffer_client(&node).await;
    agent.send(json!({"type": "auth", "token": tenant.agent.access})).await;
    agent.next_of("ready").await;
    join(&mut agent, &room).await;

    // The agent stops reading; the visitor writes on, every message acked.
    let stop = Arc::new(AtomicBool::new(false));
    let writing = tokio::spawn({
        let (stop, room) = (stop.clone(), room.clone());
        async move {
            let mut sent = Vec::new();
            while !stop.load(Ordering::Relaxed) && sent.len() < 1000 {
                let text = format!("message {} {}", sent.len(), "x".repeat(3000));
                sent.push((visitor.say_acked(&room, &text).await, text));
            }
            (visitor, sent)
        }
    });
    eventually(WAIT * 4, "the node to drop the agent who does not read", || async {
        (metric(&node, SLOW_DROPPED).await >= 1.0).then_some(())
    })
    .await;

    // Reading again, the agent finds the frames that made it, then 4408.
    let closed = agent.closed().await;
    assert_eq!((closed.code, closed.reason.as_str()), (4408, "too_slow"));
    stop.store(true, Ordering::Relaxed);
    let (mut visitor, sent) = writing.await.unwrap();
    let before = message_seqs(&agent, &room);
    assert!(before.windows(2).all(|w| w[1] == w[0] + 1), "in order, no gap: {before:?}");
    let last_sent = sent.last().unwrap().0;
    assert!(before.last().copied().unwrap_or(0) < last_sent, "the drop lost live messages: {before:?}");
    assert_eq!(metric(&node, "parley_connections{role=\"agent\"}").await, 0.0);

    // It reconnects and resumes from what it has: every message once, in order.
    let (mut back, ready, _) = agent_client(&node, &tenant.agent).await;
    assert_eq!(ready["chatrooms"][0]["chatroomId"], room.as_str());
    assert_eq!(ready["chatrooms"][0]["status"], "active", "the chatroom carried on");
    let had = before.last().copied().unwrap_or(0);
    back.send(json!({"type": "resume", "chatroomId": room, "afterSeq": had})).await;
    let resumed = back.next_of("resumed").await;
    assert_eq!(resumed["lastSeq"].as_u64(), Some(last_sent));
    let mut all = before.clone();
    all.extend(message_seqs(&back, &room));
    assert_eq!(all, (1..=last_sent).collect::<Vec<_>>(), "every message once, in order");
    let texts: Vec<&str> = agent
        .seen
        .iter()
        .chain(&back.seen)
        .filter(|f| f["type"] == "message" && f["sender"]["kind"] == "visitor")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = sent.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(texts, expected);

    // Live again, both ways; the visitor never noticed.
    back.say_acked(&room, "Sorry, my connection dropped").await;
    visitor.message("Sorry, my connection dropped").await;
    visitor.say_acked(&room, "No problem").await;
    back.message("No problem").await;
    assert!(visitor.seen.iter().all(|f| f["type"] != "error"), "{:?}", visitor.seen);
}

/// Connects from `ip` and authenticates with `token`: the `ready` frame, or how the node ended
/// the connection instead.
async fn connect_from(node: &TestNode, ip: &str, token: &str) -> Result<(Client, serde_json::Value), Closed> {
    let mut client = Client::connect_from(node, ip).await;
    client.send(json!({"type": "auth", "token": token})).await;
    let ready = client.read().await?;
    assert_eq!(ready["type"], "ready", "{ready}");
    Ok((client, ready))
}

#[tokio::test]
async fn a_third_connection_from_one_address_is_refused_4429_until_one_of_the_others_closes() {
    let cluster = cluster_with(&[("PARLEY_MAX_CONNECTIONS_PER_IP", "2")]).await;
    let tenant = cluster.tenant().await;
    let session = open_session(cluster.node(0), &tenant).await;
    let (ip, other_ip) = ("198.51.100.40", "198.51.100.41");
    let (first, _) = connect_from(cluster.node(0), ip, &session.token).await.expect("the first connects");
    let (_second, _) = connect_from(cluster.node(0), ip, &session.token).await.expect("the second connects");

    let mut third = Client::connect_from(cluster.node(0), ip).await;
    let closed = third.closed().await;
    assert_eq!((closed.code, closed.reason.as_str()), (4429, "too_many_connections"));
    assert_eq!(metric(cluster.node(0), "parley_connections_refused_per_ip_total").await, 1.0);

    // Another address connects; so does the same address on the other node (the cap is per node).
    let (mut elsewhere, _) = connect_from(cluster.node(0), other_ip, &session.token).await.expect("another address");
    connect_from(cluster.node(1), ip, &session.token).await.expect("the same address on another node");
    elsewhere.send(json!({"type": "ping", "nonce": "still-here"})).await;
    assert_eq!(elsewhere.next_of("pong").await["nonce"], "still-here");

    // Closing one frees a place (once the node has let go of it).
    first.close().await;
    let (mut again, ready) = eventually(WAIT, "a place to free up for the address", || async {
        connect_from(cluster.node(0), ip, &session.token).await.ok()
    })
    .await;
    assert_eq!(ready["chatrooms"][0]["chatroomId"], session.chatroom_id.as_str());
    again.say_acked(&session.chatroom_id, "back in").await;
}

#[tokio::test]
async fn an_agent_who_sends_a_fresh_token_keeps_the_connection_and_another_users_token_ends_it_4401() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let session = open_session(cluster.node(0), &tenant).await;
    let (mut agent, _, _) = agent_client(cluster.node(1), &tenant.agent).await;
    join(&mut agent, &session.chatroom_id).await;

    let fresh = shared::testing::accounts::refresh(&cluster.tenant, &tenant.agent.refresh).await;
    assert_ne!(fresh.access, tenant.agent.access);
    agent.send(json!({"type": "auth", "token": fresh.access})).await;
    let ready = agent.next_of("ready").await;
    assert_eq!(ready["role"], "agent");
    assert_eq!(ready["chatrooms"][0]["chatroomId"], session.chatroom_id.as_str(), "it still holds the chatroom");
    let (mut visitor, _) = Client::authenticated(cluster.node(0), &session.token).await;
    agent.say_acked(&session.chatroom_id, "Still with you").await;
    visitor.message("Still with you").await;

    // Someone else's token on this connection: refused, and the connection ends.
    agent.send(json!({"type": "auth", "token": tenant.admin.access})).await;
    assert_eq!(agent.error().await["code"], "token_invalid");
    let closed = agent.closed().await;
    assert_eq!((closed.code, closed.reason.as_str()), (4401, "token_invalid"));
}

#[tokio::test]
async fn a_refreshed_token_carries_the_permissions_an_admin_changed_meanwhile() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let api = &cluster.tenant;
    let moderator_role = shared::testing::accounts::create_role(
        api,
        &tenant.admin,
        "moderator",
        &["chatrooms:join", "chatrooms:moderate"],
    )
    .await;
    let moderator = shared::testing::accounts::invite_user_with_password(
        api,
        &cluster.tenants_topic,
        &tenant.admin,
        &[&moderator_role],
    )
    .await;
    let (mut holder, _, _) = agent_client(cluster.node(0), &tenant.agent).await;
    let (first, second) = (open_session(cluster.node(0), &tenant).await, open_session(cluster.node(0), &tenant).await);
    join(&mut holder, &first.chatroom_id).await;
    join(&mut holder, &second.chatroom_id).await;

    let (mut moderating, _, _) = agent_client(cluster.node(1), &moderator).await;
    moderating.send(json!({"type": "close", "chatroomId": first.chatroom_id})).await;
    holder.next_where("chatroom", |f| f["chatroomId"] == first.chatroom_id.as_str() && f["status"] == "closed").await;

    // The admin takes moderation away; the moderator's next token says so, and so does the
    // connection it is sent on.
    let agent_role = shared::testing::accounts::role_id(api, &tenant.admin, "agent").await;
    let path = format!("/users/{}", moderator.user_id);
    expect_status(api.patch(&path, tenant.admin.bearer(), json!({"roleIds": [agent_role]})).await, 200).await;
    let fresh = shared::testing::accounts::refresh(api, &moderator.refresh).await;
    moderating.send(json!({"type": "auth", "token": fresh.access})).await;
    moderating.next_of("ready").await;
    moderating.send(json!({"type": "close", "chatroomId": second.chatroom_id})).await;
    let refused = moderating.error().await;
    assert_eq!(
        (refused["code"].as_str(), refused["chatroomId"].as_str()),
        (Some("not_in_chatroom"), Some(second.chatroom_id.as_str()))
    );
    holder.say_acked(&second.chatroom_id, "still open").await;
}

#[tokio::test]
async fn a_visitor_connection_ends_4401_when_its_token_expires_unless_a_fresh_one_was_sent() {
    let cluster = cluster_with(&[("PARLEY_CHATROOM_TOKEN_TTL_SECS", "2")]).await;
    let tenant = cluster.tenant().await;
    let body = session_body(&tenant, "Ada", "ada@example.net");
    let created = expect_status(post_session(cluster.node(0), &random_ip(), &body).await, 201).await;
    assert_eq!(created["expiresIn"], 2);
    let token = created["token"].as_str().unwrap();
    let room = created["chatroomId"].as_str().unwrap();
    let claims = cluster.chatroom_tokens(Duration::from_secs(1)).verify(token).expect("a chatroom token");
    let issue = |ttl_secs: i64| {
        let tokens = cluster.chatroom_tokens(Duration::from_secs(ttl_secs.max(1) as u64));
        tokens.issue(claims.tid, claims.cbt, claims.sub).token
    };

    let (mut stale, _) = Client::authenticated(cluster.node(0), token).await;
    let (mut kept, _) = Client::authenticated(cluster.node(1), token).await;
    kept.send(json!({"type": "auth", "token": issue(3600)})).await;
    assert_eq!(kept.next_of("ready").await["chatrooms"][0]["chatroomId"], room);
    // A token that expires two seconds after the first: when its connection ends, every
    // connection still on the first token (leeway included) has ended too.
    let now = shared::domain::Timestamp::now().unix_millis() / 1000;
    let (mut later, _) = Client::authenticated(cluster.node(1), &issue(claims.exp + 2 - now)).await;

    assert_eq!(stale.error().await["code"], "token_expired");
    let closed = stale.closed().await;
    assert_eq!((closed.code, closed.reason.as_str()), (4401, "token_expired"));
    assert_eq!(later.error().await["code"], "token_expired");
    assert_eq!(later.closed().await.code, 4401);

    kept.send(json!({"type": "ping", "nonce": "after-expiry"})).await;
    assert_eq!(kept.next_of("pong").await["nonce"], "after-expiry");
    kept.say_acked(room, "still talking").await;
}
