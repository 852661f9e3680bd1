//! API keys: shown once and stored only as a hash; rotation with a grace period; revocation; and
//! what the widget check answers for keys that are not the chatbot's, or not keys at all.

use bson::{Bson, doc};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use shared::{
    auth::{AccessError, ApiKey, ChatbotAccess, IdentityKeys},
    domain::{ChatbotId, TenantId},
    repos::Repos,
};

use crate::support::*;

/// `secret`, or any 8 characters in a row of what follows its `parley_xx_` prefix, where `text`
/// holds it.
fn leaked<'a>(text: &str, secret: &'a str) -> Option<&'a str> {
    let body = &secret["parley_xx_".len()..];
    std::iter::once(secret).chain((0..=body.len() - 8).map(|i| &body[i..i + 8])).find(|part| text.contains(part))
}

fn assert_not_leaked(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        if let Some(part) = leaked(text, secret) {
            panic!("{what} holds {part:?} of {secret:?}: {text}");
        }
    }
}

fn sha256_hex(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

/// How a key is shown in lists: `parley_pk_…` and its last four characters.
fn masked(key: &str) -> String {
    format!("parley_pk_…{}", &key[key.len() - 4..])
}

fn seconds_from_now(timestamp: &Value) -> i64 {
    (instant(timestamp) - time::OffsetDateTime::now_utc()).whole_seconds()
}

async fn rotated_event(app: &TestApp, id: &str, new_key: &str) -> Value {
    app.events
        .wait_for("chatbot.key_rotated", |e| e["data"]["chatbotId"] == id && e["data"]["apiKey"] == masked(new_key))
        .await
}

#[tokio::test]
async fn a_key_and_an_identity_secret_are_shown_only_in_the_answer_that_makes_them() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    assert!(created.api_key.starts_with("parley_pk_") && created.snippet.contains(&created.api_key));
    assert!(created.identity_secret.starts_with("parley_is_"), "{}", created.identity_secret);

    let rotated = rotate_key(&app, &admin, &created.id, None).await;
    let key = new_key(&rotated);
    assert!(rotated["snippet"].as_str().is_some_and(|s| s.contains(&key)), "{rotated}");
    assert!(rotated.get("identitySecret").is_none(), "a key rotation shows the identity secret: {rotated}");
    let secret_rotated = rotate_identity_secret(&app, &admin, &created.id).await;
    let secret = secret_rotated["identitySecret"].as_str().expect("identitySecret").to_owned();
    assert!(secret_rotated.get("apiKey").is_none(), "a secret rotation shows the API key: {secret_rotated}");
    let secrets = [created.api_key.as_str(), &key, &created.identity_secret, &secret];

    let chatbot = get_chatbot(&app, &admin, &created.id).await;
    assert_eq!(chatbot["apiKey"]["masked"], masked(&key));
    assert_eq!(chatbot["previousApiKey"]["masked"], masked(&created.api_key));
    let list = expect_status(app.get("/chatbots", admin.bearer()).await, 200).await;
    let snippet = expect_status(app.get(&format!("/chatbots/{}/snippet", created.id), admin.bearer()).await, 200).await;
    for (what, read) in [("GET /chatbots/{id}", &chatbot), ("GET /chatbots", &list), ("the snippet", &snippet)] {
        assert_not_leaked(what, &read.to_string(), &secrets);
    }

    rotated_event(&app, &created.id, &key).await;
    app.events.wait_for("chatbot.updated", |e| e["data"]["changes"] == json!(["identitySecret"])).await;
    app.events.caught_up().await;
    for envelope in app.events.all() {
        assert_not_leaked("an event on the tenants topic", &envelope.to_string(), &secrets);
    }
}

