//! The adversarial suite for the chatbot-provisioning function, generated from its committed
//! OpenAPI document (`shared::testing::adversarial`): hostile tokens on every route, another
//! tenant's chatbot on every route that takes an id, operator injection in every string field;
//! each answer checked against the document and the stored state (MongoDB, Redis, Kafka)
//! checked unchanged. A new route is covered by being documented; one the generator cannot fill
//! fails here saying what to add to [`fixture`]'s id table.

use shared::testing::{
    Watch,
    adversarial::{Adversary, Ids},
};

use crate::{
    blocks::block,
    support::{Account, TestApp, admin, create_chatbot, spawn_app},
};

/// Tenant A (whose admin attacks) and tenant B (whose chatbot and block are attacked), a chatbot
/// and a block of a visitor each (stored as the socket-node stores them: no route makes one).
struct Fixture {
    app: TestApp,
    watch: Watch,
    a: Account,
    ids: Ids,
}

async fn fixture() -> Fixture {
    let app = spawn_app().await;
    let (a, b) = (admin(&app).await, admin(&app).await);
    let (a_chatbot, b_chatbot) = (create_chatbot(&app, &a).await, create_chatbot(&app, &b).await);
    let a_block = block(&app, &a, &a_chatbot.id, "mallory@example.net", &a.user_id, 0).await;
    let b_block = block(&app, &b, &b_chatbot.id, "mallory@example.net", &b.user_id, 0).await;
    let ids = Ids::new("functions/chatbot-provisioning/tests/chatbot_provisioning/adversarial.rs")
        .with("chatbots/{id}", a_chatbot.id, b_chatbot.id)
        .with("blocks/{id}", a_block.id.to_string(), b_block.id.to_string());
    app.events.caught_up().await;
    let watch = Watch::new(&app.db.db, &app.redis.redis, &app.kafka);
    Fixture { app, watch, a, ids }
}

impl Fixture {
    fn adversary(&self) -> Adversary<'_> {
        Adversary::new(&self.app.api, &self.watch, "chatbots", self.ids.clone(), self.a.access.clone())
    }

    /// The key id and secret the apps sign access tokens with (`PARLEY_JWT_KEYS=kid:secret`).
    fn signing_key(&self) -> (&str, &str) {
        self.app.jwt_keys.split_once(':').expect("PARLEY_JWT_KEYS is kid:secret")
    }
}

#[tokio::test]
async fn hostile_tokens_are_refused_on_every_route_and_change_nothing() {
    let fixture = fixture().await;
    let (kid, secret) = fixture.signing_key();
    fixture.adversary().hostile_tokens(kid, secret).await;
}

#[tokio::test]
async fn another_tenant_s_chatbot_answers_the_documented_404_on_every_route_and_changes_nothing() {
    let fixture = fixture().await;
    let covered = fixture.adversary().cross_tenant_ids().await;
    assert!(covered >= 8, "only {covered} operations take an id in the chatbots document");
}

#[tokio::test]
async fn injected_operators_are_refused_or_stored_as_plain_strings_on_every_route() {
    let fixture = fixture().await;
    let sent = fixture.adversary().injections().await;
    assert!(sent > 30, "only {sent} injections were generated from the chatbots document");
}
