//! Parley as a bench target: two socket-nodes on the harness's services, visitors on the first,
//! their agents (five chatrooms each) on the second. A visitor's `send` is timed until its agent
//! gets the `message` frame; the visitor's `ack` is counted too.

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_tungstenite::tungstenite::Message;

use crate::{ladder::Shared, support::*};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The running nodes, the senders (one per chatroom) and the tasks reading every socket.
pub struct Target {
    /// The nodes and the functions, running while this is held.
    pub cluster: Cluster,
    pub agents: usize,
    pub senders: Vec<mpsc::UnboundedSender<String>>,
    pub tasks: Vec<JoinHandle<()>>,
}

impl Target {
    /// Stops reading and stops the nodes, so what runs next has the machine to itself.
    #[allow(dead_code)]
    pub async fn stop(mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
        for node in &mut self.cluster.nodes {
            node.stop().await;
        }
    }
}

/// The nodes' settings for a bench: its clients open sessions and send far faster than people,
/// so the limits per address, per chatbot and per connection are lifted, and a visitor who drops
/// stays in standby for the whole run.
pub const LIFTED_LIMITS: &[(&str, &str)] = &[
    ("PARLEY_SESSIONS_PER_IP_PER_MINUTE", "100000"),
    ("PARLEY_SESSIONS_PER_CHATBOT_PER_MINUTE", "100000"),
    ("PARLEY_STANDBY_SECS", "600"),
    ("PARLEY_VISITOR_FRAME_LIMITS", "*=1000000/60000000"),
    ("PARLEY_AGENT_FRAME_LIMITS", "*=1000000/60000000"),
];

async fn socket(node: &TestNode, token: &str) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(&node.ws_url).await.expect("upgrade");
    socket.send(Message::Text(json!({"type": "auth", "token": token}).to_string().into())).await.unwrap();
    socket
}

/// Starts two nodes and opens `rooms` chatrooms, each joined by an agent on the other node;
/// with `seed`, the store first holds that many other chatrooms and messages.
pub async fn start(rooms: usize, tally: &Shared, seed: Seed) -> Target {
    let cluster = cluster_with(LIFTED_LIMITS).await;
    let tenant = cluster.tenant().await;
    seed.plant(&cluster.db.db).await;

    let mut agents = vec![tenant.agent.clone()];
    while agents.len() * 5 < rooms {
        agents.push(cluster.agent(&tenant.admin).await);
    }
    let mut sessions = Vec::new();
    for _ in 0..rooms {
        sessions.push(open_session(cluster.node(0), &tenant).await);
    }
    let mut tasks = Vec::new();
    for (i, agent) in agents.iter().enumerate() {
        let (mut client, _, _) = agent_client(cluster.node(1), agent).await;
        for session in sessions.iter().skip(i * 5).take(5) {
            join(&mut client, &session.chatroom_id).await;
        }
        client.close().await;
        let mut agent = socket(cluster.node(1), &agent.access).await;
        settled(&mut agent).await;
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
                    acks.lock().unwrap().acked(id);
                }
            }
        }));
        let (tx, rx) = mpsc::unbounded_channel::<String>();
        tasks.push(tokio::spawn(send(sink, rx, session.chatroom_id.clone())));
        senders.push(tx);
    }
    Target { cluster, agents: agents.len(), senders, tasks }
}

/// Waits until the node has done what the agent's `auth` started (the replay of its chatrooms):
/// a `ping` is answered after the frames before it.
async fn settled(agent: &mut Socket) {
    agent.send(Message::Text(json!({"type": "ping"}).to_string().into())).await.unwrap();
    while let Some(Ok(message)) = agent.next().await {
        if let Message::Text(text) = message
            && serde_json::from_str::<Value>(&text).is_ok_and(|frame| frame["type"] == "pong")
        {
            return;
        }
    }
}

