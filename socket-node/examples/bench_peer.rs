//! Parley beside its peers: the same client, the same chatrooms and the same ladder of rates
//! against Parley (two socket-nodes on the full path, as `scripts/bench/delivery` runs it),
//! Centrifugo (memory engine, once without history and once keeping each channel's messages as
//! Parley keeps a chatroom's), and a bare tokio WebSocket relay (the floor: no store, no
//! checks). Prints each one's highest rate with p99 ≤ 50 ms and nothing lost, and Parley's as a
//! fraction of the others'. Saves the figures as JSON; asserts nothing. Run it with
//! `scripts/bench/peer`, which builds Centrifugo from the Go module proxy and starts the services.
//!
//! - `BENCH_RATES`: Parley's ladder (default `200,500,1000,2000,3000,5000`);
//! - `BENCH_PEER_RATES`: the peers' ladder (default `1000,5000,20000,50000,100000,200000`);
//! - `BENCH_SECONDS`: how long each step sends (default 3);
//! - `BENCH_ROOMS`: chatrooms, i.e. channels (default 20; one receiver follows five);
//! - `CENTRIFUGO_BIN`: the Centrifugo binary (the script sets it).
//!
//! Run as `bench_peer --relay <address>` it is the bare relay.

#[allow(dead_code)]
#[path = "bench/ladder.rs"]
mod ladder;
#[allow(dead_code)]
#[path = "bench/parley.rs"]
mod parley;
#[path = "bench/processes.rs"]
mod processes;
#[allow(dead_code, unused_imports)]
#[path = "../tests/socket_node/support.rs"]
mod support;

use std::{
    collections::HashMap,
    net::SocketAddr,
    process::Command,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::{SinkExt as _, StreamExt as _, stream::SplitSink};
use serde_json::{Value, json};
use tokio::{net::TcpStream, sync::mpsc, task::JoinHandle};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

use ladder::{Shared, Step, number, rates};
use processes::{free_port, spawn, stop, wait_for_port};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Sink = SplitSink<Socket, Message>;

/// Chatrooms one receiving connection follows, as one agent holds five.
const ROOMS_PER_RECEIVER: usize = 5;

/// What one target reached.
struct Outcome {
    name: &'static str,
    best: Option<u64>,
    steps: Vec<Step>,
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, address] = args.as_slice()
        && flag == "--relay"
    {
        return relay(address.parse().expect("a relay address")).await;
    }
    let parley_rates = rates("BENCH_RATES", "200,500,1000,2000,3000,5000");
    let peer_rates = rates("BENCH_PEER_RATES", "1000,5000,20000,50000,100000,200000");
    let seconds = number("BENCH_SECONDS", 3);
    let rooms = number("BENCH_ROOMS", 20) as usize;
    let centrifugo = std::env::var("CENTRIFUGO_BIN").expect("CENTRIFUGO_BIN names the Centrifugo binary");
    println!(
        "peer: {rooms} chatrooms (channels), one receiver per {ROOMS_PER_RECEIVER}, {seconds} s a step, spread sends"
    );
    let mut outcomes = Vec::new();

    let tally = Shared::default();
    let target = parley::start(rooms, &tally, parley::Seed::default()).await;
    println!("Parley: two socket-nodes, store + Redis + Kafka, {} agents", target.agents);
    let (steps, best) = ladder::climb(&parley_rates, seconds, false, &target.senders, &tally).await;
    target.stop().await;
    outcomes.push(Outcome { name: "Parley", best, steps });

    for (name, history) in [("Centrifugo, memory engine", false), ("Centrifugo, memory engine + history", true)] {
        println!("{name}");
        let port = free_port();
        let mut channel = json!({"allow_subscribe_for_client": true, "allow_publish_for_client": true});
        if history {
            // As Parley keeps a chatroom's messages: each channel keeps its latest, for recovery.
            channel["history_size"] = json!(1000);
            channel["history_ttl"] = json!("600s");
            channel["force_recovery"] = json!(true);
        }
        let server = processes::start_centrifugo(&centrifugo, port, channel);
        wait_for_port(port).await;
        let url = format!("ws://127.0.0.1:{port}/connection/websocket");
        let (steps, best) = measure(&peer_rates, seconds, rooms, &url, Protocol::Centrifugo).await;
        stop(server);
        outcomes.push(Outcome { name, best, steps });
    }

    println!("bare relay (tokio-tungstenite, no store)");
    let port = free_port();
    let me = std::env::current_exe().expect("this program's path");
    let server = spawn(Command::new(me).arg("--relay").arg(format!("127.0.0.1:{port}")));
    wait_for_port(port).await;
    let url = format!("ws://127.0.0.1:{port}/");
    let (steps, best) = measure(&peer_rates, seconds, rooms, &url, Protocol::Relay).await;
    stop(server);
    outcomes.push(Outcome { name: "bare relay", best, steps });

    summary(&outcomes, rooms, seconds);
    std::process::exit(0);
}

