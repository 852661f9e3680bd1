//! The socket-node: Parley's long-lived WebSocket service. It opens visitor sessions, runs live
//! chatrooms between visitors and agents, fans notices out across nodes through a broker, stores
//! every message and produces events (to Kafka, through a MongoDB outbox when Kafka is down).
//!
//! Run it with `cargo run -p socket-node` (listening on `PARLEY_HTTP_ADDR`, default
//! `127.0.0.1:8090`). It needs MongoDB (`PARLEY_MONGODB_URL`), Redis (`PARLEY_REDIS_URL`) and
//! Kafka (`PARLEY_KAFKA_BROKERS`): at start-up it connects to all three, creates its indexes
//! and topics, and exits with one line naming the service when one is unreachable. The local-dev
//! runner (`scripts/dev`) mounts the same node in its own process, on the real services or, with
//! `--memory`, on the in-memory backends.
//!
//! Routes: `POST /v1/widget/config`, `POST /v1/visitor/sessions`, `GET /v1/ws`, `/healthz`,
//! `/readyz`, `/metrics`, and the built widget (`GET /widget.js`, `GET /widget/{file}`, from
//! `PARLEY_WEB_DIR`, default `socket-node/web/dist`: build it with `npm run build` in
//! `socket-node/web`, or let `scripts/dev` do it). The protocol is in `docs/protocol.md`; the
//! design in `docs/architecture.md`.
//!
//! Modules, from the edge inwards:
//! - [`routes`] (HTTP), [`connection`] (one WebSocket's transport: read loop, pings, deadlines,
//!   close codes) and [`writer`] (its sending side);
//! - [`session`] (one connection's identity and chatrooms) and [`commands`] (one module per
//!   client frame), speaking [`protocol`];
//! - [`chat`] (what happens in a chatroom, over the narrow [`chat::ChatService`]),
//!   [`waiting`] (the queue, the visitors' places in it, and the sweeper) and [`routing`] (who a
//!   waiting chatroom is offered to, and the agents' seats that keep their limits);
//! - [`hub`] (this node's connections by chatroom, tenant and agent), [`notice`] (what travels
//!   between nodes), [`broker`] and [`presence`] (each behind a trait, on Redis or in memory);
//! - [`backends`] (what a node runs on), [`node`] (start-up, background tasks, shutdown),
//!   [`state`], [`config`], [`metrics`], [`web`] (the built web files, in memory).
//!
//! Tests: `scripts/test -p socket-node` (two nodes on the real services in one test process;
//! the broker and presence contract suites on Redis and in memory).

pub mod allowance;
pub mod backends;
pub mod broker;
pub mod chat;
pub mod chatroom_cache;
pub mod commands;
pub mod config;
pub mod connection;
pub mod hub;
pub mod message_writer;
pub mod metrics;
pub mod node;
pub mod notice;
pub mod presence;
pub mod protocol;
pub mod recent;
pub mod routes;
pub mod routing;
pub mod seqs;
pub mod session;
pub mod state;
pub mod waiting;
pub mod web;
pub mod writer;

pub use backends::Backends;
pub use config::{Config, DEFAULT_ADDR, DEFAULT_WEB_DIR, Limits, Timing};
pub use node::Node;
pub use routes::{router, routes};
pub use state::{AppState, NodeInfo};
