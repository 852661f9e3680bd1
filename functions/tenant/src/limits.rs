//! Rate limits on the routes that take credentials.

use std::net::IpAddr;

use shared::{
    ApiError,
    auth::secret::sha256_hex,
    domain::EmailAddress,
    ratelimit::{Decision, Limit},
};

use crate::AppState;

/// Counts one hit on every key; 429 `rate_limited` when any is over its limit, with the longest
/// wait in `Retry-After`. Keys hold addresses, never passwords; emails go in as hashes.
async fn check(state: &AppState, keys: &[(String, Limit)]) -> Result<(), ApiError> {
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

/// The login limits for `action` (`login`, `reset`): per client address and per email address.
pub async fn per_address_and_email(
    state: &AppState,
    action: &str,
    ip: IpAddr,
    email: &EmailAddress,
) -> Result<(), ApiError> {
    let window = state.policy.login_window;
    let keys = [
        (format!("{action}:ip:{ip}"), Limit { max: state.policy.login_per_ip, window }),
        (format!("{action}:email:{}", sha256_hex(email.as_str())), Limit { max: state.policy.login_per_email, window }),
    ];
    check(state, &keys).await
}

/// The sign-up limit: per client address.
pub async fn per_address(state: &AppState, action: &str, ip: IpAddr) -> Result<(), ApiError> {
    let limit = Limit { max: state.policy.login_per_ip, window: state.policy.login_window };
    check(state, &[(format!("{action}:ip:{ip}"), limit)]).await
}
