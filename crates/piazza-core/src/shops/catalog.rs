//! Shops, their staff, products and variants: opening a shop, naming
//! staff, adding and changing products, prices and stock, and what a
//! buyer or the shop's staff sees of them.

use piazza_domain::shop::{self, Handle};
use piazza_domain::store::{Page, StoreResult};
use piazza_domain::{AccountId, MediaId, ProductId, Rejection, ShopId, VariantId};

use std::collections::HashMap;

use super::{
    NewProduct, NewShop, Product, ProductPatch, ProductQuery, Shop, Shops, StockChange, Variant,
    VariantPatch, is_staff, managed, shop_of,
};
use crate::Core;
use crate::accounts::page;
use crate::channels::own_picture;
use crate::chat::conversations::{join_order_conversation, leave_order_conversation};
use crate::engine::{Error, Read, Result, Tx};
use crate::media::{Reading, Served};
use crate::search::{
    self,
    documents::{DocKind, DocText},
};

/// A shop as one account sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopView {
    pub shop: Shop,
    /// The viewer owns it or is its staff.
    pub manages: bool,
    /// Its staff, shown to those who manage it only (empty otherwise).
    pub staff: Vec<AccountId>,
}

/// A product with its variants, as one account sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductView {
    pub product: Product,
    pub shop: Shop,
    pub variants: Vec<Variant>,
}

/// `owner` opens a shop, with a merchant of the same name for its
/// takings; its handle must be no other shop's.
pub fn create_shop(tx: &mut dyn Tx, owner: AccountId, new: &NewShop) -> Result<ShopId> {
    if tx.owned_shops_for_update(owner)? >= shop::SHOPS_PER_OWNER_MAX {
        return Err(Rejection::TooMany {
            what: "shops",
            max: shop::SHOPS_PER_OWNER_MAX,
        }
        .into());
    }
    if let Some(logo) = new.logo {
        own_picture(tx.reads(), owner, logo, "shop logo")?;
    }
    let now = tx.now();
    let merchant = tx.insert_merchant(owner, new.name.as_str(), "", now)?;
    Ok(tx
        .insert_shop(owner, new, merchant, now)?
        .ok_or(Rejection::ShopHandleTaken)?)
}

pub fn shop_view(read: &mut dyn Read, viewer: AccountId, shop: ShopId) -> Result<ShopView> {
    let found = shop_of(read, shop)?;
    let manages = is_staff(read, &found, viewer)?;
    let staff = if manages {
        read.shop_staff(shop)?
    } else {
        Vec::new()
    };
    Ok(ShopView {
        shop: found,
        manages,
        staff,
    })
}

/// The shops `account` owns or is staff of, each as it sees it, oldest
/// first: what a new device shows as "my shops".
pub fn my_shops(read: &mut dyn Read, account: AccountId) -> Result<Vec<ShopView>> {
    let found = read.managed_shops(account, shop::MANAGED_SHOPS_MAX)?;
    let mut views = Vec::with_capacity(found.len());
    for shop in found {
        views.push(ShopView {
            staff: read.shop_staff(shop.shop_id)?,
            shop,
            manages: true,
        });
    }
    Ok(views)
}

/// The owner names `member` staff of `shop` (`on`) or no longer. Staff is
/// one of the owner's contacts, with no block either way; anyone else is
/// `AccountNotFound`, as an id no account has.
pub fn set_staff(
    tx: &mut dyn Tx,
    actor: AccountId,
    shop: ShopId,
    member: AccountId,
    on: bool,
) -> Result<()> {
    let found = shop_of(tx.reads(), shop)?;
    if found.owner != actor {
        return Err(Rejection::NotShopOwner.into());
    }
    if member == actor {
        return Err(Rejection::SelfTarget.into());
    }
    if !on {
        tx.delete_shop_staff(shop, member)?;
        return Ok(());
    }
    crate::contacts::trusted_contact(tx.reads(), actor, member)?;
    if tx.reads().is_shop_staff(shop, member)? {
        return Ok(());
    }
    if tx.staff_for_update(shop)? >= shop::STAFF_PER_SHOP_MAX {
        return Err(Rejection::TooMany {
            what: "staff per shop",
            max: shop::STAFF_PER_SHOP_MAX,
        }
        .into());
    }
    let now = tx.now();
    tx.insert_shop_staff(shop, member, now)?;
    Ok(())
}

