//! Blocks, as moderators see them: `GET /blocks` lists the tenant's (newest first, a page at a
//! time, per chatbot on request) with who blocked; `DELETE /blocks/{id}` lifts one and publishes
//! `block.lifted`; only `chatrooms:moderate` reaches either, and only for the caller's tenant.
//!
//! The blocks are stored as the socket-node stores them (`BlockRepo::insert` on the test's
//! database); the socket-node's tests block through the WebSocket and lift through this API.

use serde_json::Value;
use shared::{
    domain::{Block, ChatbotId, ChatroomId, EmailAddress, Timestamp, UserId},
    events::Topic,
    repos::Repos,
    testing::EventLog,
};

use crate::support::*;

/// Stores a block of `chatbot` by `by` (a user id), made `ago_ms` milliseconds before now.
pub async fn block(app: &TestApp, tenant: &Account, chatbot: &str, email: &str, by: &str, ago_ms: i64) -> Block {
    let at = Timestamp::from_unix_millis(Timestamp::now().unix_millis() - ago_ms);
    let email: EmailAddress = email.parse().unwrap();
    let block = Block::new(
        tenant.tenant_id.parse().unwrap(),
        chatbot.parse().unwrap(),
        ChatroomId::new(),
        email,
        "198.51.100.23".into(),
        by.parse().unwrap(),
        at,
    );
    Repos::mongo(&app.db.db).blocks.insert(&block).await.expect("the block is stored");
    block
}

/// Whether the socket-node would refuse a session of `email` from another address.
async fn blocked(app: &TestApp, b: &Block, email: &str) -> bool {
    let email = email.parse().unwrap();
    Repos::mongo(&app.db.db).blocks.is_blocked(&b.tenant_id, &b.chatbot_id, &email, "192.0.2.1").await.unwrap()
}

async fn list(app: &TestApp, by: &Account, query: &str) -> Value {
    expect_status(app.get(&format!("/blocks{query}"), by.bearer()).await, 200).await
}

