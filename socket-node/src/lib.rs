//! The socket-node: Parley's long-lived WebSocket service. It opens visitor sessions, runs live
//! chatrooms between visitors and agents, fans notices out across nodes through Redis, stores
//! every message in MongoDB and produces events to Kafka (through a MongoDB outbox when Kafka is
//! down).
//!
//! Run it with `cargo run -p socket-node` (listening on `PARLEY_HTTP_ADDR`, default
//! `127.0.0.1:8090`). It needs MongoDB (`PARLEY_MONGODB_URL`), Redis (`PARLEY_REDIS_URL`) and
//! Kafka (`PARLEY_KAFKA_BROKERS`): at start-up it connects to all three, creates its indexes
//! and topics, and exits with one line naming the service when one is unreachable.
//!
//! Routes: `POST /v1/visitor/sessions`, `GET /v1/ws`, `/healthz`, `/readyz`, `/metrics`. The
//! protocol is in `docs/protocol.md`; the design in `docs/architecture.md`.
//!
//! Modules, from the edge inwards: [`routes`] (HTTP), [`connection`] (one WebSocket),
//! [`protocol`] (frames and codes), [`chat`] (what happens in a chatroom), [`hub`] (this node's
//! connections by chatroom, tenant and agent), [`bus`] (notices between nodes over Redis
//! pub/sub), [`presence`] (visitor presence and node heartbeats in Redis), [`waiting`] (the
//! queue and the standby sweeper), [`state`] (start-up and shared state), [`metrics`].
//!
//! Tests: `scripts/test -p socket-node` (two nodes on the real services in one test process).

pub mod bus;
pub mod chat;
pub mod config;
pub mod connection;
pub mod hub;
pub mod metrics;
pub mod presence;
pub mod protocol;
pub mod routes;
pub mod state;
pub mod waiting;

pub use config::{Config, DEFAULT_ADDR, Limits, Timing};
pub use routes::router;
pub use state::{AppState, Node};
