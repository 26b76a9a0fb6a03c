//! Orders: placing one (prices fixed, stock reserved), and every later
//! move of its life through `piazza_domain::order`'s state machine, with
//! its stock moves, its money moves on Pay's ledger, its events to the
//! buyer and the shop's staff and its idempotency key's answer, all in
//! the one transaction of the move — or none of it.
//!
//! The order of checks: the order's row is locked and read, the actor's
//! part checked (anyone but the buyer and the shop's staff gets
//! `OrderNotFound`), the state machine asked (an illegal move is 409
//! before a PIN is looked at), then for a payment the PIN, then the
//! effects.

use std::collections::HashMap;

use piazza_domain::event::{Event, OrderEvent};
use piazza_domain::ledger::LedgerAccountRef;
use piazza_domain::money::AmountMinor;
use piazza_domain::money::Currency;
use piazza_domain::order::{
    self, OrderAccount, OrderCommand, OrderError, OrderItem, OrderPolicy, OrderStatus, Party,
    RefundReason, RefundRequestIndex, StockMoveKind, Transition,
};
use piazza_domain::shop::{self, ShippingAddress};
use piazza_domain::store::{Idempotent, Page, PinCheck, StoreResult};
use piazza_domain::{
    AccountId, ClientMsgId, ConversationId, MessageText, OrderId, ProductId, Rejection, ShopId,
    Timestamp, VariantId,
};

use super::{
    Due, ItemNames, NewOrder, OrderSide, Shop, Shops, StoredOrder, Variant, audience_of, is_staff,
    order_audience, shop_of,
};
use crate::Core;
use crate::accounts::page;
use crate::chat::conversations::open_order_conversation;
use crate::chat::{Body, append_message};
use crate::engine::{Error, Lane, Read, Result, Tx, refusable};
use crate::pay::wallet::{self, KeyAnswer, unexpected_answer};

/// An order to place, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    pub shop: ShopId,
    pub items: Vec<(VariantId, u32)>,
    pub shipping: ShippingAddress,
    pub currency: Currency,
}

/// One line of an order with the names it is shown with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub item: OrderItem,
    pub product_id: piazza_domain::ProductId,
    pub title: String,
    pub variant_name: String,
    pub sku: String,
}

impl OrderLine {
    fn names(&self) -> ItemNames {
        ItemNames {
            title: self.title.clone(),
            variant_name: self.variant_name.clone(),
            sku: self.sku.clone(),
        }
    }
}

/// An order as its buyer or the shop's staff sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderView {
    pub stored: StoredOrder,
    pub shop: Shop,
    pub lines: Vec<OrderLine>,
}

/// What a move answers: the order after it, and whether it was a replay
/// of an idempotency key's first answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderAnswer {
    pub view: OrderView,
    pub replayed: bool,
}

/// What an account asks of an order (the sweeper's moves are its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderAction {
    Pay(PinCheck),
    Ship(order::Shipment),
    Confirm,
    Cancel,
    RequestRefund {
        amount: AmountMinor,
        reason: RefundReason,
    },
    ApproveRefund(RefundRequestIndex),
    RejectRefund(RefundRequestIndex),
}

/// Who the actor is to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Buyer,
    Staff,
}

fn refused(error: OrderError) -> Error {
    Rejection::Order(error).into()
}

