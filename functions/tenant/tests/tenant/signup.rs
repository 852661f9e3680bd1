//! `POST /tenants`: a new tenant, its admin and their first token pair.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{
    ALL_PERMISSIONS, anonymous, assert_error, assert_rate_limited, bearer, expect_status, from_ip, instant, login,
    login_from, random_ip, sign_up, sign_up_body, sorted, spawn_app, spawn_app_with, strings, strong_password,
    unique_email,
};

#[tokio::test]
async fn signing_up_creates_the_tenant_and_its_admin_and_answers_a_working_token_pair() {
    let app = spawn_app().await;
    let mixed_case = format!("Ada.Lovelace-{}@Acme.Test", Uuid::new_v4().simple());
    let password = strong_password();
    let body = json!({ "tenantName": "Acme", "adminName": "Ada", "adminEmail": mixed_case, "adminPassword": password });
    let before = time::OffsetDateTime::now_utc();
    let response = app.post("/tenants", from_ip(&random_ip()), body).await;
    let created = expect_status(response, 201).await;

    let tenant = &created["tenant"];
    assert_eq!(tenant["name"], "Acme");
    assert!(tenant["id"].as_str().is_some_and(|id| Uuid::parse_str(id).is_ok()), "{tenant}");
    instant(&tenant["createdAt"]);
    instant(&tenant["updatedAt"]);

    let user = &created["user"];
    assert_eq!(user["email"], mixed_case.to_lowercase(), "addresses are kept lower-case");
    assert_eq!(user["name"], "Ada");
    assert_eq!(user["tenantId"], tenant["id"]);
    assert_eq!(user["status"], "active");
    assert_eq!(user["passwordSet"], true);
    assert_eq!(sorted(&user["permissions"]), strings(&ALL_PERMISSIONS), "the admin holds every permission");
    let text = created.to_string();
    assert!(!text.contains(&password) && !text.contains("passwordHash"), "the password leaks: {text}");

    let tokens = &created["tokens"];
    assert_eq!(tokens["tokenType"], "Bearer");
    assert_eq!(tokens["expiresIn"], 900);
    assert!(tokens["refreshToken"].as_str().is_some_and(|t| t.starts_with("prt_")), "{tokens}");
    let refresh_expires = instant(&tokens["refreshExpiresAt"]) - before;
    assert!(
        refresh_expires > time::Duration::days(30) - time::Duration::minutes(5)
            && refresh_expires < time::Duration::days(30) + time::Duration::minutes(5),
        "the refresh token should last 30 days: {tokens}"
    );

    let me = expect_status(app.get("/me", bearer(tokens["accessToken"].as_str().unwrap())).await, 200).await;
    assert_eq!(me["user"]["id"], user["id"]);
    assert_eq!(me["tenant"]["id"], tenant["id"]);
    assert_eq!(sorted(&me["permissions"]), strings(&ALL_PERMISSIONS));

    // The address works in any case.
    login(&app, &mixed_case.to_lowercase(), &password).await;
    login(&app, &mixed_case.to_uppercase(), &password).await;
}

#[tokio::test]
async fn a_new_tenant_has_a_builtin_admin_role_and_an_ordinary_agent_role() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let roles = expect_status(app.get("/roles", admin.bearer()).await, 200).await;
    let roles = roles.as_array().expect("a list");
    assert_eq!(roles.len(), 2, "{roles:?}");
    let role = |name: &str| roles.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("no {name}"));
    assert_eq!(role("admin")["builtin"], true);
    assert_eq!(sorted(&role("admin")["permissions"]), strings(&ALL_PERMISSIONS));
    assert_eq!(role("agent")["builtin"], false);
    assert_eq!(sorted(&role("agent")["permissions"]), strings(&["chatrooms:join"]));

    let me = expect_status(app.get("/me", admin.bearer()).await, 200).await;
    assert_eq!(me["user"]["roleIds"], json!([role("admin")["id"]]), "the admin holds the admin role");
}

