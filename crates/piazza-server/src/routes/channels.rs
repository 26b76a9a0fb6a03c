//! Channels (official accounts): create, follow, find, editors, publish,
//! read, the subscriptions feed, comments and likes. The rules are
//! `piazza_core::channels`'; the public pages are `channel_pages.rs`.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use piazza_api::{
    ArticleCreated, ArticleList, ArticlePreview, ArticleSummary, ArticleView, ChannelCreated,
    ChannelList, ChannelSummary, ChannelView, CommentList, CommentView, CreateChannel, FeedItem,
    Likes, PostComment, PreviewArticle, Problem, PublishArticle, SubscriptionsFeed,
};
use piazza_core::channels::{self as rules, CommentStatus, NewArticle, NewChannel};
use piazza_domain::channel::{
    ARTICLE_REQUEST_BYTES_MAX, ArticleBody, ArticleTitle, ChannelDescription, ChannelName,
    CommentText, Handle,
};
use piazza_domain::{AccountId, ArticleId, ChannelId, CommentId, MediaId, Rejection};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::markdown;
use crate::routes::paging::{ListQuery, next_cursor};

/// How many characters of a body a list shows.
const EXCERPT_CHARS: usize = 140;

/// This area's routes. Publishing and previewing take an article's body,
/// past the 64 KiB every other JSON body is capped at.
pub fn routes() -> OpenApiRouter<App> {
    let long_bodies = OpenApiRouter::new()
        .routes(routes!(publish))
        .routes(routes!(preview))
        .layer(DefaultBodyLimit::max(ARTICLE_REQUEST_BYTES_MAX));
    OpenApiRouter::new()
        .routes(routes!(create, find))
        .routes(routes!(get_channel))
        .routes(routes!(follow, unfollow))
        .routes(routes!(add_editor, remove_editor))
        .routes(routes!(channel_articles))
        .routes(routes!(get_article))
        .routes(routes!(feed))
        .routes(routes!(comment, comments))
        .routes(routes!(feature, unfeature))
        .routes(routes!(like, unlike))
        .merge(long_bodies)
}

/// An id that cannot exist is answered like an unknown one.
fn channel_id(text: &str) -> Result<ChannelId, ApiError> {
    ChannelId::parse(text).map_err(|_| Rejection::ChannelNotFound.into())
}

fn article_id(text: &str) -> Result<ArticleId, ApiError> {
    ArticleId::parse(text).map_err(|_| Rejection::ArticleNotFound.into())
}

fn media_id(text: Option<&str>) -> Result<Option<MediaId>, ApiError> {
    text.map(|text| MediaId::parse(text).map_err(|_| Rejection::MediaNotFound.into()))
        .transpose()
}

/// The public page of a channel, and of one of its articles.
pub fn channel_url(handle: &Handle) -> String {
    format!("/c/{handle}")
}

pub fn article_url(handle: &Handle, article: ArticleId) -> String {
    format!("/c/{handle}/{article}")
}

pub(crate) fn summary(channel: &rules::Channel) -> ChannelSummary {
    ChannelSummary {
        channel_id: channel.channel_id.to_string(),
        handle: channel.handle.as_str().to_owned(),
        name: channel.name.clone(),
        description: channel.description.clone(),
        avatar_media_id: channel.avatar.map(|media| media.to_string()),
        follower_count: channel.follower_count,
        article_count: channel.article_count,
        url: channel_url(&channel.handle),
    }
}

fn comment_view(comment: &rules::Comment) -> CommentView {
    CommentView {
        comment_id: comment.comment_id.to_string(),
        author: comment.author.to_string(),
        text: comment.text.clone(),
        created_at: comment.created_at.to_rfc3339(),
        featured: comment.featured_at.is_some(),
    }
}

/// Create a channel (an official account) that you own.
#[utoipa::path(post, path = "/api/v1/channels", tag = "channels", security(("bearer" = [])),
    request_body = CreateChannel,
    responses(
        (status = 201, body = ChannelCreated),
        (status = 400, description = "invalid_handle, invalid_name, invalid_description", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "media_not_found: the avatar is not a media you uploaded", body = Problem),
        (status = 409, description = "handle_taken; limit_reached: you own as many channels as one may", body = Problem),
        (status = 422, description = "media_kind_mismatch: the avatar is not a picture", body = Problem),
    ))]
