//! Visitor → agent delivery through the full path (store in MongoDB, fan-out through Redis,
//! `message.sent` to Kafka), measured on two socket-nodes: visitors on one, agents on the other.
//! Prints the figures and saves them as JSON; asserts nothing. Run it with
//! `scripts/bench/delivery` (which starts the services). The budget (blueprint section 12) is
//! p50 ≤ 10 ms and p99 ≤ 50 ms at 1,000 messages/s on 2 cores, nothing lost or duplicated.
//!
//! It climbs a ladder of rates, each held for `BENCH_SECONDS`, and prints at each step the
//! latencies, what was lost or duplicated, and the CPU of every process, then the highest rate
//! that met p99 ≤ 50 ms with nothing lost. The climb stops after a step that misses the budget
//! by far (p99 over 1 s, or messages still missing after the wait).
//!
//! - `BENCH_RATES`: messages per second, all chatrooms together (default
//!   `20,50,100,200,500,1000,2000,5000`);
//! - `BENCH_SECONDS`: how long each step sends (default 5);
//! - `BENCH_ROOMS`: chatrooms (default 20; agents hold 5 each);
//! - `BENCH_MODE`: `spread` (default: each chatroom sends in its own slot, so the whole stream
//!   is even) or `burst` (every chatroom sends at the same instant, once per period);
//! - `BENCH_OUT`: where the JSON goes (default `$PARLEY_CACHE_DIR/bench/delivery-<time>.json`).

#[allow(dead_code, unused_imports)]
#[path = "../tests/socket_node/support.rs"]
mod support;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use support::*;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The latency the budget allows at the 99th percentile.
const P99_BUDGET: Duration = Duration::from_millis(50);
/// How long a step waits for its last messages after it stops sending.
const DRAIN: Duration = Duration::from_secs(15);

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_owned())
}

fn number(name: &str, default: u64) -> u64 {
    setting(name, &default.to_string()).parse().unwrap_or(default)
}

async fn socket(node: &TestNode, token: &str) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(&node.ws_url).await.expect("upgrade");
    socket.send(Message::Text(json!({"type": "auth", "token": token}).to_string().into())).await.unwrap();
    socket
}

/// What the agents' sockets and the visitors' acks report, shared by every step.
#[derive(Default)]
struct Tally {
    sent_at: HashMap<String, Instant>,
    latencies: HashMap<String, Duration>,
    duplicates: u64,
    acked: HashSet<String>,
}

/// One step of the ladder, as printed and saved.
struct Step {
    rate: u64,
    offered: u64,
    seconds: f64,
    acked: u64,
    delivered: u64,
    duplicated: u64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    cpu: Vec<(String, f64)>,
}

impl Step {
    fn lost(&self) -> u64 {
        self.offered.saturating_sub(self.delivered)
    }

    fn met(&self) -> bool {
        self.lost() == 0 && self.duplicated == 0 && self.p99 <= P99_BUDGET
    }

