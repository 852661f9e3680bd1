//! The tenant function: tenant accounts, login with rotating refresh tokens, password reset,
//! agent and admin users, roles and permissions.
//!
//! It runs on AWS Lambda, under `cargo lambda watch`, or as a plain server (`cargo run -p tenant`,
//! listening on `PARLEY_HTTP_ADDR`, default `127.0.0.1:8081`). It needs MongoDB
//! (`PARLEY_MONGODB_URL`), Redis (`PARLEY_REDIS_URL`, for login rate limits), Kafka
//! (`PARLEY_KAFKA_BROKERS`, for its events) and signing keys (`PARLEY_JWT_KEYS`). The routes are
//! listed in `docs/protocol.md` and served as OpenAPI at `/openapi.json`.
//!
//! Layout: `routes/` has one module per resource; `sessions` starts, rotates and ends sessions;
//! `refresh_cookie` hands the refresh token over in an `HttpOnly` cookie when a client asks
//! (`X-Parley-Refresh: cookie`, the console);
//! `set_password` makes the invitation and reset tokens;
//! `password` holds the password rules and argon2id; `admins` protects the last admin;
//! `limits` applies rate limits; `views` shapes responses.
//!
//! Tests: `scripts/test -p tenant`.

mod admins;
mod config;
mod limits;
mod openapi;
mod password;
mod refresh_cookie;
mod routes;
mod sessions;
mod set_password;
mod state;
mod views;

pub use config::{AuthCookie, Config, DEFAULT_ADDR, Policy};
pub use openapi::ApiDoc;
pub use routes::router;
pub use state::AppState;
