//! Integration tests of the socket-node on the real services that `scripts/test` starts.

mod adversarial;
mod analytics;
mod broker;
mod chatroom_cache;
mod claims;
mod connections;
mod contract;
mod emails;
mod frames;
mod moderation;
mod observability;
mod operations;
mod outages;
mod presence;
mod resume;
mod routing;
mod startup;
mod story;
mod support;
mod web;
mod widget_config;
