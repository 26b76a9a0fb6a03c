//! Shops: open one, name staff, add and change products and variants,
//! list and search products, and the cart. The rules are
//! `piazza_core::shops`'; orders are `orders.rs`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use piazza_api::{
    CartLine, CartView, CreateProduct, CreateShop, PatchProduct, PatchVariant, Problem,
    ProductCreated, ProductList, ProductView, PutCartItem, ShopCreated, ShopList, ShopSummary,
    ShopView, VariantView,
};
use piazza_core::shops::{
    self as rules, NewProduct, NewShop, NewVariant, ProductPatch, ProductQuery, StockChange,
    VariantPatch,
};
use piazza_domain::money::{AmountMinor, Currency};
use piazza_domain::shop::{
    self, Description, Handle, ProductTitle, ShopName, Sku, VariantName, parse_stock,
};
use piazza_domain::{AccountId, MediaId, ProductId, Rejection, ShopId, VariantId};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::routes::conversations::page_limit;
use crate::routes::paging::{after, next_cursor};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(get_shop))
        .routes(routes!(my_shops))
        .routes(routes!(add_staff, remove_staff))
        .routes(routes!(add_product))
        .routes(routes!(list_products))
        .routes(routes!(get_product, patch_product))
        .routes(routes!(patch_variant))
        .routes(routes!(put_cart_item))
        .routes(routes!(get_cart))
}

/// An id that cannot exist is answered like an unknown one.
pub(crate) fn shop_id(text: &str) -> Result<ShopId, ApiError> {
    ShopId::parse(text).map_err(|_| Rejection::ShopNotFound.into())
}

fn product_id(text: &str) -> Result<ProductId, ApiError> {
    ProductId::parse(text).map_err(|_| Rejection::ProductNotFound.into())
}

pub(crate) fn variant_id(text: &str) -> Result<VariantId, ApiError> {
    VariantId::parse(text).map_err(|_| Rejection::VariantNotFound.into())
}

fn media_ids(texts: &[String]) -> Result<Vec<MediaId>, ApiError> {
    if texts.len() > shop::PRODUCT_MEDIA_MAX {
        return Err(ApiError::invalid(
            "too_many_media",
            format!(
                "a product shows at most {} pictures",
                shop::PRODUCT_MEDIA_MAX
            ),
        ));
    }
    texts
        .iter()
        .map(|text| MediaId::parse(text).map_err(|_| Rejection::MediaNotFound.into()))
        .collect()
}

fn price(value: i64) -> Result<AmountMinor, ApiError> {
    AmountMinor::positive(value).map_err(|_| {
        ApiError::invalid(
            "invalid_price",
            format!(
                "`price_minor` is a whole number of minor units from 1 to {}",
                AmountMinor::MAX
            ),
        )
    })
}

pub(crate) fn summary(shop: &rules::Shop) -> ShopSummary {
    ShopSummary {
        shop_id: shop.shop_id.to_string(),
        handle: shop.handle.as_str().to_owned(),
        name: shop.name.clone(),
        description: shop.description.clone(),
        logo_media_id: shop.logo.map(|media| media.to_string()),
        url: format!("/s/{}", shop.handle),
    }
}

fn variant_view(variant: &rules::Variant, currency: Currency, staff: bool) -> VariantView {
    VariantView {
        variant_id: variant.variant_id.to_string(),
        sku: variant.sku.as_str().to_owned(),
        name: variant.name.clone(),
        price_minor: variant.price.get(),
        currency: currency.as_str().to_owned(),
        available: variant.available,
        reserved: staff.then_some(variant.reserved),
        sold: staff.then_some(variant.sold),
    }
}

fn product_view(view: &rules::ProductView, currency: Currency, staff: bool) -> ProductView {
    let product = &view.product;
    ProductView {
        product_id: product.product_id.to_string(),
        shop: summary(&view.shop),
        title: product.title.clone(),
        description: product.description.clone(),
        media_ids: product.media.iter().map(ToString::to_string).collect(),
        listed: product.listed,
        created_at: product.created_at.to_rfc3339(),
        updated_at: product.updated_at.to_rfc3339(),
        variants: view
            .variants
            .iter()
            .map(|variant| variant_view(variant, currency, staff))
            .collect(),
        url: format!("/s/{}/{}", view.shop.handle, product.product_id),
    }
}

/// Open a shop that you own; its sales settle into a merchant account of
/// the same name.
#[utoipa::path(post, path = "/api/v1/shops", tag = "shops", security(("bearer" = [])),
    request_body = CreateShop,
    responses(
        (status = 201, body = ShopCreated),
        (status = 400, description = "invalid_handle, invalid_name, invalid_description", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "media_not_found: the logo is not a media you uploaded", body = Problem),
        (status = 409, description = "handle_taken; limit_reached: you own as many shops as one may", body = Problem),
        (status = 422, description = "media_kind_mismatch: the logo is not a picture", body = Problem),
    ))]
