//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    accounts, contacts, conversations, merchants, red_packets, sync, transfers, wallet,
};
use crate::socket;

#[derive(OpenApi)]
#[openapi(
    info(title = "Piazza API", version = "1", description = "The stable core contract of Piazza (api-v1). Errors are RFC 9457 problem+json with a stable `code`."),
    paths(
        accounts::create_account, accounts::create_session, accounts::me, accounts::devices, accounts::revoke_device,
        contacts::request, contacts::incoming, contacts::accept, contacts::list, contacts::remove,
        conversations::open_direct, conversations::create_group, conversations::list, conversations::add_member,
        conversations::remove_member, conversations::send, conversations::history, conversations::mark_read,
        wallet::balance, wallet::set_pin, wallet::top_up, wallet::withdraw, wallet::statement,
        transfers::send, transfers::accept, transfers::decline, transfers::get,
        red_packets::send, red_packets::claim, red_packets::get,
        merchants::create, merchants::get, merchants::qr, merchants::pay, merchants::refund,
        merchants::payment_code, merchants::collect, merchants::confirm, merchants::decline,
        merchants::get_payment,
        sync::sync, socket::upgrade, crate::healthz,
        crate::routes::login_requests::create, crate::routes::login_requests::approve,
        crate::routes::login_requests::status,
    ),
    components(schemas(piazza_api::EventView, piazza_api::ClientFrame, piazza_api::ServerFrame)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