fn ids(page: &Value) -> Vec<String> {
    page["blocks"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_moderator_lists_the_tenant_s_blocks_newest_first_with_who_blocked_a_page_at_a_time() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let support = create_chatbot_with(&app, &admin, chatbot_body("Support")).await;
    let sales = create_chatbot_with(&app, &admin, chatbot_body("Sales")).await;
    let moderator = user_with(&app, &admin, &["chatrooms:moderate"]).await;
    let stranger = crate::support::admin(&app).await;
    let oldest = block(&app, &admin, &support.id, "old@example.net", &admin.user_id, 3000).await;
    let of_sales = block(&app, &admin, &sales.id, "sales@example.net", &moderator.user_id, 2000).await;
    let newest = block(&app, &admin, &support.id, "new@example.net", &UserId::new().to_string(), 1000).await;
    block(&app, &stranger, &ChatbotId::new().to_string(), "theirs@example.net", &stranger.user_id, 500).await;

    let page = list(&app, &moderator, "").await;
    assert_eq!(ids(&page), [newest.id, of_sales.id, oldest.id].map(|id| id.to_string()), "{page}");
    assert_eq!(page["next"], Value::Null, "one page holds them all");
    let first = &page["blocks"][2];
    assert_eq!(first["chatbotId"], support.id);
    assert_eq!(first["chatbotName"], "Support");
    assert_eq!(first["chatroomId"], oldest.chatroom_id.to_string());
    assert_eq!(first["email"], "old@example.net");
    assert_eq!(first["ip"], "198.51.100.23");
    assert_eq!(first["blockedBy"]["id"], admin.user_id);
    assert_eq!(first["blockedBy"]["name"], "Ada Admin");
    assert_eq!(
        instant(&first["createdAt"]).unix_timestamp_nanos() / 1_000_000,
        i128::from(oldest.created_at.unix_millis())
    );
    assert_eq!(page["blocks"][0]["blockedBy"]["name"], Value::Null, "an agent deleted since has no name");

    // Pages of one, each from the `next` of the one before.
    let mut paged = Vec::new();
    let mut query = "?limit=1".to_owned();
    loop {
        let page = list(&app, &moderator, &query).await;
        paged.extend(ids(&page));
        match page["next"].as_str() {
            Some(next) => query = format!("?limit=1&before={next}"),
            None => break,
        }
    }
    assert_eq!(paged, ids(&list(&app, &moderator, "").await));

    // One chatbot's; an unknown chatbot has none.
    let support_page = list(&app, &moderator, &format!("?chatbotId={}", support.id)).await;
    assert_eq!(ids(&support_page), [newest.id, oldest.id].map(|id| id.to_string()));
    assert_eq!(ids(&list(&app, &moderator, &format!("?chatbotId={}", ChatbotId::new())).await), Vec::<String>::new());

    for bad in ["?limit=0", "?limit=101", "?limit=ten", "?chatbotId=42", "?before=yesterday"] {
        assert_error(app.get(&format!("/blocks{bad}"), moderator.bearer()).await, 400, "invalid_query").await;
    }
}

#[tokio::test]
async fn lifting_a_block_lets_the_visitor_back_and_publishes_block_lifted_once() {
    let app = spawn_app().await;
    let chatrooms = EventLog::start(&app.kafka, Topic::Chatrooms).await;
    let admin = admin(&app).await;
    let chatbot = create_chatbot(&app, &admin).await;
    let moderator = user_with(&app, &admin, &["chatrooms:moderate"]).await;
    let b = block(&app, &admin, &chatbot.id, "mallory@example.net", &admin.user_id, 0).await;
    assert!(blocked(&app, &b, "mallory@example.net").await);

    let path = format!("/blocks/{}", b.id);
    expect_status(app.delete(&path, moderator.bearer()).await, 204).await;
    assert!(!blocked(&app, &b, "mallory@example.net").await, "the visitor may open a session again");
    assert_eq!(ids(&list(&app, &moderator, "").await), Vec::<String>::new());

    let lifted = chatrooms.wait_for("block.lifted", |e| e["data"]["blockId"] == b.id.to_string()).await;
    assert_eq!(lifted["tenantId"], admin.tenant_id);
    let data = &lifted["data"];
    assert_eq!(data["chatbotId"], chatbot.id);
    assert_eq!(data["chatroomId"], b.chatroom_id.to_string());
    assert_eq!(data["email"], "mallory@example.net");
    assert_eq!(data["ip"], "198.51.100.23");
    assert_eq!(data["blockedBy"], admin.user_id);
    assert_eq!(data["liftedBy"], moderator.user_id);
    let key = chatrooms.key_of(lifted["id"].as_str().unwrap());
    assert_eq!(key, Some(b.chatroom_id.to_string()), "on the blocked chatroom's partition");

    // Lifted already, never existed, or not an id: 404, and no second event.
    assert_error(app.delete(&path, moderator.bearer()).await, 404, "block_not_found").await;
    assert_error(app.delete(&format!("/blocks/{}", ChatroomId::new()), admin.bearer()).await, 404, "block_not_found")
        .await;
    assert_error(app.delete("/blocks/not-an-id", admin.bearer()).await, 404, "block_not_found").await;
    chatrooms.caught_up().await;
    assert_eq!(chatrooms.of_type("block.lifted").len(), 1);
}

#[tokio::test]
async fn another_tenant_neither_sees_nor_lifts_a_block() {
    let app = spawn_app().await;
    let a = admin(&app).await;
    let b = admin(&app).await;
    let chatbot = create_chatbot(&app, &a).await;
    let a_block = block(&app, &a, &chatbot.id, "mallory@example.net", &a.user_id, 0).await;

    assert_eq!(ids(&list(&app, &b, "").await), Vec::<String>::new());
    assert_eq!(ids(&list(&app, &b, &format!("?chatbotId={}", chatbot.id)).await), Vec::<String>::new());
    let answer =
        assert_error(app.delete(&format!("/blocks/{}", a_block.id), b.bearer()).await, 404, "block_not_found").await;
    assert!(!answer.to_string().contains("mallory"), "{answer}");
    assert!(blocked(&app, &a_block, "mallory@example.net").await, "still blocked");
    assert_eq!(ids(&list(&app, &a, "").await), [a_block.id.to_string()]);
}

#[tokio::test]
async fn only_chatrooms_moderate_reaches_the_blocks() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let chatbot = create_chatbot(&app, &admin).await;
    let b = block(&app, &admin, &chatbot.id, "mallory@example.net", &admin.user_id, 0).await;
    let agent = agent(&app, &admin).await;
    let manager = user_with(&app, &admin, &["chatbots:manage", "chatrooms:join"]).await;
    let path = format!("/blocks/{}", b.id);

    for caller in [&agent, &manager] {
        for response in [app.get("/blocks", caller.bearer()).await, app.delete(&path, caller.bearer()).await] {
            let body = assert_error(response, 403, "permission_denied").await;
            assert!(body["message"].as_str().unwrap().contains("chatrooms:moderate"), "{body}");
        }
    }
    assert_error(app.get("/blocks", anonymous()).await, 401, "missing_token").await;
    assert_error(app.delete(&path, anonymous()).await, 401, "missing_token").await;
    assert!(blocked(&app, &b, "mallory@example.net").await, "nobody without the permission lifted it");

    // The admin holds every permission.
    assert_eq!(ids(&list(&app, &admin, "").await), [b.id.to_string()]);
    expect_status(app.delete(&path, admin.bearer()).await, 204).await;
}
