//! The chat aggregates' contract: chatrooms (queue, claims, sequence numbers, read marks,
//! standby), messages and blocks, against both backends.

use futures::future::join_all;
use mongodb::bson::{Bson, Document, doc};
use shared::{
    domain::{
        AgentChange, AssignedAgent, Block, ChatbotId, Chatroom, ChatroomId, ChatroomStatus, ClientMsgId, CloseReason,
        EmailAddress, Message, Sender, SenderKind, SentMessage, TenantId, Timestamp, Transition, UserId, VisitorInfo,
    },
    repos::{Inserted, Repos},
    testing::TestDatabase,
};

use super::{Backend, assert_code, fresh_email, name, tenant};

async fn memory() -> Backend {
    super::memory().await
}

async fn mongo() -> Backend {
    super::mongo().await
}

contract!(
    a_chatroom_is_stored_and_read_back_whole,
    chatrooms_are_scoped_to_their_tenant,
    the_queue_lists_waiting_chatrooms_oldest_first,
    chatrooms_by_id_are_the_open_ones_of_the_tenant,
    exactly_one_of_many_agents_claims_a_waiting_chatroom,
    a_transition_can_require_the_agent_holding_the_chatroom,
    sequence_numbers_count_up_only_while_open,
    concurrent_writers_lose_no_change,
    a_resent_message_is_stored_once,
    a_taken_seq_is_a_conflict,
    messages_are_listed_after_a_seq_in_order,
    reading_marks_only_the_other_sides_messages,
    read_marks_never_go_down_nor_past_the_last_message,
    the_first_agent_reply_is_recorded_once,
    overdue_standby_chatrooms_are_swept_earliest_first,
    a_transcript_is_requested_only_while_open,
    unclaimed_chatrooms_are_alerted_once_per_wait,
    blocks_match_the_email_or_the_ip_for_one_chatbot,
    reports_read_chatrooms_and_messages_by_time,
    open_chatrooms_and_a_chatbots_last_activity,
);

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

async fn a_chatroom_is_stored_and_read_back_whole(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let fresh = room(&b.repos, &a.id).await;
    assert_eq!(b.repos.chatrooms.get(&a.id, &fresh.id).await.unwrap(), Some(fresh.clone()));

    // Every optional field set, and counters beyond 32 bits.
    let ada = agent("ada");
    let full = Chatroom {
        identity_verified: true,
        agent_id: Some(ada.id),
        agent_name: Some(ada.name.clone()),
        agent_email: Some(ada.email.clone()),
        status: ChatroomStatus::Blocked,
        last_seq: 5_000_000_001,
        visitor_read_seq: 4_999_999_999,
        agent_read_seq: 5_000_000_000,
        standby_until: Some(at(600_000)),
        first_agent_reply_at: Some(at(1_500)),
        closed_at: Some(at(9_000)),
        close_reason: Some(CloseReason::Blocked),
        updated_at: at(9_000),
        ..new_room(&a.id, at(0))
    };
    b.repos.chatrooms.insert(&full).await.unwrap();
    let stored = b.repos.chatrooms.get(&a.id, &full.id).await.unwrap().unwrap();
    assert_eq!(stored, full);
    assert_eq!(stored.agent(), Some(ada));
    assert_eq!(b.repos.chatrooms.get(&a.id, &ChatroomId::new()).await.unwrap(), None);
    assert_code(b.repos.chatrooms.insert(&full).await, "chatroom_exists");
}

async fn chatrooms_are_scoped_to_their_tenant(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let other = tenant(&b.repos, "B").await;
    let waiting = room(&b.repos, &a.id).await;
    let held = room(&b.repos, &a.id).await;
    let ada = agent("ada");
    let held = claim(&b.repos, &held, &ada).await.unwrap();
    let c = &b.repos.chatrooms;

    assert_eq!(c.get(&other.id, &waiting.id).await.unwrap(), None);
    assert!(c.list_by_ids(&other.id, &[waiting.id, held.id]).await.unwrap().is_empty());
    assert!(c.list_waiting(&other.id, 10).await.unwrap().is_empty());
    assert!(c.list_for_agent(&other.id, &ada.id).await.unwrap().is_empty());
    assert_eq!(c.count_for_agent(&other.id, &ada.id).await.unwrap(), 0);
    assert_eq!(c.next_seq(&other.id, &waiting.id).await.unwrap(), None);
    let mallory = Transition::claim(agent("mallory"));
    assert_eq!(c.transition(&other.id, &waiting.id, &[ChatroomStatus::Waiting], None, &mallory).await.unwrap(), None);
    let close = Transition::close(ChatroomStatus::Closed, CloseReason::ClosedByAgent);
    assert_eq!(
        c.transition(&other.id, &held.id, &[ChatroomStatus::Active], Some(&ada.id), &close).await.unwrap(),
        None
    );
    c.set_first_agent_reply(&other.id, &held.id, at(1)).await.unwrap();
    c.set_read(&other.id, &held.id, SenderKind::Agent, 1).await.unwrap();

    assert_eq!(c.get(&a.id, &waiting.id).await.unwrap(), Some(waiting.clone()), "tenant B changed nothing");
    assert_eq!(c.get(&a.id, &held.id).await.unwrap(), Some(held));

    // Messages too.
    let chat = waiting;
    let hello = visitor_message(&chat, 1, "c1", "hello");
    b.repos.messages.insert(&hello).await.unwrap();
    let m = &b.repos.messages;
    assert_eq!(m.find_by_client_id(&other.id, &chat.id, &hello.client_msg_id).await.unwrap(), None);
    assert!(m.list_after(&other.id, &chat.id, 0, 10).await.unwrap().is_empty());
    assert_eq!(m.mark_read(&other.id, &chat.id, SenderKind::Agent, 10).await.unwrap(), 0);
    assert_eq!(m.list_after(&a.id, &chat.id, 0, 10).await.unwrap(), vec![hello]);
}

