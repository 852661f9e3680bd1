//! `GET /widget.js`, `GET /widget/{file}`, `GET /console` and `GET /console/{path}`: the built
//! web files, from memory (see [`crate::web`]). A path under `/console` that is no file answers
//! the console's page, whose script then shows the page the path names.
//!
//! Every answer may be read from any origin (`Access-Control-Allow-Origin: *`: the loader
//! imports the UI with a dynamic `import()` from the tenant's page, a CORS request), is not
//! sniffed, and is revalidated by its `ETag` (304 on a matching `If-None-Match`). A client that
//! accepts gzip gets the copy made at load. An unknown file answers 404 `asset_not_found`; an
//! app's entry that was not built, 503 (`widget_not_built`, `console_not_built`). Errors are not
//! cached, so a build followed by a restart is seen at once. Pages also refuse to be framed and
//! keep their address out of `Referer`.

use std::sync::Arc;

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::get,
};
use shared::ApiError;

use crate::web::{APPS, Asset, Entry, WebAssets};

/// A route per app: its entry and every file under its folder.
pub fn routes(assets: Arc<WebAssets>) -> Router {
    let mut router = Router::new();
    for app in APPS {
        router = match app.entry {
            Entry::Script(name) => router.route(&format!("/{name}"), get(serve)),
            Entry::Page => {
                router.route(&format!("/{}", app.folder), get(serve)).route(&format!("/{}/", app.folder), get(serve))
            }
        };
        router = router.route(&format!("/{}/{{*file}}", app.folder), get(serve));
    }
    router.with_state(assets)
}

async fn serve(State(assets): State<Arc<WebAssets>>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    let found = assets.get(path).map_or_else(|| assets.fallback(path), |asset| Ok(Some(asset)));
    let answer = match found {
        Ok(Some(asset)) => respond(asset, &headers),
        Ok(None) => ApiError::not_found("asset_not_found", "no such file").into_response(),
        Err(app) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            app.not_built,
            format!("the {} is not built yet; run scripts/dev, or npm run build in socket-node/web", app.folder),
        )
        .into_response(),
    };
    shared_headers(answer)
}

/// The file, or 304, in the representation the client accepts.
fn respond(asset: &Asset, request: &HeaderMap) -> Response {
    let gzip = asset.gzip.as_ref().filter(|_| accepts_gzip(request));
    let etag = match gzip {
        Some(_) => asset.gzip_etag(),
        None => asset.etag.clone(),
    };
    let mut response = if matches(request, &[&asset.etag, &asset.gzip_etag()]) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = gzip.unwrap_or(&asset.body).clone();
        let mut response = body.into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
        if gzip.is_some() {
            response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(asset.cache_control));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    if asset.gzip.is_some() {
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if asset.content_type.starts_with("text/html") {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    response
}

/// What every answer of these routes carries; errors are never cached.
fn shared_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !response.status().is_success() && response.status() != StatusCode::NOT_MODIFIED {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Whether `Accept-Encoding` lists gzip (or `*`) without `q=0`.
fn accepts_gzip(request: &HeaderMap) -> bool {
    request.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0)));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        },
    )
}

/// Whether `If-None-Match` names one of `etags` (weakly compared, as RFC 9110 says for it).
fn matches(request: &HeaderMap, etags: &[&str]) -> bool {
    request.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |tag| {
            let tag = tag.trim();
            tag == "*" || etags.contains(&tag.trim_start_matches("W/"))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn gzip_is_sent_only_when_accepted() {
        assert!(accepts_gzip(&with(header::ACCEPT_ENCODING, "gzip, deflate, br")));
        assert!(accepts_gzip(&with(header::ACCEPT_ENCODING, "br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&with(header::ACCEPT_ENCODING, "*")));
        assert!(!accepts_gzip(&with(header::ACCEPT_ENCODING, "gzip;q=0, br")));
        assert!(!accepts_gzip(&with(header::ACCEPT_ENCODING, "identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists() {
        let tags = ["\"abc\"", "\"abc-gzip\""];
        assert!(matches(&with(header::IF_NONE_MATCH, "\"x\", W/\"abc-gzip\""), &tags));
        assert!(matches(&with(header::IF_NONE_MATCH, "*"), &tags));
        assert!(!matches(&with(header::IF_NONE_MATCH, "\"abd\""), &tags));
    }
}
