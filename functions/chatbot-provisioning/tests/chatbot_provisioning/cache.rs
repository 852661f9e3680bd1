//! The widget check's Redis cache, as the socket-node sees it: `app.access()` is another process
//! with its own connections. Each test first has it cache the chatbot (so that, without
//! invalidation, its next check would be answered from the stale copy), then changes the chatbot
//! through another server (`app.sibling()`), and expects the very next check to see the change.

use bson::doc;
use serde_json::json;
use shared::auth::{ChatbotAccess, VisitorIdentity};

use crate::support::*;

/// Runs the widget check for `key` from `origin` so that `access` caches the chatbot, and checks
/// that the cache now holds the chatbot itself. A tombstone left by an earlier change (it lives
/// 10 s and keeps readers from caching) is deleted first, as if it had expired.
async fn check_and_cache(
    app: &TestApp,
    access: &ChatbotAccess,
    by: &Account,
    id: &str,
    key: &str,
    origin: Option<&str>,
) -> Result<String, &'static str> {
    forget_cache_entry(app, id).await;
    let answer = widget_check(access, by, key, origin).await;
    let entry = cache_entry(app, id).await.unwrap_or_else(|| panic!("chatbot {id} was not cached"));
    let cached: serde_json::Value =
        serde_json::from_str(&entry).unwrap_or_else(|_| panic!("the cache holds {entry:?}, not a chatbot"));
    assert_eq!(cached["_id"], id, "the cache holds another chatbot: {entry}");
    answer
}

#[tokio::test]
async fn a_cached_chatbot_is_served_until_its_entry_goes() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let access = app.access().await;
    let created = create_chatbot(&app, &admin).await;
    let opened = Ok(created.id.clone());
    let cached = check_and_cache(&app, &access, &admin, &created.id, &created.api_key, Some(ALLOWED_ORIGIN)).await;
    assert_eq!(cached, opened);

    // Disabled behind the API's back: nothing invalidates, so the cached copy still answers.
    // This is what the other tests rely on: without invalidation, their next check would be stale.
    let result = app
        .db
        .db
        .collection::<bson::Document>("chatbots")
        .update_one(doc! { "_id": &created.id }, doc! { "$set": { "status": "disabled" } })
        .await
        .expect("disable the chatbot in MongoDB");
    assert_eq!(result.modified_count, 1);
    assert_eq!(check_key(&access, &admin, &created.api_key).await, opened);
    forget_cache_entry(&app, &created.id).await;
    assert_eq!(check_key(&access, &admin, &created.api_key).await, Err("chatbot_disabled"));
}

#[tokio::test]
async fn with_the_cache_empty_the_check_reads_mongodb_and_caches_again() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let access = app.access().await;
    let created = create_chatbot(&app, &admin).await;
    let opened = Ok(created.id.clone());
    assert_eq!(
        check_and_cache(&app, &access, &admin, &created.id, &created.api_key, Some(ALLOWED_ORIGIN)).await,
        opened
    );

    let mut conn = app.redis.redis.conn.clone();
    let pattern = format!("{}*", app.redis.redis.keys.prefix());
    let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query_async(&mut conn).await.expect("KEYS");
    assert!(!keys.is_empty());
    let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.expect("DEL");
    assert_eq!(cache_entry(&app, &created.id).await, None);

    assert_eq!(check_key(&access, &admin, &created.api_key).await, opened);
    assert!(cache_entry(&app, &created.id).await.is_some(), "the chatbot was not cached again");
}

/// A chatbot, the widget check of another process that has it cached, and a second server to
/// change it through.
struct Cached {
    /// Keeps the test's database and Redis prefix alive: bind it (`app: _app`), never drop it.
    app: TestApp,
    admin: Account,
    access: ChatbotAccess,
    sibling: shared::testing::Api,
    created: Created,
}

async fn cached_on_another_server() -> Cached {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let (access, sibling) = (app.access().await, app.sibling().await);
    let created = create_chatbot(&app, &admin).await;
    let cached = check_and_cache(&app, &access, &admin, &created.id, &created.api_key, Some(ALLOWED_ORIGIN)).await;
    assert_eq!(cached, Ok(created.id.clone()));
    Cached { app, admin, access, sibling, created }
}

