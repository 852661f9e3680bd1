//! The adversarial suite for the tenant function, generated from its committed OpenAPI document
//! (`shared::testing::adversarial`): hostile tokens on every authenticated route, another
//! tenant's ids on every route that takes one, operator injection in every string field; each
//! answer checked against the document and the stored state (MongoDB, Redis, Kafka) checked
//! unchanged. A new route is covered by being documented; one the generator cannot fill fails
//! here saying what to add to [`fixture`]'s id table.

use serde_json::json;
use shared::testing::{
    Watch,
    adversarial::{Adversary, Ids},
};

use crate::support::{
    Account, KID, TestApp, agent, anonymous, assert_error, create_role, from_ip, random_ip, sign_up, spawn_app_with,
};

/// Tenant A (whose admin attacks) and tenant B (whose things are attacked), each with an admin,
/// an agent and a role of its own.
struct Fixture {
    app: TestApp,
    watch: Watch,
    a: Account,
    ids: Ids,
}

async fn fixture() -> Fixture {
    // Every injected login counts against the address and the IP; the limits are not under test.
    let app = spawn_app_with(&[("PARLEY_LOGIN_LIMIT_PER_EMAIL", "1000"), ("PARLEY_LOGIN_LIMIT_PER_IP", "1000")]).await;
    let (a, b) = (sign_up(&app).await, sign_up(&app).await);
    let (a_agent, b_agent) = (agent(&app, &a).await, agent(&app, &b).await);
    let a_role = create_role(&app, &a, "supervisor", &["chatrooms:moderate"]).await;
    let b_role = create_role(&app, &b, "supervisor", &["chatrooms:moderate"]).await;
    let ids = Ids::new("functions/tenant/tests/tenant/adversarial.rs")
        .with("users/{id}", a_agent.user_id, b_agent.user_id)
        .with("roles/{id}", a_role, b_role);
    app.events.caught_up().await;
    let watch = Watch::new(&app.db.db, &app.redis.redis, &app.kafka);
    Fixture { app, watch, a, ids }
}

impl Fixture {
    fn adversary(&self) -> Adversary<'_> {
        Adversary::new(&self.app.api, &self.watch, "tenant", self.ids.clone(), self.a.access.clone())
    }
}

#[tokio::test]
async fn hostile_tokens_are_refused_on_every_authenticated_route_and_change_nothing() {
    let fixture = fixture().await;
    fixture.adversary().hostile_tokens(KID, &fixture.app.jwt_secret).await;
}

#[tokio::test]
async fn another_tenant_s_ids_answer_the_documented_404_on_every_route_and_change_nothing() {
    let fixture = fixture().await;
    let covered = fixture.adversary().cross_tenant_ids().await;
    assert!(covered >= 6, "only {covered} operations take an id in the tenant document");
}

#[tokio::test]
async fn injected_operators_are_refused_or_stored_as_plain_strings_on_every_route() {
    let fixture = fixture().await;
    let sent = fixture.adversary().injections().await;
    assert!(sent > 100, "only {sent} injections were generated from the tenant document");
}

#[tokio::test]
async fn opaque_token_garbage_is_refused_and_changes_nothing() {
    let fixture = fixture().await;
    let (app, a) = (&fixture.app, &fixture.a);
    let before = fixture.watch.snapshot().await;
    let mut tampered = a.refresh.clone();
    let last = tampered.pop().expect("a refresh token");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for (what, token) in [
        ("the access token", a.access.clone()),
        ("a refresh token with its last character changed", tampered),
        ("half a refresh token", a.refresh[..a.refresh.len() / 2].to_owned()),
        ("an empty string", String::new()),
    ] {
        let response = app.post("/auth/refresh", from_ip(&random_ip()), json!({ "refreshToken": token })).await;
        let body = assert_error(response, 401, "invalid_refresh_token").await;
        assert!(body.is_object(), "refresh with {what}");
        let cookie = app
            .request(reqwest::Method::POST, "/auth/refresh", from_ip(&random_ip()))
            .header("x-parley-refresh", "cookie")
            .header("cookie", format!("parley_refresh={token}"))
            .send()
            .await
            .expect("a refresh in cookie mode");
        assert_error(cookie, 401, "invalid_refresh_token").await;
        let confirm = json!({ "token": token, "password": "a-new-password-1" });
        assert_error(app.post("/auth/password-reset/confirm", anonymous(), confirm).await, 400, "invalid_reset_token")
            .await;
    }
    fixture.watch.snapshot().await.assert_unchanged(&before, "refresh and reset with garbage tokens");
}

#[tokio::test]
async fn a_snapshot_names_what_a_request_changed_and_leaves_out_rate_limit_counters() {
    let fixture = fixture().await;
    let (app, a) = (&fixture.app, &fixture.a);
    let before = fixture.watch.snapshot().await;
    let refused = crate::support::login_from(app, &random_ip(), &a.email, "not-the-password").await;
    assert_error(refused, 401, "invalid_credentials").await;
    let counted = fixture.watch.volatile_keys().await;
    assert!(counted.iter().any(|k| k.contains("ratelimit")), "the refused login was counted: {counted:?}");
    let after_refusal = fixture.watch.snapshot().await;
    before.assert_unchanged(&after_refusal, "a refused login");

    create_role(app, a, "pilot", &["chatrooms:join"]).await;
    let changes = after_refusal.diff(&fixture.watch.snapshot().await);
    let places: Vec<&str> = changes.iter().map(|c| c.place()).collect();
    assert!(places.iter().any(|p| p.starts_with("mongo roles ")), "{places:?}");
    assert!(places.iter().any(|p| p.starts_with("kafka ") && p.contains("tenants")), "{places:?}");
    let created = changes.iter().find(|c| c.place().starts_with("mongo roles ")).and_then(|c| c.now());
    assert!(created.is_some_and(|doc| doc.contains("\"pilot\"")), "{changes:?}");
}
