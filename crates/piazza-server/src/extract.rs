//! Extractors whose rejections are problem+json like every other error.

use axum::extract::{FromRequest, FromRequestParts};

use crate::error::ApiError;

/// A JSON body; malformed JSON, wrong fields or a missing content type are
/// 4xx problems, and bodies past the cap are 413.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

/// Query parameters parsed by serde; a bad one is a 400 problem.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}
