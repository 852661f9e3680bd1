//! What an idle connection costs: N authenticated visitor connections held on one release
//! socket-node (its own process, on the harness's services), then the same number of anonymous
//! connections on Centrifugo with the same client. Prints the memory (RSS) each server grew by per
//! connection, and the Redis commands per second the node sends while they idle. Saves the
//! figures as JSON; asserts nothing. Run it with `scripts/bench/idle`.
//!
//! - `BENCH_CONNECTIONS`: how many connections, comma-separated for several runs (default
//!   `10000,50000`);
//! - `BENCH_IDLE_SECONDS`: how long they idle before RSS and Redis are read (default 10);
//! - `SOCKET_NODE_BIN`, `CENTRIFUGO_BIN`: the servers (the script sets them; Centrifugo is
//!   skipped without it).
//!
//! The client spreads its connections over 127.0.0.1–127.0.0.8 as source addresses, so more
//! than one address's worth of ports (about 28,000) can be open to one server. Each connection
//! is an open file on both sides: a count above what the machine lets a process open (the
//! script raises the limit where it may) is lowered to fit, and the bench says so.

#[allow(dead_code)]
#[path = "bench/ladder.rs"]
mod ladder;
#[path = "bench/processes.rs"]
mod processes;
#[allow(dead_code, unused_imports)]
#[path = "../tests/socket_node/support.rs"]
mod support;

