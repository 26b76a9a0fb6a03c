//! Orders: place one, pay it into escrow, ship, confirm, cancel, ask for
//! and answer refunds, and list and read them. Every move is
//! `piazza_core::shops`' `act` over the domain's order state machine; an
//! illegal move is 409 `invalid_order_state`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use piazza_api::{
    OrderConversation, OrderItemView, OrderList, OrderView, PayOrder, PlaceOrder, Problem,
    RefundRequestView, RequestRefund, ShipOrder, ShippingAddress as WireAddress,
};
use piazza_core::shops::{OrderAction, OrderAnswer, OrderSide, PlaceOrder as Place};
use piazza_domain::money::AmountMinor;
use piazza_domain::order::{self, OrderPolicy, OrderStatus, RefundReason, Shipment};
use piazza_domain::shop::{self, ShippingAddress};
use piazza_domain::{OrderId, Rejection};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::routes::conversations::page_limit;
use crate::routes::paging::{after, next_cursor};
use crate::routes::shops::{shop_id, summary, variant_id};
use crate::routes::wallet::{check_pin, idempotent_request, invalid_pin, is_pin};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(place, list))
        .routes(routes!(get_order))
        .routes(routes!(open_conversation))
        .routes(routes!(pay))
        .routes(routes!(ship))
        .routes(routes!(confirm))
        .routes(routes!(cancel))
        .routes(routes!(request_refund))
        .routes(routes!(approve_refund))
        .routes(routes!(reject_refund))
}

fn order_id(text: &str) -> Result<OrderId, ApiError> {
    OrderId::parse(text).map_err(|_| Rejection::OrderNotFound.into())
}

fn wire_address(address: &ShippingAddress) -> WireAddress {
    WireAddress {
        name: address.name.clone(),
        phone: address.phone.clone(),
        line1: address.line1.clone(),
        line2: address.line2.clone(),
        city: address.city.clone(),
        region: address.region.clone(),
        postal_code: address.postal_code.clone(),
        country: address.country.clone(),
    }
}

fn parsed_address(wire: &WireAddress) -> Result<ShippingAddress, ApiError> {
    Ok(ShippingAddress::parse(&ShippingAddress {
        name: wire.name.clone(),
        phone: wire.phone.clone(),
        line1: wire.line1.clone(),
        line2: wire.line2.clone(),
        city: wire.city.clone(),
        region: wire.region.clone(),
        postal_code: wire.postal_code.clone(),
        country: wire.country.clone(),
    })?)
}

