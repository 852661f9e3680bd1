//! What cannot be sent is retried, then put on the dead-letter topic with its reason and event:
//! nothing is dropped silently, and nothing is sent twice.

use std::sync::Arc;

use email::{
    config::{SmtpConfig, SmtpTls},
    sent_log::Key,
    transport::SmtpTransport,
};

use shared::testing::{PrivateMailpit, closed_port};

use crate::support::*;

fn smtp_on(port: u16) -> Arc<SmtpTransport> {
    let config = SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        credentials: None,
        timeout: std::time::Duration::from_secs(5),
    };
    Arc::new(SmtpTransport::new(&config).expect("an SMTP transport"))
}

#[tokio::test]
async fn smtp_down_is_retried_then_dead_lettered_with_the_event() {
    let h = harness().await;
    let state = AppState { transport: smtp_on(closed_port()), ..h.state.clone() };
    let tenant = h.tenant("Acme", None).await;
    let visitor = unique_email("vera");
    let event = envelope("chatroom.created", tenant.id, created_data(&"Vera", &visitor));
    let outcome = handle(&state, &event).await.expect("handled: the email went to the dead-letter topic");
    let Outcome::Emails(emails) = outcome else { panic!("{outcome:?}") };
    let Delivery::DeadLettered { reason } = &emails[0].2 else { panic!("{emails:?}") };
    assert!(reason.starts_with("gave up after 3 attempts: SMTP"), "{reason}");

    let record = h.state.sent_log.get(&Key::new(event.id, &visitor)).await.unwrap().expect("a sent-log record");
    assert_eq!((record.state.as_str(), record.attempts, record.kind.as_str()), ("dead_lettered", 3, "welcome"));

    let entry = eventually(shared::testing::EVENT_TIMEOUT, "the dead-letter entry", || async {
        h.dead_letters_of(event.id).into_iter().next()
    })
    .await;
    assert_eq!(entry["data"]["recipient"], visitor);
    assert_eq!(entry["data"]["kind"], "welcome");
    assert_eq!(entry["data"]["attempts"], 3);
    assert_eq!(entry["data"]["reason"], reason.as_str());
    assert_eq!(entry["data"]["event"], serde_json::to_value(&event).unwrap(), "the whole event, to send again");
    assert_eq!(h.dlq.key_of(entry["id"].as_str().unwrap()), Some(event.id.to_string()));

    // Delivered again (SMTP still down): nothing new is tried or dead-lettered.
    let again = handle(&state, &event).await.unwrap();
    assert!(matches!(&again, Outcome::Emails(e) if matches!(e[0].2, Delivery::DeadLettered { .. })), "{again:?}");
    h.dlq.caught_up().await;
    assert_eq!(h.dead_letters_of(event.id).len(), 1);
    assert!(h.mailbox.to(&visitor).await.is_empty());
}

#[tokio::test]
async fn an_smtp_server_back_within_the_retries_gets_the_email_once() {
    let h = harness_with(&[("PARLEY_EMAIL_ATTEMPTS", "50".into()), ("PARLEY_EMAIL_RETRY_MS", "50".into())]).await;
    let mut server = PrivateMailpit::reserve();
    let state = AppState { transport: smtp_on(server.smtp_port), ..h.state.clone() };
    let tenant = h.tenant("Acme", None).await;
    let visitor = unique_email("vera");
    let event = envelope("chatroom.created", tenant.id, created_data(&"Vera", &visitor));
    let handling = tokio::spawn({
        let (state, event) = (state.clone(), event.clone());
        async move { handle(&state, &event).await }
    });
    // The first attempt failed (the sent-log says so); now the server comes up.
    let key = Key::new(event.id, &visitor);
    eventually(std::time::Duration::from_secs(20), "a failed attempt", || async {
        h.state.sent_log.get(&key).await.unwrap().filter(|r| r.attempts >= 1)
    })
    .await;
    let mailbox = server.start().await;
    let outcome = handling.await.unwrap().expect("handled");
    let Outcome::Emails(emails) = outcome else { panic!("{outcome:?}") };
    assert!(matches!(emails[0].2, Delivery::Sent { attempts } if attempts >= 2), "{emails:?}");
    assert_eq!(mailbox.wait_for(&visitor).await.subject, "Thanks for contacting Acme");
    assert_eq!(mailbox.to(&visitor).await.len(), 1);
    assert!(h.dead_letters_of(event.id).is_empty());
}

#[tokio::test]
async fn an_event_with_unusable_data_is_dead_lettered_not_dropped() {
    let h = harness().await;
    let tenant = h.tenant("Acme", None).await;
    let event = envelope("chatroom.created", tenant.id, created_data(&"Vera", &"not-an-address"));
    let outcome = h.handle(&event).await;
    let Outcome::Malformed { reason } = outcome else { panic!("{outcome:?}") };
    assert!(reason.starts_with("malformed chatroom.created data"), "{reason}");
    assert!(!reason.contains("not-an-address"), "no submitted value in the reason: {reason}");
    let entry = eventually(shared::testing::EVENT_TIMEOUT, "the dead-letter entry", || async {
        h.dead_letters_of(event.id).into_iter().next()
    })
    .await;
    assert_eq!(entry["data"]["reason"], reason);
    assert_eq!(entry["data"]["recipient"], serde_json::Value::Null);

    // Delivered again: dead-lettered once.
    assert!(matches!(h.handle(&event).await, Outcome::Malformed { .. }));
    h.dlq.caught_up().await;
    assert_eq!(h.dead_letters_of(event.id).len(), 1);
}