use std::{
    net::{Ipv4Addr, SocketAddr},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use futures::{SinkExt as _, StreamExt as _};
use ladder::{number, setting};
use processes::{free_port, stop, wait_for_port};
use serde_json::{Value, json};
use support::*;
use tokio::{net::TcpSocket, task::JoinSet};
use tokio_tungstenite::{WebSocketStream, tungstenite::Message};

type Socket = WebSocketStream<tokio::net::TcpStream>;

/// Chatrooms the visitor connections are spread over (a chatroom token opens any number).
const CHATROOMS: usize = 100;
/// Connections opened at once.
const OPENING: usize = 200;

#[tokio::main]
async fn main() {
    let counts: Vec<usize> =
        setting("BENCH_CONNECTIONS", "10000,50000").split(',').filter_map(|n| n.trim().parse().ok()).collect();
    let idle = Duration::from_secs(number("BENCH_IDLE_SECONDS", 10));
    let node_bin = std::env::var("SOCKET_NODE_BIN").expect("SOCKET_NODE_BIN names the socket-node binary");
    let centrifugo = std::env::var("CENTRIFUGO_BIN").ok();

    // The services, a tenant and its chatrooms, made through an in-process cluster; the node
    // measured runs on the same services as a process of its own.
    // Its nodes run the product's timers, so what they send Redis is what a node sends.
    let cluster = cluster_with(&[
        ("PARLEY_SESSIONS_PER_IP_PER_MINUTE", "100000"),
        ("PARLEY_STANDBY_SWEEP_MS", "1000"),
        ("PARLEY_HEARTBEAT_SECS", "5"),
    ])
    .await;
    let tenant = cluster.tenant().await;
    let mut tokens = Vec::new();
    for _ in 0..CHATROOMS {
        tokens.push(open_session(cluster.node(0), &tenant).await.token);
    }
    let mut results = Vec::new();
    println!("idle: connections held open, {} s idle before reading", idle.as_secs());
    println!(
        "  {:<34} {:>8} {:>12} {:>12} {:>14} {:>12}",
        "server", "conns", "RSS before", "RSS after", "per conn", "Redis cmd/s"
    );
    // Each connection is a file in the client and one in the server; leave room for the rest.
    let most = open_files_allowed().saturating_sub(1000);
    for &wanted in &counts {
        let count = wanted.min(most);
        if count < wanted {
            println!(
                "  {wanted} connections asked, {count} held: this machine allows {} open files a process",
                most + 1000
            );
        }
        let port = free_port();
        let mut env = cluster.env.clone();
        env.retain(|(name, _)| !name.starts_with("PARLEY_HEARTBEAT") && !name.starts_with("PARLEY_STANDBY"));
        let server = Command::new(&node_bin)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("PARLEY_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("PARLEY_MAX_CONNECTIONS_PER_IP", "1000000")
            .env("RUST_LOG", setting("BENCH_NODE_LOG", "error"))
            .stdout(Stdio::null())
            .spawn()
            .expect("the socket-node started");
        let url = format!("ws://127.0.0.1:{port}/v1/ws");
        wait_for_port(port).await;
        let hello = |i: usize| json!({"type": "auth", "token": tokens[i % CHATROOMS]}).to_string();
        let redis = cluster.redis.redis.clone();
        let figures = hold(&server, &url, count, idle, &hello, "ready", Some(redis)).await;
        print_row("Parley socket-node (visitors)", count, &figures);
        results.push(json!({"server": "parley", "connections": count, "figures": figures.json()}));
        stop(server);

        if let Some(binary) = &centrifugo {
            let port = free_port();
            let server = processes::start_centrifugo(binary, port, Value::Null);
            wait_for_port(port).await;
            let url = format!("ws://127.0.0.1:{port}/connection/websocket");
            let hello = |_: usize| json!({"id": 1, "connect": {}}).to_string();
            let figures = hold(&server, &url, count, idle, &hello, "connect", None).await;
            print_row("Centrifugo (anonymous)", count, &figures);
            results.push(json!({"server": "centrifugo", "connections": count, "figures": figures.json()}));
            stop(server);
        }
    }
    ladder::save("idle", json!({"idleSeconds": idle.as_secs(), "runs": results}));
    std::process::exit(0);
}

struct Figures {
    opened: usize,
    rss_before: u64,
    rss_after: u64,
    seconds_to_open: f64,
    redis_per_second: f64,
}

impl Figures {
    fn per_connection(&self) -> f64 {
        self.rss_after.saturating_sub(self.rss_before) as f64 / self.opened.max(1) as f64
    }

    fn json(&self) -> Value {
        json!({
            "opened": self.opened, "rssBeforeKiB": self.rss_before / 1024, "rssAfterKiB": self.rss_after / 1024,
            "perConnectionKiB": (self.per_connection() / 1024.0 * 10.0).round() / 10.0,
            "secondsToOpen": self.seconds_to_open, "redisCommandsPerSecond": self.redis_per_second.round(),
        })
    }
}

fn print_row(server: &str, count: usize, f: &Figures) {
    let opened = if f.opened == count { String::new() } else { format!(" (only {} opened)", f.opened) };
    println!(
        "  {server:<34} {count:>8} {:>8} MiB {:>8} MiB {:>10.1} KiB {:>12.0}{opened}",
        f.rss_before / (1024 * 1024),
        f.rss_after / (1024 * 1024),
        f.per_connection() / 1024.0,
        f.redis_per_second
    );
}

/// Opens `count` connections (each says `hello(i)` and waits for a frame naming `answer`),
/// lets them idle, and reads the server's RSS before and after.
async fn hold(
    server: &Child,
    url: &str,
    count: usize,
    idle: Duration,
    hello: &dyn Fn(usize) -> String,
    answer: &str,
    redis: Option<shared::redis::Redis>,
) -> Figures {
    // A few connections first, so what the server allocates once is in "before".
    let mut warm = Vec::new();
    for i in 0..10 {
        warm.extend(open(url, i, hello(i), answer).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_before = rss(server.id());
    let started = Instant::now();
    let mut held: Vec<Socket> = Vec::with_capacity(count);
    let mut opening = JoinSet::new();
    let mut next = 0;
    while next < count || !opening.is_empty() {
        while next < count && opening.len() < OPENING {
            let (url, text, answer) = (url.to_owned(), hello(next), answer.to_owned());
            opening.spawn(async move { open(&url, next, text, &answer).await });
            next += 1;
        }
        if let Some(Ok(Some(socket))) = opening.join_next().await {
            held.push(socket);
        }
    }
    let seconds_to_open = started.elapsed().as_secs_f64();
    // Idle: the client reads nothing, so pings wait in the kernel's buffers, not the server's.
    // The work an authentication starts may still be finishing after its `ready`: let it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let commands_before = commands(redis.as_ref()).await;
    tokio::time::sleep(idle).await;
    let redis_per_second = (commands(redis.as_ref()).await - commands_before) / idle.as_secs_f64();
    let rss_after = rss(server.id());
    let opened = held.len();
    drop(held);
    drop(warm);
    Figures { opened, rss_before, rss_after, seconds_to_open, redis_per_second }
}

/// Commands Redis has processed since it started (every process's: the measured node's and the
/// cluster's two idle nodes'), or 0 without Redis.
async fn commands(redis: Option<&shared::redis::Redis>) -> f64 {
    let Some(redis) = redis else { return 0.0 };
    let mut conn = redis.conn.clone();
    let info: String = redis::cmd("INFO").arg("stats").query_async(&mut conn).await.unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0.0)
}

/// One connection from 127.0.0.(1 + i % 8), after its hello was answered.
async fn open(url: &str, i: usize, hello: String, answer: &str) -> Option<Socket> {
    let host = url.trim_start_matches("ws://").split('/').next()?;
    let server: SocketAddr = host.parse().ok()?;
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, 1 + (i % 8) as u8), 0))).ok()?;
    let stream = socket.connect(server).await.ok()?;
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.ok()?;
    ws.send(Message::Text(hello.into())).await.ok()?;
    let deadline = tokio::time::sleep(Duration::from_secs(30));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            frame = ws.next() => match frame? .ok()? {
                Message::Text(text) if text.contains(answer) => return Some(ws),
                _ => {}
            },
            _ = &mut deadline => return None,
        }
    }
}

/// The open files this process may hold (its soft limit, which the server inherits).
fn open_files_allowed() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap_or_default();
    line.split_whitespace().nth(3).and_then(|n| n.parse().ok()).unwrap_or(1024)
}

/// A process's resident memory, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    kib * 1024
}
