//! The analytics function's tests, on the real services `scripts/test` starts (FerretDB or
//! MongoDB, Redis, Kafka); Tinybird, which cannot be reached, through a local stand-in.

mod adversarial;
mod live;
mod openapi;
mod reports;
mod source;
mod startup;
mod status;
mod support;
mod tinybird;
