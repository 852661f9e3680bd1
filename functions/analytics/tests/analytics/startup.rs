//! The analytics binary as an operator runs it: self-hosted (the API, the report timer and the
//! Tinybird consumer in one process, stopped by SIGTERM; replicas that announce themselves to
//! `/status`), on Lambda in each of its three roles (against a local stand-in for the Lambda
//! Runtime API), and refusing bad settings with one line.

use std::time::Duration;

use serde_json::{Value, json};
use shared::{
    config::KafkaConfig,
    domain::{Name, Tenant},
    events::{EventPublisher, KafkaPublisher, OutgoingEvent, Topic},
    repos::Repos,
    testing::{
        TestDatabase, TestRedis, binary, closed_port, kafka_config, kafka_env,
        lambda::{LambdaRuntimeStandIn, Outcome, http_api_event, kafka_record},
        run_to_exit,
    },
};

use crate::{
    support::*,
    tinybird::{EventsStandIn, encoded},
};

/// The services of one test and the variables that point the binary at them.
struct Harness {
    db: TestDatabase,
    _redis: TestRedis,
    kafka: KafkaConfig,
    vars: Vec<(&'static str, String)>,
}

impl Harness {
    async fn new() -> Self {
        let (db, redis, kafka) = (TestDatabase::new().await, TestRedis::new().await, kafka_config());
        let mut vars = db.env();
        vars.extend(redis.env());
        vars.extend(kafka_env(&kafka));
        vars.push(("PARLEY_JWT_KEYS", format!("test-1:{}", random_string(48))));
        Self { db, _redis: redis, kafka, vars }
    }

