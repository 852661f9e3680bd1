//! The adversarial suite for the analytics function, generated from its committed OpenAPI
//! document (`shared::testing::adversarial`): hostile tokens on every authenticated route,
//! operator injection in every query parameter, garbage for the `/status` token; each answer
//! checked against the document and the stored state (MongoDB, Redis, Kafka) checked unchanged.
//! No route takes an id today: one that comes to take one fails
//! [`another_tenant_s_ids_answer_the_documented_404_on_every_route`] until [`adversary`]'s id
//! table can fill it.

use shared::{
    domain::Permission,
    testing::{
        Watch,
        adversarial::{Adversary, Ids},
        anonymous, assert_error, bearer, random_string,
    },
};

use crate::support::{TestApp, spawn_app, spawn_app_with};

fn watch(app: &TestApp) -> Watch {
    Watch::new(&app.db.db, &app.redis.redis, &app.kafka)
}

/// Tenant A's admin (every permission) attacks; tenant B exists beside it.
async fn adversary<'a>(app: &'a TestApp, watch: &'a Watch) -> Adversary<'a> {
    let a = app.tenant("A").await;
    app.tenant("B").await;
    let ids = Ids::new("functions/analytics/tests/analytics/adversarial.rs");
    Adversary::new(&app.api, watch, "analytics", ids, app.token(&a.id, &Permission::ALL))
}

#[tokio::test]
async fn hostile_tokens_are_refused_on_every_authenticated_route_and_change_nothing() {
    let app = spawn_app().await;
    let watch = watch(&app);
    let (kid, secret) = app.jwt_keys.split_once(':').expect("PARLEY_JWT_KEYS is kid:secret");
    adversary(&app, &watch).await.hostile_tokens(kid, secret).await;
}

#[tokio::test]
async fn another_tenant_s_ids_answer_the_documented_404_on_every_route() {
    let app = spawn_app().await;
    let watch = watch(&app);
    adversary(&app, &watch).await.cross_tenant_ids().await;
}

#[tokio::test]
async fn injected_operators_in_query_parameters_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let watch = watch(&app);
    let sent = adversary(&app, &watch).await.injections().await;
    assert!(sent > 30, "only {sent} injections were generated from the analytics document");
}

#[tokio::test]
async fn garbage_status_tokens_are_refused_and_change_nothing() {
    let token = random_string(32);
    let app = spawn_app_with(&[("PARLEY_STATUS_TOKEN", token.clone())]).await;
    let watch = watch(&app);
    let tenant = app.tenant("A").await;
    let before = watch.snapshot().await;
    assert_error(app.api.get("/status", anonymous()).await, 401, "missing_token").await;
    let mut changed = token.clone();
    changed.replace_range(..1, if token.starts_with('a') { "b" } else { "a" });
    let admin = app.token(&tenant.id, &Permission::ALL);
    for garbage in [changed, token[..16].to_owned(), format!("{token}x"), admin, "$ne".to_owned(), "a.b".to_owned()] {
        assert_error(app.api.get("/status", bearer(&garbage)).await, 401, "invalid_token").await;
    }
    watch.snapshot().await.assert_unchanged(&before, "/status with garbage tokens");
}
