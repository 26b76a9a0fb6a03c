//! The bodies of group administration: a conversation's view with its
//! members' roles, invitations by link or QR code, and join requests.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /api/v1/conversations/{id}`: a conversation as its members see
/// it, with every member's role.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct GroupView {
    pub conversation_id: String,
    /// `direct`, `group` or `order` (an order's own conversation).
    pub kind: String,
    pub title: Option<String>,
    /// Null for a direct conversation, and for a group everyone has left.
    pub owner: Option<String>,
    pub avatar_media_id: Option<String>,
    /// Empty when there is none.
    pub announcement: String,
    /// Who set the announcement, and when (null when it is empty).
    pub announcement_by: Option<String>,
    pub announcement_at: Option<String>,
    /// Whether joining by invitation waits for the owner's or an admin's
    /// approval.
    pub join_approval: bool,
    /// The caller's own role: `owner`, `admin` or `member`.
    pub your_role: String,
    /// The longest-standing first.
    pub members: Vec<MemberView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MemberView {
    pub account_id: String,
    /// `owner`, `admin` or `member`.
    pub role: String,
    pub joined_at: String,
}

/// `POST /api/v1/conversations/{id}/invites`: 201.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct InviteCreated {
    /// Names the invitation to revoke it (`DELETE …/invites/{invite_id}`).
    pub invite_id: String,
    /// What the link and the QR code carry: `piazza-invite:<token>`. The
    /// server keeps only the token's hash: this answer is the one time
    /// it is shown, so the QR code comes with it.
    pub payload: String,
    pub expires_at: String,
    /// The payload as a QR code, an SVG document.
    pub qr_svg: String,
    /// With `?format=png`: the payload as a QR code, a PNG in base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_png_base64: Option<String>,
}

/// `POST /api/v1/invites/accept`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AcceptInvite {
    /// The scanned or linked `piazza-invite:<token>`.
    pub payload: String,
}

/// What accepting an invitation did: 200 `joined` (also when already a
/// member), or 202 `pending` in approval mode.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct InviteAccepted {
    pub conversation_id: String,
    /// `joined` or `pending`.
    pub state: String,
    /// When the pending request was made (absent once joined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<String>,
}

/// `GET /api/v1/conversations/{id}/join-requests` (owner and admins).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct JoinRequestList {
    /// Oldest first.
    pub requests: Vec<JoinRequestView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct JoinRequestView {
    pub account_id: String,
    /// The invitation it came through.
    pub invite_id: String,
    pub requested_at: String,
    /// `pending` (decided requests are not kept).
    pub state: String,
}
