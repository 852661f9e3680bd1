//! What every email test needs: the function's state on the test's own database and Kafka topics,
//! sending to the shared Mailpit; the `emails.dlq` topic read from the beginning; events and
//! records made the way their producers make them.

use std::sync::Arc;

pub use email::{AppState, Delivery, Outcome, handle, message::EmailKind};
use serde_json::Value;
pub use shared::testing::{Mail, Mailbox, eventually, unique_email};
use shared::{
    config::{Env, KafkaConfig},
    domain::{
        ChatbotId, Chatroom, ChatroomId, EventId, Permission, Role, Tenant, TenantId, Timestamp, User, VisitorInfo,
    },
    events::{Envelope, Topic},
    repos::Repos,
    testing::{EventLog, TestDatabase, kafka_config, kafka_env},
};

/// The public address links start with.
pub const PUBLIC_URL: &str = "https://chat.example.com";
pub const FROM: &str = "support@parley.test";
pub const REPLY_TO: &str = "help@parley.test";

pub struct Harness {
    pub state: AppState,
    pub db: Arc<TestDatabase>,
    pub kafka: KafkaConfig,
    pub dlq: Arc<EventLog>,
    pub mailbox: Mailbox,
    /// The variables the state was made from (to start the binary the same way).
    pub vars: Vec<(&'static str, String)>,
}

/// Sends through the shared Mailpit; three attempts, 20 ms apart at first.
pub async fn harness() -> Harness {
    harness_with(&[]).await
}

pub async fn harness_with(extra: &[(&'static str, String)]) -> Harness {
    if std::env::var_os("RUST_LOG").is_some() {
        shared::telemetry::init();
    }
    let db = Arc::new(TestDatabase::new().await);
    let kafka = kafka_config();
    let (smtp_host, smtp_port) = Mailbox::smtp();
    let mut vars = db.env();
    vars.extend(kafka_env(&kafka));
    vars.extend([
        ("PARLEY_SMTP_HOST", smtp_host),
        ("PARLEY_SMTP_PORT", smtp_port.to_string()),
        ("PARLEY_EMAIL_FROM", FROM.to_owned()),
        ("PARLEY_EMAIL_REPLY_TO", REPLY_TO.to_owned()),
        ("PARLEY_PUBLIC_URL", PUBLIC_URL.to_owned()),
        ("PARLEY_EMAIL_ATTEMPTS", "3".to_owned()),
        ("PARLEY_EMAIL_RETRY_MS", "20".to_owned()),
        ("PARLEY_EMAIL_GROUP", format!("test-email-{}", random())),
    ]);
    for (name, value) in extra {
        vars.retain(|(n, _)| n != name);
        vars.push((name, value.clone()));
    }
    let config = email::Config::from_env(&Env::from_pairs(vars.clone())).expect("a valid email config");
    let state = AppState::connect(&config).await.expect("the email function connects");
    let dlq = Arc::new(EventLog::start(&kafka, Topic::EmailsDlq).await);
    Harness { state, db, kafka, dlq, mailbox: Mailbox::shared(), vars }
}

impl Harness {
    pub fn repos(&self) -> &Repos {
        &self.state.repos
    }

    /// Handles `envelope`, failing the test on an error.
    pub async fn handle(&self, envelope: &Envelope) -> Outcome {
        handle(&self.state, envelope).await.expect("the event is handled")
    }

    /// A tenant named `name`, stored as sign-up stores it.
    pub async fn tenant(&self, name: &str, sender: Option<&str>) -> Tenant {
        let tenant =
            Tenant { email_sender_name: sender.map(|s| s.parse().unwrap()), ..Tenant::new(name.parse().unwrap()) };
        self.repos().tenants.insert(&tenant).await.unwrap();
        tenant
    }

    /// A user of `tenant` holding a role with `permissions`; `password` false is an invited user
    /// who has not set one yet.
    pub async fn user(&self, tenant: &Tenant, name: &str, permissions: Vec<Permission>, password: bool) -> User {
        let role = Role::new(tenant.id, format!("role-{}", random()).parse().unwrap(), permissions);
        self.repos().roles.insert(&role).await.unwrap();
        let hash = password.then(|| "$argon2id$stand-in-hash".to_owned());
        let user =
            User::new(tenant.id, unique_email(name).parse().unwrap(), name.parse().unwrap(), hash, vec![role.id]);
        self.repos().users.insert(&user).await.unwrap();
        user
    }

    /// A waiting chatroom of `tenant`, opened `waited_ms` ago by `visitor`.
    pub async fn waiting_room(&self, tenant: &Tenant, visitor: &str, waited_ms: i64) -> Chatroom {
        let since = Timestamp::from_unix_millis(Timestamp::now().unix_millis() - waited_ms);
        let room = Chatroom::new(
            ChatroomId::new(),
            tenant.id,
            ChatbotId::new(),
            unique_email("visitor").parse().unwrap(),
            visitor.parse().unwrap(),
            false,
            VisitorInfo { ip: "203.0.113.9".into(), ..VisitorInfo::default() },
            since,
        );
        self.repos().chatrooms.insert(&room).await.unwrap();
        room
    }

    /// The dead-letter entries about event `id` read so far.
    pub fn dead_letters_of(&self, id: EventId) -> Vec<Value> {
        self.dlq.of_type("email.dead_lettered").into_iter().filter(|e| e["data"]["eventId"] == id.to_string()).collect()
    }
}

/// An envelope as a producer makes it.
pub fn envelope(event_type: &str, tenant: TenantId, data: Value) -> Envelope {
    Envelope {
        id: EventId::new(),
        event_type: event_type.to_owned(),
        tenant_id: tenant,
        occurred_at: Timestamp::now(),
        data,
    }
}

/// A short random suffix for names and addresses of the test's own.
pub fn random() -> String {
    shared::testing::random_string(12).to_lowercase()
}

/// The data of a `chatroom.created` event as socket-node makes it, for a visitor `name` at
/// `email` (either may be made unusable on purpose).
pub fn created_data(name: &impl serde::Serialize, email: &impl serde::Serialize) -> Value {
    serde_json::json!({
        "chatroomId": shared::domain::ChatroomId::new(), "chatbotId": shared::domain::ChatbotId::new(),
        "name": name, "email": email, "identityVerified": false, "visitor": {"ip": "203.0.113.9"},
        "createdAt": Timestamp::now(),
    })
}
