//! Chatrooms: the queue, claims, sequence numbers, read marks, standby, transcripts, unclaimed
//! alerts; the compare-and-set under concurrent writers and after a dead writer.

use futures::future::join_all;
use mongodb::bson::{Bson, Document, doc};
use shared::{
    domain::{
        AgentChange, AssignedAgent, ChatbotId, Chatroom, ChatroomId, ChatroomStatus, CloseReason, Offer, SenderKind,
        TenantId, Timestamp, Transition,
    },
    repos::Repos,
    testing::TestDatabase,
};

use super::{Backend, agent, assert_code, at, claim, ids, new_room, room, tenant, visitor_message};

contract!(
    a_chatroom_is_stored_and_read_back_whole,
    chatrooms_are_scoped_to_their_tenant,
    the_queue_lists_waiting_chatrooms_oldest_first,
    the_open_list_holds_waiting_active_and_standby_chatrooms_oldest_first,
    exactly_one_of_many_agents_claims_a_waiting_chatroom,
    a_transition_can_require_the_agent_holding_the_chatroom,
    concurrent_writers_lose_no_change,
    read_marks_never_go_down_nor_past_the_last_message,
    the_first_agent_reply_is_recorded_once,
    overdue_standby_chatrooms_are_swept_earliest_first,
    a_transcript_is_requested_only_while_open,
    the_last_seq_written_behind_only_moves_up,
    unclaimed_chatrooms_are_alerted_once_per_wait,
    an_offer_changes_only_from_the_offer_expected_and_never_moves_the_wait,
    a_returning_visitor_s_last_agent_and_the_recent_assignments_are_found,
);

async fn room_in(repos: &Repos, tenant: &TenantId, status: ChatroomStatus) -> Chatroom {
    let room = Chatroom { status, ..new_room(tenant, Timestamp::now()) };
    repos.chatrooms.insert(&room).await.unwrap();
    room
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
    assert!(c.list_with_status(&other.id, &[ChatroomStatus::Waiting], 10).await.unwrap().is_empty());
    assert!(c.list_for_agent(&other.id, &ada.id).await.unwrap().is_empty());
    assert_eq!(c.count_for_agent(&other.id, &ada.id).await.unwrap(), 0);
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
    assert_eq!(
        ids(&c.list_with_status(&a.id, &[ChatroomStatus::Waiting], 10).await.unwrap()),
        vec![first.id, second.id, third.id]
    );
    assert_eq!(
        ids(&c.list_with_status(&a.id, &[ChatroomStatus::Waiting], 2).await.unwrap()),
        vec![first.id, second.id]
    );
    assert!(c.list_with_status(&a.id, &[ChatroomStatus::Waiting], 0).await.unwrap().is_empty());
}

async fn the_open_list_holds_waiting_active_and_standby_chatrooms_oldest_first(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let other = tenant(&b.repos, "B").await;
    let held = new_room(&a.id, at(20));
    let standby = Chatroom { status: ChatroomStatus::Standby, standby_until: Some(at(100)), ..new_room(&a.id, at(30)) };
    let waiting = new_room(&a.id, at(10));
    let closed = Chatroom { status: ChatroomStatus::Closed, ..new_room(&a.id, at(0)) };
    let blocked = Chatroom { status: ChatroomStatus::Blocked, ..new_room(&a.id, at(1)) };
    for room in [&held, &standby, &waiting, &closed, &blocked, &new_room(&other.id, at(5))] {
        b.repos.chatrooms.insert(room).await.unwrap();
    }
    claim(&b.repos, &held, &agent("ada")).await.unwrap();

    let c = &b.repos.chatrooms;
    let open = c.list_with_status(&a.id, &ChatroomStatus::OPEN, 10).await.unwrap();
    assert_eq!(ids(&open), vec![waiting.id, held.id, standby.id]);
    assert_eq!(open[1].status, ChatroomStatus::Active);
    assert_eq!(ids(&c.list_with_status(&a.id, &ChatroomStatus::OPEN, 1).await.unwrap()), vec![waiting.id]);
    assert!(c.list_with_status(&a.id, &[], 10).await.unwrap().is_empty());
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
    assert!(b.repos.chatrooms.list_with_status(&a.id, &[ChatroomStatus::Waiting], 10).await.unwrap().is_empty());
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
    assert_eq!(closed.displaced, [bob.id], "the change names whose seat it frees");
    assert_eq!(released.displaced, [ada.id]);
    let stored = Chatroom { displaced: Vec::new(), ..closed };
    assert_eq!(c.get(&a.id, &room.id).await.unwrap(), Some(stored), "what a change frees is not stored");
    assert_eq!(c.count_for_agent(&a.id, &bob.id).await.unwrap(), 0, "a closed chatroom is held by nobody");
    assert_eq!(c.transition(&a.id, &room.id, &open, None, &close).await.unwrap(), None, "closed is final");
    assert_eq!(c.transition(&a.id, &room.id, &[], None, &close).await.unwrap(), None);
}

