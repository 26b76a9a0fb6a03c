//! Search: `GET /api/v1/search`.

use piazza_api::search::SearchResults;
use reqwest::Method;

use crate::{Client, ClientError, decode};

/// What to search and where; `Search::messages("…")` and
/// `Search::contacts("…")` start one.
#[derive(Debug, Clone, Default)]
pub struct Search<'a> {
    pub q: &'a str,
    /// `messages`, `contacts`, `channels`, `articles` or `products`.
    pub scope: &'a str,
    /// Messages of this conversation only.
    pub conversation_id: Option<&'a str>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<&'a str>,
    pub limit: Option<u32>,
}

impl<'a> Search<'a> {
    pub fn messages(q: &'a str) -> Search<'a> {
        Search {
            q,
            scope: "messages",
            ..Search::default()
        }
    }

    /// `scope`: `channels`, `articles`, `products` (or the two above).
    pub fn of(scope: &'a str, q: &'a str) -> Search<'a> {
        Search {
            q,
            scope,
            ..Search::default()
        }
    }

    pub fn contacts(q: &'a str) -> Search<'a> {
        Search {
            q,
            scope: "contacts",
            ..Search::default()
        }
    }
}

impl Client {
    /// `GET /api/v1/search`: a page of what this account can find.
    pub async fn search(&self, search: &Search<'_>) -> Result<SearchResults, ClientError> {
        let mut query: Vec<(&str, String)> = vec![
            ("q", search.q.to_owned()),
            ("scope", search.scope.to_owned()),
        ];
        if let Some(conversation) = search.conversation_id {
            query.push(("conversation_id", conversation.to_owned()));
        }
        if let Some(cursor) = search.cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        if let Some(limit) = search.limit {
            query.push(("limit", limit.to_string()));
        }
        let request = self.request(Method::GET, "/api/v1/search").query(&query);
        decode(&self.call(request).await?)
    }
}
