//! The contract of analytics' own queries (`analytics::source`), on MongoDB-wire (FerretDB in
//! `scripts/test`): each test seeds its own database through the shared repositories, as the
//! socket-node would, and reads it back through [`Source`].

use analytics::source::{SentMessage, Source};
use shared::{
    domain::{
        ChatbotId, Chatroom, ChatroomId, ChatroomStatus, ClientMsgId, CloseReason, Message, Sender, SenderKind, Tenant,
        TenantId, Timestamp, Transition, VisitorInfo,
    },
    repos::Repos,
    testing::TestDatabase,
};

struct Fixture {
    source: Source,
    repos: Repos,
    db: TestDatabase,
}

/// A fresh database with every index (Parley's and analytics' own).
async fn fixture() -> Fixture {
    let db = TestDatabase::new().await;
    let source = Source::new(&db.db);
    source.ensure_indexes(&db.db).await.unwrap();
    Fixture { source, repos: Repos::mongo(&db.db), db }
}

async fn tenant(repos: &Repos, name: &str) -> Tenant {
    let tenant = Tenant::new(name.parse().unwrap());
    repos.tenants.insert(&tenant).await.unwrap();
    tenant
}

fn at(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_780_000_000_000 + millis)
}

fn new_room(tenant: &TenantId, created_at: Timestamp) -> Chatroom {
    let visitor = VisitorInfo { ip: "203.0.113.9".into(), ..VisitorInfo::default() };
    let email = "vera@example.net".parse().unwrap();
    Chatroom::new(
        ChatroomId::new(),
        *tenant,
        ChatbotId::new(),
        email,
        "Vera".parse().unwrap(),
        false,
        visitor,
        created_at,
    )
}

async fn room(repos: &Repos, tenant: &TenantId) -> Chatroom {
    let room = new_room(tenant, Timestamp::now());
    repos.chatrooms.insert(&room).await.unwrap();
    room
}

fn ids(rooms: &[Chatroom]) -> Vec<ChatroomId> {
    rooms.iter().map(|r| r.id).collect()
}

#[tokio::test]
async fn ensure_indexes_is_idempotent() {
    let f = fixture().await;
    f.source.ensure_indexes(&f.db.db).await.unwrap();
    let expected =
        [("chatrooms", "tenant_created"), ("chatrooms", "tenant_chatbot_activity"), ("messages", "tenant_sent")];
    for (collection, index) in expected {
        let names = f.db.db.collection::<mongodb::bson::Document>(collection).list_index_names().await.unwrap();
        assert!(names.contains(&index.to_owned()), "{collection}: {names:?}");
    }
}

#[tokio::test]
async fn tenant_ids_are_paged_in_order() {
    let f = fixture().await;
    let mut ids = Vec::new();
    for n in ["A", "B", "C"] {
        ids.push(tenant(&f.repos, n).await.id);
    }
    ids.sort_by_key(TenantId::to_string);
    assert_eq!(f.source.list_tenant_ids(None, 2).await.unwrap(), ids[..2]);
    assert_eq!(f.source.list_tenant_ids(Some(&ids[1]), 2).await.unwrap(), ids[2..]);
    assert!(f.source.list_tenant_ids(Some(&ids[2]), 2).await.unwrap().is_empty());
    assert!(f.source.list_tenant_ids(None, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn chatrooms_and_messages_are_read_by_time() {
    let f = fixture().await;
    let (a, other) = (tenant(&f.repos, "A").await, tenant(&f.repos, "B").await);
    let rooms: Vec<Chatroom> = [at(0), at(1_000), at(2_000), at(2_999)].map(|t| new_room(&a.id, t)).into();
    for room in rooms.iter().rev() {
        f.repos.chatrooms.insert(room).await.unwrap();
    }
    f.repos.chatrooms.insert(&new_room(&other.id, at(1_500))).await.unwrap();
    let between = f.source.list_chatrooms_created_between(&a.id, at(1_000), at(2_999), 10).await.unwrap();
    assert_eq!(ids(&between), ids(&rooms[1..3]), "from is included, to is not, oldest first");
    let first = f.source.list_chatrooms_created_between(&a.id, at(0), at(5_000), 2).await.unwrap();
    assert_eq!(ids(&first), ids(&rooms[..2]));

    let mut sent = Vec::new();
    for (seq, (kind, millis)) in
        [(SenderKind::System, 10), (SenderKind::Agent, 30), (SenderKind::Visitor, 20)].into_iter().enumerate()
    {
        let sender = Sender { kind, id: None, name: "Someone".into() };
        let client_id: ClientMsgId = format!("c{seq}").parse().unwrap();
        let message =
            Message::new(a.id, rooms[0].id, seq as u64 + 1, client_id, sender, "secret text".into(), at(millis));
        f.repos.messages.insert(&message).await.unwrap();
        sent.push(message);
    }
    let listed = f.source.list_messages_sent_between(&a.id, at(10), at(30)).await.unwrap();
    let without_text =
        |m: &Message| SentMessage { chatroom_id: m.chatroom_id, sender: m.sender.clone(), sent_at: m.sent_at };
    let expected: Vec<SentMessage> = [&sent[0], &sent[2]].into_iter().map(without_text).collect();
    assert_eq!(listed, expected, "in the order sent, without the text");
    assert!(f.source.list_messages_sent_between(&other.id, at(0), at(100)).await.unwrap().is_empty());
}

#[tokio::test]
async fn open_chatrooms_and_a_chatbots_last_activity() {
    let f = fixture().await;
    let a = tenant(&f.repos, "A").await;
    let waiting = room(&f.repos, &a.id).await;
    let closed = room(&f.repos, &a.id).await;
    let close = Transition::close(ChatroomStatus::Closed, CloseReason::ClosedByAgent);
    f.repos.chatrooms.transition(&a.id, &closed.id, &ChatroomStatus::OPEN, None, &close).await.unwrap().unwrap();
    assert_eq!(ids(&f.source.list_open_chatrooms(&a.id, 10).await.unwrap()), [waiting.id]);

    let mut quiet = new_room(&a.id, at(0));
    quiet.chatbot_id = waiting.chatbot_id;
    f.repos.chatrooms.insert(&quiet).await.unwrap();
    let before = f.repos.chatrooms.get(&a.id, &waiting.id).await.unwrap().unwrap().last_activity_at;
    f.repos.chatrooms.raise_last_seq(&a.id, &waiting.id, 1, Timestamp::now()).await.unwrap();
    let after = f.repos.chatrooms.get(&a.id, &waiting.id).await.unwrap().unwrap().last_activity_at;
    assert!(after >= before);
    assert_eq!(f.source.last_activity(&a.id, &waiting.chatbot_id).await.unwrap(), Some(after));
    assert_eq!(f.source.last_activity(&a.id, &ChatbotId::new()).await.unwrap(), None);
    let other = tenant(&f.repos, "B").await;
    assert_eq!(f.source.last_activity(&other.id, &waiting.chatbot_id).await.unwrap(), None);
}
