//! Integration tests of the socket-node on the real services that `scripts/test` starts.

mod analytics;
mod claims;
mod connections;
mod emails;
mod frames;
mod observability;
mod operations;
mod outages;
mod resume;
mod startup;
mod story;
mod support;
