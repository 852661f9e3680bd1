//! One `tracing` set-up for every Parley binary.
//!
//! The filter comes from `RUST_LOG` (default `info`); `PARLEY_LOG_FORMAT=json` switches to one
//! JSON object per line, which is what CloudWatch and most log shippers want. Logs go to stderr.
//! Never log a token, key or password: secrets are `SecretString`s, whose `Debug` is redacted.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Installs the global subscriber. Calling it twice is harmless (the second call does nothing),
/// so tests and the local-dev runner may call it freely.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("PARLEY_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if json {
        registry.with(fmt::layer().json().with_writer(std::io::stderr)).try_init()
    } else {
        let ansi = std::io::stderr().is_terminal();
        registry.with(fmt::layer().with_ansi(ansi).with_writer(std::io::stderr)).try_init()
    };
}

/// Prints a start-up failure as one line on stderr and exits with status 1: no backtrace, no
/// debug dump, just what is wrong (`MongoDB at 127.0.0.1:27017 is unreachable: ...`).
pub fn exit_on_error<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(1)
        }
    }
}
