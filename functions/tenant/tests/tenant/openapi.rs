//! `GET /openapi.json`: the document that describes every route of the tenant function, and its
//! committed copy (`socket-node/web/console/api/tenant.openapi.json`) the console is typed from.

use serde_json::Value;

use crate::support::{anonymous, expect_status, spawn_app};

/// The routes of docs/protocol.md's table.
const ROUTES: [(&str, &str); 20] = [
    ("post", "/tenants"),
    ("post", "/auth/login"),
    ("post", "/auth/refresh"),
    ("post", "/auth/logout"),
    ("post", "/auth/password-reset"),
    ("post", "/auth/password-reset/confirm"),
    ("get", "/me"),
    ("get", "/tenant"),
    ("patch", "/tenant"),
    ("get", "/permissions"),
    ("get", "/users"),
    ("post", "/users"),
    ("get", "/users/{id}"),
    ("patch", "/users/{id}"),
    ("delete", "/users/{id}"),
    ("get", "/roles"),
    ("post", "/roles"),
    ("get", "/roles/{id}"),
    ("patch", "/roles/{id}"),
    ("delete", "/roles/{id}"),
];

#[tokio::test]
async fn the_openapi_document_describes_every_route_of_the_api() {
    let app = spawn_app().await;
    let response = app.get("/openapi.json", anonymous()).await;
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    assert!(content_type.as_deref().is_some_and(|c| c.starts_with("application/json")), "{content_type:?}");
    let document = expect_status(response, 200).await;
    assert!(
        document["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")),
        "not OpenAPI 3.1: {}",
        document["openapi"]
    );
    assert!(document["info"]["title"].as_str().is_some_and(|t| !t.is_empty()), "{}", document["info"]);

    let paths = document["paths"].as_object().expect("paths");
    let mut missing = Vec::new();
    for (method, path) in ROUTES {
        if paths.get(path).and_then(|item| item.get(method)).is_none() {
            missing.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert!(missing.is_empty(), "not described: {missing:?}; the document has {:?}", paths.keys().collect::<Vec<_>>());
    // And nothing that is not served.
    let documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
            methods.into_iter().map(move |m| (m, path.clone()))
        })
        .filter(|(m, _)| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
        .collect();
    for (method, path) in &documented {
        let known =
            ROUTES.iter().any(|(m, p)| m == method && p == path) || path == "/healthz" || path == "/openapi.json";
        assert!(known, "{} {path} is documented but not in the API", method.to_uppercase());
    }
}

#[tokio::test]
async fn the_documented_operations_say_what_they_answer() {
    let app = spawn_app().await;
    let document = expect_status(app.get("/openapi.json", anonymous()).await, 200).await;
    for (method, path) in ROUTES {
        let operation: &Value = &document["paths"][path][method];
        let responses = operation["responses"].as_object();
        assert!(
            responses.is_some_and(|r| !r.is_empty()),
            "{} {path} documents no responses: {operation}",
            method.to_uppercase()
        );
    }
    let login_success = &document["paths"]["/auth/login"]["post"]["responses"]["200"];
    assert!(login_success.is_object(), "POST /auth/login does not document its 200: {login_success}");
    let created = &document["paths"]["/tenants"]["post"]["responses"]["201"];
    assert!(created.is_object(), "POST /tenants does not document its 201: {created}");
}

#[tokio::test]
async fn the_auth_routes_document_cookie_mode() {
    let app = spawn_app().await;
    let document = expect_status(app.get("/openapi.json", anonymous()).await, 200).await;
    let parameter = |method: &str, path: &str, place: &str, name: &str| {
        let parameters = document["paths"][path][method]["parameters"].as_array().cloned().unwrap_or_default();
        parameters.into_iter().find(|p| p["in"] == place && p["name"] == name)
    };
    for (method, path) in
        [("post", "/tenants"), ("post", "/auth/login"), ("post", "/auth/refresh"), ("post", "/auth/logout")]
    {
        let header = parameter(method, path, "header", "X-Parley-Refresh")
            .unwrap_or_else(|| panic!("{path} does not document X-Parley-Refresh"));
        assert_eq!(header["required"], false, "{header}");
        let success = if path == "/tenants" {
            "201"
        } else if path == "/auth/logout" {
            "204"
        } else {
            "200"
        };
        let set_cookie = &document["paths"][path][method]["responses"][success]["headers"]["Set-Cookie"];
        assert!(set_cookie.is_object(), "{path} does not document its Set-Cookie");
    }
    for path in ["/auth/refresh", "/auth/logout"] {
        let cookie = parameter("post", path, "cookie", "parley_refresh")
            .unwrap_or_else(|| panic!("{path} does not document the parley_refresh cookie"));
        assert_eq!(cookie["required"], false, "{cookie}");
    }
    let tokens = &document["components"]["schemas"]["TokensView"];
    let required: Vec<&str> = tokens["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(!required.contains(&"refreshToken") && required.contains(&"refreshExpiresAt"), "{tokens}");
}

/// No services needed: the document is built from the code.
#[test]
fn the_committed_openapi_document_is_current() {
    use utoipa::OpenApi as _;
    shared::testing::openapi::assert_committed(&tenant::ApiDoc::openapi(), "tenant", "tenant");
}
