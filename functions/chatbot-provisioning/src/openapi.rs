//! The OpenAPI document served at `GET /openapi.json`, generated from the handlers' annotations.

use shared::openapi::BearerAuth;
use utoipa::OpenApi;

use crate::routes::{blocks, chatbots, credentials, snippet};

#[derive(OpenApi)]
#[openapi(
    info(title = "Parley chatbot-provisioning function", description = "Chatbots (chat widgets), their API keys, \
        allowed origins, identity secrets and embed snippet; the visitors blocked from them. Errors answer {\"code\", \"message\"}; \
        docs/protocol.md lists the codes."),
    paths(
        chatbots::list, chatbots::create, chatbots::read, chatbots::update, chatbots::remove,
        credentials::rotate_api_key, credentials::revoke_api_key, credentials::rotate_identity_secret,
        snippet::show,
        blocks::list, blocks::lift,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;
