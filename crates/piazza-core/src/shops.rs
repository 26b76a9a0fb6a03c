//! Shops: a shop an account owns (with the staff it names), its products
//! and their variants (each with a price and stock), each account's cart,
//! and orders, whose whole life is `piazza_domain::order`'s state machine.
//!
//! Who may do what:
//! - any signed-in account opens shops (up to
//!   [`shop::SHOPS_PER_OWNER_MAX`]), browses listed products, fills its
//!   cart and places, pays, confirms and cancels its own orders, and asks
//!   for refunds;
//! - the owner names and removes staff;
//! - the owner and staff add and change products and stock, ship, cancel
//!   and answer refund requests; they see every order of the shop.
//!
//! An order is seen by its buyer and the shop's staff only; anyone else
//! gets `OrderNotFound`, exactly as for an id no order has.
//!
//! **Stock is never oversold.** A variant's row holds `available`,
//! `reserved` and `sold`; an order's [`StockMove`]s go through the
//! engine's [`Writes::move_stock`], one conditional update (reserve only
//! if that many are available), in variant order so two orders cannot
//! deadlock, in the order's own transaction: whatever the concurrency,
//! on either engine and across processes, a reservation either takes
//! units that are there or refuses the whole order.
//!
//! **Money is Pay's ledger.** Paying moves the total from the buyer's
//! wallet into the order's escrow account (`order_escrow`), releasing
//! moves it to the shop's merchant settlement, refunds move it back; each
//! [`MoneyMove`] of a transition is one ledger transaction posted in the
//! order's transaction (`orders.rs`).

mod cart;
mod catalog;
mod orders;

pub use cart::{CartLine, CartView};
pub(crate) use catalog::product_view;
pub use catalog::{ProductView, ShopView};
pub use orders::{OrderAction, OrderAnswer, OrderLine, OrderView, PlaceOrder};

use piazza_domain::money::{AmountMinor, Currency};
use piazza_domain::order::{Order, RefundRequestIndex, StockMove};
use piazza_domain::shop::{
    Description, Handle, ProductTitle, ShippingAddress, ShopName, Sku, VariantName,
};
use piazza_domain::{
    AccountId, ConversationId, MediaId, MerchantId, OrderId, ProductId, Rejection, ShopId,
    Timestamp, VariantId,
};

use crate::engine::{Read, Result};

/// A shop as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shop {
    pub shop_id: ShopId,
    pub handle: Handle,
    pub name: String,
    pub description: String,
    pub logo: Option<MediaId>,
    pub owner: AccountId,
    /// The merchant whose settlement account the shop's takings go to.
    pub merchant: MerchantId,
    pub created_at: Timestamp,
}

/// A shop to open, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShop {
    pub handle: Handle,
    pub name: ShopName,
    pub description: Description,
    pub logo: Option<MediaId>,
}

/// A product as stored (its variants are rows of their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub product_id: ProductId,
    pub shop_id: ShopId,
    pub title: String,
    pub description: String,
    /// Its pictures, in the order shown.
    pub media: Vec<MediaId>,
    /// Shown to buyers and orderable; an unlisted product is its staff's
    /// only.
    pub listed: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A variant as stored: its price now and its stock, whose three counts
/// only an order's stock moves shift between one another (their sum
/// changes only when the shop sets its stock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub shop_id: ShopId,
    pub sku: Sku,
    pub name: String,
    pub price: AmountMinor,
    /// Units that may still be ordered.
    pub available: i64,
    /// Units held by orders placed and not shipped or cancelled.
    pub reserved: i64,
    /// Units shipped.
    pub sold: i64,
}

/// A product to add, parsed: at least one variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    pub title: ProductTitle,
    pub description: Description,
    pub media: Vec<MediaId>,
    pub variants: Vec<NewVariant>,
}

/// A variant to add, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVariant {
    pub sku: Sku,
    pub name: VariantName,
    pub price: AmountMinor,
    /// Units available at first.
    pub stock: i64,
}

/// What a change of a product sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductPatch {
    pub title: Option<ProductTitle>,
    pub description: Option<Description>,
    pub media: Option<Vec<MediaId>>,
    pub listed: Option<bool>,
}

/// How a change of a variant moves its available stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockChange {
    /// Available becomes this many.
    Set(i64),
    /// Available moves by this many (a delivery, a breakage).
    Delta(i64),
}

