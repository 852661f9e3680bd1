//! Tokens an attacker would present, made from one valid token of the test's own: signed with
//! a key the server does not hold, with no signature, with another algorithm, tampered with,
//! for the other audience, expired, not yet valid, issued in the future, or without a required
//! claim. The adversarial tests present each one on every route and on the socket-node, and
//! check that it is refused and that nothing changed.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::{
    auth::{AGENT_AUDIENCE, VISITOR_AUDIENCE},
    domain::Timestamp,
};

/// One forged or time-shifted token, and what the server must answer.
#[derive(Debug, Clone)]
pub struct HostileToken {
    /// What was done to the valid token (for assertion messages).
    pub case: &'static str,
    pub token: String,
    /// The code it is refused with: `token_expired` only when it did expire, else `invalid_token`
    /// (the socket-node's `token_invalid`).
    pub expired: bool,
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The hostile variants of `valid`, a token the server signed with key `kid` = `secret` (the
/// test's `PARLEY_JWT_KEYS`). Re-signed variants use that key, so only the change made is wrong.
pub fn hostile_tokens(valid: &str, kid: &str, secret: &str) -> Vec<HostileToken> {
    let mut parts = valid.split('.');
    let (_, payload) = (parts.next(), parts.next().expect("a JWT has a payload"));
    let claims: Value = serde_json::from_slice(&B64.decode(payload).expect("base64url")).expect("JSON claims");
    let now = Timestamp::now().unix_millis() / 1000;
    let sign = |claims: &Value, kid: &str, secret: &str, alg: Algorithm| {
        let header = Header { kid: Some(kid.to_owned()), ..Header::new(alg) };
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret.as_bytes())).expect("signing")
    };
    let with = |changes: Value| {
        let mut changed = claims.clone();
        for (name, value) in changes.as_object().expect("an object of claims") {
            match value {
                Value::Null => changed.as_object_mut().expect("claims").remove(name),
                _ => changed.as_object_mut().expect("claims").insert(name.clone(), value.clone()),
            };
        }
        sign(&changed, kid, secret, Algorithm::HS256)
    };
    let other_audience = match claims["aud"].as_str() {
        Some(AGENT_AUDIENCE) => VISITOR_AUDIENCE,
        _ => AGENT_AUDIENCE,
    };
    let unsigned = {
        let header = B64.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string());
        format!("{header}.{payload}.")
    };
    let tampered = {
        let mut escalated = claims.clone();
        escalated["sub"] = json!(uuid::Uuid::now_v7().to_string());
        let forged_payload = B64.encode(escalated.to_string());
        let signature = valid.rsplit('.').next().expect("a signature");
        let header = valid.split('.').next().expect("a header");
        format!("{header}.{forged_payload}.{signature}")
    };
    let hostile = |case, token| HostileToken { case, token, expired: false };
    vec![
        hostile("signed with a key the server does not hold", sign(&claims, kid, &"x".repeat(40), Algorithm::HS256)),
        hostile("naming a key id the server does not have", sign(&claims, "unknown-kid", secret, Algorithm::HS256)),
        hostile("with alg none and no signature", unsigned),
        hostile("with another algorithm (HS512)", sign(&claims, kid, secret, Algorithm::HS512)),
        hostile("with a payload changed after signing", tampered),
        hostile("for the other audience", with(json!({"aud": other_audience}))),
        HostileToken {
            case: "expired an hour ago",
            token: with(json!({"iat": now - 7_200, "exp": now - 3_600})),
            expired: true,
        },
        hostile("not valid before an hour from now", with(json!({"nbf": now + 3_600}))),
        hostile("issued an hour in the future", with(json!({"iat": now + 3_600, "exp": now + 7_200}))),
        hostile("without iat", with(json!({"iat": null}))),
        hostile("without exp", with(json!({"exp": null}))),
        hostile("not a JWT", "a.b.c".to_owned()),
    ]
}