#[tokio::test]
async fn the_database_holds_only_a_hash_and_a_hint_of_each_key_and_no_identity_secret() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    let other = create_chatbot(&app, &admin).await;
    let key = new_key(&rotate_key(&app, &admin, &created.id, None).await);
    let secret_rotated = rotate_identity_secret(&app, &admin, &created.id).await;
    let secret = secret_rotated["identitySecret"].as_str().expect("identitySecret");

    let stored = app.stored_chatbots().await;
    assert_eq!(stored.len(), 2);
    let secrets =
        [created.api_key.as_str(), &key, &other.api_key, &created.identity_secret, secret, &other.identity_secret];
    for document in &stored {
        let text = Bson::Document(document.clone()).into_relaxed_extjson().to_string();
        assert_not_leaked("a stored chatbot", &text, &secrets);
    }

    let document = stored.iter().find(|d| d.get_str("_id") == Ok(created.id.as_str())).expect("the chatbot");
    let keys = document.get_document("apiKeys").expect("apiKeys");
    let current = keys.get_document("current").expect("apiKeys.current");
    let previous = keys.get_document("previous").expect("apiKeys.previous");
    assert_eq!(current.get_str("hash"), Ok(sha256_hex(&key).as_str()));
    assert_eq!(current.get_str("hint"), Ok(&key[key.len() - 4..]));
    assert_eq!(previous.get_str("hash"), Ok(sha256_hex(&created.api_key).as_str()));
    assert_eq!(previous.get_str("hint"), Ok(&created.api_key[created.api_key.len() - 4..]));
}

#[tokio::test]
async fn a_rotation_without_a_body_issues_a_working_key_and_keeps_the_old_one_for_24_hours() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let access = app.access().await;
    let created = create_chatbot(&app, &admin).await;

    let rotated = rotate_key(&app, &admin, &created.id, None).await;
    let key = new_key(&rotated);
    assert_ne!(key, created.api_key);
    assert_eq!(check_key(&access, &admin, &key).await, Ok(created.id.clone()));
    assert_eq!(check_key(&access, &admin, &created.api_key).await, Ok(created.id.clone()));

    let view = &rotated["chatbot"];
    assert_eq!(view["apiKey"]["masked"], masked(&key));
    assert_eq!(view["previousApiKey"]["masked"], masked(&created.api_key));
    let expires_in = seconds_from_now(&view["previousApiKey"]["expiresAt"]);
    assert!((24 * 3600 - 600..=24 * 3600).contains(&expires_in), "the old key should work for 24 h: {view}");

    let event = rotated_event(&app, &created.id, &key).await;
    assert_eq!(instant(&event["data"]["previousKeyExpiresAt"]), instant(&view["previousApiKey"]["expiresAt"]));
    assert_eq!(event["tenantId"], admin.tenant_id);
    assert_not_leaked("chatbot.key_rotated", &event.to_string(), &[&key, &created.api_key]);
}

#[tokio::test]
async fn grace_seconds_set_how_long_the_old_key_keeps_working() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let access = app.access().await;
    let created = create_chatbot(&app, &admin).await;

    let rotated = rotate_key(&app, &admin, &created.id, Some(json!({ "graceSeconds": 3600 }))).await;
    let key = new_key(&rotated);
    let expires_in = seconds_from_now(&rotated["chatbot"]["previousApiKey"]["expiresAt"]);
    assert!((3000..=3600).contains(&expires_in), "the old key should work for an hour: {rotated}");
    assert_eq!(check_key(&access, &admin, &created.api_key).await, Ok(created.id.clone()));
    assert_eq!(check_key(&access, &admin, &key).await, Ok(created.id.clone()));
    let event = rotated_event(&app, &created.id, &key).await;
    assert_eq!(
        instant(&event["data"]["previousKeyExpiresAt"]),
        instant(&rotated["chatbot"]["previousApiKey"]["expiresAt"])
    );
}

#[tokio::test]
async fn the_default_grace_period_comes_from_parley_api_key_grace_hours() {
    let app = spawn_app_with(&[("PARLEY_API_KEY_GRACE_HOURS", "2")]).await;
    let admin = admin(&app).await;
    let created = create_chatbot(&app, &admin).await;
    let rotated = rotate_key(&app, &admin, &created.id, None).await;
    let expires_in = seconds_from_now(&rotated["chatbot"]["previousApiKey"]["expiresAt"]);
    assert!((2 * 3600 - 600..=2 * 3600).contains(&expires_in), "the old key should work for 2 h: {rotated}");
}

