//! `/live/...`: Tinybird's pipes read for the caller's tenant. Tinybird cannot be reached from
//! here: the tests that read pipes run them on the local stand-in `scripts/test` starts
//! (Tinybird's own template engine over chDB, an embedded ClickHouse) and say so in their names.
//! The figures themselves are checked against the MongoDB reports of a real run in local-dev's
//! `live_analytics` tests; these check who may read what.

use analytics::{
    config::TinybirdConfig,
    tinybird::{Ingest, handle},
};
use secrecy::SecretString;
use serde_json::Value;
use shared::{
    domain::{ChatbotId, ChatroomId, EmailAddress, Name, Permission, TenantId, Timestamp, VisitorInfo},
    events::{ChatroomCreated, Envelope, Event, OutgoingEvent},
    testing::{TinybirdStandIn, closed_port},
};

use crate::support::*;

/// `count` chatrooms of `tenant` opened a few minutes ago, streamed to the stand-in as the
/// analytics function streams them.
async fn opened(stand_in: &TinybirdStandIn, tenant: TenantId, count: usize) {
    let config = TinybirdConfig {
        url: stand_in.url.clone(),
        token: SecretString::from(stand_in.append_token.clone()),
        datasource: "parley_events".to_owned(),
        batch_rows: 100,
        batch_wait: std::time::Duration::from_millis(100),
        group_id: "unused".to_owned(),
    };
    let at = Timestamp::now().minus_std(std::time::Duration::from_secs(120));
    let events: Vec<Envelope> = (0..count)
        .map(|i| {
            let created = ChatroomCreated {
                chatroom_id: ChatroomId::new(),
                chatbot_id: ChatbotId::new(),
                name: "Vera".parse::<Name>().unwrap(),
                email: format!("vera-{i}@example.net").parse::<EmailAddress>().unwrap(),
                identity_verified: false,
                visitor: VisitorInfo { browser: Some("Firefox".into()), ..VisitorInfo::default() },
                created_at: at,
            };
            OutgoingEvent::at(tenant, Event::ChatroomCreated(created), at).envelope
        })
        .collect();
    let ingest = Ingest::new(&config).expect("a valid Tinybird configuration");
    let sent = handle(&ingest, &events).await.expect("the stand-in takes the rows");
    assert_eq!((sent.rows, sent.quarantined), (count, 0));
}

async fn live_app(stand_in: &TinybirdStandIn, read_token: &str) -> TestApp {
    spawn_app_with(&[
        ("PARLEY_TINYBIRD_URL", stand_in.url.clone()),
        ("PARLEY_TINYBIRD_READ_TOKEN", read_token.to_owned()),
    ])
    .await
}

async fn chatrooms_seen(app: &TestApp, token: &str, query: &str) -> Value {
    let response = app.api.get(&format!("/live/response-times{query}"), bearer(token)).await;
    expect_status(response, 200).await["tenant"]["chatrooms"].clone()
}

#[tokio::test]
async fn on_the_chdb_stand_in_a_tenant_reads_its_own_rows_whatever_parameters_it_sends() {
    let stand_in = TinybirdStandIn::from_env();
    let app = live_app(&stand_in, &stand_in.read_token).await;
    let (ours, theirs) = (app.tenant("Acme").await, app.tenant("Globex").await);
    opened(&stand_in, ours.id, 2).await;
    opened(&stand_in, theirs.id, 3).await;
    let (mine, other) = (app.viewer(&ours.id), app.viewer(&theirs.id));
    assert_eq!(chatrooms_seen(&app, &mine, "").await, 2);
    assert_eq!(chatrooms_seen(&app, &other, "").await, 3);

    // Whatever a client adds, the pipe runs for the tenant of its token, or not at all.
    let theirs = theirs.id.to_string();
    let hostile = [
        format!("?tenant_id={theirs}"),
        format!("?tenantId={theirs}"),
        format!("?from=2026-12-06T00:00:00Z&tenant_id={theirs}"),
        format!("?tenant_id={theirs}&tenant_id={}", ours.id),
        format!("?start=2000-01-01%2000:00:00&tenant_id={theirs}"),
    ];
    for query in &hostile {
        let response = app.api.get(&format!("/live/response-times{query}"), bearer(&mine)).await;
        assert_error(response, 400, "invalid_query").await;
    }
    let smuggled = [
        format!("?to=2030-01-01T00:00:00Z%26tenant_id%3D{theirs}"),
        format!("?from=2026-12-06T00:00:00Z'%20OR%20tenant_id%3D'{theirs}"),
        "?from=now()%20-%20INTERVAL%2010%20YEAR".to_owned(),
    ];
    for query in &smuggled {
        let response = app.api.get(&format!("/live/response-times{query}"), bearer(&mine)).await;
        assert_error(response, 400, "invalid_time").await;
    }
    // Every live route is behind analytics:view.
    let agent = app.token(&ours.id, &[Permission::ChatroomsJoin]);
    for path in ["/live/activity", "/live/response-times", "/live/response-time-distribution", "/live/browsers"] {
        assert_error(app.api.get(path, bearer(&agent)).await, 403, "permission_denied").await;
        expect_status(app.api.get(path, bearer(&mine)).await, 200).await;
    }
    let browsers = expect_status(app.api.get("/live/browsers", bearer(&mine)).await, 200).await;
    assert_eq!(browsers["browsers"][0]["chatrooms"], 2, "{browsers}");
}

#[tokio::test]
async fn without_a_read_token_the_live_routes_say_what_to_configure() {
    let app = spawn_app().await;
    let tenant = app.tenant("Acme").await;
    let response = app.api.get("/live/activity", bearer(&app.viewer(&tenant.id))).await;
    let body = assert_error(response, 503, "tinybird_not_configured").await;
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("PARLEY_TINYBIRD_READ_TOKEN") && message.contains("infra/tinybird"), "{message}");
}

#[tokio::test]
async fn on_the_chdb_stand_in_a_token_it_refuses_is_tinybird_refused_and_never_echoed() {
    let stand_in = TinybirdStandIn::from_env();
    // The append token may not read pipes: the stand-in refuses it as Tinybird would.
    let app = live_app(&stand_in, &stand_in.append_token).await;
    let tenant = app.tenant("Acme").await;
    let response = app.api.get("/live/activity", bearer(&app.viewer(&tenant.id))).await;
    let body = assert_error(response, 502, "tinybird_refused").await;
    assert!(!body.to_string().contains(&stand_in.append_token), "{body}");
}

#[tokio::test]
async fn an_unreachable_tinybird_is_tinybird_unavailable() {
    let app = spawn_app_with(&[
        ("PARLEY_TINYBIRD_URL", format!("http://127.0.0.1:{}", closed_port())),
        ("PARLEY_TINYBIRD_READ_TOKEN", random_string(30)),
    ])
    .await;
    let tenant = app.tenant("Acme").await;
    let response = app.api.get("/live/response-times", bearer(&app.viewer(&tenant.id))).await;
    assert_error(response, 503, "tinybird_unavailable").await;
}