pub async fn create(
    State(app): State<App>,
    auth: Auth,
    Json(body): Json<CreateShop>,
) -> Result<(StatusCode, Json<ShopCreated>), ApiError> {
    let logo = body
        .logo_media_id
        .as_deref()
        .map(|text| MediaId::parse(text).map_err(|_| ApiError::from(Rejection::MediaNotFound)))
        .transpose()?;
    let new = NewShop {
        handle: Handle::parse(&body.handle)?,
        name: ShopName::parse(&body.name)?,
        description: Description::parse(&body.description)?,
        logo,
    };
    let shop = app.store.create_shop(auth.account, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(ShopCreated {
            shop_id: shop.to_string(),
        }),
    ))
}

/// A shop, and what you are to it.
#[utoipa::path(get, path = "/api/v1/shops/{id}", tag = "shops", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ShopView),
        (status = 401, body = Problem),
        (status = 404, description = "shop_not_found", body = Problem),
    ))]
pub async fn get_shop(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<ShopView>, ApiError> {
    let view = app.store.shop_view(auth.account, shop_id(&id)?).await?;
    Ok(Json(shop_view(&view, auth.account)))
}

/// The shops you own or are staff of, oldest first (at most 200): what a
/// new device shows as your shops.
#[utoipa::path(get, path = "/api/v1/me/shops", tag = "shops", security(("bearer" = [])),
    responses(
        (status = 200, body = ShopList),
        (status = 401, body = Problem),
    ))]
pub async fn my_shops(State(app): State<App>, auth: Auth) -> Result<Json<ShopList>, ApiError> {
    let views = app.store.my_shops(auth.account).await?;
    Ok(Json(ShopList {
        shops: views
            .iter()
            .map(|view| shop_view(view, auth.account))
            .collect(),
    }))
}

/// A shop as `viewer` sees it on the wire.
fn shop_view(view: &piazza_core::shops::ShopView, viewer: AccountId) -> ShopView {
    let role = if view.shop.owner == viewer {
        "owner"
    } else if view.manages {
        "staff"
    } else {
        "customer"
    };
    ShopView {
        shop: summary(&view.shop),
        owner: view.shop.owner.to_string(),
        created_at: view.shop.created_at.to_rfc3339(),
        your_role: role.to_owned(),
        staff: view.staff.iter().map(ToString::to_string).collect(),
        merchant_id: view.manages.then(|| view.shop.merchant.to_string()),
    }
}

async fn set_staff(
    app: &App,
    auth: &Auth,
    id: &str,
    account: &str,
    on: bool,
) -> Result<StatusCode, ApiError> {
    let shop = shop_id(id)?;
    let member =
        AccountId::parse(account).map_err(|_| ApiError::from(Rejection::AccountNotFound))?;
    app.store
        .set_shop_staff(auth.account, shop, member, on)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The owner names staff, who may then manage products, stock and
/// orders. Staff is one of the owner's contacts (no block either way);
/// anyone else is 404, as an unknown id. Naming one again changes nothing.
#[utoipa::path(put, path = "/api/v1/shops/{id}/staff/{account_id}", tag = "shops",
    security(("bearer" = [])), params(("id" = String, Path), ("account_id" = String, Path)),
    responses(
        (status = 204),
        (status = 400, description = "self_target: the owner is no staff", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_shop_owner", body = Problem),
        (status = 404, description = "shop_not_found, account_not_found", body = Problem),
        (status = 409, description = "limit_reached: 50 staff", body = Problem),
    ))]
pub async fn add_staff(
    State(app): State<App>,
    auth: Auth,
    Path((id, account)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    set_staff(&app, &auth, &id, &account, true).await
}

/// The owner takes a staff member's role back; one who is none changes
/// nothing.
#[utoipa::path(delete, path = "/api/v1/shops/{id}/staff/{account_id}", tag = "shops",
    security(("bearer" = [])), params(("id" = String, Path), ("account_id" = String, Path)),
    responses(
        (status = 204),
        (status = 401, body = Problem),
        (status = 403, description = "not_shop_owner", body = Problem),
        (status = 404, description = "shop_not_found", body = Problem),
    ))]
