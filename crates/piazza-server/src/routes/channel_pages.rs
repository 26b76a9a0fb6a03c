//! The channels' public pages, readable without an account, for sharing
//! outside the app: an article (`/c/{handle}/{article_id}`), a channel's
//! latest articles (`/c/{handle}`), its Atom feed
//! (`/c/{handle}/feed.atom`), and the pictures they show
//! (`/c/-/media/{id}`: a channel's avatar or an article's cover only —
//! `-` is in no handle).
//!
//! Every page is made here, server-side: an article's body is rendered
//! and sanitized by `markdown::to_html` (ammonia), and every other word
//! (titles, names, comments, dates) is escaped (`markdown::escape`). The
//! pages run no script at all, and their policy forbids any: no
//! `script-src` (so `default-src 'none'`), the one stylesheet allowed by
//! its hash, pictures from this origin only, no framing, no forms. The
//! shops' pages (`shop_pages.rs`) are made in the same frame: [`head`],
//! [`page`] and the one stylesheet are shared.

use std::fmt::Write as _;
use std::sync::LazyLock;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use piazza_api::Problem;
use piazza_core::channels::{Article, Channel, Comment};
use piazza_core::media::Reading;
use piazza_domain::channel::Handle;
use piazza_domain::{ArticleId, MediaId, Rejection};
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::error::ApiError;
use crate::markdown::{self, escape, plain_text};
use crate::routes::channels::{article_url, channel_url};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(channel_page))
        .routes(routes!(article_page))
        .routes(routes!(atom_feed))
        .routes(routes!(media_preview))
        .routes(routes!(media_thumbnail))
}

/// The pages' one stylesheet, inline and allowed by its hash.
const STYLE: &str = "body{font:17px/1.6 system-ui,sans-serif;margin:0;background:#f6f6f4;color:#1d1d1f}\
main{max-width:680px;margin:0 auto;padding:24px 20px 64px;background:#fff;min-height:100vh}\
header{color:#6b6b70;font-size:15px}header a{color:#0a7a4f;font-weight:600;text-decoration:none}\
h1{font-size:28px;line-height:1.3;margin:12px 0}img{max-width:100%;height:auto}\
.cover{width:100%;border-radius:8px;margin:8px 0 16px}article a{color:#0a7a4f}\
pre{overflow-x:auto;background:#f3f3f3;padding:12px;border-radius:6px}\
blockquote{border-left:4px solid #ddd;margin:0;padding-left:16px;color:#555}\
.comments{margin-top:40px;border-top:1px solid #eee}.comment{padding:10px 0;border-bottom:1px solid #f1f1f1}\
.comment small{color:#8a8a8e}.list a{display:block;padding:14px 0;border-bottom:1px solid #eee;\
color:inherit;text-decoration:none}.list small{color:#8a8a8e}.counts{color:#8a8a8e;font-size:14px}\
.list img{float:left;margin-right:12px;border-radius:6px}.list a::after{content:\"\";display:block;clear:both}\
.price{font-weight:600}.sold-out{color:#b3261e}.pictures img{display:block;margin:8px 0;border-radius:8px}\
.variants{width:100%;border-collapse:collapse}.variants td{padding:8px 4px;border-bottom:1px solid #eee}\
.note{margin-top:32px;padding:12px;background:#f3f3f3;border-radius:6px;font-size:15px}";

static CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    format!(
        "default-src 'none'; img-src 'self'; style-src 'sha256-{hash}'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    )
});

/// An answer of `content_type` with the pages' headers.
pub(crate) fn page(content_type: &'static str, body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(csp) = HeaderValue::from_str(&CSP) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "public, max-age=60"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn handle_of(text: &str) -> Result<Handle, ApiError> {
    Handle::parse(text).map_err(|_| Rejection::ChannelNotFound.into())
}

fn media_url(media: MediaId) -> String {
    format!("/c/-/media/{media}")
}

/// `path` as the links that leave the page give it (Open Graph tags, the
/// feed's links): absolute when the server knows its public address
/// (`Config::public_url`), otherwise as it is. A picture on the page
/// stays relative, as its policy allows only this origin's.
pub(crate) fn outside(app: &App, path: &str) -> String {
    format!("{}{path}", app.public_url)
}

/// The start of a page: its head, with `meta` (already escaped) in it.
pub(crate) fn head(title: &str, meta: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title}</title>{meta}<style>{STYLE}</style></head><body><main>"
    )
}

fn date(article: &Article) -> String {
    let at = article.published_at.to_rfc3339();
    format!(
        "<time datetime=\"{}\">{}</time>",
        escape(&at),
        escape(at.get(..10).unwrap_or(&at))
    )
}

