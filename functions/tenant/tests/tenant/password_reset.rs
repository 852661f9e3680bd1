//! `POST /auth/password-reset` and `POST /auth/password-reset/confirm`: the reset link's token,
//! setting a password (also an invited user's first one), and what a used, expired or unknown
//! token answers.

use bson::doc;
use serde_json::{Value, json};

use shared::testing::eventually;

use crate::support::{
    Account, EVENT_TIMEOUT, TestApp, anonymous, assert_error, assert_rate_limited, expect_status, from_ip, get_user,
    instant, invite, login, login_from, random_ip, refresh_from, role_id, sign_up, spawn_app, spawn_app_with,
    strong_password, unique_email,
};

async fn request_reset(app: &TestApp, email: &str) -> Value {
    let response = app.post("/auth/password-reset", from_ip(&random_ip()), json!({ "email": email })).await;
    expect_status(response, 202).await
}

/// Requests a reset for `account` and answers the token its `password_reset.requested` carried.
async fn reset_token(app: &TestApp, account: &Account) -> String {
    let for_user = || -> Vec<Value> {
        let requested = app.events.of_type("password_reset.requested");
        requested.into_iter().filter(|e| e["data"]["userId"] == account.user_id).collect()
    };
    let before = for_user().len();
    request_reset(app, &account.email).await;
    eventually(EVENT_TIMEOUT, "a password_reset.requested event", || {
        let token = for_user().get(before).map(|e| e["data"]["token"].as_str().expect("a token").to_owned());
        async move { token }
    })
    .await
}

async fn confirm(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post("/auth/password-reset/confirm", anonymous(), json!({ "token": token, "password": password })).await
}

#[tokio::test]
async fn a_reset_request_answers_202_for_known_and_unknown_addresses_and_mails_only_the_user() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let unknown = unique_email("nobody");
    let for_unknown = request_reset(&app, &unknown).await;
    let for_known = request_reset(&app, &admin.email).await;
    assert_eq!(for_unknown, for_known, "the answer tells which addresses exist");

    let event = app.events.wait_for("password_reset.requested", |e| e["data"]["userId"] == admin.user_id).await;
    assert_eq!(event["tenantId"], admin.tenant_id);
    let data = &event["data"];
    assert_eq!((&data["email"], &data["name"]), (&json!(admin.email), &json!("Ada Admin")));
    assert!(data["token"].as_str().is_some_and(|t| t.len() >= 20), "a guessable token: {data}");
    let valid_for = instant(&data["expiresAt"]) - time::OffsetDateTime::now_utc();
    assert!(
        valid_for > time::Duration::minutes(28) && valid_for <= time::Duration::minutes(31),
        "the token should be valid for 30 minutes: {data}"
    );

    app.events.caught_up().await;
    let for_nobody: Vec<Value> = app.events.all().into_iter().filter(|e| e.to_string().contains(&unknown)).collect();
    assert!(for_nobody.is_empty(), "an event for an unknown address: {for_nobody:?}");
    assert_eq!(app.events.of_type("password_reset.requested").len(), 1);
}

#[tokio::test]
async fn confirming_a_reset_sets_the_password_and_signs_the_user_out_everywhere() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let second_session = login(&app, &admin.email, &admin.password).await;
    let token = reset_token(&app, &admin).await;
    let new_password = strong_password();
    expect_status(confirm(&app, &token, &new_password).await, 204).await;

    let old = login_from(&app, &random_ip(), &admin.email, &admin.password).await;
    assert_error(old, 401, "invalid_credentials").await;
    login(&app, &admin.email, &new_password).await;
    for refresh_token in [&admin.refresh, &second_session.refresh] {
        assert_error(refresh_from(&app, &random_ip(), refresh_token).await, 401, "invalid_refresh_token").await;
    }
    let updated = app.events.wait_for("user.updated", |e| e["data"]["userId"] == admin.user_id).await;
    assert_eq!(updated["data"]["changes"], json!(["password"]));
}

