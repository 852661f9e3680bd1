//! `GET /openapi.json`: the document that describes every analytics route with its query, its
//! answers (JSON and CSV) and its error codes, in schemas a TypeScript generator can use; and
//! its committed copy (`socket-node/web/console/api/analytics.openapi.json`).

use serde_json::Value;

use crate::support::{anonymous, expect_status, spawn_app};

/// The routes of docs/protocol.md's analytics section.
const ROUTES: [&str; 9] = [
    "/status",
    "/chatbots/status",
    "/reports",
    "/reports/agents",
    "/reports/chatrooms",
    "/live/activity",
    "/live/response-times",
    "/live/response-time-distribution",
    "/live/browsers",
];
const REPORTS: [&str; 3] = ["/reports", "/reports/agents", "/reports/chatrooms"];

async fn document() -> Value {
    let app = spawn_app().await;
    let response = app.api.get("/openapi.json", anonymous()).await;
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    assert!(content_type.as_deref().is_some_and(|c| c.starts_with("application/json")), "{content_type:?}");
    expect_status(response, 200).await
}

/// Every `$ref` of `value` that names no schema of the document.
fn dangling_refs(document: &Value, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                let name = target.strip_prefix("#/components/schemas/").unwrap_or(target);
                if document["components"]["schemas"].get(name).is_none() {
                    out.push(target.clone());
                }
            }
            map.values().for_each(|v| dangling_refs(document, v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| dangling_refs(document, v, out)),
        _ => {}
    }
}

/// The property names of schema `name`.
fn properties(document: &Value, name: &str) -> Vec<String> {
    let schema = &document["components"]["schemas"][name];
    let properties = schema["properties"].as_object().unwrap_or_else(|| panic!("no schema {name} with properties"));
    properties.keys().cloned().collect()
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_and_nothing_else() {
    let document = document().await;
    assert!(document["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", document["openapi"]);
    assert!(document["info"]["title"].as_str().is_some_and(|t| !t.is_empty()), "{}", document["info"]);
    let paths = document["paths"].as_object().expect("paths");
    let missing: Vec<&str> =
        ROUTES.iter().copied().filter(|path| paths.get(*path).and_then(|i| i.get("get")).is_none()).collect();
    assert!(missing.is_empty(), "not described: {missing:?}; the document has {:?}", paths.keys().collect::<Vec<_>>());
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let known =
                (method == "get" && ROUTES.contains(&path.as_str())) || path == "/healthz" || path == "/openapi.json";
            assert!(known, "{} {path} is documented but not served", method.to_uppercase());
        }
    }
    let mut dangling = Vec::new();
    dangling_refs(&document, &document, &mut dangling);
    assert!(dangling.is_empty(), "references to schemas the document lacks: {dangling:?}");

    for path in ROUTES {
        let operation = &document["paths"][path]["get"];
        let responses = operation["responses"].as_object().unwrap_or_else(|| panic!("{path}: no responses"));
        let ok = &responses["200"]["content"]["application/json"]["schema"]["$ref"];
        assert!(ok.as_str().is_some_and(|r| r.starts_with("#/components/schemas/")), "{path}: its 200 is no schema");
        assert!(responses.contains_key("401"), "{path} does not document its 401");
        if path != "/status" {
            let security = operation["security"].as_array().expect("security");
            assert!(security.iter().any(|s| s.get("bearer").is_some()), "{path} does not ask for the access token");
            let forbidden = responses["403"]["description"].as_str().unwrap_or_default();
            assert!(forbidden.contains("permission_denied"), "{path}: {forbidden:?}");
        }
    }
}

#[tokio::test]
async fn the_report_routes_document_their_query_their_csv_and_their_errors() {
    let document = document().await;
    for path in REPORTS {
        let operation = &document["paths"][path]["get"];
        let parameters = operation["parameters"].as_array().unwrap_or_else(|| panic!("{path}: no parameters"));
        for name in ["from", "to", "format"] {
            let parameter = parameters.iter().find(|p| p["name"] == name && p["in"] == "query");
            let parameter = parameter.unwrap_or_else(|| panic!("{path} does not document ?{name}"));
            assert_eq!(parameter["required"], false, "{path} ?{name}");
        }
        let content = operation["responses"]["200"]["content"].as_object().expect("content");
        assert!(content.contains_key("application/json") && content.contains_key("text/csv"), "{path}: {content:?}");
        let errors = operation["responses"]["400"]["description"].as_str().unwrap_or_default();
        for code in ["invalid_date", "invalid_range", "invalid_format"] {
            assert!(errors.contains(code), "{path} does not name {code}: {errors:?}");
        }
    }
    let too_many = &document["paths"]["/reports/chatrooms"]["get"]["responses"]["422"]["description"];
    assert!(too_many.as_str().is_some_and(|d| d.contains("too_many_rows")), "{too_many}");
    let formats = serde_json::to_string(&document["components"]["schemas"]["Format"]).unwrap();
    assert!(formats.contains("\"json\"") && formats.contains("\"csv\""), "{formats}");
}

#[tokio::test]
async fn the_schemas_name_the_report_fields() {
    let document = document().await;
    for (schema, fields) in [
        (
            "DailyReport",
            &[
                "tenantId",
                "date",
                "computedAt",
                "chatrooms",
                "messages",
                "firstResponse",
                "timeToAssignment",
                "resolution",
                "abandoned",
                "agents",
                "hours",
                "busiestHour",
            ][..],
        ),
        ("DailyReports", &["from", "to", "days", "totals"]),
        ("Timings", &["count", "medianSecs", "p90Secs"]),
        ("MessageCounts", &["visitor", "agent", "system"]),
        ("AgentDay", &["date", "agentId", "name", "chatrooms", "messages", "firstResponseMedianSecs"]),
        (
            "ChatroomRow",
            &[
                "chatroomId",
                "chatbotId",
                "createdAt",
                "status",
                "closeReason",
                "closedAt",
                "agentId",
                "agentName",
                "visitorName",
                "visitorEmail",
                "messages",
                "assignmentSecs",
                "firstResponseSecs",
                "durationSecs",
            ],
        ),
        ("ChatbotStatus", &["id", "name", "waiting", "active", "standby", "agentsOnline", "lastActivityAt"]),
        ("SystemStatus", &["status", "checkedAt", "mongodb", "redis", "kafka", "socketNodes", "replicas", "functions"]),
    ] {
        let mut have = properties(&document, schema);
        have.sort();
        let mut want: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        want.sort();
        assert_eq!(have, want, "the properties of {schema}");
    }
    let statuses = serde_json::to_string(&document["components"]["schemas"]["ChatroomStatus"]).unwrap();
    assert!(
        ["waiting", "active", "standby", "closed", "stale", "blocked"].iter().all(|s| statuses.contains(s)),
        "{statuses}"
    );
}

/// No services needed: the document is built from the code.
#[test]
fn the_committed_openapi_document_is_current() {
    use utoipa::OpenApi as _;
    shared::testing::openapi::assert_committed(&analytics::ApiDoc::openapi(), "analytics", "analytics");
}
