//! Accounts made the way a user makes them: sign-up, invitation, the set-password link, login.
//!
//! These speak the tenant function's HTTP API (docs/protocol.md), which any crate's tests can
//! start in-process (`tenant::router` under [`serve`](super::serve)) beside the app they test.
//! An invitation's set-password token travels only in `user.invited`, so the helpers that invite
//! also take the [`EventLog`] of the test's `tenants` topic. Every helper fails the test when the
//! API answers something other than success.

use reqwest::Response;
use serde_json::{Value, json};

use super::{
    Api, Caller, EventLog, anonymous, bearer, expect_status, from_ip, random_ip, strong_password, unique_email,
};

/// The seven permissions of the catalogue (docs/protocol.md).
pub const ALL_PERMISSIONS: [&str; 7] = [
    "tenant:manage",
    "users:manage",
    "roles:manage",
    "chatbots:manage",
    "chatrooms:join",
    "chatrooms:moderate",
    "analytics:view",
];

/// An agent or admin, signed in.
#[derive(Debug, Clone)]
pub struct Account {
    pub tenant_id: String,
    pub user_id: String,
    pub email: String,
    pub password: String,
    pub access: String,
    pub refresh: String,
}

impl Account {
    /// Requests with this account's access token.
    pub fn bearer(&self) -> Caller<'_> {
        bearer(&self.access)
    }
}

/// A token pair.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

impl Tokens {
    fn from_body(body: &Value) -> Self {
        Self {
            access: body["accessToken"].as_str().expect("accessToken").to_owned(),
            refresh: body["refreshToken"].as_str().expect("refreshToken").to_owned(),
        }
    }
}

/// The body of a sign-up with a unique email address and a strong password.
pub fn sign_up_body() -> Value {
    json!({
        "tenantName": "Acme",
        "adminName": "Ada Admin",
        "adminEmail": unique_email("admin"),
        "adminPassword": strong_password(),
    })
}

/// Signs a new tenant up (from a random client address) and answers its admin.
pub async fn sign_up(api: &Api) -> Account {
    let body = sign_up_body();
    let response = api.post("/tenants", from_ip(&random_ip()), body.clone()).await;
    let created = expect_status(response, 201).await;
    Account {
        tenant_id: created["tenant"]["id"].as_str().expect("tenant.id").to_owned(),
        user_id: created["user"]["id"].as_str().expect("user.id").to_owned(),
        email: body["adminEmail"].as_str().unwrap().to_owned(),
        password: body["adminPassword"].as_str().unwrap().to_owned(),
        access: created["tokens"]["accessToken"].as_str().expect("tokens.accessToken").to_owned(),
        refresh: created["tokens"]["refreshToken"].as_str().expect("tokens.refreshToken").to_owned(),
    }
}

/// `POST /auth/login` from `ip`, whatever it answers.
pub async fn login_from(api: &Api, ip: &str, email: &str, password: &str) -> Response {
    api.post("/auth/login", from_ip(ip), json!({ "email": email, "password": password })).await
}

/// Logs in from a random client address; the login must succeed.
pub async fn login(api: &Api, email: &str, password: &str) -> Tokens {
    Tokens::from_body(&expect_status(login_from(api, &random_ip(), email, password).await, 200).await)
}

/// `POST /auth/refresh` from `ip`, whatever it answers.
pub async fn refresh_from(api: &Api, ip: &str, refresh_token: &str) -> Response {
    api.post("/auth/refresh", from_ip(ip), json!({ "refreshToken": refresh_token })).await
}

/// Refreshes from a random client address; the refresh must succeed.
pub async fn refresh(api: &Api, refresh_token: &str) -> Tokens {
    Tokens::from_body(&expect_status(refresh_from(api, &random_ip(), refresh_token).await, 200).await)
}

/// The id of the tenant's role called `name` (the caller needs `roles:manage`).
pub async fn role_id(api: &Api, by: &Account, name: &str) -> String {
    let roles = expect_status(api.get("/roles", by.bearer()).await, 200).await;
    roles
        .as_array()
        .expect("a list of roles")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no role {name} in {roles}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Creates a role (the caller needs `roles:manage`) and answers its id.
pub async fn create_role(api: &Api, by: &Account, name: &str, permissions: &[&str]) -> String {
    let response = api.post("/roles", by.bearer(), json!({ "name": name, "permissions": permissions })).await;
    expect_status(response, 201).await["id"].as_str().expect("role id").to_owned()
}

/// An invitation: the user as `POST /users` answered it, and the set-password token that
/// `user.invited` carried.
pub struct Invitation {
    pub user: Value,
    pub email: String,
    pub token: String,
}

/// Invites a user with a unique address and the given roles (the caller needs `users:manage`),
/// and waits on `tenants` (the test's `tenants` topic) for the `user.invited` that carries the
/// set-password token.
pub async fn invite(api: &Api, tenants: &EventLog, by: &Account, role_ids: &[&str]) -> Invitation {
    let email = unique_email("agent");
    let response =
        api.post("/users", by.bearer(), json!({ "name": "Grace Agent", "email": email, "roleIds": role_ids })).await;
    let user = expect_status(response, 201).await;
    let user_id = user["id"].as_str().expect("user id").to_owned();
    let invited = tenants.wait_for("user.invited", |e| e["data"]["userId"] == user_id).await;
    let token = invited["data"]["token"].as_str().expect("user.invited carries a token").to_owned();
    Invitation { user, email, token }
}

/// A user invited by `by` with the given roles, who followed the invitation (set a password
/// through `POST /auth/password-reset/confirm`) and logged in.
pub async fn invite_user_with_password(api: &Api, tenants: &EventLog, by: &Account, role_ids: &[&str]) -> Account {
    let invitation = invite(api, tenants, by, role_ids).await;
    let password = strong_password();
    let confirm = json!({ "token": invitation.token, "password": password });
    expect_status(api.post("/auth/password-reset/confirm", anonymous(), confirm).await, 204).await;
    let tokens = login(api, &invitation.email, &password).await;
    Account {
        tenant_id: by.tenant_id.clone(),
        user_id: invitation.user["id"].as_str().unwrap().to_owned(),
        email: invitation.email,
        password,
        access: tokens.access,
        refresh: tokens.refresh,
    }
}

/// An agent of `admin`'s tenant with only the `agent` role, signed in.
pub async fn agent(api: &Api, tenants: &EventLog, admin: &Account) -> Account {
    let agent_role = role_id(api, admin, "agent").await;
    invite_user_with_password(api, tenants, admin, &[&agent_role]).await
}