/// An order as `viewer` sees it.
pub(crate) fn view(
    answer: &piazza_core::shops::OrderView,
    viewer: piazza_domain::AccountId,
    policy: &OrderPolicy,
) -> OrderView {
    let stored = &answer.stored;
    let order = &stored.order;
    let time = |at: Option<piazza_domain::Timestamp>| at.map(|at| at.to_rfc3339());
    OrderView {
        order_id: stored.order_id.to_string(),
        status: order.status.as_str().to_owned(),
        total_minor: order.total.get(),
        currency: stored.currency.as_str().to_owned(),
        pay_by: order.pay_by.to_rfc3339(),
        shop: summary(&answer.shop),
        buyer: stored.buyer.to_string(),
        conversation_id: stored
            .conversation
            .map(|conversation| conversation.to_string()),
        your_role: if stored.buyer == viewer {
            "buyer"
        } else {
            "shop"
        }
        .to_owned(),
        items: answer
            .lines
            .iter()
            .map(|line| OrderItemView {
                variant_id: line.item.variant.to_string(),
                product_id: line.product_id.to_string(),
                title: line.title.clone(),
                variant_name: line.variant_name.clone(),
                sku: line.sku.clone(),
                quantity: line.item.quantity,
                unit_price_minor: line.item.unit_price.get(),
                line_total_minor: line.item.unit_price.get() * i64::from(line.item.quantity),
            })
            .collect(),
        shipping_address: wire_address(&stored.shipping),
        placed_at: order.placed_at.to_rfc3339(),
        paid_at: time(order.paid_at),
        shipped_at: time(order.shipment.as_ref().map(|(_, at)| *at)),
        carrier: order.shipment.as_ref().map(|(s, _)| s.carrier().to_owned()),
        tracking: order
            .shipment
            .as_ref()
            .map(|(s, _)| s.tracking().to_owned()),
        completed_at: time(order.completed.map(|(_, at)| at)),
        confirmed_by: order.completed.map(|(by, _)| by.as_str().to_owned()),
        auto_confirm_at: time(order.auto_confirm_at(policy)),
        cancelled_at: time(order.cancelled.map(|c| c.at)),
        cancelled_by: order.cancelled.map(|c| c.by.as_str().to_owned()),
        refunded_minor: order.refunded_minor(),
        escrow_minor: order.escrow_minor(),
        refund_requests: order
            .refund_requests
            .iter()
            .enumerate()
            .map(|(index, request)| RefundRequestView {
                index: u32::try_from(index).unwrap_or(u32::MAX),
                amount_minor: request.amount.get(),
                reason: request.reason.as_str().to_owned(),
                status: request.status.as_str().to_owned(),
                requested_at: request.requested_at.to_rfc3339(),
                decided_at: time(request.decided_at),
            })
            .collect(),
    }
}

/// Place an order with one shop: its prices are fixed now and its stock
/// reserved at once, atomically (never oversold). It waits for payment
/// until `pay_by` (15 minutes by default), then is cancelled and its
/// stock released. The lines ordered leave your cart.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])),
    request_body = PlaceOrder,
    params(("Idempotency-Key" = String, Header, description = "required; the same key and body replay the first answer")),
    responses(
        (status = 201, body = OrderView),
        (status = 200, description = "a replay of the key: the order as it stands now", body = OrderView),
        (status = 400, description = "idempotency_key_required, invalid_shipping_address", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "shop_not_found, variant_not_found", body = Problem),
        (status = 409, description = "out_of_stock, variant_unavailable (another shop's)", body = Problem),
        (status = 422, description = "invalid_order_items, order_total_too_large, idempotency_key_reused", body = Problem),
    ))]
pub async fn place(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Json(body): Json<PlaceOrder>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    let request = serde_json::to_vec(&body).unwrap_or_default();
    let idempotent = idempotent_request(&headers, &[b"order\0", &request[..]].concat(), true)?
        .ok_or_else(|| {
            ApiError::invalid(
                "idempotency_key_required",
                "send an `Idempotency-Key` header",
            )
        })?;
    let items = body
        .items
        .iter()
        .map(|item| Ok((variant_id(&item.variant_id)?, item.quantity)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let place = Place {
        shop: shop_id(&body.shop_id)?,
        items,
        shipping: parsed_address(&body.shipping_address)?,
        currency: app.currency,
    };
    let policy = app.limits.order_policy();
    let answer = app
        .store
        .place_order(auth.account, idempotent, place, policy)
        .await?;
    let status = if answer.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(view(&answer.view, auth.account, &policy))))
}

/// Runs one move and answers the order after it.
async fn act(
    app: &App,
    auth: &Auth,
    headers: &HeaderMap,
    id: &str,
    action: OrderAction,
    operation: &[u8],
    key_required: bool,
) -> Result<Json<OrderView>, ApiError> {
    let order = order_id(id)?;
    let request = [operation, b"\0", id.as_bytes()].concat();
    let idempotent = idempotent_request(headers, &request, key_required)?;
    let policy = app.limits.order_policy();
    let OrderAnswer { view: answer, .. } = app
        .store
        .act_on_order(auth.account, idempotent, order, action, policy)
        .await?;
    Ok(Json(view(&answer, auth.account, &policy)))
}