/// Order conversations one step of [`staff_conversations_step`] moves
/// `member` into or out of: each is a few log entries per member, so a
/// shop with many orders is caught up in several short jobs rather than
/// one long one.
pub const STAFF_CONVERSATIONS_PER_STEP: usize = 100;

/// One step of bringing `member`'s place in `shop`'s order conversations
/// in line with what it is to the shop now: staff (the owner included)
/// join the conversations of the open orders (waiting for payment, paid
/// or shipped) they are not in; anyone else leaves those of the shop's
/// orders it is in but did not buy. At most `limit`; answers how many it
/// moved, so the caller runs it until it answers fewer. Each step reads
/// the staff as they are then: a naming and a removal racing end as the
/// later one left it, and a step cut short by a crash is taken up by the
/// next naming or removal of the same account.
pub fn staff_conversations_step(
    tx: &mut dyn Tx,
    shop: ShopId,
    member: AccountId,
    limit: usize,
) -> Result<usize> {
    let found = shop_of(tx.reads(), shop)?;
    let by = found.owner;
    if is_staff(tx.reads(), &found, member)? {
        let joining = tx.order_conversations_to_join(shop, member, limit)?;
        for conversation in &joining {
            join_order_conversation(tx, *conversation, member, by)?;
        }
        return Ok(joining.len());
    }
    let leaving = tx.order_conversations_to_leave(shop, member, limit)?;
    for conversation in &leaving {
        leave_order_conversation(tx, *conversation, member, by)?;
    }
    Ok(leaving.len())
}

/// Each of `media` must be a picture `actor` uploaded, each once.
fn own_pictures(read: &mut dyn Read, actor: AccountId, media: &[MediaId]) -> Result<()> {
    for (index, picture) in media.iter().enumerate() {
        if media[..index].contains(picture) {
            return Err(Rejection::MediaKindMismatch {
                kind: "product picture",
                needs: "each picture once",
            }
            .into());
        }
        own_picture(read, actor, *picture, "product picture")?;
    }
    Ok(())
}

/// Staff adds a product with its variants; every SKU new to the shop.
pub fn add_product(
    tx: &mut dyn Tx,
    actor: AccountId,
    shop: ShopId,
    new: &NewProduct,
) -> Result<(ProductId, Vec<Variant>)> {
    managed(tx.reads(), shop, actor)?;
    own_pictures(tx.reads(), actor, &new.media)?;
    if tx.products_for_update(shop)? >= shop::PRODUCTS_PER_SHOP_MAX {
        return Err(Rejection::TooMany {
            what: "products per shop",
            max: shop::PRODUCTS_PER_SHOP_MAX,
        }
        .into());
    }
    let now = tx.now();
    let product = tx.insert_product(shop, new, now)?;
    for variant in &new.variants {
        tx.insert_variant(shop, product, variant)?
            .ok_or_else(|| Rejection::SkuTaken {
                sku: variant.sku.as_str().to_owned(),
            })?;
    }
    let text = DocText {
        title: new.title.as_str().to_owned(),
        body: new.description.as_str().to_owned(),
        also: String::new(),
    };
    search::documents::index(tx, DocKind::Product, product.row(), &text)?;
    let variants = tx.reads().variants_of(&[product])?;
    Ok((product, variants))
}

/// A refusal answered as `rejection` (to someone who may not know the
/// thing exists); any other error — the engine's, a fetch — as it came.
fn refused_as(rejection: Rejection) -> impl FnOnce(Error) -> Error {
    move |error| match error {
        Error::Rejected(_) => rejection.into(),
        other => other,
    }
}

fn product_of(read: &mut dyn Read, product: ProductId) -> Result<Product> {
    Ok(read.product(product)?.ok_or(Rejection::ProductNotFound)?)
}

/// `product` as `viewer` sees it: any listed product, and an unlisted
/// one to its shop's staff only (`ProductNotFound` to anyone else).
pub fn product_view(
    read: &mut dyn Read,
    viewer: Option<AccountId>,
    product: ProductId,
) -> Result<ProductView> {
    let found = product_of(read, product)?;
    let shop = shop_of(read, found.shop_id)?;
    if !found.listed {
        let staff = match viewer {
            Some(viewer) => is_staff(read, &shop, viewer)?,
            None => false,
        };
        if !staff {
            return Err(Rejection::ProductNotFound.into());
        }
    }
    Ok(ProductView {
        variants: read.variants_of(&[product])?,
        product: found,
        shop,
    })
}

