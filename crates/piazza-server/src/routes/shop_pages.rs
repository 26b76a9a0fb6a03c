//! The shops' public pages, readable without an account, so a shop or a
//! product can be shared outside the app: a shop with its latest listed
//! products (`/s/{handle}`), one listed product (`/s/{handle}/{product_id}`),
//! and the pictures they show (`/s/-/media/{id}`: a shop's logo or a
//! listed product's picture only — `-` is in no handle). Buying happens in
//! the app; the pages say so and hold no form.
//!
//! They are made in the channels' pages' frame (`channel_pages.rs`: the
//! same policy, no script at all, the one stylesheet by its hash), and
//! every word a shop wrote is escaped. A description is plain text, as
//! the app shows it: its paragraphs and line breaks are kept, nothing in
//! it is markup.

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use piazza_api::Problem;
use piazza_core::media::Reading;
use piazza_core::shops::{ProductView, Shop, Variant};
use piazza_domain::money::Currency;
use piazza_domain::shop::Handle;
use piazza_domain::{MediaId, ProductId, Rejection};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::error::ApiError;
use crate::markdown::escape;
use crate::routes::channel_pages::{Public, head, outside, page, public_media};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(shop_page))
        .routes(routes!(product_page))
        .routes(routes!(media_preview))
        .routes(routes!(media_thumbnail))
}

/// A shop's public page.
pub fn shop_url(handle: &Handle) -> String {
    format!("/s/{handle}")
}

/// A product's public page.
pub fn product_url(handle: &str, product: ProductId) -> String {
    format!("/s/{handle}/{product}")
}

/// How long a description is in a link card (`og:description`).
const EXCERPT_CHARS_MAX: usize = 200;

fn handle_of(text: &str) -> Result<Handle, ApiError> {
    Handle::parse(text).map_err(|_| Rejection::ShopNotFound.into())
}

fn media_url(media: MediaId) -> String {
    format!("/s/-/media/{media}")
}

/// The digits after the point in a currency's major unit (ISO 4217's
/// minor unit), for the currencies Piazza deployments run in; `None` for
/// another, which is then shown in minor units rather than guessed.
fn minor_digits(currency: Currency) -> Option<u32> {
    match currency.as_str() {
        "CNY" | "USD" | "EUR" | "HKD" | "SGD" | "GBP" => Some(2),
        "JPY" | "KRW" => Some(0),
        _ => None,
    }
}

/// `minor` in major units, as a price is read ("12.50"); integer
/// arithmetic only. Prices are positive, so there is no sign.
fn major_units(minor: i64, currency: Currency) -> String {
    match minor_digits(currency) {
        Some(0) => minor.to_string(),
        Some(digits) => {
            let scale = 10_i64.pow(digits);
            format!(
                "{}.{:0width$}",
                minor / scale,
                minor % scale,
                width = digits as usize
            )
        }
        None => format!("{minor} minor units of"),
    }
}

/// "12.50 CNY".
fn money(minor: i64, currency: Currency) -> String {
    format!("{} {currency}", major_units(minor, currency))
}

/// The cheapest and dearest of `variants`' prices; `None` for none.
fn price_bounds(variants: &[Variant]) -> Option<(i64, i64)> {
    let prices = variants.iter().map(|variant| variant.price.get());
    Some((prices.clone().min()?, prices.max()?))
}

/// "12.50 CNY", or "12.50 – 22.00 CNY" when the variants differ.
fn price_range(variants: &[Variant], currency: Currency) -> String {
    match price_bounds(variants) {
        None => String::new(),
        Some((low, high)) if low == high => money(low, currency),
        Some((low, high)) => format!("{} – {}", major_units(low, currency), money(high, currency)),
    }
}

/// Whether any unit of the product may be ordered now, in words.
fn availability(variants: &[Variant]) -> &'static str {
    if variants.iter().any(|variant| variant.available > 0) {
        "<span>In stock</span>"
    } else {
        "<span class=\"sold-out\">Sold out</span>"
    }
}

/// `text` (plain, as its writer typed it) as HTML paragraphs: a blank line
/// starts a paragraph, a single line break stays one; every word escaped.
fn paragraphs(text: &str) -> String {
    let mut html = String::new();
    let normalized = text.replace("\r\n", "\n");
    for paragraph in normalized.split("\n\n") {
        let paragraph = paragraph.trim();
        if paragraph.is_empty() {
            continue;
        }
        let lines: Vec<String> = paragraph.lines().map(|line| escape(line.trim())).collect();
        let _ = write!(html, "<p>{}</p>", lines.join("<br>"));
    }
    html
}

