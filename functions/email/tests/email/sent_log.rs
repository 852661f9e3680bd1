//! One contract for both sent-logs: the same checks on MongoDB (the test's own FerretDB
//! database) and in process memory.

use std::time::Duration;

use email::sent_log::{Claim, Key, MemorySentLog, MongoSentLog, SentLog};
use serde_json::json;
use shared::{
    domain::{EventId, TenantId},
    events::Envelope,
    testing::TestDatabase,
};

use crate::support::*;

fn new_event() -> Envelope {
    envelope("chatroom.created", TenantId::new(), json!({"name": "Vera"}))
}

async fn state_of(log: &dyn SentLog, key: &Key) -> (String, u32, Option<String>) {
    let record = log.get(key).await.unwrap().expect("a record");
    (record.state, record.attempts, record.last_error)
}

/// Everything but the lease's expiry.
async fn contract(log: &dyn SentLog) {
    // The first claim is the worker's; any other while it holds is busy.
    let event = new_event();
    let key = Key::new(event.id, "Vera@Example.test");
    assert_eq!(log.claim(&key, &event, Some(EmailKind::Welcome)).await.unwrap(), Claim::Mine);
    assert_eq!(log.claim(&key, &event, Some(EmailKind::Welcome)).await.unwrap(), Claim::Busy);
    let same = Key::new(event.id, "vera@example.test");
    assert_eq!(log.claim(&same, &event, Some(EmailKind::Welcome)).await.unwrap(), Claim::Busy, "case-insensitive");
    let record = log.get(&key).await.unwrap().expect("a record");
    assert_eq!((record.state.as_str(), record.attempts, record.kind.as_str()), ("sending", 0, "welcome"));
    assert_eq!(record.last_error, None);

    // Failed attempts are counted, then it is sent; a redelivery finds it sent.
    log.attempt_failed(&key, 1, "SMTP: connection refused").await.unwrap();
    assert_eq!(state_of(log, &key).await, ("sending".into(), 1, Some("SMTP: connection refused".into())));
    assert_eq!(log.claim(&key, &event, Some(EmailKind::Welcome)).await.unwrap(), Claim::Busy, "the claim holds");
    log.sent(&key, 2, "relay-id-1").await.unwrap();
    assert_eq!(log.claim(&key, &event, Some(EmailKind::Welcome)).await.unwrap(), Claim::Sent);
    assert_eq!(state_of(log, &key).await.0, "sent");
    assert_eq!(state_of(log, &key).await.1, 2);

    // Another recipient of the same event, and the same recipient of another event, are other emails.
    let other = Key::new(event.id, "ann@example.test");
    assert_eq!(log.claim(&other, &event, Some(EmailKind::Welcome)).await.unwrap(), Claim::Mine);
    let next = new_event();
    let next_key = Key::new(next.id, "vera@example.test");
    assert_eq!(log.claim(&next_key, &next, Some(EmailKind::Welcome)).await.unwrap(), Claim::Mine);

    // Given up: a redelivery learns why, until it is on the dead-letter topic.
    log.failed(&other, 3, "the SMTP relay refused: 550").await.unwrap();
    let failed = Claim::Failed { reason: "the SMTP relay refused: 550".into(), attempts: 3 };
    assert_eq!(log.claim(&other, &event, Some(EmailKind::Welcome)).await.unwrap(), failed);
    log.dead_lettered(&other).await.unwrap();
    assert_eq!(log.claim(&other, &event, Some(EmailKind::Welcome)).await.unwrap(), Claim::DeadLettered);
    assert_eq!(
        state_of(log, &other).await,
        ("dead_lettered".into(), 3, Some("the SMTP relay refused: 550".into())),
        "the reason stays"
    );

    // An unusable event's record has no recipient and no kind.
    let malformed = new_event();
    let none = Key::new(malformed.id, "");
    assert_eq!(log.claim(&none, &malformed, None).await.unwrap(), Claim::Mine);
    assert_eq!(log.get(&none).await.unwrap().unwrap().kind, "");

    // Nothing to update is no error, and creates nothing.
    let missing = Key::new(EventId::new(), "nobody@example.test");
    log.sent(&missing, 1, "x").await.unwrap();
    log.failed(&missing, 1, "x").await.unwrap();
    log.dead_lettered(&missing).await.unwrap();
    assert_eq!(log.get(&missing).await.unwrap(), None);

    // Two workers claiming at once: exactly one holds it.
    let raced = new_event();
    let key = Key::new(raced.id, "vera@example.test");
    let (a, b) = tokio::join!(log.claim(&key, &raced, Some(EmailKind::Welcome)), log.claim(&key, &raced, None));
    let mine = [a.unwrap(), b.unwrap()].into_iter().filter(|c| *c == Claim::Mine).count();
    assert_eq!(mine, 1);
}

/// A claim not renewed within the lease is a dead worker's: the next claim takes it over, and
/// counts attempts afresh.
async fn takeover(log: &dyn SentLog) {
    let event = new_event();
    let key = Key::new(event.id, "vera@example.test");
    assert_eq!(log.claim(&key, &event, Some(EmailKind::Welcome)).await.unwrap(), Claim::Mine);
    log.attempt_failed(&key, 1, "SMTP: timeout").await.unwrap();
    eventually(Duration::from_secs(10), "the stale claim to be taken over", || async {
        (log.claim(&key, &event, Some(EmailKind::Welcome)).await.unwrap() == Claim::Mine).then_some(())
    })
    .await;
    assert_eq!(state_of(log, &key).await, ("sending".into(), 0, None));
    assert_eq!(log.claim(&key, &event, Some(EmailKind::Welcome)).await.unwrap(), Claim::Busy, "the new claim holds");
}

/// Long enough for a claim and its checks to pass before it expires, short enough to wait for.
const SHORT_LEASE: time::Duration = time::Duration::seconds(2);

async fn mongo(lease: Option<time::Duration>) -> (TestDatabase, MongoSentLog) {
    let db = TestDatabase::new().await;
    MongoSentLog::ensure_indexes(&db.db).await.unwrap();
    let log = match lease {
        Some(lease) => MongoSentLog::with_lease(&db.db, lease),
        None => MongoSentLog::new(&db.db),
    };
    (db, log)
}

#[tokio::test]
async fn the_memory_sent_log_keeps_the_contract() {
    contract(&MemorySentLog::new()).await;
}

#[tokio::test]
async fn the_mongo_sent_log_keeps_the_contract() {
    let (_db, log) = mongo(None).await;
    contract(&log).await;
}

#[tokio::test]
async fn the_memory_sent_log_takes_a_dead_workers_claim_over() {
    takeover(&MemorySentLog::with_lease(SHORT_LEASE)).await;
}

#[tokio::test]
async fn the_mongo_sent_log_takes_a_dead_workers_claim_over() {
    let (_db, log) = mongo(Some(SHORT_LEASE)).await;
    takeover(&log).await;
}
