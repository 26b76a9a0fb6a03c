//! The bodies of shops: shops and their staff, products and variants,
//! the cart, and orders with their refund requests.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/v1/shops`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CreateShop {
    /// 3–32 of `a-z0-9_.`, unique among shops; its public page is
    /// `/s/{handle}`.
    pub handle: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// A picture the caller uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_media_id: Option<String>,
}

/// `POST /api/v1/orders/{id}/conversation`: the order's conversation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct OrderConversation {
    pub conversation_id: String,
}

/// `POST /api/v1/shops`: 201.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ShopCreated {
    pub shop_id: String,
}

/// A shop as lists and products show it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ShopSummary {
    pub shop_id: String,
    pub handle: String,
    pub name: String,
    pub description: String,
    pub logo_media_id: Option<String>,
    /// Its public page, `/s/{handle}`.
    pub url: String,
}

/// `GET /api/v1/shops/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ShopView {
    pub shop: ShopSummary,
    pub owner: String,
    pub created_at: String,
    /// The caller's role: `owner`, `staff` or `customer`.
    pub your_role: String,
    /// Its staff's account ids, shown to its owner and staff only.
    pub staff: Vec<String>,
    /// The merchant whose settlement account takes the shop's sales
    /// (`GET /api/v1/merchants/{id}` shows its balance to the owner);
    /// shown to its owner and staff only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
}

/// `GET /api/v1/me/shops`: the shops you own or are staff of.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ShopList {
    pub shops: Vec<ShopView>,
}

/// One variant to add with a product.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct NewVariant {
    /// Unique within the shop: 1–64 of letters, digits and `-_.`.
    pub sku: String,
    pub name: String,
    /// In the server's currency's minor units.
    pub price_minor: i64,
    /// Units available at first.
    pub stock: i64,
}

/// `POST /api/v1/shops/{id}/products`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CreateProduct {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Up to 9 pictures the caller uploaded, in the order shown.
    #[serde(default)]
    pub media_ids: Vec<String>,
    /// 1 to 100 variants.
    pub variants: Vec<NewVariant>,
}

/// A variant as a product shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct VariantView {
    pub variant_id: String,
    pub sku: String,
    pub name: String,
    pub price_minor: i64,
    pub currency: String,
    /// Units that may be ordered now.
    pub available: i64,
    /// Units held by unshipped orders; the shop's staff only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved: Option<i64>,
    /// Units shipped; the shop's staff only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sold: Option<i64>,
}

/// `POST /api/v1/shops/{id}/products`: 201.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ProductCreated {
    pub product_id: String,
    pub variants: Vec<VariantView>,
}

/// `GET /api/v1/products/{id}`, and each product of a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ProductView {
    pub product_id: String,
    pub shop: ShopSummary,
    pub title: String,
    pub description: String,
    pub media_ids: Vec<String>,
    /// Shown to buyers and orderable; an unlisted product is seen by its
    /// shop's staff only.
    pub listed: bool,
    pub created_at: String,
    pub updated_at: String,
    pub variants: Vec<VariantView>,
    /// Its public page, `/s/{handle}/{product_id}`.
    pub url: String,
}

/// `GET /api/v1/products?q=&shop_id=&cursor=`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ProductList {
    pub products: Vec<ProductView>,
    pub next_cursor: Option<String>,
}

/// `PATCH /api/v1/products/{id}`: what is given changes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PatchProduct {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed: Option<bool>,
}

/// `PATCH /api/v1/variants/{id}`: what is given changes. Stock is set
/// (`stock`) or moved (`stock_delta`), not both.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PatchVariant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_minor: Option<i64>,
    /// Units available from now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<i64>,
    /// Units to add to (or, negative, take from) what is available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock_delta: Option<i64>,
}

/// `PUT /api/v1/cart/items`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PutCartItem {
    pub variant_id: String,
    /// 0 takes the line out.
    pub quantity: u32,
}

