//! Shops: the SQL behind `piazza_core::shops`. On a writer, what placing
//! and moving an order reads and writes — the shop and its staff, the
//! variants and their products, the order, its stock moves, the cart
//! lines it empties — goes through the batch (`batch/shops.rs`); every
//! other statement runs its job direct (`conn.rs`).
//!
//! Stock is never oversold, whatever the number of writers and processes:
//! every change of a variant's counts is one conditional `UPDATE` of its
//! row (`move_stock`, `add_available`), which PostgreSQL evaluates on the
//! row's latest committed version under the row's lock, and the table's
//! CHECKs refuse any count below zero besides. Nothing here reads stock
//! in order to write it.
//!
//! Locking: opening a shop and filling a cart count the account's shops
//! or lines under the account's row (`FOR NO KEY UPDATE`, as its log
//! entries lock it), adding a product counts the shop's under the shop's
//! row, so two at once cannot both pass a cap. An order is moved under
//! its row's lock (`FOR UPDATE`); the sweeper takes due orders `FOR
//! UPDATE SKIP LOCKED`, so an order someone is moving is left to a later
//! sweep. Each count, and an order locked, is read by a statement of its
//! own *after* the lock: under READ COMMITTED a statement that waited for
//! a row sees that row's newest version but every other table as of its
//! own start, which could miss what the transaction it waited for wrote
//! (a product added, a refund requested).
//!
//! Orders' rows, read and written, are `orders.rs`'s.

pub(crate) mod orders;
#[cfg(test)]
mod tests;

use piazza_core::Result;
use piazza_core::shops::{
    CartItem, Due, NewOrder, NewProduct, NewShop, NewVariant, OrderSide, Product, ProductPatch,
    ProductQuery, Reads, Shop, StoredOrder, Variant, VariantPatch, Writes,
};
use piazza_domain::money::AmountMinor;
use piazza_domain::order::{Order, OrderStatus, RefundRequestIndex, StockMove, StockMoveKind};
use piazza_domain::shop::{Handle, STOCK_MAX, Sku};
use piazza_domain::{
    AccountId, ConversationId, MediaId, MerchantId, OrderId, ProductId, ShopId, Timestamp,
    VariantId,
};
use postgres::Row;

use crate::channels::{len, like_pattern};
use crate::conn::corrupt;
use crate::{Db, PgTx};

pub(crate) use orders::rebuilt_after;

macro_rules! shop_columns {
    () => {
        "id, owner_id, handle, name, description, logo_media_id, merchant_id, created_at"
    };
}

/// A product's columns, of `products p`, its pictures in order last.
macro_rules! product_columns {
    () => {
        "p.id, p.shop_id, p.title, p.description, p.listed, p.created_at, p.updated_at, \
         ARRAY(SELECT m.media_id FROM product_media m WHERE m.product_id = p.id \
               ORDER BY m.position)"
    };
}

macro_rules! variant_columns {
    () => {
        "id, product_id, shop_id, sku, name, price_minor, available, reserved, sold"
    };
}

pub(crate) use {shop_columns, variant_columns};

/// Products whose ids are in `$1`: a reader's, and a writer's batch's.
pub(crate) const PRODUCTS_BY_ID: &str = concat!(
    "SELECT ",
    product_columns!(),
    " FROM products p WHERE p.id = ANY($1)"
);