/// Pay an order (its buyer) from your wallet: the total is held in the
/// order's escrow until you confirm it arrived.
#[utoipa::path(post, path = "/api/v1/orders/{id}/pay", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = String, Header, description = "required; the same key replays the first answer")),
    request_body = PayOrder,
    responses(
        (status = 200, body = OrderView),
        (status = 400, description = "invalid_pin, idempotency_key_required", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "wrong_pin, pin_not_set, not_order_buyer", body = Problem),
        (status = 404, description = "order_not_found", body = Problem),
        (status = 409, description = "invalid_order_state (not waiting for payment, or past pay_by), insufficient_funds", body = Problem),
        (status = 422, description = "idempotency_key_reused", body = Problem),
        (status = 423, description = "pin_locked, pin_reset_pending", body = Problem),
    ))]
pub async fn pay(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<PayOrder>,
) -> Result<Json<OrderView>, ApiError> {
    if !is_pin(&body.pin) {
        return Err(invalid_pin());
    }
    // The key, and that the caller is the buyer, are checked before the
    // PIN costs Argon2 (the job checks the buyer again, locked).
    idempotent_request(&headers, b"", true)?;
    let seen = app.store.order_view(auth.account, order_id(&id)?).await?;
    if seen.stored.buyer != auth.account {
        return Err(Rejection::NotOrderBuyer.into());
    }
    let pin = check_pin(&app, auth.account, body.pin).await?;
    act(
        &app,
        &auth,
        &headers,
        &id,
        OrderAction::Pay(pin),
        b"pay",
        true,
    )
    .await
}

/// Ship a paid order (the shop's owner or staff), with its carrier and
/// tracking number. Its stock counts as sold from now on.
#[utoipa::path(post, path = "/api/v1/orders/{id}/ship", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = String, Header, description = "optional; the same key replays the first answer")),
    request_body = ShipOrder,
    responses(
        (status = 200, body = OrderView),
        (status = 401, body = Problem),
        (status = 403, description = "not_shop_staff", body = Problem),
        (status = 404, description = "order_not_found", body = Problem),
        (status = 409, description = "invalid_order_state", body = Problem),
        (status = 422, description = "invalid_shipment", body = Problem),
    ))]
pub async fn ship(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<ShipOrder>,
) -> Result<Json<OrderView>, ApiError> {
    let shipment = Shipment::parse(&body.carrier, &body.tracking).map_err(Rejection::Order)?;
    let operation = [
        b"ship\0",
        body.carrier.as_bytes(),
        b"\0",
        body.tracking.as_bytes(),
    ]
    .concat();
    act(
        &app,
        &auth,
        &headers,
        &id,
        OrderAction::Ship(shipment),
        &operation,
        false,
    )
    .await
}

/// Confirm a shipped order arrived (its buyer): its escrow goes to the
/// shop. Unconfirmed orders are confirmed 7 days after shipping.
#[utoipa::path(post, path = "/api/v1/orders/{id}/confirm", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = String, Header, description = "optional; the same key replays the first answer")),
    responses(
        (status = 200, body = OrderView),
        (status = 401, body = Problem),
        (status = 403, description = "not_order_buyer", body = Problem),
        (status = 404, description = "order_not_found", body = Problem),
        (status = 409, description = "invalid_order_state", body = Problem),
    ))]
pub async fn confirm(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    act(
        &app,
        &auth,
        &headers,
        &id,
        OrderAction::Confirm,
        b"confirm",
        false,
    )
    .await
}

/// Cancel an order before it ships (its buyer or the shop): what was
/// paid comes back in full and its stock is released.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = String, Header, description = "optional; the same key replays the first answer")),
    responses(
        (status = 200, body = OrderView),
        (status = 401, body = Problem),
        (status = 404, description = "order_not_found", body = Problem),
        (status = 409, description = "invalid_order_state: shipped, completed or cancelled", body = Problem),
    ))]