async fn the_queue_lists_waiting_chatrooms_oldest_first(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let other = tenant(&b.repos, "B").await;
    let (second, third, first) = (new_room(&a.id, at(20)), new_room(&a.id, at(30)), new_room(&a.id, at(10)));
    for room in [&second, &third, &first, &new_room(&other.id, at(0))] {
        b.repos.chatrooms.insert(room).await.unwrap();
    }
    let claimed = new_room(&a.id, at(5));
    b.repos.chatrooms.insert(&claimed).await.unwrap();
    claim(&b.repos, &claimed, &agent("ada")).await.unwrap();

    let c = &b.repos.chatrooms;
    assert_eq!(ids(&c.list_waiting(&a.id, 10).await.unwrap()), vec![first.id, second.id, third.id]);
    assert_eq!(ids(&c.list_waiting(&a.id, 2).await.unwrap()), vec![first.id, second.id]);
    assert!(c.list_waiting(&a.id, 0).await.unwrap().is_empty());
}

async fn chatrooms_by_id_are_the_open_ones_of_the_tenant(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let other = tenant(&b.repos, "B").await;
    let waiting = room(&b.repos, &a.id).await;
    let standby = Chatroom { status: ChatroomStatus::Standby, standby_until: Some(at(0)), ..new_room(&a.id, at(1)) };
    let closed = Chatroom { status: ChatroomStatus::Closed, ..new_room(&a.id, at(2)) };
    let stale = Chatroom { status: ChatroomStatus::Stale, ..new_room(&a.id, at(3)) };
    let theirs = room(&b.repos, &other.id).await;
    for room in [&standby, &closed, &stale] {
        b.repos.chatrooms.insert(room).await.unwrap();
    }
    let asked = [waiting.id, standby.id, closed.id, stale.id, theirs.id, ChatroomId::new()];
    let mut found = ids(&b.repos.chatrooms.list_by_ids(&a.id, &asked).await.unwrap());
    found.sort();
    let mut expected = vec![waiting.id, standby.id];
    expected.sort();
    assert_eq!(found, expected);
    assert!(b.repos.chatrooms.list_by_ids(&a.id, &[]).await.unwrap().is_empty());
}

async fn exactly_one_of_many_agents_claims_a_waiting_chatroom(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let room = room(&b.repos, &a.id).await;
    let agents: Vec<AssignedAgent> = (0..10).map(|i| agent(&format!("agent{i}"))).collect();
    let claims = agents.iter().map(|agent| {
        let (repos, tenant, id, claim) = (b.repos.clone(), a.id, room.id, Transition::claim(agent.clone()));
        async move { repos.chatrooms.transition(&tenant, &id, &[ChatroomStatus::Waiting], None, &claim).await.unwrap() }
    });
    let won: Vec<Chatroom> = join_all(claims).await.into_iter().flatten().collect();

    assert_eq!(won.len(), 1, "exactly one agent gets the chatroom");
    let winner = won[0].agent().expect("the winner's agent fields are set");
    assert_eq!(won[0].status, ChatroomStatus::Active);
    let stored = b.repos.chatrooms.get(&a.id, &room.id).await.unwrap().unwrap();
    assert_eq!(stored, won[0], "what the winner was told is what is stored");
    for agent in &agents {
        let held = if agent.id == winner.id { vec![room.id] } else { vec![] };
        assert_eq!(ids(&b.repos.chatrooms.list_for_agent(&a.id, &agent.id).await.unwrap()), held);
        assert_eq!(b.repos.chatrooms.count_for_agent(&a.id, &agent.id).await.unwrap(), held.len() as u64);
    }
    assert!(b.repos.chatrooms.list_waiting(&a.id, 10).await.unwrap().is_empty());
}

