//! Running an HTTP function: the same axum `Router` on AWS Lambda or as a plain server.
//!
//! [`serve`] switches on `AWS_LAMBDA_RUNTIME_API`, which the Lambda runtime (and
//! `cargo lambda watch`) sets: then the router answers Lambda invocations (API Gateway, ALB and
//! function-URL events); otherwise it listens on a TCP address and shuts down gracefully on
//! SIGTERM or Ctrl-C.

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use axum::{Router, http::HeaderName, routing::get, serve::ListenerExt as _};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{ApiError, Json, discovery::Announcer, error::not_found};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Whether this process runs inside AWS Lambda (or `cargo lambda watch`).
pub fn is_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// `GET /healthz`: the process is up and serving. Readiness of backing services is `/readyz`'s
/// business, where a binary has them.
pub fn health_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/healthz", get(|| async { Json(serde_json::json!({ "status": "ok" })) }))
}

/// What every Parley router gets: a request id (kept from `x-request-id` or made up), a trace
/// span per request, and our JSON 404 for unknown routes.
pub fn with_common_layers(router: Router) -> Router {
    router
        .fallback(not_found)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let request_id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// `value` with every byte but the unreserved ones (`A-Z a-z 0-9 - . _ ~`) percent-encoded: safe
/// in a query value or a URL fragment.
pub fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A request's query string, read strictly: percent-decoded, each parameter at most once, and
/// only the parameters the route takes. Anything else is 400 `invalid_query` naming it, so a
/// misspelt parameter is not silently ignored, and neither is `from[$ne]=` (how qs-style parsers
/// build operator objects): a route never answers as if it had not been sent.
#[derive(Debug, Default)]
pub struct QueryParams(HashMap<String, String>);

impl QueryParams {
    pub fn parse(raw: Option<&str>, known: &[&str]) -> Result<Self, ApiError> {
        let invalid = |message: String| ApiError::bad_request("invalid_query", message);
        let mut params = HashMap::new();
        for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let undecodable = || invalid("the query is not valid percent-encoded UTF-8".to_owned());
            let (key, value) =
                (percent_decode(key).ok_or_else(undecodable)?, percent_decode(value).ok_or_else(undecodable)?);
            if !known.contains(&key.as_str()) {
                let taken = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
                let shown: String = key.chars().take(40).collect();
                return Err(invalid(format!("unknown query parameter `{shown}` (this route takes {taken})")));
            }
            if params.insert(key.clone(), value).is_some() {
                return Err(invalid(format!("the query parameter `{key}` is given twice")));
            }
        }
        Ok(Self(params))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// `%XX` and `+` (a space) decoded; `None` when a `%` is not followed by two hex digits or the
/// result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.bytes();
    while let Some(b) = rest.next() {
        bytes.push(match b {
            b'%' => {
                let hex = [rest.next()?, rest.next()?];
                u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?
            }
            b'+' => b' ',
            b => b,
        });
    }
    String::from_utf8(bytes).ok()
}

/// Binds `addr`; the error names the address (`cannot listen on 127.0.0.1:8080: Address in use`).
pub async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
}

/// Runs `router` on Lambda when `AWS_LAMBDA_RUNTIME_API` is set, else on `addr` until SIGTERM or
/// Ctrl-C (in-flight requests get up to 10 s to finish), announced by `announcer` meanwhile.
pub async fn serve(router: Router, addr: SocketAddr, announcer: Announcer) -> anyhow::Result<()> {
    let router = with_common_layers(router);
    if is_lambda() {
        tracing::info!("running on AWS Lambda");
        return lambda_http::run(router).await.map_err(|e| anyhow::anyhow!("Lambda runtime: {e}"));
    }
    let listener = bind(addr).await?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "listening");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let announced = announcer.start(address, async move {
        let _ = stopped.await;
    });
    let served = serve_on(listener, router, shutdown_signal()).await;
    let _ = stop.send(());
    let _ = announced.await;
    served
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish for up to 10 s.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    // Each response and frame leaves at once, not held back until the previous one is acknowledged
    // (Nagle's algorithm against the client's delayed ACK costs a reply of two frames 40 ms).
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!(error = %err, "TCP_NODELAY not set on a connection");
        }
    });
    let server = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stopping_tx.send(());
        });
    let server = tokio::spawn(async move { server.await });
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return Ok(result??),
        _ = stopping_rx => {}
    }
    match tokio::time::timeout(Duration::from_secs(10), server).await {
        Ok(result) => Ok(result??),
        Err(_) => {
            tracing::warn!("in-flight requests did not finish within 10s; exiting anyway");
            Ok(())
        }
    }
}

/// Resolves on SIGTERM (what Lambda, systemd and Kubernetes send) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unreserved_bytes_stay_as_they_are() {
        assert_eq!(percent_encode("pwt_a.b.c-d_e~f"), "pwt_a.b.c-d_e~f");
        assert_eq!(percent_encode("a b&c#d/é"), "a%20b%26c%23d%2F%C3%A9");
        assert_eq!(percent_decode(&percent_encode("a b&c#d/é")).as_deref(), Some("a b&c#d/é"));
    }

    #[test]
    fn a_query_holds_only_the_parameters_a_route_takes_once_each() {
        let known = ["from", "to"];
        let query = QueryParams::parse(Some("from=2026-01-01&to=2026%2D01%2D31"), &known).unwrap();
        assert_eq!((query.get("from"), query.get("to")), (Some("2026-01-01"), Some("2026-01-31")));
        assert_eq!(QueryParams::parse(None, &known).unwrap().get("from"), None);
        for bad in ["from[$ne]=null", "form=2026-01-01", "from=a&from=b", "from=%zz", "from=%ff", "%24where=1"] {
            let err = QueryParams::parse(Some(bad), &known).unwrap_err();
            assert_eq!(err.code, "invalid_query", "{bad}");
        }
    }
}
