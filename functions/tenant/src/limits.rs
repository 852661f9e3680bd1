//! Rate limits on the routes that take credentials.

use shared::{
    ApiError,
    ratelimit::{Decision, Limit},
};

use crate::AppState;

/// Counts one hit on every key; 429 `rate_limited` when any is over its limit, with the longest
/// wait in `Retry-After`. Keys hold addresses, never passwords; emails go in as hashes.
pub async fn check(state: &AppState, keys: &[(String, Limit)]) -> Result<(), ApiError> {
    let mut wait = None;
    for (key, limit) in keys {
        if let Decision::Limited { retry_after } = state.limiter.hit(key, *limit).await? {
            wait = wait.max(Some(retry_after));
        }
    }
    match wait {
        Some(wait) => Err(ApiError::rate_limited(wait.as_secs().max(1))),
        None => Ok(()),
    }
}
