//! The wallet of Piazza Pay: balance, payment PIN, top-ups, withdrawals and
//! the statement. Every call acts on the caller's own wallet; there is no
//! wallet id to guess.
//!
//! Money-moving calls take an `Idempotency-Key` header with Stripe's
//! semantics. The key, the effect and the answer are written by one store
//! job, so a retry after a lost answer (or a crash) replays the answer and
//! never moves the money twice.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use piazza_api::{
    PinResetStarted, Problem, SetPin, Statement, StatementEntryView, TopUp, TopUpDone, WalletView,
    Withdraw, WithdrawalDone,
};
use piazza_domain::ledger::OperationKind;
use piazza_domain::money::{AmountMinor, Money};
use piazza_domain::store::{
    IdempotencyKey, Idempotent, PinChange, PinCheck, PinSet, PinState, StatementEntry,
};
use piazza_domain::{AccountId, EntryId};
use piazza_domain::{Rejection, Timestamp};
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::{Auth, ClientAddr, check_password_attempt, record_password_attempt};
use crate::config::ms;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::gateway::{GatewayError, GatewayRequest};
use crate::routes::paging::{ListQuery, next_cursor};

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(balance))
        .routes(routes!(set_pin))
        .routes(routes!(top_up))
        .routes(routes!(withdraw))
        .routes(routes!(statement))
}

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
    let key = idempotency_key(headers)?.ok_or_else(key_required)?;
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

/// The `Idempotency-Key` of a request with a hash of `request` (the
/// operation and its body, never a PIN); `None` when the header is absent
/// and `required` is not.
pub(crate) fn idempotent_request(
    headers: &HeaderMap,
    request: &[u8],
    required: bool,
) -> Result<Option<Idempotent>, ApiError> {
    let Some(key) = idempotency_key(headers)? else {
        return if required {
            Err(key_required())
        } else {
            Ok(None)
        };
    };
    Ok(Some(Idempotent {
        key,
        request_hash: Sha256::digest(request).into(),
    }))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(IdempotencyKey::parse)
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid(
                "invalid_idempotency_key",
                "`Idempotency-Key` is 1 to 255 visible ASCII characters",
            )
        })
}

fn key_required() -> ApiError {
    ApiError::invalid(
        "idempotency_key_required",
        "send an `Idempotency-Key` header (a fresh random string per operation; reuse it to retry)",
    )
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

/// Runs Argon2 over the PIN of a call that moves money out, off the
/// writer. A reset waiting or a lock is refused before Argon2 runs, so it
/// costs no hashing; the store checks both again in the writer, where a
/// wrong PIN is counted.
pub(crate) async fn check_pin(
    app: &App,
    account: AccountId,
    pin: String,
) -> Result<PinCheck, ApiError> {
    let state = app.store.pin(account).await?.ok_or(Rejection::PinNotSet)?;
    if let Some(refused) = state.money_out_refusal(Timestamp::now()) {
        return Err(refused.into());
    }
    verify_against(app, account, state, pin).await
}

/// Runs Argon2 over the PIN of a call that moves no money (changing the
/// PIN): only a lock refuses it first.
async fn verify_pin(app: &App, account: AccountId, pin: String) -> Result<PinCheck, ApiError> {
    let state = app.store.pin(account).await?.ok_or(Rejection::PinNotSet)?;
    if let Some(refused) = state.lock_refusal(Timestamp::now()) {
        return Err(refused.into());
    }
    verify_against(app, account, state, pin).await
}

async fn verify_against(
    app: &App,
    account: AccountId,
    state: PinState,
    pin: String,
) -> Result<PinCheck, ApiError> {
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

/// The caller's balance, and where their payment PIN stands.
#[utoipa::path(get, path = "/api/v1/wallet", tag = "wallet", security(("bearer" = [])),
    responses((status = 200, body = WalletView), (status = 401, body = Problem)))]
