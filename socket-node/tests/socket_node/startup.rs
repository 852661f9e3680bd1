//! The socket-node binary as an operator starts it: it connects to MongoDB, Redis and Kafka,
//! creates its topics, serves, and stops cleanly on SIGTERM; a service that is not there ends it
//! within seconds with one line naming that service; a widget that was not built does not stop
//! it, and says so once.

use std::time::Duration;

use shared::{
    events::Topic,
    testing::{TestDatabase, TestRedis, binary, closed_port, eventually, kafka_config, kafka_env, run_to_exit},
};

/// The binary with the keys it needs besides the services.
fn socket_node_binary() -> tokio::process::Command {
    let mut command = binary(env!("CARGO_BIN_EXE_socket-node"));
    // Any free port, unless a test names one: the default (8090) is one address for every test
    // running at once, and a node that finds it taken ends for that, not for what a test checks.
    command.env("PARLEY_HTTP_ADDR", "127.0.0.1:0");
    command.env("PARLEY_JWT_KEYS", "k1:0123456789abcdef0123456789abcdef0123");
    command.env("PARLEY_IDENTITY_KEYS", "i1:0123456789abcdef0123456789abcdef0123");
    command
}

#[tokio::test]
async fn starts_on_the_real_services_creates_its_topics_and_stops_on_sigterm() {
    let (db, redis, kafka) = (TestDatabase::new().await, TestRedis::new().await, kafka_config());
    let port = closed_port();
    let mut command = socket_node_binary();
    command
        .envs(db.env())
        .envs(redis.env())
        .envs(kafka_env(&kafka))
        .env("PARLEY_HTTP_ADDR", format!("127.0.0.1:{port}"));
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut child = command.spawn().expect("start socket-node");

    let url = format!("http://127.0.0.1:{port}/healthz");
    eventually(Duration::from_secs(30), "socket-node to answer /healthz", || async {
        reqwest::get(&url).await.ok().filter(|r| r.status() == 200)
    })
    .await;

    use rdkafka::consumer::Consumer as _;
    let admin: rdkafka::consumer::BaseConsumer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &kafka.brokers).create().unwrap();
    let metadata = admin.fetch_metadata(None, Duration::from_secs(10)).unwrap();
    for topic in Topic::ALL {
        let name = topic.name(&kafka.topic_prefix);
        let found = metadata.topics().iter().find(|t| t.name() == name);
        assert_eq!(found.map(|t| t.partitions().len()), Some(3), "topic {name}");
    }

    let pid = child.id().expect("pid").to_string();
    let killed = tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("exit within 10s").unwrap();
    assert!(status.success(), "a clean shutdown exits 0, got {status}");
}

#[tokio::test]
async fn without_a_built_widget_it_serves_warns_once_naming_the_folder_and_the_loader_answers_503() {
    let (db, redis, kafka) = (TestDatabase::new().await, TestRedis::new().await, kafka_config());
    let port = closed_port();
    let web_dir = std::env::temp_dir().join(format!("parley-unbuilt-{port}"));
    let mut command = socket_node_binary();
    command
        .envs(db.env())
        .envs(redis.env())
        .envs(kafka_env(&kafka))
        .env("PARLEY_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("PARLEY_WEB_DIR", &web_dir);
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("start socket-node");

    let url = format!("http://127.0.0.1:{port}");
    eventually(Duration::from_secs(30), "socket-node to answer /healthz", || async {
        reqwest::get(format!("{url}/healthz")).await.ok().filter(|r| r.status() == 200)
    })
    .await;
    let loader = reqwest::get(format!("{url}/widget.js")).await.unwrap();
    assert_eq!(loader.status(), 503);
    assert_eq!(loader.headers()["cache-control"], "no-store");
    let body: serde_json::Value = loader.json().await.unwrap();
    assert_eq!(body["code"], "widget_not_built", "{body}");
    assert!(!body.to_string().contains(&web_dir.display().to_string()), "no server path in the answer: {body}");

    let pid = child.id().expect("pid").to_string();
    tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
    let output = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output()).await.unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("not built")).collect();
    assert_eq!(warnings.len(), 1, "one warning: {stderr}");
    for needed in [web_dir.display().to_string().as_str(), "scripts/dev", "npm run build", "socket-node/web"] {
        assert!(warnings[0].contains(needed), "the warning says {needed:?}: {}", warnings[0]);
    }
}

#[tokio::test]
async fn an_unreachable_kafka_ends_it_within_ten_seconds_naming_kafka() {
    let (db, redis) = (TestDatabase::new().await, TestRedis::new().await);
    let port = closed_port();
    let mut command = socket_node_binary();
    command.envs(db.env()).envs(redis.env()).env("PARLEY_KAFKA_BROKERS", format!("127.0.0.1:{port}"));
    let exit = run_to_exit(command, Duration::from_secs(10)).await;
    let line = exit.single_error_line();
    assert!(line.starts_with(&format!("error: Kafka at 127.0.0.1:{port} is unreachable")), "{line}");
}

#[tokio::test]
async fn an_unreachable_redis_ends_it_within_ten_seconds_naming_redis() {
    let db = TestDatabase::new().await;
    let port = closed_port();
    let mut command = socket_node_binary();
    command
        .envs(db.env())
        .envs(kafka_env(&kafka_config()))
        .env("PARLEY_REDIS_URL", format!("redis://127.0.0.1:{port}"));
    let exit = run_to_exit(command, Duration::from_secs(10)).await;
    let line = exit.single_error_line();
    assert!(line.starts_with(&format!("error: Redis at 127.0.0.1:{port} is unreachable")), "{line}");
}

#[tokio::test]
async fn a_malformed_broker_list_is_named() {
    let (db, redis) = (TestDatabase::new().await, TestRedis::new().await);
    let mut command = socket_node_binary();
    command.envs(db.env()).envs(redis.env()).env("PARLEY_KAFKA_BROKERS", "kafka-without-port");
    let exit = run_to_exit(command, Duration::from_secs(10)).await;
    let line = exit.single_error_line();
    assert!(line.starts_with("error: PARLEY_KAFKA_BROKERS: "), "{line}");
}