/// What a change of a variant sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariantPatch {
    pub name: Option<VariantName>,
    pub price: Option<AmountMinor>,
    pub stock: Option<StockChange>,
}

/// One line of a cart as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartItem {
    pub variant_id: VariantId,
    pub quantity: u32,
    /// The variant's price when the line was first added, to show what
    /// changed since.
    pub price_when_added: AmountMinor,
    pub added_at: Timestamp,
}

/// An order as stored: the state machine's [`Order`] and what is around
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOrder {
    pub order_id: OrderId,
    pub shop_id: ShopId,
    pub buyer: AccountId,
    /// Its own conversation between the buyer and the shop's staff
    /// (`None` only for an order placed before orders had one).
    pub conversation: Option<ConversationId>,
    pub currency: Currency,
    pub shipping: ShippingAddress,
    pub order: Order,
    /// Each item's names when it was placed, by position (`None` for an
    /// order placed before they were kept: it shows today's).
    pub names: Vec<Option<ItemNames>>,
}

/// What an order's item was called when it was placed, shown with the
/// order for good, whatever the shop renames later (as its price is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemNames {
    pub title: String,
    pub variant_name: String,
    pub sku: String,
}

/// An order to store, as placing made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder<'a> {
    pub shop_id: ShopId,
    pub buyer: AccountId,
    pub currency: Currency,
    pub shipping: &'a ShippingAddress,
    pub order: &'a Order,
    /// Each item's names, by position.
    pub names: &'a [ItemNames],
}

/// Which side of orders a list is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderSide {
    /// Orders `account` placed.
    Buyer(AccountId),
    /// Orders of the shops `account` owns or is staff of (of `shop` only,
    /// when given).
    Shop {
        account: AccountId,
        shop: Option<ShopId>,
    },
}

/// Which products a listing or search holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductQuery {
    /// Lowercase; a product is in when its title or description holds
    /// it (ASCII case ignored). Empty: every product.
    pub needle: String,
    pub shop: Option<ShopId>,
    /// Only listed products (a buyer's view); `false` for a shop's staff.
    pub listed_only: bool,
    /// Newest first, below this one.
    pub before: Option<ProductId>,
    pub limit: usize,
}

/// Orders the clock has something to do with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Waiting for payment with `pay_by` at or before this time.
    Unpaid(Timestamp),
    /// Shipped at or before this time (now less the confirmation delay).
    ShippedBy(Timestamp),
}

