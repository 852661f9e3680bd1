//! The OpenAPI document served at `GET /openapi.json`, generated from the handlers' annotations.
//! It is served even where the routes cannot work (local-dev in memory mode), so the console
//! can always be typed and explored.

use axum::{Router, routing::get};
use shared::openapi::BearerAuth;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::routes::{chatbots, live, reports, status};

#[derive(OpenApi)]
#[openapi(
    info(title = "Parley analytics function", description = "The live status of the system, what each chatbot \
        is doing, usage reports (JSON or CSV) and real-time figures read from Tinybird. Errors answer {\"code\", \"message\"}; docs/protocol.md lists \
        the codes."),
    paths(status::status, chatbots::status, reports::daily, reports::agents, reports::chatrooms, live::activity,
        live::response_times, live::distribution, live::browsers),
    components(schemas(reports::Format)),
    modifiers(&BearerAuth, &StatusToken),
)]
pub struct ApiDoc;

/// Declares the `status_token` scheme: `PARLEY_STATUS_TOKEN`, which locks `/status` when set.
struct StatusToken;

impl Modify for StatusToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("PARLEY_STATUS_TOKEN, when the deployment sets one"))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("status_token", SecurityScheme::Http(scheme));
    }
}

/// `GET /openapi.json`, on any state.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/openapi.json", get(|| async { shared::Json(ApiDoc::openapi()) }))
}