pub async fn cancel(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    act(
        &app,
        &auth,
        &headers,
        &id,
        OrderAction::Cancel,
        b"cancel",
        false,
    )
    .await
}

/// Ask the shop for (part of) your money back (the buyer): paid, shipped,
/// or within 15 days of completion. Never more than was paid in all.
#[utoipa::path(post, path = "/api/v1/orders/{id}/refund-requests", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = String, Header, description = "optional; the same key and body replay the first answer")),
    request_body = RequestRefund,
    responses(
        (status = 201, body = OrderView),
        (status = 400, description = "invalid_amount", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_order_buyer", body = Problem),
        (status = 404, description = "order_not_found", body = Problem),
        (status = 409, description = "invalid_order_state, refund_too_large, too_many_refund_requests", body = Problem),
        (status = 422, description = "invalid_refund_reason", body = Problem),
    ))]
pub async fn request_refund(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<RequestRefund>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    let amount = AmountMinor::positive(body.amount_minor).map_err(|_| {
        ApiError::invalid(
            "invalid_amount",
            "`amount_minor` is a whole number of minor units above 0",
        )
    })?;
    let reason = RefundReason::parse(&body.reason).map_err(Rejection::Order)?;
    let operation = [
        b"refund\0",
        &body.amount_minor.to_be_bytes()[..],
        body.reason.as_bytes(),
    ]
    .concat();
    let action = OrderAction::RequestRefund { amount, reason };
    let answer = act(&app, &auth, &headers, &id, action, &operation, false).await?;
    Ok((StatusCode::CREATED, answer))
}

fn refund_index(text: &str) -> Result<usize, ApiError> {
    text.parse::<usize>()
        .ok()
        .filter(|index| *index < order::REFUND_REQUESTS_PER_ORDER_MAX)
        .ok_or_else(|| {
            Rejection::Order(order::OrderError::UnknownRefundRequest { index: 0 }).into()
        })
}

/// Approve a refund request (the shop): the money goes back to the
/// buyer, from escrow before the order is completed and from the shop's
/// settlement after.
#[utoipa::path(post, path = "/api/v1/orders/{id}/refund-requests/{n}/approve", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path), ("n" = u32, Path, description = "the request's `index`"), ("Idempotency-Key" = String, Header, description = "optional; the same key replays the first answer")),
    responses(
        (status = 200, body = OrderView),
        (status = 401, body = Problem),
        (status = 403, description = "not_shop_staff", body = Problem),
        (status = 404, description = "order_not_found, refund_request_not_found", body = Problem),
        (status = 409, description = "invalid_order_state: already decided; insufficient_funds: the shop's settlement holds too little", body = Problem),
    ))]
pub async fn approve_refund(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Path((id, n)): Path<(String, String)>,
) -> Result<Json<OrderView>, ApiError> {
    decide(
        &app,
        &auth,
        &headers,
        (&id, &n),
        b"approve",
        OrderAction::ApproveRefund,
    )
    .await
}

/// Reject a refund request (the shop).
#[utoipa::path(post, path = "/api/v1/orders/{id}/refund-requests/{n}/reject", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path), ("n" = u32, Path, description = "the request's `index`"), ("Idempotency-Key" = String, Header, description = "optional; the same key replays the first answer")),
    responses(
        (status = 200, body = OrderView),
        (status = 401, body = Problem),
        (status = 403, description = "not_shop_staff", body = Problem),
        (status = 404, description = "order_not_found, refund_request_not_found", body = Problem),
        (status = 409, description = "invalid_order_state: already decided", body = Problem),
    ))]
pub async fn reject_refund(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Path((id, n)): Path<(String, String)>,
) -> Result<Json<OrderView>, ApiError> {
    decide(
        &app,
        &auth,
        &headers,
        (&id, &n),
        b"reject",
        OrderAction::RejectRefund,
    )
    .await
}

