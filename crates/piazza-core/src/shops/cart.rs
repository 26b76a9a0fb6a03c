//! Each account's cart: lines of variants with a quantity, shown with
//! the prices and stock of now and what changed since each was added.
//! A cart reserves nothing; placing an order does.

use piazza_domain::order::ORDER_ITEM_QUANTITY_MAX;
use piazza_domain::shop;
use piazza_domain::store::StoreResult;
use piazza_domain::{AccountId, Rejection, VariantId};

use super::{CartItem, Product, Shop, Shops, Variant};
use crate::Core;
use crate::engine::{Read, Result, Tx};

/// One line of a cart as its owner sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub item: CartItem,
    pub variant: Variant,
    pub product: Product,
    pub shop: Shop,
    /// The product is listed and at least the quantity is available.
    pub available: bool,
    /// The price now differs from the one when the line was added.
    pub price_changed: bool,
}

/// A cart: its lines, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartView {
    pub lines: Vec<CartLine>,
}

/// `account` puts `quantity` of `variant` in its cart (0 takes the line
/// out). Only a listed product's variant goes in.
pub fn put_item(
    tx: &mut dyn Tx,
    account: AccountId,
    variant: VariantId,
    quantity: u32,
) -> Result<CartView> {
    if quantity == 0 {
        tx.delete_cart_items(account, &[variant])?;
        return cart(tx.reads(), account);
    }
    if quantity > ORDER_ITEM_QUANTITY_MAX {
        return Err(
            Rejection::Order(piazza_domain::order::OrderError::InvalidQuantity { quantity }).into(),
        );
    }
    let found = tx
        .reads()
        .variant(variant)?
        .ok_or(Rejection::VariantNotFound)?;
    let listed = tx
        .reads()
        .product(found.product_id)?
        .is_some_and(|product| product.listed);
    if !listed {
        return Err(Rejection::VariantNotFound.into());
    }
    let lines = tx.cart_lines_for_update(account)?;
    let present = tx
        .reads()
        .cart_items(account)?
        .iter()
        .any(|item| item.variant_id == variant);
    if !present && lines >= shop::CART_ITEMS_MAX {
        return Err(Rejection::TooMany {
            what: "lines in a cart",
            max: shop::CART_ITEMS_MAX,
        }
        .into());
    }
    let now = tx.now();
    tx.put_cart_item(account, variant, quantity, found.price, now)?;
    cart(tx.reads(), account)
}

/// `account`'s cart with the prices and stock of now: its variants and
/// their products read in one query each, whatever the cart holds.
pub fn cart(read: &mut dyn Read, account: AccountId) -> Result<CartView> {
    let items = read.cart_items(account)?;
    let ids: Vec<VariantId> = items.iter().map(|item| item.variant_id).collect();
    let variants = super::variants_by_id(read, &ids)?;
    let product_ids: Vec<_> = variants
        .values()
        .map(|variant| variant.product_id)
        .collect();
    let products = super::products_by_id(read, &product_ids)?;
    let mut shops = Shops::default();
    let mut lines = Vec::with_capacity(items.len());
    for item in items {
        // A variant's row is never deleted, nor its product or shop.
        let Some(variant) = variants.get(&item.variant_id).cloned() else {
            continue;
        };
        let Some(product) = products.get(&variant.product_id).cloned() else {
            continue;
        };
        let shop = shops.get(read, variant.shop_id)?;
        lines.push(CartLine {
            available: product.listed && variant.available >= i64::from(item.quantity),
            price_changed: variant.price != item.price_when_added,
            item,
            variant,
            product,
            shop,
        });
    }
    Ok(CartView { lines })
}

impl Core {
    pub async fn put_cart_item(
        &self,
        account: AccountId,
        variant: VariantId,
        quantity: u32,
    ) -> StoreResult<CartView> {
        self.write(move |tx| put_item(tx, account, variant, quantity))
            .await
    }

    pub async fn cart(&self, account: AccountId) -> StoreResult<CartView> {
        self.read(move |read| cart(read, account)).await
    }
}