/// `buyer` places an order with `place.shop` at the prices of now,
/// reserving every item; the lines it ordered leave its cart. Every
/// refusal is decided by reading, before the first change — the stock
/// against the variants read, locked, for the order — so an engine may
/// run a placing without a savepoint of its own
/// ([`Core::write_refusing_first`]).
pub fn place(
    tx: &mut dyn Tx,
    buyer: AccountId,
    request: &Idempotent,
    place: &PlaceOrder,
    policy: &OrderPolicy,
) -> Result<OrderAnswer> {
    if let Some(answer) = wallet::replay(tx.reads(), buyer, request)? {
        return replayed(tx.reads(), answer);
    }
    let shop = shop_of(tx.reads(), place.shop)?;
    // Its owner deleted the account: nobody is there to sell.
    if tx.reads().is_deleted(shop.owner)? {
        return Err(Rejection::AccountDeleted.into());
    }
    // The staff read once: whether the buyer is one, and whom to tell.
    let staff = tx.reads().shop_staff(shop.shop_id)?;
    if shop.owner == buyer || staff.contains(&buyer) {
        return Err(Rejection::SelfTarget.into());
    }
    let audience = audience_of(&shop, buyer, staff);
    let (lines, available) = priced_lines(tx, &shop, &place.items)?;
    let items = lines.iter().map(|line| line.item).collect();
    let now = tx.now();
    let transition = order::place(items, now, policy).map_err(refused)?;
    for stock in &transition.stock {
        let has = available.get(&stock.variant).copied().unwrap_or(0);
        if has < i64::from(stock.quantity) {
            let variant = stock.variant;
            return Err(Rejection::OutOfStock {
                variant,
                available: has,
            }
            .into());
        }
    }
    apply_stock(tx, &transition)?;
    let names: Vec<ItemNames> = lines.iter().map(OrderLine::names).collect();
    let order_id = tx.insert_order(&NewOrder {
        shop_id: shop.shop_id,
        buyer,
        currency: place.currency,
        shipping: &place.shipping,
        order: &transition.order,
        names: &names,
    })?;
    let variants: Vec<VariantId> = place.items.iter().map(|(variant, _)| *variant).collect();
    tx.delete_cart_items(buyer, &variants)?;
    // As inserted: no need to read it back. Its conversation is opened
    // when one side first asks for it ([`open_chat`]).
    let stored = StoredOrder {
        order_id,
        shop_id: shop.shop_id,
        buyer,
        conversation: None,
        currency: place.currency,
        shipping: place.shipping.clone(),
        order: transition.order,
        names: names.into_iter().map(Some).collect(),
    };
    tx.append_to_all(&audience, &event_of(&stored, &shop, "placed", None))?;
    wallet::store_answer(tx, buyer, request, KeyAnswer::Order(order_id))?;
    // The lines as priced: the names were read in this transaction.
    Ok(OrderAnswer {
        view: OrderView {
            stored,
            shop,
            lines,
        },
        replayed: false,
    })
}

/// The `kind` of an order's first message in its conversation, whose
/// `ref` is the order's id: what a chat draws as the order and links to.
pub const ORDER_MESSAGE_KIND: &str = "order";

/// The order's own conversation, for its buyer or its shop's staff
/// (`OrderNotFound` to anyone else): opened the first time either side
/// asks, so a shop's chat list holds the orders someone talks about, not
/// every order it ever took.
pub fn open_chat(tx: &mut dyn Tx, actor: AccountId, order: OrderId) -> Result<ConversationId> {
    let (stored, shop, _) = locked(tx, actor, order)?;
    if let Some(conversation) = stored.conversation {
        return Ok(conversation);
    }
    // Its buyer erased: nobody to talk to, and its first message is theirs.
    if tx.reads().is_erased(stored.buyer)? {
        return Err(Rejection::AccountDeleted.into());
    }
    open_conversation(tx, &shop, stored.buyer, order)
}

