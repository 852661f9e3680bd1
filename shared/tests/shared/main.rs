//! Integration tests of the shared core on the real services that `scripts/test` starts:
//! the repository contract suite (MongoDB-wire and in-memory), Kafka and Redis round trips, and
//! the failures a binary sees when a service is unreachable.

mod http;
mod kafka;
mod ratelimit;
mod redis;
mod repos;
mod unreachable;
