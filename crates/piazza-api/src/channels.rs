//! The bodies of channels (official accounts): channels, articles, the
//! subscriptions feed, comments and likes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/v1/channels`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CreateChannel {
    /// 3–32 of `a-z0-9_.`, unique among channels; its public page is
    /// `/c/{handle}`.
    pub handle: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// A picture the caller uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_media_id: Option<String>,
}

/// `POST /api/v1/channels`: 201.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ChannelCreated {
    pub channel_id: String,
}

/// A channel as lists show it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ChannelSummary {
    pub channel_id: String,
    pub handle: String,
    pub name: String,
    pub description: String,
    /// Its picture, served to anyone at `/c/-/media/{id}`.
    pub avatar_media_id: Option<String>,
    pub follower_count: u64,
    pub article_count: u64,
    /// Its public page, `/c/{handle}`.
    pub url: String,
}

/// `GET /api/v1/channels/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ChannelView {
    pub channel: ChannelSummary,
    pub owner: String,
    pub created_at: String,
    pub following: bool,
    /// The caller's role: `owner`, `editor` or `reader`.
    pub your_role: String,
    /// Its editors' account ids, shown to its owner and editors (empty
    /// for a reader).
    pub editors: Vec<String>,
}

/// `GET /api/v1/channels?q=`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ChannelList {
    pub channels: Vec<ChannelSummary>,
}

/// `POST /api/v1/channels/{id}/articles`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PublishArticle {
    pub title: String,
    /// Markdown, up to 100,000 bytes; rendered and sanitized wherever it
    /// is shown.
    pub body_markdown: String,
    /// A picture the caller uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cover_media_id: Option<String>,
}

/// `POST /api/v1/channels/{id}/articles`: 201.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ArticleCreated {
    pub article_id: String,
    /// Its public page, `/c/{handle}/{article_id}`.
    pub url: String,
}

/// `POST /api/v1/articles/preview`: Markdown to see before publishing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PreviewArticle {
    pub body_markdown: String,
}

/// The HTML a body renders to, sanitized (as on the public page).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ArticlePreview {
    pub body_html: String,
}

/// A comment as the caller may see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CommentView {
    pub comment_id: String,
    pub author: String,
    pub text: String,
    pub created_at: String,
    /// Held comments are seen only by their author and the channel's
    /// owner and editors, until one of those features them.
    pub featured: bool,
}

/// `GET /api/v1/articles/{id}/comments`: a page of an article's comments,
/// newest first; follow `next_cursor` for older ones.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CommentList {
    pub comments: Vec<CommentView>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/articles/{id}`: the article, counted as read by the
/// caller (each account once).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ArticleView {
    pub article_id: String,
    pub channel: ChannelSummary,
    pub author: String,
    pub title: String,
    pub body_markdown: String,
    /// The body rendered and sanitized (no script, event handler or
    /// `javascript:` link).
    pub body_html: String,
    pub cover_media_id: Option<String>,
    pub published_at: String,
    /// Accounts that opened it, each once.
    pub read_count: u64,
    pub like_count: u64,
    pub liked: bool,
    /// `owner`, `editor` or `reader`.
    pub your_role: String,
    /// Newest first: the featured ones and the caller's own, or every one
    /// for the channel's owner and editors.
    pub comments: Vec<CommentView>,
    pub url: String,
}

/// A channel's article as a list shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ArticleSummary {
    pub article_id: String,
    pub channel_id: String,
    pub title: String,
    /// The start of the body, as plain text.
    pub excerpt: String,
    pub cover_media_id: Option<String>,
    pub published_at: String,
    pub read_count: u64,
    pub like_count: u64,
    pub url: String,
}

/// `GET /api/v1/channels/{id}/articles`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ArticleList {
    pub articles: Vec<ArticleSummary>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One article of the subscriptions feed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct FeedItem {
    pub article: ArticleSummary,
    pub handle: String,
    pub channel_name: String,
    pub channel_avatar_media_id: Option<String>,
    /// Whether the caller has opened it.
    pub read: bool,
}

/// `GET /api/v1/subscriptions/feed`: articles of the channels the caller
/// follows, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct SubscriptionsFeed {
    pub items: Vec<FeedItem>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/articles/{id}/comments`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PostComment {
    pub text: String,
}

/// `POST`/`DELETE /api/v1/articles/{id}/likes`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Likes {
    pub like_count: u64,
    pub liked: bool,
}
