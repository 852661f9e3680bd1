//! Visitor → agent delivery through the full path (store in MongoDB, fan-out through Redis,
//! `message.sent` to Kafka), measured on two socket-nodes: visitors on one, agents on the other.
//! Prints the figures; asserts nothing. Run it with `scripts/bench/delivery` (which starts the
//! services); the budget (blueprint section 12) is p50 ≤ 10 ms and p99 ≤ 50 ms at 1,000
//! messages/s on 2 cores, with nothing lost or duplicated.
//!
//! `BENCH_RATE` (messages per second, all chatrooms together, default 1000), `BENCH_SECONDS`
//! (default 10), `BENCH_ROOMS` (default 20; agents hold 5 chatrooms each).

#[allow(dead_code, unused_imports)]
#[path = "../tests/socket_node/support.rs"]
mod support;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use support::*;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn socket(node: &TestNode, token: &str) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(&node.ws_url).await.expect("upgrade");
    socket.send(Message::Text(json!({"type": "auth", "token": token}).to_string().into())).await.unwrap();
    socket
}

#[tokio::main]
async fn main() {
    let rate = setting("BENCH_RATE", 1000);
    let seconds = setting("BENCH_SECONDS", 10);
    let rooms = setting("BENCH_ROOMS", 20) as usize;
    let cluster = cluster_with(&[
        ("PARLEY_SESSIONS_PER_IP_PER_MINUTE", "100000"),
        ("PARLEY_STANDBY_SECS", "600"),
        // The benchmark's clients send far faster than a person: lift the per-connection allowance.
        ("PARLEY_MESSAGE_BURST", "1000000"),
        ("PARLEY_MESSAGES_PER_MINUTE", "60000000"),
    ])
    .await;
    let tenant = cluster.tenant().await;

    // Chatrooms, each joined by one of the agents (five each), on the other node.
    let mut agents = vec![tenant.agent.clone()];
    while agents.len() * 5 < rooms {
        agents.push(cluster.agent(&tenant.admin).await);
    }
    let mut sessions = Vec::new();
    for _ in 0..rooms {
        sessions.push(open_session(cluster.node(0), &tenant).await);
    }
    let mut agent_sockets = Vec::new();
    for (i, agent) in agents.iter().enumerate() {
        let (mut client, _, _) = agent_client(cluster.node(1), agent).await;
        for session in sessions.iter().skip(i * 5).take(5) {
            join(&mut client, &session.chatroom_id).await;
        }
        client.close().await;
        agent_sockets.push(socket(cluster.node(1), &agent.access).await);
    }

    // Receivers: when each message reached its agent.
    let sent_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let duplicates = Arc::new(Mutex::new(0_u64));
    let mut receivers = Vec::new();
    for mut agent in agent_sockets {
        let (sent_at, latencies, duplicates) = (sent_at.clone(), latencies.clone(), duplicates.clone());
        receivers.push(tokio::spawn(async move {
            let mut seen = std::collections::HashSet::new();
            while let Some(Ok(message)) = agent.next().await {
                let Message::Text(text) = message else { continue };
                let frame: Value = serde_json::from_str(&text).unwrap();
                if frame["type"] != "message" || frame["sender"]["kind"] != "visitor" {
                    continue;
                }
                let id = frame["clientMsgId"].as_str().unwrap().to_owned();
                let at = sent_at.lock().unwrap().get(&id).copied();
                if let Some(at) = at {
                    if seen.insert(id) {
                        latencies.lock().unwrap().push(at.elapsed());
                    } else {
                        *duplicates.lock().unwrap() += 1;
                    }
                }
            }
        }));
    }

    // Senders: each visitor sends at rate/rooms per second, without waiting for acks.
    let per_room = (rate as f64 / rooms as f64).max(0.1);
    let interval = Duration::from_secs_f64(1.0 / per_room);
    let total = (per_room * seconds as f64) as usize;
    let acked = Arc::new(Mutex::new(0_u64));
    let started = Instant::now();
    let mut senders = Vec::new();
    for (r, session) in sessions.iter().enumerate() {
        let visitor = socket(cluster.node(0), &session.token).await;
        let (sent_at, acked, room) = (sent_at.clone(), acked.clone(), session.chatroom_id.clone());
        senders.push(tokio::spawn(async move {
            let (mut sink, mut stream) = visitor.split();
            let acks = tokio::spawn(async move {
                let mut count = 0;
                while count < total {
                    let Some(Ok(Message::Text(text))) = stream.next().await else { break };
                    if text.contains("\"type\":\"ack\"") {
                        count += 1;
                        *acked.lock().unwrap() += 1;
                    }
                }
            });
            let mut ticks = tokio::time::interval(interval);
            for n in 0..total {
                ticks.tick().await;
                let id = format!("b-{r}-{n}");
                sent_at.lock().unwrap().insert(id.clone(), Instant::now());
                let frame =
                    json!({"type": "send", "chatroomId": room, "clientMsgId": id, "message": format!("message {n}")});
                if sink.send(Message::Text(frame.to_string().into())).await.is_err() {
                    break;
                }
            }
            let _ = tokio::time::timeout(Duration::from_secs(30), acks).await;
        }));
    }
    for sender in senders {
        let _ = sender.await;
    }
    let sending = started.elapsed();
    let expected = (total * rooms) as u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while (latencies.lock().unwrap().len() as u64) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut all = latencies.lock().unwrap().clone();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("delivery: visitor (node 0) -> agent (node 1), {rooms} chatrooms, {} agents", agents.len());
    println!(
        "  offered      {rate} msg/s for {seconds} s ({expected} messages), sent in {:.1} s",
        sending.as_secs_f64()
    );
    println!("  achieved     {:.0} msg/s", all.len() as f64 / sending.as_secs_f64());
    println!("  acked        {} (within 30 s of each visitor's last send)", acked.lock().unwrap());
    println!(
        "  delivered    {} (not yet delivered when the bench stopped waiting: {}; duplicated: {})",
        all.len(),
        expected.saturating_sub(all.len() as u64),
        duplicates.lock().unwrap()
    );
    println!(
        "  latency      p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(pct(0.5)),
        ms(pct(0.9)),
        ms(pct(0.99)),
        ms(all.last().copied().unwrap_or_default())
    );
    println!("  budget       p50 <= 10 ms, p99 <= 50 ms at 1000 msg/s, none lost or duplicated");
    for receiver in receivers {
        receiver.abort();
    }
}
