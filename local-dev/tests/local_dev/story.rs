//! The story (blueprint section 1) against the runner, in both modes: sign-up → chatbot →
//! visitor session → the greeting → the welcome email (so `chatroom.created` reached the email
//! function) → an invited agent follows the emailed link, sets a password, logs in, sees the
//! queue and joins → messages both ways, stored and in order → `message.sent`. A password-reset
//! email works too. Then, on the real services, Ctrl-C and a restart on the same data: the
//! tenant logs in and the conversation is all there.

use serde_json::json;
use shared::{
    events::Topic,
    testing::{EventLog, random_string},
};

use crate::support::*;

/// The page the widget runs on in these tests (allowed by the chatbot).
const SITE: &str = "https://shop.example.com";
const GREETING: &str = "Thanks for reaching out! A live agent will join shortly.";

/// What the story left behind, to find again after a restart.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Told {
    pub admin_email: String,
    pub admin_password: String,
    pub agent_email: String,
    pub agent_password: String,
    pub chatroom_id: String,
    pub texts: Vec<String>,
}

/// Runs the story against `runner`; answers what it stored.
pub async fn story(runner: &Runner) -> Told {
    let suffix = random_string(8).to_lowercase();
    let admin_email = format!("ada-{suffix}@acme.test");
    let admin_password = "correct horse battery staple".to_owned();

    // 1. A tenant signs up.
    let sign_up =
        json!({"tenantName": "Acme", "adminName": "Ada", "adminEmail": admin_email, "adminPassword": admin_password});
    let (status, signed_up) = post(&runner.url("/api/tenant/tenants"), None, sign_up).await;
    assert_eq!(status, 201, "{signed_up}");
    let admin = signed_up["tokens"]["accessToken"].as_str().unwrap().to_owned();
    let tenant_id = signed_up["tenant"]["id"].as_str().unwrap().to_owned();

    // 2. The admin creates a chatbot and is given its API key and snippet.
    let chatbot = json!({"name": "Support", "allowedOrigins": [SITE]});
    let (status, created) = post(&runner.url("/api/chatbots/chatbots"), Some(&admin), chatbot).await;
    assert_eq!(status, 201, "{created}");
    let api_key = created["apiKey"].as_str().unwrap().to_owned();
    assert!(created["snippet"].as_str().unwrap().contains(&runner.url("/widget.js")), "{created}");

    // An agent is invited; the invitation reaches the mailbox and its link sets a password.
    let agent_email = format!("grace-{suffix}@acme.test");
    let (_, roles) = get(&runner.url("/api/tenant/roles"), Some(&admin)).await;
    let agent_role = roles.as_array().unwrap().iter().find(|r| r["name"] == "agent").unwrap()["id"].clone();
    let invite = json!({"name": "Grace", "email": agent_email, "roleIds": [agent_role]});
    let (status, _) = post(&runner.url("/api/tenant/users"), Some(&admin), invite).await;
    assert_eq!(status, 201);
    let (subject, text) = runner.mail.wait_for(&agent_email, "invited you").await;
    assert!(subject.contains("Acme"), "{subject}");
    assert!(text.contains(&runner.url("/console/accept-invitation#token=")), "the link opens this Parley: {text}");
    let agent_password = "a long and lovely passphrase".to_owned();
    let accept = json!({"token": link_token(&text), "password": agent_password});
    let (status, body) = post(&runner.url("/api/tenant/auth/password-reset/confirm"), None, accept).await;
    assert_eq!(status, 204, "{body}");
    let agent = login(runner, &agent_email, &agent_password).await;

    // 3-4. A visitor on the tenant's site opens the widget: a chatroom and its token.
    let visitor_email = format!("vera-{suffix}@example.net");
    let session = json!({
        "tenantId": tenant_id, "apiKey": api_key, "name": "Vera", "email": visitor_email,
        "visitor": {"language": "en-GB", "pageUrl": format!("{SITE}/pricing"), "timezone": "Europe/London"},
    });
    let session = open_session(runner, SITE, None, &session).await;
    let room = session["chatroomId"].as_str().unwrap().to_owned();
    let (mut visitor, ready) = Client::authenticated(&runner.ws_url(), session["token"].as_str().unwrap()).await;
    assert_eq!(ready["chatrooms"][0]["status"], "waiting");

    // 5. The greeting says a live agent will join shortly; the welcome email goes out.
    visitor.send(json!({"type": "resume", "chatroomId": room, "afterSeq": 0})).await;
    let greeting = visitor.message(GREETING).await;
    assert_eq!((greeting["seq"].as_u64(), greeting["sender"]["kind"].as_str()), (Some(1), Some("system")));
    let (subject, _) = runner.mail.wait_for(&visitor_email, "Thanks for contacting").await;
    assert_eq!(subject, "Thanks for contacting Acme");

    // 6-7. The agent sees the chatroom in the queue, joins, and they chat.
    let (mut console, _) = Client::authenticated(&runner.ws_url(), &agent).await;
    let queue = console.next_where("queue", |q| q["chatrooms"].to_string().contains(&room)).await;
    assert_eq!(queue["chatrooms"][0]["name"], "Vera");
    console.send(json!({"type": "join", "chatroomId": room})).await;
    console.next_where("chatroom", |c| c["chatroomId"] == room.as_str() && c["status"] == "active").await;
    visitor.next_where("chatroom", |c| c["status"] == "active" && c["agent"]["name"] == "Grace").await;
    let texts: Vec<String> =
        ["Hi, my order has not arrived", "Sorry to hear that! What is the order number?", "It is 4711"]
            .map(str::to_owned)
            .into();
    let mut seqs = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let (from, to) = if i % 2 == 0 { (&mut visitor, &mut console) } else { (&mut console, &mut visitor) };
        let seq = from.say(&room, text).await;
        assert_eq!(to.message(text).await["seq"].as_u64(), Some(seq), "both sides agree on the seq");
        seqs.push(seq);
    }
    assert!(seqs.windows(2).all(|w| w[1] > w[0]), "in order: {seqs:?}");

    // 8. Every message is stored: a client that resumes from the start gets them all, in order.
    let (mut again, _) = Client::authenticated(&runner.ws_url(), &agent).await;
    again.send(json!({"type": "resume", "chatroomId": room, "afterSeq": 0})).await;
    again.next_of("resumed").await;
    let stored: Vec<&str> =
        again.seen.iter().filter(|f| f["type"] == "message").filter_map(|f| f["message"].as_str()).collect();
    for text in &texts {
        assert!(stored.contains(&text.as_str()), "{text} is stored: {stored:?}");
    }

    // A forgotten password: the reset email reaches the mailbox and its token works.
    let (status, _) = post(&runner.url("/api/tenant/auth/password-reset"), None, json!({"email": admin_email})).await;
    assert_eq!(status, 202);
    let (_, text) = runner.mail.wait_for(&admin_email, "Reset your Parley password").await;
    let admin_password = "an even better passphrase".to_owned();
    let reset = json!({"token": link_token(&text), "password": admin_password});
    let (status, body) = post(&runner.url("/api/tenant/auth/password-reset/confirm"), None, reset).await;
    assert_eq!(status, 204, "{body}");
    login(runner, &admin_email, &admin_password).await;

    Told { admin_email, admin_password, agent_email, agent_password, chatroom_id: room, texts }
}

