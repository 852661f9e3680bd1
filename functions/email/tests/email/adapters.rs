//! The two adapters around `handle`: a Lambda `KafkaEvent` batch, and the consumer group.

use std::time::Duration;

use aws_lambda_events::event::kafka::KafkaEvent;
use serde_json::{Value, json};
use shared::events::lambda::records;
use shared::{
    events::{EventPublisher, KafkaPublisher},
    testing::{
        binary,
        lambda::{LambdaRuntimeStandIn, Outcome as Answer, kafka_record},
    },
};

use crate::support::*;

/// A batch as Amazon MSK delivers it to a function (the document's shape is AWS's), carrying
/// `envelopes` on partition 0 of the `chatrooms` topic and one record that is not an envelope.
fn kafka_event(envelopes: &[Value]) -> Value {
    let record = |offset: usize, value: &[u8]| kafka_record("chatrooms", 0, offset as i64, value);
    let mut partition: Vec<Value> =
        envelopes.iter().enumerate().map(|(i, e)| record(i + 10, e.to_string().as_bytes())).rev().collect();
    partition.push(record(99, b"not an envelope"));
    json!({
        "eventSource": "aws:kafka",
        "eventSourceArn": "arn:aws:kafka:eu-west-1:123456789012:cluster/parley/abcd1234-0123-4567-89ab-cdef01234567-1",
        "bootstrapServers": "b-1.parley.abcd12.c2.kafka.eu-west-1.amazonaws.com:9092",
        "records": { "chatrooms-0": partition },
    })
}

#[test]
fn a_kafka_event_decodes_into_envelopes_in_offset_order() {
    let tenant = shared::domain::TenantId::new();
    let first = serde_json::to_value(envelope("chatroom.created", tenant, json!({"name": "A"}))).unwrap();
    let second = serde_json::to_value(envelope("chatroom.closed", tenant, json!({"name": "B"}))).unwrap();
    let document = kafka_event(&[first.clone(), second.clone()]);
    let event: KafkaEvent = serde_json::from_value(document).expect("the KafkaEvent document");
    let decoded = records(&event);
    assert_eq!(decoded.len(), 3);
    let ids: Vec<String> = decoded.iter().filter_map(|r| Some(r.envelope.as_ref()?.id.to_string())).collect();
    assert_eq!(ids, [first["id"].as_str().unwrap(), second["id"].as_str().unwrap()], "offset order, not list order");
    let unreadable = &decoded[2];
    assert!(unreadable.envelope.is_none());
    assert_eq!((unreadable.topic.as_str(), unreadable.partition, unreadable.offset), ("chatrooms", 0, 99));
}

#[tokio::test]
async fn on_a_local_lambda_runtime_stand_in_a_kafka_batch_sends_its_emails() {
    let h = harness().await;
    let tenant = h.tenant("Acme", None).await;
    let visitor = unique_email("vera");
    let welcome =
        serde_json::to_value(envelope("chatroom.created", tenant.id, created_data(&"Vera", &visitor))).unwrap();
    let batch = kafka_event(&[welcome]);
    let mut runtime = LambdaRuntimeStandIn::start(vec![batch.clone(), batch]).await;
    let mut command = binary(env!("CARGO_BIN_EXE_email"));
    command.envs(h.vars.iter().map(|(k, v)| (*k, v.as_str()))).envs(runtime.env());
    let _function = command.spawn().expect("the email binary starts");

    let (id, answer) = runtime.next_result().await;
    assert_eq!(id, "req-0");
    let Answer::Response(summary) = answer else { panic!("the function failed: {answer:?}") };
    assert_eq!(summary, json!({"records": 2, "sent": 1, "unreadable": 1}));
    assert_eq!(h.mailbox.wait_for(&visitor).await.subject, "Thanks for contacting Acme");

    // Lambda retries a batch: the same records again send nothing new.
    let (_, answer) = runtime.next_result().await;
    let Answer::Response(summary) = answer else { panic!("{answer:?}") };
    assert_eq!(summary["sent"], 0);
    assert_eq!(h.mailbox.to(&visitor).await.len(), 1);
}

#[tokio::test]
async fn the_consumer_group_sends_what_arrives_on_the_topics() {
    let h = harness().await;
    let tenant = h.tenant("Acme", None).await;
    let config = email::Config::from_env(&shared::config::Env::from_pairs(h.vars.clone())).unwrap();
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let consumer = tokio::spawn({
        let state = h.state.clone();
        async move {
            email::consumer::run(state, &config, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
        }
    });
    let kafka = KafkaPublisher::connect(&h.kafka).await.unwrap();
    let (visitor, agent) = (unique_email("vera"), unique_email("ivy"));
    let created = shared::testing::raw_event(
        shared::events::Topic::Chatrooms,
        "chatroom.created",
        tenant.id,
        "room-1",
        created_data(&"Vera", &visitor),
    );
    let invited = shared::testing::raw_event(
        shared::events::Topic::Tenants,
        "user.invited",
        tenant.id,
        tenant.id,
        json!({"userId": shared::domain::UserId::new(), "email": agent, "name": "Ivy", "token": "pwt_x.y.z",
               "invitedBy": shared::domain::UserId::new(),
               "expiresAt": shared::domain::Timestamp::now()}),
    );
    for event in [&created, &invited] {
        kafka.publish(event).await.expect("published");
    }
    assert_eq!(h.mailbox.wait_for(&visitor).await.subject, "Thanks for contacting Acme");
    assert_eq!(h.mailbox.wait_for(&agent).await.subject, "An administrator invited you to Acme on Parley");
    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(30), consumer).await.expect("the consumer stops").unwrap().unwrap();
}