pub async fn create(
    State(app): State<App>,
    auth: Auth,
    Json(body): Json<CreateChannel>,
) -> Result<(StatusCode, Json<ChannelCreated>), ApiError> {
    let new = NewChannel {
        handle: Handle::parse(&body.handle)?,
        name: ChannelName::parse(&body.name)?,
        description: ChannelDescription::parse(&body.description)?,
        avatar: media_id(body.avatar_media_id.as_deref())?,
    };
    let channel = app.store.create_channel(auth.account, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(ChannelCreated {
            channel_id: channel.to_string(),
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FindQuery {
    /// Words of a channel's handle or name (any case); empty or absent:
    /// the most followed channels.
    pub q: Option<String>,
}

/// Find channels by handle or name, the most followed first (up to 50).
#[utoipa::path(get, path = "/api/v1/channels", tag = "channels", security(("bearer" = [])),
    params(FindQuery),
    responses((status = 200, body = ChannelList), (status = 401, body = Problem)))]
pub async fn find(
    State(app): State<App>,
    _auth: Auth,
    Query(query): Query<FindQuery>,
) -> Result<Json<ChannelList>, ApiError> {
    let found = app.store.find_channels(query.q.unwrap_or_default()).await?;
    Ok(Json(ChannelList {
        channels: found.iter().map(summary).collect(),
    }))
}

/// A channel, with its follower count and what you are to it.
#[utoipa::path(get, path = "/api/v1/channels/{id}", tag = "channels", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ChannelView),
        (status = 401, body = Problem),
        (status = 404, description = "channel_not_found", body = Problem),
    ))]
pub async fn get_channel(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<ChannelView>, ApiError> {
    let view = app
        .store
        .channel_view(auth.account, channel_id(&id)?)
        .await?;
    Ok(Json(ChannelView {
        channel: summary(&view.channel),
        owner: view.channel.owner.to_string(),
        created_at: view.channel.created_at.to_rfc3339(),
        following: view.following,
        your_role: view.role.as_str().to_owned(),
        editors: view.editors.iter().map(ToString::to_string).collect(),
    }))
}

/// Follow a channel: its articles join your subscriptions feed, and each
/// new one reaches your devices (`article.published`). Following again
/// changes nothing.
#[utoipa::path(post, path = "/api/v1/channels/{id}/follow", tag = "channels",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses(
        (status = 204),
        (status = 401, body = Problem),
        (status = 404, description = "channel_not_found", body = Problem),
        (status = 409, description = "limit_reached: you follow as many channels as one may", body = Problem),
    ))]
pub async fn follow(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.store
        .follow_channel(auth.account, channel_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop following a channel; not following changes nothing.
#[utoipa::path(delete, path = "/api/v1/channels/{id}/follow", tag = "channels",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses(
        (status = 204),
        (status = 401, body = Problem),
        (status = 404, description = "channel_not_found", body = Problem),
    ))]