    fn json(&self) -> Value {
        json!({
            "rate": self.rate, "offered": self.offered, "sendSeconds": self.seconds, "acked": self.acked,
            "delivered": self.delivered, "lost": self.lost(), "duplicated": self.duplicated,
            "p50Ms": ms(self.p50), "p99Ms": ms(self.p99), "maxMs": ms(self.max), "met": self.met(),
            "cpuPercent": self.cpu.iter().map(|(name, pct)| (name.clone(), json!(pct))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

#[tokio::main]
async fn main() {
    let rates: Vec<u64> = setting("BENCH_RATES", "20,50,100,200,500,1000,2000,5000")
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    let seconds = number("BENCH_SECONDS", 5);
    let rooms = number("BENCH_ROOMS", 20) as usize;
    let burst = setting("BENCH_MODE", "spread") == "burst";
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
    let tally: Arc<Mutex<Tally>> = Arc::default();
    let mut tasks = Vec::new();
    for (i, agent) in agents.iter().enumerate() {
        let (mut client, _, _) = agent_client(cluster.node(1), agent).await;
        for session in sessions.iter().skip(i * 5).take(5) {
            join(&mut client, &session.chatroom_id).await;
        }
        client.close().await;
        let agent = socket(cluster.node(1), &agent.access).await;
        tasks.push(tokio::spawn(receive(agent, tally.clone())));
    }

    // Visitors: one sender task each, fed the ids to send; their acks are counted as they come.
    let mut senders = Vec::new();
    for session in &sessions {
        let (sink, mut stream) = socket(cluster.node(0), &session.token).await.split();
        let acks = tally.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                // Pings and other control frames are not acks, and do not end the count.
                let Message::Text(text) = message else { continue };
                let frame: Value = serde_json::from_str(&text).unwrap_or_default();
                if frame["type"] == "ack"
                    && let Some(id) = frame["clientMsgId"].as_str()
                {
                    acks.lock().unwrap().acked.insert(id.to_owned());
                }
            }
        }));
        let (tx, rx) = mpsc::unbounded_channel::<String>();
        tasks.push(tokio::spawn(send(sink, rx, session.chatroom_id.clone())));
        senders.push(tx);
    }

    println!(
        "delivery: visitor (node 0) -> agent (node 1), {rooms} chatrooms, {} agents, {} s a step, {} sends",
        agents.len(),
        seconds,
        if burst { "burst" } else { "spread" }
    );
    println!(
        "  {:>6}  {:>8}  {:>8}  {:>8}  {:>9}  {:>9}  {:>9}  cpu %",
        "msg/s", "sent", "lost", "dup", "p50 ms", "p99 ms", "max ms"
    );
    let mut steps = Vec::new();
    for (n, rate) in rates.iter().copied().enumerate() {
        let step = run_step(n, rate, seconds, burst, &senders, &tally).await;
        let cpu: Vec<String> = step.cpu.iter().map(|(name, pct)| format!("{name} {pct:.0}")).collect();
        println!(
            "  {:>6}  {:>8}  {:>8}  {:>8}  {:>9.1}  {:>9.1}  {:>9.1}  {}{}",
            step.rate,
            step.offered,
            step.lost(),
            step.duplicated,
            ms(step.p50),
            ms(step.p99),
            ms(step.max),
            cpu.join(", "),
            if step.met() { "" } else { "  (over budget)" }
        );
        let far_off = step.lost() > 0 || step.p99 > Duration::from_secs(1);
        steps.push(step);
        if far_off {
            break;
        }
    }
    let best = steps.iter().filter(|s| s.met()).map(|s| s.rate).max();
    match best {
        Some(rate) => println!("  highest rate with p99 <= 50 ms and nothing lost or duplicated: {rate} msg/s"),
        None => println!("  no rate met p99 <= 50 ms with nothing lost or duplicated"),
    }
    println!("  budget: p50 <= 10 ms, p99 <= 50 ms at 1000 msg/s, none lost or duplicated");
    save(&steps, best, rooms, seconds, burst);
    for task in tasks {
        task.abort();
    }
    // The figures are out: end here, rather than tear down two nodes still busy with the last
    // step's backlog (the MongoDB driver panics when its pool goes first).
    std::process::exit(0);
}

/// Records when each visitor message reached its agent (once; a second arrival is a duplicate).
async fn receive(mut agent: Socket, tally: Arc<Mutex<Tally>>) {
    while let Some(Ok(message)) = agent.next().await {
        let Message::Text(text) = message else { continue };
        let frame: Value = serde_json::from_str(&text).unwrap_or_default();
        if frame["type"] != "message" || frame["sender"]["kind"] != "visitor" {
            continue;
        }
        let Some(id) = frame["clientMsgId"].as_str() else { continue };
        let mut tally = tally.lock().unwrap();
        let Some(at) = tally.sent_at.get(id).copied() else { continue };
        if tally.latencies.contains_key(id) {
            tally.duplicates += 1;
        } else {
            tally.latencies.insert(id.to_owned(), at.elapsed());
        }
    }
}

/// Sends a `send` frame for each id it is given, in the visitor's chatroom.
async fn send(
    mut sink: futures::stream::SplitSink<Socket, Message>,
    mut ids: mpsc::UnboundedReceiver<String>,
    room: String,
) {
    while let Some(id) = ids.recv().await {
        let frame = json!({"type": "send", "chatroomId": room, "clientMsgId": id, "message": format!("message {id}")});
        if sink.send(Message::Text(frame.to_string().into())).await.is_err() {
            return;
        }
    }
}

/// Offers `rate` messages a second for `seconds`, then waits for them to arrive.
async fn run_step(
    n: usize,
    rate: u64,
    seconds: u64,
    burst: bool,
    senders: &[mpsc::UnboundedSender<String>],
    tally: &Arc<Mutex<Tally>>,
) -> Step {
    let rooms = senders.len();
    // One tick per message when spread (the chatrooms take turns); one per round when in a burst.
    let (per_tick, tick) = if burst {
        (rooms, Duration::from_secs_f64(rooms as f64 / rate as f64))
    } else {
        (1, Duration::from_secs_f64(1.0 / rate as f64))
    };
    let offered = rate * seconds;
    let before = cpu_times();
    let started = Instant::now();
    let mut ids = Vec::with_capacity(offered as usize);
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut k = 0_usize;
    while (k as u64) < offered {
        ticks.tick().await;
        for _ in 0..per_tick {
            if k as u64 >= offered {
                break;
            }
            let id = format!("s{n}-{k}");
            tally.lock().unwrap().sent_at.insert(id.clone(), Instant::now());
            let _ = senders[k % rooms].send(id.clone());
            ids.push(id);
            k += 1;
        }
    }
    let sending = started.elapsed();
    let deadline = Instant::now() + DRAIN;
    loop {
        let arrived = {
            let tally = tally.lock().unwrap();
            ids.iter().filter(|id| tally.latencies.contains_key(*id)).count()
        };
        if arrived == ids.len() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let cpu = cpu_percent(&before, &cpu_times(), elapsed);
    let mut tally = tally.lock().unwrap();
    let mut latencies: Vec<Duration> = ids.iter().filter_map(|id| tally.latencies.get(id).copied()).collect();
    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1).min(latencies.len().saturating_sub(1));
        latencies.get(i).copied().unwrap_or_default()
    };
    let step = Step {
        rate,
        offered,
        seconds: sending.as_secs_f64(),
        acked: ids.iter().filter(|id| tally.acked.contains(*id)).count() as u64,
        delivered: latencies.len() as u64,
        duplicated: std::mem::take(&mut tally.duplicates),
        p50: pct(0.50),
        p99: pct(0.99),
        max: latencies.last().copied().unwrap_or_default(),
        cpu,
    };
    for id in &ids {
        tally.sent_at.remove(id);
    }
    step
}

