//! `POST /api/v1/exports`, `GET /api/v1/exports/{id}` and `POST
//! /api/v1/exports/{id}/link`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An export of everything the account holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExportView {
    pub export_id: String,
    /// `ready`: the zip is made as it is downloaded, from what the
    /// account holds then.
    pub state: String,
    /// RFC 3339.
    pub created_at: String,
    /// Where to `GET` the zip (with the same bearer token).
    pub download_url: String,
}

/// `POST /api/v1/exports/{id}/link`: 201. A link that downloads the
/// export once, without a token, for a minute: what a browser hands its
/// download manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExportLink {
    /// `GET` it, with no `Authorization` header: the zip, as
    /// `download_url` gives it.
    pub url: String,
    /// RFC 3339; a link unused by then is `export_not_found`.
    pub expires_at: String,
}
