//! Memory mode (`scripts/dev --memory`): no service at all. Events published on a
//! `MemoryPublisher` reach `handle` through the in-process adapter, emails land in the
//! `DevMailbox`, and `GET /dev/mail` shows them.

use std::{sync::Arc, time::Duration};

use email::{
    config::{MailConfig, RetryPolicy},
    dev_mail, in_process,
    message::{Email, Mailbox as To},
    sent_log::Key,
    transport::{DevMailbox, Transport, dev_mailbox::printout},
};
use serde_json::{Value, json};
use shared::{
    domain::{Tenant, TenantId, Timestamp, UserId},
    events::{Event, EventPublisher, MemoryPublisher, OutgoingEvent, PasswordResetRequested, Topic, UserInvited},
    repos::Repos,
    testing::raw_event,
};
use tokio::{sync::oneshot, task::JoinHandle};

use crate::support::*;

const WAIT: Duration = Duration::from_secs(10);

/// The email function as `scripts/dev --memory` runs it.
struct Dev {
    state: AppState,
    publisher: Arc<MemoryPublisher>,
    mailbox: Arc<DevMailbox>,
    stop: oneshot::Sender<()>,
    running: JoinHandle<()>,
}

fn dev() -> Dev {
    let publisher = Arc::new(MemoryPublisher::default());
    // Quiet: what the printout holds is checked below, without flooding the test output.
    let mailbox = Arc::new(DevMailbox::quiet(100));
    let mail = MailConfig { from: FROM.parse().unwrap(), reply_to: None, public_url: PUBLIC_URL.parse().unwrap() };
    let retry = RetryPolicy { attempts: 3, first_delay: Duration::from_millis(20), max_delay: Duration::from_secs(1) };
    let state = AppState::in_memory(Repos::memory(), mailbox.clone(), publisher.clone(), mail, retry);
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(in_process::run(state.clone(), publisher.subscribe(), async {
        let _ = stopped.await;
    }));
    Dev { state, publisher, mailbox, stop, running }
}

impl Dev {
    async fn publish(&self, event: &OutgoingEvent) {
        self.publisher.publish(event).await.unwrap();
    }

    /// The kept emails to `address`, once there are `count`.
    async fn wait_for(&self, address: &str, count: usize) -> Vec<email::transport::DevMail> {
        eventually(WAIT, &format!("{count} email(s) to {address}"), || async {
            let mails: Vec<_> = self.mailbox.messages().into_iter().filter(|m| m.to.contains(address)).collect();
            (mails.len() >= count).then_some(mails)
        })
        .await
    }

    /// Stops the adapter; it must end promptly.
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(WAIT, self.running).await.expect("the adapter stops on shutdown").unwrap();
    }
}

/// A `password_reset.requested` (or, `invited`, a `user.invited`) for `email`.
fn set_password(invited: bool, tenant: TenantId, email: &str, name: &str, token: &str) -> OutgoingEvent {
    let (user_id, email, name) = (UserId::new(), email.parse().unwrap(), name.parse().unwrap());
    let (token, expires_at) = (token.to_owned(), Timestamp::now().plus(time::Duration::hours(1)));
    let event = if invited {
        Event::UserInvited(UserInvited { user_id, email, name, invited_by: UserId::new(), token, expires_at })
    } else {
        Event::PasswordResetRequested(PasswordResetRequested { user_id, email, name, token, expires_at })
    };
    OutgoingEvent::new(tenant, event)
}

#[tokio::test]
async fn a_password_reset_published_in_memory_sends_one_email_with_its_link() {
    let dev = dev();
    let tenant = TenantId::new();
    let vera = unique_email("vera");
    let reset = set_password(false, tenant, &vera, "Vera", "tok_Vera-123");
    dev.publish(&reset).await;
    dev.publish(&reset).await; // delivered twice: the same event id
    // Another topic's event, and a later reset for someone else: handled in order, so once
    // Ann's email is there Vera's duplicate has been handled too.
    dev.publish(&raw_event(Topic::EmailsDlq, "email.dead_lettered", tenant, tenant, json!({}))).await;
    let ann = unique_email("ann");
    dev.publish(&set_password(false, tenant, &ann, "Ann", "tok_ann")).await;
    dev.wait_for(&ann, 1).await;

    let mails = dev.wait_for(&vera, 1).await;
    assert_eq!(mails.len(), 1, "the duplicate sent nothing: {mails:?}");
    let mail = &mails[0];
    assert_eq!(mail.subject, "Reset your Parley password");
    assert_eq!(mail.from, format!("Parley <{FROM}>"));
    assert_eq!(mail.to, format!("Vera <{vera}>"));
    assert_eq!(mail.kind, "password_reset");
    let link = format!("{PUBLIC_URL}/console/reset-password#token=tok_Vera-123");
    assert!(mail.text.contains(&link), "{}", mail.text);
    assert!(mail.html.contains(&link), "{}", mail.html);
    let record = dev.state.sent_log.get(&Key::new(reset.envelope.id, &vera)).await.unwrap().unwrap();
    assert_eq!(record.state, "sent");
    assert_eq!(dev.mailbox.messages().len(), 2, "Vera's and Ann's, nothing for the other event");
    dev.stop().await;
}

