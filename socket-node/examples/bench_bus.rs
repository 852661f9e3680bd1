//! Each node's share of the bus: four socket-nodes, chatroom `k`'s visitor on node `k % 4` and
//! its agent on node `(k + 1) % 4`, every visitor sending the same number of messages. Prints,
//! for each node, the notices its broker delivered to it during the sends beside the messages of
//! the chatrooms it holds a connection of, and what share of all messages that is. With the bus
//! routed per chatroom a node hears its own chatrooms' messages, half of all here; on one shared
//! channel every node would hear all of them, more with every node added. Saves the figures as
//! JSON; asserts nothing. Run it with `scripts/bench/bus` (which starts the services).
//!
//! - `BENCH_ROOMS`: chatrooms (default 40; agents hold 5 each);
//! - `BENCH_MESSAGES`: messages each visitor sends, one after the other's ack (default 100);
//! - `BENCH_OUT`: where the JSON goes (default `$PARLEY_CACHE_DIR/bench/bus-<time>.json`).

#[allow(dead_code)]
#[path = "bench/ladder.rs"]
mod ladder;
#[allow(dead_code, unused_imports)]
#[path = "../tests/socket_node/support.rs"]
mod support;

use std::time::Instant;

use futures::future::join_all;
use serde_json::json;

use ladder::number;
use support::{Client, Cluster, agent_client, cluster_with, join, metric, open_session};

const NODES: usize = 4;
const ROOMS_PER_AGENT: usize = 5;
const RECEIVED: &str = "parley_notices_received_total";

#[tokio::main]
async fn main() {
    let rooms = number("BENCH_ROOMS", 40) as usize;
    let per_room = number("BENCH_MESSAGES", 100) as usize;
    let mut cluster = cluster_with(&[
        ("PARLEY_SESSIONS_PER_IP_PER_MINUTE", "100000"),
        ("PARLEY_STANDBY_SECS", "600"),
        ("PARLEY_VISITOR_FRAME_LIMITS", "*=1000000/60000000"),
        ("PARLEY_AGENT_FRAME_LIMITS", "*=1000000/60000000"),
    ])
    .await;
    while cluster.nodes.len() < NODES {
        cluster.add_node().await;
    }
    let tenant = cluster.tenant().await;
    let visitor_node = |room: usize| room % NODES;
    let agent_node = |room: usize| (room + 1) % NODES;

    let mut sessions = Vec::new();
    let mut visitors = Vec::new();
    for room in 0..rooms {
        let node = cluster.node(visitor_node(room));
        let session = open_session(node, &tenant).await;
        visitors.push(Client::authenticated(node, &session.token).await.0);
        sessions.push(session.chatroom_id);
    }
    let mut agents = Vec::new();
    for node in 0..NODES {
        let held: Vec<&String> = (0..rooms).filter(|room| agent_node(*room) == node).map(|r| &sessions[r]).collect();
        for chatrooms in held.chunks(ROOMS_PER_AGENT) {
            let account = if agents.is_empty() { tenant.agent.clone() } else { cluster.agent(&tenant.admin).await };
            let (mut agent, _, _) = agent_client(cluster.node(node), &account).await;
            for chatroom in chatrooms {
                join(&mut agent, chatroom).await;
            }
            agents.push((agent, chatrooms.len()));
        }
    }
    println!(
        "bus: {NODES} nodes, {rooms} chatrooms (visitor on node k % {NODES}, agent on node (k + 1) % {NODES}), \
         {per_room} messages each"
    );

    let before = received(&cluster).await;
    let started = Instant::now();
    let sending = visitors.into_iter().zip(&sessions).map(|(mut visitor, chatroom)| async move {
        for i in 0..per_room {
            visitor.say_acked(chatroom, &format!("bench {i}")).await;
        }
    });
    let reading = agents.into_iter().map(|(mut agent, held)| async move {
        let mut got = 0;
        while got < held * per_room {
            if agent.next_of("message").await["message"].as_str().is_some_and(|m| m.starts_with("bench ")) {
                got += 1;
            }
        }
    });
    tokio::join!(join_all(sending), join_all(reading));
    let elapsed = started.elapsed();
    let after = received(&cluster).await;

    let published = rooms * per_room;
    println!(
        "  {published} messages in {:.1} s ({:.0} msg/s), every one delivered",
        elapsed.as_secs_f64(),
        published as f64 / elapsed.as_secs_f64()
    );
    println!("  node  chatrooms  notices received  its chatrooms' messages  share of all messages");
    let mut nodes = Vec::new();
    for node in 0..NODES {
        let own = (0..rooms).filter(|room| visitor_node(*room) == node || agent_node(*room) == node).count();
        let heard = after[node] - before[node];
        let expected = own * per_room;
        let share = heard as f64 / published as f64;
        println!("  {node:>4}  {own:>9}  {heard:>16}  {expected:>23}  {:>20.2}", share);
        nodes.push(
            json!({"node": node, "chatrooms": own, "noticesReceived": heard, "ownMessages": expected, "share": share}),
        );
    }
    println!("  on one shared channel each node would receive all {published}");
    ladder::save(
        "bus",
        json!({"nodes": NODES, "rooms": rooms, "messagesPerRoom": per_room, "published": published,
               "seconds": elapsed.as_secs_f64(), "perNode": nodes}),
    );
    std::process::exit(0);
}

/// Each node's count of notices received so far.
async fn received(cluster: &Cluster) -> Vec<u64> {
    join_all(cluster.nodes.iter().map(|node| metric(node, RECEIVED))).await.into_iter().map(|n| n as u64).collect()
}
