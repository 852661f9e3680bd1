//! The OpenAPI document served at `GET /openapi.json`, generated from the handlers' annotations.

use shared::openapi::BearerAuth;
use utoipa::OpenApi;

use crate::routes::{auth, me, roles, tenants, users};

#[derive(OpenApi)]
#[openapi(
    info(title = "Parley tenant function", description = "Accounts, login, agents, roles and permissions. \
        Errors answer {\"code\", \"message\"}; docs/protocol.md lists the codes."),
    paths(
        tenants::sign_up, tenants::get_tenant, tenants::update_tenant,
        auth::login, auth::refresh, auth::logout, auth::request_password_reset, auth::confirm_password_reset,
        me::me, me::permissions,
        users::list, users::invite, users::read, users::update, users::remove,
        roles::list, roles::create, roles::read, roles::update, roles::remove,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;