    fn command(&self, extra: &[(&'static str, String)]) -> tokio::process::Command {
        let mut command = binary(env!("CARGO_BIN_EXE_analytics"));
        command.envs(self.vars.iter().map(|(k, v)| (*k, v.as_str()))).envs(extra.iter().map(|(k, v)| (*k, v.as_str())));
        command
    }

    async fn tenant(&self) -> Tenant {
        let tenant = Tenant::new("Acme".parse::<Name>().unwrap());
        Repos::mongo(&self.db.db).tenants.insert(&tenant).await.unwrap();
        tenant
    }

    async fn reports(&self) -> u64 {
        let reports = self.db.db.collection::<mongodb::bson::Document>("usageReports");
        reports.count_documents(mongodb::bson::doc! {}).await.unwrap()
    }
}

fn tinybird_vars(tinybird: &EventsStandIn) -> Vec<(&'static str, String)> {
    let config = tinybird.config(100);
    vec![
        ("PARLEY_TINYBIRD_URL", config.url),
        ("PARLEY_TINYBIRD_TOKEN", secrecy::ExposeSecret::expose_secret(&config.token).to_owned()),
        ("PARLEY_TINYBIRD_DATASOURCE", config.datasource),
        ("PARLEY_TINYBIRD_WAIT_MS", "200".into()),
        ("PARLEY_TINYBIRD_GROUP", config.group_id),
    ]
}

fn chatroom_created(tenant: &Tenant) -> OutgoingEvent {
    let room = shared::domain::ChatroomId::new();
    let created = shared::events::ChatroomCreated {
        chatroom_id: room,
        chatbot_id: shared::domain::ChatbotId::new(),
        name: "Vera".parse().unwrap(),
        email: "vera@example.test".parse().unwrap(),
        identity_verified: false,
        visitor: shared::domain::VisitorInfo { ip: "203.0.113.9".into(), ..Default::default() },
        created_at: shared::domain::Timestamp::now(),
    };
    OutgoingEvent::new(tenant.id, shared::events::Event::ChatroomCreated(created))
}

#[tokio::test]
async fn self_hosted_it_serves_computes_reports_streams_to_a_local_tinybird_stand_in_and_stops_on_sigterm() {
    let h = Harness::new().await;
    let tenant = h.tenant().await;
    let tinybird = EventsStandIn::start().await;
    let port = closed_port();
    let mut extra = tinybird_vars(&tinybird);
    extra.extend([("PARLEY_HTTP_ADDR", format!("127.0.0.1:{port}")), ("PARLEY_REPORT_INTERVAL_SECS", "1".into())]);
    let mut child = h.command(&extra).spawn().expect("the analytics binary starts");

    let status = eventually(Duration::from_secs(30), "/status to answer", || async {
        let response = reqwest::get(format!("http://127.0.0.1:{port}/status")).await.ok()?;
        response.json::<Value>().await.ok()
    })
    .await;
    assert_eq!(status["mongodb"]["status"], "up", "{status}");
    eventually(Duration::from_secs(15), "the timer's reports", || async { (h.reports().await == 2).then_some(()) })
        .await;

    shared::events::ensure_topics(&h.kafka, &[Topic::Chatrooms]).await.unwrap();
    let event = chatroom_created(&tenant);
    KafkaPublisher::connect(&h.kafka).await.unwrap().publish(&event).await.unwrap();
    let rows = eventually(Duration::from_secs(30), "the event at Tinybird", || async {
        let rows = tinybird.rows();
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    assert_eq!(rows[0]["event_id"], event.envelope.id.to_string());

    let pid = child.id().expect("running").to_string();
    assert!(tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.unwrap().success());
    let exit = tokio::time::timeout(Duration::from_secs(20), child.wait()).await.expect("exit within 20s").unwrap();
    assert!(exit.success(), "a clean shutdown exits 0, got {exit}");
}

/// The replicas `/status` at `port` lists: (function, address, status), in its order.
async fn replicas(port: u16) -> Option<Vec<(String, String, String)>> {
    let status: Value = reqwest::get(format!("http://127.0.0.1:{port}/status")).await.ok()?.json().await.ok()?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    Some(
        status["replicas"]
            .as_array()?
            .iter()
            .map(|r| (text(&r["function"]), text(&r["address"]), text(&r["status"])))
            .collect(),
    )
}

#[tokio::test]
async fn self_hosted_replicas_announce_themselves_a_killed_one_turns_down_and_a_stopped_one_leaves() {
    let h = Harness::new().await;
    let (api, job, other) = (closed_port(), closed_port(), closed_port());
    let replica = |role: &str, port: u16| {
        h.command(&[
            ("PARLEY_ANALYTICS_ROLE", role.to_owned()),
            ("PARLEY_HTTP_ADDR", format!("127.0.0.1:{port}")),
            ("PARLEY_HEARTBEAT_SECS", "1".into()),
            ("PARLEY_REPORT_INTERVAL_SECS", if role == "api" { "0".into() } else { "600".into() }),
        ])
        .spawn()
        .expect("the analytics binary starts")
    };
    let _api = replica("api", api);
    let mut job_process = replica("reports", job);
    let mut other_process = replica("reports", other);
    let mut expected = vec![
        listed("analytics", api, "up"),
        listed("analytics-reports", job, "up"),
        listed("analytics-reports", other, "up"),
    ];
    expected.sort();
    eventually(Duration::from_secs(30), "every replica listed up", || async {
        let mut listed = replicas(api).await?;
        listed.sort();
        (listed == expected).then_some(())
    })
    .await;

    // kill -9: no goodbye, so the replica turns down once three heartbeats are missed.
    job_process.start_kill().unwrap();
    job_process.wait().await.unwrap();
    eventually(Duration::from_secs(10), "the killed replica listed down", || async {
        let now = replicas(api).await?;
        now.contains(&listed("analytics-reports", job, "down")).then_some(())
    })
    .await;

    // SIGTERM: the replica withdraws as it stops.
    let pid = other_process.id().expect("running").to_string();
    assert!(tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.unwrap().success());
    let exit = tokio::time::timeout(Duration::from_secs(20), other_process.wait()).await.expect("exit").unwrap();
    assert!(exit.success(), "a clean shutdown exits 0, got {exit}");
    let left = replicas(api).await.expect("/status answers");
    assert!(!left.iter().any(|(_, address, _)| *address == format!("127.0.0.1:{other}")), "{left:?}");
    assert!(left.contains(&listed("analytics", api, "up")), "{left:?}");
}

fn listed(function: &str, port: u16, status: &str) -> (String, String, String) {
    (function.to_owned(), format!("127.0.0.1:{port}"), status.to_owned())
}

#[tokio::test]
async fn on_lambda_the_reports_role_runs_the_job_once_per_scheduled_invocation() {
    let h = Harness::new().await;
    h.tenant().await;
    // What an EventBridge schedule delivers (the document's shape is AWS's).
    let scheduled = json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-25T00:15:00Z",
        "region": "eu-west-1", "resources": ["arn:aws:events:eu-west-1:123456789012:rule/parley-reports"], "detail": {},
    });
    let mut runtime = LambdaRuntimeStandIn::start(vec![scheduled]).await;
    let extra = [("PARLEY_ANALYTICS_ROLE", "reports".to_owned()), ("PARLEY_REPORT_DAYS", "3".into())];
    let _function = h.command(&extra).envs(runtime.env()).spawn().expect("the analytics binary starts");
    let (_, outcome) = runtime.next_result().await;
    let Outcome::Response(summary) = outcome else { panic!("the run failed: {outcome:?}") };
    assert_eq!(summary, json!({"tenants": 1, "reports": 3, "failed": 0}));
    assert_eq!(h.reports().await, 3);
}

#[tokio::test]
async fn on_lambda_the_api_role_answers_http_events() {
    let h = Harness::new().await;
    let mut runtime = LambdaRuntimeStandIn::start(vec![http_api_event("GET", "/reports")]).await;
    let extra = [("PARLEY_ANALYTICS_ROLE", "api".to_owned())];
    let _function = h.command(&extra).envs(runtime.env()).spawn().expect("the analytics binary starts");
    let (_, outcome) = runtime.next_result().await;
    let Outcome::Response(response) = outcome else { panic!("the invocation failed: {outcome:?}") };
    assert_eq!(response["statusCode"], 401, "{response}");
    assert!(response["body"].as_str().unwrap().contains("missing_token"), "{response}");
}

#[tokio::test]
async fn on_lambda_the_ingest_role_streams_a_kafka_batch_to_a_local_tinybird_stand_in() {
    let h = Harness::new().await;
    let tenant = Tenant::new("Acme".parse::<Name>().unwrap());
    let tinybird = EventsStandIn::start().await;
    let (first, second) = (chatroom_created(&tenant).envelope, chatroom_created(&tenant).envelope);
    let batch = json!({
        "eventSource": "aws:kafka",
        "records": { "chatrooms-0": [
            kafka_record("chatrooms", 0, 5, &encoded(&second)),
            kafka_record("chatrooms", 0, 4, &encoded(&first)),
            kafka_record("chatrooms", 0, 6, b"not an envelope"),
        ]},
    });
    let mut runtime = LambdaRuntimeStandIn::start(vec![batch]).await;
    let mut extra = tinybird_vars(&tinybird);
    extra.push(("PARLEY_ANALYTICS_ROLE", "ingest".into()));
    // The stream needs neither MongoDB nor Redis: unreachable ones do not stop it.
    extra.push(("PARLEY_MONGODB_URL", format!("mongodb://127.0.0.1:{}/", closed_port())));
    extra.push(("PARLEY_REDIS_URL", format!("redis://127.0.0.1:{}", closed_port())));
    let _function = h.command(&extra).envs(runtime.env()).spawn().expect("the analytics binary starts");
    let (_, outcome) = runtime.next_result().await;
    let Outcome::Response(summary) = outcome else { panic!("the batch failed: {outcome:?}") };
    assert_eq!(summary, json!({"records": 3, "streamed": 2, "unreadable": 1}));
    let ids: Vec<Value> = tinybird.rows().iter().map(|row| row["event_id"].clone()).collect();
    assert_eq!(ids, [json!(first.id.to_string()), json!(second.id.to_string())], "in offset order");
}

#[tokio::test]
async fn a_bad_setting_or_an_unreachable_service_ends_it_with_one_line() {
    let h = Harness::new().await;
    let exit = run_to_exit(h.command(&[("PARLEY_STATUS_CHECK_MS", "5".into())]), Duration::from_secs(10)).await;
    assert_eq!(exit.single_error_line(), "error: PARLEY_STATUS_CHECK_MS: expected 50 to 10000");
    let exit = run_to_exit(
        h.command(&[("PARLEY_STATUS_FUNCTIONS", "tenant=http://u:pw@x/healthz".into())]),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(exit.single_error_line(), "error: PARLEY_STATUS_FUNCTIONS: tenant: a health URL carries no credentials");
    let redis = format!("redis://127.0.0.1:{}", closed_port());
    let exit = run_to_exit(h.command(&[("PARLEY_REDIS_URL", redis)]), Duration::from_secs(20)).await;
    assert!(exit.single_error_line().starts_with("error: Redis at 127.0.0.1:"), "{}", exit.stderr);
}