async fn concurrent_writers_lose_no_change(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let room = room(&b.repos, &a.id).await;
    let ada = agent("ada");
    // Each message's seq written behind it, in any order, as the nodes' writers do.
    let raises = |seqs: std::ops::RangeInclusive<u64>| {
        seqs.map(|seq| {
            let (repos, tenant, id) = (b.repos.clone(), a.id, room.id);
            async move { repos.chatrooms.raise_last_seq(&tenant, &id, seq, at(seq as i64)).await.unwrap() }
        })
    };

    // Twenty raises and a claim, all at once on one chatroom.
    let claim = {
        let (repos, tenant, id, claim) = (b.repos.clone(), a.id, room.id, Transition::claim(ada.clone()));
        async move { repos.chatrooms.transition(&tenant, &id, &[ChatroomStatus::Waiting], None, &claim).await.unwrap() }
    };
    let (_, claimed) = tokio::join!(join_all(raises(1..=20)), claim);
    assert!(claimed.is_some());
    let stored = b.repos.chatrooms.get(&a.id, &room.id).await.unwrap().unwrap();
    assert_eq!(stored.last_seq, 20, "the highest seq stands, whatever the order");
    assert_eq!((stored.status, stored.agent()), (ChatroomStatus::Active, Some(ada.clone())), "the claim was not lost");

    // Then ten more raises, both sides' read marks and the first reply, all at once.
    let reads = (1..=5).map(|n| (SenderKind::Visitor, n)).chain((6..=10).map(|n| (SenderKind::Agent, n)));
    let reads = reads.map(|(reader, up_to)| {
        let (repos, tenant, id) = (b.repos.clone(), a.id, room.id);
        async move { repos.chatrooms.set_read(&tenant, &id, reader, up_to).await.unwrap() }
    });
    let reply = b.repos.chatrooms.set_first_agent_reply(&a.id, &room.id, at(7));
    let (_, _, replied) = tokio::join!(join_all(raises(21..=30)), join_all(reads), reply);
    replied.unwrap();
    let stored = b.repos.chatrooms.get(&a.id, &room.id).await.unwrap().unwrap();
    assert_eq!((stored.last_seq, stored.visitor_read_seq, stored.agent_read_seq), (30, 5, 10));
    assert_eq!(stored.first_agent_reply_at, Some(at(7)));
    assert_eq!((stored.status, stored.agent()), (ChatroomStatus::Active, Some(ada)));
}

