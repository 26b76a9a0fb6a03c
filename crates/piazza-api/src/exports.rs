//! `POST /api/v1/exports` and `GET /api/v1/exports/{id}`.

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