pub async fn balance(State(app): State<App>, auth: Auth) -> Result<Json<WalletView>, ApiError> {
    let balance_minor = app.store.wallet_balance(auth.account, app.currency).await?;
    let pin = app.store.pin(auth.account).await?;
    let now = Timestamp::now();
    Ok(Json(WalletView {
        currency: app.currency.as_str().to_owned(),
        balance_minor,
        pin_set: pin.is_some(),
        pin_locked_until: pin
            .as_ref()
            .and_then(|pin| pin.locked_until.filter(|until| *until > now))
            .map(Timestamp::to_rfc3339),
        pin_reset_effective_at: pin
            .and_then(|pin| pin.reset_effective_at)
            .map(Timestamp::to_rfc3339),
    }))
}

/// Set, change or reset the payment PIN. `{"pin","password"}` sets the
/// first PIN at once (204), or resets a forgotten one: the new PIN takes
/// effect after `limits.pin_reset_wait_s`, no money leaves the wallet
/// until then, and every device of the account is told (202). Wrong
/// passwords count with the log-in failures. `{"pin","old_pin"}` changes
/// the PIN at once (204) and cancels a reset still waiting; a wrong old
/// PIN counts like any wrong PIN. No PIN change ever lifts a lock.
#[utoipa::path(put, path = "/api/v1/wallet/pin", tag = "wallet", security(("bearer" = [])),
    request_body = SetPin,
    responses(
        (status = 202, description = "a forgotten PIN's reset started: the new PIN, and money-out, from `effective_at`", body = PinResetStarted),
        (status = 204, description = "the PIN is set (the first one, or changed with the old one)"),
        (status = 400, description = "invalid_pin or pin_proof_required", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "wrong_password, wrong_pin or pin_not_set", body = Problem),
        (status = 423, description = "pin_locked (changing it needs the lock to run out)", body = Problem),
        (status = 429, description = "too_many_login_attempts: failed password checks, log-ins included; see Retry-After", body = Problem),
    ))]
pub async fn set_pin(
    State(app): State<App>,
    auth: Auth,
    ClientAddr(address): ClientAddr,
    Json(body): Json<SetPin>,
) -> Result<Response, ApiError> {
    if !is_pin(&body.pin) {
        return Err(invalid_pin());
    }
    let pin_hash = || app.passwords.hash_secret(body.pin.clone());
    let change = match (body.old_pin.as_deref(), body.password) {
        (Some(old_pin), None) => {
            if !is_pin(old_pin) {
                return Err(invalid_pin());
            }
            let old = verify_pin(&app, auth.account, old_pin.to_owned()).await?;
            // A wrong old PIN is not worth a hash of the new one.
            let pin_hash = match old {
                PinCheck::Verified => pin_hash().await?,
                PinCheck::Wrong => String::new(),
            };
            PinChange::WithOldPin { old, pin_hash }
        }
        (None, Some(password)) => {
            check_password(&app, &auth, address, password).await?;
            PinChange::WithPassword {
                pin_hash: pin_hash().await?,
                reset_effective_at: Timestamp::from_unix_ms(
                    Timestamp::now()
                        .unix_ms()
                        .saturating_add(ms(app.limits.pin_reset_wait_s)),
                ),
            }
        }
        _ => {
            return Err(ApiError::invalid(
                "pin_proof_required",
                "send `old_pin` to change the PIN, or `password` (not both) to set the first PIN or reset a forgotten one",
            ));
        }
    };
    let set = app.store.set_pin(auth.account, change).await?;
    app.verified_pins.forget(auth.account);
    Ok(match set {
        PinSet::Now => StatusCode::NO_CONTENT.into_response(),
        PinSet::AfterWait { effective_at } => (
            StatusCode::ACCEPTED,
            Json(PinResetStarted {
                effective_at: effective_at.to_rfc3339(),
            }),
        )
            .into_response(),
    })
}

/// The account password, checked under the log-in limiter: refused
/// unchecked while failures lock it out, counted when wrong.
async fn check_password(
    app: &App,
    auth: &Auth,
    address: IpAddr,
    password: String,
) -> Result<(), ApiError> {
    let account = app.store.account(auth.account).await?;
    let username = account.username.as_str();
    let attempt = check_password_attempt(app, username, address)?;
    let stored = app
        .store
        .credentials(&account.username)
        .await?
        .map(|credentials| credentials.password_hash);
    let fits = password.len() <= piazza_domain::limits::PASSWORD_BYTES_MAX;
    let verified = fits && app.passwords.verify(password, stored).await?;
    record_password_attempt(attempt, verified);
    if verified {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "the account password is wrong",
        ))
    }
}

