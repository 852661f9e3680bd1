//! `/users`: inviting, reading, updating and deleting agents and admins; their events; the last
//! admin; who may do what, and that nobody hands out what they do not hold.

use serde_json::{Value, json};

use crate::support::{
    ALL_PERMISSIONS, Account, TestApp, agent, assert_error, bearer, create_role, expect_status, get_user, instant,
    invite, invite_user_with_password, jwt_parts, login, login_from, random_ip, refresh, refresh_from, role_id,
    sign_up, sorted, spawn_app, strings, unique_email, user_ids,
};

fn user_path(id: &str) -> String {
    format!("/users/{id}")
}

async fn patch_user(app: &TestApp, by: &Account, id: &str, body: Value) -> reqwest::Response {
    app.patch(&user_path(id), by.bearer(), body).await
}

/// Waits for the `user.updated` of `user_id` whose changes are exactly `changes`.
async fn wait_for_changes(app: &TestApp, user_id: &str, changes: &[&str]) -> Value {
    let expected = strings(changes);
    app.events
        .wait_for("user.updated", |e| {
            e["data"]["userId"] == user_id
                && e["data"]["changes"].as_array().is_some()
                && sorted(&e["data"]["changes"]) == expected
        })
        .await
}

#[tokio::test]
async fn an_invited_user_is_answered_listed_and_readable_without_a_password() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent_role = role_id(&app, &admin, "agent").await;
    let email = unique_email("grace");
    let body = json!({ "name": "Grace", "email": email.to_uppercase(), "roleIds": [agent_role] });
    let user = expect_status(app.post("/users", admin.bearer(), body).await, 201).await;

    let id = user["id"].as_str().expect("an id").to_owned();
    assert_eq!(user["tenantId"], admin.tenant_id);
    assert_eq!(user["email"], email);
    assert_eq!(user["name"], "Grace");
    assert_eq!(user["roleIds"], json!([agent_role]));
    assert_eq!((&user["grants"], &user["denies"]), (&json!([]), &json!([])));
    assert_eq!(user["permissions"], json!(["chatrooms:join"]));
    assert!(user["assigning"]["enabled"].is_boolean() && user["assigning"]["maxConcurrent"].is_u64(), "{user}");
    assert_eq!(user["status"], "active");
    assert_eq!(user["ipAddresses"], json!({ "seen": [], "allowList": [] }));
    assert_eq!(user["passwordSet"], false);
    instant(&user["createdAt"]);
    instant(&user["updatedAt"]);

    // What `GET` shows is exactly what `POST` answered: the invitation is stored in one write.
    assert_eq!(get_user(&app, &admin, &id).await, user);
    let mut expected = vec![admin.user_id.clone(), id];
    expected.sort();
    assert_eq!(user_ids(&app, &admin).await, expected);
    let list = expect_status(app.get("/users", admin.bearer()).await, 200).await.to_string();
    assert!(!list.contains("passwordHash") && !list.contains(&admin.password), "{list}");
}

#[tokio::test]
async fn an_invitation_publishes_user_invited_with_a_set_password_token_valid_seven_days() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent_role = role_id(&app, &admin, "agent").await;
    let invitation = invite(&app, &admin, &[&agent_role]).await;
    let event = app.events.wait_for("user.invited", |e| e["data"]["userId"] == invitation.user["id"]).await;
    assert_eq!(event["tenantId"], admin.tenant_id);
    let data = &event["data"];
    assert_eq!(data["email"], invitation.email);
    assert_eq!(data["name"], "Grace Agent");
    assert_eq!(data["invitedBy"], admin.user_id);
    assert!(invitation.token.len() >= 20, "a guessable token: {data}");
    let valid_for = instant(&data["expiresAt"]) - time::OffsetDateTime::now_utc();
    assert!(
        valid_for > time::Duration::days(7) - time::Duration::minutes(5) && valid_for <= time::Duration::days(7),
        "the token should be valid for 7 days: {data}"
    );
}

