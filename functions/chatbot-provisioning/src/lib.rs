//! The chatbot-provisioning function: chatbots (chat widgets), their API keys (create, rotate
//! with a grace period, revoke), allowed origins, widget settings, identity secrets for signed
//! visitor identity, and the embed snippet; and the visitors agents blocked from them (listed
//! and lifted by moderators).
//!
//! It runs on AWS Lambda, under `cargo lambda watch`, or as a plain server
//! (`cargo run -p chatbot-provisioning`, listening on `PARLEY_HTTP_ADDR`, default
//! `127.0.0.1:8082`). It needs MongoDB (`PARLEY_MONGODB_URL`), Redis (`PARLEY_REDIS_URL`, the
//! chatbot cache it invalidates on every change), Kafka (`PARLEY_KAFKA_BROKERS`), the agents'
//! token keys (`PARLEY_JWT_KEYS`) and the identity keys (`PARLEY_IDENTITY_KEYS`). The routes are
//! listed in `docs/protocol.md` and served as OpenAPI at `/openapi.json`. The check the widget's
//! requests pass (tenant id + API key + origin) is `shared::auth::ChatbotAccess`.
//!
//! Layout: `routes/` has one module per resource (`chatbots`, `credentials`, `snippet`, `blocks`);
//! `snippet` writes the embed tag; `views` shapes responses.
//!
//! Tests: `scripts/test -p chatbot-provisioning`.

mod config;
mod openapi;
mod routes;
pub mod snippet;
mod state;
mod views;

pub use config::{Config, DEFAULT_ADDR, Policy, PublicUrl};
pub use openapi::ApiDoc;
pub use routes::router;
pub use state::AppState;
