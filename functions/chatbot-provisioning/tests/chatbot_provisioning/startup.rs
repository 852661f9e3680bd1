//! The chatbot-provisioning binary as an operator starts it: bad configuration and unreachable
//! services end it within seconds with one line that names the culprit; on Lambda it answers
//! invocations.

use std::time::Duration;

use serde_json::Value;
use shared::testing::{
    TestDatabase, TestRedis, binary, closed_port, kafka_config, kafka_env,
    lambda::{LambdaRuntimeStandIn, Outcome, http_api_event},
    run_to_exit,
};

use crate::support::random_string;

fn chatbot_binary() -> tokio::process::Command {
    binary(env!("CARGO_BIN_EXE_chatbot-provisioning"))
}

/// Every variable the binary needs, pointing nowhere real: for failures found before connecting.
fn configured() -> Vec<(&'static str, String)> {
    vec![
        ("PARLEY_MONGODB_URL", "mongodb://127.0.0.1:1/".into()),
        ("PARLEY_REDIS_URL", "redis://127.0.0.1:1/".into()),
        ("PARLEY_KAFKA_BROKERS", "127.0.0.1:1".into()),
        ("PARLEY_JWT_KEYS", format!("test-1:{}", random_string(48))),
        ("PARLEY_IDENTITY_KEYS", format!("id-1:{}", random_string(48))),
    ]
}

/// What the binary needs besides MongoDB: Redis, Kafka and keys. Keep the guard alive.
async fn other_services() -> (TestRedis, Vec<(&'static str, String)>) {
    let redis = TestRedis::new().await;
    let mut vars = redis.env();
    vars.extend(kafka_env(&kafka_config()));
    vars.push(("PARLEY_JWT_KEYS", format!("test-1:{}", random_string(48))));
    vars.push(("PARLEY_IDENTITY_KEYS", format!("id-1:{}", random_string(48))));
    vars.push(("PARLEY_PUBLIC_SOCKET_URL", "https://chat.parley.test".into()));
    (redis, vars)
}

#[tokio::test]
async fn missing_identity_keys_are_named_and_nothing_starts() {
    let mut command = chatbot_binary();
    command.envs(configured().into_iter().filter(|(name, _)| *name != "PARLEY_IDENTITY_KEYS"));
    let exit = run_to_exit(command, Duration::from_secs(10)).await;
    assert_eq!(exit.single_error_line(), "error: PARLEY_IDENTITY_KEYS: is required but not set");
}

#[tokio::test]
async fn a_malformed_identity_key_is_named_without_its_secret() {
    let mut command = chatbot_binary();
    command.envs(configured()).env("PARLEY_IDENTITY_KEYS", "id-1:too-short-s3cret");
    let exit = run_to_exit(command, Duration::from_secs(10)).await;
    let line = exit.single_error_line();
    assert!(line.starts_with("error: PARLEY_IDENTITY_KEYS: "), "{line}");
    assert!(!exit.stderr.contains("s3cret") && !exit.stdout.contains("s3cret"), "the secret leaked: {line}");
}

#[tokio::test]
async fn a_malformed_public_socket_url_is_named() {
    for url in ["chat.example.com", "ftp://chat.example.com", "https://chat.example.com/\"onload=x", "https://"] {
        let mut command = chatbot_binary();
        command.envs(configured()).env("PARLEY_PUBLIC_SOCKET_URL", url);
        let exit = run_to_exit(command, Duration::from_secs(10)).await;
        let line = exit.single_error_line();
        assert!(line.starts_with("error: PARLEY_PUBLIC_SOCKET_URL: "), "{url}: {line}");
    }
}

#[tokio::test]
async fn a_grace_period_over_seven_days_is_named() {
    let mut command = chatbot_binary();
    command.envs(configured()).env("PARLEY_API_KEY_GRACE_HOURS", "169");
    let exit = run_to_exit(command, Duration::from_secs(10)).await;
    let line = exit.single_error_line();
    assert!(line.starts_with("error: PARLEY_API_KEY_GRACE_HOURS: "), "{line}");
}

#[tokio::test]
async fn an_unreachable_mongodb_ends_the_binary_within_ten_seconds_without_leaking_the_password() {
    let port = closed_port();
    let (_redis, others) = other_services().await;
    let mut command = chatbot_binary();
    command.envs(others).env("PARLEY_MONGODB_URL", format!("mongodb://parley:s3cret-pw@127.0.0.1:{port}/"));
    let exit = run_to_exit(command, Duration::from_secs(10)).await;
    let line = exit.single_error_line();
    assert!(line.starts_with(&format!("error: MongoDB at 127.0.0.1:{port} is unreachable")), "{line}");
    assert!(!exit.stderr.contains("s3cret-pw") && !exit.stdout.contains("s3cret-pw"), "the password leaked");
}

/// The body of the function's next answer, checked to be `expected_id`'s with `status`.
async fn answer(runtime: &mut LambdaRuntimeStandIn, expected_id: &str, status: u16) -> Value {
    let (id, outcome) = runtime.next_result().await;
    assert_eq!(id, expected_id);
    let Outcome::Response(response) = outcome else { panic!("the function failed: {outcome:?}") };
    assert_eq!(response["statusCode"], status, "{response}");
    serde_json::from_str(response["body"].as_str().expect("a body")).expect("a JSON body")
}

#[tokio::test]
async fn on_the_lambda_runtime_api_local_stand_in_the_router_answers_invocations() {
    let mut runtime = LambdaRuntimeStandIn::start(vec![
        http_api_event("GET", "/healthz"),
        http_api_event("GET", "/chatbots"),
        http_api_event("GET", "/no/such/route"),
    ])
    .await;
    let db = TestDatabase::new().await;
    let (_redis, others) = other_services().await;
    let mut command = chatbot_binary();
    command.envs(runtime.env()).envs(db.env()).envs(others);
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let _function = command.spawn().expect("start the chatbot-provisioning binary");

    assert_eq!(answer(&mut runtime, "req-0", 200).await, serde_json::json!({ "status": "ok" }));
    assert_eq!(answer(&mut runtime, "req-1", 401).await["code"], "missing_token");
    assert_eq!(answer(&mut runtime, "req-2", 404).await["code"], "route_not_found");
}
