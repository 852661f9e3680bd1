//! `/roles`: creating, reading, updating and deleting roles; their events; the protected admin
//! role, names in use and roles in use.

use serde_json::{Value, json};

use crate::support::{
    ALL_PERMISSIONS, Account, TestApp, assert_error, create_role, expect_status, get_user, instant, invite,
    invite_user_with_password, role_id, sign_up, sorted, spawn_app, strings,
};

fn role_path(id: &str) -> String {
    format!("/roles/{id}")
}

async fn roles(app: &TestApp, by: &Account) -> Value {
    expect_status(app.get("/roles", by.bearer()).await, 200).await
}

async fn get_role(app: &TestApp, by: &Account, id: &str) -> Value {
    expect_status(app.get(&role_path(id), by.bearer()).await, 200).await
}

#[tokio::test]
async fn a_created_role_is_answered_listed_readable_and_announced() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let body = json!({ "name": "supervisor", "permissions": ["chatrooms:moderate", "analytics:view"] });
    let role = expect_status(app.post("/roles", admin.bearer(), body).await, 201).await;
    let id = role["id"].as_str().expect("an id").to_owned();
    assert_eq!(role["name"], "supervisor");
    assert_eq!(sorted(&role["permissions"]), strings(&["analytics:view", "chatrooms:moderate"]));
    assert_eq!(role["builtin"], false);
    instant(&role["createdAt"]);
    instant(&role["updatedAt"]);

    assert_eq!(get_role(&app, &admin, &id).await, role);
    let list = roles(&app, &admin).await;
    let mut names: Vec<&str> = list.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["admin", "agent", "supervisor"]);

    let event = app.events.wait_for("role.created", |e| e["data"]["roleId"] == id).await;
    assert_eq!(event["tenantId"], admin.tenant_id);
    assert_eq!(event["data"]["name"], "supervisor");
    assert_eq!(sorted(&event["data"]["permissions"]), strings(&["analytics:view", "chatrooms:moderate"]));
}

#[tokio::test]
async fn updating_a_role_is_announced_and_changes_what_its_holders_may_do() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let id = create_role(&app, &admin, "supervisor", &["chatrooms:moderate"]).await;
    let holder = invite_user_with_password(&app, &admin, &[&id]).await;

    let body = json!({ "permissions": ["chatrooms:join", "analytics:view"] });
    let updated = expect_status(app.patch(&role_path(&id), admin.bearer(), body).await, 200).await;
    assert_eq!(updated["name"], "supervisor", "what the patch leaves out stays");
    assert_eq!(sorted(&updated["permissions"]), strings(&["analytics:view", "chatrooms:join"]));
    assert_eq!(get_role(&app, &admin, &id).await["permissions"], updated["permissions"]);
    let holder_view = get_user(&app, &admin, &holder.user_id).await;
    assert_eq!(sorted(&holder_view["permissions"]), strings(&["analytics:view", "chatrooms:join"]));
    app.events
        .wait_for("role.updated", |e| {
            e["data"]["roleId"] == id
                && e["data"]["name"] == "supervisor"
                && e["data"]["permissions"].is_array()
                && sorted(&e["data"]["permissions"]) == strings(&["analytics:view", "chatrooms:join"])
        })
        .await;

    let renamed = expect_status(app.patch(&role_path(&id), admin.bearer(), json!({ "name": "lead" })).await, 200).await;
    assert_eq!(renamed["name"], "lead");
    assert_eq!(renamed["permissions"], updated["permissions"]);
    app.events.wait_for("role.updated", |e| e["data"]["roleId"] == id && e["data"]["name"] == "lead").await;
}

#[tokio::test]
async fn a_deleted_role_is_gone_and_announced() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let id = create_role(&app, &admin, "supervisor", &["chatrooms:moderate"]).await;
    expect_status(app.delete(&role_path(&id), admin.bearer()).await, 204).await;

    assert_error(app.get(&role_path(&id), admin.bearer()).await, 404, "role_not_found").await;
    assert!(!roles(&app, &admin).await.to_string().contains(&id));
    let event = app.events.wait_for("role.deleted", |e| e["data"]["roleId"] == id).await;
    assert_eq!(event["data"], json!({ "roleId": id, "name": "supervisor" }));
    assert_error(app.delete(&role_path(&id), admin.bearer()).await, 404, "role_not_found").await;
    let patched = app.patch(&role_path(&id), admin.bearer(), json!({ "name": "again" })).await;
    assert_error(patched, 404, "role_not_found").await;
}

#[tokio::test]
async fn an_unknown_permission_answers_422_invalid_body_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let before = roles(&app, &admin).await;
    let body = json!({ "name": "pilot", "permissions": ["chatrooms:join", "planes:fly"] });
    assert_error(app.post("/roles", admin.bearer(), body).await, 422, "invalid_body").await;
    assert_eq!(roles(&app, &admin).await, before);

    let agent_role = role_id(&app, &admin, "agent").await;
    let body = json!({ "permissions": ["*"] });
    assert_error(app.patch(&role_path(&agent_role), admin.bearer(), body).await, 422, "invalid_body").await;
    assert_eq!(roles(&app, &admin).await, before);
}

