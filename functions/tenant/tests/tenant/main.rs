//! Integration tests of the tenant function on the real services that `scripts/test` starts.
//! Every test spawns its own app (`support::spawn_app`) on its own database, Redis prefix and
//! Kafka topics, and talks to it over HTTP as a user would.

mod adversarial;
mod auth;
mod bad_input;
mod health;
mod isolation;
mod openapi;
mod password_reset;
mod refresh_cookie;
mod roles;
mod signup;
mod startup;
mod support;
mod tenant_profile;
mod timing;
mod tokens;
mod users;
