//! Our JSON extractor: axum's `Json` with its rejections turned into [`ApiError`]s.
//!
//! - not JSON at all, or cut short: 400 `malformed_json`;
//! - JSON of the wrong shape (wrong type, unknown field, invalid value, `{"$ne": ""}` where a
//!   string belongs): 422 `invalid_body`, naming the field when serde does;
//! - no `Content-Type: application/json`: 415 `unsupported_media_type`;
//! - over the body limit: 413 `body_too_large`.
//!
//! It also serialises responses, so handlers return `Json(value)` either way.

use axum::{
    extract::{FromRequest, OptionalFromRequest, Request, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};

use crate::ApiError;

#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match <axum::Json<T> as FromRequest<S>>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejection_to_error(rejection)),
        }
    }
}

/// `Option<Json<T>>`: `None` for a request without a `Content-Type` (a body-less POST), else as
/// [`Json`].
impl<T, S> OptionalFromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        match <axum::Json<T> as OptionalFromRequest<S>>::from_request(req, state).await {
            Ok(value) => Ok(value.map(|axum::Json(value)| Self(value))),
            Err(rejection) => Err(rejection_to_error(rejection)),
        }
    }
}

fn rejection_to_error(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(err) => {
            ApiError::unprocessable("invalid_body", describe_data_error(&err.body_text()))
        }
        JsonRejection::JsonSyntaxError(_) => ApiError::bad_request("malformed_json", "the body is not valid JSON"),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the body is too large")
        }
        _ => ApiError::bad_request("malformed_json", "the body could not be read"),
    }
}

/// axum's text reads "Failed to deserialize the JSON body into the target type: name: invalid
/// type: map, expected a string at line 1 column 9"; clients get the part after the prefix,
/// which names the field and never echoes the submitted value.
fn describe_data_error(text: &str) -> String {
    let detail = text.split_once("target type: ").map_or(text, |(_, rest)| rest);
    format!("the body does not have the expected shape: {detail}")
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