fn summary(outcomes: &[Outcome], rooms: usize, seconds: u64) {
    let parley = outcomes[0].best.unwrap_or(0) as f64;
    println!("summary: highest rate with p99 <= 50 ms and nothing lost ({rooms} chatrooms, this machine)");
    for outcome in outcomes {
        let rate = outcome.best.map_or("none".to_owned(), |r| format!("{r} msg/s"));
        let top = outcome.steps.last().map(|s| s.rate).unwrap_or(0);
        let reached = if outcome.best == Some(top) { " (the ladder's top: at least this)" } else { "" };
        let ratio = match outcome.best {
            Some(best) if outcome.name != "Parley" => format!("  Parley = {:.3} of it", parley / best as f64),
            _ => String::new(),
        };
        println!("  {:<38} {rate:>14}{reached}{ratio}", outcome.name);
    }
    let result = json!({
        "rooms": rooms, "secondsPerStep": seconds,
        "targets": outcomes.iter().map(|o| json!({
            "name": o.name, "highestRateWithinBudget": o.best,
            "steps": o.steps.iter().map(Step::json).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    ladder::save("peer", result);
}

#[derive(Clone, Copy)]
enum Protocol {
    /// Centrifugo's JSON protocol: `connect`, `subscribe`, `publish`; pushes carry the data.
    Centrifugo,
    /// The relay's: `join <room>`, then every text frame goes to the room's other members.
    Relay,
}

/// Connects a sender per chatroom and a receiver per five, and climbs the ladder.
async fn measure(rates: &[u64], seconds: u64, rooms: usize, url: &str, protocol: Protocol) -> (Vec<Step>, Option<u64>) {
    let tally = Shared::default();
    let names: Vec<String> = (0..rooms).map(|i| format!("room-{i}")).collect();
    let mut tasks = Vec::new();
    for group in names.chunks(ROOMS_PER_RECEIVER) {
        let (mut sink, stream) = connect(url).await.split();
        let mut next_id = 1;
        hello(&mut sink, protocol, &mut next_id).await;
        for room in group {
            join(&mut sink, protocol, room, &mut next_id).await;
        }
        let sink = Arc::new(tokio::sync::Mutex::new(sink));
        tasks.push(tokio::spawn(receive(stream, sink, tally.clone(), protocol)));
    }
    let mut senders = Vec::new();
    for room in &names {
        let (mut sink, stream) = connect(url).await.split();
        let mut next_id = 1;
        hello(&mut sink, protocol, &mut next_id).await;
        if let Protocol::Relay = protocol {
            // The relay sends a member's frames to its rooms: the sender is in its own.
            join(&mut sink, protocol, room, &mut next_id).await;
        }
        let sink = Arc::new(tokio::sync::Mutex::new(sink));
        // The sender's own socket answers pings and drains replies; it receives nothing it sent.
        tasks.push(tokio::spawn(receive(stream, sink.clone(), Shared::default(), protocol)));
        let (tx, rx) = mpsc::unbounded_channel();
        tasks.push(tokio::spawn(send(sink, rx, room.clone(), protocol, next_id)));
        senders.push(tx);
    }
    // Subscriptions are answered before the first step: a round trip on every socket.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let outcome = ladder::climb(rates, seconds, false, &senders, &tally).await;
    tasks.iter().for_each(JoinHandle::abort);
    outcome
}

async fn connect(url: &str) -> Socket {
    tokio_tungstenite::connect_async(url).await.expect("a WebSocket to the peer").0
}

/// Opens the session: Centrifugo's `connect` (anonymous, as the config allows).
async fn hello(sink: &mut Sink, protocol: Protocol, next_id: &mut u64) {
    if let Protocol::Centrifugo = protocol {
        sink.send(Message::Text(json!({"id": *next_id, "connect": {}}).to_string().into())).await.expect("connect");
        *next_id += 1;
    }
}

/// Follows `room`: Centrifugo's `subscribe`, the relay's `join`.
async fn join(sink: &mut Sink, protocol: Protocol, room: &str, next_id: &mut u64) {
    let frame = match protocol {
        Protocol::Centrifugo => json!({"id": *next_id, "subscribe": {"channel": room}}).to_string(),
        Protocol::Relay => format!("join {room}"),
    };
    *next_id += 1;
    sink.send(Message::Text(frame.into())).await.expect("a frame to the peer");
}

/// Turns each id into a message for the room.
async fn send(
    sink: Arc<tokio::sync::Mutex<Sink>>,
    mut ids: mpsc::UnboundedReceiver<String>,
    room: String,
    protocol: Protocol,
    mut next_id: u64,
) {
    while let Some(id) = ids.recv().await {
        let text = format!("message {id}");
        let frame = match protocol {
            Protocol::Centrifugo => {
                next_id += 1;
                json!({"id": next_id, "publish": {"channel": room, "data": {"clientMsgId": id, "message": text}}})
            }
            Protocol::Relay => json!({"type": "message", "clientMsgId": id, "message": text}),
        };
        if sink.lock().await.send(Message::Text(frame.to_string().into())).await.is_err() {
            return;
        }
    }
}

/// Reads a socket: answers Centrifugo's pings (`{}`), and tallies every message's arrival.
async fn receive(
    mut stream: futures::stream::SplitStream<Socket>,
    sink: Arc<tokio::sync::Mutex<Sink>>,
    tally: Shared,
    protocol: Protocol,
) {
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else { continue };
        // Centrifugo puts several replies in one frame, a line each.
        for line in text.lines() {
            let frame: Value = serde_json::from_str(line).unwrap_or_default();
            let data = match protocol {
                Protocol::Centrifugo if frame.as_object().is_some_and(|o| o.is_empty()) => {
                    let _ = sink.lock().await.send(Message::Text("{}".into())).await;
                    continue;
                }
                Protocol::Centrifugo => &frame["push"]["pub"]["data"],
                Protocol::Relay => &frame,
            };
            if let Some(id) = data["clientMsgId"].as_str() {
                tally.lock().unwrap().arrived(id);
            }
        }
    }
}

/// The bare relay: `join <room>` puts a connection in a room; every other text frame goes to
/// the room's other members as it is. No store, no checks: what a WebSocket fan-out costs.
async fn relay(address: SocketAddr) {
    type Rooms = Arc<Mutex<HashMap<String, Vec<(u64, mpsc::UnboundedSender<Message>)>>>>;
    let listener = tokio::net::TcpListener::bind(address).await.expect("the relay's port");
    let rooms: Rooms = Arc::default();
    let mut ids = 0_u64;
    while let Ok((stream, _)) = listener.accept().await {
        ids += 1;
        let (me, rooms) = (ids, rooms.clone());
        tokio::spawn(async move {
            let Ok(socket) = tokio_tungstenite::accept_async(stream).await else { return };
            let (mut sink, mut stream) = socket.split();
            let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
            tokio::spawn(async move {
                while let Some(message) = rx.recv().await {
                    if sink.send(message).await.is_err() {
                        return;
                    }
                }
            });
            let mut mine = Vec::new();
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else { continue };
                if let Some(room) = text.strip_prefix("join ") {
                    rooms.lock().unwrap().entry(room.to_owned()).or_default().push((me, tx.clone()));
                    mine.push(room.to_owned());
                    continue;
                }
                let rooms = rooms.lock().unwrap();
                for room in &mine {
                    for (_, member) in rooms.get(room).into_iter().flatten().filter(|(id, _)| *id != me) {
                        let _ = member.send(Message::Text(text.clone()));
                    }
                }
            }
            let mut rooms = rooms.lock().unwrap();
            for room in mine {
                if let Some(members) = rooms.get_mut(&room) {
                    members.retain(|(id, _)| *id != me);
                }
            }
        });
    }
}