/// Opens the order's own conversation between the buyer and the shop's
/// owner and staff, titled with the shop's name and the order's id, and
/// posts its first message: the order itself (kind `order`, `ref` its
/// id), from the buyer, so the conversation links back to its order and
/// has something to show in a list. Later moves reach both sides as
/// `order.updated`, not as messages.
fn open_conversation(
    tx: &mut dyn Tx,
    shop: &Shop,
    buyer: AccountId,
    order: OrderId,
) -> Result<ConversationId> {
    let members = order_audience(tx.reads(), shop, buyer)?;
    let title = format!("{} · {order}", shop.name);
    let conversation = open_order_conversation(tx, &title, members.clone())?;
    tx.set_order_conversation(order, conversation)?;
    let membership = tx
        .membership_for_update(buyer, conversation)?
        .ok_or_else(|| Error::Corrupt(format!("{buyer} is not in its order's {conversation}")))?;
    // White space no client may put in a `client_msg_id`: never one of
    // the buyer's own messages.
    let client_msg_id = ClientMsgId::from_store(format!("order {order}"));
    let text = MessageText::from_store("Order placed".to_owned());
    let body = Body::special(text, ORDER_MESSAGE_KIND, order.to_string());
    append_message(
        tx,
        buyer,
        conversation,
        membership.last_seq,
        members,
        client_msg_id,
        body,
    )?;
    Ok(conversation)
}

/// Each item at its variant's price now, with the names it is shown
/// with: a variant of this shop whose product is listed (an unlisted
/// one is `VariantNotFound`, another shop's `VariantUnavailable`), and
/// each variant's units available. The variants and their products are
/// read in one call each, so an order of many lines costs the engine no
/// more round trips than one of one.
fn priced_lines(
    tx: &mut dyn Tx,
    shop: &Shop,
    asked: &[(VariantId, u32)],
) -> Result<(Vec<OrderLine>, HashMap<VariantId, i64>)> {
    let ids: Vec<VariantId> = asked.iter().map(|(variant, _)| *variant).collect();
    // Locked now: these are the rows the reservations will move.
    let variants: HashMap<VariantId, Variant> = tx
        .variants_for_update(&ids)?
        .into_iter()
        .map(|variant| (variant.variant_id, variant))
        .collect();
    let product_ids: Vec<ProductId> = variants.values().map(|found| found.product_id).collect();
    let products = super::products_by_id(tx.reads(), &product_ids)?;
    let mut lines = Vec::with_capacity(asked.len());
    for &(variant, quantity) in asked {
        let found = variants.get(&variant).ok_or(Rejection::VariantNotFound)?;
        // An unlisted product's variants are its shop's staff's only: to
        // anyone else they answer as an id no variant has.
        let Some(product) = products
            .get(&found.product_id)
            .filter(|product| product.listed)
        else {
            return Err(Rejection::VariantNotFound.into());
        };
        if found.shop_id != shop.shop_id {
            return Err(Rejection::VariantUnavailable { variant }.into());
        }
        lines.push(OrderLine {
            item: OrderItem {
                variant,
                quantity,
                unit_price: found.price,
            },
            product_id: found.product_id,
            title: product.title.clone(),
            variant_name: found.name.clone(),
            sku: found.sku.as_str().to_owned(),
        });
    }
    let available = variants
        .values()
        .map(|found| (found.variant_id, found.available))
        .collect();
    Ok((lines, available))
}

/// Applies a transition's stock moves in variant order (so two orders
/// never wait for each other's rows in opposite orders). A reservation
/// that finds too few available refuses the whole order.
fn apply_stock(tx: &mut dyn Tx, transition: &Transition) -> Result<()> {
    let mut moves = transition.stock.clone();
    moves.sort_by_key(|stock| stock.variant);
    for stock in &moves {
        if tx.move_stock(stock)? {
            continue;
        }
        if stock.kind != StockMoveKind::Reserve {
            return Err(Error::Corrupt(format!(
                "{:?} of {} {} refused: fewer reserved than an order holds",
                stock.kind, stock.quantity, stock.variant
            )));
        }
        let available = tx
            .reads()
            .variant(stock.variant)?
            .map_or(0, |variant| variant.available);
        return Err(Rejection::OutOfStock {
            variant: stock.variant,
            available,
        }
        .into());
    }
    Ok(())
}

