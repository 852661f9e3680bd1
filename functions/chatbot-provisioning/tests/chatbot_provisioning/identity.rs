//! Signed visitor identity: a tenant's backend signs the visitor's email with the chatbot's
//! identity secret (signatures here are computed as that backend would, with `hmac` and `sha2`,
//! not with Parley's code), and the widget check verifies it.
//!
//! That signatures are compared in constant time is by construction (`hmac::Mac::verify_slice`
//! in `shared::auth::identity`), not tested: it could only be observed by timing, which tests
//! never do.

use serde_json::json;
use shared::auth::VisitorIdentity::{Unverified, Verified};

use crate::support::*;

const EMAIL: &str = "Ada.Visitor@Example.net";

#[tokio::test]
async fn a_signature_made_with_the_identity_secret_verifies_the_visitor_in_either_hex_case() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let access = app.access().await;
    let created = create_chatbot(&app, &admin).await;
    let signature = sign(&created.identity_secret, EMAIL);
    assert_eq!(signature, signature.to_lowercase());

    for signature in [signature.clone(), signature.to_uppercase()] {
        let answer = identity_check(&access, &admin, &created.api_key, EMAIL, Some(&signature)).await;
        assert_eq!(answer, Ok(Verified), "{signature}");
    }
}

#[tokio::test]
async fn a_signature_of_another_email_or_with_another_chatbots_secret_is_invalid() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let access = app.access().await;
    let created = create_chatbot(&app, &admin).await;
    let other = create_chatbot(&app, &admin).await;

    let wrong = [
        sign(&created.identity_secret, "someone.else@example.net"),
        // The email is signed exactly as sent: another spelling of the same address is another email.
        sign(&created.identity_secret, &EMAIL.to_lowercase()),
        sign(&other.identity_secret, EMAIL),
    ];
    for signature in &wrong {
        let answer = identity_check(&access, &admin, &created.api_key, EMAIL, Some(signature)).await;
        assert_eq!(answer, Err("identity_invalid"), "{signature}");
    }
    let right = sign(&other.identity_secret, EMAIL);
    assert_eq!(identity_check(&access, &admin, &other.api_key, EMAIL, Some(&right)).await, Ok(Verified));
}

#[tokio::test]
async fn a_signature_that_is_not_64_hex_digits_is_invalid() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let access = app.access().await;
    let created = create_chatbot(&app, &admin).await;
    let signature = sign(&created.identity_secret, EMAIL);

    let malformed = [
        String::new(),
        signature[..63].to_owned(),
        signature[..32].to_owned(),
        format!("{signature}0"),
        format!("{}zz", &signature[..62]),
        "g".repeat(64),
        format!(" {}", &signature[..63]),
    ];
    for bad in &malformed {
        let answer = identity_check(&access, &admin, &created.api_key, EMAIL, Some(bad)).await;
        assert_eq!(answer, Err("identity_invalid"), "{bad:?}");
    }
}

#[tokio::test]
async fn without_a_signature_a_visitor_is_unverified_unless_the_chatbot_enforces_identity() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let access = app.access().await;
    let created = create_chatbot(&app, &admin).await;
    let (good, bad) = (sign(&created.identity_secret, EMAIL), sign(&created.identity_secret, "x@example.net"));
    assert_eq!(identity_check(&access, &admin, &created.api_key, EMAIL, None).await, Ok(Unverified));

    let path = format!("/chatbots/{}", created.id);
    let enforced = expect_status(app.patch(&path, admin.bearer(), json!({ "enforceIdentity": true })).await, 200).await;
    assert_eq!(enforced["enforceIdentity"], true);
    assert_eq!(identity_check(&access, &admin, &created.api_key, EMAIL, None).await, Err("identity_required"));
    assert_eq!(identity_check(&access, &admin, &created.api_key, EMAIL, Some(&good)).await, Ok(Verified));
    assert_eq!(identity_check(&access, &admin, &created.api_key, EMAIL, Some(&bad)).await, Err("identity_invalid"));

    expect_status(app.patch(&path, admin.bearer(), json!({ "enforceIdentity": false })).await, 200).await;
    assert_eq!(identity_check(&access, &admin, &created.api_key, EMAIL, None).await, Ok(Unverified));
}

#[tokio::test]
async fn a_rotated_identity_secret_is_shown_once_and_replaces_the_old_one_at_once() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let access = app.access().await;
    let created = create_chatbot(&app, &admin).await;
    let old_signature = sign(&created.identity_secret, EMAIL);
    assert_eq!(identity_check(&access, &admin, &created.api_key, EMAIL, Some(&old_signature)).await, Ok(Verified));

    let rotated = rotate_identity_secret(&app, &admin, &created.id).await;
    let secret = rotated["identitySecret"].as_str().expect("identitySecret").to_owned();
    assert!(secret.starts_with("parley_is_") && secret != created.identity_secret, "{secret}");
    assert!(
        instant(&rotated["chatbot"]["identitySecretCreatedAt"]) >= instant(&created.chatbot["identitySecretCreatedAt"])
    );
    let chatbot = get_chatbot(&app, &admin, &created.id).await;
    assert!(!chatbot.to_string().contains(&secret["parley_is_".len()..]), "GET shows the secret: {chatbot}");
    assert_eq!(chatbot["identitySecretCreatedAt"], rotated["chatbot"]["identitySecretCreatedAt"]);

    let old = identity_check(&access, &admin, &created.api_key, EMAIL, Some(&old_signature)).await;
    assert_eq!(old, Err("identity_invalid"));
    let new_signature = sign(&secret, EMAIL);
    assert_eq!(identity_check(&access, &admin, &created.api_key, EMAIL, Some(&new_signature)).await, Ok(Verified));
    let event = app
        .events
        .wait_for("chatbot.updated", |e| {
            e["data"]["chatbotId"] == created.id && e["data"]["changes"] == json!(["identitySecret"])
        })
        .await;
    assert!(!event.to_string().contains(&secret["parley_is_".len()..]), "the event shows the secret: {event}");
}
