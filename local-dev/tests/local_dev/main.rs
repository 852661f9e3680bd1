//! The all-in-one runner as `scripts/dev` starts it: one address, every function and the
//! socket-node under their paths; the story end to end in both modes; a restart that keeps
//! everything; the demo page and its chatbot.

mod demo;
mod live_analytics;
mod runner;
mod story;
mod support;