/// A product's filters after its shop's, `$1` … `$4`: below `before`,
/// listed only when asked, holding the needle's pattern (NULL: any),
/// newest first, at most `limit`. SQLite's lower() folds ASCII letters
/// only; so does `translate` here, as channels' search does.
macro_rules! product_filter {
    () => {
        "p.id < $1 AND (p.listed OR NOT $2)
         AND ($3::TEXT IS NULL
              OR translate(p.title, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
                 LIKE $3
              OR translate(p.description, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
                           'abcdefghijklmnopqrstuvwxyz') LIKE $3)
         ORDER BY p.id DESC LIMIT $4"
    };
}

/// What is wrong with a stored row, for [`Error::Corrupt`].
type Broken = String;

fn time(unix_ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(unix_ms)
}

fn positive(minor: i64, what: &str) -> std::result::Result<AmountMinor, Broken> {
    AmountMinor::positive(minor).map_err(|_| format!("{what} {minor}"))
}

pub(crate) fn shop_from_row(row: &Row) -> Shop {
    Shop {
        shop_id: ShopId::from_row(row.get(0)),
        owner: AccountId::from_row(row.get(1)),
        handle: Handle::from_store(row.get(2)),
        name: row.get(3),
        description: row.get(4),
        logo: row.get::<_, Option<i64>>(5).map(MediaId::from_row),
        merchant: MerchantId::from_row(row.get(6)),
        created_at: time(row.get(7)),
    }
}

pub(crate) fn product_from_row(row: &Row) -> Product {
    let media: Vec<i64> = row.get(7);
    Product {
        product_id: ProductId::from_row(row.get(0)),
        shop_id: ShopId::from_row(row.get(1)),
        title: row.get(2),
        description: row.get(3),
        media: media.into_iter().map(MediaId::from_row).collect(),
        listed: row.get(4),
        created_at: time(row.get(5)),
        updated_at: time(row.get(6)),
    }
}

pub(crate) fn variant_from_row(row: &Row) -> Result<Variant> {
    let variant_id = VariantId::from_row(row.get(0));
    let price = row.get(5);
    Ok(Variant {
        variant_id,
        product_id: ProductId::from_row(row.get(1)),
        shop_id: ShopId::from_row(row.get(2)),
        sku: Sku::from_store(row.get(3)),
        name: row.get(4),
        price: positive(price, "price").map_err(|what| corrupt(format!("{variant_id}: {what}")))?,
        available: row.get(6),
        reserved: row.get(7),
        sold: row.get(8),
    })
}

/// A cart line of `variant_id, quantity, price_minor_when_added,
/// added_at`.
fn cart_item_from_row(row: &Row) -> Result<CartItem> {
    let variant_id = VariantId::from_row(row.get(0));
    let broken = |what: String| corrupt(format!("cart line of {variant_id}: {what}"));
    let quantity: i64 = row.get(1);
    Ok(CartItem {
        variant_id,
        quantity: u32::try_from(quantity).map_err(|_| broken(format!("quantity {quantity}")))?,
        price_when_added: positive(row.get(2), "price").map_err(broken)?,
        added_at: time(row.get(3)),
    })
}

impl Reads for Db<'_> {
    fn shop(&mut self, shop: ShopId) -> Result<Option<Shop>> {
        if self.0.batch.is_some() {
            return self.0.shop_cached(shop);
        }
        let row = self.0.query_opt(
            concat!("SELECT ", shop_columns!(), " FROM shops WHERE id = $1"),
            &[&shop.row()],
        )?;
        Ok(row.as_ref().map(shop_from_row))
    }

    fn shop_by_handle(&mut self, handle: &Handle) -> Result<Option<Shop>> {
        let row = self.0.query_opt(
            concat!("SELECT ", shop_columns!(), " FROM shops WHERE handle = $1"),
            &[&handle.as_str()],
        )?;
        Ok(row.as_ref().map(shop_from_row))
    }

    fn managed_shops(&mut self, account: AccountId, limit: usize) -> Result<Vec<Shop>> {
        let rows = self.0.query(
            concat!(
                "SELECT ",
                shop_columns!(),
                " FROM shops
                 WHERE id IN (SELECT id FROM shops WHERE owner_id = $1
                              UNION SELECT shop_id FROM shop_staff WHERE account_id = $1)
                 ORDER BY id LIMIT $2"
            ),
            &[&account.row(), &(limit as i64)],
        )?;
        Ok(rows.iter().map(shop_from_row).collect())
    }

    fn is_shop_staff(&mut self, shop: ShopId, account: AccountId) -> Result<bool> {
        if self.0.batch.is_some() {
            return Ok(self.0.staff_cached(shop)?.contains(&account));
        }
        let row = self.0.query_opt(
            "SELECT 1 FROM shop_staff WHERE shop_id = $1 AND account_id = $2",
            &[&shop.row(), &account.row()],
        )?;
        Ok(row.is_some())
    }

    fn shop_staff(&mut self, shop: ShopId) -> Result<Vec<AccountId>> {
        if self.0.batch.is_some() {
            return self.0.staff_cached(shop);
        }
        let rows = self.0.query(
            "SELECT account_id FROM shop_staff WHERE shop_id = $1 ORDER BY added_at, account_id",
            &[&shop.row()],
        )?;
        Ok(rows
            .iter()
            .map(|row| AccountId::from_row(row.get(0)))
            .collect())
    }

    fn product(&mut self, product: ProductId) -> Result<Option<Product>> {
        if self.0.batch.is_some() {
            return Ok(self.0.products_cached(&[product.row()])?.pop());
        }
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                product_columns!(),
                " FROM products p WHERE p.id = $1"
            ),
            &[&product.row()],
        )?;
        Ok(row.as_ref().map(product_from_row))
    }

    fn variants_of(&mut self, products: &[ProductId]) -> Result<Vec<Variant>> {
        let ids: Vec<i64> = products.iter().map(|product| product.row()).collect();
        let rows = self.0.query(
            concat!(
                "SELECT ",
                variant_columns!(),
                " FROM variants WHERE product_id = ANY($1) ORDER BY product_id, id"
            ),
            &[&ids],
        )?;
        rows.iter().map(variant_from_row).collect()
    }

    /// On a writer, through the batch (locked only if a job locked it).
    fn variants(&mut self, variants: &[VariantId]) -> Result<Vec<Variant>> {
        if self.0.batch.is_some() {
            return self.0.variants_cached(variants, false);
        }
        let ids: Vec<i64> = variants.iter().map(|variant| variant.row()).collect();
        let rows = self.0.query(
            concat!(
                "SELECT ",
                variant_columns!(),
                " FROM variants WHERE id = ANY($1)"
            ),
            &[&ids],
        )?;
        rows.iter().map(variant_from_row).collect()
    }

    fn products(&mut self, products: &[ProductId]) -> Result<Vec<Product>> {
        let ids: Vec<i64> = products.iter().map(|product| product.row()).collect();
        if self.0.batch.is_some() {
            return self.0.products_cached(&ids);
        }
        let rows = self.0.query(PRODUCTS_BY_ID, &[&ids])?;
        Ok(rows.iter().map(product_from_row).collect())
    }

    /// On a writer, through the batch (locked only if a job locked it).
    fn variant(&mut self, variant: VariantId) -> Result<Option<Variant>> {
        if self.0.batch.is_some() {
            return Ok(self.0.variants_cached(&[variant], false)?.pop());
        }
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                variant_columns!(),
                " FROM variants WHERE id = $1"
            ),
            &[&variant.row()],
        )?;
        row.as_ref().map(variant_from_row).transpose()
    }

    /// A shop's products from its (shop_id, id) index; all products from
    /// the primary key, newest first. Two statements rather than one with
    /// `$n IS NULL OR`, whose generic plan could not use the shop's index.
    fn find_products(&mut self, query: &ProductQuery) -> Result<Vec<Product>> {
        let before = query.before.map_or(i64::MAX, ProductId::row);
        let pattern = (!query.needle.is_empty()).then(|| like_pattern(&query.needle));
        let limit = query.limit as i64;
        let rows = match query.shop {
            Some(shop) => self.0.query(
                concat!(
                    "SELECT ",
                    product_columns!(),
                    " FROM products p WHERE p.shop_id = $5 AND ",
                    product_filter!()
                ),
                &[&before, &query.listed_only, &pattern, &limit, &shop.row()],
            )?,
            None => self.0.query(
                concat!(
                    "SELECT ",
                    product_columns!(),
                    " FROM products p WHERE ",
                    product_filter!()
                ),
                &[&before, &query.listed_only, &pattern, &limit],
            )?,
        };
        Ok(rows.iter().map(product_from_row).collect())
    }

    fn cart_items(&mut self, account: AccountId) -> Result<Vec<CartItem>> {
        let rows = self.0.query(
            "SELECT variant_id, quantity, price_minor_when_added, added_at FROM cart_items
             WHERE account_id = $1 ORDER BY added_at, variant_id",
            &[&account.row()],
        )?;
        rows.iter().map(cart_item_from_row).collect()
    }

    fn order_shop(&mut self, order: OrderId) -> Result<Option<ShopId>> {
        let row = self
            .0
            .query_opt("SELECT shop_id FROM orders WHERE id = $1", &[&order.row()])?;
        Ok(row.map(|row| ShopId::from_row(row.get(0))))
    }

    fn order(&mut self, order: OrderId) -> Result<Option<StoredOrder>> {
        if self.0.batch.is_some()
            && let Some(cached) = self.0.order_if_cached(order)
        {
            return Ok(Some(cached));
        }
        orders::order(self.0, order)
    }

    fn orders(
        &mut self,
        side: OrderSide,
        status: Option<OrderStatus>,
        before: Option<OrderId>,
        limit: usize,
    ) -> Result<Vec<StoredOrder>> {
        orders::orders(self.0, side, status, before, limit)
    }

    fn is_shop_media(&mut self, media: MediaId) -> Result<bool> {
        let row = self.0.query_one(
            "SELECT EXISTS (SELECT 1 FROM shops WHERE logo_media_id = $1)
                 OR EXISTS (SELECT 1 FROM product_media m JOIN products p ON p.id = m.product_id
                            WHERE m.media_id = $1 AND p.listed)",
            &[&media.row()],
        )?;
        Ok(row.get(0))
    }
}

