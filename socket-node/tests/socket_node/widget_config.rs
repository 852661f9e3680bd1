//! `POST /v1/widget/config`: what the loader reads, on a tenant's page, to draw the launcher;
//! refused exactly as the widget check refuses a session.

use serde_json::{Value, json};

use crate::support::*;

/// Asks for the widget's configuration from a page of `origin` and answers the status and body;
/// no answer ever shows the key, and none may be kept by a cache.
async fn config(node: &TestNode, origin: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = node.api.request(reqwest::Method::POST, "/v1/widget/config", anonymous()).json(body);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await.expect("an answer");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    if let Some(key) = body["apiKey"].as_str() {
        assert!(!text.contains(key), "the answer shows the API key: {text}");
    }
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn body(tenant: &Tenant) -> Value {
    json!({"tenantId": tenant.admin.tenant_id, "apiKey": tenant.api_key})
}

fn assert_refused((status, body): &(u16, Value), expected: (u16, &str)) {
    assert_eq!((*status, body["code"].as_str().unwrap_or_default()), expected, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

#[tokio::test]
async fn a_page_of_an_allowed_origin_gets_the_chatbots_name_and_look() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let settings = json!({"colour": "#0f766e", "position": "bottom-left", "launcherText": "Questions?"});
    let path = format!("/chatbots/{}", tenant.chatbot_id);
    expect_status(cluster.chatbots.patch(&path, tenant.admin.bearer(), json!({"settings": settings})).await, 200).await;

    let (status, answer) = config(cluster.node(0), Some(ORIGIN), &body(&tenant)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({
            "chatbotId": tenant.chatbot_id,
            "name": "Support",
            "settings": {
                "greeting": "Hi! A live agent will join shortly.",
                "colour": "#0f766e",
                "position": "bottom-left",
                "launcherText": "Questions?",
            },
            "enforceIdentity": false,
        })
    );

    // The browser may read it from the tenant's page: the preflight and the answer name the page.
    let preflight = cluster
        .node(1)
        .api
        .request(reqwest::Method::OPTIONS, "/v1/widget/config", anonymous())
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], ORIGIN);
    assert!(preflight.headers()["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    let answer = cluster
        .node(1)
        .api
        .request(reqwest::Method::POST, "/v1/widget/config", anonymous())
        .header("origin", ORIGIN)
        .json(&body(&tenant))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["access-control-allow-origin"], ORIGIN);
}

#[tokio::test]
async fn the_widget_check_refusals_are_the_only_ones_and_each_shows_at_once() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let node = cluster.node(0);
    let good = body(&tenant);

    assert_refused(&config(node, Some("https://evil.example.org"), &good).await, (403, "origin_not_allowed"));
    assert_refused(&config(node, None, &good).await, (403, "origin_not_allowed"));
    let mut malformed = good.clone();
    malformed["apiKey"] = json!("parley_pk_0123456789");
    assert_refused(&config(node, Some(ORIGIN), &malformed).await, (401, "api_key_invalid"));
    let mut unknown_field = good.clone();
    unknown_field["name"] = json!("Ada");
    let refused = config(node, Some(ORIGIN), &unknown_field).await;
    assert_refused(&refused, (422, "invalid_body"));
    assert!(refused.1["message"].as_str().unwrap().contains("name"), "{}", refused.1);

    // An admin disables the chatbot: the next page load is refused; enabled again, it works.
    let path = format!("/chatbots/{}", tenant.chatbot_id);
    let admin = tenant.admin.bearer();
    expect_status(cluster.chatbots.patch(&path, admin, json!({"status": "disabled"})).await, 200).await;
    assert_refused(&config(node, Some(ORIGIN), &good).await, (403, "chatbot_disabled"));
    expect_status(cluster.chatbots.patch(&path, admin, json!({"status": "active"})).await, 200).await;
    assert_eq!(config(node, Some(ORIGIN), &good).await.0, 200);

    // Revoked: the old snippet's key is refused as revoked, on either node.
    expect_status(cluster.chatbots.post(&format!("{path}/api-key/revoke"), admin, json!({})).await, 200).await;
    assert_refused(&config(node, Some(ORIGIN), &good).await, (401, "api_key_revoked"));
    assert_refused(&config(cluster.node(1), Some(ORIGIN), &good).await, (401, "api_key_revoked"));
}
