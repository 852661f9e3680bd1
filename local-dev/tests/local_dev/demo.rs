//! `/demo`: a shop page whose embedded snippet opens a visitor session from the runner's own
//! origin at once, whose admin can sign in, and whose chatbot outlives a restart on the same
//! data directory (and is made again when the data is gone).

use std::os::unix::fs::PermissionsExt as _;

use serde_json::{Value, json};
use shared::testing::{TestDatabase, TestRedis, random_string};

use crate::support::*;

/// What a person sees on `/demo`: the chatbot the embedded snippet names, and how its agent
/// signs in.
#[derive(Debug, PartialEq, Eq)]
struct DemoPage {
    tenant_id: String,
    api_key: String,
    widget_src: String,
    admin_email: String,
    admin_password: String,
}

/// Opens `/demo` at `base` and reads it. Fails unless it is a no-store HTML page with the
/// snippet (stub first) ready to embed.
async fn open_demo(base: &str) -> DemoPage {
    let response = reqwest::get(format!("{base}/demo")).await.expect("the runner answers");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(response.headers()["cache-control"], "no-store", "it shows a password");
    let page = response.text().await.unwrap();
    assert!(page.contains("Acme Store"), "{page}");
    let start = page.find("<template id=\"parley-snippet\">").expect("the embedded snippet");
    let snippet = &page[start..start + page[start..].find("</template>").unwrap()];
    let stub = snippet.find("window.Parley=window.Parley||function(){(Parley.q=Parley.q||[]).push(arguments)}");
    let loader = snippet.find("<script async src=").expect("the loader tag");
    assert!(stub.is_some_and(|stub| stub < loader), "the stub comes first: {snippet}");
    let tag = &snippet[loader..];
    DemoPage {
        tenant_id: between(tag, "data-tenant-id=\"", "\""),
        api_key: between(tag, "data-api-key=\"", "\""),
        widget_src: between(tag, "src=\"", "\""),
        admin_email: between(&page, "<code id=\"demo-email\">", "</code>"),
        admin_password: between(&page, "<code id=\"demo-password\">", "</code>"),
    }
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start} in {text}")) + start.len();
    text[from..from + text[from..].find(end).unwrap()].to_owned()
}

/// `POST /v1/visitor/sessions` with the page's tenant id and key, as the widget sends it from a
/// page of `origin`.
async fn open_session(base: &str, demo: &DemoPage, origin: &str) -> (u16, Value) {
    let body = json!({
        "tenantId": demo.tenant_id, "apiKey": demo.api_key, "name": "Ada", "email": "ada@example.net",
    });
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/visitor/sessions"))
        .header("origin", origin)
        .json(&body)
        .send()
        .await
        .expect("the runner answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn in_memory_the_demo_page_embeds_a_snippet_that_opens_a_session_and_shows_how_its_agent_signs_in() {
    let runner = Runner::start(vec![]).await;
    let base = &runner.base;
    let port = base.rsplit(':').next().unwrap();
    assert!(runner.banner.iter().any(|l| l.trim_start() == format!("demo       {base}/demo")), "{:?}", runner.banner);
    let home = reqwest::get(runner.url("/")).await.unwrap().text().await.unwrap();
    assert!(home.contains(&format!("href=\"{base}/demo\"")), "the home page links the demo");

    let demo = open_demo(base).await;
    assert_eq!(demo.widget_src, format!("{base}/widget.js"), "the widget comes from the runner");
    assert_eq!(demo.admin_email, "demo@parley.localhost");
    // The widget works from the page, opened by address or by name.
    for origin in [base.clone(), format!("http://localhost:{port}")] {
        let (status, created) = open_session(base, &demo, &origin).await;
        assert_eq!(status, 201, "from {origin}: {created}");
    }
    let (status, refused) = open_session(base, &demo, "https://elsewhere.example.com").await;
    assert_eq!((status, refused["code"].as_str()), (403, Some("origin_not_allowed")));
    let config = reqwest::Client::new()
        .post(runner.url("/v1/widget/config"))
        .header("origin", base.as_str())
        .json(&json!({"tenantId": demo.tenant_id, "apiKey": demo.api_key}))
        .send()
        .await
        .unwrap();
    assert_eq!(config.status(), 200, "the loader can draw the launcher");
    let config: Value = config.json().await.unwrap();
    assert_eq!(config["name"], "Demo");

    // The agent signs in with what the page shows.
    let (status, _) = post(
        &runner.url("/api/tenant/auth/login"),
        None,
        json!({"email": demo.admin_email, "password": demo.admin_password}),
    )
    .await;
    assert_eq!(status, 200, "the shown password logs in");
    assert!(!runner.banner.concat().contains(&demo.admin_password), "the password is not printed");

    // Every visit shows the same chatbot.
    assert_eq!(open_demo(base).await, demo);
}

#[tokio::test]
async fn on_the_services_a_restart_on_the_same_data_reuses_the_demo_chatbot_and_wiped_data_gets_a_new_one() {
    let services = Services::new().await;
    let data_dir = std::env::temp_dir().join(format!("parley-demo-{}", random_string(10)));
    let port = closed_port();

    let runner = InProcess::start_on(port, services.env(&data_dir)).await;
    let first = open_demo(&runner.base).await;
    assert_eq!(open_session(&runner.base, &first, &runner.base).await.0, 201);
    runner.stop().await;
    let kept = data_dir.join("demo.env");
    let mode = std::fs::metadata(&kept).expect("demo.env is kept").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "only the owner reads the demo's password");

    let runner = InProcess::start_on(port, services.env(&data_dir)).await;
    let again = open_demo(&runner.base).await;
    assert_eq!(again, first, "the same chatbot, key and admin after a restart");
    assert_eq!(open_session(&runner.base, &again, &runner.base).await.0, 201);
    runner.stop().await;

    // The same data directory over empty services: the stored key opens nothing, so a new demo
    // is made, and it works.
    let (wiped_db, wiped_redis) = (TestDatabase::new().await, TestRedis::new().await);
    let mut env = services.env(&data_dir);
    env.retain(|(name, _)| !name.starts_with("PARLEY_MONGODB") && !name.starts_with("PARLEY_REDIS"));
    env.extend(wiped_db.env());
    env.extend(wiped_redis.env());
    let runner = InProcess::start_on(port, env).await;
    let renewed = open_demo(&runner.base).await;
    assert_ne!(renewed.api_key, first.api_key);
    assert_ne!(renewed.tenant_id, first.tenant_id);
    assert_eq!(open_session(&runner.base, &renewed, &runner.base).await.0, 201);
    runner.stop().await;
    std::fs::remove_dir_all(&data_dir).unwrap();
}
