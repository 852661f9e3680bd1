//! Integration tests of the shared core on the real services that `scripts/test` starts:
//! the repository contract suite (MongoDB-wire and in-memory), Kafka and Redis round trips, the
//! event outbox (its store contract, the publisher and relay on Kafka and MongoDB-wire, and one
//! test on a private broker it stops and restarts: `outbox::broker`), the event queue, and the
//! failures a binary sees when a service is unreachable.

mod http;
mod kafka;
mod outbox;
mod ratelimit;
mod redis;
mod repos;
mod unreachable;
