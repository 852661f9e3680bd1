//! Parley's shared core, used by every function, the socket-node and the local-dev runner.
//!
//! - [`auth`]: agents' access tokens (sign, verify, the `Agent` extractor) and opaque secrets;
//! - [`client_ip`]: the caller's address, through trusted proxies;
//! - [`config`]: typed configuration from `PARLEY_*` environment variables;
//! - [`telemetry`]: one `tracing` set-up for every binary;
//! - [`error`] and [`json`]: the HTTP error shape (`{"code", "message"}`) and our JSON extractor;
//! - [`domain`]: ids, email addresses, timestamps and the aggregates (tenant, user, role, session,
//!   chatbot, chatroom, message, block);
//! - [`mongo`] and [`repos`]: the MongoDB connection, indexes, and one repository trait per
//!   aggregate with a MongoDB and an in-memory implementation;
//! - [`events`]: the event envelope, the `EventPublisher` trait (Kafka and in-memory), the
//!   outbox that holds events while Kafka is down (MongoDB and in-memory) with its relay, the
//!   ordered event queue, and the consumer-group loop;
//! - [`redis`]: the Redis connection and key prefixes;
//! - [`presence`]: the socket-nodes' heartbeats and who is connected, as kept in Redis;
//! - [`discovery`]: every long-lived function process's heartbeat, so `/status` lists each replica;
//! - [`ratelimit`]: fixed-window rate limits per key (login, sign-up), in Redis or in memory;
//! - [`http`]: running an axum `Router` on AWS Lambda or as a plain server;
//! - [`openapi`]: what every function's OpenAPI document shares.
//!
//! Tests: `scripts/test -p shared` starts Redis, FerretDB and Kafka and runs the repository and
//! outbox contract suites against MongoDB-wire and in-memory, the Kafka and Redis round trips,
//! the outbox publisher and relay (one test on a private Kafka broker it stops and restarts), the
//! event queue, and the unreachable-service checks.

pub mod auth;
pub mod client_ip;
pub mod config;
pub mod discovery;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod json;
pub mod mongo;
pub mod openapi;
pub mod presence;
pub mod ratelimit;
pub mod redis;
pub mod repos;
pub mod services;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::ApiError;
pub use json::Json;
