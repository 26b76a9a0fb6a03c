//! Chat transfers: money sent to a contact, held in flight until the
//! recipient accepts (their wallet) or declines (back to the sender). One
//! not accepted within `transfer_expiry_s` goes back by the sweeper.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use piazza_api::{Problem, SendTransfer, TransferSent, TransferStatusView, TransferView};
use piazza_domain::store::{Transfer, TransferDecision, TransferRequest, TransferStatus};
use piazza_domain::{AccountId, Rejection, Timestamp, TransferId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Json;
use crate::routes::wallet::{amount, check_pin, idempotent, invalid_pin, is_pin};

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(send))
        .routes(routes!(get))
        .routes(routes!(accept))
        .routes(routes!(decline))
}

/// The longest note a transfer carries, in bytes.
const NOTE_BYTES_MAX: usize = 200;

fn transfer_id(text: &str) -> Result<TransferId, ApiError> {
    TransferId::parse(text).map_err(|_| Rejection::TransferNotFound.into())
}

fn view(transfer: &Transfer) -> TransferView {
    TransferView {
        transfer_id: transfer.transfer_id.to_string(),
        status: transfer.status.as_str().to_owned(),
        amount_minor: transfer.money.amount.get(),
        currency: transfer.money.currency.as_str().to_owned(),
        from: transfer.from.to_string(),
        to: transfer.to.to_string(),
        note: transfer.note.clone(),
        created_at: transfer.created_at.to_rfc3339(),
        expires_at: transfer.expires_at.to_rfc3339(),
    }
}

/// Send money to a contact; it waits in flight for them to accept.
#[utoipa::path(post, path = "/api/v1/transfers", tag = "transfers", security(("bearer" = [])),
    request_body = SendTransfer,
    params(("Idempotency-Key" = String, Header, description = "required; the same key and body replay the first answer")),
    responses(
        (status = 201, body = TransferSent),
        (status = 400, description = "invalid_amount, invalid_pin, invalid_note or idempotency_key_required", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_contact, wrong_pin or pin_not_set", body = Problem),
        (status = 409, description = "insufficient_funds", body = Problem),
        (status = 422, description = "idempotency_key_reused", body = Problem),
        (status = 423, description = "pin_locked, or pin_reset_pending (a forgotten PIN is being reset: no money leaves until it takes effect)", body = Problem),
    ))]
pub async fn send(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Json(body): Json<SendTransfer>,
) -> Result<(StatusCode, Json<TransferSent>), ApiError> {
    let money = amount(&app, &body.amount_minor)?;
    if !is_pin(&body.pin) {
        return Err(invalid_pin());
    }
    let note = body.note.filter(|note| !note.trim().is_empty());
    if note.as_ref().is_some_and(|note| {
        note.len() > NOTE_BYTES_MAX || note.chars().any(|c| c.is_control() && c != '\n')
    }) {
        return Err(ApiError::invalid(
            "invalid_note",
            format!("`note` is at most {NOTE_BYTES_MAX} bytes of text"),
        ));
    }
    // The hash covers the recipient and the note as well as the amount.
    let operation = format!(
        "transfer\0{}\0{}",
        body.to,
        note.as_deref().unwrap_or_default()
    );
    let request = idempotent(&headers, &operation, money)?;
    // An id that names nobody gets the same answer as a stranger.
    let to = AccountId::parse(&body.to).map_err(|_| ApiError::from(Rejection::NotAContact))?;
    let pin = check_pin(&app, auth.account, body.pin).await?;
    let expires_at = Timestamp::from_unix_ms(
        Timestamp::now()
            .unix_ms()
            .saturating_add(crate::config::ms(app.transfer_expiry_s)),
    );
    let transfer = app
        .store
        .send_transfer(
            auth.account,
            request,
            TransferRequest {
                to,
                money,
                note,
                expires_at,
            },
            pin,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TransferSent {
            transfer_id: transfer.transfer_id.to_string(),
            // The first answer's status, also on a replay after the
            // recipient decided: a replay repeats the answer, and the
            // current status is one GET away.
            status: TransferStatus::Pending.as_str().to_owned(),
        }),
    ))
}

async fn decide(
    app: &App,
    auth: &Auth,
    id: &str,
    decision: TransferDecision,
) -> Result<Json<TransferStatusView>, ApiError> {
    let transfer = app
        .store
        .decide_transfer(auth.account, transfer_id(id)?, decision)
        .await?;
    Ok(Json(TransferStatusView {
        status: transfer.status.as_str().to_owned(),
    }))
}

/// The recipient takes the money; accepting again answers the same.
#[utoipa::path(post, path = "/api/v1/transfers/{id}/accept", tag = "transfers", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = TransferStatusView),
        (status = 401, body = Problem),
        (status = 404, description = "transfer_not_found (also for anyone but the recipient)", body = Problem),
        (status = 409, description = "transfer_not_pending", body = Problem),
    ))]
pub async fn accept(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<TransferStatusView>, ApiError> {
    decide(&app, &auth, &id, TransferDecision::Accept).await
}

/// The recipient refuses: the money goes back to the sender.
#[utoipa::path(post, path = "/api/v1/transfers/{id}/decline", tag = "transfers", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = TransferStatusView),
        (status = 401, body = Problem),
        (status = 404, description = "transfer_not_found (also for anyone but the recipient)", body = Problem),
        (status = 409, description = "transfer_not_pending", body = Problem),
    ))]
pub async fn decline(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<TransferStatusView>, ApiError> {
    decide(&app, &auth, &id, TransferDecision::Decline).await
}

/// A transfer, for its sender or recipient.
#[utoipa::path(get, path = "/api/v1/transfers/{id}", tag = "transfers", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = TransferView),
        (status = 401, body = Problem),
        (status = 404, description = "transfer_not_found", body = Problem),
    ))]
pub async fn get(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<TransferView>, ApiError> {
    let transfer = app.store.transfer(auth.account, transfer_id(&id)?).await?;
    Ok(Json(view(&transfer)))
}
