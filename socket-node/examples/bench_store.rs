//! The store's own ceiling for what a chat send asks of it, through Parley's repositories (the
//! `shared` crate's MongoDB implementations, as the socket-node calls them): a message `insert`,
//! `insert_many` (the node's group commit), a chatroom `get` by id and `raise_last_seq`. The
//! delivery bench's rates read as a fraction of these. Prints the figures and saves them as JSON;
//! asserts nothing. Run it with `scripts/bench/store` (which starts the services).
//!
//! Each operation runs at a ladder of calls in flight (and `insert_many` at a ladder of batch
//! sizes), each step for `BENCH_SECONDS` on a fresh database; a step prints calls a second
//! (documents for `insert_many`), p50/p99 per call and the CPU of the store's processes
//! (FerretDB and PostgreSQL, or mongod) and of this one. Last comes the ceiling the delivery
//! bench compares with: the most messages a second `insert_many` stored with as many batches in
//! flight as the node's group commit allows (`message_writer::IN_FLIGHT`).
//!
//! - `BENCH_SECONDS`: how long each step runs (default 3);
//! - `BENCH_IN_FLIGHT`: calls in flight, comma-separated (default `1,4,16`);
//! - `BENCH_BATCHES`: `insert_many` batch sizes (default `1,8,32,128,256`, 256 being the node's
//!   largest batch);
//! - `BENCH_OUT`: where the JSON goes (default `$PARLEY_CACHE_DIR/bench/store-<time>.json`).

#[allow(dead_code)]
#[path = "bench/ladder.rs"]
mod ladder;

use std::{
    future::Future,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use mongodb::bson::doc;
use serde_json::{Value, json};
use shared::{
    domain::{
        ChatbotId, Chatroom, ChatroomId, ClientMsgId, Message, Sender, SenderKind, TenantId, Timestamp, VisitorInfo,
    },
    repos::{RepoError, Repos},
    testing::TestDatabase,
};
use socket_node::message_writer::{IN_FLIGHT, MAX_BATCH};

use ladder::{cpu_percent, cpu_times, ms, number, percentile, rates};

/// Chatrooms the calls are spread over: many more than the calls in flight, so two of them
/// seldom meet on one chatroom.
const ROOMS: u64 = 100;
/// The processes whose CPU a step shows: the store's and this client's.
const SHOWN: [&str; 4] = ["ferretdb", "postgres", "mongod", "this process"];

#[tokio::main]
async fn main() {
    let seconds = number("BENCH_SECONDS", 3);
    let in_flight = rates("BENCH_IN_FLIGHT", "1,4,16");
    let batches = rates("BENCH_BATCHES", &format!("1,8,32,128,{MAX_BATCH}"));
    let database = TestDatabase::new().await;
    let server = server(&database.db).await;
    let store = Store::new(Repos::mongo(&database.db)).await;
    println!("store: Parley's repositories on {server}, {ROOMS} chatrooms, {seconds} s a step");
    println!(
        "  {:<16}  {:>5}  {:>9}  {:>9}  {:>8}  {:>8}  {:>6}  cpu %",
        "operation", "batch", "in flight", "per s", "p50 ms", "p99 ms", "failed"
    );
    let mut steps = Vec::new();
    for &n in &in_flight {
        steps.push(measure("insert", 1, n, seconds, || store.insert()).await);
    }
    for &batch in &batches {
        for &n in &in_flight {
            steps.push(measure("insert_many", batch, n, seconds, || store.insert_many(batch)).await);
        }
    }
    for &n in &in_flight {
        steps.push(measure("chatroom get", 1, n, seconds, || store.get()).await);
    }
    for &n in &in_flight {
        steps.push(measure("raise_last_seq", 1, n, seconds, || store.raise_last_seq()).await);
    }
    println!("  per s: calls a second, documents a second for insert_many; latency per call");

    let ceiling = steps
        .iter()
        .filter(|s| s.operation == "insert_many" && s.in_flight == IN_FLIGHT as u64)
        .max_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    match ceiling {
        Some(s) => println!(
            "  ceiling: {:.0} messages/s through insert_many with {IN_FLIGHT} batches in flight (batches of {}, p99 {:.1} ms): what the delivery bench's msg/s compares with",
            s.per_second(),
            s.batch,
            ms(s.p99)
        ),
        None => println!("  no ceiling: insert_many did not run with {IN_FLIGHT} in flight (BENCH_IN_FLIGHT)"),
    }
    let result = json!({
        "store": server, "rooms": ROOMS, "secondsPerStep": seconds,
        "insertManyCeiling": ceiling.map(|s| json!({"inFlight": s.in_flight, "batch": s.batch, "messagesPerSecond": s.per_second().round()})),
        "steps": steps.iter().map(Step::json).collect::<Vec<_>>(),
    });
    ladder::save("store", result);
}

/// Which server answers: FerretDB says so in `buildInfo`.
async fn server(db: &mongodb::Database) -> String {
    let info = db.run_command(doc! { "buildInfo": 1 }).await.unwrap_or_default();
    match (info.get_str("ferretdbVersion"), info.get_str("version")) {
        (Ok(ferretdb), _) => format!("FerretDB {ferretdb}"),
        (_, Ok(mongodb)) => format!("MongoDB {mongodb}"),
        _ => "an unknown server".to_owned(),
    }
}

/// Parley's repositories on a fresh database, and the chatrooms the calls go to. Every call takes
/// the next number: messages never collide, and each raise moves its chatroom's `lastSeq` up.
struct Store {
    repos: Repos,
    tenant: TenantId,
    rooms: Vec<ChatroomId>,
    next: AtomicU64,
}

impl Store {
    async fn new(repos: Repos) -> Self {
        let tenant = TenantId::new();
        let mut rooms = Vec::new();
        for i in 0..ROOMS {
            let email = format!("visitor-{i}@example.net").parse().unwrap();
            let (name, visitor) = ("Bench Visitor".parse().unwrap(), VisitorInfo::default());
            let room = Chatroom::new(
                ChatroomId::new(),
                tenant,
                ChatbotId::new(),
                email,
                name,
                false,
                visitor,
                Timestamp::now(),
            );
            repos.chatrooms.insert(&room).await.expect("a chatroom stored");
            rooms.push(room.id);
        }
        Self { repos, tenant, rooms, next: AtomicU64::new(1) }
    }

    /// The next number, and the chatroom it falls to.
    fn next(&self) -> (u64, ChatroomId) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        (n, self.rooms[(n % ROOMS) as usize])
    }

    /// A visitor's message as a send stores it; its seq is the next number (seqs need not be
    /// dense here).
    fn message(&self) -> Message {
        let (n, room) = self.next();
        let sender = Sender { kind: SenderKind::Visitor, id: None, name: "Bench Visitor".into() };
        let id: ClientMsgId = format!("bench-{n}").parse().unwrap();
        Message::new(self.tenant, room, n, id, sender, format!("message {n}"), Timestamp::now())
    }

    async fn insert(&self) -> Result<(), RepoError> {
        self.repos.messages.insert(&self.message()).await.map(drop)
    }

    async fn insert_many(&self, batch: u64) -> Result<(), RepoError> {
        let messages: Vec<Message> = (0..batch).map(|_| self.message()).collect();
        let answers = self.repos.messages.insert_many(&messages).await;
        answers.into_iter().collect::<Result<Vec<_>, _>>().map(drop)
    }

    async fn get(&self) -> Result<(), RepoError> {
        let (_, room) = self.next();
        self.repos.chatrooms.get(&self.tenant, &room).await.map(drop)
    }

    async fn raise_last_seq(&self) -> Result<(), RepoError> {
        let (n, room) = self.next();
        self.repos.chatrooms.raise_last_seq(&self.tenant, &room, n, Timestamp::now()).await
    }
}