async fn a_transition_can_require_the_agent_holding_the_chatroom(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let room = room(&b.repos, &a.id).await;
    let (ada, bob) = (agent("ada"), agent("bob"));
    let c = &b.repos.chatrooms;
    let claimed = claim(&b.repos, &room, &ada).await.unwrap();
    assert!(claimed.updated_at >= room.updated_at);
    assert_eq!(claim(&b.repos, &room, &bob).await, None, "an active chatroom cannot be claimed");

    let until = Timestamp::now().plus(time::Duration::minutes(10));
    let standby = Transition::standby(until);
    let active = [ChatroomStatus::Active];
    assert_eq!(c.transition(&a.id, &room.id, &active, Some(&bob.id), &standby).await.unwrap(), None);
    assert_eq!(c.get(&a.id, &room.id).await.unwrap(), Some(claimed.clone()), "bob changed nothing");
    let waiting = c.transition(&a.id, &room.id, &active, Some(&ada.id), &standby).await.unwrap().unwrap();
    assert_eq!(
        (waiting.status, waiting.standby_until, waiting.agent()),
        (ChatroomStatus::Standby, Some(until), Some(ada.clone()))
    );
    assert_eq!(ids(&c.list_for_agent(&a.id, &ada.id).await.unwrap()), vec![room.id], "standby is still held");

    let resumed = Transition::to(ChatroomStatus::Active);
    let resumed = c.transition(&a.id, &room.id, &[ChatroomStatus::Standby], None, &resumed).await.unwrap().unwrap();
    assert_eq!((resumed.status, resumed.standby_until), (ChatroomStatus::Active, None), "the deadline is cleared");

    // The agent hands the chatroom back to the queue; then bob takes it and closes it.
    let release = Transition { agent: AgentChange::Clear, ..Transition::to(ChatroomStatus::Waiting) };
    let released = c.transition(&a.id, &room.id, &active, Some(&ada.id), &release).await.unwrap().unwrap();
    assert_eq!((released.status, released.agent(), released.agent_id), (ChatroomStatus::Waiting, None, None));
    assert_eq!(c.count_for_agent(&a.id, &ada.id).await.unwrap(), 0);
    claim(&b.repos, &room, &bob).await.unwrap();
    let close = Transition::close(ChatroomStatus::Closed, CloseReason::ClosedByAgent);
    let open = ChatroomStatus::OPEN;
    let closed = c.transition(&a.id, &room.id, &open, Some(&bob.id), &close).await.unwrap().unwrap();
    assert_eq!((closed.status, closed.close_reason), (ChatroomStatus::Closed, Some(CloseReason::ClosedByAgent)));
    assert_eq!(closed.closed_at, Some(closed.updated_at));
    assert_eq!(closed.agent(), Some(bob.clone()), "the agent who closed it stays on record");
    assert_eq!(c.get(&a.id, &room.id).await.unwrap(), Some(closed));
    assert_eq!(c.count_for_agent(&a.id, &bob.id).await.unwrap(), 0, "a closed chatroom is held by nobody");
    assert_eq!(c.transition(&a.id, &room.id, &open, None, &close).await.unwrap(), None, "closed is final");
    assert_eq!(c.transition(&a.id, &room.id, &[], None, &close).await.unwrap(), None);
}

async fn sequence_numbers_count_up_only_while_open(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let room = room(&b.repos, &a.id).await;
    let c = &b.repos.chatrooms;
    for expected in 1..=3 {
        assert_eq!(c.next_seq(&a.id, &room.id).await.unwrap(), Some(expected));
    }
    assert_eq!(c.get(&a.id, &room.id).await.unwrap().unwrap().last_seq, 3);
    let stale = Transition::close(ChatroomStatus::Stale, CloseReason::MarkedStale);
    c.transition(&a.id, &room.id, &ChatroomStatus::OPEN, None, &stale).await.unwrap().unwrap();
    assert_eq!(c.next_seq(&a.id, &room.id).await.unwrap(), None, "a closed chatroom takes no message");
    assert_eq!(c.get(&a.id, &room.id).await.unwrap().unwrap().last_seq, 3);
    assert_eq!(c.next_seq(&a.id, &ChatroomId::new()).await.unwrap(), None);
}