#[tokio::test]
async fn updating_a_user_answers_the_new_view_and_publishes_user_updated_naming_the_changes() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent = agent(&app, &admin).await;
    let id = agent.user_id.as_str();

    let renamed = expect_status(patch_user(&app, &admin, id, json!({ "name": "Grace Hopper" })).await, 200).await;
    assert_eq!(renamed["name"], "Grace Hopper");
    assert_eq!(renamed["email"], agent.email, "what the patch leaves out stays");
    assert_eq!(get_user(&app, &admin, id).await["name"], "Grace Hopper");
    wait_for_changes(&app, id, &["name"]).await;

    let both = json!({ "status": "disabled", "grants": ["analytics:view"] });
    expect_status(patch_user(&app, &admin, id, both).await, 200).await;
    wait_for_changes(&app, id, &["grants", "status"]).await;
}

#[tokio::test]
async fn assigning_settings_round_trip() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent = agent(&app, &admin).await;
    for assigning in [json!({ "enabled": false, "maxConcurrent": 2 }), json!({ "enabled": true, "maxConcurrent": 9 })] {
        let body = json!({ "assigning": assigning });
        let updated = expect_status(patch_user(&app, &admin, &agent.user_id, body).await, 200).await;
        assert_eq!(updated["assigning"], assigning);
        assert_eq!(get_user(&app, &admin, &agent.user_id).await["assigning"], assigning);
    }
    wait_for_changes(&app, &agent.user_id, &["assigning"]).await;
}

#[tokio::test]
async fn a_deleted_user_is_gone_announced_and_signed_out() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent = agent(&app, &admin).await;
    expect_status(app.delete(&user_path(&agent.user_id), admin.bearer()).await, 204).await;

    assert_error(app.get(&user_path(&agent.user_id), admin.bearer()).await, 404, "user_not_found").await;
    assert_eq!(user_ids(&app, &admin).await, vec![admin.user_id.clone()]);
    let event = app.events.wait_for("user.deleted", |e| e["data"]["userId"] == agent.user_id).await;
    assert_eq!(event["data"], json!({ "userId": agent.user_id }));
    assert_eq!(event["tenantId"], admin.tenant_id);
    let response = login_from(&app, &random_ip(), &agent.email, &agent.password).await;
    assert_error(response, 401, "invalid_credentials").await;
    assert!(refresh_from(&app, &random_ip(), &agent.refresh).await.status().is_client_error());
    assert_error(app.delete(&user_path(&agent.user_id), admin.bearer()).await, 404, "user_not_found").await;
    let patched = patch_user(&app, &admin, &agent.user_id, json!({ "name": "Ghost" })).await;
    assert_error(patched, 404, "user_not_found").await;
}

#[tokio::test]
async fn an_unknown_role_answers_422_unknown_role_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let elsewhere = sign_up(&app).await;
    let foreign_role = role_id(&app, &elsewhere, "agent").await;
    let missing_role = uuid::Uuid::now_v7().to_string();
    for role in [&missing_role, &foreign_role] {
        let body = json!({ "name": "Grace", "email": unique_email("grace"), "roleIds": [role] });
        assert_error(app.post("/users", admin.bearer(), body).await, 422, "unknown_role").await;
    }
    assert_eq!(user_ids(&app, &admin).await, vec![admin.user_id.clone()]);

    let agent = agent(&app, &admin).await;
    let before = get_user(&app, &admin, &agent.user_id).await;
    for role in [&missing_role, &foreign_role] {
        let response = patch_user(&app, &admin, &agent.user_id, json!({ "roleIds": [role] })).await;
        assert_error(response, 422, "unknown_role").await;
    }
    assert_eq!(get_user(&app, &admin, &agent.user_id).await, before);
}

