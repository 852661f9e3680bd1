//! Integration tests of the chatbot-provisioning function on the real services that
//! `scripts/test` starts. Every test spawns its own apps (`support::spawn_app`) on its own
//! database, Redis prefix and Kafka topics, and talks to them over HTTP as a user would; the
//! widget check is exercised as the socket-node calls it (`shared::auth::ChatbotAccess`).

mod adversarial;
mod bad_input;
mod blocks;
mod cache;
mod crud;
mod identity;
mod isolation;
mod keys;
mod openapi;
mod origins;
mod permissions;
mod smoke;
mod snippet;
mod startup;
mod support;