/// Posts a transition's money moves, one ledger transaction each.
fn apply_money(
    tx: &mut dyn Tx,
    stored: &StoredOrder,
    shop: &Shop,
    transition: &Transition,
    initiator: AccountId,
) -> Result<()> {
    let currency = stored.currency;
    let account = |which: OrderAccount| match which {
        OrderAccount::BuyerWallet => LedgerAccountRef::user_wallet(stored.buyer, currency),
        OrderAccount::Escrow => LedgerAccountRef::order_escrow(stored.order_id.row(), currency),
        OrderAccount::ShopSettlement => {
            LedgerAccountRef::merchant_settlement(shop.merchant.row(), currency)
        }
    };
    let reference = stored.order_id.to_string();
    for money in &transition.money {
        let transaction = money
            .transaction(account)
            .map_err(|error| Error::Corrupt(format!("an order's money move: {error}")))?;
        wallet::post(tx, &transaction, initiator, &reference)?;
    }
    Ok(())
}

/// Writes what one legal move does: money, stock, the order and its
/// changed refund requests, and the event to everyone concerned.
fn apply(
    tx: &mut dyn Tx,
    stored: &StoredOrder,
    shop: &Shop,
    transition: Transition,
    initiator: AccountId,
    action: &str,
    refund: Option<RefundRequestIndex>,
) -> Result<StoredOrder> {
    apply_money(tx, stored, shop, &transition, initiator)?;
    apply_stock(tx, &transition)?;
    let before = &stored.order.refund_requests;
    let changed: Vec<RefundRequestIndex> = transition
        .order
        .refund_requests
        .iter()
        .enumerate()
        .filter(|(index, request)| before.get(*index) != Some(*request))
        .map(|(index, _)| index)
        .collect();
    tx.save_order(stored.order_id, &transition.order, &changed)?;
    let after = StoredOrder {
        order: transition.order,
        ..stored.clone()
    };
    debug_assert!(after.order.check_invariants().is_empty());
    tell(tx, &after, shop, action, refund)?;
    Ok(after)
}

/// `order.updated` to the buyer and every staff member of the shop.
fn tell(
    tx: &mut dyn Tx,
    stored: &StoredOrder,
    shop: &Shop,
    action: &str,
    refund: Option<RefundRequestIndex>,
) -> Result<()> {
    let event = event_of(stored, shop, action, refund);
    let audience = order_audience(tx.reads(), shop, stored.buyer)?;
    tx.append_to_all(&audience, &event)
}

/// The `order.updated` of `stored` after `action`.
fn event_of(
    stored: &StoredOrder,
    shop: &Shop,
    action: &str,
    refund: Option<RefundRequestIndex>,
) -> Event {
    let request = refund.and_then(|index| stored.order.refund_requests.get(index));
    Event::OrderUpdated(OrderEvent {
        order_id: stored.order_id,
        shop_id: shop.shop_id,
        shop_name: shop.name.clone(),
        buyer: stored.buyer,
        action: action.to_owned(),
        status: stored.order.status.as_str().to_owned(),
        total_minor: stored.order.total.get(),
        currency: stored.currency.as_str().to_owned(),
        refunded_minor: stored.order.refunded_minor(),
        refund_index: refund.and_then(|index| u32::try_from(index).ok()),
        refund_minor: request.map(|request| request.amount.get()),
    })
}

/// The order `order` locked, and who `actor` is to it; anyone but its
/// buyer and its shop's staff gets `OrderNotFound`.
fn locked(tx: &mut dyn Tx, actor: AccountId, order: OrderId) -> Result<(StoredOrder, Shop, Side)> {
    let stored = tx
        .order_for_update(order)?
        .ok_or(Rejection::OrderNotFound)?;
    let shop = shop_of(tx.reads(), stored.shop_id)?;
    let side = if stored.buyer == actor {
        Side::Buyer
    } else if is_staff(tx.reads(), &shop, actor)? {
        Side::Staff
    } else {
        return Err(Rejection::OrderNotFound.into());
    };
    Ok((stored, shop, side))
}

