//! The shops' public pages (`/s/{handle}`, `/s/{handle}/{product_id}`):
//! a shop and a product whose every word is hostile render harmless,
//! with the channels' policy (no script at all); Open Graph tags whose
//! links leave the page absolute with `--public-url`; unknown handles
//! and products, and unlisted ones, are a 404 problem; and the pictures
//! route serves a shop's logo and its listed products' pictures to
//! anyone, and nothing else.

use std::sync::atomic::{AtomicU32, Ordering};

use piazza_api::{CreateProduct, CreateShop, NewVariant, PatchProduct, ProductCreated};
use piazza_client::Client;
use reqwest::Method;

use crate::channels::{XSS, has_handler, unquoted};
use crate::helpers::*;

/// A PNG of `width` × 8 pixels: each width a picture of its own.
fn png(width: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbImage::from_pixel(width, 8, image::Rgb([30, 140, 90]))
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("a PNG encodes");
    out
}

/// A picture `user` uploads, `width` pixels wide.
pub(crate) async fn picture(user: &User, width: u32) -> String {
    user.client
        .upload_media(png(width), "image/png")
        .await
        .expect("uploaded")
        .0
        .media_id
}

/// `owner`'s shop `handle` with its logo, named `name` and described by
/// `description`: its id.
pub(crate) async fn shop_with_logo(
    owner: &User,
    handle: &str,
    name: &str,
    description: &str,
    logo: Option<String>,
) -> String {
    owner
        .client
        .create_shop(&CreateShop {
            handle: handle.into(),
            name: name.into(),
            description: description.into(),
            logo_media_id: logo,
        })
        .await
        .expect("shop opened")
        .shop_id
}

/// A product of `shop` with `pictures`, a variant at 12.50 with 3 units
/// and one at 22.00 that is sold out.
pub(crate) async fn product(
    owner: &User,
    shop: &str,
    title: &str,
    description: &str,
    pictures: Vec<String>,
) -> ProductCreated {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let number = NEXT.fetch_add(1, Ordering::Relaxed);
    let variant = |sku: &str, name: &str, price_minor, stock| NewVariant {
        sku: format!("{sku}-{number}"),
        name: name.into(),
        price_minor,
        stock,
    };
    owner
        .client
        .add_product(
            shop,
            &CreateProduct {
                title: title.into(),
                description: description.into(),
                media_ids: pictures,
                variants: vec![
                    variant("TAJ-500", "500 g", 1_250, 3),
                    variant("TAJ-1K", "<i>1 kg</i>", 2_200, 0),
                ],
            },
        )
        .await
        .expect("product added")
}

/// An anonymous GET: status, headers and body.
async fn public(base: &str, path: &str) -> piazza_client::RawResponse {
    Client::new(base)
        .raw(Method::GET, path, None, None)
        .await
        .expect("an answer")
}

async fn public_html(base: &str, path: &str) -> String {
    let answer = public(base, path).await;
    assert_eq!(answer.status, 200, "{path}");
    assert_eq!(
        answer.content_type.as_deref(),
        Some("text/html; charset=utf-8"),
        "{path}"
    );
    let csp = answer.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(answer.headers["x-frame-options"], "DENY");
    String::from_utf8(answer.body).expect("UTF-8")
}

/// The values of every `href` and `src` attribute of `html`'s tags.
fn links(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for tag in html.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or_default();
        for name in [" href=\"", " src=\""] {
            let mut rest = tag;
            while let Some(start) = rest.find(name) {
                rest = &rest[start + name.len()..];
                let end = rest.find('"').unwrap_or(rest.len());
                found.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
        }
    }
    found
}

/// Whether a tag of `html` has an attribute starting with `start`
/// (escaped text holds no `<`, so only real tags are looked at).
fn has_attribute(html: &str, start: &str) -> bool {
    html.split('<').skip(1).any(|tag| {
        let tag = unquoted(tag.split('>').next().unwrap_or_default());
        tag.split(|c: char| c.is_whitespace() || c == '/')
            .any(|word| word.starts_with(start))
    })
}

/// Nothing in `html` runs: no script, frame, plugin, form, style
/// attribute or handler, and every link and picture is a path of this
/// origin (hostile words are text, escaped).
fn assert_harmless(html: &str) {
    let lower = html.to_lowercase();
    for tag in [
        "<script", "<iframe", "<svg", "<object", "<form", "<math", "<details",
    ] {
        assert!(!lower.contains(tag), "{tag} in {html}");
    }
    assert!(!has_attribute(&lower, "style="), "{html}");
    assert!(!has_handler(&lower), "{html}");
    for link in links(&lower) {
        assert!(link.starts_with('/'), "{link} in {html}");
    }
}