/// The shop's decision `word` on refund request `n` of order `id`.
async fn decide(
    app: &App,
    auth: &Auth,
    headers: &HeaderMap,
    (id, n): (&str, &str),
    word: &[u8],
    decision: fn(usize) -> OrderAction,
) -> Result<Json<OrderView>, ApiError> {
    let index = refund_index(n)?;
    let operation = [word, b"\0", n.as_bytes()].concat();
    act(app, auth, headers, id, decision(index), &operation, false).await
}

/// The order's own conversation with the other side (its buyer, or the
/// shop's owner and staff), opened by the first call of either: its
/// members are the buyer, the owner and the staff, its first message the
/// order itself. Later calls answer the same conversation.
#[utoipa::path(post, path = "/api/v1/orders/{id}/conversation", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = OrderConversation),
        (status = 401, body = Problem),
        (status = 404, description = "order_not_found", body = Problem),
    ))]
pub async fn open_conversation(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<OrderConversation>, ApiError> {
    let conversation = app
        .store
        .open_order_chat(auth.account, order_id(&id)?)
        .await?;
    Ok(Json(OrderConversation {
        conversation_id: conversation.to_string(),
    }))
}

/// An order, to its buyer and its shop's staff only (404 to anyone else).
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = OrderView),
        (status = 401, body = Problem),
        (status = 404, description = "order_not_found", body = Problem),
    ))]
pub async fn get_order(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let answer = app.store.order_view(auth.account, order_id(&id)?).await?;
    Ok(Json(view(
        &answer,
        auth.account,
        &app.limits.order_policy(),
    )))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct OrdersQuery {
    /// `buyer` (default): the orders you placed; `shop`: the orders of
    /// the shops you own or are staff of.
    pub role: Option<String>,
    /// Only this shop's (with `role=shop`).
    pub shop_id: Option<String>,
    /// Only orders in this status.
    pub status: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 50 (default 20).
    pub limit: Option<u32>,
}

fn side(query: &OrdersQuery, account: piazza_domain::AccountId) -> Result<OrderSide, ApiError> {
    let shop = query.shop_id.as_deref().map(shop_id).transpose()?;
    match query.role.as_deref().unwrap_or("buyer") {
        "buyer" if shop.is_none() => Ok(OrderSide::Buyer(account)),
        "shop" => Ok(OrderSide::Shop { account, shop }),
        _ => Err(ApiError::invalid(
            "invalid_query",
            "`role` is `buyer` or `shop`; `shop_id` goes with `role=shop`",
        )),
    }
}

/// Your orders, newest first: those you placed, or your shops'.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])),
    params(OrdersQuery),
    responses(
        (status = 200, body = OrderList),
        (status = 400, description = "invalid_query, invalid_cursor, invalid_limit", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "shop_not_found", body = Problem),
    ))]
pub async fn list(
    State(app): State<App>,
    auth: Auth,
    Query(query): Query<OrdersQuery>,
) -> Result<Json<OrderList>, ApiError> {
    let side = side(&query, auth.account)?;
    let status = query
        .status
        .as_deref()
        .map(|text| {
            OrderStatus::parse(text).ok_or_else(|| {
                ApiError::invalid(
                    "invalid_query",
                    "`status` is pending_payment, paid, shipped, completed or cancelled",
                )
            })
        })
        .transpose()?;
    let before = after(query.cursor.as_deref(), |key| OrderId::parse(key).ok())?;
    let limit = page_limit(query.limit, 20, shop::ORDERS_PAGE_MAX as u32)?;
    let page = app.store.orders(side, status, before, limit).await?;
    let policy = app.limits.order_policy();
    let next = next_cursor(
        page.has_more,
        page.items
            .last()
            .map(|view| view.stored.order_id.to_string()),
    );
    Ok(Json(OrderList {
        orders: page
            .items
            .iter()
            .map(|answer| view(answer, auth.account, &policy))
            .collect(),
        next_cursor: next,
    }))
}