#[tokio::test]
async fn the_old_key_answers_api_key_revoked_once_its_grace_period_is_over() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let access = app.access().await;
    let created = create_chatbot(&app, &admin).await;
    let key = new_key(&rotate_key(&app, &admin, &created.id, None).await);
    assert_eq!(check_key(&access, &admin, &created.api_key).await, Ok(created.id.clone()));

    let a_second_ago = bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() - 1000);
    let result = app
        .db
        .db
        .collection::<bson::Document>("chatbots")
        .update_one(doc! { "_id": &created.id }, doc! { "$set": { "apiKeys.previous.expiresAt": a_second_ago } })
        .await
        .expect("move the grace period's end");
    assert_eq!((result.matched_count, result.modified_count), (1, 1), "no replaced key stored for {}", created.id);
    // The check above may have cached the chatbot with the old end of the grace period, and this
    // write bypasses the API, so nothing invalidates that copy. (A real expiry needs no
    // invalidation: the cached end is compared with the time of each check.)
    forget_cache_entry(&app, &created.id).await;

    assert_eq!(check_key(&access, &admin, &created.api_key).await, Err("api_key_revoked"));
    assert_eq!(check_key(&access, &admin, &key).await, Ok(created.id.clone()));
    let chatbot = get_chatbot(&app, &admin, &created.id).await;
    assert_eq!(chatbot["previousApiKey"], Value::Null, "an expired key is still shown: {chatbot}");
    assert_eq!(chatbot["apiKey"]["masked"], masked(&key));
}

#[tokio::test]
async fn a_grace_period_of_zero_revokes_the_old_key_at_once() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let access = app.access().await;
    let created = create_chatbot(&app, &admin).await;
    assert_eq!(check_key(&access, &admin, &created.api_key).await, Ok(created.id.clone()));

    let rotated = rotate_key(&app, &admin, &created.id, Some(json!({ "graceSeconds": 0 }))).await;
    let key = new_key(&rotated);
    assert_eq!(check_key(&access, &admin, &created.api_key).await, Err("api_key_revoked"));
    assert_eq!(check_key(&access, &admin, &key).await, Ok(created.id.clone()));
    assert_eq!(rotated["chatbot"]["previousApiKey"], Value::Null, "{rotated}");
    let event = rotated_event(&app, &created.id, &key).await;
    assert_eq!(event["data"]["previousKeyExpiresAt"], Value::Null, "{event}");
}

#[tokio::test]
async fn a_second_rotation_revokes_the_key_still_in_its_grace_period() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let access = app.access().await;
    let created = create_chatbot(&app, &admin).await;
    let second = new_key(&rotate_key(&app, &admin, &created.id, None).await);
    assert_eq!(check_key(&access, &admin, &created.api_key).await, Ok(created.id.clone()));

    let rotated = rotate_key(&app, &admin, &created.id, None).await;
    let third = new_key(&rotated);
    assert_eq!(check_key(&access, &admin, &created.api_key).await, Err("api_key_revoked"));
    assert_eq!(check_key(&access, &admin, &second).await, Ok(created.id.clone()));
    assert_eq!(check_key(&access, &admin, &third).await, Ok(created.id.clone()));
    assert_eq!(rotated["chatbot"]["previousApiKey"]["masked"], masked(&second));
}

