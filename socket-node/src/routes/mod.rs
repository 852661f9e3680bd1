//! The socket-node's HTTP routes.

mod health;
mod sessions;
mod web;
mod widget_config;
mod ws;

use std::convert::Infallible;

use axum::{
    Router,
    http::{HeaderValue, Method, header},
    routing::{get, post},
};
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    set_header::SetResponseHeaderLayer,
};

use crate::state::AppState;

/// The node's routes, with a JSON 404 for any other path.
pub fn router(state: AppState) -> Router {
    routes(state).fallback(shared::error::not_found)
}

/// The node's routes alone, for a process that serves more beside them (the local-dev runner).
pub fn routes(state: AppState) -> Router {
    // The widget calls from the tenant's own site. Any origin may ask; the widget check then
    // refuses origins the chatbot does not allow (`origin_not_allowed`). No cookies are used.
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE]);
    // The widget's configuration changes with the chatbot: never kept by a browser or a proxy.
    let no_store = SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let web = web::routes(state.web.clone());
    Router::new()
        .route(
            "/v1/widget/config",
            post(widget_config::answer).layer::<_, Infallible>(cors.clone()).layer::<_, Infallible>(no_store),
        )
        .route("/v1/visitor/sessions", post(sessions::create).layer(cors))
        .route("/v1/ws", get(ws::upgrade))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .with_state(state)
        .merge(web)
}
