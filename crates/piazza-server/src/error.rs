//! The HTTP layer's one error type, answered as RFC 9457 problem+json.
//! Internal details go to the log; the client gets a stable `code` and a
//! sentence that tells it what to do.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use piazza_api::Problem;
use piazza_domain::{CursorError, IdError, Rejection, StoreError, ValueError};

/// The `Retry-After` of a 503 for a store that cannot answer, in seconds:
/// what stands in the way (the database restarting, a failover) passes,
/// and a client retrying with the same ids changes nothing twice.
pub const UNAVAILABLE_RETRY_AFTER_S: u64 = 1;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            detail: detail.into(),
            retry_after_s: None,
        }
    }

    pub fn invalid(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a valid session token as `Authorization: Bearer <token>`; log in again if it was revoked",
        )
    }

    pub fn not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such endpoint; see /api/v1/openapi.json",
        )
    }

    pub fn too_many(code: &'static str, detail: impl Into<String>, retry_after_s: u64) -> ApiError {
        ApiError {
            retry_after_s: Some(retry_after_s.max(1)),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, detail)
        }
    }

    pub fn unavailable(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
    }

    pub fn to_problem(&self) -> Problem {
        Problem {
            type_: format!("urn:piazza:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after_s {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<ValueError> for ApiError {
    fn from(error: ValueError) -> ApiError {
        ApiError::invalid(error.code, format!("`{}` {}", error.field, error.reason))
    }
}

impl From<CursorError> for ApiError {
    fn from(_: CursorError) -> ApiError {
        ApiError::invalid(
            "invalid_cursor",
            "`since` must be a cursor this server returned; omit it to start over",
        )
    }
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> ApiError {
        let detail = rejection.to_string();
        let (status, code) = match rejection {
            Rejection::UsernameTaken => (StatusCode::CONFLICT, "username_taken"),
            Rejection::AccountNotFound => (StatusCode::NOT_FOUND, "account_not_found"),
            Rejection::SelfTarget => (StatusCode::BAD_REQUEST, "self_target"),
            Rejection::AlreadyContacts => (StatusCode::CONFLICT, "already_contacts"),
            Rejection::RequestNotFound => (StatusCode::NOT_FOUND, "request_not_found"),
            Rejection::NotAContact => (StatusCode::FORBIDDEN, "not_a_contact"),
            Rejection::NotAMember => (StatusCode::FORBIDDEN, "not_a_member"),
            Rejection::NotOwner => (StatusCode::FORBIDDEN, "not_owner"),
            Rejection::NotAGroup => (StatusCode::BAD_REQUEST, "not_a_group"),
            Rejection::GroupFull { .. } => (StatusCode::CONFLICT, "group_full"),
            Rejection::MemberNotFound => (StatusCode::NOT_FOUND, "member_not_found"),
            Rejection::NotAdmin => (StatusCode::FORBIDDEN, "not_admin"),
            Rejection::TargetIsOwner => (StatusCode::UNPROCESSABLE_ENTITY, "target_is_owner"),
            Rejection::CannotLeaveDirect => (StatusCode::CONFLICT, "cannot_leave_direct"),
            Rejection::InviteNotFound => (StatusCode::NOT_FOUND, "invite_not_found"),
            Rejection::JoinRequestNotFound => (StatusCode::NOT_FOUND, "join_request_not_found"),
            Rejection::DeviceNotFound => (StatusCode::NOT_FOUND, "device_not_found"),
            Rejection::MessageNotFound => (StatusCode::NOT_FOUND, "message_not_found"),
            Rejection::MessageRecalled => (StatusCode::CONFLICT, "message_recalled"),
            Rejection::MentionNotAMember => {
                (StatusCode::UNPROCESSABLE_ENTITY, "mention_not_a_member")
            }
            Rejection::MentionAllNotAllowed => (StatusCode::FORBIDDEN, "mention_all_not_allowed"),
            Rejection::ForwardNotAllowed => (StatusCode::FORBIDDEN, "forward_not_allowed"),
            Rejection::Blocked => (StatusCode::FORBIDDEN, "blocked"),
            Rejection::AccountDeleted => (StatusCode::GONE, "account_deleted"),
            Rejection::ExportNotFound => (StatusCode::NOT_FOUND, "export_not_found"),
            Rejection::WrongCredentials => (StatusCode::UNAUTHORIZED, "wrong_credentials"),
            Rejection::WalletNotEmpty => (StatusCode::CONFLICT, "wallet_not_empty"),
            Rejection::ContactNotFound => (StatusCode::NOT_FOUND, "contact_not_found"),
            Rejection::MomentNotFound => (StatusCode::NOT_FOUND, "moment_not_found"),
            Rejection::CommentNotFound => (StatusCode::NOT_FOUND, "comment_not_found"),
            Rejection::NotMomentAuthor => (StatusCode::FORBIDDEN, "not_moment_author"),
            Rejection::NotCommentAuthor => (StatusCode::FORBIDDEN, "not_comment_author"),
            Rejection::EmptyMoment => (StatusCode::UNPROCESSABLE_ENTITY, "empty_moment"),
            Rejection::EmptyAudience => (StatusCode::UNPROCESSABLE_ENTITY, "empty_audience"),
            Rejection::ContactCodeNotFound => (StatusCode::NOT_FOUND, "contact_code_not_found"),
            Rejection::RecallTooLate { .. } => (StatusCode::FORBIDDEN, "recall_too_late"),
            Rejection::RecallNotAllowed => (StatusCode::FORBIDDEN, "recall_not_allowed"),
            Rejection::ClientMsgIdReused => {
                (StatusCode::UNPROCESSABLE_ENTITY, "client_msg_id_reused")
            }
            Rejection::SeqOutOfRange { .. } => (StatusCode::BAD_REQUEST, "seq_out_of_range"),
            Rejection::TooMany { .. } => (StatusCode::CONFLICT, "limit_reached"),
            Rejection::InsufficientFunds => (StatusCode::CONFLICT, "insufficient_funds"),
            Rejection::IdempotencyKeyReused => {
                (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
            }
            Rejection::WrongPin => (StatusCode::FORBIDDEN, "wrong_pin"),
            Rejection::PinLocked { .. } => (StatusCode::LOCKED, "pin_locked"),
            Rejection::PinNotSet => (StatusCode::FORBIDDEN, "pin_not_set"),
            Rejection::PinRequired => (StatusCode::FORBIDDEN, "pin_required"),
            Rejection::PinResetPending { .. } => (StatusCode::LOCKED, "pin_reset_pending"),
            Rejection::WalletBalanceLimit { .. } => (StatusCode::CONFLICT, "wallet_balance_limit"),
            Rejection::GatewayLimit => (StatusCode::CONFLICT, "gateway_limit_reached"),
            Rejection::TransferNotFound => (StatusCode::NOT_FOUND, "transfer_not_found"),
            Rejection::TransferNotPending { .. } => (StatusCode::CONFLICT, "transfer_not_pending"),
            Rejection::RedPacketNotFound => (StatusCode::NOT_FOUND, "red_packet_not_found"),
            Rejection::RedPacketEmpty => (StatusCode::CONFLICT, "red_packet_empty"),
            Rejection::RedPacketExpired => (StatusCode::GONE, "red_packet_expired"),
            Rejection::MerchantNotFound => (StatusCode::NOT_FOUND, "merchant_not_found"),
            Rejection::PaymentNotFound => (StatusCode::NOT_FOUND, "payment_not_found"),
            Rejection::PaymentNotPending { .. } => (StatusCode::CONFLICT, "payment_not_pending"),
            Rejection::InvalidQr => (StatusCode::BAD_REQUEST, "invalid_qr"),
            Rejection::RefundExceedsPayment => (StatusCode::CONFLICT, "refund_exceeds_payment"),
            Rejection::PaymentCodeNotFound => (StatusCode::NOT_FOUND, "payment_code_not_found"),
            Rejection::PaymentCodeExpired => (StatusCode::GONE, "payment_code_expired"),
            Rejection::PaymentCodeUsed => (StatusCode::CONFLICT, "payment_code_used"),
            Rejection::MediaNotFound => (StatusCode::NOT_FOUND, "media_not_found"),
            Rejection::InvalidMediaId => (StatusCode::BAD_REQUEST, "invalid_media_id"),
            Rejection::MoneyHalted => (StatusCode::SERVICE_UNAVAILABLE, "money_halted"),
            Rejection::MediaQuotaExceeded { .. } => {
                (StatusCode::INSUFFICIENT_STORAGE, "media_quota_exceeded")
            }
            Rejection::WrongPassword => (StatusCode::FORBIDDEN, "wrong_password"),
            // The code and status an upload answers for bytes that are not
            // the picture they claim to be.
            Rejection::ImageUndecodable { .. } => (StatusCode::BAD_REQUEST, "invalid_image"),
            Rejection::UploadCut(_) => (StatusCode::BAD_REQUEST, "invalid_body"),
            Rejection::EmptyUpload => (StatusCode::BAD_REQUEST, "empty_upload"),
            Rejection::MediaTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            Rejection::MediaTypeMismatch { declared, .. } if declared.starts_with("image/") => {
                (StatusCode::BAD_REQUEST, "invalid_image")
            }
            Rejection::MediaTypeMismatch { .. } => (StatusCode::BAD_REQUEST, "invalid_media"),
            Rejection::MediaKindMismatch { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "media_kind_mismatch")
            }
            Rejection::DeviceSignedOut => return ApiError::unauthorized(),
            Rejection::ChannelNotFound => (StatusCode::NOT_FOUND, "channel_not_found"),
            Rejection::HandleTaken => (StatusCode::CONFLICT, "handle_taken"),
            Rejection::NotChannelOwner => (StatusCode::FORBIDDEN, "not_channel_owner"),
            Rejection::NotChannelEditor => (StatusCode::FORBIDDEN, "not_channel_editor"),
            Rejection::ArticleNotFound => (StatusCode::NOT_FOUND, "article_not_found"),
            Rejection::ShopNotFound => (StatusCode::NOT_FOUND, "shop_not_found"),
            Rejection::ShopHandleTaken => (StatusCode::CONFLICT, "handle_taken"),
            Rejection::NotShopOwner => (StatusCode::FORBIDDEN, "not_shop_owner"),
            Rejection::NotShopStaff => (StatusCode::FORBIDDEN, "not_shop_staff"),
            Rejection::ProductNotFound => (StatusCode::NOT_FOUND, "product_not_found"),
            Rejection::VariantNotFound => (StatusCode::NOT_FOUND, "variant_not_found"),
            Rejection::SkuTaken { .. } => (StatusCode::CONFLICT, "sku_taken"),
            Rejection::VariantUnavailable { .. } => (StatusCode::CONFLICT, "variant_unavailable"),
            Rejection::OutOfStock { .. } => (StatusCode::CONFLICT, "out_of_stock"),
            Rejection::StockBelowZero { .. } => (StatusCode::CONFLICT, "stock_below_zero"),
            Rejection::OrderNotFound => (StatusCode::NOT_FOUND, "order_not_found"),
            Rejection::NotOrderBuyer => (StatusCode::FORBIDDEN, "not_order_buyer"),
            Rejection::Order(ref error) => (order_status(error), error.code()),
        };
        ApiError::new(status, code, detail)
    }
}

/// The status of an order's refusal: a move its state forbids, or money
/// it cannot give, is a conflict with the order as it stands; a bad
/// value in the request is the request's.
fn order_status(error: &piazza_domain::order::OrderError) -> StatusCode {
    use piazza_domain::order::OrderError as E;
    match error {
        E::InvalidItemCount { .. }
        | E::InvalidQuantity { .. }
        | E::DuplicateVariant { .. }
        | E::TotalTooLarge
        | E::InvalidCarrier
        | E::InvalidTracking
        | E::InvalidRefundReason => StatusCode::UNPROCESSABLE_ENTITY,
        E::UnknownRefundRequest { .. } => StatusCode::NOT_FOUND,
        E::InvalidState { .. }
        | E::PaymentDeadlinePassed { .. }
        | E::TooEarly { .. }
        | E::RefundWindowClosed
        | E::TooManyRefundRequests
        | E::RefundTooLarge { .. }
        | E::RefundRequestDecided { .. } => StatusCode::CONFLICT,
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::Rejected(rejection) => rejection.into(),
            StoreError::Unavailable(detail) => {
                tracing::error!(%detail, "store unavailable");
                ApiError {
                    retry_after_s: Some(UNAVAILABLE_RETRY_AFTER_S),
                    ..ApiError::unavailable(
                        "the store cannot answer right now; retry with the same ids",
                    )
                }
            }
        }
    }
}

/// An id in a path that does not parse. Where guessing ids could reveal
/// what exists, callers map this to the same answer as "not yours".
impl From<IdError> for ApiError {
    fn from(error: IdError) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no {} with that id", error.kind),
        )
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> ApiError {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "request bodies are capped at {} bytes",
                    piazza_domain::limits::REQUEST_BODY_BYTES_MAX
                ),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as `Content-Type: application/json`",
            ),
            StatusCode::UNPROCESSABLE_ENTITY => {
                ApiError::invalid("invalid_body", rejection.body_text())
            }
            _ => ApiError::invalid("malformed_json", rejection.body_text()),
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> ApiError {
        ApiError::invalid("invalid_query", rejection.body_text())
    }
}
