//! What every function's OpenAPI document shares: the bearer scheme, and the committed form of
//! a document ([`to_pretty_json`]), which the console's TypeScript types are generated from
//! (`socket-node/web/console/api/*.openapi.json`, kept current by each function's tests through
//! `shared::testing::openapi`).

use utoipa::{
    Modify,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

/// Declares the `bearer` security scheme (an agent's access token, a JWT) that routes name in
/// `security(("bearer" = []))`.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document as it is committed: pretty JSON (two-space indents) in a stable order (paths as
/// the `#[openapi]` attribute lists them, schemas by name, properties as declared), ending with a
/// newline.
pub fn to_pretty_json(document: &utoipa::openapi::OpenApi) -> String {
    let mut text = serde_json::to_string_pretty(document).expect("an OpenAPI document serialises");
    text.push('\n');
    text
}
