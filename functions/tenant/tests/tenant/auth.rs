//! Login, refresh-token rotation and reuse detection, logout, `/me`, disabled users, the IP
//! allow-list, the record of client addresses and the login rate limits.

use serde_json::{Value, json};

use crate::support::{
    TestApp, agent, anonymous, assert_error, assert_rate_limited, bearer, expect_status, get_user, instant, login,
    login_from, random_ip, refresh, refresh_from, sign_up, sorted, spawn_app, spawn_app_with, strings, unique_email,
};

async fn logout(app: &TestApp, refresh_token: &str) {
    let response = app.post("/auth/logout", anonymous(), json!({ "refreshToken": refresh_token })).await;
    expect_status(response, 204).await;
}

async fn me(app: &TestApp, access: &str) -> Value {
    expect_status(app.get("/me", bearer(access)).await, 200).await
}

#[tokio::test]
async fn login_answers_a_token_pair_that_opens_me() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let response = login_from(&app, &random_ip(), &admin.email, &admin.password).await;
    let tokens = expect_status(response, 200).await;
    assert_eq!(tokens["tokenType"], "Bearer");
    assert_eq!(tokens["expiresIn"], 900);
    assert!(tokens["refreshToken"].as_str().is_some_and(|t| t.starts_with("prt_")), "{tokens}");
    assert_ne!(tokens["refreshToken"], admin.refresh.as_str(), "a new session, a new refresh token");
    instant(&tokens["refreshExpiresAt"]);
    let me = me(&app, tokens["accessToken"].as_str().unwrap()).await;
    assert_eq!(me["user"]["id"], admin.user_id);
    assert_eq!(me["user"]["email"], admin.email);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_address_answer_the_same_401_invalid_credentials() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let wrong_password = assert_error(
        login_from(&app, &random_ip(), &admin.email, "not-the-password-at-all").await,
        401,
        "invalid_credentials",
    )
    .await;
    let unknown_email = assert_error(
        login_from(&app, &random_ip(), &unique_email("nobody"), "not-the-password-at-all").await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong_password, unknown_email, "the answers tell which addresses exist");
}

#[tokio::test]
async fn me_shows_the_user_their_tenant_and_effective_permissions_without_secrets() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent = agent(&app, &admin).await;
    let me = me(&app, &agent.access).await;
    assert_eq!(me["user"]["id"], agent.user_id);
    assert_eq!(me["user"]["email"], agent.email);
    assert_eq!(me["user"]["passwordSet"], true);
    assert_eq!(me["tenant"]["id"], admin.tenant_id);
    assert_eq!(me["tenant"]["name"], "Acme");
    assert_eq!(sorted(&me["permissions"]), strings(&["chatrooms:join"]));
    let text = me.to_string();
    assert!(!text.contains("passwordHash") && !text.contains(&agent.password), "{text}");
}

#[tokio::test]
async fn a_refresh_answers_a_new_pair_and_the_chain_goes_on() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let response = refresh_from(&app, &random_ip(), &admin.refresh).await;
    let second = expect_status(response, 200).await;
    assert_eq!(second["tokenType"], "Bearer");
    let second_refresh = second["refreshToken"].as_str().unwrap();
    assert!(second_refresh.starts_with("prt_") && second_refresh != admin.refresh, "{second}");
    assert_ne!(second["accessToken"], admin.access.as_str());
    assert_eq!(me(&app, second["accessToken"].as_str().unwrap()).await["user"]["id"], admin.user_id);

    let third = refresh(&app, second_refresh).await;
    assert_eq!(me(&app, &third.access).await["user"]["id"], admin.user_id);
}

#[tokio::test]
async fn presenting_a_rotated_refresh_token_revokes_its_whole_session_and_no_other() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let other_session = login(&app, &admin.email, &admin.password).await;
    let newest = refresh(&app, &admin.refresh).await;

    let reused = refresh_from(&app, &random_ip(), &admin.refresh).await;
    assert_error(reused, 401, "refresh_token_reused").await;
    // The thief (or the user) holding the newest token of that session is signed out too.
    assert_error(refresh_from(&app, &random_ip(), &newest.refresh).await, 401, "invalid_refresh_token").await;
    // Another session of the same user goes on.
    refresh(&app, &other_session.refresh).await;
}