/// One step, as printed and saved.
struct Step {
    operation: &'static str,
    batch: u64,
    in_flight: u64,
    calls: u64,
    failed: u64,
    seconds: f64,
    p50: Duration,
    p99: Duration,
    cpu: Vec<(String, f64)>,
}

impl Step {
    /// Calls a second that succeeded, or documents a second for a batch.
    fn per_second(&self) -> f64 {
        ((self.calls - self.failed) * self.batch) as f64 / self.seconds
    }

    fn print(&self) {
        let cpu: Vec<String> = self.cpu.iter().map(|(name, pct)| format!("{name} {pct:.0}")).collect();
        println!(
            "  {:<16}  {:>5}  {:>9}  {:>9.0}  {:>8.1}  {:>8.1}  {:>6}  {}",
            self.operation,
            self.batch,
            self.in_flight,
            self.per_second(),
            ms(self.p50),
            ms(self.p99),
            self.failed,
            cpu.join(", ")
        );
    }

    fn json(&self) -> Value {
        json!({
            "operation": self.operation, "batch": self.batch, "inFlight": self.in_flight, "calls": self.calls,
            "failed": self.failed, "seconds": self.seconds, "perSecond": self.per_second().round(),
            "p50Ms": ms(self.p50), "p99Ms": ms(self.p99),
            "cpuPercent": self.cpu.iter().map(|(name, pct)| (name.clone(), json!(pct))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

/// Calls `op` from `in_flight` loops for `seconds`, timing each call; prints the step (and the
/// first failure, if any) and answers it.
async fn measure<F, Fut>(operation: &'static str, batch: u64, in_flight: u64, seconds: u64, op: F) -> Step
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), RepoError>>,
{
    let before = cpu_times();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let loops = (0..in_flight).map(|_| async {
        let (mut latencies, mut failures) = (Vec::new(), Vec::new());
        while Instant::now() < deadline {
            let call = Instant::now();
            let answer = op().await;
            latencies.push(call.elapsed());
            failures.extend(answer.err());
        }
        (latencies, failures)
    });
    let done = futures::future::join_all(loops).await;
    let elapsed = started.elapsed();
    let mut cpu = cpu_percent(&before, &cpu_times(), elapsed);
    cpu.retain(|(name, _)| SHOWN.contains(&name.as_str()));
    let (latencies, failures): (Vec<Vec<Duration>>, Vec<Vec<RepoError>>) = done.into_iter().unzip();
    let mut latencies: Vec<Duration> = latencies.into_iter().flatten().collect();
    latencies.sort_unstable();
    let failures: Vec<RepoError> = failures.into_iter().flatten().collect();
    let step = Step {
        operation,
        batch,
        in_flight,
        calls: latencies.len() as u64,
        failed: failures.len() as u64,
        seconds: elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        cpu,
    };
    step.print();
    if let Some(first) = failures.first() {
        println!("    first failure: {first}");
    }
    step
}
