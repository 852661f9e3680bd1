//! The SES v2 transport against a local SES stand-in: Amazon SES cannot be reached from here, so
//! a small server answers `SendEmail` (`POST /v2/email/outbound-emails`) the way SES does and
//! keeps what it was sent. Each test says so in its name.

use std::sync::{Arc, Mutex};

use aws_sdk_sesv2::config::{BehaviorVersion, Credentials, Region};
use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    routing::post,
};
use base64::Engine as _;
use email::transport::{SendError, SesTransport, Transport};
use serde_json::{Value, json};

use crate::support::*;

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(HeaderMap, Value)>>>);

/// SES's answers: a message id, or for a recipient at `rejected.test` the 400 `MessageRejected`
/// SES gives for an unverified address, or for `throttled.test` a 429 `TooManyRequestsException`.
async fn send_email(
    State(received): State<Received>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> impl IntoResponse {
    let to = body["Destination"]["ToAddresses"][0].as_str().unwrap_or_default().to_owned();
    received.0.lock().unwrap().push((headers, body));
    let error = |status: StatusCode, kind: &str, message: &str| {
        (status, [("x-amzn-errortype", kind.to_owned())], Json(json!({"message": message}))).into_response()
    };
    if to.contains("@rejected.test") {
        return error(StatusCode::BAD_REQUEST, "MessageRejected", "Email address is not verified.");
    }
    if to.contains("@throttled.test") {
        return error(StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException", "Maximum sending rate exceeded.");
    }
    (StatusCode::OK, Json(json!({"MessageId": format!("ses-{}", random())}))).into_response()
}

/// Starts the stand-in: its address, and what it receives.
async fn start_stand_in() -> (String, Received) {
    let received = Received::default();
    let app = Router::new().route("/v2/email/outbound-emails", post(send_email)).with_state(received.clone());
    (shared::testing::serve(app).await, received)
}

async fn ses_stand_in() -> (SesTransport, Received) {
    let (url, received) = start_stand_in().await;
    let config = aws_sdk_sesv2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDPARLEYTEST", "stand-in-secret", None, None, "test"))
        .endpoint_url(url)
        .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled())
        .build();
    (SesTransport::new(aws_sdk_sesv2::Client::from_conf(config)), received)
}

#[tokio::test]
async fn on_a_local_ses_stand_in_every_part_of_the_email_arrives_signed() {
    let (ses, received) = ses_stand_in().await;
    let h = harness().await;
    let state = AppState { transport: Arc::new(ses), ..h.state.clone() };
    let tenant = h.tenant("Acme", Some("Acme, \"Help\" Desk")).await;
    let visitor = unique_email("vera");
    let event = envelope("chatroom.created", tenant.id, created_data(&"Vera <V>", &visitor));
    let outcome = handle(&state, &event).await.unwrap();
    assert_eq!(outcome.sent(), 1, "{outcome:?}");

    let (headers, body) = received.0.lock().unwrap().pop().expect("SES got the email");
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDPARLEYTEST/"), "SigV4-signed: {auth}");
    assert!(auth.contains("/eu-west-1/ses/aws4_request"), "{auth}");
    assert_eq!(body["FromEmailAddress"], format!("\"Acme, \\\"Help\\\" Desk\" <{FROM}>"));
    assert_eq!(body["Destination"]["ToAddresses"], json!([format!("\"Vera <V>\" <{visitor}>")]));
    assert_eq!(body["ReplyToAddresses"], json!([REPLY_TO]));
    let simple = &body["Content"]["Simple"];
    assert_eq!(simple["Subject"]["Data"], "Thanks for contacting Acme, \"Help\" Desk");
    assert!(simple["Body"]["Text"]["Data"].as_str().unwrap().starts_with("Hi Vera <V>,"));
    assert!(simple["Body"]["Html"]["Data"].as_str().unwrap().contains("Hi Vera &lt;V&gt;,"));
    assert_eq!(simple["Body"]["Html"]["Charset"], "UTF-8");
}

#[tokio::test]
async fn on_a_local_ses_stand_in_a_rejected_address_goes_to_the_dead_letter_topic_at_once() {
    let (ses, received) = ses_stand_in().await;
    let h = harness().await;
    let state = AppState { transport: Arc::new(ses), ..h.state.clone() };
    let tenant = h.tenant("Acme", None).await;
    let visitor = format!("vera.{}@rejected.test", random());
    let event = envelope("chatroom.created", tenant.id, created_data(&"Vera", &visitor));
    let Outcome::Emails(emails) = handle(&state, &event).await.unwrap() else { panic!() };
    let Delivery::DeadLettered { reason } = &emails[0].2 else { panic!("{emails:?}") };
    assert_eq!(reason, "SES: MessageRejected: Email address is not verified.");
    assert_eq!(received.0.lock().unwrap().len(), 1, "a permanent refusal is not retried");
    eventually(shared::testing::EVENT_TIMEOUT, "the dead-letter entry", || async {
        h.dead_letters_of(event.id).into_iter().next()
    })
    .await;
}

#[tokio::test]
async fn on_a_local_ses_stand_in_throttling_is_retried() {
    let (ses, received) = ses_stand_in().await;
    let address = format!("vera.{}@throttled.test", random());
    let email = email::message::Email::new(
        EmailKind::Welcome,
        email::message::Mailbox::new("Acme", FROM.parse().unwrap()),
        email::message::Mailbox::new("Vera", address.parse().unwrap()),
        "Hi",
        "text".into(),
        "<p>html</p>".into(),
    );
    let error = ses.send(&email).await.unwrap_err();
    assert_eq!(error, SendError::Transient("SES: TooManyRequestsException: Maximum sending rate exceeded.".into()));
    assert_eq!(received.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn on_a_local_ses_stand_in_the_binary_signs_with_the_aws_credential_chain_at_the_configured_endpoint() {
    let (url, received) = start_stand_in().await;
    let h = harness().await;
    let tenant = h.tenant("Acme", None).await;
    let visitor = unique_email("vera");
    let welcome = envelope("chatroom.created", tenant.id, created_data(&"Vera", &visitor));
    let value = base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&welcome).unwrap());
    let batch = json!({
        "eventSource": "aws:kafka",
        "records": {"chatrooms-0": [{
            "topic": "chatrooms", "partition": 0, "offset": 1, "timestamp": 1_795_600_800_000_u64,
            "timestampType": "CREATE_TIME", "key": null, "value": value, "headers": [],
        }]},
    });
    let mut runtime = shared::testing::lambda::LambdaRuntimeStandIn::start(vec![batch]).await;
    let mut command = shared::testing::binary(env!("CARGO_BIN_EXE_email"));
    command
        .envs(h.vars.iter().map(|(k, v)| (*k, v.as_str())))
        .envs(runtime.env())
        .env("PARLEY_EMAIL_TRANSPORT", "ses")
        .env("PARLEY_SES_ENDPOINT", &url)
        // The standard chain's first link: the variables Lambda sets from the function's role.
        .env("AWS_REGION", "eu-central-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDFROMTHECHAIN")
        .env("AWS_SECRET_ACCESS_KEY", "chain-secret")
        .env("AWS_SESSION_TOKEN", "chain-session-token");
    let _function = command.spawn().expect("the email binary starts");
    let (_, answer) = runtime.next_result().await;
    assert!(matches!(&answer, shared::testing::lambda::Outcome::Response(r) if r["sent"] == 1), "{answer:?}");

    let (headers, body) = received.0.lock().unwrap().pop().expect("the stand-in got the email");
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDFROMTHECHAIN/"), "{auth}");
    assert!(auth.contains("/eu-central-1/ses/aws4_request"), "{auth}");
    assert_eq!(headers.get("x-amz-security-token").and_then(|v| v.to_str().ok()), Some("chain-session-token"));
    assert_eq!(body["Destination"]["ToAddresses"], json!([format!("\"Vera\" <{visitor}>")]));
}
