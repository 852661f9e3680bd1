//! Cookie mode: the refresh token in an `HttpOnly` cookie, out of reach of the page's scripts
//! (how the console keeps it; the access token stays in the page's memory).
//!
//! A request opts in with `X-Parley-Refresh: cookie`. It is a custom header, so a page of another
//! site cannot send it without a CORS preflight, which Parley never grants. Then:
//!
//! - sign-up, login and refresh answer the tokens without `refreshToken` (`refreshExpiresAt`
//!   stays) and set `parley_refresh=<token>; HttpOnly; Secure; SameSite=Strict;
//!   Path=<PARLEY_AUTH_COOKIE_PATH>; Max-Age=<seconds until refreshExpiresAt>`;
//! - refresh and logout take the token from that cookie, and their body is empty or `{}`; no
//!   cookie is an invalid token (refresh answers 401 `invalid_refresh_token`);
//! - every 401 of a refresh, and every logout, clears the cookie (`Max-Age=0`), so a revoked
//!   family does not linger in the browser.
//!
//! Without the header nothing changes: the refresh token travels in the JSON bodies. Any other
//! value of the header answers 400 `invalid_refresh_mode` rather than falling back to JSON mode,
//! which would hand the token to the page's scripts.
//!
//! The cookie's value is a secret: its header values are marked sensitive, and it never appears
//! in a log or an error body.

use std::convert::Infallible;

use axum::{
    body::HttpBody as _,
    extract::{FromRequest, FromRequestParts, Request},
    http::{
        HeaderMap, HeaderValue,
        header::{COOKIE, SET_COOKIE},
        request::Parts,
    },
    response::{IntoResponseParts, ResponseParts},
};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, de::DeserializeOwned};
use shared::{ApiError, Json, domain::Timestamp};

use crate::{config::AuthCookie, sessions::Issued, views::TokensView};

/// The header a request opts in with.
pub const MODE_HEADER: &str = "x-parley-refresh";
/// The cookie's name.
pub const COOKIE_NAME: &str = "parley_refresh";

/// Where the client keeps its refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// In the JSON bodies (no `X-Parley-Refresh` header): API clients.
    Json,
    /// In the `parley_refresh` cookie (`X-Parley-Refresh: cookie`): the console.
    Cookie,
}

impl<S: Send + Sync> FromRequestParts<S> for Mode {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get(MODE_HEADER) {
            None => Ok(Self::Json),
            Some(value) if value.as_bytes().eq_ignore_ascii_case(b"cookie") => Ok(Self::Cookie),
            Some(_) => Err(ApiError::bad_request(
                "invalid_refresh_mode",
                "X-Parley-Refresh is `cookie` (the refresh token in a cookie), or absent (in the JSON body)",
            )),
        }
    }
}

impl Mode {
    /// Hands a fresh pair over: in cookie mode the refresh token leaves the body for the cookie.
    pub fn hand_over(self, cookie: &AuthCookie, issued: Issued) -> (Option<SetCookie>, Json<TokensView>) {
        let Issued { mut tokens, refresh_expires_at } = issued;
        match (self, tokens.refresh_token.take()) {
            (Self::Cookie, Some(token)) => {
                let max_age = seconds_until(refresh_expires_at);
                (Some(cookie.set(&token, max_age)), Json(tokens))
            }
            (_, token) => {
                tokens.refresh_token = token;
                (None, Json(tokens))
            }
        }
    }

    /// A refused refresh: in cookie mode a 401 (invalid, reused, expired) clears the cookie too.
    pub fn refuse(self, cookie: &AuthCookie, error: ApiError) -> (Option<SetCookie>, ApiError) {
        let clear = self == Self::Cookie && error.status == axum::http::StatusCode::UNAUTHORIZED;
        (clear.then(|| cookie.clear()), error)
    }

    /// What a logout sets: in cookie mode, the cookie cleared.
    pub fn sign_out(self, cookie: &AuthCookie) -> Option<SetCookie> {
        (self == Self::Cookie).then(|| cookie.clear())
    }
}