/// The queries of this area, as every engine answers them.
pub trait Reads {
    fn shop(&mut self, shop: ShopId) -> Result<Option<Shop>>;
    fn shop_by_handle(&mut self, handle: &Handle) -> Result<Option<Shop>>;
    /// The shops `account` owns or is staff of, oldest first, at most
    /// `limit`.
    fn managed_shops(&mut self, account: AccountId, limit: usize) -> Result<Vec<Shop>>;
    fn is_shop_staff(&mut self, shop: ShopId, account: AccountId) -> Result<bool>;
    /// Its staff, by when they were named.
    fn shop_staff(&mut self, shop: ShopId) -> Result<Vec<AccountId>>;
    fn product(&mut self, product: ProductId) -> Result<Option<Product>>;
    /// The variants of `products`, by product, each product's in the
    /// order they were added: one query for a page of products.
    fn variants_of(&mut self, products: &[ProductId]) -> Result<Vec<Variant>>;
    fn variant(&mut self, variant: VariantId) -> Result<Option<Variant>>;
    /// The variants of `variants` that exist, in any order: one query for
    /// a page of orders' lines or a cart.
    fn variants(&mut self, variants: &[VariantId]) -> Result<Vec<Variant>>;
    /// The products of `products` that exist, in any order.
    fn products(&mut self, products: &[ProductId]) -> Result<Vec<Product>>;
    /// Products as `query` says, newest first, at most `query.limit`.
    fn find_products(&mut self, query: &ProductQuery) -> Result<Vec<Product>>;
    /// `account`'s cart, in the order lines were added.
    fn cart_items(&mut self, account: AccountId) -> Result<Vec<CartItem>>;
    fn order(&mut self, order: OrderId) -> Result<Option<StoredOrder>>;
    /// The shop `order` was placed with, read alone (for the writer lane
    /// its moves go to).
    fn order_shop(&mut self, order: OrderId) -> Result<Option<ShopId>>;
    /// Orders of `side`, in `status` when given, below `before`, newest
    /// first, at most `limit`.
    fn orders(
        &mut self,
        side: OrderSide,
        status: Option<piazza_domain::order::OrderStatus>,
        before: Option<OrderId>,
        limit: usize,
    ) -> Result<Vec<StoredOrder>>;
    /// Whether `media` is a shop's logo or a listed product's picture:
    /// what anyone may see.
    fn is_shop_media(&mut self, media: MediaId) -> Result<bool>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    /// How many shops `owner` owns, read so that no concurrent open by
    /// the same owner counts meanwhile (PostgreSQL: the owner's account
    /// row locked).
    fn owned_shops_for_update(&mut self, owner: AccountId) -> Result<usize>;
    /// A new shop settling into `merchant`; `None` when another shop has
    /// its handle.
    fn insert_shop(
        &mut self,
        owner: AccountId,
        shop: &NewShop,
        merchant: MerchantId,
        at: Timestamp,
    ) -> Result<Option<ShopId>>;
    /// How many staff `shop` has, read so that no concurrent naming
    /// counts meanwhile (PostgreSQL: the shop's row locked).
    fn staff_for_update(&mut self, shop: ShopId) -> Result<usize>;
    /// `false` if `account` was staff already.
    fn insert_shop_staff(
        &mut self,
        shop: ShopId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool>;
    /// `false` if `account` was not staff.
    fn delete_shop_staff(&mut self, shop: ShopId, account: AccountId) -> Result<bool>;
    /// How many products `shop` holds, read so that no concurrent add to
    /// the same shop counts meanwhile (PostgreSQL: the shop's row locked).
    fn products_for_update(&mut self, shop: ShopId) -> Result<usize>;
    /// A new product, listed, with no variants yet.
    fn insert_product(
        &mut self,
        shop: ShopId,
        product: &NewProduct,
        at: Timestamp,
    ) -> Result<ProductId>;
    /// A new variant of `product` with `variant.stock` available; `None`
    /// when another variant of the shop has its SKU.
    fn insert_variant(
        &mut self,
        shop: ShopId,
        product: ProductId,
        variant: &NewVariant,
    ) -> Result<Option<VariantId>>;
    /// Sets what `patch` gives, and `updated_at`.
    fn update_product(
        &mut self,
        product: ProductId,
        patch: &ProductPatch,
        at: Timestamp,
    ) -> Result<()>;
    /// The variant, its row locked for the rest of the transaction.
    fn variant_for_update(&mut self, variant: VariantId) -> Result<Option<Variant>>;
    /// The variants of `variants` that exist, their rows locked for the
    /// rest of the transaction: those an order placed will reserve.
    fn variants_for_update(&mut self, variants: &[VariantId]) -> Result<Vec<Variant>>;
    /// Sets the name and price `patch` gives (its stock is
    /// [`Writes::add_available`]'s).
    fn update_variant(&mut self, variant: VariantId, patch: &VariantPatch) -> Result<()>;
    /// Moves `available` by `delta`, if it stays within 0 and
    /// `shop::STOCK_MAX`: the new count, or `None` and nothing changed.
    fn add_available(&mut self, variant: VariantId, delta: i64) -> Result<Option<i64>>;
    /// Applies one stock move as one conditional update of the variant's
    /// row: a reservation only if that many are available, a release or
    /// a sale only if that many are reserved. `false`: nothing changed.
    fn move_stock(&mut self, stock: &StockMove) -> Result<bool>;
    /// Puts `quantity` of `variant` in `account`'s cart, replacing the
    /// line's quantity if there is one (its price when added kept).
    fn put_cart_item(
        &mut self,
        account: AccountId,
        variant: VariantId,
        quantity: u32,
        price: AmountMinor,
        at: Timestamp,
    ) -> Result<()>;
    /// Removes the lines of `variants` from `account`'s cart.
    fn delete_cart_items(&mut self, account: AccountId, variants: &[VariantId]) -> Result<()>;
    /// How many lines `account`'s cart holds, read as above (the
    /// account's row locked).
    fn cart_lines_for_update(&mut self, account: AccountId) -> Result<usize>;
    /// A new order with its items, as placing made it (with no
    /// conversation yet: [`Writes::set_order_conversation`]).
    fn insert_order(&mut self, order: &NewOrder<'_>) -> Result<OrderId>;
    /// `conversation` is the order's own.
    fn set_order_conversation(
        &mut self,
        order: OrderId,
        conversation: ConversationId,
    ) -> Result<()>;
    /// The conversations of `shop`'s open orders (waiting for payment,
    /// paid or shipped) that `account` is not a member of, newest order
    /// first, at most `limit`.
    fn order_conversations_to_join(
        &mut self,
        shop: ShopId,
        account: AccountId,
        limit: usize,
    ) -> Result<Vec<ConversationId>>;
    /// The conversations of `shop`'s orders, open or not, that `account`
    /// is a member of though it is not their buyer, at most `limit`.
    fn order_conversations_to_leave(
        &mut self,
        shop: ShopId,
        account: AccountId,
        limit: usize,
    ) -> Result<Vec<ConversationId>>;
    /// The order, its row locked for the rest of the transaction.
    fn order_for_update(&mut self, order: OrderId) -> Result<Option<StoredOrder>>;
    /// Writes `order` as the order's state, and of its refund requests
    /// those at `refunds` (new or changed; the others are as stored).
    fn save_order(
        &mut self,
        order: OrderId,
        state: &Order,
        refunds: &[RefundRequestIndex],
    ) -> Result<()>;
    /// Orders `due` names, oldest first, at most `limit`, each locked for
    /// the rest of the transaction (PostgreSQL may skip rows another
    /// transaction holds: a later sweep takes them).
    fn due_orders_for_update(&mut self, due: Due, limit: u32) -> Result<Vec<StoredOrder>>;
}

fn shop_of(read: &mut dyn Read, shop: ShopId) -> Result<Shop> {
    Ok(read.shop(shop)?.ok_or(Rejection::ShopNotFound)?)
}

/// The variants of `ids` that exist, by id, in one read (none for no
/// ids).
fn variants_by_id(
    read: &mut dyn Read,
    ids: &[VariantId],
) -> Result<std::collections::HashMap<VariantId, Variant>> {
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let found = read.variants(ids)?;
    Ok(found.into_iter().map(|v| (v.variant_id, v)).collect())
}

/// The products of `ids` that exist, by id, in one read (none for no
/// ids).
fn products_by_id(
    read: &mut dyn Read,
    ids: &[ProductId],
) -> Result<std::collections::HashMap<ProductId, Product>> {
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let found = read.products(ids)?;
    Ok(found.into_iter().map(|p| (p.product_id, p)).collect())
}

/// Shops read once each however many rows of a page name them.
#[derive(Default)]
struct Shops(std::collections::HashMap<ShopId, Shop>);

impl Shops {
    fn get(&mut self, read: &mut dyn Read, shop: ShopId) -> Result<Shop> {
        if let Some(found) = self.0.get(&shop) {
            return Ok(found.clone());
        }
        let found = shop_of(read, shop)?;
        self.0.insert(shop, found.clone());
        Ok(found)
    }
}

/// Whether `account` is `shop`'s owner or staff.
pub fn is_staff(read: &mut dyn Read, shop: &Shop, account: AccountId) -> Result<bool> {
    Ok(shop.owner == account || read.is_shop_staff(shop.shop_id, account)?)
}

/// `shop` if `account` manages it; `NotShopStaff` otherwise.
fn managed(read: &mut dyn Read, shop: ShopId, account: AccountId) -> Result<Shop> {
    let found = shop_of(read, shop)?;
    if !is_staff(read, &found, account)? {
        return Err(Rejection::NotShopStaff.into());
    }
    Ok(found)
}

/// Everyone an order's events go to: its buyer, the shop's owner and its
/// staff, each once; but a buyer or an owner erased since, whose log was
/// deleted with it (an erased account is no shop's staff).
fn order_audience(read: &mut dyn Read, shop: &Shop, buyer: AccountId) -> Result<Vec<AccountId>> {
    let mut audience = audience_of(shop, buyer, read.shop_staff(shop.shop_id)?);
    for maybe_gone in [buyer, shop.owner] {
        if read.is_erased(maybe_gone)? {
            audience.retain(|&account| account != maybe_gone);
        }
    }
    Ok(audience)
}

/// An order's audience of `staff` as read.
fn audience_of(shop: &Shop, buyer: AccountId, staff: Vec<AccountId>) -> Vec<AccountId> {
    let mut audience = staff;
    audience.extend([buyer, shop.owner]);
    audience.sort_unstable();
    audience.dedup();
    audience
}
