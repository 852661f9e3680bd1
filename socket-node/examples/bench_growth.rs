//! Whether what a person waits on stays flat as the store grows: five operations timed on two
//! socket-nodes, first on an empty store, then on one seeded with another tenant's chatrooms and
//! messages (the realistic case: other tenants' data; the measured tenant's own chatrooms grow
//! only by the first run's sessions). Prints p50, p99 and max of each, then a table of the two
//! runs side by side, and saves the figures as JSON; asserts nothing. Run it with
//! `scripts/bench/growth` (which starts the services).
//!
//! The operations, each `BENCH_REPEAT` times one after another:
//! - session creation: `POST /v1/visitor/sessions` for a new visitor, until the answer (the
//!   chatroom is then closed, untimed, so the queue keeps its few waiting chatrooms);
//! - chatbot status: `POST /v1/widget/config`, what the loader asks on every page view;
//! - resume: `resume {afterSeq: 0}` on a chatroom of 50 messages, until `resumed`;
//! - agents' queue: an agent opens a connection and authenticates, until its first `queue`
//!   frame (five chatrooms waiting);
//! - send: a visitor's `send` until its `ack`.
//!
//! - `BENCH_REPEAT`: how many times each (default 200);
//! - `BENCH_SEED_CHATROOMS`, `BENCH_SEED_MESSAGES`: the seed (default 100000 and 1000000);
//! - `BENCH_OUT`: where the JSON goes (default `$PARLEY_CACHE_DIR/bench/growth-<time>.json`).

#[allow(dead_code)]
#[path = "bench/ladder.rs"]
mod ladder;
#[allow(dead_code)]
#[path = "bench/parley.rs"]
mod parley;
#[allow(dead_code, unused_imports)]
#[path = "../tests/socket_node/support.rs"]
mod support;

use std::time::{Duration, Instant};

use ladder::{ms, number, percentile};
use serde_json::{Value, json};
use support::*;

/// Chatrooms waiting in the tenant's queue throughout.
const WAITING: usize = 5;
/// Messages in the chatroom `resume` replays: the greeting and the visitor's.
const HISTORY: u64 = 50;

#[tokio::main]
async fn main() {
    let repeat = number("BENCH_REPEAT", 200);
    let seed = parley::Seed::from_env(100_000, 1_000_000);
    let cluster = cluster_with(parley::LIFTED_LIMITS).await;
    let scene = Scene::set_up(&cluster).await;
    println!("growth: each operation {repeat} times, one at a time; visitors on node 0, agents on node 1");
    println!("  empty store");
    let empty = scene.measure(&cluster, repeat).await;
    println!("  seeding the store with another tenant's closed chatrooms and their messages");
    seed.plant(&cluster.db.db).await;
    println!("  seeded store");
    let seeded = scene.measure(&cluster, repeat).await;

    println!(
        "  empty store against one seeded with {} chatrooms and {} messages of another tenant, in ms",
        seed.chatrooms, seed.messages
    );
    println!("  (the measured tenant's own closed chatrooms grew by the {repeat} sessions of the first run)");
    println!(
        "  {:<22} {:>9} {:>9} {:>10} {:>9} {:>16}",
        "operation", "empty p50", "p99", "seeded p50", "p99", "p99 seeded/empty"
    );
    let mut operations = Vec::new();
    for (before, after) in empty.iter().zip(&seeded) {
        let ratio = after.p99.as_secs_f64() / before.p99.as_secs_f64();
        println!(
            "  {:<22} {:>9.1} {:>9.1} {:>10.1} {:>9.1} {:>16.2}",
            before.name,
            ms(before.p50),
            ms(before.p99),
            ms(after.p50),
            ms(after.p99),
            ratio
        );
        operations.push(json!({
            "operation": before.name, "empty": before.json(), "seeded": after.json(),
            "p99SeededOverEmpty": (ratio * 100.0).round() / 100.0,
        }));
    }
    let seeded_with = json!({"chatrooms": seed.chatrooms, "messages": seed.messages, "tenant": "another"});
    ladder::save("growth", json!({"repeat": repeat, "seed": seeded_with, "operations": operations}));
    // The figures are out: end here, as the delivery bench does. Stopping the nodes would race
    // the last visitors' departures (their events dropped at shutdown), and dropping the database
    // under running nodes fails their sweeps; the script removes the services.
    std::process::exit(0);
}

/// The measured tenant and its chatrooms, all waiting (no agent holds them): the first holds
/// [`HISTORY`] messages, to `resume`; the visitor of the second sends.
struct Scene {
    tenant: Tenant,
    waiting: Vec<Session>,
}

