//! The load every bench that measures delivery offers: a ladder of rates, each held for some
//! seconds, spread evenly over the chatrooms (or in bursts), with what arrived timed by the
//! receiving side. A target (Parley, Centrifugo, a bare relay) only turns an id into a frame on
//! its sending connections and reports the ids its receiving connections got ([`Tally`]).

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
pub use shared::testing::bench::{ms, percentile, save};
use tokio::sync::mpsc;

/// The latency the budget allows at the 99th percentile.
pub const P99_BUDGET: Duration = Duration::from_millis(50);
/// How long a step waits for its last messages after it stops sending.
const DRAIN: Duration = Duration::from_secs(15);

pub fn setting(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_owned())
}

pub fn number(name: &str, default: u64) -> u64 {
    setting(name, &default.to_string()).parse().unwrap_or(default)
}

/// A comma-separated list of numbers (rates, counts) from `name`.
pub fn rates(name: &str, default: &str) -> Vec<u64> {
    setting(name, default).split(',').filter_map(|r| r.trim().parse().ok()).collect()
}

/// What the receiving sockets and the senders' acks report, shared by every step.
#[derive(Default)]
pub struct Tally {
    sent_at: HashMap<String, Instant>,
    latencies: HashMap<String, Duration>,
    duplicates: u64,
    acked: HashSet<String>,
}

impl Tally {
    /// `id` reached its receiver (a second arrival is a duplicate).
    pub fn arrived(&mut self, id: &str) {
        let Some(at) = self.sent_at.get(id).copied() else { return };
        if self.latencies.contains_key(id) {
            self.duplicates += 1;
        } else {
            self.latencies.insert(id.to_owned(), at.elapsed());
        }
    }

    /// The server confirmed storing `id` to its sender.
    pub fn acked(&mut self, id: &str) {
        self.acked.insert(id.to_owned());
    }
}

pub type Shared = Arc<Mutex<Tally>>;

/// One step of the ladder, as printed and saved.
pub struct Step {
    pub rate: u64,
    pub offered: u64,
    pub seconds: f64,
    pub acked: u64,
    pub delivered: u64,
    pub duplicated: u64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub cpu: Vec<(String, f64)>,
}

impl Step {
    pub fn lost(&self) -> u64 {
        self.offered.saturating_sub(self.delivered)
    }

    pub fn met(&self) -> bool {
        self.lost() == 0 && self.duplicated == 0 && self.p99 <= P99_BUDGET
    }

    pub fn json(&self) -> Value {
        json!({
            "rate": self.rate, "offered": self.offered, "sendSeconds": self.seconds, "acked": self.acked,
            "delivered": self.delivered, "lost": self.lost(), "duplicated": self.duplicated,
            "p50Ms": ms(self.p50), "p99Ms": ms(self.p99), "maxMs": ms(self.max), "met": self.met(),
            "cpuPercent": self.cpu.iter().map(|(name, pct)| (name.clone(), json!(pct))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

/// Climbs `rates` (each held `seconds`) through `senders` (one per chatroom), printing a line
/// per step; stops after a step that misses the budget by far (something lost, or p99 over 1 s).
/// Answers the steps and the highest rate that met the budget.
pub async fn climb(
    rates: &[u64],
    seconds: u64,
    burst: bool,
    senders: &[mpsc::UnboundedSender<String>],
    tally: &Shared,
) -> (Vec<Step>, Option<u64>) {
    println!(
        "  {:>6}  {:>8}  {:>8}  {:>8}  {:>9}  {:>9}  {:>9}  cpu %",
        "msg/s", "sent", "lost", "dup", "p50 ms", "p99 ms", "max ms"
    );
    let mut steps = Vec::new();
    for (n, rate) in rates.iter().copied().enumerate() {
        let step = run_step(n, rate, seconds, burst, senders, tally).await;
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
    (steps, best)
}

/// Offers `rate` messages a second for `seconds`, then waits for them to arrive.
async fn run_step(
    n: usize,
    rate: u64,
    seconds: u64,
    burst: bool,
    senders: &[mpsc::UnboundedSender<String>],
    tally: &Shared,
) -> Step {
    let rooms = senders.len();
    // One tick per message when spread (the chatrooms take turns); one per round when in a burst.
    // Past a tick per 100 µs the timer cannot keep up, so fast rates send a few per tick.
    let (per_tick, tick) = if burst {
        (rooms, Duration::from_secs_f64(rooms as f64 / rate as f64))
    } else {
        let per_tick = (rate / 10_000).max(1) as usize;
        (per_tick, Duration::from_secs_f64(per_tick as f64 / rate as f64))
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
    let step = Step {
        rate,
        offered,
        seconds: sending.as_secs_f64(),
        acked: ids.iter().filter(|id| tally.acked.contains(*id)).count() as u64,
        delivered: latencies.len() as u64,
        duplicated: std::mem::take(&mut tally.duplicates),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        max: latencies.last().copied().unwrap_or_default(),
        cpu,
    };
    for id in &ids {
        tally.sent_at.remove(id);
        tally.latencies.remove(id);
        tally.acked.remove(id);
    }
    step
}

/// CPU time (clock ticks) of the processes a step loads: this one (the client, and Parley's
/// nodes when it runs them), Redis, FerretDB (or mongod), PostgreSQL under FerretDB, Kafka,
/// Centrifugo and the bare relay.
pub fn cpu_times() -> HashMap<String, u64> {
    let mut times = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return times };
    let me = std::process::id();
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        // The store's processes go by their program, not their arguments: a PostgreSQL backend's
        // title names its database ("postgres: postgres ferretdb ..."), and a compiler's
        // arguments may name the mongodb crate.
        let program = cmdline.split_whitespace().next().unwrap_or_default();
        let program = program.rsplit('/').next().unwrap_or_default();
        let name = if pid == me {
            "this process"
        } else if cmdline.contains("redis-server") {
            "redis"
        } else if program == "ferretdb" {
            "ferretdb"
        } else if program == "mongod" {
            "mongod"
        } else if program.starts_with("postgres") {
            "postgres"
        } else if cmdline.contains("kafka.Kafka") {
            "kafka"
        } else if cmdline.contains("centrifugo") {
            "centrifugo"
        } else if cmdline.contains("bench_peer") && cmdline.contains("--relay") {
            "relay"
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
pub fn cpu_percent(
    before: &HashMap<String, u64>,
    after: &HashMap<String, u64>,
    elapsed: Duration,
) -> Vec<(String, f64)> {
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