pub async fn remove_staff(
    State(app): State<App>,
    auth: Auth,
    Path((id, account)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    set_staff(&app, &auth, &id, &account, false).await
}

fn new_product(body: &CreateProduct) -> Result<NewProduct, ApiError> {
    if body.variants.is_empty() || body.variants.len() > shop::VARIANTS_PER_PRODUCT_MAX {
        return Err(ApiError::invalid(
            "invalid_variants",
            format!(
                "a product has 1 to {} variants",
                shop::VARIANTS_PER_PRODUCT_MAX
            ),
        ));
    }
    let variants = body
        .variants
        .iter()
        .map(|variant| {
            Ok(NewVariant {
                sku: Sku::parse(&variant.sku)?,
                name: VariantName::parse(&variant.name)?,
                price: price(variant.price_minor)?,
                stock: parse_stock(variant.stock)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(NewProduct {
        title: ProductTitle::parse(&body.title)?,
        description: Description::parse(&body.description)?,
        media: media_ids(&body.media_ids)?,
        variants,
    })
}

/// Add a product with its variants (the owner or staff). It is listed at
/// once.
#[utoipa::path(post, path = "/api/v1/shops/{id}/products", tag = "shops", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = CreateProduct,
    responses(
        (status = 201, body = ProductCreated),
        (status = 400, description = "invalid_title, invalid_description, invalid_variants, invalid_sku, invalid_variant_name, invalid_price, invalid_stock, too_many_media", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_shop_staff", body = Problem),
        (status = 404, description = "shop_not_found; media_not_found: a picture is not one you uploaded", body = Problem),
        (status = 409, description = "sku_taken; limit_reached: 10,000 products", body = Problem),
        (status = 422, description = "media_kind_mismatch", body = Problem),
    ))]
pub async fn add_product(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<CreateProduct>,
) -> Result<(StatusCode, Json<ProductCreated>), ApiError> {
    let shop = shop_id(&id)?;
    let new = new_product(&body)?;
    let (product, variants) = app.store.add_product(auth.account, shop, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(ProductCreated {
            product_id: product.to_string(),
            variants: variants
                .iter()
                .map(|variant| variant_view(variant, app.currency, true))
                .collect(),
        }),
    ))
}

/// Whether `viewer` is staff of the product's shop (to show its stock
/// counts).
async fn manages(
    app: &App,
    viewer: AccountId,
    view: &rules::ProductView,
) -> Result<bool, ApiError> {
    Ok(app
        .store
        .shop_view(viewer, view.shop.shop_id)
        .await?
        .manages)
}

/// A product with its variants. An unlisted one is its shop's staff's
/// only (404 to anyone else).
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "shops", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ProductView),
        (status = 401, body = Problem),
        (status = 404, description = "product_not_found", body = Problem),
    ))]
pub async fn get_product(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<ProductView>, ApiError> {
    let view = app
        .store
        .product_view(Some(auth.account), product_id(&id)?)
        .await?;
    let staff = manages(&app, auth.account, &view).await?;
    Ok(Json(product_view(&view, app.currency, staff)))
}

/// Change a product's title, description, pictures or listing (the
/// owner or staff).
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "shops", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = PatchProduct,
    responses(
        (status = 200, body = ProductView),
        (status = 400, description = "invalid_title, invalid_description, too_many_media", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "product_not_found (also to one who is not the shop's staff); media_not_found", body = Problem),
        (status = 422, description = "media_kind_mismatch", body = Problem),
    ))]
pub async fn patch_product(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<PatchProduct>,
) -> Result<Json<ProductView>, ApiError> {
    let patch = ProductPatch {
        title: body.title.as_deref().map(ProductTitle::parse).transpose()?,
        description: body
            .description
            .as_deref()
            .map(Description::parse)
            .transpose()?,
        media: body.media_ids.as_deref().map(media_ids).transpose()?,
        listed: body.listed,
    };
    let view = app
        .store
        .update_product(auth.account, product_id(&id)?, patch)
        .await?;
    Ok(Json(product_view(&view, app.currency, true)))
}

fn variant_patch(body: &PatchVariant) -> Result<VariantPatch, ApiError> {
    let stock = match (body.stock, body.stock_delta) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "invalid_stock",
                "send `stock` (a count) or `stock_delta` (a change), not both",
            ));
        }
        (Some(count), None) => Some(StockChange::Set(parse_stock(count)?)),
        (None, Some(delta)) if delta.unsigned_abs() <= shop::STOCK_MAX.unsigned_abs() => {
            Some(StockChange::Delta(delta))
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                "invalid_stock",
                format!("`stock_delta` is between -{0} and {0}", shop::STOCK_MAX),
            ));
        }
        (None, None) => None,
    };
    Ok(VariantPatch {
        name: body.name.as_deref().map(VariantName::parse).transpose()?,
        price: body.price_minor.map(price).transpose()?,
        stock,
    })
}

/// Change a variant's name, price or stock (the owner or staff). Stock is
/// what is available to order: set it (`stock`) or move it
/// (`stock_delta`); units reserved by orders are not touched.
#[utoipa::path(patch, path = "/api/v1/variants/{id}", tag = "shops", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = PatchVariant,
    responses(
        (status = 200, body = VariantView),
        (status = 400, description = "invalid_variant_name, invalid_price, invalid_stock", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "variant_not_found (also to one who is not the shop's staff)", body = Problem),
        (status = 409, description = "stock_below_zero", body = Problem),
    ))]
