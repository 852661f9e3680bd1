//! What every socket-node test needs: two socket-nodes (a visitor can be on one and the agent on
//! the other) beside the tenant and chatbot-provisioning functions, all on the test's own
//! database, Redis prefix and Kafka topics; accounts and a chatbot made the way a user makes
//! them; WebSocket clients; the nodes' `/metrics`; and the `chatrooms` and `messages` topics read
//! from the beginning.
//!
//! The nodes trust `X-Forwarded-For` from 127.0.0.1, so a test can be "another visitor" by
//! sending another address.

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    sync::Arc,
    time::Duration,
};

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
pub use shared::testing::{
    Account, Api, EventLog, anonymous, assert_error, eventually, expect_status, from_ip, random_string,
};
use shared::{
    config::{Env, KafkaConfig},
    events::Topic,
    services::ServicesConfig,
    testing::{TestDatabase, TestRedis, accounts, kafka_config, kafka_env},
};
use tokio_tungstenite::tungstenite::{self, Message};

/// The origin the test chatbot allows.
pub const ORIGIN: &str = "https://www.example.com";
/// How long a test waits for a frame, an event or a state before it fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// A running socket-node.
pub struct TestNode {
    pub api: Api,
    pub ws_url: String,
    pub node: Option<socket_node::Node>,
}

impl TestNode {
    /// Shuts the node down the way SIGTERM does.
    pub async fn stop(&mut self) {
        if let Some(node) = self.node.take() {
            node.stop().await;
        }
    }
}

