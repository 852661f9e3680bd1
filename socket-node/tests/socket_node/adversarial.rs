//! The socket-node as an attacker meets it: forged and time-shifted tokens, positions beyond
//! what a chatroom holds, floods of every frame kind, and frames that break the WebSocket
//! protocol. Each case checks the documented answer, and the refused ones that nothing changed
//! in MongoDB, Redis or Kafka ([`Watch`]).

use serde_json::{Value, json};
use shared::testing::{hostile_tokens, snapshot::Watch};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use crate::support::*;

/// The cluster's signing key, as `hostile_tokens` wants it.
fn key(cluster: &Cluster) -> (String, String) {
    let (kid, secret) = cluster.jwt_keys.split_once(':').expect("kid:secret");
    (kid.to_owned(), secret.to_owned())
}

fn watch(cluster: &Cluster) -> Watch {
    Watch::new(&cluster.db.db, &cluster.redis.redis, &cluster.kafka)
}

/// Waits until the chatroom document's `lastSeq` (written behind the messages) has caught up with
/// `last_seq`, so a snapshot taken next does not see it move.
async fn settled(cluster: &Cluster, chatroom_id: &str, last_seq: u64) {
    let chatrooms = cluster.db.db.collection::<bson::Document>("chatrooms");
    eventually(WAIT, "the chatroom's lastSeq to catch up", || async {
        let room = chatrooms.find_one(bson::doc! {"_id": chatroom_id}).await.expect("the chatroom is read");
        let stored = room.and_then(|r| r.get("lastSeq").and_then(bson::Bson::as_i64));
        (stored == Some(last_seq as i64)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn forged_and_time_shifted_tokens_are_refused_4401_and_change_nothing() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    let last = visitor.say_acked(room, "before the forgeries").await;
    agent.message("before the forgeries").await;
    settled(&cluster, room, last).await;
    let watch = watch(&cluster);
    let before = watch.snapshot().await;

    let (kid, secret) = key(&cluster);
    let mut cases = hostile_tokens(&session.token, &kid, &secret);
    cases.extend(hostile_tokens(&tenant.agent.access, &kid, &secret));
    for case in &cases {
        let mut client = Client::connect(cluster.node(0)).await;
        client.send(json!({"type": "auth", "token": case.token})).await;
        let expected = if case.expired { "token_expired" } else { "token_invalid" };
        assert_eq!(client.error().await["code"], expected, "a token {}", case.case);
        let closed = client.closed().await;
        assert_eq!((closed.code, closed.reason.as_str()), (4401, expected), "a token {}", case.case);
    }

    // An authenticated visitor cannot switch to a forged identity either: a later `auth` with a
    // hostile token ends the connection, and the chatroom is as it was.
    let (mut again, _) = Client::authenticated(cluster.node(1), &session.token).await;
    let issued_late = cases.iter().find(|c| c.case.contains("issued an hour in the future")).expect("the case");
    again.send(json!({"type": "auth", "token": issued_late.token})).await;
    assert_eq!(again.error().await["code"], "token_invalid");
    assert_eq!(again.closed().await.code, 4401);
    before.assert_unchanged(&watch.snapshot().await, "hostile tokens on the socket-node");
}

#[tokio::test]
async fn positions_beyond_the_chatroom_are_refused_and_no_later_message_is_skipped() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    let last = visitor.say_acked(room, "where are we").await;
    agent.message("where are we").await;
    settled(&cluster, room, last).await;
    let watch = watch(&cluster);
    let before = watch.snapshot().await;

    for (frame, field) in [
        (json!({"type": "resume", "chatroomId": room, "afterSeq": last + 100}), "afterSeq"),
        (json!({"type": "resume", "chatroomId": room, "afterSeq": u64::MAX}), "afterSeq"),
        (json!({"type": "read", "chatroomId": room, "upToSeq": last + 1}), "upToSeq"),
        (json!({"type": "history", "chatroomId": room, "beforeSeq": last + 2}), "beforeSeq"),
    ] {
        visitor.send(frame.clone()).await;
        let refused = visitor.error().await;
        assert_eq!((refused["code"].as_str(), refused["chatroomId"].as_str()), (Some("seq_out_of_range"), Some(room)));
        assert!(refused["message"].as_str().unwrap().contains(field), "{refused}");
    }
    before.assert_unchanged(&watch.snapshot().await, "positions beyond the chatroom");

    // The refused resume did not count seqs the chatroom had not reached as given: the agent's
    // next messages all reach the visitor, once each.
    let first = agent.say_acked(room, "still with you").await;
    let second = agent.say_acked(room, "and again").await;
    assert_eq!(visitor.message("still with you").await["seq"].as_u64(), Some(first));
    assert_eq!(visitor.message("and again").await["seq"].as_u64(), Some(second));

    // The edges themselves are fine: the last seq, and a history page ending with it.
    visitor.send(json!({"type": "read", "chatroomId": room, "upToSeq": second})).await;
    assert_eq!(agent.next_of("read").await["upToSeq"].as_u64(), Some(second), "the refused read published nothing");
    visitor.send(json!({"type": "history", "chatroomId": room, "beforeSeq": second + 1})).await;
    let page = visitor.next_of("history").await;
    assert_eq!(page["messages"].as_array().unwrap().last().unwrap()["seq"].as_u64(), Some(second));
    visitor.send(json!({"type": "resume", "chatroomId": room, "afterSeq": second})).await;
    assert_eq!(visitor.next_of("resumed").await["lastSeq"].as_u64(), Some(second));
}

/// A frame of `kind` about `chatroom_id` (a chatroom the connection does not follow).
fn frame_of(kind: &str, chatroom_id: &str, i: usize) -> Value {
    match kind {
        "send" => {
            json!({"type": "send", "chatroomId": chatroom_id, "clientMsgId": format!("flood-{i}"), "message": "x"})
        }
        "typing" => json!({"type": "typing", "chatroomId": chatroom_id, "typing": true}),
        "read" => json!({"type": "read", "chatroomId": chatroom_id, "upToSeq": 1}),
        "resume" => json!({"type": "resume", "chatroomId": chatroom_id, "afterSeq": 0}),
        "history" => json!({"type": "history", "chatroomId": chatroom_id}),
        "mark" => json!({"type": "mark", "chatroomId": chatroom_id, "as": "stale"}),
        "ping" => json!({"type": "ping", "nonce": format!("n-{i}")}),
        other => json!({"type": other, "chatroomId": chatroom_id}),
    }
}

const KINDS: [&str; 13] = [
    "send",
    "typing",
    "read",
    "resume",
    "history",
    "join",
    "watch",
    "unwatch",
    "leave",
    "close",
    "transcript",
    "mark",
    "ping",
];

/// Sends `FLOOD` frames of every kind (each about a chatroom of its own that the connection does
/// not follow, so no frame changes anything), then an unparseable frame, whose `invalid_frame`
/// answer is never rate-limited and so marks the end; answers how many `rate_limited` errors
/// each kind got, and how many pongs.
async fn flood(client: &mut Client) -> (Vec<(&'static str, usize)>, usize) {
    const FLOOD: usize = 6;
    let rooms: Vec<String> = KINDS.iter().map(|_| uuid::Uuid::now_v7().to_string()).collect();
    for (kind, room) in KINDS.iter().zip(&rooms) {
        for i in 0..FLOOD {
            client.send(frame_of(kind, room, i)).await;
        }
    }
    client.send_raw(tokio_tungstenite::tungstenite::Message::Text("{".into())).await;
    let mut limited = vec![0; KINDS.len()];
    let mut pongs = 0;
    loop {
        let frame = client.read().await.expect("the connection stays open");
        match frame["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("error") if frame["code"] == "invalid_frame" => break,
            Some("error") if frame["code"] == "rate_limited" => {
                let kind = match frame["chatroomId"].as_str() {
                    Some(room) => rooms.iter().position(|r| r == room).expect("a flooded chatroom"),
                    None => KINDS.len() - 1,
                };
                limited[kind] += 1;
            }
            _ => {}
        }
    }
    (KINDS.iter().copied().zip(limited).collect(), pongs)
}

#[tokio::test]
async fn every_frame_kind_is_limited_per_connection_and_excess_typing_is_dropped_silently() {
    let limits = "*=3/1";
    let cluster = cluster_with(&[("PARLEY_VISITOR_FRAME_LIMITS", limits), ("PARLEY_AGENT_FRAME_LIMITS", limits)]).await;
    let tenant = cluster.tenant().await;
    let session = open_session(cluster.node(0), &tenant).await;
    let (mut visitor, _) = Client::authenticated(cluster.node(0), &session.token).await;
    let (mut agent, _, _) = agent_client(cluster.node(1), &tenant.agent).await;

    for (who, client) in [("visitor", &mut visitor), ("agent", &mut agent)] {
        let (limited, pongs) = flood(client).await;
        for (kind, count) in limited {
            let expected = if kind == "typing" { 0 } else { 3 };
            assert_eq!(count, expected, "{who}: rate_limited answers to six {kind} frames with an allowance of three");
        }
        assert_eq!(pongs, 3, "{who}: pongs within the allowance");
    }
    let limited = metric(cluster.node(0), "parley_frames_rate_limited_total").await
        + metric(cluster.node(1), "parley_frames_rate_limited_total").await;
    assert_eq!(limited, 2.0 * 13.0 * 3.0, "every frame beyond an allowance is counted");

    // A later `auth` is a frame kind too: three fresh tokens are taken, the fourth is not.
    for _ in 0..3 {
        visitor.send(json!({"type": "auth", "token": session.token})).await;
        visitor.next_of("ready").await;
    }
    visitor.send(json!({"type": "auth", "token": session.token})).await;
    assert_eq!(visitor.error().await["code"], "rate_limited");
}

#[tokio::test]
async fn a_visitor_flooding_typing_and_read_reaches_the_agent_only_as_far_as_the_allowance() {
    let limits = "typing=3/1,read=3/1";
    let cluster = cluster_with(&[("PARLEY_VISITOR_FRAME_LIMITS", limits)]).await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    let seq = agent.say_acked(room, "how can I help").await;
    visitor.message("how can I help").await;

    for _ in 0..50 {
        visitor.send(json!({"type": "typing", "chatroomId": room, "typing": true})).await;
        visitor.send(json!({"type": "read", "chatroomId": room, "upToSeq": seq})).await;
    }
    // Sent after the flood, so the agent has every notice the flood caused once this arrives.
    visitor.say_acked(room, "done typing").await;
    agent.message("done typing").await;
    let count = |kind: &str| agent.seen.iter().filter(|f| f["type"] == kind).count();
    assert_eq!((count("typing"), count("read")), (3, 3), "the agent got three of each, not fifty");
    let refused = visitor.seen.iter().filter(|f| f["code"] == "rate_limited").count();
    assert_eq!(refused, 47, "each read beyond the allowance is refused; typing is dropped without an answer");
}

/// A connection to `node` upgraded by hand, to send frames no WebSocket library would.
async fn raw_socket(node: &TestNode) -> TcpStream {
    let address = node.ws_url.trim_start_matches("ws://").split('/').next().expect("host:port").to_owned();
    let mut stream = TcpStream::connect(&address).await.expect("the node accepts");
    let request = format!(
        "GET /v1/ws HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("the upgrade is sent");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.expect("the upgrade is answered");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    stream
}

/// A client frame whose first byte (FIN, reserved bits, opcode) is `first`, masked unless
/// `masked` is false.
fn client_frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mask = [0x11u8, 0x22, 0x33, 0x44];
    let mut frame = vec![first];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => frame.push(mask_bit | n as u8),
        n => {
            frame.push(mask_bit | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    if masked {
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    } else {
        frame.extend_from_slice(payload);
    }
    frame
}

/// The close code the server ends the raw connection with.
async fn close_code(stream: &mut TcpStream) -> u16 {
    let mut read = async || {
        let mut header = [0u8; 2];
        stream.read_exact(&mut header).await.expect("a frame from the server");
        let length = match header[1] & 0x7f {
            126 => {
                let mut extended = [0u8; 2];
                stream.read_exact(&mut extended).await.expect("a length");
                usize::from(u16::from_be_bytes(extended))
            }
            n => usize::from(n),
        };
        let mut payload = vec![0u8; length];
        stream.read_exact(&mut payload).await.expect("the frame's payload");
        (header[0] & 0x0f, payload)
    };
    loop {
        let (opcode, payload) = tokio::time::timeout(WAIT, read()).await.expect("a close within the wait");
        if opcode == 0x8 {
            return u16::from_be_bytes([payload[0], payload[1]]);
        }
    }
}

#[tokio::test]
async fn frames_that_break_the_websocket_protocol_close_with_rfc_6455_codes() {
    let cluster = cluster().await;
    let oversized = vec![b'x'; 20_000];
    let cases: [(&str, Vec<u8>, u16); 6] = [
        ("a text frame that is not UTF-8", client_frame(0x81, &[0x7b, 0xff, 0xfe, 0x7d], true), 1007),
        ("a frame over the size limit", client_frame(0x81, &oversized, true), 1009),
        ("an unmasked frame", client_frame(0x81, br#"{"type":"ping"}"#, false), 1002),
        ("a reserved bit set", client_frame(0xC1, br#"{"type":"ping"}"#, true), 1002),
        ("an unknown opcode", client_frame(0x83, b"?", true), 1002),
        ("a fragmented ping", client_frame(0x09, b"", true), 1002),
    ];
    for (case, bytes, expected) in cases {
        let mut stream = raw_socket(cluster.node(0)).await;
        stream.write_all(&bytes).await.expect("the frame is sent");
        assert_eq!(close_code(&mut stream).await, expected, "{case}");
    }
    // The node carries on.
    let tenant = cluster.tenant().await;
    let session = open_session(cluster.node(0), &tenant).await;
    let (mut visitor, _) = Client::authenticated(cluster.node(0), &session.token).await;
    visitor.say_acked(&session.chatroom_id, "still served").await;
}

/// `body` with `value` at the dotted `field` (`visitor.pageUrl`).
fn with_field(body: &Value, field: &str, value: Value) -> Value {
    let mut body = body.clone();
    let mut slot = &mut body;
    for step in field.split('.') {
        slot = &mut slot[step];
    }
    *slot = value;
    body
}

#[tokio::test]
async fn operators_in_every_field_of_the_public_routes_are_refused_or_stored_as_plain_text() {
    let cluster = cluster_with(&[("PARLEY_SESSIONS_PER_IP_PER_MINUTE", "100000")]).await;
    let tenant = cluster.tenant().await;
    let watch = watch(&cluster);
    let chatrooms = cluster.db.db.collection::<bson::Document>("chatrooms");
    let known = ["invalid_body", "malformed_json", "body_too_large", "api_key_invalid", "identity_invalid"];
    let session = session_body(&tenant, "Ada Visitor", "ada@example.net");
    let fields = [
        "tenantId",
        "apiKey",
        "name",
        "email",
        "identitySignature",
        "visitor.language",
        "visitor.pageUrl",
        "visitor.referrer",
        "visitor.timezone",
    ];
    // First every case once: a refusal must carry a documented code, an acceptance must have
    // stored the text as sent.
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    for field in fields {
        for injection in shared::testing::adversarial::injections() {
            let case = format!("{} in {field}", injection.what);
            let body = with_field(&session, field, injection.value.clone());
            let response = post_session(cluster.node(0), &random_ip(), &body).await;
            let status = response.status().as_u16();
            let answer: Value = response.json().await.expect("a JSON answer");
            if status == 201 {
                // Taken as text: the chatroom holds what was sent (browser values without
                // control characters and cut at 1,024 characters, as documented).
                let sent = injection.value.as_str().unwrap_or_else(|| panic!("{case}: a non-string was accepted"));
                let id = answer["chatroomId"].as_str().expect("a chatroom id").to_owned();
                let room = chatrooms.find_one(bson::doc! {"_id": &id}).await.unwrap().expect("the chatroom");
                let value = match field.split_once('.') {
                    None => room.get_str(field).ok(),
                    Some((outer, inner)) => room.get_document(outer).ok().and_then(|d| d.get_str(inner).ok()),
                };
                let expected: String = sent.chars().filter(|c| !c.is_control()).take(1024).collect();
                assert_eq!(value, Some(expected.as_str()), "{case}: stored as sent");
                accepted.push(id);
                continue;
            }
            assert!((400..500).contains(&status), "{case}: answered {status} {answer}");
            let code = answer["code"].as_str().unwrap_or_default().to_owned();
            assert!(known.contains(&code.as_str()) && answer["message"].is_string(), "{case}: {status} {answer}");
            refused.push((case, body, code));
        }
    }
    assert!(!accepted.is_empty(), "some plain strings (\"$ne\", \"a.b\") are valid names or page addresses");
    assert!(refused.len() > 20, "only {} injections were refused", refused.len());

    // Then, once the accepted chatrooms' documents have caught up with their greetings (written
    // behind), each refused case again: it changes nothing in MongoDB, Redis or Kafka.
    for id in &accepted {
        settled(&cluster, id, 1).await;
    }
    for (case, body, code) in refused {
        let before = watch.snapshot().await;
        let response = post_session(cluster.node(0), &random_ip(), &body).await;
        let answer: Value = response.json().await.expect("a JSON answer");
        assert_eq!(answer["code"], code.as_str(), "{case}: the same answer the second time");
        before.assert_unchanged(&watch.snapshot().await, &case);
    }

    for field in ["tenantId", "apiKey"] {
        for injection in shared::testing::adversarial::injections() {
            let body = with_field(
                &json!({"tenantId": tenant.admin.tenant_id, "apiKey": tenant.api_key}),
                field,
                injection.value.clone(),
            );
            let answer = cluster
                .node(0)
                .api
                .request(reqwest::Method::POST, "/v1/widget/config", from_ip(&random_ip()))
                .header("origin", ORIGIN)
                .json(&body)
                .send()
                .await
                .expect("the socket-node answers");
            let status = answer.status().as_u16();
            let answer: Value = answer.json().await.expect("a JSON answer");
            assert!(
                (400..500).contains(&status),
                "{} in {field} of the widget config: {status} {answer}",
                injection.what
            );
            assert!(
                known.contains(&answer["code"].as_str().unwrap_or_default()),
                "{} in {field}: {answer}",
                injection.what
            );
        }
    }
}

#[tokio::test]
async fn control_characters_in_a_message_are_dropped_and_a_message_of_nothing_else_is_empty() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let (mut visitor, mut agent, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    // A NUL would make a FerretDB write fail; a bell or an escape shows nothing to the agent.
    let seq = visitor.say_acked(room, "nul\u{0}byte\u{7}\u{1b}[31m\nline two\tend").await;
    let shown = agent.next_where("message", |f| f["seq"].as_u64() == Some(seq)).await;
    assert_eq!(shown["message"], "nulbyte[31m\nline two\tend");
    visitor.say(room, "\u{0}\u{1}\u{7f}").await;
    assert_eq!(visitor.error().await["code"], "message_empty");
}
