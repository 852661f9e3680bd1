//! Access tokens as every signed-in route checks them: missing, malformed, forged, signed with
//! another or an unknown key, meant for another audience, expired; and what an issued one holds.
//! The test knows its app's signing secret, so it can craft tokens the app must accept (a
//! control) and ones it must refuse.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{
    ALL_PERMISSIONS, KID, TestApp, agent, assert_error, base64url_decode, base64url_encode, bearer, expect_status,
    hmac_sha256, jwt_parts, login, now_secs, random_string, role_id, sign_jwt, sign_up, sorted, spawn_app,
    spawn_app_with, strings,
};

/// Every route that needs a signed-in user, with a body it would take.
fn signed_in_routes(user_id: &str, role_id: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/me".into(), None),
        (Method::GET, "/tenant".into(), None),
        (Method::PATCH, "/tenant".into(), Some(json!({ "name": "Renamed" }))),
        (Method::GET, "/permissions".into(), None),
        (Method::GET, "/users".into(), None),
        (Method::POST, "/users".into(), Some(json!({ "name": "G", "email": "g-token@acme.test", "roleIds": [] }))),
        (Method::GET, format!("/users/{user_id}"), None),
        (Method::PATCH, format!("/users/{user_id}"), Some(json!({ "name": "Renamed" }))),
        (Method::DELETE, format!("/users/{user_id}"), None),
        (Method::GET, "/roles".into(), None),
        (Method::POST, "/roles".into(), Some(json!({ "name": "pilot", "permissions": [] }))),
        (Method::GET, format!("/roles/{role_id}"), None),
        (Method::PATCH, format!("/roles/{role_id}"), Some(json!({ "name": "renamed" }))),
        (Method::DELETE, format!("/roles/{role_id}"), None),
    ]
}

async fn send(
    app: &TestApp,
    method: &Method,
    path: &str,
    body: &Option<Value>,
    authorization: Option<&str>,
) -> reqwest::Response {
    let mut request = app.client.request(method.clone(), app.url(path));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_signed_in_route_answers_401_missing_token_without_a_bearer_token_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent = agent(&app, &admin).await;
    let agent_role = role_id(&app, &admin, "agent").await;
    let routes = signed_in_routes(&agent.user_id, &agent_role);
    for (method, path, body) in &routes {
        for authorization in [None, Some("Basic YWRhOnB3"), Some(agent.access.as_str())] {
            let response = send(&app, method, path, body, authorization).await;
            let (status, text) = (response.status().as_u16(), response.text().await.unwrap());
            let code = serde_json::from_str::<Value>(&text).unwrap_or_default()["code"].clone();
            assert_eq!((status, code), (401, json!("missing_token")), "{method} {path} with {authorization:?}: {text}");
        }
    }
    assert_eq!(expect_status(app.get("/tenant", admin.bearer()).await, 200).await["name"], "Acme");
    let user = expect_status(app.get(&format!("/users/{}", agent.user_id), admin.bearer()).await, 200).await;
    assert_eq!(user["name"], "Grace Agent");
    let roles = expect_status(app.get("/roles", admin.bearer()).await, 200).await;
    assert_eq!(roles.as_array().unwrap().len(), 2, "{roles}");
}

#[tokio::test]
async fn an_issued_access_token_is_an_hs256_jwt_signed_with_the_first_key_holding_the_documented_claims() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let (header, claims) = jwt_parts(&admin.access);
    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["kid"], KID);
    let signing_input = admin.access.rsplit_once('.').unwrap().0;
    let signature = admin.access.rsplit_once('.').unwrap().1;
    assert_eq!(
        base64url_decode(signature),
        hmac_sha256(app.jwt_secret.as_bytes(), signing_input.as_bytes()).to_vec(),
        "the token is not signed with the key {KID}"
    );
    assert_eq!(claims["sub"], admin.user_id);
    assert_eq!(claims["tid"], admin.tenant_id);
    assert_eq!(sorted(&claims["perms"]), strings(&ALL_PERMISSIONS));
    assert!(claims["aud"] == "parley:agent" || claims["aud"] == json!(["parley:agent"]), "{claims}");
    let (iat, exp) = (claims["iat"].as_i64().expect("iat"), claims["exp"].as_i64().expect("exp"));
    assert_eq!(exp - iat, 900, "valid for 15 minutes");
    assert!((iat - now_secs()).abs() < 60, "{claims}");
    let other = login(&app, &admin.email, &admin.password).await;
    let (_, other_claims) = jwt_parts(&other.access);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()), "{claims}");
    assert_ne!(claims["jti"], other_claims["jti"], "every token has its own id");
}

#[tokio::test]
async fn the_access_token_lifetime_follows_the_configuration() {
    let app = spawn_app_with(&[("PARLEY_ACCESS_TOKEN_TTL_SECS", "60")]).await;
    let admin = sign_up(&app).await;
    let tokens = login(&app, &admin.email, &admin.password).await;
    let (_, claims) = jwt_parts(&tokens.access);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 60);
    let response =
        app.post("/auth/refresh", crate::support::anonymous(), json!({ "refreshToken": tokens.refresh })).await;
    assert_eq!(expect_status(response, 200).await["expiresIn"], 60);
}

