//! Messages: stored once per clientMsgId, seq conflicts, listing after a seq, read marks.

use futures::future::join_all;
use mongodb::bson::{Bson, Document, doc};
use shared::{
    domain::{ChatroomId, ClientMsgId, Message, SenderKind},
    repos::{Inserted, Repos},
    testing::TestDatabase,
};

use super::{Backend, assert_code, message, room, tenant, visitor_message};

contract!(
    a_resent_message_is_stored_once,
    a_taken_seq_is_a_conflict,
    a_batch_answers_each_message_alone,
    messages_are_listed_after_a_seq_in_order,
    reading_marks_only_the_other_sides_messages,
);

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

async fn a_batch_answers_each_message_alone(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let (room, elsewhere) = (room(&b.repos, &a.id).await, room(&b.repos, &a.id).await);
    let m = &b.repos.messages;
    let first = visitor_message(&room, 1, "c-1", "first");
    m.insert(&first).await.unwrap();

    // All new, over two chatrooms: all stored.
    let fresh = vec![
        visitor_message(&room, 2, "c-2", "second"),
        visitor_message(&elsewhere, 1, "c-1", "elsewhere"),
        visitor_message(&room, 3, "c-3", "third"),
    ];
    let answers = m.insert_many(&fresh).await;
    assert!(answers.iter().all(|a| matches!(a, Ok(Inserted::New))), "{answers:?}");

    // A retry and a taken seq amid new ones: those two are refused, each as alone; the rest is stored.
    let mixed = vec![
        visitor_message(&room, 4, "c-4", "fourth"),
        visitor_message(&room, 5, "c-1", "first, resent"),
        visitor_message(&room, 3, "c-6", "a taken seq"),
        visitor_message(&elsewhere, 2, "c-2", "elsewhere again"),
    ];
    let mut answers = m.insert_many(&mixed).await.into_iter();
    assert_eq!(answers.next().unwrap().unwrap(), Inserted::New);
    assert_eq!(answers.next().unwrap().unwrap(), Inserted::Duplicate(first.clone()));
    assert_code(answers.next().unwrap(), "message_seq_taken");
    assert_eq!(answers.next().unwrap().unwrap(), Inserted::New);

    let seqs = |list: Vec<Message>| list.into_iter().map(|m| (m.seq, m.message)).collect::<Vec<_>>();
    let here = seqs(m.list_after(&a.id, &room.id, 0, 10).await.unwrap());
    let words = ["first", "second", "third", "fourth"];
    assert_eq!(here, words.iter().enumerate().map(|(i, w)| (i as u64 + 1, w.to_string())).collect::<Vec<_>>());
    assert_eq!(seqs(m.list_after(&a.id, &elsewhere.id, 0, 10).await.unwrap()).len(), 2);
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
    // Where a chatroom's numbering goes on when its counter was lost: its highest stored seq.
    assert_eq!(m.highest_seq(&a.id, &room.id).await.unwrap(), 5);
    assert_eq!(m.highest_seq(&a.id, &ChatroomId::new()).await.unwrap(), 0);
    let other = tenant(&b.repos, "B").await;
    assert_eq!(m.highest_seq(&other.id, &room.id).await.unwrap(), 0, "another tenant's chatroom shows nothing");
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

/// The stored message uses the blueprint's camelCase names and BSON types, like the chatroom.
#[tokio::test]
async fn a_message_document_uses_the_blueprint_field_names() {
    let db = TestDatabase::new().await;
    let repos = Repos::mongo(&db.db);
    let a = tenant(&repos, "A").await;
    let room = room(&repos, &a.id).await;
    let hello = visitor_message(&room, 1, "c-1", "hello");
    repos.messages.insert(&hello).await.unwrap();
    let stored = db.db.collection::<Document>("messages").find_one(doc! { "_id": hello.id.to_string() }).await;
    let stored = stored.unwrap().unwrap();
    assert_eq!(stored.get("seq"), Some(&Bson::Int64(1)));
    assert_eq!(stored.get_str("clientMsgId").unwrap(), "c-1");
    assert_eq!(stored.get_document("sender").unwrap().get_str("kind").unwrap(), "visitor");
    assert!(matches!(stored.get("sentAt"), Some(Bson::DateTime(_))));
}
