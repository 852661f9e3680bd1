//! Our JSON extractor: axum's `Json` with its rejections turned into [`ApiError`]s.
//!
//! - not JSON at all, or cut short: 400 `malformed_json`;
//! - JSON of the wrong shape (wrong type, unknown field, invalid value, `{"$ne": ""}` where a
//!   string belongs, a number where a name from a list belongs): 422 `invalid_body`, naming the
//!   field when serde does and never echoing the submitted value;
//! - no `Content-Type: application/json`: 415 `unsupported_media_type`;
//! - over the body limit: 413 `body_too_large`.
//!
//! `Option<Json<T>>` is `None` for a request without a body (a body-less POST).
//!
//! It also serialises responses, so handlers return `Json(value)` either way.

use axum::{
    body::{Bytes, HttpBody as _},
    extract::{FromRequest, OptionalFromRequest, Request, rejection::JsonRejection},
    http::{HeaderMap, StatusCode, header},
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
        if !is_json(req.headers()) {
            return Err(unsupported_media_type());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|err| {
            if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the body is too large")
            } else {
                ApiError::bad_request("malformed_json", "the body could not be read")
            }
        })?;
        parse(&bytes).map(Self)
    }
}

impl<T, S> OptionalFromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let empty = req.body().size_hint().exact() == Some(0);
        if empty && !req.headers().contains_key(header::CONTENT_TYPE) {
            return Ok(None);
        }
        <Self as FromRequest<S>>::from_request(req, state).await.map(Some)
    }
}

/// `application/json`, or any `application/*+json`, as axum's own extractor accepts.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let mime = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "send the body as Content-Type: application/json",
    )
}

fn parse<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    match axum::Json::<T>::from_bytes(bytes) {
        Ok(axum::Json(value)) => Ok(value),
        Err(JsonRejection::JsonDataError(err)) => Err(invalid_body(&err.body_text())),
        // serde_json reports some shape errors (a number where a name from a list belongs) as
        // syntax errors; the body is JSON all the same, so it is a shape error.
        Err(JsonRejection::JsonSyntaxError(err)) if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() => {
            Err(invalid_body(&err.body_text()))
        }
        Err(_) => Err(ApiError::bad_request("malformed_json", "the body is not valid JSON")),
    }
}

fn invalid_body(text: &str) -> ApiError {
    ApiError::unprocessable("invalid_body", describe_data_error(text))
}

/// axum's text reads "Failed to deserialize the JSON body into the target type: name: invalid
/// type: map, expected a string at line 1 column 9"; clients get the part after the prefix, which
/// names the field, with any submitted value taken out.
fn describe_data_error(text: &str) -> String {
    let detail = text.split_once("target type: ").map_or(text, |(_, rest)| rest);
    format!("the body does not have the expected shape: {}", without_values(detail))
}

/// Takes the submitted values out of serde's messages: `invalid type: string "hunter2"` becomes
/// `invalid type: string`, ``unknown variant `top`, expected ...`` becomes `unknown variant,
/// expected ...`. What serde expected (the names of fields and variants) stays.
pub fn without_values(detail: &str) -> String {
    const QUOTED: [(&str, char); 6] = [
        ("string \"", '"'),
        ("unknown variant `", '`'),
        ("integer `", '`'),
        ("floating point `", '`'),
        ("char '", '\''),
        ("boolean `", '`'),
    ];
    let mut out = detail.to_owned();
    for (opening, closing) in QUOTED {
        let Some(start) = out.find(opening) else { continue };
        let value_start = start + opening.len();
        let Some(end) = closing_quote(&out[value_start..], closing) else { continue };
        out.replace_range(start + opening.len() - 2..value_start + end + 1, "");
    }
    out
}

/// Where the value that starts `text` ends: the first `closing` not escaped with a backslash.
fn closing_quote(text: &str, closing: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            c if c == closing && !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// For a nullable field of a partial update: `Some(None)` when the body says `null`, `Some(Some(v))`
/// for a value, and (with `#[serde(default)]`) `None` when the field is absent.
pub fn present<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    T::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::without_values;

    #[test]
    fn submitted_values_are_taken_out_of_serde_messages() {
        for (message, shown) in [
            (
                r#"enforceIdentity: invalid type: string "hunter2", expected a boolean at line 1 column 9"#,
                "enforceIdentity: invalid type: string, expected a boolean at line 1 column 9",
            ),
            (r#"name: invalid type: string "a \"quoted\" pw", expected x"#, "name: invalid type: string, expected x"),
            (
                "position: unknown variant `top-middle`, expected `bottom-right` or `bottom-left`",
                "position: unknown variant, expected `bottom-right` or `bottom-left`",
            ),
            ("seats: invalid value: integer `-5`, expected u32", "seats: invalid value: integer, expected u32"),
            ("x: invalid type: floating point `1.5`, expected u32", "x: invalid type: floating point, expected u32"),
            ("email: invalid type: map, expected a string", "email: invalid type: map, expected a string"),
            ("unknown field `colour2`, expected one of `colour`", "unknown field `colour2`, expected one of `colour`"),
        ] {
            assert_eq!(without_values(message), shown);
        }
    }
}