#[tokio::test]
async fn an_address_in_use_in_any_tenant_answers_409_email_taken() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let elsewhere = sign_up(&app).await;
    let agent_role = role_id(&app, &admin, "agent").await;
    for email in [admin.email.to_uppercase(), elsewhere.email.clone()] {
        let body = json!({ "name": "Copy", "email": email, "roleIds": [agent_role] });
        assert_error(app.post("/users", admin.bearer(), body).await, 409, "email_taken").await;
    }
    assert_eq!(user_ids(&app, &admin).await, vec![admin.user_id.clone()]);
    assert_eq!(user_ids(&app, &elsewhere).await, vec![elsewhere.user_id.clone()]);
}

#[tokio::test]
async fn the_last_admin_cannot_be_deleted_disabled_or_stripped_of_the_admin_role() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent_role = role_id(&app, &admin, "agent").await;
    let admin_role = role_id(&app, &admin, "admin").await;
    let me = admin.user_id.as_str();

    assert_error(app.delete(&user_path(me), admin.bearer()).await, 409, "last_admin").await;
    for body in [json!({ "status": "disabled" }), json!({ "roleIds": [agent_role] }), json!({ "roleIds": [] })] {
        assert_error(patch_user(&app, &admin, me, body).await, 409, "last_admin").await;
    }
    let unchanged = get_user(&app, &admin, me).await;
    assert_eq!((&unchanged["status"], &unchanged["roleIds"]), (&json!("active"), &json!([admin_role])));
    login(&app, &admin.email, &admin.password).await;

    // With a second admin, the first may go.
    let second = invite_user_with_password(&app, &admin, &[&admin_role]).await;
    expect_status(app.delete(&user_path(me), second.bearer()).await, 204).await;
    assert_error(app.delete(&user_path(&second.user_id), second.bearer()).await, 409, "last_admin").await;
}

#[tokio::test]
async fn a_disabled_admin_does_not_count_as_another_admin() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let admin_role = role_id(&app, &admin, "admin").await;
    let second = invite_user_with_password(&app, &admin, &[&admin_role]).await;
    expect_status(patch_user(&app, &admin, &second.user_id, json!({ "status": "disabled" })).await, 200).await;
    assert_error(app.delete(&user_path(&admin.user_id), admin.bearer()).await, 409, "last_admin").await;
    let strip = patch_user(&app, &admin, &admin.user_id, json!({ "status": "disabled" })).await;
    assert_error(strip, 409, "last_admin").await;
}

#[tokio::test]
async fn an_agent_gets_403_permission_denied_on_users_and_roles_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent = agent(&app, &admin).await;
    let agent_role = role_id(&app, &admin, "agent").await;
    let users_before = user_ids(&app, &admin).await;
    let roles_before = expect_status(app.get("/roles", admin.bearer()).await, 200).await;

    let me = agent.bearer();
    let new_user = json!({ "name": "Mallory", "email": unique_email("mallory"), "roleIds": [agent_role] });
    let admin_path = user_path(&admin.user_id);
    let role_path = format!("/roles/{agent_role}");
    let responses = vec![
        ("GET /users", app.get("/users", me).await),
        ("POST /users", app.post("/users", me, new_user).await),
        ("GET /users/{id}", app.get(&admin_path, me).await),
        ("PATCH /users/{id}", app.patch(&admin_path, me, json!({ "name": "Pwned" })).await),
        (
            "PATCH /users/{id} self",
            app.patch(&user_path(&agent.user_id), me, json!({ "grants": ALL_PERMISSIONS })).await,
        ),
        ("DELETE /users/{id}", app.delete(&admin_path, me).await),
        ("GET /roles", app.get("/roles", me).await),
        ("POST /roles", app.post("/roles", me, json!({ "name": "mine", "permissions": ["users:manage"] })).await),
        ("GET /roles/{id}", app.get(&role_path, me).await),
        ("PATCH /roles/{id}", app.patch(&role_path, me, json!({ "permissions": ALL_PERMISSIONS })).await),
        ("DELETE /roles/{id}", app.delete(&role_path, me).await),
    ];
    for (route, response) in responses {
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
        assert_eq!((status, body["code"].as_str()), (403, Some("permission_denied")), "{route}: {body}");
    }
    assert_eq!(user_ids(&app, &admin).await, users_before);
    assert_eq!(expect_status(app.get("/roles", admin.bearer()).await, 200).await, roles_before);
    assert_eq!(get_user(&app, &admin, &agent.user_id).await["permissions"], json!(["chatrooms:join"]));
}