/// The command an action is, if `side` may ask it, and the event's word.
fn command_of(
    action: &OrderAction,
    side: Side,
    order: &order::Order,
) -> Result<(OrderCommand, &'static str, Option<RefundRequestIndex>)> {
    let buyer_only = |command, word| match side {
        Side::Buyer => Ok((command, word, None)),
        Side::Staff => Err(Error::from(Rejection::NotOrderBuyer)),
    };
    let staff_only = |command, word, refund| match side {
        Side::Staff => Ok((command, word, refund)),
        Side::Buyer => Err(Error::from(Rejection::NotShopStaff)),
    };
    match action {
        OrderAction::Pay(_) => buyer_only(OrderCommand::Pay, "paid"),
        OrderAction::Confirm => buyer_only(OrderCommand::Confirm, "confirmed"),
        OrderAction::RequestRefund { amount, reason } => {
            let index = order.refund_requests.len();
            let command = OrderCommand::RequestRefund {
                amount: *amount,
                reason: reason.clone(),
            };
            buyer_only(command, "refund_requested").map(|(c, w, _)| (c, w, Some(index)))
        }
        OrderAction::Cancel => {
            let party = match side {
                Side::Buyer => Party::Buyer,
                Side::Staff => Party::Shop,
            };
            Ok((OrderCommand::Cancel(party), "cancelled", None))
        }
        OrderAction::Ship(shipment) => {
            staff_only(OrderCommand::Ship(shipment.clone()), "shipped", None)
        }
        OrderAction::ApproveRefund(index) => staff_only(
            OrderCommand::ApproveRefund(*index),
            "refund_approved",
            Some(*index),
        ),
        OrderAction::RejectRefund(index) => staff_only(
            OrderCommand::RejectRefund(*index),
            "refund_rejected",
            Some(*index),
        ),
    }
}

/// `actor` moves `order` as `action` asks. The outer `Result` fails the
/// job; the inner one is a refusal that must still commit (a wrong PIN
/// is counted).
pub fn act(
    tx: &mut dyn Tx,
    actor: AccountId,
    request: Option<&Idempotent>,
    order: OrderId,
    action: &OrderAction,
    policy: &OrderPolicy,
) -> Result<std::result::Result<OrderAnswer, Rejection>> {
    if let Some(request) = request
        && let Some(answer) = wallet::replay(tx.reads(), actor, request)?
    {
        return replayed(tx.reads(), answer).map(Ok);
    }
    let (stored, shop, side) = locked(tx, actor, order)?;
    let (command, word, refund) = command_of(action, side, &stored.order)?;
    let now = tx.now();
    let transition = stored.order.apply(&command, now, policy).map_err(refused)?;
    // Paying a shop whose owner deleted the account: nobody is there.
    if matches!(action, OrderAction::Pay(_)) && tx.reads().is_deleted(shop.owner)? {
        return Ok(Err(Rejection::AccountDeleted));
    }
    if let OrderAction::Pay(pin) = action
        && let Some(refusal) = wallet::check_pin(tx, actor, *pin)?
    {
        return Ok(Err(refusal));
    }
    refusable(tx, |tx| {
        let after = apply(tx, &stored, &shop, transition.clone(), actor, word, refund)?;
        if let Some(request) = request {
            wallet::store_answer(tx, actor, request, KeyAnswer::Order(order))?;
        }
        Ok(OrderAnswer {
            view: view_of(tx.reads(), after, shop.clone())?,
            replayed: false,
        })
    })
}

/// The order a key's answer names, as it stands now.
fn replayed(read: &mut dyn Read, answer: KeyAnswer) -> Result<OrderAnswer> {
    let KeyAnswer::Order(order) = answer else {
        return Err(unexpected_answer(&answer));
    };
    let stored = read
        .order(order)?
        .ok_or_else(|| Error::Corrupt(format!("idempotency answer without {order}")))?;
    let shop = shop_of(read, stored.shop_id)?;
    Ok(OrderAnswer {
        view: view_of(read, stored, shop)?,
        replayed: true,
    })
}

