//! What the runner serves at its one address, and what it says it runs on.

use std::time::Duration;

use serde_json::json;
use shared::testing::TestDatabase;

use crate::support::*;

#[tokio::test]
async fn in_memory_every_part_answers_at_one_address_and_the_home_page_links_them() {
    let runner = Runner::start(vec![]).await;
    let base = &runner.base;
    let banner = &runner.banner;
    assert_eq!(banner[0], format!("Parley is running at {base}"));
    for line in [format!("home       {base}/"), format!("mailbox    {base}/dev/mail")] {
        assert!(banner.iter().any(|l| l.trim_start() == line), "the banner lists {line:?}: {banner:?}");
    }
    assert!(banner.iter().any(|l| l.contains("storage") && l.contains("process memory")), "{banner:?}");

    for path in ["/api/tenant", "/api/chatbots", "/api/analytics", "/api/email"] {
        let url = runner.url(&format!("{path}/healthz"));
        let (status, body) = eventually(Duration::from_secs(10), "the runner to answer", || async {
            reqwest::get(&url).await.ok()?;
            Some(get(&url, None).await)
        })
        .await;
        assert_eq!((status, body), (200, json!({ "status": "ok" })), "{url}");
    }
    let (status, body) = get(&runner.url("/readyz"), None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")), "the socket-node is mounted: {body}");
    let (status, body) = get(&runner.url("/api/nowhere"), None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("route_not_found")));
    // Analytics reads MongoDB and Redis: in memory it says what to do.
    let (status, body) = get(&runner.url("/api/analytics/reports"), None).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("analytics_unavailable")));
    // Its API document is there all the same, for the console to be built against.
    let (status, document) = get(&runner.url("/api/analytics/openapi.json"), None).await;
    assert_eq!((status, document["info"]["title"].as_str()), (200, Some("Parley analytics function")));
    assert!(document["paths"]["/reports"]["get"].is_object(), "{document}");

    let home = reqwest::get(runner.url("/")).await.unwrap();
    assert_eq!(home.headers()["content-type"], "text/html; charset=utf-8");
    let home = home.text().await.unwrap();
    assert!(home.contains("Parley</span> is running"), "{home}");
    for link in [
        "/dev/mail",
        "/api/tenant/openapi.json",
        "/api/chatbots/openapi.json",
        "/api/analytics/openapi.json",
        "/api/analytics/status",
    ] {
        assert!(home.contains(&format!("href=\"{base}{link}\"")), "the home page links {link}");
    }
    let (status, _) = get(&runner.url("/dev/mail/messages"), None).await;
    assert_eq!(status, 200, "the development mailbox is open");
}

#[tokio::test]
async fn in_memory_an_admin_creates_a_chatbot_whose_snippet_points_at_the_runner() {
    let runner = Runner::start(vec![]).await;
    let base = &runner.base;
    let sign_up = json!({
        "tenantName": "Acme", "adminName": "Ada", "adminEmail": "ada@acme.test", "adminPassword": "correct horse battery",
    });
    let (status, signed_up) = post(&runner.url("/api/tenant/tenants"), None, sign_up).await;
    assert_eq!(status, 201);
    let token = signed_up["tokens"]["accessToken"].as_str().unwrap();
    let chatbot = json!({ "name": "Support", "allowedOrigins": [base] });
    let (status, created) = post(&runner.url("/api/chatbots/chatbots"), Some(token), chatbot).await;
    assert_eq!(status, 201);
    let (snippet, key) = (created["snippet"].as_str().unwrap(), created["apiKey"].as_str().unwrap());
    assert!(snippet.contains(&format!("src=\"{base}/widget.js\"")), "{snippet}");
    assert!(snippet.contains(&format!("data-api-key=\"{key}\"")), "{snippet}");
    let (_, listed) = get(&runner.url("/api/chatbots/chatbots"), Some(token)).await;
    assert_eq!(listed[0]["id"], created["chatbot"]["id"]);
    assert!(!listed.to_string().contains(key), "the key is shown once");
}

#[tokio::test]
async fn with_a_mongodb_url_the_runner_stores_data_there() {
    let db = TestDatabase::new().await;
    let runner = Runner::start(db.env()).await;
    let storage = format!("storage    MongoDB database {:?}", db.db.name());
    assert!(runner.banner.iter().any(|l| l.trim_start() == storage), "{:?}", runner.banner);
    // It created Parley's indexes in that database.
    let indexes = db.db.collection::<mongodb::bson::Document>("users").list_index_names().await.unwrap();
    assert!(indexes.contains(&"email_unique".to_owned()), "{indexes:?}");
}
