//! The one error type at Parley's HTTP edge.
//!
//! Every error answers `{"code": "snake_case_code", "message": "..."}` with a fitting status. The
//! codes are stable: clients switch on them, so a code is never renamed. A 5xx body says nothing
//! internal; its cause is logged once, here, where it becomes a response.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::repos::RepoError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to put in `Retry-After` (429 and 503).
    pub retry_after: Option<u64>,
    /// The internal cause of a 5xx, logged and never sent.
    source: Option<anyhow::Error>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None, source: None }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests; retry later")
        }
    }

    /// A failure of ours: the client sees `internal_error` and nothing else.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "something went wrong on our side")
        }
    }

    /// A backing service is down: the client may retry.
    pub fn unavailable(source: impl Into<anyhow::Error>) -> Self {
        Self {
            source: Some(source.into()),
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "a backing service is unavailable; retry shortly",
            )
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(source) = &self.source {
            tracing::error!(code = self.code, error = format!("{source:#}"), "request failed");
        }
        let body = Body { code: self.code, message: &self.message };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<RepoError> for ApiError {
    fn from(err: RepoError) -> Self {
        match err {
            RepoError::Conflict { code, message } => Self::conflict(code, message),
            RepoError::NotFound { code, message } => Self::not_found(code, message),
            RepoError::Unavailable(source) => Self::unavailable(source),
            RepoError::Internal(source) => Self::internal(source),
        }
    }
}

/// The answer to a path that matches no route.
pub async fn not_found() -> ApiError {
    ApiError::not_found("route_not_found", "no such route")
}

/// A backing service that cannot be used: what binaries print, in one line, when they cannot
/// start (`MongoDB at 127.0.0.1:27017 is unreachable: Connection refused`). It names the service
/// and its address, never a URL (URLs may carry passwords).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{service} at {address} is unreachable: {reason}")]
    Unreachable { service: &'static str, address: String, reason: String },
    #[error("{service}: {reason}")]
    Misconfigured { service: &'static str, reason: String },
}

impl ServiceError {
    pub fn unreachable(service: &'static str, address: &str, reason: impl Into<String>) -> Self {
        Self::Unreachable { service, address: address.to_owned(), reason: reason.into() }
    }

    pub fn misconfigured(service: &'static str, reason: impl Into<String>) -> Self {
        Self::Misconfigured { service, reason: reason.into() }
    }
}