impl PgTx<'_> {
    /// Locks `account`'s row as an append to its log would, so that a
    /// count read after it cannot change until this transaction ends.
    fn lock_account(&mut self, account: AccountId) -> Result<()> {
        self.conn().query_opt(
            "SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE",
            &[&account.row()],
        )?;
        Ok(())
    }

    /// Locks `shop`'s row, then answers `count` (a count of its rows of
    /// one kind): no concurrent add to the shop counts meanwhile.
    fn count_under_shop(&mut self, shop: ShopId, count: &'static str) -> Result<usize> {
        self.conn().query_opt(
            "SELECT 1 FROM shops WHERE id = $1 FOR NO KEY UPDATE",
            &[&shop.row()],
        )?;
        let row = self.conn().query_one(count, &[&shop.row()])?;
        Ok(len(row.get(0)))
    }
}

impl Writes for PgTx<'_> {
    fn owned_shops_for_update(&mut self, owner: AccountId) -> Result<usize> {
        self.lock_account(owner)?;
        let row = self.conn().query_one(
            "SELECT COUNT(*) FROM shops WHERE owner_id = $1",
            &[&owner.row()],
        )?;
        Ok(len(row.get(0)))
    }

    fn insert_shop(
        &mut self,
        owner: AccountId,
        shop: &NewShop,
        merchant: MerchantId,
        at: Timestamp,
    ) -> Result<Option<ShopId>> {
        let row = self.conn().query_opt(
            "INSERT INTO shops (owner_id, handle, name, description, logo_media_id, merchant_id,
                                created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (handle) DO NOTHING RETURNING id",
            &[
                &owner.row(),
                &shop.handle.as_str(),
                &shop.name.as_str(),
                &shop.description.as_str(),
                &shop.logo.map(MediaId::row),
                &merchant.row(),
                &at.unix_ms(),
            ],
        )?;
        Ok(row.map(|row| ShopId::from_row(row.get(0))))
    }

    fn insert_shop_staff(
        &mut self,
        shop: ShopId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self.conn().execute(
            "INSERT INTO shop_staff (shop_id, account_id, added_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&shop.row(), &account.row(), &at.unix_ms()],
        )?;
        Ok(inserted == 1)
    }

    fn delete_shop_staff(&mut self, shop: ShopId, account: AccountId) -> Result<bool> {
        let deleted = self.conn().execute(
            "DELETE FROM shop_staff WHERE shop_id = $1 AND account_id = $2",
            &[&shop.row(), &account.row()],
        )?;
        Ok(deleted == 1)
    }

    fn staff_for_update(&mut self, shop: ShopId) -> Result<usize> {
        self.count_under_shop(shop, "SELECT COUNT(*) FROM shop_staff WHERE shop_id = $1")
    }

    fn products_for_update(&mut self, shop: ShopId) -> Result<usize> {
        self.count_under_shop(shop, "SELECT COUNT(*) FROM products WHERE shop_id = $1")
    }

    fn insert_product(
        &mut self,
        shop: ShopId,
        product: &NewProduct,
        at: Timestamp,
    ) -> Result<ProductId> {
        let media: Vec<i64> = product.media.iter().map(|media| media.row()).collect();
        let row = self.conn().query_one(
            "WITH product AS (
                 INSERT INTO products (shop_id, title, description, listed, created_at, updated_at)
                 VALUES ($1, $2, $3, TRUE, $4, $4) RETURNING id),
             pictures AS (
                 INSERT INTO product_media (product_id, position, media_id)
                 SELECT product.id, m.position - 1, m.media_id
                 FROM product, unnest($5::BIGINT[]) WITH ORDINALITY AS m(media_id, position))
             SELECT id FROM product",
            &[
                &shop.row(),
                &product.title.as_str(),
                &product.description.as_str(),
                &at.unix_ms(),
                &media,
            ],
        )?;
        Ok(ProductId::from_row(row.get(0)))
    }

    fn insert_variant(
        &mut self,
        shop: ShopId,
        product: ProductId,
        variant: &NewVariant,
    ) -> Result<Option<VariantId>> {
        let row = self.conn().query_opt(
            "INSERT INTO variants (product_id, shop_id, sku, name, price_minor, available,
                                   reserved, sold)
             VALUES ($1, $2, $3, $4, $5, $6, 0, 0)
             ON CONFLICT (shop_id, sku) DO NOTHING RETURNING id",
            &[
                &product.row(),
                &shop.row(),
                &variant.sku.as_str(),
                &variant.name.as_str(),
                &variant.price.get(),
                &variant.stock,
            ],
        )?;
        Ok(row.map(|row| VariantId::from_row(row.get(0))))
    }

    fn update_product(
        &mut self,
        product: ProductId,
        patch: &ProductPatch,
        at: Timestamp,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE products SET title = COALESCE($2, title),
                                 description = COALESCE($3, description),
                                 listed = COALESCE($4, listed), updated_at = $5
             WHERE id = $1",
            &[
                &product.row(),
                &patch.title.as_ref().map(|title| title.as_str()),
                &patch.description.as_ref().map(|text| text.as_str()),
                &patch.listed,
                &at.unix_ms(),
            ],
        )?;
        let Some(media) = &patch.media else {
            return Ok(());
        };
        // The positions kept are overwritten and those past the new end
        // deleted: two sets of rows, so one statement may do both.
        let media: Vec<i64> = media.iter().map(|media| media.row()).collect();
        self.conn().execute(
            "WITH trimmed AS (
                 DELETE FROM product_media
                 WHERE product_id = $1 AND position >= cardinality($2::BIGINT[]))
             INSERT INTO product_media (product_id, position, media_id)
             SELECT $1, m.position - 1, m.media_id
             FROM unnest($2::BIGINT[]) WITH ORDINALITY AS m(media_id, position)
             ON CONFLICT (product_id, position) DO UPDATE SET media_id = EXCLUDED.media_id",
            &[&product.row(), &media],
        )?;
        Ok(())
    }

    fn variants_for_update(&mut self, variants: &[VariantId]) -> Result<Vec<Variant>> {
        self.conn().variants_cached(variants, true)
    }

    fn variant_for_update(&mut self, variant: VariantId) -> Result<Option<Variant>> {
        // NO KEY: the lock an update of its counts takes, which leaves
        // orders and carts free to name the variant meanwhile.
        let row = self.conn().query_opt(
            concat!(
                "SELECT ",
                variant_columns!(),
                " FROM variants WHERE id = $1 FOR NO KEY UPDATE"
            ),
            &[&variant.row()],
        )?;
        row.as_ref().map(variant_from_row).transpose()
    }

    fn update_variant(&mut self, variant: VariantId, patch: &VariantPatch) -> Result<()> {
        if patch.name.is_none() && patch.price.is_none() {
            return Ok(());
        }
        self.conn().execute(
            "UPDATE variants SET name = COALESCE($2, name), price_minor = COALESCE($3, price_minor)
             WHERE id = $1",
            &[
                &variant.row(),
                &patch.name.as_ref().map(|name| name.as_str()),
                &patch.price.map(AmountMinor::get),
            ],
        )?;
        Ok(())
    }

    fn add_available(&mut self, variant: VariantId, delta: i64) -> Result<Option<i64>> {
        let row = self.conn().query_opt(
            "UPDATE variants SET available = available + $2
             WHERE id = $1 AND available + $2 BETWEEN 0 AND $3 RETURNING available",
            &[&variant.row(), &delta, &STOCK_MAX],
        )?;
        Ok(row.map(|row| row.get(0)))
    }

    /// One conditional `UPDATE`: PostgreSQL re-evaluates its condition on
    /// the row's newest version once it holds the row, so two
    /// reservations from any two transactions never take the same units.
    fn move_stock(&mut self, stock: &StockMove) -> Result<bool> {
        let sql = match stock.kind {
            StockMoveKind::Reserve => {
                "UPDATE variants SET available = available - $2, reserved = reserved + $2
                 WHERE id = $1 AND available >= $2"
            }
            StockMoveKind::Release => {
                "UPDATE variants SET reserved = reserved - $2, available = available + $2
                 WHERE id = $1 AND reserved >= $2"
            }
            StockMoveKind::Sell => {
                "UPDATE variants SET reserved = reserved - $2, sold = sold + $2
                 WHERE id = $1 AND reserved >= $2"
            }
        };
        if self.conn().batch.is_some() {
            return self.conn().move_stock_cached(stock);
        }
        let quantity = i64::from(stock.quantity);
        let changed = self
            .conn()
            .execute(sql, &[&stock.variant.row(), &quantity])?;
        Ok(changed == 1)
    }

    fn put_cart_item(
        &mut self,
        account: AccountId,
        variant: VariantId,
        quantity: u32,
        price: AmountMinor,
        at: Timestamp,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO cart_items (account_id, variant_id, quantity, price_minor_when_added,
                                     added_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (account_id, variant_id) DO UPDATE SET quantity = EXCLUDED.quantity",
            &[
                &account.row(),
                &variant.row(),
                &i64::from(quantity),
                &price.get(),
                &at.unix_ms(),
            ],
        )?;
        Ok(())
    }

    fn delete_cart_items(&mut self, account: AccountId, variants: &[VariantId]) -> Result<()> {
        if variants.is_empty() {
            return Ok(());
        }
        if self.conn().batch.is_some() {
            self.conn().delete_cart_cached(account, variants);
            return Ok(());
        }
        let variants: Vec<i64> = variants.iter().map(|variant| variant.row()).collect();
        self.conn().execute(
            "DELETE FROM cart_items WHERE account_id = $1 AND variant_id = ANY($2)",
            &[&account.row(), &variants],
        )?;
        Ok(())
    }

    fn cart_lines_for_update(&mut self, account: AccountId) -> Result<usize> {
        self.lock_account(account)?;
        let row = self.conn().query_one(
            "SELECT COUNT(*) FROM cart_items WHERE account_id = $1",
            &[&account.row()],
        )?;
        Ok(len(row.get(0)))
    }

    fn insert_order(&mut self, new: &NewOrder<'_>) -> Result<OrderId> {
        if self.conn().batch.is_some() {
            return self.conn().insert_order_cached(new);
        }
        orders::insert(self.conn(), new)
    }

    fn order_for_update(&mut self, order: OrderId) -> Result<Option<StoredOrder>> {
        if self.conn().batch.is_some() {
            return self.conn().order_locked(order);
        }
        orders::for_update(self.conn(), order)
    }

    fn save_order(
        &mut self,
        order: OrderId,
        state: &Order,
        refunds: &[RefundRequestIndex],
    ) -> Result<()> {
        // Refund requests are rare: their rows are written by a statement
        // of the job's own, after the flush.
        if self.conn().batch.is_some() && refunds.is_empty() {
            return self.conn().save_order_cached(order, state);
        }
        orders::save(self.conn(), order, state, refunds)
    }

    fn due_orders_for_update(&mut self, due: Due, limit: u32) -> Result<Vec<StoredOrder>> {
        orders::due_for_update(self.conn(), due, limit)
    }

    fn set_order_conversation(
        &mut self,
        order: OrderId,
        conversation: ConversationId,
    ) -> Result<()> {
        orders::set_conversation(self.conn(), order, conversation)
    }

    fn order_conversations_to_join(
        &mut self,
        shop: ShopId,
        account: AccountId,
        limit: usize,
    ) -> Result<Vec<ConversationId>> {
        orders::conversations_to_join(self.conn(), shop, account, limit)
    }

    fn order_conversations_to_leave(
        &mut self,
        shop: ShopId,
        account: AccountId,
        limit: usize,
    ) -> Result<Vec<ConversationId>> {
        orders::conversations_to_leave(self.conn(), shop, account, limit)
    }
}