pub async fn unfollow(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.store
        .unfollow_channel(auth.account, channel_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_editor(
    app: &App,
    auth: &Auth,
    id: &str,
    account: &str,
    on: bool,
) -> Result<StatusCode, ApiError> {
    let channel = channel_id(id)?;
    let editor =
        AccountId::parse(account).map_err(|_| ApiError::from(Rejection::AccountNotFound))?;
    app.store
        .set_channel_editor(auth.account, channel, editor, on)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The owner names an editor, who may then publish and feature comments.
/// Naming one again changes nothing. An editor is one of the owner's
/// contacts (no block either way); anyone else is 404, as an unknown id.
#[utoipa::path(put, path = "/api/v1/channels/{id}/editors/{account_id}", tag = "channels",
    security(("bearer" = [])), params(("id" = String, Path), ("account_id" = String, Path)),
    responses(
        (status = 204),
        (status = 400, description = "self_target: the owner is no editor", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_channel_owner", body = Problem),
        (status = 404, description = "channel_not_found, account_not_found", body = Problem),
        (status = 409, description = "limit_reached: 50 editors", body = Problem),
    ))]
pub async fn add_editor(
    State(app): State<App>,
    auth: Auth,
    Path((id, account)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    set_editor(&app, &auth, &id, &account, true).await
}

/// The owner takes an editor's role back; one who is none changes nothing.
#[utoipa::path(delete, path = "/api/v1/channels/{id}/editors/{account_id}", tag = "channels",
    security(("bearer" = [])), params(("id" = String, Path), ("account_id" = String, Path)),
    responses(
        (status = 204),
        (status = 401, body = Problem),
        (status = 403, description = "not_channel_owner", body = Problem),
        (status = 404, description = "channel_not_found", body = Problem),
    ))]
pub async fn remove_editor(
    State(app): State<App>,
    auth: Auth,
    Path((id, account)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    set_editor(&app, &auth, &id, &account, false).await
}

/// Publish an article (the owner or an editor). It answers once the
/// article is stored, whatever the number of followers: they learn of it
/// in the background (`article.published` in each follower's log, live
/// if online), and their subscriptions feed has it at once.
#[utoipa::path(post, path = "/api/v1/channels/{id}/articles", tag = "channels",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = PublishArticle,
    responses(
        (status = 201, body = ArticleCreated),
        (status = 400, description = "invalid_title, invalid_body_markdown, article_too_long", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_channel_editor: neither its owner nor an editor", body = Problem),
        (status = 404, description = "channel_not_found; media_not_found: the cover is not a media you uploaded", body = Problem),
        (status = 413, description = "body_too_large", body = Problem),
        (status = 422, description = "media_kind_mismatch: the cover is not a picture", body = Problem),
    ))]
pub async fn publish(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<PublishArticle>,
) -> Result<(StatusCode, Json<ArticleCreated>), ApiError> {
    let channel = channel_id(&id)?;
    let article = NewArticle {
        title: ArticleTitle::parse(&body.title)?,
        body: ArticleBody::parse(&body.body_markdown)?,
        cover: media_id(body.cover_media_id.as_deref())?,
    };
    let (article, handle) = app
        .store
        .publish_article(auth.account, channel, article)
        .await?;
    app.fanout_wake.notify_one();
    Ok((
        StatusCode::CREATED,
        Json(ArticleCreated {
            article_id: article.to_string(),
            url: article_url(&handle, article),
        }),
    ))
}

/// Markdown rendered as it will be shown (sanitized), for an editor's
/// preview before publishing. Stores nothing.
#[utoipa::path(post, path = "/api/v1/articles/preview", tag = "channels",
    security(("bearer" = [])), request_body = PreviewArticle,
    responses(
        (status = 200, body = ArticlePreview),
        (status = 400, description = "invalid_body_markdown, article_too_long", body = Problem),
        (status = 401, body = Problem),
    ))]
pub async fn preview(
    _auth: Auth,
    Json(body): Json<PreviewArticle>,
) -> Result<Json<ArticlePreview>, ApiError> {
    let markdown = ArticleBody::parse(&body.body_markdown)?;
    Ok(Json(ArticlePreview {
        body_html: markdown::to_html(markdown.as_str()),
    }))
}

fn article_summary(handle: &Handle, article: &rules::Article) -> ArticleSummary {
    ArticleSummary {
        article_id: article.article_id.to_string(),
        channel_id: article.channel_id.to_string(),
        title: article.title.clone(),
        excerpt: markdown::plain_text(&article.body_markdown, EXCERPT_CHARS),
        cover_media_id: article.cover.map(|media| media.to_string()),
        published_at: article.published_at.to_rfc3339(),
        read_count: article.read_count,
        like_count: article.like_count,
        url: article_url(handle, article.article_id),
    }
}

/// A channel's articles, newest first.
#[utoipa::path(get, path = "/api/v1/channels/{id}/articles", tag = "channels",
    security(("bearer" = [])), params(("id" = String, Path), ListQuery),
    responses(
        (status = 200, body = ArticleList),
        (status = 400, description = "invalid_cursor, invalid_limit", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "channel_not_found", body = Problem),
    ))]
pub async fn channel_articles(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<ArticleList>, ApiError> {
    let channel = channel_id(&id)?;
    let before = query.after(|key| ArticleId::parse(key).ok())?;
    let limit = query.limit()?;
    let view = app.store.channel_view(auth.account, channel).await?;
    let page = app.store.channel_articles(channel, before, limit).await?;
    let handle = &view.channel.handle;
    Ok(Json(ArticleList {
        next_cursor: next_cursor(
            page.has_more,
            page.items.last().map(|a| a.article_id.to_string()),
        ),
        has_more: page.has_more,
        articles: page
            .items
            .iter()
            .map(|article| article_summary(handle, article))
            .collect(),
    }))
}

/// Read an article: counted once per account among its readers. You see
/// its featured comments and your own; its owner and editors see every
/// comment.
#[utoipa::path(get, path = "/api/v1/articles/{id}", tag = "channels",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses(
        (status = 200, body = ArticleView),
        (status = 401, body = Problem),
        (status = 404, description = "article_not_found", body = Problem),
    ))]