/// The words of `text` on one line, at most `max_chars` characters (cut
/// with `…`), for a link card.
fn excerpt(text: &str, max_chars: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max_chars {
        return text;
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The Open Graph tags every page has; `description` and `image` not yet
/// escaped, `image` a path of this origin.
fn open_graph(app: &App, kind: &str, title: &str, description: &str, url: &str) -> String {
    let description = escape(description);
    format!(
        "<meta name=\"description\" content=\"{description}\">\
         <meta property=\"og:type\" content=\"{kind}\">\
         <meta property=\"og:title\" content=\"{}\">\
         <meta property=\"og:description\" content=\"{description}\">\
         <meta property=\"og:url\" content=\"{}\">",
        escape(title),
        escape(&outside(app, url)),
    )
}

fn og_image(app: &App, media: Option<MediaId>) -> String {
    media.map_or_else(String::new, |media| {
        format!(
            "<meta property=\"og:image\" content=\"{}\">",
            escape(&outside(app, &media_url(media)))
        )
    })
}

/// One product of a shop's list: its first picture's thumbnail, title,
/// prices and whether it is in stock.
fn product_item(view: &ProductView, currency: Currency) -> String {
    let product = &view.product;
    let picture = product.media.first().map_or_else(String::new, |media| {
        format!(
            "<img src=\"{}/thumbnail\" alt=\"\" width=\"64\">",
            escape(&media_url(*media))
        )
    });
    format!(
        "<a href=\"{}\">{picture}<strong>{}</strong><br><small><span class=\"price\">{}</span> · {}</small></a>",
        escape(&product_url(view.shop.handle.as_str(), product.product_id)),
        escape(&product.title),
        escape(&price_range(&view.variants, currency)),
        availability(&view.variants),
    )
}

/// A shop's page, for anyone: its logo, name, description and latest
/// listed products with their prices and whether they are in stock.
#[utoipa::path(get, path = "/s/{handle}", tag = "shops",
    params(("handle" = String, Path)),
    responses(
        (status = 200, description = "the shop's page", content_type = "text/html"),
        (status = 404, description = "shop_not_found", body = Problem),
    ))]
pub async fn shop_page(
    State(app): State<App>,
    Path(handle): Path<String>,
) -> Result<Response, ApiError> {
    let (shop, products) = app.store.public_shop(handle_of(&handle)?).await?;
    let name = escape(&shop.name);
    let mut meta = open_graph(
        &app,
        "website",
        &shop.name,
        &excerpt(&shop.description, EXCERPT_CHARS_MAX),
        &shop_url(&shop.handle),
    );
    meta.push_str(&og_image(&app, shop.logo));
    let mut html = head(&name, &meta);
    if let Some(logo) = shop.logo {
        let _ = write!(
            html,
            "<img src=\"{}/thumbnail\" alt=\"\" width=\"72\">",
            escape(&media_url(logo))
        );
    }
    let count = match products.len() {
        0 => "no products yet".to_owned(),
        1 => "1 product".to_owned(),
        many => format!("{many} products"),
    };
    let _ = write!(
        html,
        "<h1>{name}</h1>{}<p class=\"counts\">@{} · {count}</p><div class=\"list\">",
        paragraphs(&shop.description),
        escape(shop.handle.as_str()),
    );
    for view in &products {
        html.push_str(&product_item(view, app.currency));
    }
    html.push_str("</div>");
    html.push_str(&buy_in_the_app(&shop));
    html.push_str("</main></body></html>");
    Ok(page("text/html; charset=utf-8", html))
}

fn buy_in_the_app(shop: &Shop) -> String {
    format!(
        "<p class=\"note\">Buying happens in the Piazza app: open {} there to order.</p>",
        escape(&shop.name)
    )
}

/// A product's variants: name, price and how many are in stock.
fn variants_table(variants: &[Variant], currency: Currency) -> String {
    let mut html = String::from("<table class=\"variants\">");
    for variant in variants {
        let stock = if variant.available > 0 {
            format!("{} in stock", variant.available)
        } else {
            "<span class=\"sold-out\">Sold out</span>".to_owned()
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=\"price\">{}</td><td>{stock}</td></tr>",
            escape(&variant.name),
            escape(&money(variant.price.get(), currency)),
        );
    }
    html.push_str("</table>");
    html
}

