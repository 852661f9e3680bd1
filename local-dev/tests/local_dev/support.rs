//! Starting the runner (its binary, or `Parley::start` in the test's process) on the harness's
//! services or in memory, and reaching what it serves: its APIs, its WebSocket, and the mailbox a
//! person opens (Mailpit's API on the real services, `/dev/mail` in memory).

use std::{process::Stdio, time::Duration};

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
pub use shared::testing::{binary, closed_port, eventually};
use shared::{
    config::KafkaConfig,
    testing::{Mail, Mailbox, TestDatabase, TestRedis, kafka_config, kafka_env, random_string},
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

/// How long a test waits for a frame, an email or a start-up.
pub const WAIT: Duration = Duration::from_secs(30);

/// A running runner: the process (when this test started it), its address, and the banner it
/// printed.
pub struct Runner {
    pub child: Option<tokio::process::Child>,
    pub base: String,
    pub banner: Vec<String>,
    pub mail: MailSource,
}

/// Where the emails the runner sends can be read.
#[derive(Clone)]
pub enum MailSource {
    /// `/dev/mail` on the runner.
    DevMail(String),
    /// The Mailpit the runner sends to (shared by parallel tests, so read by recipient).
    Mailpit(Mailbox),
}

impl Runner {
    /// Starts the runner binary on `port` with `env` and reads its banner up to "Press Ctrl-C to stop.".
    pub async fn start_on(port: u16, env: Vec<(&'static str, String)>) -> Self {
        let mut command = binary(env!("CARGO_BIN_EXE_local-dev"));
        command
            .env("PARLEY_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .envs(env.clone())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().expect("start local-dev");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut banner = Vec::new();
        let read_banner = async {
            while let Some(line) = lines.next_line().await.unwrap() {
                let done = line.starts_with("Press Ctrl-C");
                banner.push(line);
                if done {
                    break;
                }
            }
        };
        tokio::time::timeout(WAIT, read_banner).await.expect("the banner in time");
        // Emails are printed on stdout too: keep reading so the runner never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let base = format!("http://127.0.0.1:{port}");
        let mail = match env.iter().find(|(name, _)| *name == "PARLEY_MAILBOX_URL") {
            Some((_, url)) => MailSource::Mailpit(Mailbox::at(url.clone())),
            None => MailSource::DevMail(base.clone()),
        };
        Self { child: Some(child), base, banner, mail }
    }

    /// A runner started elsewhere (`scripts/dev`) at `PARLEY_DEV_URL`; its emails are read where a
    /// person reads them, at `/dev/mail`.
    pub fn running() -> Self {
        let base = std::env::var("PARLEY_DEV_URL").expect("PARLEY_DEV_URL names the running Parley");
        Self { child: None, mail: MailSource::DevMail(base.clone()), base, banner: Vec::new() }
    }

    pub async fn start(env: Vec<(&'static str, String)>) -> Self {
        Self::start_on(closed_port(), env).await
    }

    /// Stops it as Ctrl-C does and waits for it to exit; answers whether it exited cleanly.
    pub async fn interrupt(self) -> bool {
        let mut child = self.child.expect("a runner this test started");
        let pid = child.id().expect("a running child");
        let killed = std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
        assert!(killed.success());
        let status = tokio::time::timeout(WAIT, child.wait()).await.expect("it stops in time").unwrap();
        status.success()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn ws_url(&self) -> String {
        format!("{}/v1/ws", self.base.replacen("http", "ws", 1))
    }
}

/// What points the runner at the harness's services, as `scripts/dev` does, on a test's own
/// database, Redis prefix and Kafka topics.
pub struct Services {
    pub db: TestDatabase,
    pub redis: TestRedis,
    pub kafka: KafkaConfig,
}

impl Services {
    pub async fn new() -> Self {
        Self { db: TestDatabase::new().await, redis: TestRedis::new().await, kafka: kafka_config() }
    }

    pub fn env(&self, data_dir: &std::path::Path) -> Vec<(&'static str, String)> {
        let mailpit = std::env::var("PARLEY_MAILPIT_URL").expect("the harness's Mailpit");
        let mut env = self.db.env();
        env.extend(self.redis.env());
        env.extend(kafka_env(&self.kafka));
        env.extend([
            ("PARLEY_SMTP_HOST", std::env::var("PARLEY_SMTP_HOST").unwrap()),
            ("PARLEY_SMTP_PORT", std::env::var("PARLEY_SMTP_PORT").unwrap()),
            ("PARLEY_MAILBOX_URL", mailpit),
            ("PARLEY_EMAIL_GROUP", format!("test-email-{}", random_string(8))),
            ("PARLEY_DATA_DIR", data_dir.display().to_string()),
        ]);
        env
    }
}
/// The runner started in the test's own process (`Parley::start`), serving on a port of the
/// test's choosing until [`InProcess::stop`].
pub struct InProcess {
    pub base: String,
    parley: local_dev::Parley,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<()>,
}

impl InProcess {
    pub async fn start_on(port: u16, mut env: Vec<(&'static str, String)>) -> Self {
        env.push(("PARLEY_HTTP_ADDR", format!("127.0.0.1:{port}")));
        let config = local_dev::Config::from_env(&shared::config::Env::from_pairs(env)).expect("a valid config");
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the port is free");
        let parley = local_dev::Parley::start(&config, listener.local_addr().unwrap()).await.expect("Parley starts");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let trigger = parley.shutdown_trigger();
        let router = shared::http::with_common_layers(parley.router.clone());
        let served = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
                trigger.begin();
            };
            shared::http::serve_on(listener, router, shutdown).await.expect("it serves");
        });
        Self { base: format!("http://127.0.0.1:{port}"), parley, stop, served }
    }

    /// Stops it as Ctrl-C does, freeing its port.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(WAIT, self.served).await.expect("it stops serving in time").unwrap();
        self.parley.stop().await;
    }
}

impl MailSource {
    /// The first email to `to` whose subject contains `subject`, waiting for it.
    pub async fn wait_for(&self, to: &str, subject: &str) -> (String, String) {
        match self {
            Self::Mailpit(mailbox) => {
                let mail: Mail = mailbox.wait_for_where(to, |m| m.subject.contains(subject)).await;
                (mail.subject, mail.text)
            }
            Self::DevMail(base) => {
                let url = format!("{base}/dev/mail/messages");
                let mail = eventually(WAIT, &format!("an email to {to} about {subject:?}"), || async {
                    let mails: Vec<Value> = reqwest::get(&url).await.ok()?.json().await.ok()?;
                    mails.into_iter().find(|m| {
                        m["to"].to_string().contains(to) && m["subject"].as_str().unwrap_or("").contains(subject)
                    })
                })
                .await;
                (mail["subject"].as_str().unwrap().to_owned(), mail["text"].as_str().unwrap().to_owned())
            }
        }
    }
}

/// The token in an email's `/console/...#token=...` link.
pub fn link_token(text: &str) -> String {
    let start = text.find("#token=").expect("the email links a token") + "#token=".len();
    text[start..].split(|c: char| c.is_whitespace() || c == '>' || c == ')').next().unwrap().to_owned()
}

// --- HTTP ----------------------------------------------------------------------------------------

pub async fn post(url: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    answer(request).await
}

pub async fn get(url: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    answer(request).await
}

async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the runner answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A visitor on `site` opens a conversation (`POST /v1/visitor/sessions`), from `user_agent`
/// when given; answers the session (chatroom id and token).
pub async fn open_session(runner: &Runner, site: &str, user_agent: Option<&str>, session: &Value) -> Value {
    let mut request = reqwest::Client::new().post(runner.url("/v1/visitor/sessions")).header("origin", site);
    if let Some(user_agent) = user_agent {
        request = request.header("user-agent", user_agent);
    }
    let response = request.json(session).send().await.expect("the runner answers");
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

// --- WebSocket -----------------------------------------------------------------------------------

type Stream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket client that keeps every frame it read.
pub struct Client {
    stream: Stream,
    pub seen: Vec<Value>,
}

impl Client {
    /// Connects, sends `auth` with `token` and reads `ready`.
    pub async fn authenticated(url: &str, token: &str) -> (Self, Value) {
        let (stream, _) = tokio_tungstenite::connect_async(url).await.expect("the WebSocket opens");
        let mut client = Self { stream, seen: Vec::new() };
        client.send(json!({"type": "auth", "token": token})).await;
        let ready = client.next_of("ready").await;
        (client, ready)
    }

    pub async fn send(&mut self, frame: Value) {
        self.stream.send(Message::Text(frame.to_string().into())).await.expect("the frame is sent");
    }

    /// The next frame of `kind` for which `matches` holds (others are kept in `seen`).
    pub async fn next_where(&mut self, kind: &str, matches: impl Fn(&Value) -> bool) -> Value {
        loop {
            let message = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("no {kind} frame in time; seen {:?}", self.seen))
                .expect("the socket is open")
                .expect("a frame");
            let Message::Text(text) = message else { continue };
            let frame: Value = serde_json::from_str(&text).expect("JSON frames");
            self.seen.push(frame.clone());
            if frame["type"] == kind && matches(&frame) {
                return frame;
            }
        }
    }

    pub async fn next_of(&mut self, kind: &str) -> Value {
        self.next_where(kind, |_| true).await
    }

    /// Sends `text` and waits for its ack; answers the seq.
    pub async fn say(&mut self, chatroom_id: &str, text: &str) -> u64 {
        let id = format!("m-{}", shared::testing::random_string(12));
        self.send(json!({"type": "send", "chatroomId": chatroom_id, "clientMsgId": id, "message": text})).await;
        self.next_where("ack", |f| f["clientMsgId"] == id.as_str()).await["seq"].as_u64().unwrap()
    }

    /// The next `message` frame saying `text`.
    pub async fn message(&mut self, text: &str) -> Value {
        self.next_where("message", |f| f["message"] == text).await
    }
}