/// Add money through the payment gateway (the sandbox credits at once).
#[utoipa::path(post, path = "/api/v1/wallet/topups", tag = "wallet", security(("bearer" = [])),
    request_body = TopUp,
    params(("Idempotency-Key" = String, Header, description = "required; the same key and body replay the first answer")),
    responses(
        (status = 201, body = TopUpDone),
        (status = 400, description = "invalid_amount or idempotency_key_required", body = Problem),
        (status = 401, body = Problem),
        (status = 409, description = "wallet_balance_limit (the wallet would hold more than `limits.wallet_balance_max_minor`; nothing was charged) or gateway_limit_reached (the server holds all the money its ledger can account for)", body = Problem),
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
    let moved = match app
        .store
        .replayed_movement(auth.account, request.clone())
        .await?
    {
        // Done before: the same answer, and nothing asked of the gateway.
        Some(replay) => replay,
        None => {
            within_balance_max(&app, auth.account, money).await?;
            // The credit would be refused after the charge: ask nothing.
            if app.store.money_halted() {
                return Err(Rejection::MoneyHalted.into());
            }
            // Charged first, credited second: see `gateway` for why this order.
            let asked = GatewayRequest::new(auth.account, money, "topup", request.key.as_str());
            let reference = gateway.charge(&asked).await.map_err(gateway_failed)?;
            app.store
                .top_up(auth.account, request, money, reference)
                .await?
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(TopUpDone {
            topup_id: moved.transaction_id.to_string(),
            balance_minor: moved.balance_minor,
        }),
    ))
}

/// Refuses a top-up that would take the wallet past
/// `limits.wallet_balance_max_minor`. Checked before the gateway charges:
/// refusing after a charge would keep the customer's money at the
/// provider. So two top-ups of one account racing each other may pass it
/// together, by at most what they carry; the bound is what matters (it
/// keeps one account from filling the ledger's `MONEY_INSIDE_MAX`, which
/// the store enforces exactly).
async fn within_balance_max(app: &App, account: AccountId, money: Money) -> Result<(), ApiError> {
    let max = app.limits.wallet_balance_max_minor;
    let balance = app.store.wallet_balance(account, money.currency).await?;
    match balance.checked_add(money.amount.get()) {
        Some(after) if after <= max => Ok(()),
        _ => Err(Rejection::WalletBalanceLimit { max }.into()),
    }
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
        (status = 423, description = "pin_locked, or pin_reset_pending (a forgotten PIN is being reset: no money leaves until it takes effect)", body = Problem),
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

/// The record a statement entry belongs to, shown for the operations
/// that have one of ours (a top-up's or withdrawal's reference is the
/// gateway's, not for clients).
fn statement_about(kind: OperationKind, reference: String) -> Option<String> {
    match kind {
        OperationKind::TopUp | OperationKind::Withdrawal => None,
        OperationKind::TransferSent
        | OperationKind::TransferAccepted
        | OperationKind::TransferDeclined
        | OperationKind::TransferExpired
        | OperationKind::RedPacketCreated
        | OperationKind::RedPacketClaimed
        | OperationKind::RedPacketRefunded
        | OperationKind::MerchantPayment
        | OperationKind::MerchantRefund
        | OperationKind::OrderPaid
        | OperationKind::OrderReleased
        | OperationKind::OrderRefunded => Some(reference),
    }
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
    let entries = page.items.into_iter().map(statement_entry_view).collect();
    Ok(Json(Statement { entries, cursor }))
}

/// A line of the statement as the API shows it.
pub fn statement_entry_view(entry: StatementEntry) -> StatementEntryView {
    StatementEntryView {
        entry_id: entry.entry_id.to_string(),
        amount_minor: entry.amount_minor,
        balance_after_minor: entry.balance_after_minor,
        kind: entry.kind.as_str().to_owned(),
        ref_: entry.transaction_id.to_string(),
        about: statement_about(entry.kind, entry.reference),
        at: entry.at.to_rfc3339(),
    }
}
