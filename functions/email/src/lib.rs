//! The email function: Kafka-triggered notifications over SMTP (self-hosted) or Amazon SES v2.
//!
//! It reads the `chatrooms` and `tenants` topics and sends:
//! - a welcome to the visitor on `chatroom.created`;
//! - an alert to the tenant's available agents on `chatroom.unclaimed` (a socket-node produces
//!   it when a chatroom has waited `PARLEY_UNCLAIMED_ALERT_SECS` with nobody joining);
//! - the transcript to the visitor on `chatroom.closed` / `chatroom.marked_stale` when they
//!   asked for it (`transcriptRequested`);
//! - the password-reset link on `password_reset.requested`, the invitation on `user.invited`.
//!
//! [`handle`] is the one core: [`compose`] decides the emails, the [`sent_log`] makes each go at
//! most once per (event id, recipient), [`transport`] sends with retries, and what cannot be
//! sent goes to the `emails.dlq` topic. Two thin adapters feed it: [`lambda`] (a `KafkaEvent`
//! batch on AWS Lambda or under `cargo lambda watch`) and [`consumer`] (an rdkafka consumer group
//! when self-hosted: `cargo run -p email`, which also serves `GET /healthz` on
//! `PARLEY_HTTP_ADDR`, default `127.0.0.1:8084`).
//!
//! With no service at all (`scripts/dev --memory`, development only) the same core runs on
//! [`AppState::in_memory`]: repositories and the sent-log ([`sent_log::MemorySentLog`]) in
//! memory, and a third adapter, [`in_process`], fed by the process's `MemoryPublisher`
//! broadcast. Email then goes to a [`transport::DevMailbox`], which prints each one (links
//! included) to stdout and keeps the last 100 for [`dev_mail::router`]'s `GET /dev/mail` page.
//!
//! Tests: `scripts/test -p email` (real FerretDB, Kafka and Mailpit; SES against a local
//! stand-in, named as such; the sent-log contract on both FerretDB and memory; memory mode with
//! no service).

pub mod compose;
pub mod config;
pub mod consumer;
pub mod dev_mail;
pub mod handle;
pub mod in_process;
pub mod lambda;
pub mod message;
pub mod sent_log;
pub mod state;
pub mod transport;

use axum::Router;
pub use config::Config;
pub use handle::{Delivery, HandleError, Outcome, handle};
pub use state::AppState;

/// The HTTP side of the self-hosted process: health only.
pub fn router() -> Router {
    shared::http::health_routes()
}