/// Staff changes a product's text, pictures or listing.
pub fn update_product(
    tx: &mut dyn Tx,
    actor: AccountId,
    product: ProductId,
    patch: &ProductPatch,
) -> Result<ProductView> {
    let found = product_of(tx.reads(), product)?;
    managed(tx.reads(), found.shop_id, actor).map_err(refused_as(Rejection::ProductNotFound))?;
    if let Some(media) = &patch.media {
        // Pictures it shows already stay, whoever of the staff added them.
        let new: Vec<MediaId> = media
            .iter()
            .copied()
            .filter(|picture| !found.media.contains(picture))
            .collect();
        own_pictures(tx.reads(), actor, &new)?;
    }
    let now = tx.now();
    tx.update_product(product, patch, now)?;
    if patch.title.is_some() || patch.description.is_some() {
        let changed = product_of(tx.reads(), product)?;
        let text = DocText {
            title: changed.title,
            body: changed.description,
            also: String::new(),
        };
        search::documents::index(tx, DocKind::Product, product.row(), &text)?;
    }
    product_view(tx.reads(), Some(actor), product)
}

/// Staff changes a variant's name, price or available stock (set, or
/// moved by a delta; never below zero nor past `shop::STOCK_MAX`).
pub fn update_variant(
    tx: &mut dyn Tx,
    actor: AccountId,
    variant: VariantId,
    patch: &VariantPatch,
) -> Result<Variant> {
    let found = tx
        .variant_for_update(variant)?
        .ok_or(Rejection::VariantNotFound)?;
    managed(tx.reads(), found.shop_id, actor).map_err(refused_as(Rejection::VariantNotFound))?;
    tx.update_variant(variant, patch)?;
    if let Some(change) = patch.stock {
        let delta = match change {
            StockChange::Set(count) => count - found.available,
            StockChange::Delta(delta) => delta,
        };
        if delta != 0 && tx.add_available(variant, delta)?.is_none() {
            return Err(Rejection::StockBelowZero {
                variant,
                available: found.available,
            }
            .into());
        }
    }
    Ok(tx
        .reads()
        .variant(variant)?
        .ok_or(Rejection::VariantNotFound)?)
}

/// Products as `query` says, with one more read to say whether there are
/// more. A shop's staff sees its unlisted products too.
pub fn products(
    read: &mut dyn Read,
    viewer: AccountId,
    mut query: ProductQuery,
) -> Result<Page<ProductView>> {
    query.listed_only = match query.shop {
        Some(shop) => {
            let found = shop_of(read, shop)?;
            !is_staff(read, &found, viewer)?
        }
        None => true,
    };
    let limit = query.limit;
    query.limit += 1;
    let found = read.find_products(&query)?;
    let mut shops = Shops::default();
    let mut views = Vec::with_capacity(found.len());
    for (product, variants) in with_variants(read, found)? {
        views.push(ProductView {
            shop: shops.get(read, product.shop_id)?,
            variants,
            product,
        });
    }
    Ok(page(views, limit as u32))
}

/// The shop `handle` and its latest listed products, for its public page.
pub fn public_shop(read: &mut dyn Read, handle: &Handle) -> Result<(Shop, Vec<ProductView>)> {
    let shop = read
        .shop_by_handle(handle)?
        .ok_or(Rejection::ShopNotFound)?;
    let query = ProductQuery {
        needle: String::new(),
        shop: Some(shop.shop_id),
        listed_only: true,
        before: None,
        limit: shop::PRODUCTS_PAGE_MAX,
    };
    let found = read.find_products(&query)?;
    let views = with_variants(read, found)?
        .into_iter()
        .map(|(product, variants)| ProductView {
            product,
            variants,
            shop: shop.clone(),
        })
        .collect();
    Ok((shop, views))
}

/// Each product with its variants, read in one query.
fn with_variants(
    read: &mut dyn Read,
    products: Vec<Product>,
) -> Result<Vec<(Product, Vec<Variant>)>> {
    let ids: Vec<ProductId> = products.iter().map(|product| product.product_id).collect();
    let mut by_product: HashMap<ProductId, Vec<Variant>> = HashMap::new();
    for variant in read.variants_of(&ids)? {
        by_product
            .entry(variant.product_id)
            .or_default()
            .push(variant);
    }
    Ok(products
        .into_iter()
        .map(|product| {
            let variants = by_product.remove(&product.product_id).unwrap_or_default();
            (product, variants)
        })
        .collect())
}