/// Records each visitor message reaching its agent.
async fn receive(mut agent: Socket, tally: Shared) {
    while let Some(Ok(message)) = agent.next().await {
        let Message::Text(text) = message else { continue };
        let frame: Value = serde_json::from_str(&text).unwrap_or_default();
        if frame["type"] != "message" || frame["sender"]["kind"] != "visitor" {
            continue;
        }
        if let Some(id) = frame["clientMsgId"].as_str() {
            tally.lock().unwrap().arrived(id);
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

/// Data already in the store when the bench starts: `chatrooms` ended chatrooms (of another
/// tenant) and `messages` messages spread over them (`BENCH_SEED_CHATROOMS`,
/// `BENCH_SEED_MESSAGES`), so the send path can be measured on a store that has grown.
#[derive(Clone, Copy, Default)]
pub struct Seed {
    pub chatrooms: u64,
    pub messages: u64,
}

impl Seed {
    /// `BENCH_SEED_CHATROOMS` and `BENCH_SEED_MESSAGES`, else `chatrooms` and `messages`.
    pub fn from_env(chatrooms: u64, messages: u64) -> Self {
        Self {
            chatrooms: crate::ladder::number("BENCH_SEED_CHATROOMS", chatrooms),
            messages: crate::ladder::number("BENCH_SEED_MESSAGES", messages),
        }
    }

    /// Inserts the chatrooms and messages (none when `chatrooms` is 0), then waits a minute for
    /// the store to settle.
    pub async fn plant(self, db: &mongodb::Database) {
        use shared::domain::{
            ChatbotId, Chatroom, ChatroomId, ChatroomStatus, ClientMsgId, Message, Sender, SenderKind, TenantId,
            Timestamp, VisitorInfo,
        };
        const BATCH: usize = 1000;
        const SETTLE: std::time::Duration = std::time::Duration::from_secs(60);
        if self.chatrooms == 0 {
            return;
        }
        let started = std::time::Instant::now();
        let tenant_id = TenantId::new();
        let chatrooms = db.collection::<Chatroom>("chatrooms");
        let messages = db.collection::<Message>("messages");
        let per_room = self.messages / self.chatrooms;
        let mut rooms = Vec::with_capacity(BATCH);
        let mut notes = Vec::with_capacity(BATCH);
        for i in 0..self.chatrooms {
            let mut room = Chatroom::new(
                ChatroomId::new(),
                tenant_id,
                ChatbotId::new(),
                format!("seed-{i}@example.net").parse().unwrap(),
                "Seeded Visitor".parse().unwrap(),
                false,
                VisitorInfo::default(),
                Timestamp::now(),
            );
            room.status = ChatroomStatus::Closed;
            room.last_seq = per_room;
            for seq in 1..=per_room {
                let sender = Sender { kind: SenderKind::Visitor, id: None, name: "Seeded Visitor".into() };
                let id: ClientMsgId = format!("seed-{seq}").parse().unwrap();
                notes.push(Message::new(
                    tenant_id,
                    room.id,
                    seq,
                    id,
                    sender,
                    format!("seeded message {seq}"),
                    Timestamp::now(),
                ));
                if notes.len() == BATCH {
                    messages.insert_many(std::mem::take(&mut notes)).ordered(false).await.expect("messages seeded");
                }
            }
            rooms.push(room);
            if rooms.len() == BATCH {
                chatrooms.insert_many(std::mem::take(&mut rooms)).ordered(false).await.expect("chatrooms seeded");
            }
        }
        if !rooms.is_empty() {
            chatrooms.insert_many(rooms).ordered(false).await.expect("chatrooms seeded");
        }
        if !notes.is_empty() {
            messages.insert_many(notes).ordered(false).await.expect("messages seeded");
        }
        println!(
            "seeded {} chatrooms and {} messages in {:.0} s; letting the store settle for {} s (checkpoint, autovacuum)",
            self.chatrooms,
            per_room * self.chatrooms,
            started.elapsed().as_secs_f64(),
            SETTLE.as_secs()
        );
        // What is measured is a store that has grown, not one still absorbing a bulk load.
        tokio::time::sleep(SETTLE).await;
    }
}