/// The Open Graph tags of a product: a link card with its first picture
/// (or the shop's logo) and its lowest price.
fn product_meta(app: &App, view: &ProductView) -> String {
    let (product, shop) = (&view.product, &view.shop);
    let prices = price_range(&view.variants, app.currency);
    let description = match excerpt(&product.description, EXCERPT_CHARS_MAX) {
        words if words.is_empty() => format!("{prices} · {}", shop.name),
        words => words,
    };
    let url = product_url(shop.handle.as_str(), product.product_id);
    let mut meta = open_graph(app, "product", &product.title, &description, &url);
    let _ = write!(
        meta,
        "<meta property=\"og:site_name\" content=\"{}\">",
        escape(&shop.name)
    );
    meta.push_str(&og_image(app, product.media.first().copied().or(shop.logo)));
    if let Some((low, _)) = price_bounds(&view.variants)
        && minor_digits(app.currency).is_some()
    {
        let _ = write!(
            meta,
            "<meta property=\"product:price:amount\" content=\"{}\">\
             <meta property=\"product:price:currency\" content=\"{}\">",
            escape(&major_units(low, app.currency)),
            escape(app.currency.as_str()),
        );
    }
    meta
}

/// A listed product's page, for anyone: its title, pictures, description
/// and variants with their prices and stock, and where to buy it (the
/// app). An unlisted product, or one of another shop, is 404.
#[utoipa::path(get, path = "/s/{handle}/{product_id}", tag = "shops",
    params(("handle" = String, Path), ("product_id" = String, Path)),
    responses(
        (status = 200, description = "the product's page", content_type = "text/html"),
        (status = 404, description = "shop_not_found, product_not_found", body = Problem),
    ))]
pub async fn product_page(
    State(app): State<App>,
    Path((handle, product)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let handle = handle_of(&handle)?;
    let product =
        ProductId::parse(&product).map_err(|_| ApiError::from(Rejection::ProductNotFound))?;
    let view = app.store.public_product(handle, product).await?;
    let (product, shop) = (&view.product, &view.shop);
    let title = escape(&product.title);
    let mut html = head(
        &format!("{title} · {}", escape(&shop.name)),
        &product_meta(&app, &view),
    );
    let _ = write!(
        html,
        "<header><a href=\"{}\">{}</a></header><h1>{title}</h1>\
         <p class=\"price\">{}</p><div class=\"pictures\">",
        escape(&shop_url(&shop.handle)),
        escape(&shop.name),
        escape(&price_range(&view.variants, app.currency)),
    );
    for media in &product.media {
        let _ = write!(
            html,
            "<img src=\"{}\" alt=\"\">",
            escape(&media_url(*media))
        );
    }
    let _ = write!(
        html,
        "</div><article>{}</article>{}{}</main></body></html>",
        paragraphs(&product.description),
        variants_table(&view.variants, app.currency),
        buy_in_the_app(shop),
    );
    Ok(page("text/html; charset=utf-8", html))
}

/// A shop's logo or a listed product's picture, for anyone (a preview, at
/// most 1280 pixels on its long side, with no metadata). Any other media
/// — an unlisted product's picture too — is 404, as an unknown id.
#[utoipa::path(get, path = "/s/-/media/{id}", tag = "shops",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "the picture", content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))),
        (status = 304, description = "`If-None-Match` names these bytes"),
        (status = 404, description = "media_not_found", body = Problem),
    ))]
pub async fn media_preview(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    public_media(&app, Public::Shops, &id, Reading::Preview, &headers).await
}

/// The small picture (at most 320 pixels) of a shop's logo or a listed
/// product's picture, for anyone.
#[utoipa::path(get, path = "/s/-/media/{id}/thumbnail", tag = "shops",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "the picture", content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))),
        (status = 304, description = "`If-None-Match` names these bytes"),
        (status = 404, description = "media_not_found", body = Problem),
    ))]
pub async fn media_thumbnail(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    public_media(&app, Public::Shops, &id, Reading::Thumbnail, &headers).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_read_in_major_units_without_floats() {
        assert_eq!(money(1_250, Currency::CNY), "12.50 CNY");
        assert_eq!(money(7, Currency::CNY), "0.07 CNY");
        let yen = Currency::parse("JPY").unwrap();
        assert_eq!(money(500, yen), "500 JPY");
        let unknown = Currency::parse("XTS").unwrap();
        assert_eq!(money(500, unknown), "500 minor units of XTS");
    }

    #[test]
    fn a_description_keeps_its_paragraphs_and_escapes_every_word() {
        assert_eq!(
            paragraphs("<b>Fresh</b>\r\nfrom Torino\n\n\n & \"more\""),
            "<p>&lt;b&gt;Fresh&lt;/b&gt;<br>from Torino</p><p>&amp; &quot;more&quot;</p>"
        );
        assert_eq!(paragraphs("  \n\n "), "");
    }

    #[test]
    fn an_excerpt_is_one_line_and_cut() {
        assert_eq!(excerpt("a\n\nb  c", 10), "a b c");
        assert_eq!(excerpt("abcdef", 4), "abc…");
    }
}
