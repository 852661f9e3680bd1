//! The email binary as an operator starts it: self-hosted, it consumes and sends until SIGTERM
//! and exits 0; bad configuration and unreachable services end it at once with one line.

use std::time::Duration;

use shared::{
    events::{EventPublisher, KafkaPublisher},
    testing::{binary, closed_port, run_to_exit},
};

use crate::support::*;

fn email_binary() -> tokio::process::Command {
    binary(env!("CARGO_BIN_EXE_email"))
}

#[tokio::test]
async fn self_hosted_it_sends_what_arrives_serves_health_and_stops_on_sigterm() {
    let h = harness().await;
    let tenant = h.tenant("Acme", None).await;
    let port = closed_port();
    let mut command = email_binary();
    command.envs(h.vars.iter().map(|(k, v)| (*k, v.as_str()))).env("PARLEY_HTTP_ADDR", format!("127.0.0.1:{port}"));
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut child = command.spawn().expect("start the email binary");
    let url = format!("http://127.0.0.1:{port}/healthz");
    eventually(Duration::from_secs(30), "the email function to answer /healthz", || async {
        reqwest::get(&url).await.ok().filter(|r| r.status() == 200)
    })
    .await;

    let visitor = unique_email("vera");
    let event = shared::testing::raw_event(
        shared::events::Topic::Chatrooms,
        "chatroom.created",
        tenant.id,
        "room-1",
        created_data(&"Vera", &visitor),
    );
    KafkaPublisher::connect(&h.kafka).await.unwrap().publish(&event).await.unwrap();
    assert_eq!(h.mailbox.wait_for(&visitor).await.subject, "Thanks for contacting Acme");

    let pid = child.id().expect("running").to_string();
    assert!(tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait()).await.expect("exit within 15s").unwrap();
    assert!(status.success(), "a clean shutdown exits 0, got {status}");
}

#[tokio::test]
async fn a_bad_transport_setting_is_named_and_nothing_starts() {
    let mut command = email_binary();
    command.env("PARLEY_MONGODB_URL", "mongodb://127.0.0.1:1/").env("PARLEY_KAFKA_BROKERS", "127.0.0.1:1");
    command.env("PARLEY_EMAIL_TRANSPORT", "carrier-pigeon");
    let exit = run_to_exit(command, Duration::from_secs(10)).await;
    assert_eq!(
        exit.single_error_line(),
        "error: PARLEY_EMAIL_TRANSPORT: expected smtp or ses (got \"carrier-pigeon\")"
    );

    let mut command = email_binary();
    command.env("PARLEY_MONGODB_URL", "mongodb://127.0.0.1:1/").env("PARLEY_KAFKA_BROKERS", "127.0.0.1:1");
    command.env("PARLEY_SMTP_USERNAME", "parley");
    let exit = run_to_exit(command, Duration::from_secs(10)).await;
    assert_eq!(exit.single_error_line(), "error: PARLEY_SMTP_PASSWORD: is required but not set");
}

#[tokio::test]
async fn an_unreachable_kafka_ends_it_within_ten_seconds_naming_kafka() {
    let h = harness().await;
    let port = closed_port();
    let mut command = email_binary();
    command.envs(h.vars.iter().map(|(k, v)| (*k, v.as_str()))).env("PARLEY_KAFKA_BROKERS", format!("127.0.0.1:{port}"));
    let exit = run_to_exit(command, Duration::from_secs(12)).await;
    let line = exit.single_error_line();
    assert!(line.starts_with(&format!("error: Kafka at 127.0.0.1:{port} is unreachable")), "{line}");
}
