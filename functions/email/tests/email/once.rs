//! Each email goes once per (event, recipient), however often the event is delivered.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn the_same_event_delivered_twice_sends_once() {
    let h = harness().await;
    let tenant = h.tenant("Acme", None).await;
    let visitor = unique_email("vera");
    let event = envelope("chatroom.created", tenant.id, created_data(&"Vera", &visitor));
    assert_eq!(h.handle(&event).await.sent(), 1);
    h.mailbox.wait_for(&visitor).await;

    let again = h.handle(&event).await;
    let Outcome::Emails(again) = again else { panic!("{again:?}") };
    assert_eq!(again[0].2, Delivery::AlreadySent);

    // A second event for the same visitor is another email.
    let next = envelope("chatroom.created", tenant.id, created_data(&"Vera", &visitor));
    h.handle(&next).await;
    let mails = h.mailbox.wait_for_count(&visitor, 2).await;
    assert_eq!(mails.len(), 2, "one per event: {:?}", mails.iter().map(|m| &m.id).collect::<Vec<_>>());
}

#[tokio::test]
async fn two_workers_handling_one_event_at_once_send_once() {
    let h = harness().await;
    let tenant = h.tenant("Acme", None).await;
    let visitor = unique_email("vera");
    let event = envelope("chatroom.created", tenant.id, created_data(&"Vera", &visitor));
    let (a, b) = tokio::join!(handle(&h.state, &event), handle(&h.state, &event));
    let sent = [&a, &b].iter().filter(|r| matches!(r, Ok(o) if o.sent() == 1)).count();
    assert_eq!(sent, 1, "{a:?} {b:?}");
    // The other one was told to come back later (its event is redelivered), or saw it sent.
    for result in [a, b] {
        match result {
            Ok(_) | Err(email::HandleError::Busy) => {}
            Err(err) => panic!("unexpected: {err}"),
        }
    }
    let redelivered = eventually(std::time::Duration::from_secs(10), "the redelivery to find it sent", || async {
        handle(&h.state, &event).await.ok()
    })
    .await;
    let Outcome::Emails(redelivered) = redelivered else { panic!() };
    assert_eq!(redelivered[0].2, Delivery::AlreadySent);
    h.mailbox.wait_for(&visitor).await;
    assert_eq!(h.mailbox.to(&visitor).await.len(), 1);
}

#[tokio::test]
async fn events_that_send_nothing_leave_no_trace() {
    let h = harness().await;
    let tenant = h.tenant("Acme", None).await;
    for kind in ["message.sent", "chatroom.assigned", "tenant.updated", "something.new"] {
        let outcome = h.handle(&envelope(kind, tenant.id, json!({"chatroomId": "x"}))).await;
        assert!(matches!(outcome, Outcome::Ignored(_)), "{kind}: {outcome:?}");
    }
}