/// One line of the cart, with the prices and stock of now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CartLine {
    pub variant_id: String,
    pub product_id: String,
    pub shop: ShopSummary,
    pub title: String,
    pub variant_name: String,
    pub quantity: u32,
    pub price_minor: i64,
    /// The price when the line was added.
    pub price_when_added_minor: i64,
    pub price_changed: bool,
    /// Units available now.
    pub available: i64,
    /// Listed and at least `quantity` available: it can be ordered now.
    pub orderable: bool,
    pub line_total_minor: i64,
}

/// `GET /api/v1/cart`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CartView {
    pub lines: Vec<CartLine>,
    pub total_minor: i64,
    pub currency: String,
}

/// Where an order goes. `name`, `line1`, `city` and `country` are
/// required; each line is at most 200 characters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ShippingAddress {
    pub name: String,
    #[serde(default)]
    pub phone: String,
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    pub city: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub postal_code: String,
    pub country: String,
}

/// One line of an order to place.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct OrderItemRequest {
    pub variant_id: String,
    /// 1 to 999.
    pub quantity: u32,
}

/// `POST /api/v1/orders`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PlaceOrder {
    pub shop_id: String,
    /// 1 to 100 variants of that shop, each once.
    pub items: Vec<OrderItemRequest>,
    pub shipping_address: ShippingAddress,
}

/// `POST /api/v1/orders/{id}/pay`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PayOrder {
    /// The payment PIN, six digits.
    pub pin: String,
}

/// `POST /api/v1/orders/{id}/ship`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ShipOrder {
    pub carrier: String,
    pub tracking: String,
}

/// `POST /api/v1/orders/{id}/refund-requests`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RequestRefund {
    pub amount_minor: i64,
    pub reason: String,
}

/// One line of an order, at the price it was placed at.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct OrderItemView {
    pub variant_id: String,
    pub product_id: String,
    pub title: String,
    pub variant_name: String,
    pub sku: String,
    pub quantity: u32,
    pub unit_price_minor: i64,
    pub line_total_minor: i64,
}

/// One refund request of an order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RefundRequestView {
    /// Its number within the order, from 0: the `{n}` of its approve and
    /// reject paths.
    pub index: u32,
    pub amount_minor: i64,
    pub reason: String,
    /// `requested`, `approved`, `rejected`, or `superseded` (the order
    /// was cancelled, which refunded everything).
    pub status: String,
    pub requested_at: String,
    pub decided_at: Option<String>,
}

/// An order, as its buyer and its shop's staff see it; also the answer to
/// `POST /api/v1/orders` (201) and to every move of it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct OrderView {
    pub order_id: String,
    /// `pending_payment`, `paid`, `shipped`, `completed` or `cancelled`.
    pub status: String,
    pub total_minor: i64,
    pub currency: String,
    /// Until when it may be paid (then it is cancelled and its stock
    /// released).
    pub pay_by: String,
    pub shop: ShopSummary,
    pub buyer: String,
    /// The order's own conversation (kind `order`) between its buyer and
    /// the shop's owner and staff, once either side has opened it (`POST
    /// /api/v1/orders/{id}/conversation`): read and send in it as in any
    /// conversation (`/api/v1/conversations/{id}/…`). Absent until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// `buyer` or `shop`: which side of the order the caller is.
    pub your_role: String,
    pub items: Vec<OrderItemView>,
    pub shipping_address: ShippingAddress,
    pub placed_at: String,
    pub paid_at: Option<String>,
    pub shipped_at: Option<String>,
    pub carrier: Option<String>,
    pub tracking: Option<String>,
    pub completed_at: Option<String>,
    /// `buyer`, or `auto` after the confirmation delay.
    pub confirmed_by: Option<String>,
    /// When the order will be confirmed for the buyer, if shipped.
    pub auto_confirm_at: Option<String>,
    pub cancelled_at: Option<String>,
    /// `buyer`, `shop` or `expiry`.
    pub cancelled_by: Option<String>,
    /// Money given back so far, in all.
    pub refunded_minor: i64,
    /// Money held for the shop until the buyer confirms.
    pub escrow_minor: i64,
    pub refund_requests: Vec<RefundRequestView>,
}

/// `GET /api/v1/orders?role=&status=&cursor=`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct OrderList {
    pub orders: Vec<OrderView>,
    pub next_cursor: Option<String>,
}
