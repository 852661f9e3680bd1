//! Reading Tinybird's pipes for one tenant: what the console's real-time charts show.
//!
//! Parley proxies the pipes rather than handing browsers Tinybird tokens (docs/architecture.md
//! says why): [`Pipes::read`] runs `GET {url}/v0/pipes/{pipe}.json` with the read token in an
//! `Authorization` header and the pipe's parameters in the query, `tenant_id` always the
//! caller's own tenant, taken from their access token by the route and never from the request.
//! The other parameters are the window, written as Tinybird's `DateTime` takes them.

use std::time::Duration;

use reqwest::{StatusCode, Url, header::AUTHORIZATION};
use secrecy::SecretString;
use serde::{Deserialize, de::DeserializeOwned};
use shared::{
    domain::{TenantId, Timestamp},
    error::ServiceError,
};
use time::{PrimitiveDateTime, UtcOffset, format_description::BorrowedFormatItem, macros::format_description};

use super::{bearer, causes, client, error_of};
use crate::config::LiveConfig;

/// How long one pipe may take: a chart that waits longer says so rather than hang.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The pipes of `infra/tinybird/pipes` that Parley reads: nothing else can be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipe {
    ActivityPerMinute,
    ResponseTimes,
    ResponseTimeDistribution,
    ChatroomsByBrowser,
}

impl Pipe {
    pub const ALL: [Self; 4] =
        [Self::ActivityPerMinute, Self::ResponseTimes, Self::ResponseTimeDistribution, Self::ChatroomsByBrowser];

    /// The pipe's name in Tinybird (its file name).
    pub fn name(self) -> &'static str {
        match self {
            Self::ActivityPerMinute => "activity_per_minute",
            Self::ResponseTimes => "response_times",
            Self::ResponseTimeDistribution => "response_time_distribution",
            Self::ChatroomsByBrowser => "chatrooms_by_browser",
        }
    }
}

/// Reads the pipes. Cheap to clone.
#[derive(Clone)]
pub struct Pipes {
    http: reqwest::Client,
    /// `{url}/v0/pipes/`: no credentials in it.
    base: Url,
    authorization: reqwest::header::HeaderValue,
    /// Kept to blank it out of anything Tinybird answers.
    token: SecretString,
}

impl std::fmt::Debug for Pipes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipes").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

/// Why a pipe could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PipeError {
    /// Tinybird could not be reached, timed out, throttled or failed (429, 5xx).
    #[error("Tinybird did not answer: {0}")]
    Unavailable(String),
    /// Tinybird refused the request (a bad token, a pipe not pushed, a parameter it rejects).
    #[error("Tinybird refused to run the pipe: {status}{}", error.as_deref().map(|e| format!(": {e}")).unwrap_or_default())]
    Refused { status: StatusCode, error: Option<String> },
    /// The answer was not the rows this build expects (the pipe and the build differ).
    #[error("Tinybird's answer is not what this build expects: {0}")]
    Unexpected(String),
}

/// Tinybird's answer to a pipe: its rows (`meta` and `statistics` are not needed).
#[derive(Deserialize)]
struct Answer<R> {
    data: Vec<R>,
}

/// `YYYY-MM-DD hh:mm:ss` in UTC: how Tinybird's `DateTime` parameters are written.
const DATE_TIME: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// An instant as a `DateTime` parameter (to the second, rounded down).
pub fn date_time(at: Timestamp) -> String {
    at.as_offset_date_time().to_offset(UtcOffset::UTC).format(DATE_TIME).unwrap_or_default()
}

/// A `DateTime` Tinybird answered (UTC), or `None` when it is written otherwise.
pub fn parse_date_time(text: &str) -> Option<Timestamp> {
    Some(PrimitiveDateTime::parse(text, DATE_TIME).ok()?.assume_utc().into())
}

impl Pipes {
    pub fn new(config: &LiveConfig) -> Result<Self, ServiceError> {
        let base = Url::parse(&format!("{}/v0/pipes/", config.url)).map_err(|e| {
            ServiceError::misconfigured("Tinybird", format!("PARLEY_TINYBIRD_URL: {e} (got {:?})", config.url))
        })?;
        Ok(Self {
            http: client(TIMEOUT)?,
            base,
            authorization: bearer(&config.token, "PARLEY_TINYBIRD_READ_TOKEN")?,
            token: config.token.clone(),
        })
    }

    /// The rows of `pipe` for `tenant` over `[from, to)`.
    pub async fn read<R: DeserializeOwned>(
        &self,
        pipe: Pipe,
        tenant: TenantId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<R>, PipeError> {
        let mut url =
            self.base.join(&format!("{}.json", pipe.name())).map_err(|e| PipeError::Unexpected(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("tenant_id", &tenant.to_string())
            .append_pair("start", &date_time(from))
            .append_pair("end", &date_time(to));
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.authorization.clone())
            .send()
            .await
            .map_err(|e| PipeError::Unavailable(causes(&e.without_url())))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| PipeError::Unavailable(causes(&e.without_url())))?;
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let error = error_of(&body, &self.token).map(|e| format!(": {e}")).unwrap_or_default();
            return Err(PipeError::Unavailable(format!("{status}{error}")));
        }
        if !status.is_success() {
            return Err(PipeError::Refused { status, error: error_of(&body, &self.token) });
        }
        let answer: Answer<R> = serde_json::from_str(&body).map_err(|e| PipeError::Unexpected(e.to_string()))?;
        Ok(answer.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_written_as_tinybird_date_times_in_utc() {
        assert_eq!(date_time(Timestamp::from_unix_millis(1_795_600_800_999)), "2026-11-25 10:00:00");
        assert_eq!(parse_date_time("2026-11-25 10:00:00"), Some(Timestamp::from_unix_millis(1_795_600_800_000)));
        assert_eq!(parse_date_time("2026-11-25T10:00:00Z"), None);
    }
}