/// Logs in; answers the access token.
pub async fn login(runner: &Runner, email: &str, password: &str) -> String {
    let (status, tokens) =
        post(&runner.url("/api/tenant/auth/login"), None, json!({"email": email, "password": password})).await;
    assert_eq!(status, 200, "{email} logs in: {tokens}");
    tokens["accessToken"].as_str().unwrap().to_owned()
}

/// After a restart: the tenant logs in, and the agent finds the chatroom with every message.
pub async fn found_again(runner: &Runner, told: &Told) {
    login(runner, &told.admin_email, &told.admin_password).await;
    let agent = login(runner, &told.agent_email, &told.agent_password).await;
    let (mut console, ready) = Client::authenticated(&runner.ws_url(), &agent).await;
    let held = ready["chatrooms"].as_array().unwrap();
    assert!(held.iter().any(|c| c["chatroomId"] == told.chatroom_id.as_str()), "the agent still holds it: {ready}");
    console.send(json!({"type": "resume", "chatroomId": told.chatroom_id, "afterSeq": 0})).await;
    console.next_of("resumed").await;
    let stored: Vec<&str> =
        console.seen.iter().filter(|f| f["type"] == "message").filter_map(|f| f["message"].as_str()).collect();
    assert_eq!(stored.first(), Some(&GREETING));
    let chat: Vec<&str> = stored.iter().copied().filter(|t| told.texts.iter().any(|x| x == t)).collect();
    assert_eq!(chat, told.texts, "every message, in order");
}