#[tokio::test]
async fn a_role_name_in_use_in_the_tenant_answers_409_role_name_taken() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let body = json!({ "name": "agent", "permissions": ["analytics:view"] });
    assert_error(app.post("/roles", admin.bearer(), body).await, 409, "role_name_taken").await;
    let id = create_role(&app, &admin, "supervisor", &["chatrooms:moderate"]).await;
    let rename = app.patch(&role_path(&id), admin.bearer(), json!({ "name": "agent" })).await;
    assert_error(rename, 409, "role_name_taken").await;
    assert_eq!(get_role(&app, &admin, &id).await["name"], "supervisor");
    let agents = roles(&app, &admin).await.as_array().unwrap().iter().filter(|r| r["name"] == "agent").count();
    assert_eq!(agents, 1);

    // Names belong to one tenant: another may use the same.
    let elsewhere = sign_up(&app).await;
    create_role(&app, &elsewhere, "supervisor", &["chatrooms:moderate"]).await;
}

#[tokio::test]
async fn the_admin_role_can_be_neither_changed_nor_deleted() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let id = role_id(&app, &admin, "admin").await;
    let before = get_role(&app, &admin, &id).await;
    assert_eq!(before["builtin"], true);
    for body in [json!({ "name": "boss" }), json!({ "permissions": ["chatrooms:join"] })] {
        assert_error(app.patch(&role_path(&id), admin.bearer(), body).await, 409, "role_protected").await;
    }
    assert_error(app.delete(&role_path(&id), admin.bearer()).await, 409, "role_protected").await;
    assert_eq!(get_role(&app, &admin, &id).await, before);
    assert_eq!(sorted(&before["permissions"]), strings(&ALL_PERMISSIONS));
}

#[tokio::test]
async fn a_role_held_by_a_user_cannot_be_deleted_until_nobody_holds_it() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent_role = role_id(&app, &admin, "agent").await;
    let invitation = invite(&app, &admin, &[&agent_role]).await;
    assert_error(app.delete(&role_path(&agent_role), admin.bearer()).await, 409, "role_in_use").await;
    assert_eq!(get_role(&app, &admin, &agent_role).await["name"], "agent");

    let user_path = format!("/users/{}", invitation.user["id"].as_str().unwrap());
    expect_status(app.patch(&user_path, admin.bearer(), json!({ "roleIds": [] })).await, 200).await;
    // `agent` is an ordinary role: once unused, it goes.
    expect_status(app.delete(&role_path(&agent_role), admin.bearer()).await, 204).await;
    assert_error(app.get(&role_path(&agent_role), admin.bearer()).await, 404, "role_not_found").await;
}

#[tokio::test]
async fn a_role_manager_cannot_put_permissions_they_do_not_hold_into_roles() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let manager_role = create_role(&app, &admin, "role-manager", &["roles:manage", "chatrooms:join"]).await;
    let manager = invite_user_with_password(&app, &admin, &[&manager_role]).await;
    let before = roles(&app, &admin).await;

    let body = json!({ "name": "analyst", "permissions": ["analytics:view"] });
    assert_error(app.post("/roles", manager.bearer(), body).await, 403, "permission_denied").await;
    let agent_role = role_id(&app, &admin, "agent").await;
    let body = json!({ "permissions": ["chatrooms:join", "users:manage"] });
    assert_error(app.patch(&role_path(&agent_role), manager.bearer(), body).await, 403, "permission_denied").await;
    assert_eq!(roles(&app, &admin).await, before);

    // What they hold, they may hand out.
    let body = json!({ "name": "helper", "permissions": ["chatrooms:join"] });
    expect_status(app.post("/roles", manager.bearer(), body).await, 201).await;
}

#[tokio::test]
async fn a_user_manager_reads_the_roles_they_hand_out_but_cannot_change_them() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let manager_role = create_role(&app, &admin, "team-lead", &["users:manage", "chatrooms:join"]).await;
    let manager = invite_user_with_password(&app, &admin, &[&manager_role]).await;
    let listed = expect_status(app.get("/roles", manager.bearer()).await, 200).await;
    assert_eq!(listed, roles(&app, &admin).await, "the same list the admin reads");
    let body = json!({ "name": "helper", "permissions": ["chatrooms:join"] });
    assert_error(app.post("/roles", manager.bearer(), body).await, 403, "permission_denied").await;

    // Someone who manages neither reads nothing.
    let agent_role = role_id(&app, &admin, "agent").await;
    let agent = invite_user_with_password(&app, &admin, &[&agent_role]).await;
    assert_error(app.get("/roles", agent.bearer()).await, 403, "permission_denied").await;
}