/// Moves the orders the clock has made due — unpaid past `pay_by`
/// (expired, stock released) or shipped longer ago than the confirmation
/// delay (confirmed, escrow released) — `limit` at most; answers how many.
pub fn sweep(tx: &mut dyn Tx, now: Timestamp, policy: &OrderPolicy, limit: u32) -> Result<usize> {
    let shipped_by =
        Timestamp::from_unix_ms(now.unix_ms().saturating_sub(policy.auto_confirm_after_ms));
    let mut moved = 0;
    for (due, command, word) in [
        (Due::Unpaid(now), OrderCommand::Expire, "expired"),
        (
            Due::ShippedBy(shipped_by),
            OrderCommand::AutoConfirm,
            "auto_confirmed",
        ),
    ] {
        for stored in tx.due_orders_for_update(due, limit)? {
            let transition = stored.order.apply(&command, now, policy).map_err(|error| {
                Error::Corrupt(format!("{} was due but {error}", stored.order_id))
            })?;
            let shop = shop_of(tx.reads(), stored.shop_id)?;
            apply(tx, &stored, &shop, transition, stored.buyer, word, None)?;
            moved += 1;
        }
    }
    Ok(moved)
}

/// An order with its lines' names.
fn view_of(read: &mut dyn Read, stored: StoredOrder, shop: Shop) -> Result<OrderView> {
    let mut shops = Shops::default();
    shops.0.insert(shop.shop_id, shop);
    let mut views = views_of(read, vec![stored], &mut shops)?;
    views
        .pop()
        .ok_or_else(|| Error::Corrupt("an order without its view".into()))
}

/// Orders with their lines' names — as placed, or today's for an order
/// placed before they were kept — the variants and products of every
/// line read in one query each.
fn views_of(
    read: &mut dyn Read,
    orders: Vec<StoredOrder>,
    shops: &mut Shops,
) -> Result<Vec<OrderView>> {
    let ids: Vec<VariantId> = orders
        .iter()
        .flat_map(|stored| stored.order.items.iter().map(|item| item.variant))
        .collect();
    let variants = super::variants_by_id(read, &ids)?;
    let unnamed: Vec<ProductId> = orders
        .iter()
        .flat_map(|stored| {
            let named = |index: usize| matches!(stored.names.get(index), Some(Some(_)));
            let items = stored.order.items.iter().enumerate();
            items.filter(move |(index, _)| !named(*index))
        })
        .filter_map(|(_, item)| variants.get(&item.variant).map(|v| v.product_id))
        .collect();
    let titles: HashMap<ProductId, String> = super::products_by_id(read, &unnamed)?
        .into_iter()
        .map(|(id, product)| (id, product.title))
        .collect();
    let mut views = Vec::with_capacity(orders.len());
    for stored in orders {
        let mut lines = Vec::with_capacity(stored.order.items.len());
        for (index, item) in stored.order.items.iter().enumerate() {
            let variant = variants.get(&item.variant).ok_or_else(|| {
                Error::Corrupt(format!("{} without {}", stored.order_id, item.variant))
            })?;
            let names = match stored.names.get(index) {
                Some(Some(names)) => names.clone(),
                _ => ItemNames {
                    title: titles.get(&variant.product_id).cloned().unwrap_or_default(),
                    variant_name: variant.name.clone(),
                    sku: variant.sku.as_str().to_owned(),
                },
            };
            lines.push(OrderLine {
                item: *item,
                product_id: variant.product_id,
                title: names.title,
                variant_name: names.variant_name,
                sku: names.sku,
            });
        }
        let shop = shops.get(read, stored.shop_id)?;
        views.push(OrderView {
            stored,
            shop,
            lines,
        });
    }
    Ok(views)
}