fn comments_html(comments: &[Comment]) -> String {
    if comments.is_empty() {
        return String::new();
    }
    let mut html = String::from("<section class=\"comments\"><h2>Featured comments</h2>");
    for comment in comments {
        let _ = write!(
            html,
            "<div class=\"comment\"><p>{}</p><small>{}</small></div>",
            escape(&comment.text).replace('\n', "<br>"),
            escape(
                comment
                    .created_at
                    .to_rfc3339()
                    .get(..10)
                    .unwrap_or_default()
            )
        );
    }
    html.push_str("</section>");
    html
}

/// An article's page, for anyone: its title, cover, body, the channel's
/// name and the featured comments, with Open Graph tags for link cards.
#[utoipa::path(get, path = "/c/{handle}/{article_id}", tag = "channels",
    params(("handle" = String, Path), ("article_id" = String, Path)),
    responses(
        (status = 200, description = "the article's page", content_type = "text/html"),
        (status = 404, description = "channel_not_found, article_not_found", body = Problem),
    ))]
pub async fn article_page(
    State(app): State<App>,
    Path((handle, article)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let handle = handle_of(&handle)?;
    let article =
        ArticleId::parse(&article).map_err(|_| ApiError::from(Rejection::ArticleNotFound))?;
    let found = app.store.public_article(handle, article).await?;
    let (channel, article) = (&found.channel, &found.article);
    let title = escape(&article.title);
    let description = escape(&plain_text(&article.body_markdown, 200));
    let url = escape(&outside(
        &app,
        &article_url(&channel.handle, article.article_id),
    ));
    let mut meta = format!(
        "<meta name=\"description\" content=\"{description}\">\
         <meta property=\"og:type\" content=\"article\">\
         <meta property=\"og:title\" content=\"{title}\">\
         <meta property=\"og:description\" content=\"{description}\">\
         <meta property=\"og:site_name\" content=\"{}\">\
         <meta property=\"og:url\" content=\"{url}\">\
         <meta property=\"article:published_time\" content=\"{}\">\
         <link rel=\"alternate\" type=\"application/atom+xml\" href=\"{}/feed.atom\">",
        escape(&channel.name),
        escape(&article.published_at.to_rfc3339()),
        escape(&outside(&app, &channel_url(&channel.handle))),
    );
    let mut cover = String::new();
    if let Some(media) = article.cover {
        let src = escape(&media_url(media));
        let image = escape(&outside(&app, &media_url(media)));
        let _ = write!(meta, "<meta property=\"og:image\" content=\"{image}\">");
        cover = format!("<img class=\"cover\" src=\"{src}\" alt=\"\">");
    }
    let mut html = head(&format!("{title} · {}", escape(&channel.name)), &meta);
    let _ = write!(
        html,
        "<header><a href=\"{}\">{}</a> · {}</header><h1>{title}</h1>{cover}<article>{}</article>\
         <p class=\"counts\">{} reads · {} likes</p>{}</main></body></html>",
        escape(&channel_url(&channel.handle)),
        escape(&channel.name),
        date(article),
        markdown::to_html(&article.body_markdown),
        article.read_count,
        article.like_count,
        comments_html(&found.comments),
    );
    Ok(page("text/html; charset=utf-8", html))
}

/// A channel's page, for anyone: its name, description and latest
/// articles.
#[utoipa::path(get, path = "/c/{handle}", tag = "channels",
    params(("handle" = String, Path)),
    responses(
        (status = 200, description = "the channel's page", content_type = "text/html"),
        (status = 404, description = "channel_not_found", body = Problem),
    ))]
pub async fn channel_page(
    State(app): State<App>,
    Path(handle): Path<String>,
) -> Result<Response, ApiError> {
    let (channel, articles) = app.store.public_channel(handle_of(&handle)?).await?;
    let name = escape(&channel.name);
    let description = escape(&channel.description);
    let feed = escape(&outside(
        &app,
        &format!("{}/feed.atom", channel_url(&channel.handle)),
    ));
    let meta = format!(
        "<meta name=\"description\" content=\"{description}\">\
         <meta property=\"og:type\" content=\"website\"><meta property=\"og:title\" content=\"{name}\">\
         <meta property=\"og:description\" content=\"{description}\">\
         <meta property=\"og:url\" content=\"{}\">\
         <link rel=\"alternate\" type=\"application/atom+xml\" href=\"{feed}\">",
        escape(&outside(&app, &channel_url(&channel.handle))),
    );
    let mut html = head(&name, &meta);
    if let Some(avatar) = channel.avatar {
        let _ = write!(
            html,
            "<img src=\"{}/thumbnail\" alt=\"\" width=\"72\">",
            escape(&media_url(avatar))
        );
    }
    let _ = write!(
        html,
        "<h1>{name}</h1><p>{}</p><p class=\"counts\">@{} · {} followers · <a href=\"{feed}\">Atom feed</a></p><div class=\"list\">",
        description.replace('\n', "<br>"),
        escape(channel.handle.as_str()),
        channel.follower_count,
    );
    for article in &articles {
        let _ = write!(
            html,
            "<a href=\"{}\"><strong>{}</strong><br><small>{} · {}</small></a>",
            escape(&article_url(&channel.handle, article.article_id)),
            escape(&article.title),
            date(article),
            escape(&plain_text(&article.body_markdown, 120)),
        );
    }
    html.push_str("</div></main></body></html>");
    Ok(page("text/html; charset=utf-8", html))
}