impl Scene {
    async fn set_up(cluster: &Cluster) -> Self {
        let tenant = cluster.tenant().await;
        let mut waiting = Vec::new();
        for _ in 0..WAITING {
            waiting.push(open_session(cluster.node(0), &tenant).await);
        }
        let (mut visitor, _) = Client::authenticated(cluster.node(0), &waiting[0].token).await;
        for n in 2..=HISTORY {
            visitor.say_acked(&waiting[0].chatroom_id, &format!("message {n}")).await;
        }
        visitor.close().await;
        Self { tenant, waiting }
    }

    /// Each operation `repeat` times, one after another; prints each one's figures.
    async fn measure(&self, cluster: &Cluster, repeat: u64) -> Vec<Figures> {
        let (visitors, agents, tenant) = (cluster.node(0), cluster.node(1), &self.tenant);
        // Connected for this run only: the nodes drop a connection left unread while the seed
        // is planted (their pings go unanswered); the visitors come back for the next run.
        let (history, chat) = (&self.waiting[0], &self.waiting[1]);
        let (mut replaying, _) = Client::authenticated(visitors, &history.token).await;
        let (mut sending, _) = Client::authenticated(visitors, &chat.token).await;
        let figures = vec![
            Figures::of("session creation", repeat, async || {
                let (session, took) = timed(open_session(visitors, tenant)).await;
                close(visitors, &session).await;
                took
            })
            .await,
            Figures::of("chatbot status", repeat, async || timed(widget_config(visitors, tenant)).await.1).await,
            Figures::of("resume (50 messages)", repeat, async || {
                timed(resume(&mut replaying, &history.chatroom_id)).await.1
            })
            .await,
            Figures::of("agents' queue", repeat, async || {
                let ((agent, _, _), took) = timed(agent_client(agents, &tenant.agent)).await;
                agent.close().await;
                took
            })
            .await,
            Figures::of("send", repeat, async || timed(sending.say_acked(&chat.chatroom_id, "a message")).await.1)
                .await,
        ];
        replaying.close().await;
        sending.close().await;
        figures
    }
}

/// p50, p99 and max of one operation.
struct Figures {
    name: &'static str,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

impl Figures {
    /// Runs `operation` (which answers how long its timed part took) `repeat` times and prints
    /// the figures.
    async fn of(name: &'static str, repeat: u64, mut operation: impl AsyncFnMut() -> Duration) -> Self {
        let mut took = Vec::new();
        for _ in 0..repeat {
            took.push(operation().await);
        }
        took.sort_unstable();
        let figures = Self {
            name,
            p50: percentile(&took, 0.50),
            p99: percentile(&took, 0.99),
            max: took.last().copied().unwrap_or_default(),
        };
        println!(
            "    {name:<22} p50 {:>7.1}  p99 {:>7.1}  max {:>7.1} ms",
            ms(figures.p50),
            ms(figures.p99),
            ms(figures.max)
        );
        figures
    }

    fn json(&self) -> Value {
        json!({"p50Ms": ms(self.p50), "p99Ms": ms(self.p99), "maxMs": ms(self.max)})
    }
}

async fn timed<T>(work: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let answer = work.await;
    (answer, started.elapsed())
}

/// The visitor ends the conversation.
async fn close(node: &TestNode, session: &Session) {
    let (mut visitor, _) = Client::authenticated(node, &session.token).await;
    visitor.send(json!({"type": "close", "chatroomId": session.chatroom_id})).await;
    visitor.next_where("chatroom", |f| f["status"] == "closed").await;
}

/// `POST /v1/widget/config` as the loader on a page of the chatbot's origin asks it.
async fn widget_config(node: &TestNode, tenant: &Tenant) -> Value {
    let body = json!({"tenantId": tenant.admin.tenant_id, "apiKey": tenant.api_key});
    let request = node.api.request(reqwest::Method::POST, "/v1/widget/config", anonymous());
    expect_status(request.header("origin", ORIGIN).json(&body).send().await.expect("an answer"), 200).await
}

/// `resume` from the start, read until `resumed` (the replayed messages are read, not kept aside,
/// so each round reads what it replays and nothing more).
async fn resume(visitor: &mut Client, chatroom_id: &str) {
    visitor.send(json!({"type": "resume", "chatroomId": chatroom_id, "afterSeq": 0})).await;
    while visitor.read().await.expect("the connection stays open")["type"] != "resumed" {}
}
