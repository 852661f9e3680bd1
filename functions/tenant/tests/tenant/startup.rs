//! The tenant binary as an operator starts it: bad configuration and unreachable services end it
//! within seconds with one line that names the culprit; on Lambda it answers invocations.

use std::time::Duration;

use serde_json::Value;
use shared::testing::{
    TestDatabase, TestRedis, binary, closed_port, kafka_config, kafka_env,
    lambda::{LambdaRuntimeStandIn, Outcome, http_api_event},
    run_to_exit,
};

fn tenant_binary() -> tokio::process::Command {
    binary(env!("CARGO_BIN_EXE_tenant"))
}

/// What the binary needs besides MongoDB: Redis, Kafka and signing keys. Keep the guard alive.
async fn other_services() -> (TestRedis, Vec<(&'static str, String)>) {
    let redis = TestRedis::new().await;
    let mut vars = redis.env();
    vars.extend(kafka_env(&kafka_config()));
    vars.push(("PARLEY_JWT_KEYS", format!("test-1:{}", crate::support::random_string(48))));
    (redis, vars)
}

#[tokio::test]
async fn a_malformed_variable_is_named_and_nothing_starts() {
    let mut command = tenant_binary();
    command.env("PARLEY_HTTP_ADDR", "localhost-8081").env("PARLEY_MONGODB_URL", "mongodb://127.0.0.1:1/");
    let exit = run_to_exit(command, Duration::from_secs(10)).await;
    let line = exit.single_error_line();
    assert!(line.starts_with("error: PARLEY_HTTP_ADDR: "), "{line}");
}

#[tokio::test]
async fn a_missing_database_url_is_named() {
    let exit = run_to_exit(tenant_binary(), Duration::from_secs(10)).await;
    assert_eq!(exit.single_error_line(), "error: PARLEY_MONGODB_URL: is required but not set");
}

#[tokio::test]
async fn an_unreachable_mongodb_ends_the_binary_within_ten_seconds_without_leaking_the_password() {
    let port = closed_port();
    let (_redis, others) = other_services().await;
    let mut command = tenant_binary();
    command.envs(others).env("PARLEY_MONGODB_URL", format!("mongodb://parley:s3cret-pw@127.0.0.1:{port}/"));
    let exit = run_to_exit(command, Duration::from_secs(10)).await;
    let line = exit.single_error_line();
    assert!(line.starts_with(&format!("error: MongoDB at 127.0.0.1:{port} is unreachable")), "{line}");
    assert!(!exit.stderr.contains("s3cret-pw") && !exit.stdout.contains("s3cret-pw"), "the password leaked");
}

#[tokio::test]
async fn on_the_lambda_runtime_api_local_stand_in_the_router_answers_invocations() {
    let mut runtime =
        LambdaRuntimeStandIn::start(vec![http_api_event("GET", "/healthz"), http_api_event("GET", "/no/such/route")])
            .await;
    let db = TestDatabase::new().await;
    let (_redis, others) = other_services().await;
    let mut command = tenant_binary();
    command.envs(runtime.env()).envs(db.env()).envs(others);
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let _function = command.spawn().expect("start the tenant binary");

    let (id, outcome) = runtime.next_result().await;
    assert_eq!(id, "req-0");
    let Outcome::Response(response) = outcome else { panic!("the function failed: {outcome:?}") };
    assert_eq!(response["statusCode"], 200);
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({ "status": "ok" }));

    let (id, outcome) = runtime.next_result().await;
    assert_eq!(id, "req-1");
    let Outcome::Response(response) = outcome else { panic!("the function failed: {outcome:?}") };
    assert_eq!(response["statusCode"], 404);
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["code"], "route_not_found");
}
