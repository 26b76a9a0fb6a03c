//! `GET /api/v1/search`: what the caller can find among what it can see.
//! The rules are `piazza_core::search`'s, the text rules
//! `piazza_domain::search`'s.

use axum::extract::State;
use piazza_api::search::{
    ArticleHit, ChannelHit, ContactHit, MessageHit, ProductHit, SearchHit, SearchResults,
    SnippetPart,
};
use piazza_api::{AccountView, Problem};
use piazza_core::search::documents::{DocKind, DocumentFound};
use piazza_core::search::{ContactFound, MessageFound};
use piazza_domain::search::{self, QueryError};
use piazza_domain::{
    ArticleId, ChannelId, ConversationId, MediaId, MessageId, ProductId, Rejection, ShopId,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::routes::conversations::page_limit;
use crate::routes::paging;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(search))
}

/// Results per page by default, and at most.
const PAGE_LEN: u32 = 20;
const PAGE_LEN_MAX: u32 = 50;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SearchParams {
    /// What to look for: words (the last one also matches longer words
    /// starting with it), Chinese, Japanese or Korean text; all of it
    /// must be there. Up to 200 characters.
    pub q: Option<String>,
    /// `messages` (the default), `contacts`, `channels`, `articles` or
    /// `products`.
    pub scope: Option<String>,
    /// Messages of this conversation only (`conv_…`).
    pub conversation_id: Option<String>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Results per page, 1 to 50 (default 20).
    pub limit: Option<u32>,
}

/// Search what you can see. Messages: from the conversations you are a
/// member of, in a group only those sent since you joined, never one
/// recalled or deleted for you; newest first. Contacts: by your remark,
/// their display name or username; whole-name matches first. Channels
/// (name, description, handle), articles (title, text) and listed
/// products (title, description): newest first. Each
/// result has a snippet with what matched marked. A message is
/// searchable within moments of being sent (the index follows the
/// writes).
#[utoipa::path(get, path = "/api/v1/search", tag = "search", security(("bearer" = [])),
    params(SearchParams),
    responses(
        (status = 200, body = SearchResults),
        (status = 400, description = "invalid_query, invalid_scope, invalid_cursor, invalid_limit", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member: of `conversation_id`", body = Problem),
    ))]