fn atom_entry(app: &App, channel: &Channel, article: &Article) -> String {
    let url = escape(&outside(
        app,
        &article_url(&channel.handle, article.article_id),
    ));
    let published = escape(&article.published_at.to_rfc3339());
    format!(
        "<entry><id>urn:piazza:article:{}</id><title type=\"text\">{}</title>\
         <link rel=\"alternate\" type=\"text/html\" href=\"{url}\"/>\
         <published>{published}</published><updated>{published}</updated>\
         <summary type=\"text\">{}</summary><content type=\"html\">{}</content></entry>",
        article.article_id,
        escape(&article.title),
        escape(&plain_text(&article.body_markdown, 200)),
        escape(&markdown::to_html(&article.body_markdown)),
    )
}

/// A channel's latest articles as an Atom feed (RFC 4287), for feed
/// readers; its links are absolute when the server knows its public
/// address (`--public-url`), otherwise relative to the feed's.
#[utoipa::path(get, path = "/c/{handle}/feed.atom", tag = "channels",
    params(("handle" = String, Path)),
    responses(
        (status = 200, description = "the feed", content_type = "application/atom+xml"),
        (status = 404, description = "channel_not_found", body = Problem),
    ))]
pub async fn atom_feed(
    State(app): State<App>,
    Path(handle): Path<String>,
) -> Result<Response, ApiError> {
    let (channel, articles) = app.store.public_channel(handle_of(&handle)?).await?;
    let updated = articles
        .first()
        .map_or(channel.created_at, |article| article.published_at);
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <id>urn:piazza:channel:{}</id><title type=\"text\">{}</title>\
         <subtitle type=\"text\">{}</subtitle><updated>{}</updated>\
         <link rel=\"self\" type=\"application/atom+xml\" href=\"{}/feed.atom\"/>\
         <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/><author><name>{}</name></author>",
        channel.channel_id,
        escape(&channel.name),
        escape(&channel.description),
        escape(&updated.to_rfc3339()),
        escape(&outside(&app, &channel_url(&channel.handle))),
        escape(&outside(&app, &channel_url(&channel.handle))),
        escape(&channel.name),
    );
    for article in &articles {
        xml.push_str(&atom_entry(&app, &channel, article));
    }
    xml.push_str("</feed>\n");
    Ok(page("application/atom+xml; charset=utf-8", xml))
}

/// Whose public pages a picture is asked for: each shows its own only.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Public {
    /// A channel's avatar or an article's cover.
    Channels,
    /// A shop's logo or a listed product's picture.
    Shops,
}

/// A public page's picture `id`, for anyone: a string that is no media
/// id, and any media the pages of `public` do not show, are 404 as an
/// unknown id.
pub(crate) async fn public_media(
    app: &App,
    public: Public,
    id: &str,
    reading: Reading,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let media = MediaId::parse(id).map_err(|_| ApiError::from(Rejection::MediaNotFound))?;
    let max = app.limits.media_bytes_max as u64;
    let served = match public {
        Public::Channels => app.store.channel_media_served(media, reading, max).await?,
        Public::Shops => app.store.shop_media_served(media, reading, max).await?,
    };
    crate::routes::media::respond_served(app, &served, headers).await
}

/// A channel's avatar or an article's cover, for anyone (a preview, at
/// most 1280 pixels on its long side, with no metadata). Any other media
/// is 404, as an unknown id.
#[utoipa::path(get, path = "/c/-/media/{id}", tag = "channels",
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
    public_media(&app, Public::Channels, &id, Reading::Preview, &headers).await
}

/// The small picture (at most 320 pixels) of a channel's avatar or an
/// article's cover, for anyone.
#[utoipa::path(get, path = "/c/-/media/{id}/thumbnail", tag = "channels",
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
    public_media(&app, Public::Channels, &id, Reading::Thumbnail, &headers).await
}
