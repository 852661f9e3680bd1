//! `GET/PATCH /tenant` and `GET /permissions`.

use serde_json::{Value, json};

use crate::support::{
    ALL_PERMISSIONS, agent, assert_error, expect_status, instant, sign_up, sorted, spawn_app, strings,
};

#[tokio::test]
async fn every_signed_in_user_reads_their_tenant() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent = agent(&app, &admin).await;
    let tenant = expect_status(app.get("/tenant", admin.bearer()).await, 200).await;
    assert_eq!(tenant["id"], admin.tenant_id);
    assert_eq!(tenant["name"], "Acme");
    instant(&tenant["createdAt"]);
    instant(&tenant["updatedAt"]);
    assert_eq!(expect_status(app.get("/tenant", agent.bearer()).await, 200).await, tenant);
    let other = sign_up(&app).await;
    assert_eq!(expect_status(app.get("/tenant", other.bearer()).await, 200).await["id"], other.tenant_id);
}

#[tokio::test]
async fn renaming_the_tenant_is_answered_shown_everywhere_and_announced() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let before = expect_status(app.get("/tenant", admin.bearer()).await, 200).await;
    let renamed =
        expect_status(app.patch("/tenant", admin.bearer(), json!({ "name": "Acme Support" })).await, 200).await;
    assert_eq!(renamed["id"], admin.tenant_id);
    assert_eq!(renamed["name"], "Acme Support");
    assert_eq!(renamed["createdAt"], before["createdAt"]);
    assert!(instant(&renamed["updatedAt"]) >= instant(&before["updatedAt"]));
    assert_eq!(expect_status(app.get("/tenant", admin.bearer()).await, 200).await, renamed);
    assert_eq!(expect_status(app.get("/me", admin.bearer()).await, 200).await["tenant"]["name"], "Acme Support");

    let event = app.events.wait_for("tenant.updated", |e| e["tenantId"] == admin.tenant_id).await;
    let expected = json!({ "tenantId": admin.tenant_id, "name": "Acme Support", "emailSenderName": null });
    assert_eq!(event["data"], expected);
    assert_eq!(app.events.key_of(event["id"].as_str().unwrap()), Some(admin.tenant_id.clone()));
}

#[tokio::test]
async fn emails_come_from_the_tenant_name_until_a_sender_name_is_set() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let tenant = expect_status(app.get("/tenant", admin.bearer()).await, 200).await;
    assert_eq!(tenant["emailSenderName"], "Acme");

    let body = json!({ "emailSenderName": "Acme Help Desk" });
    let updated = expect_status(app.patch("/tenant", admin.bearer(), body).await, 200).await;
    assert_eq!((&updated["name"], &updated["emailSenderName"]), (&json!("Acme"), &json!("Acme Help Desk")));
    let renamed = expect_status(app.patch("/tenant", admin.bearer(), json!({ "name": "Acme Ltd" })).await, 200).await;
    assert_eq!(renamed["emailSenderName"], "Acme Help Desk", "a rename keeps the sender name");

    let reset = json!({ "emailSenderName": null });
    let reset = expect_status(app.patch("/tenant", admin.bearer(), reset).await, 200).await;
    assert_eq!(reset["emailSenderName"], "Acme Ltd");

    let header_injection = json!({ "emailSenderName": "Acme\r\nBcc: everyone@example.com" });
    assert_error(app.patch("/tenant", admin.bearer(), header_injection).await, 422, "invalid_body").await;
    assert_eq!(expect_status(app.get("/tenant", admin.bearer()).await, 200).await["emailSenderName"], "Acme Ltd");
}

#[tokio::test]
async fn an_agent_cannot_rename_the_tenant() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent = agent(&app, &admin).await;
    let response = app.patch("/tenant", agent.bearer(), json!({ "name": "Mallory Inc" })).await;
    assert_error(response, 403, "permission_denied").await;
    assert_eq!(expect_status(app.get("/tenant", admin.bearer()).await, 200).await["name"], "Acme");
}

#[tokio::test]
async fn an_invalid_tenant_name_answers_422_invalid_body_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    for name in [json!(""), json!("   "), json!("x".repeat(101)), json!({ "$ne": "" }), json!(42)] {
        let response = app.patch("/tenant", admin.bearer(), json!({ "name": name })).await;
        assert_error(response, 422, "invalid_body").await;
    }
    assert_eq!(expect_status(app.get("/tenant", admin.bearer()).await, 200).await["name"], "Acme");
}

#[tokio::test]
async fn permissions_lists_the_catalogue_with_descriptions_to_every_signed_in_user() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent = agent(&app, &admin).await;
    let catalogue = expect_status(app.get("/permissions", agent.bearer()).await, 200).await;
    let entries = catalogue.as_array().expect("a list");
    let names: Value = entries.iter().map(|p| p["name"].clone()).collect();
    assert_eq!(sorted(&names), strings(&ALL_PERMISSIONS));
    for entry in entries {
        assert!(entry["description"].as_str().is_some_and(|d| !d.trim().is_empty()), "{entry}");
    }
    assert_eq!(expect_status(app.get("/permissions", admin.bearer()).await, 200).await, catalogue);
}