pub async fn get_article(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<ArticleView>, ApiError> {
    let view = app
        .store
        .open_article(auth.account, article_id(&id)?)
        .await?;
    let article = &view.article;
    Ok(Json(ArticleView {
        article_id: article.article_id.to_string(),
        channel: summary(&view.channel),
        author: article.author.to_string(),
        title: article.title.clone(),
        body_html: markdown::to_html(&article.body_markdown),
        body_markdown: article.body_markdown.clone(),
        cover_media_id: article.cover.map(|media| media.to_string()),
        published_at: article.published_at.to_rfc3339(),
        read_count: article.read_count,
        like_count: article.like_count,
        liked: view.liked,
        your_role: view.role.as_str().to_owned(),
        comments: view.comments.iter().map(comment_view).collect(),
        url: article_url(&view.channel.handle, article.article_id),
    }))
}

/// The articles of the channels you follow, newest first, each with
/// whether you have read it.
#[utoipa::path(get, path = "/api/v1/subscriptions/feed", tag = "channels",
    security(("bearer" = [])), params(ListQuery),
    responses(
        (status = 200, body = SubscriptionsFeed),
        (status = 400, description = "invalid_cursor, invalid_limit", body = Problem),
        (status = 401, body = Problem),
    ))]
pub async fn feed(
    State(app): State<App>,
    auth: Auth,
    Query(query): Query<ListQuery>,
) -> Result<Json<SubscriptionsFeed>, ApiError> {
    let before = query.after(|key| ArticleId::parse(key).ok())?;
    let limit = crate::routes::conversations::page_limit(query.limit, 20, 200)?;
    let page = app
        .store
        .subscriptions_feed(auth.account, before, limit)
        .await?;
    let items = page
        .items
        .iter()
        .map(|item| FeedItem {
            article: ArticleSummary {
                article_id: item.article_id.to_string(),
                channel_id: item.channel_id.to_string(),
                title: item.title.clone(),
                excerpt: markdown::plain_text(&item.excerpt, EXCERPT_CHARS),
                cover_media_id: item.cover.map(|media| media.to_string()),
                published_at: item.published_at.to_rfc3339(),
                read_count: item.read_count,
                like_count: item.like_count,
                url: article_url(&item.handle, item.article_id),
            },
            handle: item.handle.as_str().to_owned(),
            channel_name: item.channel_name.clone(),
            channel_avatar_media_id: item.channel_avatar.map(|media| media.to_string()),
            read: item.read,
        })
        .collect();
    Ok(Json(SubscriptionsFeed {
        next_cursor: next_cursor(
            page.has_more,
            page.items.last().map(|item| item.article_id.to_string()),
        ),
        has_more: page.has_more,
        items,
    }))
}

/// Comment on an article. It is held, seen only by you and the channel's
/// owner and editors, until one of them features it (a comment of the
/// owner's or an editor's is featured at once).
#[utoipa::path(post, path = "/api/v1/articles/{id}/comments", tag = "channels",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = PostComment,
    responses(
        (status = 201, body = CommentView),
        (status = 400, description = "invalid_text", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "article_not_found", body = Problem),
        (status = 409, description = "limit_reached: 50 comments per article", body = Problem),
    ))]
pub async fn comment(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<PostComment>,
) -> Result<(StatusCode, Json<CommentView>), ApiError> {
    let article = article_id(&id)?;
    let text = CommentText::parse(&body.text)?;
    let comment = app
        .store
        .comment_article(auth.account, article, text)
        .await?;
    Ok((StatusCode::CREATED, Json(comment_view(&comment))))
}

/// `GET /api/v1/articles/{id}/comments`: a page of comments.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CommentsQuery {
    /// Comments per page, 1 to 200 (default 200; larger values are capped).
    #[param(minimum = 1)]
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page; absent for the first page.
    pub cursor: Option<String>,
    /// `all` (the default), `held` or `featured`.
    pub status: Option<String>,
}