/// CPU time (clock ticks) of the processes a step loads: this one (both socket-nodes and the
/// client), Redis, FerretDB (or mongod), PostgreSQL under FerretDB, and Kafka.
fn cpu_times() -> HashMap<String, u64> {
    let mut times = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return times };
    let me = std::process::id();
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let name = if pid == me {
            "nodes+client"
        } else if cmdline.contains("redis-server") {
            "redis"
        } else if cmdline.contains("ferretdb") {
            "ferretdb"
        } else if cmdline.contains("mongod") {
            "mongod"
        } else if cmdline.starts_with("postgres") || cmdline.starts_with("/usr/lib/postgresql") {
            "postgres"
        } else if cmdline.contains("kafka.Kafka") {
            "kafka"
        } else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = fields.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
            + fields.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        *times.entry(name.to_owned()).or_default() += ticks;
    }
    times
}

/// Each process's CPU over `elapsed`, in percent of one core (100 per core it kept busy).
fn cpu_percent(before: &HashMap<String, u64>, after: &HashMap<String, u64>, elapsed: Duration) -> Vec<(String, f64)> {
    const TICKS_PER_SECOND: f64 = 100.0; // USER_HZ on Linux
    let mut all: Vec<(String, f64)> = after
        .iter()
        .map(|(name, ticks)| {
            let used = ticks.saturating_sub(before.get(name).copied().unwrap_or(0)) as f64 / TICKS_PER_SECOND;
            (name.clone(), (used / elapsed.as_secs_f64() * 100.0).round())
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

fn save(steps: &[Step], best: Option<u64>, rooms: usize, seconds: u64, burst: bool) {
    let when = shared::domain::Timestamp::now().to_string();
    let path = std::env::var("BENCH_OUT").unwrap_or_else(|_| {
        let cache = std::env::var("PARLEY_CACHE_DIR")
            .unwrap_or_else(|_| format!("{}/.cache/parley", std::env::var("HOME").unwrap_or_default()));
        format!("{cache}/bench/delivery-{}.json", when.replace(':', "-"))
    });
    let result = json!({
        "bench": "delivery", "at": when, "rooms": rooms, "secondsPerStep": seconds,
        "mode": if burst { "burst" } else { "spread" },
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "highestRateWithinBudget": best,
        "steps": steps.iter().map(Step::json).collect::<Vec<_>>(),
    });
    if let Some(dir) = std::path::Path::new(&path).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&path, serde_json::to_string_pretty(&result).unwrap_or_default()) {
        Ok(()) => println!("  saved {path}"),
        Err(err) => println!("  not saved ({path}: {err})"),
    }
}