pub async fn patch_variant(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<PatchVariant>,
) -> Result<Json<VariantView>, ApiError> {
    let patch = variant_patch(&body)?;
    let variant = app
        .store
        .update_variant(auth.account, variant_id(&id)?, patch)
        .await?;
    Ok(Json(variant_view(&variant, app.currency, true)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ProductsQuery {
    /// Words of a product's title or description (any case); absent:
    /// every product.
    pub q: Option<String>,
    /// Only this shop's products (its staff also see unlisted ones).
    pub shop_id: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 50 (default 20).
    pub limit: Option<u32>,
}

/// List and search products, newest first.
#[utoipa::path(get, path = "/api/v1/products", tag = "shops", security(("bearer" = [])),
    params(ProductsQuery),
    responses(
        (status = 200, body = ProductList),
        (status = 400, description = "invalid_cursor, invalid_limit", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "shop_not_found", body = Problem),
    ))]
pub async fn list_products(
    State(app): State<App>,
    auth: Auth,
    Query(query): Query<ProductsQuery>,
) -> Result<Json<ProductList>, ApiError> {
    let before = after(query.cursor.as_deref(), |key| ProductId::parse(key).ok())?;
    let shop = query.shop_id.as_deref().map(shop_id).transpose()?;
    let needle: String = query
        .q
        .unwrap_or_default()
        .trim()
        .chars()
        .take(shop::NAME_CHARS_MAX)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let limit = page_limit(query.limit, 20, shop::PRODUCTS_PAGE_MAX as u32)?;
    let product_query = ProductQuery {
        needle,
        shop,
        listed_only: true,
        before,
        limit: limit as usize,
    };
    let page = app.store.products(auth.account, product_query).await?;
    let staff = match shop {
        Some(shop) => app.store.shop_view(auth.account, shop).await?.manages,
        None => false,
    };
    let next = next_cursor(
        page.has_more,
        page.items
            .last()
            .map(|view| view.product.product_id.to_string()),
    );
    Ok(Json(ProductList {
        products: page
            .items
            .iter()
            .map(|view| product_view(view, app.currency, staff))
            .collect(),
        next_cursor: next,
    }))
}

fn cart_view(cart: &rules::CartView, currency: Currency) -> CartView {
    let lines: Vec<CartLine> = cart
        .lines
        .iter()
        .map(|line| {
            let quantity = line.item.quantity;
            CartLine {
                variant_id: line.variant.variant_id.to_string(),
                product_id: line.product.product_id.to_string(),
                shop: summary(&line.shop),
                title: line.product.title.clone(),
                variant_name: line.variant.name.clone(),
                quantity,
                price_minor: line.variant.price.get(),
                price_when_added_minor: line.item.price_when_added.get(),
                price_changed: line.price_changed,
                available: line.variant.available,
                orderable: line.available,
                line_total_minor: line.variant.price.get().saturating_mul(i64::from(quantity)),
            }
        })
        .collect();
    CartView {
        total_minor: lines
            .iter()
            .fold(0i64, |sum, line| sum.saturating_add(line.line_total_minor)),
        lines,
        currency: currency.as_str().to_owned(),
    }
}

/// Put a variant in your cart with a quantity, or take it out with 0.
/// A cart holds nothing back: stock is reserved when an order is placed.
#[utoipa::path(put, path = "/api/v1/cart/items", tag = "shops", security(("bearer" = [])),
    request_body = PutCartItem,
    responses(
        (status = 200, body = CartView),
        (status = 401, body = Problem),
        (status = 404, description = "variant_not_found (or its product is unlisted)", body = Problem),
        (status = 409, description = "limit_reached: 100 lines", body = Problem),
        (status = 422, description = "invalid_order_items: a quantity is 0 to 999", body = Problem),
    ))]
pub async fn put_cart_item(
    State(app): State<App>,
    auth: Auth,
    Json(body): Json<PutCartItem>,
) -> Result<Json<CartView>, ApiError> {
    let cart = app
        .store
        .put_cart_item(auth.account, variant_id(&body.variant_id)?, body.quantity)
        .await?;
    Ok(Json(cart_view(&cart, app.currency)))
}

/// Your cart, with the prices and stock of now and what changed since
/// each line was added.
#[utoipa::path(get, path = "/api/v1/cart", tag = "shops", security(("bearer" = [])),
    responses((status = 200, body = CartView), (status = 401, body = Problem)))]
pub async fn get_cart(State(app): State<App>, auth: Auth) -> Result<Json<CartView>, ApiError> {
    let cart = app.store.cart(auth.account).await?;
    Ok(Json(cart_view(&cart, app.currency)))
}
