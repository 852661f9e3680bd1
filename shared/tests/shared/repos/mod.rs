//! One contract, two implementations: every test runs against the in-memory repositories and
//! against MongoDB-wire (FerretDB in `scripts/test`, or the server `MONGODB_URL` names). One file
//! per aggregate, like `shared/src/repos/`; the fixtures they share are below. (Analytics' own
//! queries are tested with analytics: `functions/analytics/tests/analytics/source.rs`.)

use shared::{
    domain::{
        AssignedAgent, ChatbotId, Chatroom, ChatroomId, ChatroomStatus, ClientMsgId, EmailAddress, Message, Name,
        Sender, SenderKind, Tenant, TenantId, Timestamp, Transition, User, UserId, VisitorInfo,
    },
    repos::{RepoError, Repos},
    testing::TestDatabase,
};

struct Backend {
    repos: Repos,
    /// Keeps the test database alive until the test ends, then drops it.
    _db: Option<TestDatabase>,
}

async fn memory() -> Backend {
    Backend { repos: Repos::memory(), _db: None }
}

async fn mongo() -> Backend {
    let db = TestDatabase::new().await;
    Backend { repos: Repos::mongo(&db.db), _db: Some(db) }
}

/// Runs each listed contract test once per backend: `<aggregate>::memory::<name>` and
/// `<aggregate>::mongo::<name>`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $( #[tokio::test] async fn $name() { super::$name(crate::repos::memory().await).await } )*
        }
        mod mongo {
            $( #[tokio::test] async fn $name() { super::$name(crate::repos::mongo().await).await } )*
        }
    };
}

mod blocks;
mod chatbots;
mod chatrooms;
mod messages;
mod roles;
mod seats;
mod sessions;
mod tenants;
mod users;

#[tokio::test]
async fn ensure_indexes_is_idempotent() {
    let db = TestDatabase::new().await;
    shared::mongo::ensure_indexes(&db.db).await.unwrap();
    shared::mongo::ensure_indexes(&db.db).await.unwrap();
    let expected = [
        ("users", "email_unique"),
        ("chatrooms", "tenant_status_created"),
        ("chatrooms", "tenant_agent_status"),
        ("chatrooms", "status_standby_until"),
        ("messages", "chatroom_seq_unique"),
        ("messages", "chatroom_client_msg_id_unique"),
        ("blocks", "tenant_chatbot_email"),
        ("blocks", "tenant_chatbot_ip"),
        ("blocks", "tenant_created"),
        ("chatrooms", "tenant_chatbot_email_created"),
        ("chatrooms", "tenant_assigned"),
        ("agentSeats", "tenant_agent_chatroom"),
    ];
    for (collection, index) in expected {
        let names = db.db.collection::<mongodb::bson::Document>(collection).list_index_names().await.unwrap();
        assert!(names.contains(&index.to_owned()), "{collection}: {names:?}");
    }
}

fn name(s: &str) -> Name {
    s.parse().unwrap()
}

fn email(s: &str) -> EmailAddress {
    s.parse().unwrap()
}

/// A unique address, so the MongoDB backend's global unique index never sees two tests collide.
fn fresh_email(who: &str) -> EmailAddress {
    email(&format!("{who}.{}@example.com", uuid_suffix()))
}

fn uuid_suffix() -> String {
    UserId::new().to_string()[24..].to_owned()
}

async fn tenant(repos: &Repos, n: &str) -> Tenant {
    let tenant = Tenant::new(name(n));
    repos.tenants.insert(&tenant).await.unwrap();
    tenant
}

async fn user(repos: &Repos, tenant: &TenantId, who: &str) -> User {
    let user = User::new(*tenant, fresh_email(who), name(who), Some("$argon2id$v=19$placeholder".into()), vec![]);
    repos.users.insert(&user).await.unwrap();
    user
}

fn assert_code<T: std::fmt::Debug>(result: Result<T, RepoError>, expected: &str) {
    match result {
        Err(RepoError::Conflict { code, .. } | RepoError::NotFound { code, .. }) => assert_eq!(code, expected),
        other => panic!("expected {expected}, got {other:?}"),
    }
}

fn visitor() -> VisitorInfo {
    VisitorInfo {
        ip: "203.0.113.9".into(),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0".into()),
        browser: Some("Firefox 130".into()),
        os: Some("Linux".into()),
        language: Some("en-GB".into()),
        page_url: Some("https://shop.example.com/cart?step=2".into()),
        referrer: Some("https://search.example.org/".into()),
        timezone: Some("Europe/London".into()),
    }
}

fn new_room(tenant: &TenantId, created_at: Timestamp) -> Chatroom {
    Chatroom::new(
        ChatroomId::new(),
        *tenant,
        ChatbotId::new(),
        fresh_email("visitor"),
        name("Vera Visitor"),
        false,
        visitor(),
        created_at,
    )
}

async fn room(repos: &Repos, tenant: &TenantId) -> Chatroom {
    let room = new_room(tenant, Timestamp::now());
    repos.chatrooms.insert(&room).await.unwrap();
    room
}

fn agent(who: &str) -> AssignedAgent {
    AssignedAgent { id: UserId::new(), name: who.into(), email: fresh_email(who) }
}

/// `agent` joins `room` if it is waiting.
async fn claim(repos: &Repos, room: &Chatroom, agent: &AssignedAgent) -> Option<Chatroom> {
    let claim = Transition::claim(agent.clone());
    repos.chatrooms.transition(&room.tenant_id, &room.id, &[ChatroomStatus::Waiting], None, &claim).await.unwrap()
}

fn at(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_780_000_000_000 + millis)
}

fn ids(rooms: &[Chatroom]) -> Vec<ChatroomId> {
    rooms.iter().map(|r| r.id).collect()
}

fn message(room: &Chatroom, seq: u64, client_id: &str, kind: SenderKind, text: &str) -> Message {
    let sender = match kind {
        SenderKind::Visitor => Sender { kind, id: Some(room.email.to_string()), name: room.name.to_string() },
        SenderKind::Agent => Sender { kind, id: Some(UserId::new().to_string()), name: "Ada".into() },
        SenderKind::System => Sender { kind, id: None, name: "Parley".into() },
    };
    let client_id: ClientMsgId = client_id.parse().unwrap();
    Message::new(room.tenant_id, room.id, seq, client_id, sender, text.into(), Timestamp::now())
}

fn visitor_message(room: &Chatroom, seq: u64, client_id: &str, text: &str) -> Message {
    message(room, seq, client_id, SenderKind::Visitor, text)
}
