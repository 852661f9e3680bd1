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
//! - `BENCH_SEED_CHATROOMS`, `BENCH_SEED_MESSAGES`: data in the store before the climb (default
//!   none), to measure the send path on a store that has grown (say 100000 and 1000000);
//! - `BENCH_OUT`: where the JSON goes (default `$PARLEY_CACHE_DIR/bench/delivery-<time>.json`).

#[allow(dead_code)]
#[path = "bench/ladder.rs"]
mod ladder;
#[path = "bench/parley.rs"]
mod parley;
#[allow(dead_code, unused_imports)]
#[path = "../tests/socket_node/support.rs"]
mod support;

use serde_json::json;

use ladder::{Shared, Step, number, rates, setting};

#[tokio::main]
async fn main() {
    let rates = rates("BENCH_RATES", "20,50,100,200,500,1000,2000,5000");
    let seconds = number("BENCH_SECONDS", 5);
    let rooms = number("BENCH_ROOMS", 20) as usize;
    let burst = setting("BENCH_MODE", "spread") == "burst";
    let tally = Shared::default();
    let seed = parley::Seed::from_env(0, 0);
    let target = parley::start(rooms, &tally, seed).await;
    println!(
        "delivery: visitor (node 0) -> agent (node 1), {rooms} chatrooms, {} agents, {} s a step, {} sends",
        target.agents,
        seconds,
        if burst { "burst" } else { "spread" }
    );
    let (steps, best) = ladder::climb(&rates, seconds, burst, &target.senders, &tally).await;
    println!("  budget: p50 <= 10 ms, p99 <= 50 ms at 1000 msg/s, none lost or duplicated");
    let result = json!({
        "rooms": rooms, "secondsPerStep": seconds,
        "seeded": {"chatrooms": seed.chatrooms, "messages": seed.messages}, "mode": if burst { "burst" } else { "spread" },
        "highestRateWithinBudget": best,
        "steps": steps.iter().map(Step::json).collect::<Vec<_>>(),
    });
    ladder::save("delivery", result);
    for task in target.tasks {
        task.abort();
    }
    // The figures are out: end here, rather than tear down two nodes still busy with the last
    // step's backlog (the MongoDB driver panics when its pool goes first).
    std::process::exit(0);
}