#[tokio::test]
async fn malformed_tampered_and_unsigned_tokens_answer_401_invalid_token() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let agent = agent(&app, &admin).await;
    let (header, claims) = jwt_parts(&agent.access);
    let (_, signature) = agent.access.rsplit_once('.').unwrap();

    // The agent writes themselves every permission, keeping the signature.
    let mut escalated = claims.clone();
    escalated["perms"] = json!(ALL_PERMISSIONS);
    let tampered_payload = format!(
        "{}.{}.{signature}",
        base64url_encode(header.to_string().as_bytes()),
        base64url_encode(escalated.to_string().as_bytes())
    );
    // Another user's id, keeping the signature.
    let mut someone_else = claims.clone();
    someone_else["sub"] = json!(admin.user_id);
    let tampered_subject = format!(
        "{}.{}.{signature}",
        base64url_encode(header.to_string().as_bytes()),
        base64url_encode(someone_else.to_string().as_bytes())
    );
    let mut flipped = agent.access.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == 'A' { 'B' } else { 'A' });
    let unsigned = format!(
        "{}.{}.",
        base64url_encode(json!({ "alg": "none", "typ": "JWT" }).to_string().as_bytes()),
        base64url_encode(escalated.to_string().as_bytes())
    );
    let without_signature = agent.access.rsplit_once('.').unwrap().0.to_owned();

    for token in ["garbage", "a.b.c", "", &tampered_payload, &tampered_subject, &flipped, &unsigned, &without_signature]
    {
        for path in ["/me", "/users"] {
            let response = app.get(path, bearer(token)).await;
            let (status, text) = (response.status().as_u16(), response.text().await.unwrap());
            let code = serde_json::from_str::<Value>(&text).unwrap_or_default()["code"].clone();
            assert!(
                status == 401 && (code == "invalid_token" || (token.is_empty() && code == "missing_token")),
                "GET {path} with {token:?}: {status} {text}"
            );
        }
    }
    // The genuine token still works and holds what it held.
    let me = expect_status(app.get("/me", agent.bearer()).await, 200).await;
    assert_eq!(me["user"]["id"], agent.user_id);
}

/// A token with `claims` changed by `edit`, signed with `secret` under `kid`.
fn crafted(app_token: &str, kid: &str, secret: &str, edit: impl FnOnce(&mut Value)) -> String {
    let (mut header, mut claims) = jwt_parts(app_token);
    header["kid"] = json!(kid);
    claims["jti"] = json!(Uuid::new_v4().to_string());
    edit(&mut claims);
    sign_jwt(&header, &claims, secret)
}

#[tokio::test]
async fn a_token_signed_with_another_secret_or_an_unknown_key_answers_401_invalid_token() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    // The control: a token the test signs with the app's own key is accepted.
    let own = crafted(&admin.access, KID, &app.jwt_secret, |_| {});
    assert_eq!(expect_status(app.get("/me", bearer(&own)).await, 200).await["user"]["id"], admin.user_id);

    let other_secret = random_string(48);
    for (kid, secret) in
        [(KID, other_secret.as_str()), ("other-1", other_secret.as_str()), ("other-1", app.jwt_secret.as_str())]
    {
        let token = crafted(&admin.access, kid, secret, |_| {});
        assert_error(app.get("/me", bearer(&token)).await, 401, "invalid_token").await;
    }

    // A server of the same deployment with other keys issues tokens this one refuses.
    let same_kid = app.sibling_with(&[("PARLEY_JWT_KEYS", &format!("{KID}:{other_secret}"))]).await;
    let elsewhere = sign_up(&same_kid).await;
    assert_error(app.get("/me", bearer(&elsewhere.access)).await, 401, "invalid_token").await;
    expect_status(same_kid.get("/me", bearer(&elsewhere.access)).await, 200).await;
}

#[tokio::test]
async fn during_a_key_rotation_the_old_key_still_verifies_and_the_new_one_signs() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let keys = format!("new-1:{},{KID}:{}", random_string(48), app.jwt_secret);
    let rotated = app.sibling_with(&[("PARLEY_JWT_KEYS", &keys)]).await;
    expect_status(rotated.get("/me", admin.bearer()).await, 200).await;
    let tokens = login(&rotated, &admin.email, &admin.password).await;
    assert_eq!(jwt_parts(&tokens.access).0["kid"], "new-1");
    expect_status(rotated.get("/me", bearer(&tokens.access)).await, 200).await;
    // A server that does not know the new key yet refuses its tokens.
    assert_error(app.get("/me", bearer(&tokens.access)).await, 401, "invalid_token").await;
}

#[tokio::test]
async fn an_expired_token_answers_401_token_expired_after_five_seconds_of_grace() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let secret = app.jwt_secret.clone();
    let expired = crafted(&admin.access, KID, &secret, |c| {
        c["iat"] = json!(now_secs() - 1000);
        c["exp"] = json!(now_secs() - 100);
    });
    assert_error(app.get("/me", bearer(&expired)).await, 401, "token_expired").await;
    assert_error(app.get("/users", bearer(&expired)).await, 401, "token_expired").await;

    // Within the allowed clock skew, and well within its lifetime, a token is accepted.
    let just_expired = crafted(&admin.access, KID, &secret, |c| {
        c["iat"] = json!(now_secs() - 900);
        c["exp"] = json!(now_secs() - 2);
    });
    expect_status(app.get("/me", bearer(&just_expired)).await, 200).await;
    let fresh = crafted(&admin.access, KID, &secret, |c| {
        c["iat"] = json!(now_secs());
        c["exp"] = json!(now_secs() + 600);
    });
    expect_status(app.get("/me", bearer(&fresh)).await, 200).await;
}

#[tokio::test]
async fn a_token_for_another_audience_or_without_one_answers_401_invalid_token() {
    let app = spawn_app().await;
    let admin = sign_up(&app).await;
    let secret = app.jwt_secret.clone();
    let widget = crafted(&admin.access, KID, &secret, |c| c["aud"] = json!("parley:widget"));
    assert_error(app.get("/me", bearer(&widget)).await, 401, "invalid_token").await;
    let none = crafted(&admin.access, KID, &secret, |c| {
        c.as_object_mut().unwrap().remove("aud");
    });
    assert_error(app.get("/me", bearer(&none)).await, 401, "invalid_token").await;
}
