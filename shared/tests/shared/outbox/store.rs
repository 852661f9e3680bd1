//! One contract, two outbox stores: every test below runs against the in-memory outbox and
//! against MongoDB-wire (FerretDB in `scripts/test`, or the server `MONGODB_URL` names).

use std::{collections::HashSet, sync::Arc, time::Duration};

use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use shared::{
    domain::TenantId,
    events::{MemoryOutbox, OutboxStore, OutgoingEvent},
    testing::{TestDatabase, eventually},
};

use super::{event, mongo_outbox};

struct Backend {
    store: Arc<dyn OutboxStore>,
    /// Keeps the test database alive until the test ends, then drops it.
    db: Option<TestDatabase>,
}

async fn memory() -> Backend {
    Backend { store: Arc::new(MemoryOutbox::default()), db: None }
}

async fn mongo() -> Backend {
    let (db, store) = mongo_outbox().await;
    Backend { store, db: Some(db) }
}

/// Runs each listed contract test once per backend: `memory::<name>` and `mongo::<name>`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $( #[tokio::test] async fn $name() { super::$name(super::memory().await).await } )*
        }
        mod mongo {
            $( #[tokio::test] async fn $name() { super::$name(super::mongo().await).await } )*
        }
    };
}

contract!(
    entries_come_back_whole_and_oldest_first,
    removed_entries_are_gone,
    the_lease_has_one_holder_at_a_time,
    of_many_holders_racing_for_the_lease_one_gets_it,
    an_expired_lease_can_be_taken_over,
    a_holder_that_keeps_renewing_keeps_the_lease,
    an_event_stored_late_goes_out_in_the_order_it_happened,
);

/// An event that waited out a broker timeout on one node is stored after events that happened
/// later on another: the outbox hands them back in the order they happened (UUID v7 event ids).
async fn an_event_stored_late_goes_out_in_the_order_it_happened(b: Backend) {
    let tenant = TenantId::new();
    let earlier = event(tenant, "room-a", 1);
    let later = event(tenant, "room-a", 2);
    assert!(earlier.envelope.id.to_string() < later.envelope.id.to_string());
    b.store.push(std::slice::from_ref(&later)).await.unwrap();
    b.store.push(std::slice::from_ref(&earlier)).await.unwrap();
    let read: Vec<OutgoingEvent> =
        b.store.oldest(10).await.unwrap().into_iter().map(|e| e.event.expect("readable")).collect();
    assert_eq!(read, [earlier, later]);
}

async fn entries_come_back_whole_and_oldest_first(b: Backend) {
    assert!(b.store.is_empty().await.unwrap());
    assert_eq!(b.store.count().await.unwrap(), 0);
    assert!(b.store.oldest(10).await.unwrap().is_empty());

    let tenant = TenantId::new();
    let first = shared::testing::raw_event(
        shared::events::Topic::Tenants,
        "chatbot.updated",
        tenant,
        tenant,
        serde_json::json!({ "name": "Ünïcødé ✓", "big": u64::MAX, "float": 1.5, "nested": { "list": [1, null, "x"] } }),
    );
    b.store.push(std::slice::from_ref(&first)).await.unwrap();
    let batch: Vec<OutgoingEvent> = (0..5).map(|n| event(tenant, "room-a", n)).collect();
    b.store.push(&batch).await.unwrap();
    b.store.push(&[]).await.unwrap();
    let last = event(tenant, "room-b", 0);
    b.store.push(std::slice::from_ref(&last)).await.unwrap();

    let mut sent = vec![first];
    sent.extend(batch);
    sent.push(last);
    assert_eq!(b.store.count().await.unwrap(), 7);
    assert!(!b.store.is_empty().await.unwrap());
    let entries = b.store.oldest(100).await.unwrap();
    let read: Vec<OutgoingEvent> = entries.iter().map(|e| e.event.clone().expect("readable")).collect();
    assert_eq!(read, sent, "every event whole (topic, key, envelope), in the order pushed");
    assert!(entries.windows(2).all(|w| w[0].id < w[1].id), "ids grow with the order");
    let two = b.store.oldest(2).await.unwrap();
    assert_eq!(two, entries[..2].to_vec(), "a limit takes the oldest");
}

async fn removed_entries_are_gone(b: Backend) {
    let tenant = TenantId::new();
    let sent: Vec<OutgoingEvent> = (0..4).map(|n| event(tenant, "room-a", n)).collect();
    b.store.push(&sent).await.unwrap();
    let entries = b.store.oldest(10).await.unwrap();

    // An id that is not there is ignored.
    let gone = mongodb::bson::oid::ObjectId::new();
    b.store.remove(&[entries[0].id, entries[1].id, gone]).await.unwrap();
    b.store.remove(&[]).await.unwrap();
    let left = b.store.oldest(10).await.unwrap();
    assert_eq!(left, entries[2..].to_vec());
    assert_eq!(b.store.count().await.unwrap(), 2);

    b.store.remove(&[entries[2].id, entries[3].id]).await.unwrap();
    assert!(b.store.is_empty().await.unwrap());
    assert_eq!(b.store.count().await.unwrap(), 0);
}

const TTL: Duration = Duration::from_secs(30);

