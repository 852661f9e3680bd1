//! Where a widget may be embedded: the `Origin` a browser sends, checked by the widget check
//! against the chatbot's allowed origins (exact, `https://*.domain`, or `*`).

use serde_json::json;
use shared::auth::ChatbotAccess;

use crate::support::*;

/// A chatbot allowed on `origins`, its key, and a widget check to ask.
async fn chatbot_allowed_on(app: &TestApp, admin: &Account, origins: &[&str]) -> (Created, ChatbotAccess) {
    let created = create_chatbot_with(app, admin, json!({ "name": "Support", "allowedOrigins": origins })).await;
    (created, app.access().await)
}

/// Checks the widget check allows exactly the `allowed` origins and refuses the `refused` ones
/// with `origin_not_allowed`.
async fn assert_origins(
    access: &ChatbotAccess,
    admin: &Account,
    created: &Created,
    allowed: &[Option<&str>],
    refused: &[Option<&str>],
) {
    for origin in allowed {
        let answer = widget_check(access, admin, &created.api_key, *origin).await;
        assert_eq!(answer, Ok(created.id.clone()), "origin {origin:?} should be allowed");
    }
    for origin in refused {
        let answer = widget_check(access, admin, &created.api_key, *origin).await;
        assert_eq!(answer, Err("origin_not_allowed"), "origin {origin:?} should be refused");
    }
}

#[tokio::test]
async fn an_exact_origin_matches_its_scheme_host_and_port_only() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let (created, access) = chatbot_allowed_on(&app, &admin, &["https://www.example.com"]).await;
    let allowed = [Some("https://www.example.com"), Some("https://www.example.com:443")];
    let refused = [
        Some("http://www.example.com"),
        Some("https://www.example.com:8443"),
        Some("https://example.com"),
        Some("https://app.example.com"),
        Some("https://www.example.com.evil.net"),
    ];
    assert_origins(&access, &admin, &created, &allowed, &refused).await;
}

#[tokio::test]
async fn a_wildcard_matches_subdomains_only() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let (created, access) = chatbot_allowed_on(&app, &admin, &["https://*.example.com"]).await;
    let allowed =
        [Some("https://app.example.com"), Some("https://a.b.example.com"), Some("https://www.example.com:443")];
    let refused = [
        Some("https://example.com"),
        Some("https://example.com.evil.net"),
        Some("https://evilexample.com"),
        Some("https://app.example.com.evil.net"),
        Some("http://app.example.com"),
        Some("https://app.example.com:8443"),
    ];
    assert_origins(&access, &admin, &created, &allowed, &refused).await;
}

#[tokio::test]
async fn a_localhost_origin_with_a_port_is_matched_exactly() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let (created, access) = chatbot_allowed_on(&app, &admin, &["http://localhost:3000"]).await;
    let refused = [
        Some("http://localhost:3001"),
        Some("https://localhost:3000"),
        Some("http://localhost"),
        Some("http://127.0.0.1:3000"),
    ];
    assert_origins(&access, &admin, &created, &[Some("http://localhost:3000")], &refused).await;
}

#[tokio::test]
async fn no_origin_or_a_null_origin_is_refused_unless_every_origin_is_allowed() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let (created, access) =
        chatbot_allowed_on(&app, &admin, &["https://www.example.com", "https://*.example.com"]).await;
    assert_origins(&access, &admin, &created, &[Some("https://www.example.com")], &[None, Some("null")]).await;

    let body = json!({ "allowedOrigins": ["*"] });
    expect_status(app.patch(&format!("/chatbots/{}", created.id), admin.bearer(), body).await, 200).await;
    let anywhere = [None, Some("null"), Some("https://www.example.com"), Some("http://elsewhere.test:8080")];
    assert_origins(&access, &admin, &created, &anywhere, &[]).await;
}

#[tokio::test]
async fn origins_changed_by_patch_take_effect() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let (created, access) = chatbot_allowed_on(&app, &admin, &["https://www.example.com"]).await;
    assert_origins(&access, &admin, &created, &[Some("https://www.example.com")], &[Some("https://shop.example.org")])
        .await;
    let path = format!("/chatbots/{}", created.id);

    let body = json!({ "allowedOrigins": ["https://shop.example.org"] });
    expect_status(app.patch(&path, admin.bearer(), body).await, 200).await;
    assert_origins(&access, &admin, &created, &[Some("https://shop.example.org")], &[Some("https://www.example.com")])
        .await;

    expect_status(app.patch(&path, admin.bearer(), json!({ "allowedOrigins": [] })).await, 200).await;
    let nowhere = [Some("https://shop.example.org"), Some("https://www.example.com"), None, Some("null")];
    assert_origins(&access, &admin, &created, &[], &nowhere).await;
}