fn seconds_until(at: Timestamp) -> u64 {
    u64::try_from((at.unix_millis() - Timestamp::now().unix_millis()) / 1000).unwrap_or(0)
}

/// The refresh token a refresh or a logout presents: in JSON mode from the body `B` (which says
/// which field holds it), in cookie mode from the cookie (the body then is empty or `{}`).
pub struct Presented<B> {
    pub mode: Mode,
    token: Option<SecretString>,
    _body: std::marker::PhantomData<B>,
}

impl<B> Presented<B> {
    /// The token as presented; empty when there was none (which no session matches).
    pub fn token(&self) -> &str {
        self.token.as_ref().map_or("", |t| t.expose_secret())
    }
}

/// The body of a cookie-mode refresh or logout, when there is one: `{}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

impl<S, B> FromRequest<S> for Presented<B>
where
    S: Send + Sync,
    B: DeserializeOwned + Into<SecretString>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let mode = Mode::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let token = match mode {
            Mode::Json => {
                let Json(body) = Json::<B>::from_request(request, state).await?;
                Some(body.into())
            }
            Mode::Cookie => {
                let token = cookie_value(request.headers());
                if request.body().size_hint().exact() != Some(0) {
                    Json::<NoFields>::from_request(request, state).await?;
                }
                token
            }
        };
        Ok(Self { mode, token, _body: std::marker::PhantomData })
    }
}

/// The first `parley_refresh` of the request's cookies (the browser sends the one with the
/// longest path first).
fn cookie_value(headers: &HeaderMap) -> Option<SecretString> {
    headers.get_all(COOKIE).iter().filter_map(|value| value.to_str().ok()).flat_map(|value| value.split(';')).find_map(
        |pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE_NAME && !value.is_empty()).then(|| SecretString::from(value.to_owned()))
        },
    )
}

/// A `Set-Cookie` of the refresh cookie, added to a response.
#[derive(Debug)]
pub struct SetCookie(HeaderValue);

impl IntoResponseParts for SetCookie {
    type Error = Infallible;

    fn into_response_parts(self, mut response: ResponseParts) -> Result<ResponseParts, Self::Error> {
        response.headers_mut().append(SET_COOKIE, self.0);
        Ok(response)
    }
}

impl AuthCookie {
    /// The cookie holding `token` for `max_age` seconds.
    fn set(&self, token: &str, max_age: u64) -> SetCookie {
        self.header(token, max_age)
    }

    /// The cookie removed.
    fn clear(&self) -> SetCookie {
        self.header("", 0)
    }

    fn header(&self, value: &str, max_age: u64) -> SetCookie {
        let secure = if self.secure { " Secure;" } else { "" };
        let text =
            format!("{COOKIE_NAME}={value}; HttpOnly;{secure} SameSite=Strict; Path={}; Max-Age={max_age}", self.path);
        // The path is checked at start-up (printable ASCII) and tokens are base64url: always valid.
        let mut header = HeaderValue::from_str(&text).expect("a cookie of printable ASCII");
        header.set_sensitive(true);
        SetCookie(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_has_exactly_the_promised_attributes() {
        let cookie = AuthCookie::default();
        assert_eq!(
            cookie.set("prt_a.b", 60).0,
            "parley_refresh=prt_a.b; HttpOnly; Secure; SameSite=Strict; Path=/api/tenant/auth; Max-Age=60"
        );
        let plain = AuthCookie { path: "/auth".into(), secure: false };
        assert_eq!(plain.clear().0, "parley_refresh=; HttpOnly; SameSite=Strict; Path=/auth; Max-Age=0");
        assert!(cookie.set("prt_a.b", 60).0.is_sensitive());
    }

    #[test]
    fn the_refresh_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("theme=dark; parley_refresh=prt_x.y; lang=en"));
        assert_eq!(cookie_value(&headers).unwrap().expose_secret(), "prt_x.y");
        headers.clear();
        headers.append(COOKIE, HeaderValue::from_static("parley_refresh=; other_parley_refresh=z"));
        assert!(cookie_value(&headers).is_none());
    }
}