#[tokio::test]
async fn the_dev_mail_page_lists_the_emails_newest_first_and_escapes_what_people_typed() {
    let dev = dev();
    let tenant = Tenant::new("Acme".parse().unwrap());
    dev.state.repos.tenants.insert(&tenant).await.unwrap();
    let vera = unique_email("vera");
    dev.publish(&set_password(false, tenant.id, &vera, "Vera", "tok_reset")).await;
    dev.wait_for(&vera, 1).await;
    let eve = unique_email("eve");
    let hostile = "<script>alert(1)</script> Eve";
    dev.publish(&set_password(true, tenant.id, &eve, hostile, "tok_invite")).await;
    dev.wait_for(&eve, 1).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = dev_mail::router(dev.mailbox.clone() as std::sync::Arc<dyn dev_mail::Letters>);
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();

    let page = client.get(format!("{base}/dev/mail")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'none'"));
    let page = page.text().await.unwrap();
    let invite = format!("href=\"{PUBLIC_URL}/console/accept-invitation#token=tok_invite\"");
    let reset = format!("href=\"{PUBLIC_URL}/console/reset-password#token=tok_reset\"");
    assert!(page.contains(&invite), "the invitation's link is clickable: {page}");
    assert!(page.contains(&reset), "the reset's link is clickable: {page}");
    assert!(page.find(&invite) < page.find(&reset), "newest first");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; Eve"), "{page}");
    assert!(!page.to_lowercase().contains("<script"), "no markup from an email gets through: {page}");

    let messages: Vec<Value> =
        client.get(format!("{base}/dev/mail/messages")).send().await.unwrap().json().await.unwrap();
    assert_eq!(messages.len(), 2);
    let newest = &messages[0];
    for field in ["id", "from", "to", "subject", "text", "html", "sentAt"] {
        assert!(!newest[field].is_null(), "{field} in {newest}");
    }
    assert_eq!(newest["to"], format!("{hostile} <{eve}>"));
    assert_eq!(newest["subject"], "An administrator invited you to Acme on Parley");

    let one = client.get(format!("{base}/dev/mail/{}", newest["id"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(one.status(), 200);
    let one = one.text().await.unwrap();
    assert!(one.contains("<iframe") && one.contains("sandbox=\"allow-popups") && one.contains("srcdoc=\""));
    assert!(one.contains("tok_invite"), "{one}");
    assert!(!one.to_lowercase().contains("<script"), "{one}");

    let missing = client.get(format!("{base}/dev/mail/999999")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let missing: Value = missing.json().await.unwrap();
    assert_eq!(missing["code"], "email_not_found");
    dev.stop().await;
}

fn email(to: &str, subject: &str) -> Email {
    let from = To::new("Parley", FROM.parse().unwrap());
    let to = To::new("Vera \u{1b}[31mred", to.parse().unwrap());
    Email::new(EmailKind::Welcome, from, to, subject, "Hello \u{1b}]0;title\u{7}there".into(), "<p>Hi</p>".into())
}

#[tokio::test]
async fn the_dev_mailbox_keeps_the_last_emails_and_prints_no_escape_sequences() {
    let mailbox = DevMailbox::quiet(2);
    for subject in ["one", "two", "three"] {
        mailbox.send(&email("vera@example.test", subject)).await.unwrap();
    }
    let kept: Vec<String> = mailbox.messages().into_iter().map(|m| m.subject).collect();
    assert_eq!(kept, ["three", "two"], "the last two, newest first");
    assert!(mailbox.get(1).is_none(), "pushed out");
    let newest = mailbox.get(3).unwrap();
    let printed = printout(&newest);
    for line in ["From:     Parley <support@parley.test>", "Subject:  three", "Hello ]0;titlethere"] {
        assert!(printed.contains(line), "{line:?} in {printed}");
    }
    assert!(!printed.chars().any(|c| c.is_control() && c != '\n'), "{printed:?}");
}
