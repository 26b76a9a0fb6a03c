//! Cursor pagination for the small lists (devices, contacts, requests,
//! conversations). A cursor is `p1.` and the sort key of the last item
//! returned; the version prefix lets the encoding change later.

use piazza_domain::limits;
use serde::Deserialize;

use crate::error::ApiError;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Items per page, 1 to 200 (default 200; larger values are capped).
    #[param(minimum = 1)]
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page; absent for the first page.
    pub cursor: Option<String>,
}

const PREFIX: &str = "p1.";

impl ListQuery {
    pub fn limit(&self) -> Result<u32, ApiError> {
        crate::routes::conversations::page_limit(
            self.limit,
            limits::PAGE_LEN_MAX,
            limits::PAGE_LEN_MAX,
        )
    }

    /// The sort key inside the cursor, parsed by `parse`; any failure is
    /// a 400 `invalid_cursor`.
    pub fn after<T>(&self, parse: impl FnOnce(&str) -> Option<T>) -> Result<Option<T>, ApiError> {
        after(self.cursor.as_deref(), parse)
    }
}

/// The sort key inside `cursor`, for lists with query parameters of their
/// own; any failure is a 400 `invalid_cursor`.
pub fn after<T>(
    cursor: Option<&str>,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    cursor
        .strip_prefix(PREFIX)
        .and_then(parse)
        .map(Some)
        .ok_or_else(invalid_cursor)
}

/// The cursor for the page after the one ending at `key`, if there is one.
pub fn next_cursor(has_more: bool, key: Option<String>) -> Option<String> {
    has_more
        .then_some(key)
        .flatten()
        .map(|key| format!("{PREFIX}{key}"))
}

fn invalid_cursor() -> ApiError {
    ApiError::invalid(
        "invalid_cursor",
        "`cursor` must be a `next_cursor` this server returned; omit it to start over",
    )
}