#[tokio::test]
async fn an_unknown_refresh_token_answers_401_invalid_refresh_token() {
    let app = spawn_app().await;
    sign_up(&app).await;
    for token in ["prt_not-a-token-we-issued", "eyJhbGciOiJIUzI1NiJ9.e30.x"] {
        assert_error(refresh_from(&app, &random_ip(), token).await, 401, "invalid_refresh_token").await;
    }
}

#[tokio::test]
async fn logout_ends_the_session_and_answers_204_whatever_the_token() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let other_session = login(&app, &admin.email, &admin.password).await;
    logout(&app, &admin.refresh).await;
    assert_error(refresh_from(&app, &random_ip(), &admin.refresh).await, 401, "invalid_refresh_token").await;
    refresh(&app, &other_session.refresh).await;

    logout(&app, &admin.refresh).await;
    logout(&app, "prt_never-issued").await;
    logout(&app, "not even the shape of a token").await;
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in_or_refresh_and_stays_signed_out_when_enabled_again() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent = agent(&app, &admin).await;
    let path = format!("/users/{}", agent.user_id);

    let disabled = expect_status(app.patch(&path, admin.bearer(), json!({ "status": "disabled" })).await, 200).await;
    assert_eq!(disabled["status"], "disabled");
    assert_error(login_from(&app, &random_ip(), &agent.email, &agent.password).await, 403, "user_disabled").await;
    let response = refresh_from(&app, &random_ip(), &agent.refresh).await;
    let (status, text) = (response.status().as_u16(), response.text().await.unwrap());
    let code = serde_json::from_str::<Value>(&text).unwrap_or_default()["code"].clone();
    assert!(
        (status, code.as_str()) == (403, Some("user_disabled"))
            || (status, code.as_str()) == (401, Some("invalid_refresh_token")),
        "a disabled user's refresh should fail, got {status}: {text}"
    );

    expect_status(app.patch(&path, admin.bearer(), json!({ "status": "active" })).await, 200).await;
    assert_error(refresh_from(&app, &random_ip(), &agent.refresh).await, 401, "invalid_refresh_token").await;
    login(&app, &agent.email, &agent.password).await;
}

#[tokio::test]
async fn the_ip_allow_list_restricts_login_and_refresh_to_the_listed_addresses() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent = agent(&app, &admin).await;
    let path = format!("/users/{}", agent.user_id);
    let allow = json!({ "ipAllowList": ["203.0.113.7", "198.51.100.0/24"] });
    let updated = expect_status(app.patch(&path, admin.bearer(), allow).await, 200).await;
    assert_eq!(updated["ipAddresses"]["allowList"], json!(["203.0.113.7", "198.51.100.0/24"]));

    let (email, password) = (agent.email.as_str(), agent.password.as_str());
    assert_error(login_from(&app, "192.0.2.10", email, password).await, 403, "ip_not_allowed").await;
    // Without a forwarded address the client is 127.0.0.1, which is not listed either.
    let direct = app.post("/auth/login", anonymous(), json!({ "email": email, "password": password })).await;
    assert_error(direct, 403, "ip_not_allowed").await;
    // A client cannot pass itself off as a listed address by writing it first in the header.
    assert_error(login_from(&app, "203.0.113.7, 192.0.2.10", email, password).await, 403, "ip_not_allowed").await;

    let allowed = expect_status(login_from(&app, "203.0.113.7", email, password).await, 200).await;
    expect_status(login_from(&app, "198.51.100.44", email, password).await, 200).await;
    // Behind a second trusted hop the client is still the right-most untrusted address.
    expect_status(login_from(&app, "203.0.113.7, 127.0.0.1", email, password).await, 200).await;

    assert_error(refresh_from(&app, "192.0.2.10", &agent.refresh).await, 403, "ip_not_allowed").await;
    let refreshed = refresh_from(&app, "203.0.113.7", allowed["refreshToken"].as_str().unwrap()).await;
    expect_status(refreshed, 200).await;

    app.events
        .wait_for("user.updated", |e| {
            e["data"]["userId"] == agent.user_id && e["data"]["changes"] == json!(["ipAllowList"])
        })
        .await;

    let lifted = expect_status(app.patch(&path, admin.bearer(), json!({ "ipAllowList": [] })).await, 200).await;
    assert_eq!(lifted["ipAddresses"]["allowList"], json!([]));
    expect_status(login_from(&app, "192.0.2.10", email, password).await, 200).await;
}