#[tokio::test]
async fn signing_up_publishes_tenant_created_keyed_by_the_tenant_id() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let event = app.events.wait_for("tenant.created", |e| e["tenantId"] == admin.tenant_id).await;
    assert_eq!(
        event["data"],
        json!({ "tenantId": admin.tenant_id, "name": "Acme", "adminUserId": admin.user_id, "adminEmail": admin.email })
    );
    let id = Uuid::parse_str(event["id"].as_str().expect("an id")).expect("the id is a UUID");
    assert_eq!(id.get_version_num(), 7, "the envelope id is a UUID v7");
    let age = time::OffsetDateTime::now_utc() - instant(&event["occurredAt"]);
    assert!(age < time::Duration::minutes(1) && age > time::Duration::minutes(-1), "{event}");
    assert_eq!(app.events.key_of(event["id"].as_str().unwrap()), Some(admin.tenant_id.clone()));
}

#[tokio::test]
async fn an_address_already_in_use_answers_409_email_taken_and_creates_nothing() {
    let app = spawn_app().await;
    let first = sign_up(&app).await;
    let other_password = strong_password();
    let again = json!({
        "tenantName": "Other",
        "adminName": "Eve",
        "adminEmail": first.email.to_uppercase(),
        "adminPassword": other_password,
    });
    assert_error(app.post("/tenants", from_ip(&random_ip()), again).await, 409, "email_taken").await;

    // The address still belongs to the first tenant's admin, with the first password.
    let tokens = login(&app, &first.email, &first.password).await;
    let me = expect_status(app.get("/me", bearer(&tokens.access)).await, 200).await;
    assert_eq!(me["tenant"]["name"], "Acme");
    assert_eq!(me["user"]["id"], first.user_id);
    assert_error(login_from(&app, &random_ip(), &first.email, &other_password).await, 401, "invalid_credentials").await;
    app.events.caught_up().await;
    let created: Vec<Value> =
        app.events.of_type("tenant.created").into_iter().filter(|e| e["data"]["adminEmail"] == first.email).collect();
    assert_eq!(created.len(), 1, "{created:?}");
}

#[tokio::test]
async fn a_weak_admin_password_answers_422_weak_password_and_creates_nothing() {
    let app = spawn_app().await;
    let email = unique_email("weak");
    for weak in ["short-pw1", email.as_str()] {
        let body = json!({ "tenantName": "Acme", "adminName": "Ada", "adminEmail": email, "adminPassword": weak });
        assert_error(app.post("/tenants", from_ip(&random_ip()), body).await, 422, "weak_password").await;
    }
    assert_error(login_from(&app, &random_ip(), &email, &email).await, 401, "invalid_credentials").await;

    // Nothing was kept: the same address signs up with a good password.
    let mut body = sign_up_body();
    body["adminEmail"] = json!(email);
    expect_status(app.post("/tenants", anonymous(), body).await, 201).await;
    app.events.caught_up().await;
    let created: Vec<Value> =
        app.events.of_type("tenant.created").into_iter().filter(|e| e["data"]["adminEmail"] == email).collect();
    assert_eq!(created.len(), 1, "only the good sign-up made a tenant: {created:?}");
}

#[tokio::test]
async fn sign_ups_are_limited_per_client_address() {
    let app = spawn_app_with(&[("PARLEY_LOGIN_LIMIT_PER_IP", "2")]).await;
    let ip = random_ip();
    for _ in 0..2 {
        expect_status(app.post("/tenants", from_ip(&ip), sign_up_body()).await, 201).await;
    }
    let refused = sign_up_body();
    assert_rate_limited(app.post("/tenants", from_ip(&ip), refused.clone()).await).await;
    // Nothing was created for the refused sign-up: its address is still free.
    expect_status(app.post("/tenants", from_ip(&random_ip()), refused).await, 201).await;
}
