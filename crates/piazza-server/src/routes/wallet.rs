//! The wallet of Piazza Pay: balance, payment PIN, top-ups, withdrawals and
//! the statement. Every call acts on the caller's own wallet; there is no
//! wallet id to guess.
//!
//! Money-moving calls take an `Idempotency-Key` header with Stripe's
//! semantics. The key, the effect and the answer are written by one store
//! job, so a retry after a lost answer (or a crash) replays the answer and
//! never moves the money twice.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use piazza_api::{
    Problem, SetPin, Statement, StatementEntryView, TopUp, TopUpDone, WalletView, Withdraw,
    WithdrawalDone,
};
use piazza_domain::money::{AmountMinor, Money};
use piazza_domain::store::{IdempotencyKey, Idempotent, PinCheck};
use piazza_domain::{AccountId, EntryId};
use piazza_domain::{Rejection, Timestamp};
use sha2::{Digest, Sha256};

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::gateway::{GatewayError, GatewayRequest};
use crate::routes::paging::{ListQuery, next_cursor};

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Parses `amount_minor` from its raw JSON: only a JSON integer from 1 to
/// the cap. A fraction, a string or a number past `i64` is refused here,
/// before anything is asked of the store.
pub(crate) fn amount(app: &App, value: &serde_json::Value) -> Result<Money, ApiError> {
    let invalid = || {
        ApiError::invalid(
            "invalid_amount",
            format!(
                "`amount_minor` must be a whole number of minor units from 1 to {}",
                AmountMinor::MAX
            ),
        )
    };
    let minor = value.as_i64().ok_or_else(invalid)?;
    let amount = AmountMinor::positive(minor).map_err(|_| invalid())?;
    Ok(Money::new(amount, app.currency))
}

/// The `Idempotency-Key` and a hash of what is asked. The hash covers the
/// operation and the amount, never the PIN: a SHA-256 of a six-digit PIN
/// would be reversed by trying a million of them.
pub(crate) fn idempotent(
    headers: &HeaderMap,
    operation: &str,
    money: Money,
) -> Result<Idempotent, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Err(ApiError::invalid(
            "idempotency_key_required",
            "send an `Idempotency-Key` header (a fresh random string per operation; reuse it to retry)",
        ));
    };
    let key = value
        .to_str()
        .ok()
        .and_then(IdempotencyKey::parse)
        .ok_or_else(|| {
            ApiError::invalid(
                "invalid_idempotency_key",
                "`Idempotency-Key` is 1 to 255 visible ASCII characters",
            )
        })?;
    let mut hash = Sha256::new();
    hash.update(operation.as_bytes());
    hash.update([0]);
    hash.update(money.currency.as_str().as_bytes());
    hash.update(money.amount.get().to_be_bytes());
    Ok(Idempotent {
        key,
        request_hash: hash.finalize().into(),
    })
}

fn no_gateway() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "no_payment_gateway",
        "this server has no payment gateway; run it with --sandbox-payments to try Piazza Pay",
    )
}

fn gateway_failed(error: GatewayError) -> ApiError {
    tracing::warn!(%error, "payment gateway call failed");
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "payment_gateway_failed",
        "the payment gateway did not complete the operation; retry with the same Idempotency-Key",
    )
}

/// A payment PIN is exactly six ASCII digits.
pub(crate) fn is_pin(text: &str) -> bool {
    text.len() == 6 && text.bytes().all(|byte| byte.is_ascii_digit())
}

pub(crate) fn invalid_pin() -> ApiError {
    ApiError::invalid("invalid_pin", "`pin` is exactly six digits")
}

/// Runs Argon2 over the PIN, off the writer. The lock is checked before
/// Argon2 runs, so a locked account costs no hashing; the store checks it
/// again in the writer, where a wrong PIN is counted.
pub(crate) async fn check_pin(
    app: &App,
    account: AccountId,
    pin: String,
) -> Result<PinCheck, ApiError> {
    let state = app.store.pin(account).await?.ok_or(Rejection::PinNotSet)?;
    if let Some(until) = state.locked_until.filter(|until| *until > Timestamp::now()) {
        return Err(Rejection::PinLocked { until }.into());
    }
    if app.verified_pins.knows(account, &state.pin_hash, &pin) {
        return Ok(PinCheck::Verified);
    }
    let pin_hash = state.pin_hash.clone();
    Ok(
        if app
            .passwords
            .verify(pin.clone(), Some(state.pin_hash))
            .await?
        {
            app.verified_pins.remember(account, &pin_hash, &pin);
            PinCheck::Verified
        } else {
            app.verified_pins.forget(account);
            PinCheck::Wrong
        },
    )
}

/// The caller's balance.
#[utoipa::path(get, path = "/api/v1/wallet", tag = "wallet", security(("bearer" = [])),
    responses((status = 200, body = WalletView), (status = 401, body = Problem)))]
pub async fn balance(State(app): State<App>, auth: Auth) -> Result<Json<WalletView>, ApiError> {
    let balance_minor = app.store.wallet_balance(auth.account, app.currency).await?;
    Ok(Json(WalletView {
        currency: app.currency.as_str().to_owned(),
        balance_minor,
    }))
}

/// Set or change the payment PIN; the account password proves ownership.
#[utoipa::path(put, path = "/api/v1/wallet/pin", tag = "wallet", security(("bearer" = [])),
    request_body = SetPin,
    responses(
        (status = 204, description = "the PIN is set and any lock-out cleared"),
        (status = 400, description = "invalid_pin", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "wrong_password", body = Problem),
    ))]
