//! Contact codes: `GET /api/v1/me/contact-code`, `POST
//! /api/v1/me/contact-code/reset` and `POST /api/v1/contacts/by-code`. The
//! rules are `piazza_core::contact_codes`'; the payload's form is
//! `piazza_domain::contact_code`'s. Lookups that find nothing are counted
//! per account, so codes cannot be guessed by asking.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use piazza_api::{ContactCodeView, ContactRequestByCode, ContactRequestCreated, Problem};
use piazza_domain::contact_code::PayloadError;
use piazza_domain::{AccountId, ContactCode, Greeting, Rejection, StoreError};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::qr_image::Format;

/// Lookups of codes that are nobody's one account may make per window
/// (`limits.login_failure_window_s`): a person mistypes a pasted code a
/// few times, a guesser needs about 2^130.
pub const CONTACT_CODE_MISSES_MAX: u32 = 10;

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(show))
        .routes(routes!(reset))
        .routes(routes!(request_by_code))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CodeQuery {
    /// `payload` (the default, JSON), `png` or `svg` (the image).
    #[param(pattern = "^(payload|png|svg)$")]
    pub format: Option<String>,
}

/// Your contact code, to show as a QR code: whoever scans it can send you
/// a contact request (`POST /api/v1/contacts/by-code`). It carries a
/// random token, not your id or username, and stays the same until you
/// reset it. Made on first read.
#[utoipa::path(get, path = "/api/v1/me/contact-code", tag = "contacts", security(("bearer" = [])),
    params(CodeQuery),
    responses(
        (status = 200, description = "`format=payload`: `{\"payload\": \"piazza-contact:<token>\"}`; `png`/`svg`: the image",
            content((ContactCodeView = "application/json"), (String = "image/svg+xml"), (Vec<u8> = "image/png"))),
        (status = 400, description = "unsupported_format", body = Problem),
        (status = 401, body = Problem),
    ))]
pub async fn show(
    State(app): State<App>,
    auth: Auth,
    Query(query): Query<CodeQuery>,
) -> Result<Response, ApiError> {
    let format = Format::parse(query.format.as_deref())?;
    let code = app.store.contact_code(auth.account).await?;
    answer(&code, format)
}

/// Revoke your contact code and make a new one: the old one is nobody's
/// from now on (asking by it is 404). Answers the new payload.
#[utoipa::path(post, path = "/api/v1/me/contact-code/reset", tag = "contacts", security(("bearer" = [])),
    responses((status = 200, body = ContactCodeView), (status = 401, body = Problem)))]
pub async fn reset(State(app): State<App>, auth: Auth) -> Result<Response, ApiError> {
    let code = app.store.reset_contact_code(auth.account).await?;
    answer(&code, Format::Payload)
}

/// The code as `format` asks. Never cached: after a reset, a cached copy
/// would show a code that is nobody's.
fn answer(code: &ContactCode, format: Format) -> Result<Response, ApiError> {
    let payload = code.payload();
    let mut response = match format {
        Format::Payload => Json(ContactCodeView { payload }).into_response(),
        Format::Image(image) => crate::qr_image::response(&payload, image)?,
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Ask the owner of a scanned contact code to be your contact, under the
/// rules of `POST /api/v1/contacts/requests` (asking someone who asked you
/// accepts; asking again changes nothing they can see). The answer names
/// only the request, as that route's does.
#[utoipa::path(post, path = "/api/v1/contacts/by-code", tag = "contacts", security(("bearer" = [])),
    request_body = ContactRequestByCode,
    responses(
        (status = 201, body = ContactRequestCreated),
        (status = 400, description = "invalid_payload (not a `piazza-contact:` code), invalid_greeting or self_target (your own code)", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "blocked: one of you blocked the other", body = Problem),
        (status = 404, description = "contact_code_not_found: unknown, malformed or reset", body = Problem),
        (status = 409, description = "already_contacts", body = Problem),
        (status = 429, description = "too_many_contact_code_misses: too many codes that were nobody's, lately", body = Problem),
    ))]
pub async fn request_by_code(
    State(app): State<App>,
    auth: Auth,
    Json(body): Json<ContactRequestByCode>,
) -> Result<(StatusCode, Json<ContactRequestCreated>), ApiError> {
    let greeting = Greeting::parse(body.greeting.as_deref().unwrap_or(""))?;
    let code = match ContactCode::from_payload(&body.payload) {
        Ok(code) => Some(code),
        Err(PayloadError::NotAContactCode) => {
            return Err(ApiError::invalid(
                "invalid_payload",
                "this is not a Piazza contact code (`piazza-contact:…`)",
            ));
        }
        // A token this server never makes is nobody's, as an unknown one.
        Err(PayloadError::Malformed) => None,
    };
    admit_lookup(&app, auth.account)?;
    let asked = match code {
        Some(code) => {
            app.store
                .request_contact_by_code(auth.account, code, greeting)
                .await
        }
        None => Err(Rejection::ContactCodeNotFound.into()),
    };
    if let Err(StoreError::Rejected(Rejection::ContactCodeNotFound)) = &asked {
        app.contact_code_misses
            .record_failure(&auth.account.to_string());
    }
    Ok((
        StatusCode::CREATED,
        Json(ContactRequestCreated {
            request_id: asked?.to_string(),
        }),
    ))
}

/// Refuses an account that has looked up too many codes that were
/// nobody's within the window, whatever it looks up now.
fn admit_lookup(app: &App, account: AccountId) -> Result<(), ApiError> {
    app.contact_code_misses
        .check(&account.to_string(), CONTACT_CODE_MISSES_MAX)
        .map_err(|retry_after_s| {
            ApiError::too_many(
                "too_many_contact_code_misses",
                "too many contact codes that belong to nobody, lately; wait and try again",
                retry_after_s,
            )
        })
}