/// A page of an article's comments, newest first, past the newest 200 an
/// article holds: its owner and editors page through every comment (or
/// the held ones, or the featured); anyone else through the featured
/// ones and their own.
#[utoipa::path(get, path = "/api/v1/articles/{id}/comments", tag = "channels",
    security(("bearer" = [])), params(("id" = String, Path), CommentsQuery),
    responses(
        (status = 200, body = CommentList),
        (status = 400, description = "invalid_cursor, invalid_limit, invalid_status", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "article_not_found", body = Problem),
    ))]
pub async fn comments(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Query(query): Query<CommentsQuery>,
) -> Result<Json<CommentList>, ApiError> {
    let article = article_id(&id)?;
    let status = match query.status.as_deref() {
        None => CommentStatus::All,
        Some(text) => CommentStatus::parse(text).ok_or_else(|| {
            ApiError::invalid(
                "invalid_status",
                "`status` must be `all`, `held` or `featured`",
            )
        })?,
    };
    let paging = ListQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let before = paging.after(|key| CommentId::parse(key).ok())?;
    let limit = paging.limit()?;
    let page = app
        .store
        .article_comments(auth.account, article, status, before, limit)
        .await?;
    Ok(Json(CommentList {
        next_cursor: next_cursor(
            page.has_more,
            page.items.last().map(|item| item.comment_id.to_string()),
        ),
        has_more: page.has_more,
        comments: page.items.iter().map(comment_view).collect(),
    }))
}

async fn set_featured(
    app: &App,
    auth: &Auth,
    id: &str,
    comment: &str,
    on: bool,
) -> Result<Json<CommentView>, ApiError> {
    let article = article_id(id)?;
    let comment =
        CommentId::parse(comment).map_err(|_| ApiError::from(Rejection::CommentNotFound))?;
    let comment = app
        .store
        .feature_comment(auth.account, article, comment, on)
        .await?;
    Ok(Json(comment_view(&comment)))
}

/// Feature a comment (the channel's owner or an editor): every reader
/// sees it from now on, and so does the public page.
#[utoipa::path(post, path = "/api/v1/articles/{id}/comments/{comment_id}/feature",
    tag = "channels", security(("bearer" = [])),
    params(("id" = String, Path), ("comment_id" = String, Path)),
    responses(
        (status = 200, body = CommentView),
        (status = 401, body = Problem),
        (status = 403, description = "not_channel_editor", body = Problem),
        (status = 404, description = "article_not_found, comment_not_found", body = Problem),
    ))]
pub async fn feature(
    State(app): State<App>,
    auth: Auth,
    Path((id, comment)): Path<(String, String)>,
) -> Result<Json<CommentView>, ApiError> {
    set_featured(&app, &auth, &id, &comment, true).await
}

/// Hold a featured comment again (the owner or an editor).
#[utoipa::path(delete, path = "/api/v1/articles/{id}/comments/{comment_id}/feature",
    tag = "channels", security(("bearer" = [])),
    params(("id" = String, Path), ("comment_id" = String, Path)),
    responses(
        (status = 200, body = CommentView),
        (status = 401, body = Problem),
        (status = 403, description = "not_channel_editor", body = Problem),
        (status = 404, description = "article_not_found, comment_not_found", body = Problem),
    ))]
pub async fn unfeature(
    State(app): State<App>,
    auth: Auth,
    Path((id, comment)): Path<(String, String)>,
) -> Result<Json<CommentView>, ApiError> {
    set_featured(&app, &auth, &id, &comment, false).await
}

/// Like an article; liking again changes nothing.
#[utoipa::path(post, path = "/api/v1/articles/{id}/likes", tag = "channels",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses(
        (status = 200, body = Likes),
        (status = 401, body = Problem),
        (status = 404, description = "article_not_found", body = Problem),
    ))]
pub async fn like(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Likes>, ApiError> {
    let like_count = app
        .store
        .like_article(auth.account, article_id(&id)?, true)
        .await?;
    Ok(Json(Likes {
        like_count,
        liked: true,
    }))
}

/// Take a like back; not liking changes nothing.
#[utoipa::path(delete, path = "/api/v1/articles/{id}/likes", tag = "channels",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses(
        (status = 200, body = Likes),
        (status = 401, body = Problem),
        (status = 404, description = "article_not_found", body = Problem),
    ))]
pub async fn unlike(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Likes>, ApiError> {
    let like_count = app
        .store
        .like_article(auth.account, article_id(&id)?, false)
        .await?;
    Ok(Json(Likes {
        like_count,
        liked: false,
    }))
}
