//! `GET /openapi.json`: the document that describes every route of the chatbot-provisioning
//! function, and how to authenticate to it; and its committed copy
//! (`socket-node/web/console/api/chatbots.openapi.json`) the console is typed from.

use serde_json::Value;

use crate::support::{anonymous, expect_status, spawn_app};

/// The routes of docs/protocol.md's table.
const ROUTES: [(&str, &str); 11] = [
    ("get", "/chatbots"),
    ("post", "/chatbots"),
    ("get", "/chatbots/{id}"),
    ("patch", "/chatbots/{id}"),
    ("delete", "/chatbots/{id}"),
    ("post", "/chatbots/{id}/api-key/rotate"),
    ("post", "/chatbots/{id}/api-key/revoke"),
    ("post", "/chatbots/{id}/identity-secret/rotate"),
    ("get", "/chatbots/{id}/snippet"),
    ("get", "/blocks"),
    ("delete", "/blocks/{id}"),
];

async fn document() -> Value {
    let app = spawn_app().await;
    let response = app.get("/openapi.json", anonymous()).await;
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    assert!(content_type.as_deref().is_some_and(|c| c.starts_with("application/json")), "{content_type:?}");
    expect_status(response, 200).await
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_and_nothing_else() {
    let document = document().await;
    assert!(
        document["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")),
        "not OpenAPI 3.1: {}",
        document["openapi"]
    );
    assert!(document["info"]["title"].as_str().is_some_and(|t| !t.is_empty()), "{}", document["info"]);

    let paths = document["paths"].as_object().expect("paths");
    let missing: Vec<String> = ROUTES
        .iter()
        .filter(|(method, path)| paths.get(*path).and_then(|item| item.get(*method)).is_none())
        .map(|(method, path)| format!("{} {path}", method.to_uppercase()))
        .collect();
    assert!(missing.is_empty(), "not described: {missing:?}; the document has {:?}", paths.keys().collect::<Vec<_>>());

    for (path, item) in paths {
        for method in item.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let known =
                ROUTES.iter().any(|(m, p)| *m == method && p == path) || path == "/healthz" || path == "/openapi.json";
            assert!(known, "{} {path} is documented but not in the API", method.to_uppercase());
        }
    }
}

#[tokio::test]
async fn every_route_asks_for_a_bearer_token_and_says_what_it_answers() {
    let document = document().await;
    let scheme = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(scheme["scheme"].as_str().map(str::to_lowercase).as_deref(), Some("bearer"), "{scheme}");

    for (method, path) in ROUTES {
        let operation = &document["paths"][path][method];
        let what = format!("{} {path}", method.to_uppercase());
        let security = operation["security"].as_array().unwrap_or_else(|| panic!("{what} names no security"));
        assert!(security.iter().any(|s| s.get("bearer").is_some()), "{what} does not ask for the bearer token");
        let responses = operation["responses"].as_object();
        assert!(responses.is_some_and(|r| !r.is_empty()), "{what} documents no responses: {operation}");
    }
    let responses = |method: &str, path: &str| document["paths"][path][method]["responses"].clone();
    assert!(responses("post", "/chatbots")["201"].is_object(), "POST /chatbots does not document its 201");
    assert!(responses("delete", "/chatbots/{id}")["204"].is_object(), "DELETE does not document its 204");
    assert!(responses("get", "/chatbots/{id}")["404"].is_object(), "GET does not document chatbot_not_found");
    assert!(responses("delete", "/blocks/{id}")["404"].is_object(), "DELETE /blocks does not document block_not_found");
    assert!(responses("get", "/blocks")["403"].is_object(), "GET /blocks does not document permission_denied");
    let rotate = responses("post", "/chatbots/{id}/api-key/rotate");
    assert!(rotate["200"].is_object() && rotate["422"].is_object(), "rotate: {rotate}");
}

/// No services needed: the document is built from the code.
#[test]
fn the_committed_openapi_document_is_current() {
    use utoipa::OpenApi as _;
    shared::testing::openapi::assert_committed(
        &chatbot_provisioning::ApiDoc::openapi(),
        "chatbots",
        "chatbot-provisioning",
    );
}