pub async fn search(
    State(app): State<App>,
    auth: Auth,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchResults>, ApiError> {
    let query = parse_query(params.q.as_deref())?;
    let limit = page_limit(params.limit, PAGE_LEN, PAGE_LEN_MAX)?;
    let scope = params.scope.as_deref().unwrap_or("messages");
    let (results, next_cursor) = match scope {
        "messages" => {
            let conversation = match params.conversation_id.as_deref() {
                Some(id) => Some(
                    ConversationId::parse(id).map_err(|_| ApiError::from(Rejection::NotAMember))?,
                ),
                None => None,
            };
            let before = paging::after(params.cursor.as_deref(), |key| MessageId::parse(key).ok())?;
            let found = app
                .store
                .search_messages(auth.account, query, conversation, before, limit)
                .await?;
            let next = paging::next_cursor(true, found.next.map(|id| id.to_string()));
            (found.messages.into_iter().map(message_hit).collect(), next)
        }
        "contacts" => {
            let skip = paging::after(params.cursor.as_deref(), |key| {
                let skip = key.parse::<usize>().ok()?;
                (skip <= piazza_domain::limits::CONTACTS_PER_ACCOUNT_MAX).then_some(skip)
            })?
            .unwrap_or(0);
            let found = app.store.search_contacts(auth.account, query).await?;
            let more = found.len() > skip + limit as usize;
            let page: Vec<SearchHit> = found
                .into_iter()
                .skip(skip)
                .take(limit as usize)
                .map(contact_hit)
                .collect();
            let next = paging::next_cursor(more, Some((skip + page.len()).to_string()));
            (page, next)
        }
        "channels" => documents(&app, DocKind::Channel, query, &params, limit).await?,
        "articles" => documents(&app, DocKind::Article, query, &params, limit).await?,
        "products" => documents(&app, DocKind::Product, query, &params, limit).await?,
        _ => {
            return Err(ApiError::invalid(
                "invalid_scope",
                "`scope` must be `messages`, `contacts`, `channels`, `articles` or `products`",
            ));
        }
    };
    Ok(Json(SearchResults {
        scope: scope.to_owned(),
        results,
        next_cursor,
    }))
}

/// A page of documents of `kind`; the cursor is the last one's row.
async fn documents(
    app: &App,
    kind: DocKind,
    query: search::Query,
    params: &SearchParams,
    limit: u32,
) -> Result<(Vec<SearchHit>, Option<String>), ApiError> {
    let before = paging::after(params.cursor.as_deref(), |key| {
        key.parse::<i64>().ok().filter(|row| *row > 0)
    })?;
    let found = app
        .store
        .search_documents(kind, query, before, limit)
        .await?;
    let next = paging::next_cursor(true, found.next.map(|row| row.to_string()));
    let hits = found
        .documents
        .into_iter()
        .map(|found| document_hit(kind, found))
        .collect();
    Ok((hits, next))
}

fn document_hit(kind: DocKind, found: DocumentFound) -> SearchHit {
    let document = found.document;
    let media = document.media.map(|row| MediaId::from_row(row).to_string());
    let (parent_id, parent_name) = document.parent.unwrap_or_default();
    match kind {
        DocKind::Channel => SearchHit::Channel(ChannelHit {
            channel_id: ChannelId::from_row(document.id).to_string(),
            handle: document.text.also,
            name: document.text.title,
            avatar_media_id: media,
            snippet: snippet(found.snippet),
        }),
        DocKind::Article => SearchHit::Article(ArticleHit {
            article_id: ArticleId::from_row(document.id).to_string(),
            channel_id: ChannelId::from_row(parent_id).to_string(),
            channel_name: parent_name,
            title: document.text.title,
            cover_media_id: media,
            published_at: document.at.to_rfc3339(),
            snippet: snippet(found.snippet),
        }),
        DocKind::Product => SearchHit::Product(ProductHit {
            product_id: ProductId::from_row(document.id).to_string(),
            shop_id: ShopId::from_row(parent_id).to_string(),
            shop_name: parent_name,
            title: document.text.title,
            media_id: media,
            snippet: snippet(found.snippet),
        }),
    }
}

fn parse_query(q: Option<&str>) -> Result<search::Query, ApiError> {
    let q = q.unwrap_or_default();
    search::Query::parse(q).map_err(|error| {
        let detail = match error {
            QueryError::Empty => "`q` must hold a word to search for".to_owned(),
            other => format!("`q`: {other}"),
        };
        ApiError::invalid("invalid_query", detail)
    })
}

fn snippet(parts: Vec<search::SnippetPart>) -> Vec<SnippetPart> {
    parts
        .into_iter()
        .map(|part| SnippetPart {
            text: part.text,
            hit: part.hit,
        })
        .collect()
}

fn message_hit(found: MessageFound) -> SearchHit {
    let sender = found.sender;
    SearchHit::Message(MessageHit {
        conversation_id: found.conversation.to_string(),
        message_id: found.message.to_string(),
        seq: found.seq.get(),
        sender: AccountView {
            account_id: sender.account_id.to_string(),
            username: sender.username.to_string(),
            display_name: sender.display_name,
            avatar_media_id: sender.avatar_media_id.map(|media| media.to_string()),
            bio: None,
        },
        sent_at: found.sent_at.to_rfc3339(),
        snippet: snippet(found.snippet),
    })
}

fn contact_hit(found: ContactFound) -> SearchHit {
    let account = found.account;
    SearchHit::Contact(ContactHit {
        account_id: account.account_id.to_string(),
        username: account.username.to_string(),
        display_name: account.display_name,
        avatar_media_id: account.avatar_media_id.map(|media| media.to_string()),
        remark: found.remark,
        matched: found.matched.as_str().to_owned(),
        snippet: snippet(found.snippet),
    })
}