#[tokio::test]
async fn login_records_the_client_address_among_the_user_s_seen_addresses() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent = agent(&app, &admin).await;
    expect_status(login_from(&app, "203.0.113.50", &agent.email, &agent.password).await, 200).await;
    // Through nginx (trusted) the forwarded chain ends with the proxy's own address.
    let chain = "198.51.100.1, 203.0.113.51, 127.0.0.1";
    expect_status(login_from(&app, chain, &agent.email, &agent.password).await, 200).await;

    let user = get_user(&app, &admin, &agent.user_id).await;
    let seen = user["ipAddresses"]["seen"].as_array().unwrap_or_else(|| panic!("no seen addresses: {user}"));
    let entry = |ip: &str| seen.iter().find(|s| s["ip"] == ip).cloned();
    for ip in ["203.0.113.50", "203.0.113.51"] {
        let entry = entry(ip).unwrap_or_else(|| panic!("{ip} is not among {seen:?}"));
        let age = time::OffsetDateTime::now_utc() - instant(&entry["lastSeenAt"]);
        assert!(age < time::Duration::minutes(1), "{entry}");
    }
    assert!(entry("198.51.100.1").is_none(), "a spoofable address was recorded: {seen:?}");
}

#[tokio::test]
async fn a_forwarded_address_counts_only_when_a_trusted_proxy_sends_it() {
    // Here 127.0.0.1, the tests' own address, is not a trusted proxy.
    let app = spawn_app_with(&[("PARLEY_TRUSTED_PROXIES", "192.0.2.0/24")]).await;
    let admin = sign_up(&app).await;
    let agent = agent(&app, &admin).await;
    let path = format!("/users/{}", agent.user_id);
    expect_status(app.patch(&path, admin.bearer(), json!({ "ipAllowList": ["203.0.113.7"] })).await, 200).await;

    let spoofed = login_from(&app, "203.0.113.7", &agent.email, &agent.password).await;
    assert_error(spoofed, 403, "ip_not_allowed").await;
    expect_status(app.patch(&path, admin.bearer(), json!({ "ipAllowList": [] })).await, 200).await;
    expect_status(login_from(&app, "203.0.113.8", &agent.email, &agent.password).await, 200).await;
    let user = get_user(&app, &admin, &agent.user_id).await;
    let seen = &user["ipAddresses"]["seen"];
    assert!(seen.as_array().unwrap().iter().any(|s| s["ip"] == "127.0.0.1"), "{seen}");
    assert!(!seen.to_string().contains("203.0.113."), "an address from an untrusted header was recorded: {seen}");
}

#[tokio::test]
async fn login_attempts_are_limited_per_client_address() {
    let app = spawn_app_with(&[("PARLEY_LOGIN_LIMIT_PER_IP", "3")]).await;
    let admin = sign_up(&app).await;
    let ip = random_ip();
    for _ in 0..3 {
        let response = login_from(&app, &ip, &unique_email("guess"), "some-guessed-password").await;
        assert_error(response, 401, "invalid_credentials").await;
    }
    // Over the limit even the right password is refused.
    assert_rate_limited(login_from(&app, &ip, &admin.email, &admin.password).await).await;
    // Another address is not limited.
    expect_status(login_from(&app, &random_ip(), &admin.email, &admin.password).await, 200).await;
}

#[tokio::test]
async fn login_attempts_are_limited_per_email_address_whatever_the_client_address() {
    let app = spawn_app_with(&[("PARLEY_LOGIN_LIMIT_PER_EMAIL", "3")]).await;
    let admin = sign_up(&app).await;
    let other = sign_up(&app).await;
    let ips: Vec<String> = (0..3).map(|_| random_ip()).collect();
    for ip in &ips {
        let response = login_from(&app, ip, &admin.email, "some-guessed-password").await;
        assert_error(response, 401, "invalid_credentials").await;
    }
    assert_rate_limited(login_from(&app, &random_ip(), &admin.email, &admin.password).await).await;
    // Another address from the same clients is not limited.
    expect_status(login_from(&app, &ips[0], &other.email, &other.password).await, 200).await;
}