async fn read_marks_never_go_down_nor_past_the_last_message(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let room = room(&b.repos, &a.id).await;
    let c = &b.repos.chatrooms;
    c.raise_last_seq(&a.id, &room.id, 5, Timestamp::now()).await.unwrap();
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

/// The stored chatroom uses the blueprint's camelCase names and BSON types (dates, 64-bit
/// integers), so other readers (analytics, a person in a shell) see what docs/architecture.md says.
#[tokio::test]
async fn a_chatroom_document_uses_the_blueprint_field_names() {
    let db = TestDatabase::new().await;
    let repos = Repos::mongo(&db.db);
    let a = tenant(&repos, "A").await;
    let room = room(&repos, &a.id).await;
    repos.chatrooms.raise_last_seq(&a.id, &room.id, 1, Timestamp::now()).await.unwrap();
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

    repos.chatrooms.raise_last_seq(&a.id, &room.id, 1, Timestamp::now()).await.unwrap();
    repos.chatrooms.raise_last_seq(&a.id, &room.id, 2, Timestamp::now()).await.unwrap();
    assert_eq!(repos.chatrooms.get(&a.id, &room.id).await.unwrap().unwrap().last_seq, 2);
    assert_eq!(writes.count_documents(doc! {}).await.unwrap(), 0, "the stale claim was cleared with the write");
}

async fn the_last_seq_written_behind_only_moves_up(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let other = tenant(&b.repos, "B").await;
    let room = new_room(&a.id, at(10));
    b.repos.chatrooms.insert(&room).await.unwrap();
    let c = &b.repos.chatrooms;
    c.raise_last_seq(&a.id, &room.id, 7, at(100)).await.unwrap();
    let raised = c.get(&a.id, &room.id).await.unwrap().unwrap();
    assert_eq!((raised.last_seq, raised.last_activity_at), (7, at(100)));
    // A late flush of an older seq, or another tenant's, changes nothing.
    c.raise_last_seq(&a.id, &room.id, 5, at(200)).await.unwrap();
    c.raise_last_seq(&other.id, &room.id, 50, at(300)).await.unwrap();
    assert_eq!(c.get(&a.id, &room.id).await.unwrap().unwrap(), raised);
    c.raise_last_seq(&a.id, &room.id, 9, at(50)).await.unwrap();
    let later = c.get(&a.id, &room.id).await.unwrap().unwrap();
    assert_eq!((later.last_seq, later.last_activity_at), (9, at(100)), "activity never goes back in time");
}

async fn an_offer_changes_only_from_the_offer_expected_and_never_moves_the_wait(b: Backend) {
    let (c, a) = (&b.repos.chatrooms, tenant(&b.repos, "A").await);
    let room = room(&b.repos, &a.id).await;
    let (ada, bob) = (agent("Ada"), agent("Bob"));
    let to = |agent: &AssignedAgent| Offer { agent_id: agent.id, agent_name: agent.name.clone(), until: at(60_000) };
    let offered = c.change_offer(&a.id, &room.id, None, Some(&to(&ada)), None).await.unwrap().unwrap();
    assert_eq!(offered.offer, Some(to(&ada)));
    assert_eq!(offered.waiting_since(), room.waiting_since(), "an offer leaves the start of the wait");
    // Of two nodes offering it at once, the second expected no offer: refused.
    assert_eq!(c.change_offer(&a.id, &room.id, None, Some(&to(&bob)), None).await.unwrap(), None);
    let passed = c.change_offer(&a.id, &room.id, Some(&to(&ada)), None, Some(&ada.id)).await.unwrap().unwrap();
    assert_eq!((passed.offer, passed.passed_by.clone()), (None, vec![ada.id]));
    let stored = c.get(&a.id, &room.id).await.unwrap().unwrap();
    assert_eq!((stored.offer, stored.passed_by), (None, vec![ada.id]));
    // Taken: the offer and who passed it by end with the wait; nothing waiting takes an offer.
    c.change_offer(&a.id, &room.id, None, Some(&to(&bob)), None).await.unwrap().unwrap();
    let taken = claim(&b.repos, &room, &bob).await.unwrap();
    assert_eq!((taken.offer, taken.passed_by.is_empty(), taken.displaced), (None, true, vec![bob.id]));
    assert_eq!(c.change_offer(&a.id, &room.id, None, Some(&to(&ada)), None).await.unwrap(), None);
    let other = tenant(&b.repos, "B").await;
    assert_eq!(c.change_offer(&other.id, &room.id, None, None, None).await.unwrap(), None, "another tenant's");
}

async fn a_returning_visitor_s_last_agent_and_the_recent_assignments_are_found(b: Backend) {
    let (c, a) = (&b.repos.chatrooms, tenant(&b.repos, "A").await);
    let (ada, bob) = (agent("Ada"), agent("Bob"));
    let first = new_room(&a.id, at(0));
    let (chatbot, email) = (first.chatbot_id, first.email.clone());
    assert_eq!(c.last_agent_for(&a.id, &chatbot, &email).await.unwrap(), None, "never helped");
    c.insert(&first).await.unwrap();
    claim(&b.repos, &first, &ada).await.unwrap();
    let second = Chatroom { id: ChatroomId::new(), created_at: at(1_000), ..first.clone() };
    c.insert(&second).await.unwrap();
    assert_eq!(c.last_agent_for(&a.id, &chatbot, &email).await.unwrap(), Some(ada.id), "the latest one an agent held");
    claim(&b.repos, &second, &bob).await.unwrap();
    assert_eq!(c.last_agent_for(&a.id, &chatbot, &email).await.unwrap(), Some(bob.id));
    assert_eq!(c.last_agent_for(&a.id, &ChatbotId::new(), &email).await.unwrap(), None, "another chatbot");

    let assigned = c.list_assigned_since(&a.id, Timestamp::now().minus_std(std::time::Duration::from_secs(60)), 10);
    let assigned = assigned.await.unwrap();
    assert_eq!(ids(&assigned), [second.id, first.id], "latest taken first");
    assert!(assigned.iter().all(|room| room.assigned_at.is_some()));
    let limited = c.list_assigned_since(&a.id, at(0), 1).await.unwrap();
    assert_eq!(ids(&limited), [second.id]);
    assert!(
        c.list_assigned_since(&a.id, Timestamp::now().plus_std(std::time::Duration::from_secs(60)), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