#[tokio::test]
async fn in_memory_the_story_runs_end_to_end() {
    let runner = Runner::start(vec![]).await;
    let told = story(&runner).await;
    // message.sent was produced for each message, after it was emitted.
    let (status, events) = get(&runner.url("/dev/events"), None).await;
    assert_eq!(status, 200);
    let sent: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "message.sent" && e["data"]["chatroomId"] == told.chatroom_id.as_str())
        .filter_map(|e| e["data"]["message"].as_str())
        .collect();
    let mut newest_first = told.texts.clone();
    newest_first.reverse();
    assert_eq!(sent, newest_first, "one message.sent per message");
    assert!(events.to_string().contains("chatroom.created"));
}

#[tokio::test]
async fn on_the_services_the_story_runs_and_a_restart_finds_everything_again() {
    let services = Services::new().await;
    let data_dir = std::env::temp_dir().join(format!("parley-dev-{}", random_string(10)));
    let port = closed_port();
    let runner = Runner::start_on(port, services.env(&data_dir)).await;
    let messages = EventLog::start(&services.kafka, Topic::Messages).await;
    assert!(runner.banner.iter().any(|l| l.contains("storage") && l.contains("MongoDB")), "{:?}", runner.banner);
    let told = story(&runner).await;
    for text in &told.texts {
        messages.wait_for("message.sent", |e| e["data"]["message"] == text.as_str()).await;
    }
    // The mailbox a person opens shows what the local Mailpit received.
    let (status, mails) = get(&runner.url("/dev/mail/messages"), None).await;
    assert_eq!(status, 200);
    let first = &mails[0];
    assert!(first["subject"].as_str().is_some_and(|s| !s.is_empty()) && first["text"].is_string(), "{first}");
    let page = reqwest::get(runner.url("/dev/mail")).await.unwrap().text().await.unwrap();
    assert!(page.contains("from the local Mailpit"), "{page}");
    assert!(runner.interrupt().await, "Ctrl-C stops it cleanly");

    // The same data directory and services: the keys were kept, so the sessions' tokens and
    // the stored data still match.
    let runner = Runner::start_on(port, services.env(&data_dir)).await;
    found_again(&runner, &told).await;
    assert!(runner.interrupt().await);
    std::fs::remove_dir_all(&data_dir).unwrap();
}

/// Where the two checks of a running `scripts/dev` pass what the story stored.
fn told_file() -> std::path::PathBuf {
    std::env::var("PARLEY_DEV_TOLD").expect("PARLEY_DEV_TOLD names a file").into()
}

/// `scripts/test` runs this against `scripts/dev` itself (`scripts/lib/dev_check.sh`): the story
/// on a running Parley.
#[tokio::test]
#[ignore = "needs a running scripts/dev: scripts/lib/dev_check.sh runs it"]
async fn against_scripts_dev_the_story_runs() {
    let told = story(&Runner::running()).await;
    std::fs::write(told_file(), serde_json::to_string(&told).unwrap()).unwrap();
}

/// ...and this after stopping it with Ctrl-C and starting it again.
#[tokio::test]
#[ignore = "needs a restarted scripts/dev: scripts/lib/dev_check.sh runs it"]
async fn against_scripts_dev_a_restart_finds_everything_again() {
    let told: Told = serde_json::from_str(&std::fs::read_to_string(told_file()).unwrap()).unwrap();
    found_again(&Runner::running(), &told).await;
}