#[tokio::test]
async fn a_key_revoked_on_another_server_is_refused_on_the_next_check() {
    let Cached { app: _app, admin, access, sibling, created } = cached_on_another_server().await;
    revoke_key(&sibling, &admin, &created.id).await;
    assert_eq!(check_key(&access, &admin, &created.api_key).await, Err("api_key_revoked"));
}

#[tokio::test]
async fn a_rotation_without_grace_on_another_server_is_seen_on_the_next_check() {
    let Cached { app: _app, admin, access, sibling, created } = cached_on_another_server().await;
    let key = new_key(&rotate_key(&sibling, &admin, &created.id, Some(json!({ "graceSeconds": 0 }))).await);
    assert_eq!(check_key(&access, &admin, &created.api_key).await, Err("api_key_revoked"));
    assert_eq!(check_key(&access, &admin, &key).await, Ok(created.id.clone()));
}

#[tokio::test]
async fn disabling_and_enabling_on_another_server_is_seen_on_the_next_check() {
    let Cached { app, admin, access, sibling, created } = cached_on_another_server().await;
    let path = format!("/chatbots/{}", created.id);
    let origin = Some(ALLOWED_ORIGIN);

    expect_status(sibling.patch(&path, admin.bearer(), json!({ "status": "disabled" })).await, 200).await;
    assert_eq!(check_key(&access, &admin, &created.api_key).await, Err("chatbot_disabled"));

    let cached = check_and_cache(&app, &access, &admin, &created.id, &created.api_key, origin).await;
    assert_eq!(cached, Err("chatbot_disabled"));
    expect_status(sibling.patch(&path, admin.bearer(), json!({ "status": "active" })).await, 200).await;
    assert_eq!(check_key(&access, &admin, &created.api_key).await, Ok(created.id.clone()));
}

#[tokio::test]
async fn origins_changed_on_another_server_are_seen_on_the_next_check() {
    let Cached { app: _app, admin, access, sibling, created } = cached_on_another_server().await;
    let origin = Some(ALLOWED_ORIGIN);

    let body = json!({ "allowedOrigins": ["https://shop.example.org"] });
    expect_status(sibling.patch(&format!("/chatbots/{}", created.id), admin.bearer(), body).await, 200).await;
    assert_eq!(widget_check(&access, &admin, &created.api_key, origin).await, Err("origin_not_allowed"));
    let moved = widget_check(&access, &admin, &created.api_key, Some("https://shop.example.org")).await;
    assert_eq!(moved, Ok(created.id.clone()));
}

#[tokio::test]
async fn a_chatbot_deleted_on_another_server_is_refused_on_the_next_check() {
    let Cached { app: _app, admin, access, sibling, created } = cached_on_another_server().await;
    expect_status(sibling.delete(&format!("/chatbots/{}", created.id), admin.bearer()).await, 204).await;
    assert_eq!(check_key(&access, &admin, &created.api_key).await, Err("api_key_invalid"));
}

#[tokio::test]
async fn an_identity_secret_rotated_on_another_server_is_seen_on_the_next_check() {
    let Cached { app: _app, admin, access, sibling, created } = cached_on_another_server().await;
    let email = "visitor@example.net";
    let old_signature = sign(&created.identity_secret, email);
    let before = identity_check(&access, &admin, &created.api_key, email, Some(&old_signature)).await;
    assert_eq!(before, Ok(VisitorIdentity::Verified));

    let rotated = rotate_identity_secret(&sibling, &admin, &created.id).await;
    let secret = rotated["identitySecret"].as_str().expect("identitySecret");
    let after = identity_check(&access, &admin, &created.api_key, email, Some(&old_signature)).await;
    assert_eq!(after, Err("identity_invalid"));
    let new_signature = sign(secret, email);
    let with_new = identity_check(&access, &admin, &created.api_key, email, Some(&new_signature)).await;
    assert_eq!(with_new, Ok(VisitorIdentity::Verified));
}