/// `order` for its buyer or its shop's staff; `OrderNotFound` to anyone
/// else.
pub fn order_view(read: &mut dyn Read, viewer: AccountId, order: OrderId) -> Result<OrderView> {
    let stored = read.order(order)?.ok_or(Rejection::OrderNotFound)?;
    let shop = shop_of(read, stored.shop_id)?;
    if stored.buyer != viewer && !is_staff(read, &shop, viewer)? {
        return Err(Rejection::OrderNotFound.into());
    }
    view_of(read, stored, shop)
}

/// A page of the orders of `side`. A shop named that `viewer` does not
/// manage is `ShopNotFound`.
pub fn orders(
    read: &mut dyn Read,
    side: OrderSide,
    status: Option<OrderStatus>,
    before: Option<OrderId>,
    limit: u32,
) -> Result<Page<OrderView>> {
    if let OrderSide::Shop {
        account,
        shop: Some(shop),
    } = side
    {
        let found = shop_of(read, shop)?;
        if !is_staff(read, &found, account)? {
            return Err(Rejection::ShopNotFound.into());
        }
    }
    let limit = limit.min(shop::ORDERS_PAGE_MAX as u32);
    let found = read.orders(side, status, before, limit as usize + 1)?;
    let views = views_of(read, found, &mut Shops::default())?;
    Ok(page(views, limit))
}

impl Core {
    pub async fn place_order(
        &self,
        buyer: AccountId,
        request: Idempotent,
        order: PlaceOrder,
        policy: OrderPolicy,
    ) -> StoreResult<OrderAnswer> {
        let lane = Lane::shop(order.shop);
        let job = move |tx: &mut dyn Tx| place(tx, buyer, &request, &order, &policy);
        self.write_refusing_first(lane, job).await
    }

    /// `actor` moves an order; see [`act`].
    pub async fn act_on_order(
        &self,
        actor: AccountId,
        request: Option<Idempotent>,
        order: OrderId,
        action: OrderAction,
        policy: OrderPolicy,
    ) -> StoreResult<OrderAnswer> {
        let lane = self.order_lane(order).await?;
        let answer = self
            .write_in(lane, move |tx| {
                act(tx, actor, request.as_ref(), order, &action, &policy)
            })
            .await?;
        Ok(answer?)
    }

    /// `actor`'s conversation with the other side of `order`; see
    /// [`open_chat`].
    pub async fn open_order_chat(
        &self,
        actor: AccountId,
        order: OrderId,
    ) -> StoreResult<ConversationId> {
        let lane = self.order_lane(order).await?;
        self.write_in(lane, move |tx| open_chat(tx, actor, order))
            .await
    }

    /// The lane of `order`'s shop, where an engine has lanes: every move
    /// writes to the shop's staff's logs, and a move in another writer's
    /// batch would wait for those rows (an unknown order goes anywhere).
    async fn order_lane(&self, order: OrderId) -> StoreResult<Lane> {
        if !self.engine.has_lanes() {
            return Ok(Lane::Any);
        }
        let shop = self.read(move |read| read.order_shop(order)).await?;
        Ok(shop.map_or(Lane::Any, Lane::shop))
    }

    pub async fn order_view(&self, viewer: AccountId, order: OrderId) -> StoreResult<OrderView> {
        self.read(move |read| order_view(read, viewer, order)).await
    }

    pub async fn orders(
        &self,
        side: OrderSide,
        status: Option<OrderStatus>,
        before: Option<OrderId>,
        limit: u32,
    ) -> StoreResult<Page<OrderView>> {
        self.read(move |read| orders(read, side, status, before, limit))
            .await
    }

    /// One sweep of due orders (see [`sweep`]).
    pub async fn sweep_orders(
        &self,
        now: Timestamp,
        policy: OrderPolicy,
        limit: u32,
    ) -> StoreResult<usize> {
        self.write(move |tx| sweep(tx, now, &policy, limit)).await
    }
}
