//! The bodies of Moments, the friends' feed: a post, the feed and one
//! account's posts, likes and comments.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{AccountBrief, LocationView};

/// `POST /api/v1/moments`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct NewMoment {
    /// Up to 2,000 characters; may be empty when there are pictures.
    #[serde(default)]
    pub text: String,
    /// Up to nine of your own uploads, shown in this order.
    #[serde(default)]
    pub media_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationView>,
    /// Who may see it; your contacts when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<VisibilityView>,
}

/// Who may see a post.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct VisibilityView {
    /// `contacts` (every contact), `only` (only the contacts in
    /// `accounts`), `except` (every contact but those in `accounts`) or
    /// `private` (you alone).
    pub kind: String,
    /// Account ids of your contacts, for `only` and `except`.
    #[serde(default)]
    pub accounts: Vec<String>,
}

/// The answer to `POST /api/v1/moments`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MomentCreated {
    pub moment_id: String,
}

/// A picture of a post.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MomentMediaView {
    /// Read with `GET /api/v1/media/{id}` (or its `/thumbnail`, `/preview`).
    pub media_id: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// A like, as the caller may see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MomentLikeView {
    pub account: AccountBrief,
    pub created_at: String,
}

/// A comment, as the caller may see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MomentCommentView {
    pub comment_id: String,
    pub account: AccountBrief,
    pub text: String,
    /// The comment this one answers, and its author's id.
    pub reply_to: Option<String>,
    pub reply_to_account: Option<String>,
    pub created_at: String,
}

/// A post as the caller may see it: likes and comments only from the
/// caller's contacts, the caller and the author.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct MomentView {
    pub moment_id: String,
    pub author: AccountBrief,
    pub text: String,
    pub media: Vec<MomentMediaView>,
    pub location: Option<LocationView>,
    pub created_at: String,
    /// Who may see it: shown to its author only (absent for others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<VisibilityView>,
    /// The newest 50 at most of the likes the caller may see, oldest
    /// first.
    pub likes: Vec<MomentLikeView>,
    /// How many likes the caller may see in all (`likes` holds the newest
    /// of them): a client shows "and N more" past `likes`.
    #[serde(default)]
    pub like_count: u32,
    pub comments: Vec<MomentCommentView>,
    /// The caller liked it.
    pub liked: bool,
}

/// `GET /api/v1/moments/feed`, `GET /api/v1/accounts/{id}/moments`:
/// newest first. A page may hold fewer than `limit` posts and still have
/// a `next_cursor`: follow it until it is null.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct MomentList {
    pub moments: Vec<MomentView>,
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/moments/{id}/comments`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct NewMomentComment {
    /// 1 to 500 characters.
    pub text: String,
    /// A comment on the same post, which the caller can see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
}

/// The answer to `POST /api/v1/moments/{id}/comments`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MomentCommentCreated {
    pub comment_id: String,
}
