//! The shortest path a tenant takes: create a chatbot, get its key once, and the widget check
//! opens it from an allowed origin.

use crate::support::*;

#[tokio::test]
async fn a_new_chatbot_key_opens_the_widget_from_an_allowed_origin() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    assert!(created.api_key.starts_with("parley_pk_"), "{}", created.api_key);
    assert!(created.snippet.contains(&created.api_key), "{}", created.snippet);
    let tenant = admin.tenant_id.parse().unwrap();
    let chatbot = app.access().await.verify(&tenant, &created.api_key, Some("https://app.example.com")).await.unwrap();
    assert_eq!(chatbot.id.to_string(), created.id);
}
