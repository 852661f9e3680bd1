//! What every bench program (`scripts/bench/*`, the crates' `examples/bench_*.rs`) shares: its
//! figures' units and quantiles, and where it saves them.

use std::time::Duration;

use serde_json::{Value, json};

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// The `p` quantile (0.99 for p99) of `sorted`, ascending; zero when it is empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1).min(sorted.len().saturating_sub(1));
    sorted.get(i).copied().unwrap_or_default()
}

/// Saves `result` (with the time, the machine's cores and the bench's name added) as
/// `$BENCH_OUT`, or `$PARLEY_CACHE_DIR/bench/<bench>-<time>.json` (`~/.cache/parley` by default).
pub fn save(bench: &str, mut result: Value) {
    let when = crate::domain::Timestamp::now().to_string();
    let path = std::env::var("BENCH_OUT").unwrap_or_else(|_| {
        let cache = std::env::var("PARLEY_CACHE_DIR")
            .unwrap_or_else(|_| format!("{}/.cache/parley", std::env::var("HOME").unwrap_or_default()));
        format!("{cache}/bench/{bench}-{}.json", when.replace(':', "-"))
    });
    result["bench"] = json!(bench);
    result["at"] = json!(when);
    result["cores"] = json!(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    if let Some(dir) = std::path::Path::new(&path).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&path, serde_json::to_string_pretty(&result).unwrap_or_default()) {
        Ok(()) => println!("  saved {path}"),
        Err(err) => println!("  not saved ({path}: {err})"),
    }
}