#[tokio::test]
async fn a_hostile_shop_and_product_render_harmless() {
    let app = spawn_app().await;
    let nonna = app.signup("nonna").await;
    let logo = picture(&nonna, 10).await;
    let shop = shop_with_logo(
        &nonna,
        "nonna.pasta",
        "<b>Nonna</b> \"Pasta\" & 'Co'",
        XSS,
        Some(logo),
    )
    .await;
    let first = picture(&nonna, 11).await;
    let created = product(
        &nonna,
        &shop,
        "<script>alert(1)</script> Tajarin",
        XSS,
        vec![first],
    )
    .await;

    let page = public_html(&app.base, "/s/nonna.pasta").await;
    assert_harmless(&page);
    assert!(
        page.contains("&lt;b&gt;Nonna&lt;/b&gt; &quot;Pasta&quot; &amp; &#39;Co&#39;"),
        "the name is escaped: {page}"
    );
    assert!(
        page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
        "the description is text: {page}"
    );
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt; Tajarin"),
        "the product is listed, escaped: {page}"
    );

    let path = format!("/s/nonna.pasta/{}", created.product_id);
    let page = public_html(&app.base, &path).await;
    assert_harmless(&page);
    assert!(
        page.contains("<h1>&lt;script&gt;alert(1)&lt;/script&gt; Tajarin</h1>"),
        "{page}"
    );
    assert!(
        page.contains("&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;"),
        "the description is text: {page}"
    );
    assert!(page.contains("&lt;i&gt;1 kg&lt;/i&gt;"), "{page}");
    assert!(page.contains("<p>Plain **words** stay.</p>"), "{page}");
    assert!(
        page.contains("Buying happens in the Piazza app"),
        "it sends buyers to the app: {page}"
    );
    app.shut_down().await;
}

/// With `--public-url`, the links a page gives away (`og:url`,
/// `og:image`) are absolute; the pictures it shows stay on this origin.
/// The prices read as a person writes them, with what is in stock.
#[tokio::test]
async fn the_pages_carry_open_graph_tags_prices_and_stock() {
    let base = "https://piazza.example";
    let app = spawn_app_with(|config| config.public_url = Some(base.to_owned())).await;
    let nonna = app.signup("nonna").await;
    let logo = picture(&nonna, 10).await;
    let shop = shop_with_logo(
        &nonna,
        "nonna.pasta",
        "Nonna's Pasta",
        "Fresh pasta\nfrom Torino.\n\nOpen daily.",
        Some(logo.clone()),
    )
    .await;
    let (first, second) = (picture(&nonna, 11).await, picture(&nonna, 12).await);
    let created = product(
        &nonna,
        &shop,
        "Tajarin",
        "Egg pasta, cut by hand.",
        vec![first.clone(), second.clone()],
    )
    .await;
    let bare = product(&nonna, &shop, "Plain", "", vec![]).await;
    let path = format!("/s/nonna.pasta/{}", created.product_id);

    let page = public_html(&app.base, &path).await;
    for tag in [
        "<meta property=\"og:type\" content=\"product\">".to_owned(),
        "<meta property=\"og:title\" content=\"Tajarin\">".to_owned(),
        "<meta property=\"og:description\" content=\"Egg pasta, cut by hand.\">".to_owned(),
        format!("<meta property=\"og:url\" content=\"{base}{path}\">"),
        format!("<meta property=\"og:image\" content=\"{base}/s/-/media/{first}\">"),
        "<meta property=\"product:price:amount\" content=\"12.50\">".to_owned(),
        "<meta property=\"product:price:currency\" content=\"CNY\">".to_owned(),
        format!("<img src=\"/s/-/media/{first}\""),
        format!("<img src=\"/s/-/media/{second}\""),
        "<a href=\"/s/nonna.pasta\">Nonna&#39;s Pasta</a>".to_owned(),
        "12.50 – 22.00 CNY".to_owned(),
        "<td>500 g</td><td class=\"price\">12.50 CNY</td><td>3 in stock</td>".to_owned(),
        "<td class=\"price\">22.00 CNY</td><td><span class=\"sold-out\">Sold out</span>".to_owned(),
    ] {
        assert!(page.contains(&tag), "{tag} in {page}");
    }
    // A product without pictures or words shows the shop's logo and its
    // prices in a link card.
    let page = public_html(&app.base, &format!("/s/nonna.pasta/{}", bare.product_id)).await;
    for tag in [
        format!("<meta property=\"og:image\" content=\"{base}/s/-/media/{logo}\">"),
        "<meta property=\"og:description\" content=\"12.50 – 22.00 CNY · Nonna&#39;s Pasta\">"
            .to_owned(),
    ] {
        assert!(page.contains(&tag), "{tag} in {page}");
    }

    let page = public_html(&app.base, "/s/nonna.pasta").await;
    for tag in [
        "<meta property=\"og:type\" content=\"website\">".to_owned(),
        "<meta property=\"og:title\" content=\"Nonna&#39;s Pasta\">".to_owned(),
        "<meta property=\"og:description\" content=\"Fresh pasta from Torino. Open daily.\">"
            .to_owned(),
        format!("<meta property=\"og:url\" content=\"{base}/s/nonna.pasta\">"),
        format!("<meta property=\"og:image\" content=\"{base}/s/-/media/{logo}\">"),
        format!("<img src=\"/s/-/media/{logo}/thumbnail\""),
        "<p>Fresh pasta<br>from Torino.</p><p>Open daily.</p>".to_owned(),
        format!("<a href=\"{path}\"><img src=\"/s/-/media/{first}/thumbnail\""),
        "<strong>Tajarin</strong>".to_owned(),
        "<span class=\"price\">12.50 – 22.00 CNY</span> · <span>In stock</span>".to_owned(),
        "2 products".to_owned(),
    ] {
        assert!(page.contains(&tag), "{tag} in {page}");
    }

    // Without a public address, what leaves the page is a path.
    let plain = spawn_app().await;
    let bea = plain.signup("bea").await;
    shop_with_logo(&bea, "bea.shop", "Bea", "", None).await;
    let page = public_html(&plain.base, "/s/bea.shop").await;
    assert!(
        page.contains("<meta property=\"og:url\" content=\"/s/bea.shop\">"),
        "{page}"
    );
    assert!(!page.contains("og:image"), "no logo, no picture: {page}");
    assert!(page.contains("no products yet"), "{page}");
    plain.shut_down().await;
    app.shut_down().await;
}