async fn the_lease_has_one_holder_at_a_time(b: Backend) {
    let s = &b.store;
    assert!(s.acquire_lease("a", TTL).await.unwrap());
    assert!(!s.acquire_lease("b", TTL).await.unwrap(), "a holds it");
    assert!(s.acquire_lease("a", TTL).await.unwrap(), "a keeps it");
    s.release_lease("b").await.unwrap();
    assert!(!s.acquire_lease("b", TTL).await.unwrap(), "only the holder gives it up");

    s.release_lease("a").await.unwrap();
    assert!(s.acquire_lease("b", TTL).await.unwrap(), "given up, it is anyone's");
    assert!(!s.acquire_lease("a", TTL).await.unwrap(), "now b holds it");
    s.release_lease("b").await.unwrap();
    assert!(s.acquire_lease("a", TTL).await.unwrap(), "a former holder can take it again");
}

async fn of_many_holders_racing_for_the_lease_one_gets_it(b: Backend) {
    for round in 0..5 {
        let holders: Vec<String> = (0..8).map(|n| format!("holder-{round}-{n}")).collect();
        let won = futures::future::join_all(holders.iter().map(|h| b.store.acquire_lease(h, TTL))).await;
        let winners: Vec<&String> =
            holders.iter().zip(&won).filter(|(_, won)| *won.as_ref().unwrap()).map(|(h, _)| h).collect();
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        b.store.release_lease(winners[0]).await.unwrap();
    }
}

async fn an_expired_lease_can_be_taken_over(b: Backend) {
    let short = Duration::from_millis(300);
    assert!(b.store.acquire_lease("a", short).await.unwrap());
    assert!(!b.store.acquire_lease("b", TTL).await.unwrap());
    // a stops renewing (say it died): once its term runs out, b takes over.
    eventually(Duration::from_secs(5), "b to take over the expired lease", || async {
        b.store.acquire_lease("b", TTL).await.unwrap().then_some(())
    })
    .await;
    assert!(!b.store.acquire_lease("a", TTL).await.unwrap(), "a lost it");
}

async fn a_holder_that_keeps_renewing_keeps_the_lease(b: Backend) {
    let short = Duration::from_millis(400);
    assert!(b.store.acquire_lease("a", short).await.unwrap());
    // For several of its terms, a renews every 50 ms (as a relay does before every batch) and b
    // never gets in.
    let until = tokio::time::Instant::now() + short * 4;
    while tokio::time::Instant::now() < until {
        assert!(b.store.acquire_lease("a", short).await.unwrap(), "a keeps its lease");
        assert!(!b.store.acquire_lease("b", short).await.unwrap(), "b never gets it while a renews");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if let Some(db) = &b.db {
        // Renewals do not pile up: old terms are cleaned away.
        let terms = db.db.collection::<Document>("locks").count_documents(doc! {}).await.unwrap();
        assert!(terms <= 2, "{terms} lease documents");
    }
}

/// What MongoDB holds for an entry: the event and when it arrived, nothing else.
#[tokio::test]
async fn a_mongodb_entry_holds_the_envelope_and_no_more() {
    let (db, store) = mongo_outbox().await;
    let tenant = TenantId::new();
    let sent = event(tenant, "room-a", 7);
    store.push(std::slice::from_ref(&sent)).await.unwrap();

    let docs: Vec<Document> =
        db.db.collection::<Document>("outbox").find(doc! {}).await.unwrap().try_collect().await.unwrap();
    assert_eq!(docs.len(), 1);
    let entry = &docs[0];
    let fields: HashSet<&str> = entry.keys().map(String::as_str).collect();
    assert_eq!(fields, HashSet::from(["_id", "eventId", "topic", "key", "envelope", "createdAt"]));
    assert!(entry.get_object_id("_id").is_ok());
    assert!(entry.get_datetime("createdAt").is_ok());
    assert_eq!(entry.get_str("eventId").unwrap(), sent.envelope.id.to_string());
    assert_eq!(entry.get_str("topic").unwrap(), "messages");
    assert_eq!(entry.get_str("key").unwrap(), "room-a");
    let envelope: serde_json::Value = serde_json::from_str(entry.get_str("envelope").unwrap()).unwrap();
    assert_eq!(envelope, serde_json::to_value(&sent.envelope).unwrap(), "the envelope as Kafka would get it");
}

/// An entry this version cannot read (a topic it does not know, written by a newer Parley, or a
/// hand edit) comes back as unreadable rather than failing the whole read.
#[tokio::test]
async fn an_unreadable_mongodb_entry_does_not_hide_the_others() {
    let (db, store) = mongo_outbox().await;
    let tenant = TenantId::new();
    let good = event(tenant, "room-a", 1);
    db.db
        .collection::<Document>("outbox")
        .insert_one(doc! {
            "_id": mongodb::bson::oid::ObjectId::new(), "eventId": "00000000-0000-7000-8000-000000000000", "topic": "agents", "key": "k",
            "envelope": "{}", "createdAt": mongodb::bson::DateTime::now(),
        })
        .await
        .unwrap();
    store.push(std::slice::from_ref(&good)).await.unwrap();
    let entries = store.oldest(10).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries[0].event.as_ref().unwrap_err().contains("agents"), "{:?}", entries[0].event);
    assert_eq!(entries[1].event.as_ref().unwrap(), &good);
}
