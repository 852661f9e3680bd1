//! What every analytics test needs: the function on a port of its own over the test's own
//! database, Redis prefix and Kafka, access tokens signed with its keys, and seeding helpers
//! that write chatrooms and messages with known timestamps through the repositories.

use std::sync::Arc;

pub use shared::testing::{Api, anonymous, assert_error, bearer, eventually, expect_status, random_string};
use shared::{
    auth::{AccessTokens, AuthConfig},
    config::{Env, KafkaConfig},
    domain::{
        AssignedAgent, ChatbotId, Chatroom, ChatroomId, ChatroomStatus, ClientMsgId, CloseReason, Message, Name,
        Permission, Sender, SenderKind, Tenant, TenantId, Timestamp, UserId, VisitorInfo,
    },
    repos::Repos,
    testing::{TestDatabase, TestRedis, kafka_config, kafka_env},
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

pub struct TestApp {
    pub api: Api,
    pub state: analytics::AppState,
    pub repos: Repos,
    pub db: Arc<TestDatabase>,
    pub redis: Arc<TestRedis>,
    /// The test's Kafka brokers and topic prefix.
    pub kafka: KafkaConfig,
    /// `PARLEY_JWT_KEYS` as the app got it (`test-1:<secret>`).
    pub jwt_keys: String,
    tokens: AccessTokens,
}

/// The variables every test app gets, plus `extra` (which override them).
pub fn env(
    db: &TestDatabase,
    redis: &TestRedis,
    kafka: &KafkaConfig,
    jwt_keys: &str,
    extra: &[(&'static str, String)],
) -> Vec<(&'static str, String)> {
    let mut vars = db.env();
    vars.extend(redis.env());
    vars.extend(kafka_env(kafka));
    vars.push(("PARLEY_JWT_KEYS", jwt_keys.to_owned()));
    vars.push(("PARLEY_REPORT_INTERVAL_SECS", "0".to_owned()));
    for (name, value) in extra {
        vars.retain(|(n, _)| n != name);
        vars.push((name, value.clone()));
    }
    vars
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&'static str, String)]) -> TestApp {
    if std::env::var_os("RUST_LOG").is_some() {
        shared::telemetry::init();
    }
    let db = Arc::new(TestDatabase::new().await);
    let redis = Arc::new(TestRedis::new().await);
    let jwt_keys = format!("test-1:{}", random_string(48));
    let kafka = kafka_config();
    let env = Env::from_pairs(env(&db, &redis, &kafka, &jwt_keys, extra));
    let config = analytics::Config::from_env(&env).expect("a valid analytics config");
    let state = analytics::AppState::connect(&config).await.expect("the analytics function connects");
    let api = Api::new(shared::testing::serve(analytics::router(state.clone())).await);
    let tokens = AccessTokens::new(&AuthConfig::from_env(&env).expect("the keys"));
    TestApp { api, repos: state.repos.clone(), state, db, redis, kafka, jwt_keys, tokens }
}

impl TestApp {
    /// A tenant, stored.
    pub async fn tenant(&self, name: &str) -> Tenant {
        let tenant = Tenant::new(name.parse::<Name>().unwrap());
        self.repos.tenants.insert(&tenant).await.unwrap();
        tenant
    }

    /// An access token of a user of `tenant` holding `permissions`.
    pub fn token(&self, tenant: &TenantId, permissions: &[Permission]) -> String {
        self.tokens.issue(UserId::new(), *tenant, permissions.to_vec()).token
    }

    /// A token that may read the tenant's analytics.
    pub fn viewer(&self, tenant: &TenantId) -> String {
        self.token(tenant, &[Permission::AnalyticsView])
    }
}

/// An instant written `2026-11-20T09:00:00Z`.
pub fn at(rfc3339: &str) -> Timestamp {
    let t = OffsetDateTime::parse(rfc3339, &Rfc3339).expect("an RFC 3339 instant");
    Timestamp::from_unix_millis((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

pub fn agent(name: &str) -> AssignedAgent {
    let email = format!("{}@acme.test", name.to_lowercase());
    AssignedAgent { id: UserId::new(), name: name.to_owned(), email: email.parse().unwrap() }
}

/// How a seeded chatroom went.
#[derive(Default)]
pub struct Story {
    pub agent: Option<AssignedAgent>,
    /// When the agent took the chatroom.
    pub assigned: Option<&'static str>,
    pub first_reply: Option<&'static str>,
    pub ended: Option<(&'static str, CloseReason)>,
    pub visitor_name: Option<&'static str>,
    pub messages: u64,
}

/// Stores a chatroom of `tenant` created at `created`, as `story` says it went.
pub async fn chatroom(repos: &Repos, tenant: &TenantId, created: &str, story: Story) -> Chatroom {
    let name = story.visitor_name.unwrap_or("Vera Visitor").parse().unwrap();
    let email = format!("vera-{}@example.net", random_string(6).to_lowercase()).parse().unwrap();
    let visitor = VisitorInfo { ip: "203.0.113.9".into(), ..VisitorInfo::default() };
    let mut room =
        Chatroom::new(ChatroomId::new(), *tenant, ChatbotId::new(), email, name, false, visitor, at(created));
    if let Some(agent) = story.agent {
        room.agent_id = Some(agent.id);
        room.agent_name = Some(agent.name);
        room.agent_email = Some(agent.email);
        room.status = ChatroomStatus::Active;
    }
    room.assigned_at = story.assigned.map(at);
    room.first_agent_reply_at = story.first_reply.map(at);
    room.last_seq = story.messages;
    if let Some((ended, reason)) = story.ended {
        room.closed_at = Some(at(ended));
        room.close_reason = Some(reason);
        room.status = match reason {
            CloseReason::MarkedStale => ChatroomStatus::Stale,
            CloseReason::Blocked => ChatroomStatus::Blocked,
            _ => ChatroomStatus::Closed,
        };
    }
    repos.chatrooms.insert(&room).await.unwrap();
    room
}

/// Stores a message in `room` sent at `sent` by `kind` (an agent's carries the agent's id).
pub async fn message(
    repos: &Repos,
    room: &Chatroom,
    seq: u64,
    sent: &str,
    kind: SenderKind,
    by: Option<&AssignedAgent>,
) {
    let sender = match kind {
        SenderKind::Agent => {
            let agent = by.expect("an agent message names its agent");
            Sender { kind, id: Some(agent.id.to_string()), name: agent.name.clone() }
        }
        SenderKind::Visitor => Sender { kind, id: Some(room.email.to_string()), name: room.name.to_string() },
        SenderKind::System => Sender { kind, id: None, name: "Parley".into() },
    };
    let client_id: ClientMsgId = format!("c-{seq}").parse().unwrap();
    let message = Message::new(room.tenant_id, room.id, seq, client_id, sender, "some words".into(), at(sent));
    repos.messages.insert(&message).await.unwrap();
}