#[tokio::test]
async fn unknown_and_unlisted_are_404_and_only_a_shops_pictures_are_served() {
    let app = spawn_app().await;
    let nonna = app.signup("nonna").await;
    let bea = app.signup("bea").await;
    let logo = picture(&nonna, 10).await;
    let shop = shop_with_logo(&nonna, "nonna.pasta", "Nonna", "", Some(logo.clone())).await;
    let (shown, hidden) = (picture(&nonna, 11).await, picture(&nonna, 12).await);
    let listed = product(&nonna, &shop, "Listed", "", vec![shown.clone()]).await;
    let unlisted = product(&nonna, &shop, "Hidden", "", vec![hidden.clone()]).await;
    nonna
        .client
        .patch_product(
            &unlisted.product_id,
            &PatchProduct {
                listed: Some(false),
                ..PatchProduct::default()
            },
        )
        .await
        .expect("unlisted");
    let other_shop = shop_with_logo(&bea, "bea.shop", "Bea", "", None).await;
    let others = product(&bea, &other_shop, "Bea's", "", vec![]).await;
    let private = picture(&nonna, 13).await;
    let channel_avatar = picture(&bea, 14).await;
    bea.client
        .create_channel(&piazza_api::CreateChannel {
            handle: "bea.news".into(),
            name: "Bea's News".into(),
            description: String::new(),
            avatar_media_id: Some(channel_avatar.clone()),
        })
        .await
        .expect("channel created");

    let unlisted_page = public_html(&app.base, "/s/nonna.pasta").await;
    assert!(!unlisted_page.contains("Hidden"), "{unlisted_page}");
    let listed_path = format!("/s/nonna.pasta/{}", listed.product_id);
    public_html(&app.base, &listed_path).await;
    for (path, code) in [
        ("/s/nobody.here".to_owned(), "shop_not_found"),
        ("/s/NOT A HANDLE".to_owned(), "shop_not_found"),
        ("/s/nobody.here/prd_1".to_owned(), "shop_not_found"),
        ("/s/nonna.pasta/prd_999999".to_owned(), "product_not_found"),
        ("/s/nonna.pasta/nonsense".to_owned(), "product_not_found"),
        (
            format!("/s/nonna.pasta/{}", unlisted.product_id),
            "product_not_found",
        ),
        (
            format!("/s/nonna.pasta/{}", others.product_id),
            "product_not_found",
        ),
        (format!("/s/-/media/{hidden}"), "media_not_found"),
        (format!("/s/-/media/{hidden}/thumbnail"), "media_not_found"),
        (format!("/s/-/media/{private}"), "media_not_found"),
        (format!("/s/-/media/{channel_avatar}"), "media_not_found"),
        ("/s/-/media/med_999999".to_owned(), "media_not_found"),
        ("/s/-/media/nonsense".to_owned(), "media_not_found"),
        (format!("/c/-/media/{logo}"), "media_not_found"),
    ] {
        let answer = public(&app.base, &path).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/problem+json"),
            "{path}"
        );
        assert_eq!(crate::media::problem_code(&answer), code, "{path}");
    }
    for path in [
        format!("/s/-/media/{logo}"),
        format!("/s/-/media/{logo}/thumbnail"),
        format!("/s/-/media/{shown}"),
        format!("/s/-/media/{shown}/thumbnail"),
    ] {
        let answer = public(&app.base, &path).await;
        assert_eq!(answer.status, 200, "{path}");
        let kind = answer.content_type.unwrap_or_default();
        assert!(kind.starts_with("image/"), "{path}: {kind}");
    }
    // Listed again, its pictures are public again.
    nonna
        .client
        .patch_product(
            &unlisted.product_id,
            &PatchProduct {
                listed: Some(true),
                ..PatchProduct::default()
            },
        )
        .await
        .expect("listed");
    let answer = public(&app.base, &format!("/s/-/media/{hidden}")).await;
    assert_eq!(answer.status, 200);
    admin_check_passes("check", app.data_dir());
    app.shut_down().await;
}
