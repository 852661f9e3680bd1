//! One tenant never reaches another's users or roles: their ids answer 404 exactly as unknown
//! ones do, and nothing of the other tenant changes.

use serde_json::{Value, json};

use crate::support::{
    agent, assert_error, create_role, expect_status, get_user, login, role_id, sign_up, spawn_app, user_ids,
};

#[tokio::test]
async fn another_tenant_s_users_answer_404_user_not_found_and_stay_as_they_were() {
    let app = spawn_app().await;
    let a = sign_up(&app).await;
    let b = sign_up(&app).await;
    let b_agent = agent(&app, &b).await;
    let a_admin_role = role_id(&app, &a, "admin").await;
    let before: Vec<Value> =
        futures::future::join_all([&b.user_id, &b_agent.user_id].map(|id| get_user(&app, &b, id))).await;
    app.events.caught_up().await;
    let events_before = app.events.all().len();

    for id in [&b.user_id, &b_agent.user_id] {
        let path = format!("/users/{id}");
        assert_error(app.get(&path, a.bearer()).await, 404, "user_not_found").await;
        let patches = [
            json!({ "name": "Taken Over" }),
            json!({ "status": "disabled" }),
            json!({ "roleIds": [a_admin_role] }),
            json!({ "ipAllowList": ["192.0.2.1"] }),
        ];
        for body in patches {
            assert_error(app.patch(&path, a.bearer(), body).await, 404, "user_not_found").await;
        }
        assert_error(app.delete(&path, a.bearer()).await, 404, "user_not_found").await;
    }
    assert_eq!(user_ids(&app, &a).await, vec![a.user_id.clone()], "A lists only its own users");

    let after: Vec<Value> =
        futures::future::join_all([&b.user_id, &b_agent.user_id].map(|id| get_user(&app, &b, id))).await;
    assert_eq!(after, before);
    login(&app, &b_agent.email, &b_agent.password).await;
    login(&app, &b.email, &b.password).await;
    app.events.caught_up().await;
    let touched: Vec<Value> = app.events.all()[events_before..]
        .iter()
        .filter(|e| e["type"] == "user.updated" || e["type"] == "user.deleted")
        .filter(|e| e["data"]["userId"] == b.user_id || e["data"]["userId"] == b_agent.user_id)
        .cloned()
        .collect();
    assert!(touched.is_empty(), "{touched:?}");
}

#[tokio::test]
async fn another_tenant_s_roles_answer_404_role_not_found_and_stay_as_they_were() {
    let app = spawn_app().await;
    let a = sign_up(&app).await;
    let b = sign_up(&app).await;
    let b_custom = create_role(&app, &b, "supervisor", &["chatrooms:moderate"]).await;
    let b_admin_role = role_id(&app, &b, "admin").await;
    let b_roles = expect_status(app.get("/roles", b.bearer()).await, 200).await;

    for id in [&b_custom, &b_admin_role] {
        let path = format!("/roles/{id}");
        assert_error(app.get(&path, a.bearer()).await, 404, "role_not_found").await;
        let body = json!({ "name": "hijacked", "permissions": ["chatrooms:join"] });
        assert_error(app.patch(&path, a.bearer(), body).await, 404, "role_not_found").await;
        assert_error(app.delete(&path, a.bearer()).await, 404, "role_not_found").await;
    }
    let a_roles = expect_status(app.get("/roles", a.bearer()).await, 200).await;
    assert!(!a_roles.to_string().contains(&b_custom) && !a_roles.to_string().contains(&b_admin_role), "{a_roles}");
    assert_eq!(expect_status(app.get("/roles", b.bearer()).await, 200).await, b_roles);
}

#[tokio::test]
async fn unknown_and_malformed_ids_answer_404_like_another_tenant_s() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    for id in [unknown.as_str(), "not-an-id", "123", "00000000000000000000000000000000"] {
        let path = format!("/users/{id}");
        assert_error(app.get(&path, admin.bearer()).await, 404, "user_not_found").await;
        let patched = app.patch(&path, admin.bearer(), json!({ "name": "Nobody" })).await;
        assert_error(patched, 404, "user_not_found").await;
        assert_error(app.delete(&path, admin.bearer()).await, 404, "user_not_found").await;
        let path = format!("/roles/{id}");
        assert_error(app.get(&path, admin.bearer()).await, 404, "role_not_found").await;
        let patched = app.patch(&path, admin.bearer(), json!({ "name": "nothing" })).await;
        assert_error(patched, 404, "role_not_found").await;
        assert_error(app.delete(&path, admin.bearer()).await, 404, "role_not_found").await;
    }
}
