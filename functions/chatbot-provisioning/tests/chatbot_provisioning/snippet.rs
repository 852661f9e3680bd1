//! The embed snippet a tenant pastes into their site: an inline stub that queues the page's
//! `Parley(...)` calls made before the widget arrives, then one `<script async src>` tag loading
//! the widget from the socket-node's public URL with the tenant id and the key. The key is in it only when the
//! key is shown (create, rotate); afterwards the snippet holds the masked key, or says that
//! there is no key.

use serde_json::{Value, json};

use crate::support::*;

/// Where the test apps' widget is served from (`PARLEY_PUBLIC_SOCKET_URL` + `/widget.js`).
fn widget_url() -> String {
    format!("{PUBLIC_SOCKET_URL}/widget.js")
}

fn snippet_path(id: &str) -> String {
    format!("/chatbots/{id}/snippet")
}

fn masked(key: &str) -> String {
    format!("parley_pk_…{}", &key[key.len() - 4..])
}

/// The inline stub: until the loader arrives, `Parley(...)` calls are queued in `Parley.q`.
const STUB: &str = "<script>window.Parley=window.Parley||function(){(Parley.q=Parley.q||[]).push(arguments)};</script>";

/// The `<script src>` tag in `html`, checked to load `widget_url` and to come after the stub
/// (the snippet's only other script).
fn script_tag<'a>(html: &'a str, widget_url: &str) -> &'a str {
    assert_eq!(html.matches("<script").count(), 2, "the stub and the loader: {html}");
    assert_eq!(html.matches("</script>").count(), 2, "the stub and the loader: {html}");
    let stub = html.find(STUB).unwrap_or_else(|| panic!("no stub queueing early calls: {html}"));
    let start = html.find("<script async").expect("the loader's tag");
    assert!(stub < start, "the stub comes first, so calls made before the loader arrives are kept: {html}");
    let tag = &html[start..start + html[start..].find("</script>").unwrap()];
    assert!(tag.contains(&format!("src=\"{widget_url}\"")), "the widget is not loaded from {widget_url}: {html}");
    tag
}

/// The value of `attribute` in a tag.
fn attribute<'a>(tag: &'a str, attribute: &str) -> &'a str {
    let start = tag.find(&format!("{attribute}=\"")).unwrap_or_else(|| panic!("no {attribute} in {tag}"));
    let rest = &tag[start + attribute.len() + 2..];
    &rest[..rest.find('"').unwrap()]
}

async fn get_snippet(app: &TestApp, by: &Account, id: &str) -> Value {
    expect_status(app.get(&snippet_path(id), by.bearer()).await, 200).await
}

#[tokio::test]
async fn the_create_answer_s_snippet_loads_the_widget_with_the_tenant_and_the_key() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    let tag = script_tag(&created.snippet, &widget_url());
    assert_eq!(attribute(tag, "data-tenant-id"), admin.tenant_id);
    assert_eq!(attribute(tag, "data-api-key"), created.api_key);
    assert!(tag.contains(" async"), "the widget should load without blocking the page: {tag}");

    // The key in the snippet is one the widget check accepts.
    let tenant = attribute(tag, "data-tenant-id").parse().unwrap();
    let key = attribute(tag, "data-api-key");
    let chatbot = app.access().await.verify(&tenant, key, Some("https://www.example.com")).await.unwrap();
    assert_eq!(chatbot.id.to_string(), created.id);
}

#[tokio::test]
async fn the_snippet_read_later_holds_the_masked_key_and_never_the_key() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    let snippet = get_snippet(&app, &admin, &created.id).await;

    let placeholder = masked(&created.api_key);
    assert_eq!(snippet["apiKeyPlaceholder"], placeholder.as_str());
    assert_eq!(snippet["apiKeyPlaceholder"], created.chatbot["apiKey"]["masked"]);
    assert_eq!(snippet["widgetUrl"], widget_url().as_str());
    assert_eq!(snippet["tenantId"], admin.tenant_id);
    let html = snippet["html"].as_str().expect("html");
    let tag = script_tag(html, &widget_url());
    assert_eq!(attribute(tag, "data-api-key"), placeholder);
    assert_eq!(attribute(tag, "data-tenant-id"), admin.tenant_id);
    // The same snippet as at creation, with the placeholder where the key was.
    assert_eq!(html, created.snippet.replace(&created.api_key, &placeholder));
    assert!(!snippet.to_string().contains(&created.api_key), "the key is shown again: {snippet}");
}

#[tokio::test]
async fn after_a_rotation_the_snippet_holds_the_new_key() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    let rotate = format!("/chatbots/{}/api-key/rotate", created.id);
    let rotated = expect_status(app.post(&rotate, admin.bearer(), json!({ "graceSeconds": 60 })).await, 200).await;
    let new_key = rotated["apiKey"].as_str().expect("the new key");
    assert_ne!(new_key, created.api_key);

    let snippet = rotated["snippet"].as_str().expect("the rotate answer carries the snippet");
    let tag = script_tag(snippet, &widget_url());
    assert_eq!(attribute(tag, "data-api-key"), new_key);
    assert_eq!(attribute(tag, "data-tenant-id"), admin.tenant_id);
    assert!(!snippet.contains(&created.api_key), "{snippet}");

    let later = get_snippet(&app, &admin, &created.id).await;
    assert_eq!(later["apiKeyPlaceholder"], masked(new_key).as_str());
    assert_eq!(attribute(script_tag(later["html"].as_str().unwrap(), &widget_url()), "data-api-key"), masked(new_key));
    assert!(!later.to_string().contains(new_key), "{later}");
}

#[tokio::test]
async fn after_a_revocation_the_snippet_says_there_is_no_active_key_until_the_next_rotation() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    let revoke = format!("/chatbots/{}/api-key/revoke", created.id);
    expect_status(app.post(&revoke, admin.bearer(), json!({})).await, 200).await;

    let snippet = get_snippet(&app, &admin, &created.id).await;
    let placeholder = snippet["apiKeyPlaceholder"].as_str().expect("a placeholder");
    assert!(placeholder.contains("NO_ACTIVE_KEY"), "the placeholder does not say there is no key: {placeholder}");
    assert!(!placeholder.starts_with("parley_pk_"), "the placeholder looks like a key: {placeholder}");
    let tag = script_tag(snippet["html"].as_str().unwrap(), &widget_url());
    assert_eq!(attribute(tag, "data-api-key"), placeholder);
    assert_eq!(attribute(tag, "data-tenant-id"), admin.tenant_id);

    let rotate = format!("/chatbots/{}/api-key/rotate", created.id);
    let rotated = expect_status(app.post(&rotate, admin.bearer(), json!({})).await, 200).await;
    let new_key = rotated["apiKey"].as_str().unwrap();
    assert_eq!(get_snippet(&app, &admin, &created.id).await["apiKeyPlaceholder"], masked(new_key).as_str());
}

#[tokio::test]
async fn the_widget_url_follows_the_configured_public_socket_url() {
    let app = spawn_app_with(&[("PARLEY_PUBLIC_SOCKET_URL", "https://cdn.example.com/parley/")]).await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    let widget = "https://cdn.example.com/parley/widget.js";
    script_tag(&created.snippet, widget);
    let snippet = get_snippet(&app, &admin, &created.id).await;
    assert_eq!(snippet["widgetUrl"], widget);
    script_tag(snippet["html"].as_str().unwrap(), widget);
}