async fn concurrent_writers_lose_no_change(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let room = room(&b.repos, &a.id).await;
    let ada = agent("ada");
    let sends = |n: usize| {
        (0..n).map(|_| {
            let (repos, tenant, id) = (b.repos.clone(), a.id, room.id);
            async move { repos.chatrooms.next_seq(&tenant, &id).await.unwrap().unwrap() }
        })
    };

    // Twenty senders and a claim, all at once on one chatroom.
    let claim = {
        let (repos, tenant, id, claim) = (b.repos.clone(), a.id, room.id, Transition::claim(ada.clone()));
        async move { repos.chatrooms.transition(&tenant, &id, &[ChatroomStatus::Waiting], None, &claim).await.unwrap() }
    };
    let (mut seqs, claimed) = tokio::join!(join_all(sends(20)), claim);
    seqs.sort();
    assert_eq!(seqs, (1..=20).collect::<Vec<u64>>(), "every sender got its own seq");
    assert!(claimed.is_some());
    let stored = b.repos.chatrooms.get(&a.id, &room.id).await.unwrap().unwrap();
    assert_eq!(stored.last_seq, 20, "no increment was lost");
    assert_eq!((stored.status, stored.agent()), (ChatroomStatus::Active, Some(ada.clone())), "the claim was not lost");

    // Then ten more senders, both sides' read marks and the first reply, all at once.
    let reads = (1..=5).map(|n| (SenderKind::Visitor, n)).chain((6..=10).map(|n| (SenderKind::Agent, n)));
    let reads = reads.map(|(reader, up_to)| {
        let (repos, tenant, id) = (b.repos.clone(), a.id, room.id);
        async move { repos.chatrooms.set_read(&tenant, &id, reader, up_to).await.unwrap() }
    });
    let reply = b.repos.chatrooms.set_first_agent_reply(&a.id, &room.id, at(7));
    let (seqs, _, replied) = tokio::join!(join_all(sends(10)), join_all(reads), reply);
    replied.unwrap();
    let mut seqs = seqs;
    seqs.sort();
    assert_eq!(seqs, (21..=30).collect::<Vec<u64>>());
    let stored = b.repos.chatrooms.get(&a.id, &room.id).await.unwrap().unwrap();
    assert_eq!((stored.last_seq, stored.visitor_read_seq, stored.agent_read_seq), (30, 5, 10));
    assert_eq!(stored.first_agent_reply_at, Some(at(7)));
    assert_eq!((stored.status, stored.agent()), (ChatroomStatus::Active, Some(ada)));
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

async fn a_resent_message_is_stored_once(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let room = room(&b.repos, &a.id).await;
    let m = &b.repos.messages;
    let first = visitor_message(&room, 1, "c-1", "Hello, is anyone there?");
    assert_eq!(m.insert(&first).await.unwrap(), Inserted::New);
    let resent = visitor_message(&room, 2, "c-1", "Hello, is anyone there? (resent)");
    assert_eq!(m.insert(&resent).await.unwrap(), Inserted::Duplicate(first.clone()));
    assert_eq!(m.list_after(&a.id, &room.id, 0, 10).await.unwrap(), vec![first.clone()]);
    assert_eq!(m.find_by_client_id(&a.id, &room.id, &first.client_msg_id).await.unwrap(), Some(first.clone()));

    // Ten copies of one message racing: one is stored, each gets that one back.
    let copies: Vec<Message> = (0..10).map(|i| visitor_message(&room, 10 + i, "c-2", &format!("copy {i}"))).collect();
    let inserts = copies.iter().map(|copy| {
        let (repos, copy) = (b.repos.clone(), copy.clone());
        async move { repos.messages.insert(&copy).await.unwrap() }
    });
    let answers = join_all(inserts).await;
    let stored = m.find_by_client_id(&a.id, &room.id, &"c-2".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(answers.iter().filter(|a| **a == Inserted::New).count(), 1);
    assert!(answers.iter().all(|a| *a == Inserted::New || *a == Inserted::Duplicate(stored.clone())), "{answers:?}");
    assert_eq!(m.list_after(&a.id, &room.id, 0, 100).await.unwrap(), vec![first, stored]);

    // System messages never collide with each other.
    let notes = [ClientMsgId::system(), ClientMsgId::system()];
    for (i, id) in notes.iter().enumerate() {
        let note = message(&room, 30 + i as u64, id.as_str(), SenderKind::System, "An agent will join shortly.");
        assert_eq!(m.insert(&note).await.unwrap(), Inserted::New);
    }
}

async fn a_taken_seq_is_a_conflict(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let (room, elsewhere) = (room(&b.repos, &a.id).await, room(&b.repos, &a.id).await);
    let m = &b.repos.messages;
    let first = visitor_message(&room, 1, "c-1", "first");
    m.insert(&first).await.unwrap();
    assert_code(m.insert(&visitor_message(&room, 1, "c-9", "clash")).await, "message_seq_taken");
    assert_eq!(m.list_after(&a.id, &room.id, 0, 10).await.unwrap(), vec![first.clone()], "nothing new stored");
    assert_eq!(m.find_by_client_id(&a.id, &room.id, &"c-9".parse().unwrap()).await.unwrap(), None);
    assert_eq!(
        m.insert(&first).await.unwrap(),
        Inserted::Duplicate(first.clone()),
        "the same message again is a retry"
    );

    // Seqs and client ids are per chatroom.
    let other = visitor_message(&elsewhere, 1, "c-1", "first, elsewhere");
    assert_eq!(m.insert(&other).await.unwrap(), Inserted::New);
}

async fn messages_are_listed_after_a_seq_in_order(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let room = room(&b.repos, &a.id).await;
    let m = &b.repos.messages;
    let mut messages: Vec<Message> = (1..=5).map(|seq| visitor_message(&room, seq, &format!("c{seq}"), "hi")).collect();
    for i in [4, 0, 2, 1, 3] {
        m.insert(&messages[i]).await.unwrap();
    }
    let seqs = |list: Vec<Message>| list.into_iter().map(|m| m.seq).collect::<Vec<_>>();
    assert_eq!(m.list_after(&a.id, &room.id, 0, 10).await.unwrap(), messages);
    assert_eq!(seqs(m.list_after(&a.id, &room.id, 2, 2).await.unwrap()), vec![3, 4]);
    assert!(m.list_after(&a.id, &room.id, 5, 10).await.unwrap().is_empty());
    assert!(m.list_after(&a.id, &room.id, u64::MAX, 10).await.unwrap().is_empty());
    assert!(m.list_after(&a.id, &room.id, 0, 0).await.unwrap().is_empty());
    assert!(m.list_after(&a.id, &ChatroomId::new(), 0, 10).await.unwrap().is_empty());
    let third = messages.swap_remove(2);
    assert_eq!(m.find_by_client_id(&a.id, &room.id, &third.client_msg_id).await.unwrap(), Some(third));
    assert_eq!(m.find_by_client_id(&a.id, &ChatroomId::new(), &"c3".parse().unwrap()).await.unwrap(), None);
}

async fn reading_marks_only_the_other_sides_messages(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let room = room(&b.repos, &a.id).await;
    let m = &b.repos.messages;
    let kinds = [SenderKind::System, SenderKind::Visitor, SenderKind::Agent, SenderKind::Visitor, SenderKind::Agent];
    for (i, kind) in kinds.into_iter().enumerate() {
        m.insert(&message(&room, i as u64 + 1, &format!("c{i}"), kind, "text")).await.unwrap();
    }
    let unread = || async {
        let list = m.list_after(&a.id, &room.id, 0, 10).await.unwrap();
        list.into_iter().filter(|m| !m.read).map(|m| m.seq).collect::<Vec<_>>()
    };

    // The agent reads up to 4: the system message and the visitor's 2 and 4.
    assert_eq!(m.mark_read(&a.id, &room.id, SenderKind::Agent, 4).await.unwrap(), 3);
    assert_eq!(unread().await, vec![3, 5]);
    assert_eq!(m.mark_read(&a.id, &room.id, SenderKind::Agent, 4).await.unwrap(), 0, "nothing left to mark");
    // The visitor reads up to 3: the agent's 3, not the agent's 5.
    assert_eq!(m.mark_read(&a.id, &room.id, SenderKind::Visitor, 3).await.unwrap(), 1);
    assert_eq!(unread().await, vec![5]);
    assert_eq!(m.mark_read(&a.id, &room.id, SenderKind::Visitor, u64::MAX).await.unwrap(), 1);
    assert!(unread().await.is_empty());
}

async fn read_marks_never_go_down_nor_past_the_last_message(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let room = room(&b.repos, &a.id).await;
    let c = &b.repos.chatrooms;
    for _ in 0..5 {
        c.next_seq(&a.id, &room.id).await.unwrap().unwrap();
    }
    let marks = || async {
        let room = c.get(&a.id, &room.id).await.unwrap().unwrap();
        (room.visitor_read_seq, room.agent_read_seq)
    };
    c.set_read(&a.id, &room.id, SenderKind::Visitor, 3).await.unwrap();
    assert_eq!(marks().await, (3, 0));
    c.set_read(&a.id, &room.id, SenderKind::Visitor, 2).await.unwrap();
    assert_eq!(marks().await, (3, 0), "never lowered");
    c.set_read(&a.id, &room.id, SenderKind::Agent, 4).await.unwrap();
    assert_eq!(marks().await, (3, 4));
    c.set_read(&a.id, &room.id, SenderKind::Visitor, u64::MAX).await.unwrap();
    assert_eq!(marks().await, (5, 4), "at most the last message");
    c.set_read(&a.id, &room.id, SenderKind::System, 5).await.unwrap();
    assert_eq!(marks().await, (5, 4));
    c.set_read(&a.id, &ChatroomId::new(), SenderKind::Agent, 1).await.unwrap();
}

async fn the_first_agent_reply_is_recorded_once(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let room = room(&b.repos, &a.id).await;
    let c = &b.repos.chatrooms;
    c.set_first_agent_reply(&a.id, &room.id, at(1_000)).await.unwrap();
    c.set_first_agent_reply(&a.id, &room.id, at(2_000)).await.unwrap();
    let stored = c.get(&a.id, &room.id).await.unwrap().unwrap();
    assert_eq!(stored, Chatroom { first_agent_reply_at: Some(at(1_000)), ..room });
}

async fn overdue_standby_chatrooms_are_swept_earliest_first(b: Backend) {
    let (a, other) = (tenant(&b.repos, "A").await, tenant(&b.repos, "B").await);
    let now = at(100_000);
    let standby = |tenant: &TenantId, until: Timestamp| Chatroom {
        status: ChatroomStatus::Standby,
        standby_until: Some(until),
        ..new_room(tenant, at(0))
    };
    let (later, earliest, on_time) = (standby(&a.id, at(99_000)), standby(&other.id, at(40_000)), standby(&a.id, now));
    let not_yet = standby(&a.id, at(100_001));
    let resumed = Chatroom { status: ChatroomStatus::Active, ..standby(&a.id, at(1_000)) };
    for room in [&later, &not_yet, &earliest, &resumed, &on_time] {
        b.repos.chatrooms.insert(room).await.unwrap();
    }
    let c = &b.repos.chatrooms;
    assert_eq!(ids(&c.list_overdue_standby(now, 10).await.unwrap()), vec![earliest.id, later.id, on_time.id]);
    assert_eq!(ids(&c.list_overdue_standby(now, 1).await.unwrap()), vec![earliest.id]);
    assert!(c.list_overdue_standby(now, 0).await.unwrap().is_empty());
    assert!(c.list_overdue_standby(at(0), 10).await.unwrap().is_empty());

    // The sweep closes one; it is no longer overdue.
    let left = Transition::close(ChatroomStatus::Closed, CloseReason::VisitorLeft);
    c.transition(&other.id, &earliest.id, &[ChatroomStatus::Standby], None, &left).await.unwrap().unwrap();
    assert_eq!(ids(&c.list_overdue_standby(now, 10).await.unwrap()), vec![later.id, on_time.id]);
}

async fn a_transcript_is_requested_only_while_open(b: Backend) {
    let (a, other) = (tenant(&b.repos, "A").await, tenant(&b.repos, "B").await);
    let room = room(&b.repos, &a.id).await;
    let c = &b.repos.chatrooms;
    assert!(c.request_transcript(&other.id, &room.id).await.unwrap().is_none(), "another tenant's");
    let asked = c.request_transcript(&a.id, &room.id).await.unwrap().expect("an open chatroom");
    assert!(asked.transcript_requested);
    assert_eq!(c.get(&a.id, &room.id).await.unwrap().unwrap(), asked);

    let closed = Transition::close(ChatroomStatus::Closed, CloseReason::ClosedByVisitor);
    let closed = c.transition(&a.id, &room.id, &ChatroomStatus::OPEN, None, &closed).await.unwrap().unwrap();
    assert!(closed.transcript_requested, "the request outlives the close that sends it");
    let late = room_in(&b.repos, &a.id, ChatroomStatus::Closed).await;
    assert!(c.request_transcript(&a.id, &late.id).await.unwrap().is_none(), "too late once ended");
}

async fn room_in(repos: &Repos, tenant: &TenantId, status: ChatroomStatus) -> Chatroom {
    let room = Chatroom { status, ..new_room(tenant, Timestamp::now()) };
    repos.chatrooms.insert(&room).await.unwrap();
    room
}

async fn unclaimed_chatrooms_are_alerted_once_per_wait(b: Backend) {
    let (a, other) = (tenant(&b.repos, "A").await, tenant(&b.repos, "B").await);
    let waiting = |tenant: &TenantId, since: i64| Chatroom { updated_at: at(since), ..new_room(tenant, at(since)) };
    let (long, longest, recent) = (waiting(&a.id, 20_000), waiting(&other.id, 10_000), waiting(&a.id, 90_000));
    let held = Chatroom { status: ChatroomStatus::Active, ..waiting(&a.id, 1_000) };
    for room in [&long, &longest, &recent, &held] {
        b.repos.chatrooms.insert(room).await.unwrap();
    }
    let c = &b.repos.chatrooms;
    let cutoff = at(60_000);
    assert_eq!(ids(&c.list_unclaimed(cutoff, 10).await.unwrap()), vec![longest.id, long.id]);
    assert_eq!(ids(&c.list_unclaimed(cutoff, 1).await.unwrap()), vec![longest.id]);
    assert!(c.list_unclaimed(cutoff, 0).await.unwrap().is_empty());

    // Two sweepers race for the same chatroom: one alerts.
    let now = at(61_000);
    let (first, second) =
        tokio::join!(c.mark_unclaimed_alerted(&a.id, &long.id, now), c.mark_unclaimed_alerted(&a.id, &long.id, now));
    let winners = [first.unwrap(), second.unwrap()].into_iter().flatten().collect::<Vec<_>>();
    assert_eq!(winners.len(), 1, "exactly one sweeper alerts");
    assert_eq!(winners[0].unclaimed_alert_at, Some(now));
    assert_eq!(ids(&c.list_unclaimed(cutoff, 10).await.unwrap()), vec![longest.id]);
    assert!(c.mark_unclaimed_alerted(&other.id, &long.id, now).await.unwrap().is_none(), "another tenant's");
    assert!(c.mark_unclaimed_alerted(&a.id, &held.id, now).await.unwrap().is_none(), "not waiting");

    // Claimed, then handed back: it waits again, from now, and is alerted again later.
    let ada = agent("Ada");
    claim(&b.repos, &long, &ada).await.expect("claimed");
    let back = Transition { agent: AgentChange::Clear, ..Transition::to(ChatroomStatus::Waiting) };
    let back = c.transition(&a.id, &long.id, &[ChatroomStatus::Active], None, &back).await.unwrap().unwrap();
    assert_eq!(back.unclaimed_alert_at, None);
    assert!(!ids(&c.list_unclaimed(cutoff, 10).await.unwrap()).contains(&long.id), "waiting since just now");
    assert!(ids(&c.list_unclaimed(Timestamp::now(), 10).await.unwrap()).contains(&long.id));
}

async fn reports_read_chatrooms_and_messages_by_time(b: Backend) {
    let (a, other) = (tenant(&b.repos, "A").await, tenant(&b.repos, "B").await);
    let rooms: Vec<Chatroom> = [at(0), at(1_000), at(2_000), at(2_999)].map(|t| new_room(&a.id, t)).into();
    for room in rooms.iter().rev() {
        b.repos.chatrooms.insert(room).await.unwrap();
    }
    b.repos.chatrooms.insert(&new_room(&other.id, at(1_500))).await.unwrap();
    let between = b.repos.chatrooms.list_created_between(&a.id, at(1_000), at(2_999), 10).await.unwrap();
    assert_eq!(ids(&between), ids(&rooms[1..3]), "from is included, to is not, oldest first");
    let first = b.repos.chatrooms.list_created_between(&a.id, at(0), at(5_000), 2).await.unwrap();
    assert_eq!(ids(&first), ids(&rooms[..2]));

    let mut sent = Vec::new();
    for (seq, (kind, millis)) in
        [(SenderKind::System, 10), (SenderKind::Agent, 30), (SenderKind::Visitor, 20)].into_iter().enumerate()
    {
        let mut message = message(&rooms[0], seq as u64 + 1, &format!("c{seq}"), kind, "secret text");
        message.sent_at = at(millis);
        b.repos.messages.insert(&message).await.unwrap();
        sent.push(message);
    }
    let listed = b.repos.messages.list_sent_between(&a.id, at(10), at(30)).await.unwrap();
    let expected: Vec<SentMessage> = [&sent[0], &sent[2]].into_iter().map(SentMessage::from).collect();
    assert_eq!(listed, expected, "in the order sent, without the text");
    assert!(b.repos.messages.list_sent_between(&other.id, at(0), at(100)).await.unwrap().is_empty());
}

async fn open_chatrooms_and_a_chatbots_last_activity(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let waiting = room(&b.repos, &a.id).await;
    let closed = room(&b.repos, &a.id).await;
    let close = Transition::close(ChatroomStatus::Closed, CloseReason::ClosedByAgent);
    b.repos.chatrooms.transition(&a.id, &closed.id, &ChatroomStatus::OPEN, None, &close).await.unwrap().unwrap();
    assert_eq!(ids(&b.repos.chatrooms.list_open(&a.id, 10).await.unwrap()), [waiting.id]);

    let mut quiet = new_room(&a.id, at(0));
    quiet.chatbot_id = waiting.chatbot_id;
    b.repos.chatrooms.insert(&quiet).await.unwrap();
    let before = b.repos.chatrooms.get(&a.id, &waiting.id).await.unwrap().unwrap().last_activity_at;
    b.repos.chatrooms.next_seq(&a.id, &waiting.id).await.unwrap();
    let after = b.repos.chatrooms.get(&a.id, &waiting.id).await.unwrap().unwrap().last_activity_at;
    assert!(after >= before);
    assert_eq!(b.repos.chatrooms.last_activity(&a.id, &waiting.chatbot_id).await.unwrap(), Some(after));
    assert_eq!(b.repos.chatrooms.last_activity(&a.id, &ChatbotId::new()).await.unwrap(), None);
    let other = tenant(&b.repos, "B").await;
    assert_eq!(b.repos.chatrooms.last_activity(&other.id, &waiting.chatbot_id).await.unwrap(), None);
}

async fn blocks_match_the_email_or_the_ip_for_one_chatbot(b: Backend) {
    let (a, other) = (tenant(&b.repos, "A").await, tenant(&b.repos, "B").await);
    let (chatbot, sibling) = (ChatbotId::new(), ChatbotId::new());
    let (spammer, ip) = (fresh_email("spammer"), "198.51.100.23");
    let block =
        Block::new(a.id, chatbot, ChatroomId::new(), spammer.clone(), ip.into(), UserId::new(), Timestamp::now());
    b.repos.blocks.insert(&block).await.unwrap();
    assert_code(b.repos.blocks.insert(&block).await, "block_exists");

    let blocked = |tenant: TenantId, chatbot: ChatbotId, email: EmailAddress, ip: &'static str| {
        let repos = b.repos.clone();
        async move { repos.blocks.is_blocked(&tenant, &chatbot, &email, ip).await.unwrap() }
    };
    let someone = fresh_email("someone");
    assert!(blocked(a.id, chatbot, spammer.clone(), "192.0.2.1").await, "same email, new address");
    assert!(blocked(a.id, chatbot, someone.clone(), ip).await, "new email, same address");
    assert!(!blocked(a.id, chatbot, someone.clone(), "192.0.2.1").await);
    assert!(!blocked(a.id, sibling, spammer.clone(), ip).await, "another chatbot of the tenant");
    assert!(!blocked(other.id, chatbot, spammer.clone(), ip).await, "another tenant");

    // A block recorded without an address does not block everyone without one.
    let blind =
        Block::new(a.id, chatbot, ChatroomId::new(), fresh_email("x"), String::new(), UserId::new(), Timestamp::now());
    b.repos.blocks.insert(&blind).await.unwrap();
    assert!(!blocked(a.id, chatbot, someone, "").await);
    assert!(blocked(a.id, chatbot, spammer, "").await);
}

/// The stored document uses the blueprint's camelCase names and BSON types (dates, 64-bit
/// integers), so other readers (analytics, a person in a shell) see what docs/architecture.md says.
#[tokio::test]
async fn chat_documents_use_the_blueprint_field_names() {
    let db = TestDatabase::new().await;
    let repos = Repos::mongo(&db.db);
    let a = tenant(&repos, "A").await;
    let room = room(&repos, &a.id).await;
    repos.chatrooms.next_seq(&a.id, &room.id).await.unwrap();
    let left = Transition::close(ChatroomStatus::Closed, CloseReason::VisitorLeft);
    repos.chatrooms.transition(&a.id, &room.id, &ChatroomStatus::OPEN, None, &left).await.unwrap().unwrap();
    let stored = db.db.collection::<Document>("chatrooms").find_one(doc! { "_id": room.id.to_string() }).await;
    let stored = stored.unwrap().unwrap();
    assert_eq!(stored.get("lastSeq"), Some(&Bson::Int64(1)));
    assert_eq!(stored.get_str("status").unwrap(), "closed");
    assert_eq!(stored.get_str("closeReason").unwrap(), "visitor_left");
    assert!(matches!(stored.get("closedAt"), Some(Bson::DateTime(_))));
    assert!(matches!(stored.get("createdAt"), Some(Bson::DateTime(_))));
    assert_eq!(stored.get("agentId"), Some(&Bson::Null));
    let visitor = stored.get_document("visitor").unwrap();
    assert_eq!(visitor.get_str("userAgent").unwrap(), room.visitor.user_agent.as_deref().unwrap());
    assert_eq!(visitor.get_str("pageUrl").unwrap(), room.visitor.page_url.as_deref().unwrap());

    let hello = visitor_message(&room, 1, "c-1", "hello");
    repos.messages.insert(&hello).await.unwrap();
    let stored = db.db.collection::<Document>("messages").find_one(doc! { "_id": hello.id.to_string() }).await;
    let stored = stored.unwrap().unwrap();
    assert_eq!(stored.get("seq"), Some(&Bson::Int64(1)));
    assert_eq!(stored.get_str("clientMsgId").unwrap(), "c-1");
    assert_eq!(stored.get_document("sender").unwrap().get_str("kind").unwrap(), "visitor");
    assert!(matches!(stored.get("sentAt"), Some(Bson::DateTime(_))));
    assert_eq!(
        db.db.collection::<Document>("chatroomWrites").count_documents(doc! {}).await.unwrap(),
        0,
        "no claim left"
    );
}

/// A writer that claimed a chatroom's next revision and died before writing it does not freeze
/// the chatroom: once its claim is stale, the next writer takes it over.
#[tokio::test]
async fn a_dead_writers_claim_does_not_freeze_a_chatroom() {
    let db = TestDatabase::new().await;
    let repos = Repos::mongo(&db.db);
    let a = tenant(&repos, "A").await;
    let room = room(&repos, &a.id).await;
    let writes = db.db.collection::<Document>("chatroomWrites");
    // A new chatroom is at revision 0; the dead writer claimed revision 1 long ago.
    let long_ago = Timestamp::now().plus(time::Duration::minutes(-1));
    writes.insert_one(doc! { "_id": format!("{}:1:0", room.id), "at": long_ago }).await.unwrap();

    assert_eq!(repos.chatrooms.next_seq(&a.id, &room.id).await.unwrap(), Some(1));
    assert_eq!(repos.chatrooms.next_seq(&a.id, &room.id).await.unwrap(), Some(2));
    assert_eq!(writes.count_documents(doc! {}).await.unwrap(), 0, "the stale claim was cleared with the write");
}