pub async fn set_pin(
    State(app): State<App>,
    auth: Auth,
    Json(body): Json<SetPin>,
) -> Result<StatusCode, ApiError> {
    if !is_pin(&body.pin) {
        return Err(invalid_pin());
    }
    let account = app.store.account(auth.account).await?;
    let stored = app
        .store
        .credentials(&account.username)
        .await?
        .map(|credentials| credentials.password_hash);
    if !app.passwords.verify(body.password, stored).await? {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "the account password is wrong",
        ));
    }
    let pin_hash = app.passwords.hash_secret(body.pin).await?;
    app.store.set_pin(auth.account, pin_hash).await?;
    app.verified_pins.forget(auth.account);
    Ok(StatusCode::NO_CONTENT)
}

/// Add money through the payment gateway (the sandbox credits at once).
#[utoipa::path(post, path = "/api/v1/wallet/topups", tag = "wallet", security(("bearer" = [])),
    request_body = TopUp,
    params(("Idempotency-Key" = String, Header, description = "required; the same key and body replay the first answer")),
    responses(
        (status = 201, body = TopUpDone),
        (status = 400, description = "invalid_amount or idempotency_key_required", body = Problem),
        (status = 401, body = Problem),
        (status = 422, description = "idempotency_key_reused", body = Problem),
        (status = 502, description = "payment_gateway_failed: nothing was credited; retry with the same key", body = Problem),
        (status = 503, description = "no_payment_gateway", body = Problem),
    ))]
pub async fn top_up(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Json(body): Json<TopUp>,
) -> Result<(StatusCode, Json<TopUpDone>), ApiError> {
    let money = amount(&app, &body.amount_minor)?;
    let request = idempotent(&headers, "topup", money)?;
    let gateway = app.gateway.as_ref().ok_or_else(no_gateway)?;
    // Charged first, credited second: see `gateway` for why this order.
    let asked = GatewayRequest::new(auth.account, money, "topup", request.key.as_str());
    let reference = gateway.charge(&asked).await.map_err(gateway_failed)?;
    let moved = app
        .store
        .top_up(auth.account, request, money, reference)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TopUpDone {
            topup_id: moved.transaction_id.to_string(),
            balance_minor: moved.balance_minor,
        }),
    ))
}

/// Take money out through the payment gateway; needs the payment PIN.
#[utoipa::path(post, path = "/api/v1/wallet/withdrawals", tag = "wallet", security(("bearer" = [])),
    request_body = Withdraw,
    params(("Idempotency-Key" = String, Header, description = "required; the same key and body replay the first answer")),
    responses(
        (status = 201, body = WithdrawalDone),
        (status = 400, description = "invalid_amount, invalid_pin or idempotency_key_required", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "wrong_pin or pin_not_set", body = Problem),
        (status = 409, description = "insufficient_funds", body = Problem),
        (status = 422, description = "idempotency_key_reused", body = Problem),
        (status = 423, description = "pin_locked", body = Problem),
        (status = 502, description = "payment_gateway_failed: the payout was not confirmed; retry with the same key (the debit replays, the payout is asked again)", body = Problem),
        (status = 503, description = "no_payment_gateway", body = Problem),
    ))]
pub async fn withdraw(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Json(body): Json<Withdraw>,
) -> Result<(StatusCode, Json<WithdrawalDone>), ApiError> {
    let money = amount(&app, &body.amount_minor)?;
    if !is_pin(&body.pin) {
        return Err(invalid_pin());
    }
    let request = idempotent(&headers, "withdrawal", money)?;
    let gateway = app.gateway.as_ref().ok_or_else(no_gateway)?;
    let pin = check_pin(&app, auth.account, body.pin).await?;
    // Debited first, paid out second (under the same key on every retry):
    // see `gateway` for why this order.
    let asked = GatewayRequest::new(auth.account, money, "withdrawal", request.key.as_str());
    let moved = app
        .store
        .withdraw(auth.account, request, money, pin, asked.key.clone())
        .await?;
    gateway.pay_out(&asked).await.map_err(gateway_failed)?;
    Ok((
        StatusCode::CREATED,
        Json(WithdrawalDone {
            withdrawal_id: moved.transaction_id.to_string(),
            balance_minor: moved.balance_minor,
        }),
    ))
}

/// The wallet's statement, newest first.
#[utoipa::path(get, path = "/api/v1/wallet/statement", tag = "wallet", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Statement), (status = 400, description = "invalid_cursor or invalid_limit", body = Problem), (status = 401, body = Problem)))]
pub async fn statement(
    State(app): State<App>,
    auth: Auth,
    Query(query): Query<ListQuery>,
) -> Result<Json<Statement>, ApiError> {
    let before = query.after(|key| EntryId::parse(key).ok())?;
    let page = app
        .store
        .statement(auth.account, app.currency, before, query.limit()?)
        .await?;
    let cursor = next_cursor(
        page.has_more,
        page.items.last().map(|entry| entry.entry_id.to_string()),
    );
    let entries = page
        .items
        .into_iter()
        .map(|entry| StatementEntryView {
            entry_id: entry.entry_id.to_string(),
            amount_minor: entry.amount_minor,
            balance_after_minor: entry.balance_after_minor,
            kind: entry.kind.as_str().to_owned(),
            ref_: entry.transaction_id.to_string(),
            at: entry.at.to_rfc3339(),
        })
        .collect();
    Ok(Json(Statement { entries, cursor }))
}