#[tokio::test]
async fn a_user_manager_cannot_hand_out_permissions_they_do_not_hold() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let manager_role = create_role(&app, &admin, "user-manager", &["users:manage", "chatrooms:join"]).await;
    let manager = invite_user_with_password(&app, &admin, &[&manager_role]).await;
    let agent_role = role_id(&app, &admin, "agent").await;
    let admin_role = role_id(&app, &admin, "admin").await;

    // What they hold, they may hand out.
    let body = json!({ "name": "Grace", "email": unique_email("grace"), "roleIds": [agent_role] });
    let agent = expect_status(app.post("/users", manager.bearer(), body).await, 201).await;
    let agent_id = agent["id"].as_str().unwrap().to_owned();
    let users_before = user_ids(&app, &admin).await;

    let body = json!({ "name": "Boss", "email": unique_email("boss"), "roleIds": [admin_role] });
    assert_error(app.post("/users", manager.bearer(), body).await, 403, "permission_denied").await;
    assert_eq!(user_ids(&app, &admin).await, users_before, "nobody was invited");
    for target in [&agent_id, &manager.user_id] {
        let before = get_user(&app, &admin, target).await;
        for body in [json!({ "roleIds": [admin_role] }), json!({ "grants": ["analytics:view"] })] {
            assert_error(patch_user(&app, &manager, target, body).await, 403, "permission_denied").await;
        }
        assert_eq!(get_user(&app, &admin, target).await, before);
    }
    let ok = patch_user(&app, &manager, &agent_id, json!({ "grants": ["users:manage"] })).await;
    assert_eq!(expect_status(ok, 200).await["grants"], json!(["users:manage"]));
}

#[tokio::test]
async fn grants_and_denies_change_the_effective_permissions_from_the_next_refresh() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent = agent(&app, &admin).await;
    let id = agent.user_id.as_str();

    let body = json!({ "grants": ["analytics:view", "users:manage"], "denies": ["chatrooms:join"] });
    let updated = expect_status(patch_user(&app, &admin, id, body).await, 200).await;
    assert_eq!(sorted(&updated["grants"]), strings(&["analytics:view", "users:manage"]));
    assert_eq!(updated["denies"], json!(["chatrooms:join"]));
    assert_eq!(sorted(&updated["permissions"]), strings(&["analytics:view", "users:manage"]));
    wait_for_changes(&app, id, &["denies", "grants"]).await;

    let tokens = refresh(&app, &agent.refresh).await;
    let (_, claims) = jwt_parts(&tokens.access);
    assert_eq!(sorted(&claims["perms"]), strings(&["analytics:view", "users:manage"]));
    let me = expect_status(app.get("/me", bearer(&tokens.access)).await, 200).await;
    assert_eq!(sorted(&me["permissions"]), strings(&["analytics:view", "users:manage"]));
    expect_status(app.get("/users", bearer(&tokens.access)).await, 200).await;

    // A deny wins over a grant.
    let body = json!({ "denies": ["chatrooms:join", "users:manage"] });
    let updated = expect_status(patch_user(&app, &admin, id, body).await, 200).await;
    assert_eq!(updated["permissions"], json!(["analytics:view"]));
    let tokens = refresh(&app, &tokens.refresh).await;
    let denied = app.get("/users", bearer(&tokens.access)).await;
    assert_error(denied, 403, "permission_denied").await;
}
