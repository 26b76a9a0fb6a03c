//! `GET /api/v1/search`'s answer.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AccountView;

/// A page of what a search found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchResults {
    /// The scope searched: `messages`, `contacts`, ….
    pub scope: String,
    /// Messages newest first; contacts best match first.
    pub results: Vec<SearchHit>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// One thing found; `type` says which.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SearchHit {
    Message(MessageHit),
    Contact(ContactHit),
    Channel(ChannelHit),
    Article(ArticleHit),
    Product(ProductHit),
}

/// A message found, shown by its snippet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MessageHit {
    pub conversation_id: String,
    pub message_id: String,
    /// Its place in the conversation, to open the history there.
    pub seq: i64,
    pub sender: AccountView,
    pub sent_at: String,
    pub snippet: Vec<SnippetPart>,
}

/// A contact found by its remark, display name or username.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContactHit {
    pub account_id: String,
    pub username: String,
    pub display_name: String,
    #[serde(default)]
    pub avatar_media_id: Option<String>,
    /// The caller's own name for this contact, or null.
    #[serde(default)]
    pub remark: Option<String>,
    /// Which name matched: `remark`, `display_name` or `username`.
    pub matched: String,
    /// That name, with what matched marked.
    pub snippet: Vec<SnippetPart>,
}

/// A channel found by its name, description or handle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChannelHit {
    pub channel_id: String,
    pub handle: String,
    pub name: String,
    #[serde(default)]
    pub avatar_media_id: Option<String>,
    /// Its name with what matched marked, or its description's.
    pub snippet: Vec<SnippetPart>,
}

/// An article found by its title or text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ArticleHit {
    pub article_id: String,
    pub channel_id: String,
    pub channel_name: String,
    pub title: String,
    #[serde(default)]
    pub cover_media_id: Option<String>,
    pub published_at: String,
    /// Its title with what matched marked, or its text's.
    pub snippet: Vec<SnippetPart>,
}

/// A listed product found by its title or description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProductHit {
    pub product_id: String,
    pub shop_id: String,
    pub shop_name: String,
    pub title: String,
    /// Its first picture.
    #[serde(default)]
    pub media_id: Option<String>,
    /// Its title with what matched marked, or its description's.
    pub snippet: Vec<SnippetPart>,
}

/// A piece of a snippet: `hit` pieces are what matched, to be
/// highlighted; a snippet cut from a longer text starts or ends with "…".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SnippetPart {
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hit: bool,
}