#[tokio::test]
async fn a_reset_token_works_once() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let token = reset_token(&app, &admin).await;
    let (first, second) = (strong_password(), strong_password());
    expect_status(confirm(&app, &token, &first).await, 204).await;
    assert_error(confirm(&app, &token, &second).await, 400, "invalid_reset_token").await;
    assert_error(login_from(&app, &random_ip(), &admin.email, &second).await, 401, "invalid_credentials").await;
    login(&app, &admin.email, &first).await;
}

#[tokio::test]
async fn an_unknown_reset_token_answers_400_invalid_reset_token() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    for token in ["not-a-token-we-issued", "prt_0123456789abcdef"] {
        assert_error(confirm(&app, token, &strong_password()).await, 400, "invalid_reset_token").await;
    }
    login(&app, &admin.email, &admin.password).await;
}

#[tokio::test]
async fn an_expired_reset_token_answers_400_reset_token_expired_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let token = reset_token(&app, &admin).await;
    let an_hour_ago = bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() - 3_600_000);
    let result = app
        .db
        .db
        .collection::<bson::Document>("users")
        .update_one(doc! { "_id": &admin.user_id }, doc! { "$set": { "passwordChangeToken.expiresAt": an_hour_ago } })
        .await
        .expect("update the stored token");
    assert_eq!(result.matched_count, 1, "no user document {}", admin.user_id);

    assert_error(confirm(&app, &token, &strong_password()).await, 400, "reset_token_expired").await;
    login(&app, &admin.email, &admin.password).await;
}

#[tokio::test]
async fn a_weak_password_answers_422_weak_password_and_the_link_still_works() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let token = reset_token(&app, &admin).await;
    for weak in ["short-pw1", admin.email.as_str()] {
        assert_error(confirm(&app, &token, weak).await, 422, "weak_password").await;
        let response = login_from(&app, &random_ip(), &admin.email, weak).await;
        assert_error(response, 401, "invalid_credentials").await;
    }
    login(&app, &admin.email, &admin.password).await;
    // The refused attempts did not use the token up.
    let good = strong_password();
    expect_status(confirm(&app, &token, &good).await, 204).await;
    login(&app, &admin.email, &good).await;
}

#[tokio::test]
async fn an_invited_user_sets_a_first_password_with_the_invitation_token() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent_role = role_id(&app, &admin, "agent").await;
    let invitation = invite(&app, &admin, &[&agent_role]).await;
    let user_id = invitation.user["id"].as_str().unwrap().to_owned();
    assert_eq!(invitation.user["passwordSet"], false);
    // No password yet: nothing logs in.
    for guess in ["some-guessed-password", "another-guessed-password"] {
        let response = login_from(&app, &random_ip(), &invitation.email, guess).await;
        assert_error(response, 401, "invalid_credentials").await;
    }

    let password = strong_password();
    expect_status(confirm(&app, &invitation.token, &password).await, 204).await;
    assert_eq!(get_user(&app, &admin, &user_id).await["passwordSet"], true);
    login(&app, &invitation.email, &password).await;
    assert_error(confirm(&app, &invitation.token, &strong_password()).await, 400, "invalid_reset_token").await;
}

#[tokio::test]
async fn reset_requests_are_limited_per_email_address_and_mail_nothing_over_the_limit() {
    let app = spawn_app_with(&[("PARLEY_LOGIN_LIMIT_PER_EMAIL", "2")]).await;
    let admin = sign_up(&app).await;
    for _ in 0..2 {
        request_reset(&app, &admin.email).await;
    }
    let over = app.post("/auth/password-reset", from_ip(&random_ip()), json!({ "email": admin.email })).await;
    assert_rate_limited(over).await;
    app.events.caught_up().await;
    let mailed = app.events.of_type("password_reset.requested");
    assert_eq!(
        mailed.iter().filter(|e| e["data"]["userId"] == admin.user_id).count(),
        2,
        "one event per accepted request"
    );
}
