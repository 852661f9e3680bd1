//! The email function's tests, on real services: FerretDB (or MongoDB), Kafka, and Mailpit (a
//! real SMTP server that keeps what it receives; the tests read mail back through its API).
//! SES cannot be reached from here: its tests use a local stand-in and say so in their names.
//! Memory mode (`memory`) needs no service: the in-process adapter, the dev mailbox and its page.

mod adapters;
mod failures;
mod kinds;
mod memory;
mod once;
mod sent_log;
mod ses;
mod startup;
mod support;