#[tokio::test]
async fn revoking_stops_every_working_key_at_once_until_a_rotation_issues_a_new_one() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let access = app.access().await;
    let created = create_chatbot(&app, &admin).await;
    let second = new_key(&rotate_key(&app, &admin, &created.id, None).await);
    for key in [&created.api_key, &second] {
        assert_eq!(check_key(&access, &admin, key).await, Ok(created.id.clone()));
    }

    let revoked = revoke_key(&app, &admin, &created.id).await;
    assert_eq!((&revoked["apiKey"], &revoked["previousApiKey"]), (&Value::Null, &Value::Null), "{revoked}");
    for key in [&created.api_key, &second] {
        assert_eq!(check_key(&access, &admin, key).await, Err("api_key_revoked"));
    }
    let chatbot = get_chatbot(&app, &admin, &created.id).await;
    assert_eq!(chatbot["apiKey"], Value::Null, "{chatbot}");
    let event = app
        .events
        .wait_for("chatbot.updated", |e| {
            e["data"]["chatbotId"] == created.id && e["data"]["changes"] == json!(["apiKey"])
        })
        .await;
    assert_not_leaked("chatbot.updated", &event.to_string(), &[&created.api_key, &second]);

    let rotated = rotate_key(&app, &admin, &created.id, None).await;
    let third = new_key(&rotated);
    assert_eq!(check_key(&access, &admin, &third).await, Ok(created.id.clone()));
    for key in [&created.api_key, &second] {
        assert_eq!(check_key(&access, &admin, key).await, Err("api_key_revoked"));
    }
    assert_eq!(rotated["chatbot"]["previousApiKey"], Value::Null, "a revoked key came back: {rotated}");
    let event = rotated_event(&app, &created.id, &third).await;
    assert_eq!(event["data"]["previousKeyExpiresAt"], Value::Null, "{event}");
}

#[tokio::test]
async fn a_key_presented_with_another_tenants_id_is_invalid() {
    let app = spawn_app().await;
    let (owner, stranger) = (admin(&app).await, admin(&app).await);
    let access = app.access().await;
    let created = create_chatbot(&app, &owner).await;

    assert_eq!(check_key(&access, &stranger, &created.api_key).await, Err("api_key_invalid"));
    assert_eq!(check_key(&access, &owner, &created.api_key).await, Ok(created.id.clone()));
    assert!(cache_entry(&app, &created.id).await.is_some(), "the chatbot should be cached now");
    // Now from the cache, which holds the chatbot with its owner's tenant id.
    assert_eq!(check_key(&access, &stranger, &created.api_key).await, Err("api_key_invalid"));
}

#[tokio::test]
async fn a_well_formed_key_that_is_not_one_of_the_chatbots_keys_is_invalid() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let access = app.access().await;
    let created = create_chatbot(&app, &admin).await;
    let chatbot: ChatbotId = created.id.parse().expect("a chatbot id");

    let of_no_chatbot = ApiKey::generate(ChatbotId::new());
    assert_eq!(check_key(&access, &admin, of_no_chatbot.expose()).await, Err("api_key_invalid"));
    let made_up_for_this_chatbot = ApiKey::generate(chatbot);
    assert_eq!(check_key(&access, &admin, made_up_for_this_chatbot.expose()).await, Err("api_key_invalid"));
    assert_eq!(check_key(&access, &admin, &created.api_key).await, Ok(created.id.clone()));
}

#[tokio::test]
async fn a_malformed_key_is_refused_before_any_database_look_up() {
    let url = format!("mongodb://127.0.0.1:{}/?serverSelectionTimeoutMS=300", shared::testing::closed_port());
    let client = mongodb::Client::with_uri_str(&url).await.expect("a MongoDB client");
    let access = ChatbotAccess::new(Repos::mongo(&client.database("x")).chatbots, IdentityKeys::ephemeral(), None);
    let tenant = TenantId::new();
    let key = ApiKey::generate(ChatbotId::new());
    let text = key.expose();
    let mut typo = text.as_bytes().to_vec();
    let at = text.len() - 10;
    typo[at] = if typo[at] == b'a' { b'b' } else { b'a' };

    for malformed in [
        String::new(),
        "parley_pk_".to_owned(),
        "not a key".to_owned(),
        text[..text.len() - 1].to_owned(),
        format!("{text}0"),
        String::from_utf8(typo).unwrap(),
        text.to_uppercase(),
        text.replace("parley_pk_", "parley_sk_"),
        format!(" {text}"),
    ] {
        let result = access.verify(&tenant, &malformed, Some(ALLOWED_ORIGIN)).await;
        assert!(matches!(result, Err(AccessError::ApiKeyInvalid)), "{malformed:?}: {result:?}");
    }
    // The same check with a well-formed key does go to the database, which is unreachable.
    let result = access.verify(&tenant, text, Some(ALLOWED_ORIGIN)).await;
    assert!(matches!(result, Err(AccessError::Repo(_))), "a well-formed key: {result:?}");
}