/// The listed product `product` of the shop `handle`, for its public
/// page: `ShopNotFound` for a handle no shop has, `ProductNotFound` for a
/// product that is unknown, unlisted or another shop's.
pub fn public_product(
    read: &mut dyn Read,
    handle: &Handle,
    product: ProductId,
) -> Result<ProductView> {
    let shop = read
        .shop_by_handle(handle)?
        .ok_or(Rejection::ShopNotFound)?;
    let view = product_view(read, None, product)?;
    if view.shop.shop_id != shop.shop_id {
        return Err(Rejection::ProductNotFound.into());
    }
    Ok(view)
}

impl Core {
    pub async fn create_shop(&self, owner: AccountId, new: NewShop) -> StoreResult<ShopId> {
        self.write(move |tx| create_shop(tx, owner, &new)).await
    }

    pub async fn shop_view(&self, viewer: AccountId, shop: ShopId) -> StoreResult<ShopView> {
        self.read(move |read| shop_view(read, viewer, shop)).await
    }

    /// See [`my_shops`].
    pub async fn my_shops(&self, account: AccountId) -> StoreResult<Vec<ShopView>> {
        self.read(move |read| my_shops(read, account)).await
    }

    /// The owner names `member` staff (`on`) or no longer; then, a step
    /// at a time, the member joins the conversations of the shop's open
    /// orders, or leaves those of its orders (see
    /// [`staff_conversations_step`]).
    pub async fn set_shop_staff(
        &self,
        actor: AccountId,
        shop: ShopId,
        member: AccountId,
        on: bool,
    ) -> StoreResult<()> {
        self.write(move |tx| set_staff(tx, actor, shop, member, on))
            .await?;
        let limit = STAFF_CONVERSATIONS_PER_STEP;
        while self
            .write(move |tx| staff_conversations_step(tx, shop, member, limit))
            .await?
            == limit
        {}
        Ok(())
    }

    pub async fn add_product(
        &self,
        actor: AccountId,
        shop: ShopId,
        new: NewProduct,
    ) -> StoreResult<(ProductId, Vec<Variant>)> {
        self.write(move |tx| add_product(tx, actor, shop, &new))
            .await
    }

    pub async fn product_view(
        &self,
        viewer: Option<AccountId>,
        product: ProductId,
    ) -> StoreResult<ProductView> {
        self.read(move |read| product_view(read, viewer, product))
            .await
    }

    pub async fn update_product(
        &self,
        actor: AccountId,
        product: ProductId,
        patch: ProductPatch,
    ) -> StoreResult<ProductView> {
        self.write(move |tx| update_product(tx, actor, product, &patch))
            .await
    }

    pub async fn update_variant(
        &self,
        actor: AccountId,
        variant: VariantId,
        patch: VariantPatch,
    ) -> StoreResult<Variant> {
        self.write(move |tx| update_variant(tx, actor, variant, &patch))
            .await
    }

    pub async fn products(
        &self,
        viewer: AccountId,
        query: ProductQuery,
    ) -> StoreResult<Page<ProductView>> {
        self.read(move |read| products(read, viewer, query)).await
    }

    pub async fn public_shop(&self, handle: Handle) -> StoreResult<(Shop, Vec<ProductView>)> {
        self.read(move |read| public_shop(read, &handle)).await
    }

    pub async fn public_product(
        &self,
        handle: Handle,
        product: ProductId,
    ) -> StoreResult<ProductView> {
        self.read(move |read| public_product(read, &handle, product))
            .await
    }

    /// A shop's logo or a listed product's picture, for the public pages:
    /// its preview or thumbnail only, to anyone; any other media is
    /// `MediaNotFound`, as an unknown id.
    pub async fn shop_media_served(
        &self,
        media: MediaId,
        reading: Reading,
        picture_bytes_max: u64,
    ) -> StoreResult<Served> {
        self.public_media_served(media, reading, picture_bytes_max, |read, media| {
            read.is_shop_media(media)
        })
        .await
    }
}
