//! The all-in-one runner as `scripts/dev` starts it: one address, every function under its path.

use std::{process::Stdio, time::Duration};

use serde_json::Value;
use shared::testing::{TestDatabase, binary, closed_port, eventually};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Starts the runner binary on a free port and returns it with the lines it printed up to
/// "Press Ctrl-C to stop.".
async fn start(extra_env: Vec<(&'static str, String)>) -> (tokio::process::Child, String, Vec<String>) {
    let port = closed_port();
    let mut command = binary(env!("CARGO_BIN_EXE_local-dev"));
    command
        .env("PARLEY_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .envs(extra_env)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().expect("start local-dev");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    let read_banner = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.starts_with("Press Ctrl-C");
            banner.push(line);
            if done {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read_banner).await.expect("the banner within 30s");
    (child, format!("http://127.0.0.1:{port}"), banner)
}

async fn get_json(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Signs up Acme with its admin ada@acme.test through the runner; answers the sign-up body.
async fn sign_up(client: &reqwest::Client, base: &str) -> Value {
    let sign_up = serde_json::json!({
        "tenantName": "Acme", "adminName": "Ada", "adminEmail": "ada@acme.test", "adminPassword": "correct horse battery",
    });
    let response = client.post(format!("{base}/api/tenant/tenants")).json(&sign_up).send().await.unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_embedded_default_serves_every_function_on_one_address() {
    let (_child, base, banner) = start(vec![]).await;
    assert_eq!(banner[0], format!("Parley is running at {base}"));
    assert!(banner[1].contains("process memory"), "{banner:?}");
    for path in ["/api/tenant", "/api/chatbots", "/api/analytics", "/api/email"] {
        let url = format!("{base}{path}/healthz");
        assert!(banner.iter().any(|line| line.ends_with(&url)), "the banner lists {url}: {banner:?}");
        let (status, body) = eventually(Duration::from_secs(10), "the runner to answer", || async {
            reqwest::get(&url).await.ok()?;
            Some(get_json(&url).await)
        })
        .await;
        assert_eq!((status, body), (200, serde_json::json!({ "status": "ok" })), "{url}");
    }
    let (status, body) = get_json(&format!("{base}/api/nowhere")).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("route_not_found")));
    // Analytics reads MongoDB and Redis: in memory it says what to set.
    assert!(banner.iter().any(|line| line.contains("analytics") && line.contains("MONGODB_URL")), "{banner:?}");
    let (status, body) = get_json(&format!("{base}/api/analytics/reports")).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("analytics_unavailable")));
}

#[tokio::test]
async fn in_memory_a_tenant_signs_up_logs_in_and_reads_itself() {
    let (_child, base, _banner) = start(vec![]).await;
    let client = reqwest::Client::new();
    sign_up(&client, &base).await;
    let login = serde_json::json!({ "email": "ada@acme.test", "password": "correct horse battery" });
    let response = client.post(format!("{base}/api/tenant/auth/login")).json(&login).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    let me: Value = client
        .get(format!("{base}/api/tenant/me"))
        .bearer_auth(tokens["accessToken"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((me["user"]["email"].as_str(), me["tenant"]["name"].as_str()), (Some("ada@acme.test"), Some("Acme")));
}

#[tokio::test]
async fn in_memory_an_admin_creates_a_chatbot_whose_snippet_points_at_the_runner() {
    let (_child, base, _banner) = start(vec![]).await;
    let client = reqwest::Client::new();
    let signed_up = sign_up(&client, &base).await;
    let token = signed_up["tokens"]["accessToken"].as_str().unwrap();
    let chatbot = serde_json::json!({ "name": "Support", "allowedOrigins": [base] });
    let response =
        client.post(format!("{base}/api/chatbots/chatbots")).bearer_auth(token).json(&chatbot).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let (snippet, key) = (created["snippet"].as_str().unwrap(), created["apiKey"].as_str().unwrap());
    assert!(snippet.contains(&format!("src=\"{base}/widget.js\"")), "{snippet}");
    assert!(snippet.contains(&format!("data-api-key=\"{key}\"")), "{snippet}");
    let listed: Value = client
        .get(format!("{base}/api/chatbots/chatbots"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["id"], created["chatbot"]["id"]);
    assert!(!listed.to_string().contains(key), "the key is shown once");
}

#[tokio::test]
async fn with_a_mongodb_url_the_runner_stores_data_there() {
    let db = TestDatabase::new().await;
    let (_child, _base, banner) = start(db.env()).await;
    assert_eq!(banner[1].trim(), format!("storage    MongoDB database {:?}", db.db.name()));
    // It created Parley's indexes in that database.
    let indexes = db.db.collection::<mongodb::bson::Document>("users").list_index_names().await.unwrap();
    assert!(indexes.contains(&"email_unique".to_owned()), "{indexes:?}");
}