pub struct Cluster {
    pub nodes: Vec<TestNode>,
    pub tenant: Api,
    pub chatbots: Api,
    pub db: Arc<TestDatabase>,
    pub redis: Arc<TestRedis>,
    pub tenants_topic: Arc<EventLog>,
    pub chatrooms_topic: Arc<EventLog>,
    pub messages_topic: Arc<EventLog>,
    /// Where the nodes' events go (the test's own topics).
    pub kafka: KafkaConfig,
    pub jwt_keys: String,
    /// The variables the nodes were started with (to start another like them).
    pub env: Vec<(&'static str, String)>,
}

/// Two nodes with the product's settings except a short standby (`PARLEY_STANDBY_SECS`=2).
pub async fn cluster() -> Cluster {
    cluster_with(&[]).await
}

/// Two nodes with extra variables (they override the defaults here).
pub async fn cluster_with(extra: &[(&'static str, &str)]) -> Cluster {
    cluster_on(kafka_config(), extra).await
}

pub async fn cluster_on(kafka: KafkaConfig, extra: &[(&'static str, &str)]) -> Cluster {
    if std::env::var_os("RUST_LOG").is_some() {
        shared::telemetry::init();
    }
    let db = Arc::new(TestDatabase::new().await);
    let redis = Arc::new(TestRedis::new().await);
    let jwt_keys = format!("test-1:{}", random_string(48));
    let mut vars = db.env();
    vars.extend(redis.env());
    vars.extend(kafka_env(&kafka));
    vars.push(("PARLEY_JWT_KEYS", jwt_keys.clone()));
    vars.push(("PARLEY_IDENTITY_KEYS", format!("id-1:{}", random_string(48))));
    vars.push(("PARLEY_TRUSTED_PROXIES", "127.0.0.1".into()));
    vars.push(("PARLEY_STANDBY_SECS", "2".into()));
    vars.push(("PARLEY_STANDBY_SWEEP_MS", "100".into()));
    vars.push(("PARLEY_HEARTBEAT_SECS", "1".into()));
    for (name, value) in extra {
        vars.retain(|(n, _)| n != name);
        vars.push((name, value.to_string()));
    }
    let env = Env::from_pairs(vars.clone());

    let tenant_config = tenant::Config::from_env(&env).expect("a valid tenant config");
    let tenant_state = tenant::AppState::connect(&tenant_config).await.expect("the tenant app connects");
    let tenant = Api::new(shared::testing::serve(tenant::router(tenant_state)).await);
    let chatbot_config = chatbot_provisioning::Config::from_env(&env).expect("a valid chatbot config");
    let chatbot_state =
        chatbot_provisioning::AppState::connect(&chatbot_config).await.expect("the chatbot app connects");
    let chatbots = Api::new(shared::testing::serve(chatbot_provisioning::router(chatbot_state)).await);

    let mut nodes = Vec::new();
    for _ in 0..2 {
        nodes.push(start_node(&vars).await);
    }
    let (tenants_topic, chatrooms_topic, messages_topic) = tokio::join!(
        EventLog::start(&kafka, Topic::Tenants),
        EventLog::start(&kafka, Topic::Chatrooms),
        EventLog::start(&kafka, Topic::Messages),
    );
    Cluster {
        nodes,
        tenant,
        chatbots,
        db,
        redis,
        tenants_topic: Arc::new(tenants_topic),
        chatrooms_topic: Arc::new(chatrooms_topic),
        messages_topic: Arc::new(messages_topic),
        kafka,
        jwt_keys,
        env: vars,
    }
}

/// Starts a socket-node on a port of its own with `vars`.
pub async fn start_node(vars: &[(&'static str, String)]) -> TestNode {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    start_node_on(listener, vars).await
}

/// Starts a socket-node with `vars` serving on `listener`.
pub async fn start_node_on(listener: tokio::net::TcpListener, vars: &[(&'static str, String)]) -> TestNode {
    let env = Env::from_pairs(vars.to_vec());
    let config = socket_node::Config::from_env(&env).expect("a valid socket-node config");
    let services = ServicesConfig::required(&env).expect("the services are configured");
    let address: SocketAddr = listener.local_addr().unwrap();
    let info = socket_node::NodeInfo::new(address);
    let backends = socket_node::Backends::connect(&services, &info.id).await.expect("the services answer");
    let node = socket_node::Node::start(config, backends, info).await.expect("the socket-node starts");
    let trigger = node.shutdown_trigger();
    let router = shared::http::with_common_layers(socket_node::router(node.state.clone()));
    let mut stopping = node.state.shutdown.clone();
    tokio::spawn(shared::http::serve_on(listener, router, async move {
        let _ = stopping.wait_for(|s| *s).await;
        drop(trigger);
    }));
    TestNode { api: Api::new(format!("http://{address}")), ws_url: format!("ws://{address}/v1/ws"), node: Some(node) }
}

/// The email function, consuming the cluster's topics and sending to the harness's Mailpit.
/// Stops when dropped.
pub struct EmailFunction {
    _stop: tokio::sync::watch::Sender<bool>,
}

impl Cluster {
    pub async fn start_email_function(&self) -> EmailFunction {
        let (host, port) = shared::testing::Mailbox::smtp();
        let mut vars = self.env.clone();
        vars.extend([
            ("PARLEY_SMTP_HOST", host),
            ("PARLEY_SMTP_PORT", port.to_string()),
            ("PARLEY_EMAIL_GROUP", format!("test-email-{}", random_string(12))),
            ("PARLEY_PUBLIC_URL", "https://chat.example.com".to_owned()),
        ]);
        let config = email::Config::from_env(&Env::from_pairs(vars)).expect("a valid email config");
        let state = email::AppState::connect(&config).await.expect("the email function connects");
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let stopping = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(err) = email::consumer::run(state, &config, stopping).await {
                panic!("the email consumer failed: {err}");
            }
        });
        EmailFunction { _stop: stop }
    }
}

impl Cluster {
    /// The analytics function over the cluster's database, Redis prefix and Kafka.
    pub async fn start_analytics(&self) -> Api {
        let config = analytics::Config::from_env(&Env::from_pairs(self.env.clone())).expect("a valid analytics config");
        let state = analytics::AppState::connect(&config).await.expect("the analytics function connects");
        Api::new(shared::testing::serve(analytics::router(state)).await)
    }
}

// --- accounts and chatbots ----------------------------------------------------------------------

/// A tenant with its admin, one agent, and a chatbot allowed on [`ORIGIN`].
pub struct Tenant {
    pub admin: Account,
    pub agent: Account,
    pub chatbot_id: String,
    pub api_key: String,
    /// What the tenant's backend signs visitors' emails with (`parley_is_...`).
    pub identity_secret: String,
}

impl Cluster {
    /// Starts one more node like the others.
    pub async fn add_node(&mut self) {
        let node = start_node(&self.env).await;
        self.nodes.push(node);
    }

    pub fn node(&self, i: usize) -> &TestNode {
        &self.nodes[i]
    }

    pub async fn tenant(&self) -> Tenant {
        let admin = accounts::sign_up(&self.tenant).await;
        let agent = self.agent(&admin).await;
        let body = json!({
            "name": "Support",
            "allowedOrigins": [ORIGIN],
            "settings": {"greeting": "Hi! A live agent will join shortly."},
        });
        let created = expect_status(self.chatbots.post("/chatbots", admin.bearer(), body).await, 201).await;
        Tenant {
            chatbot_id: created["chatbot"]["id"].as_str().unwrap().to_owned(),
            api_key: created["apiKey"].as_str().unwrap().to_owned(),
            identity_secret: created["identitySecret"].as_str().unwrap().to_owned(),
            admin,
            agent,
        }
    }

    /// Another agent (role `agent`) of `admin`'s tenant.
    pub async fn agent(&self, admin: &Account) -> Account {
        accounts::agent(&self.tenant, &self.tenants_topic, admin).await
    }

    /// Chatroom tokens signed with the cluster's keys, valid for `ttl` (a visitor's fresh token,
    /// as the nodes would issue it).
    pub fn chatroom_tokens(&self, ttl: Duration) -> shared::auth::ChatroomTokens {
        let env = Env::from_pairs([(shared::auth::AuthConfig::KEYS_VAR, self.jwt_keys.as_str())]);
        let config = shared::auth::AuthConfig::from_env(&env).expect("the cluster's keys");
        shared::auth::ChatroomTokens::new(&config, ttl)
    }
}

/// The identity signature of `email` as the tenant's backend makes it: hex HMAC-SHA256 keyed
/// with the chatbot's identity secret.
pub fn sign(identity_secret: &str, email: &str) -> String {
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(identity_secret.as_bytes()).expect("any key length");
    mac.update(email.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

// --- visitor sessions ---------------------------------------------------------------------------

/// What `POST /v1/visitor/sessions` answered.
#[derive(Debug, Clone)]
pub struct Session {
    pub chatroom_id: String,
    pub token: String,
}

pub fn session_body(tenant: &Tenant, name: &str, email: &str) -> Value {
    json!({
        "tenantId": tenant.admin.tenant_id,
        "apiKey": tenant.api_key,
        "name": name,
        "email": email,
        "visitor": {"language": "en-GB", "pageUrl": "https://www.example.com/pricing", "timezone": "Europe/London"},
    })
}

/// `POST /v1/visitor/sessions` from `ip` with the chatbot's origin and `body`.
pub async fn post_session(node: &TestNode, ip: &str, body: &Value) -> reqwest::Response {
    session_request(node, ip, Some(ORIGIN)).json(body).send().await.expect("the socket-node answers")
}

/// A `POST /v1/visitor/sessions` from `ip` (`X-Forwarded-For`) as a browser on a page of
/// `origin` makes it, to send with a body.
pub fn session_request(node: &TestNode, ip: &str, origin: Option<&str>) -> reqwest::RequestBuilder {
    let request = node
        .api
        .request(reqwest::Method::POST, "/v1/visitor/sessions", from_ip(ip))
        .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36");
    match origin {
        Some(origin) => request.header("origin", origin),
        None => request,
    }
}

/// Opens a session for a new visitor (random email, own address); it must succeed.
pub async fn open_session(node: &TestNode, tenant: &Tenant) -> Session {
    let email = format!("visitor-{}@example.net", random_string(8).to_lowercase());
    let body = session_body(tenant, "Ada Visitor", &email);
    let created = expect_status(post_session(node, &random_ip(), &body).await, 201).await;
    Session {
        chatroom_id: created["chatroomId"].as_str().unwrap().to_owned(),
        token: created["token"].as_str().unwrap().to_owned(),
    }
}

/// A random address in TEST-NET-3, so rate limits per address do not meet across tests.
pub fn random_ip() -> String {
    let n: u32 = rand::random();
    format!("203.0.{}.{}", (n >> 8) % 256, n % 256)
}

// --- what operators see -------------------------------------------------------------------------

/// The node's `/metrics`, each sample by its name and labels as written
/// (`parley_connections{role="visitor"}`). Fails unless it is Prometheus text.
pub async fn metrics(node: &TestNode) -> HashMap<String, f64> {
    let response = node.api.get("/metrics", anonymous()).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
            (name.to_owned(), value.parse().unwrap_or_else(|_| panic!("not a number: {line}")))
        })
        .collect()
}

/// One sample of the node's `/metrics` (0 when absent).
pub async fn metric(node: &TestNode, sample: &str) -> f64 {
    metrics(node).await.get(sample).copied().unwrap_or_default()
}

// --- WebSocket clients --------------------------------------------------------------------------

/// A WebSocket client that reads frames in order and keeps what it skipped.
pub struct Client {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    pending: VecDeque<Value>,
    /// Every frame received, in order.
    pub seen: Vec<Value>,
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

/// The WebSocket stream a [`Client`] reads.
pub type WsStream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Client {
    pub async fn connect(node: &TestNode) -> Self {
        let (stream, _) = tokio_tungstenite::connect_async(&node.ws_url).await.expect("the WebSocket upgrade");
        Self::over(stream)
    }

    /// Connects as a client at `ip` (sent as `X-Forwarded-For`, which the nodes believe from
    /// 127.0.0.1).
    pub async fn connect_from(node: &TestNode, ip: &str) -> Self {
        let (stream, _) =
            tokio_tungstenite::connect_async(upgrade_request(node, ip)).await.expect("the WebSocket upgrade");
        Self::over(stream)
    }

    /// A client over a stream the test opened itself.
    pub fn over(stream: WsStream) -> Self {
        Self { stream, pending: VecDeque::new(), seen: Vec::new() }
    }

    /// Connects and authenticates with `token`; returns the `ready` frame.
    pub async fn authenticated(node: &TestNode, token: &str) -> (Self, Value) {
        let mut client = Self::connect(node).await;
        client.send(json!({"type": "auth", "token": token})).await;
        let ready = client.next_of("ready").await;
        (client, ready)
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_raw(Message::Text(frame.to_string().into())).await;
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.stream.send(message).await.expect("the frame is sent");
    }

    /// The next frame (kept ones first), or how the server ended the connection.
    pub async fn read(&mut self) -> Result<Value, Closed> {
        if let Some(frame) = self.pending.pop_front() {
            return Ok(frame);
        }
        loop {
            let message = tokio::time::timeout(WAIT, self.stream.next()).await.expect("a frame within the wait");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text).expect("frames are JSON");
                    self.seen.push(frame.clone());
                    return Ok(frame);
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) =
                        frame.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
                    return Err(Closed { code, reason });
                }
                Some(Ok(_)) => continue,
                Some(Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed)) | None => {
                    return Err(Closed { code: 1006, reason: String::new() });
                }
                Some(Err(err)) => return Err(Closed { code: 1006, reason: err.to_string() }),
            }
        }
    }

    /// Forgets the frames kept for later reads: what follows is what the server sends from now.
    pub fn forget(&mut self) {
        self.pending.clear();
    }

    /// The next frame of `kind`; frames of other types before it are kept for later reads.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        self.next_where(kind, |_| true).await
    }

    /// The next frame of `kind` for which `matches` holds; others are kept for later reads.
    pub async fn next_where(&mut self, kind: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let mut skipped = VecDeque::new();
        let found = loop {
            match self.read().await {
                Ok(frame) if frame["type"] == kind && matches(&frame) => break frame,
                Ok(frame) => skipped.push_back(frame),
                Err(closed) => panic!("closed ({closed:?}) while waiting for a {kind} frame; skipped {skipped:?}"),
            }
        };
        skipped.extend(self.pending.drain(..));
        self.pending = skipped;
        found
    }

    /// The next frame whose type is one of `kinds` and for which `matches` holds.
    pub async fn next_where_any(&mut self, kinds: &[&str], matches: impl Fn(&Value) -> bool) -> Value {
        let mut skipped = VecDeque::new();
        let found = loop {
            match self.read().await {
                Ok(frame) if kinds.iter().any(|k| frame["type"] == *k) && matches(&frame) => break frame,
                Ok(frame) => skipped.push_back(frame),
                Err(closed) => panic!("closed ({closed:?}) while waiting for {kinds:?}; skipped {skipped:?}"),
            }
        };
        skipped.extend(self.pending.drain(..));
        self.pending = skipped;
        found
    }

    /// Reads until the server closes; the frames before the close are kept.
    pub async fn closed(&mut self) -> Closed {
        let mut before = std::mem::take(&mut self.pending);
        let closed = loop {
            match self.read().await {
                Ok(frame) => before.push_back(frame),
                Err(closed) => break closed,
            }
        };
        self.pending = before;
        closed
    }

    /// A `send` frame; returns its clientMsgId.
    pub async fn say(&mut self, chatroom_id: &str, text: &str) -> String {
        let client_msg_id = format!("m-{}", random_string(12));
        self.send(json!({"type": "send", "chatroomId": chatroom_id, "clientMsgId": client_msg_id, "message": text}))
            .await;
        client_msg_id
    }

    /// Says `text` and waits for its ack; returns the seq.
    pub async fn say_acked(&mut self, chatroom_id: &str, text: &str) -> u64 {
        let id = self.say(chatroom_id, text).await;
        let ack = self.next_where("ack", |f| f["clientMsgId"] == id.as_str()).await;
        ack["seq"].as_u64().expect("seq")
    }

    /// The next `message` frame with `text`.
    pub async fn message(&mut self, text: &str) -> Value {
        self.next_where("message", |f| f["message"] == text).await
    }

    /// The next `error` frame.
    pub async fn error(&mut self) -> Value {
        self.next_of("error").await
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

/// The upgrade request of `GET /v1/ws` on `node` from a client at `ip`.
fn upgrade_request(node: &TestNode, ip: &str) -> tungstenite::handshake::client::Request {
    use tungstenite::client::IntoClientRequest as _;
    let mut request = node.ws_url.as_str().into_client_request().expect("a WebSocket URL");
    request.headers_mut().insert("x-forwarded-for", ip.parse().expect("an address"));
    request
}

/// An agent signed in on `node`, with their `ready` and first `queue` frames read.
pub async fn agent_client(node: &TestNode, agent: &Account) -> (Client, Value, Value) {
    let (mut client, ready) = Client::authenticated(node, &agent.access).await;
    let queue = client.next_of("queue").await;
    (client, ready, queue)
}

/// A new visitor connected to node 0 and the tenant's agent on node 1, who joined the chatroom.
pub async fn chatting(cluster: &Cluster, tenant: &Tenant) -> (Client, Client, Session) {
    let session = open_session(cluster.node(0), tenant).await;
    let (visitor, _) = Client::authenticated(cluster.node(0), &session.token).await;
    let (mut agent, _, _) = agent_client(cluster.node(1), &tenant.agent).await;
    join(&mut agent, &session.chatroom_id).await;
    (visitor, agent, session)
}

/// The agent joins the chatroom and reads the chatroom frame that confirms it.
pub async fn join(agent: &mut Client, chatroom_id: &str) -> Value {
    agent.send(json!({"type": "join", "chatroomId": chatroom_id})).await;
    agent.next_where("chatroom", |f| f["chatroomId"] == chatroom_id && f["status"] == "active").await
}
