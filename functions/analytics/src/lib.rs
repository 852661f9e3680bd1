//! The analytics function: the live status of every component, per-chatbot status, usage reports
//! and the Tinybird stream.
//!
//! - `GET /status`: MongoDB, Redis, Kafka, every socket-node (from their heartbeats in Redis) and
//!   every function listed in `PARLEY_STATUS_FUNCTIONS`, checked at once, each with a timeout.
//! - `GET /chatbots/status` (`analytics:view`): per chatbot, waiting, active and standby
//!   chatrooms, agents online and last activity.
//! - `GET /reports`, `GET /reports/agents`, `GET /reports/chatrooms` (`analytics:view`): daily
//!   usage reports, per-agent figures and one row per chatroom, as JSON or CSV. A job (a timer
//!   self-hosted, an EventBridge schedule on Lambda) computes the daily reports from MongoDB.
//! - `GET /live/activity`, `/live/response-times`, `/live/response-time-distribution`,
//!   `/live/browsers` (`analytics:view`): real-time figures, the pipes of `infra/tinybird` read
//!   from Tinybird for the caller's tenant (with `PARLEY_TINYBIRD_READ_TOKEN`; [`routes::live`]).
//! - With `PARLEY_TINYBIRD_TOKEN`, chatroom and message events are streamed to Tinybird's Events
//!   API ([`tinybird`]).
//!
//! - `GET /openapi.json`: the routes above in OpenAPI 3.1 ([`openapi`]).
//!
//! What it reads from the chat data beyond the shared repositories is in [`source`].
//!
//! It runs as a plain server (`cargo run -p analytics`, on `PARLEY_HTTP_ADDR`, default
//! `127.0.0.1:8083`: the API, the report timer and, with a Tinybird token, the consumer group) or
//! on AWS Lambda, where `PARLEY_ANALYTICS_ROLE` (`api`, `reports` or `ingest`) says which of the
//! three this deployment of the binary is.
//!
//! Tests: `scripts/test -p analytics`.

pub mod config;
pub mod csv;
pub mod openapi;
pub mod reports;
pub mod routes;
pub mod source;
pub mod state;
pub mod tinybird;

pub use config::Config;
pub use openapi::ApiDoc;
pub use routes::router;
pub use state::AppState;
