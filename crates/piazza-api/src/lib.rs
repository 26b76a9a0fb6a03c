//! The JSON bodies of Piazza's HTTP and WebSocket API (`api-v1.md`), as
//! plain serde types. The server converts them to domain types by hand at
//! its edge; the client crate uses them as they are. Field names here are
//! the contract: do not rename them.
//!
//! Request bodies hold plain strings and numbers, not domain types, so a
//! malformed field is reported by the server's own parser with a precise
//! problem, not by serde's generic message.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod channels;
pub mod events;
pub mod exports;
pub mod groups;
pub mod moments;
pub mod search;
pub mod shops;

pub use channels::{
    ArticleCreated, ArticleList, ArticlePreview, ArticleSummary, ArticleView, ChannelCreated,
    ChannelList, ChannelSummary, ChannelView, CommentList, CommentView, CreateChannel, FeedItem,
    Likes, PostComment, PreviewArticle, PublishArticle, SubscriptionsFeed,
};
pub use groups::{
    AcceptInvite, GroupView, InviteAccepted, InviteCreated, JoinRequestList, JoinRequestView,
    MemberView,
};
pub use moments::{
    MomentCommentCreated, MomentCommentView, MomentCreated, MomentLikeView, MomentList,
    MomentMediaView, MomentView, NewMoment, NewMomentComment, VisibilityView,
};
pub use shops::{
    CartLine, CartView, CreateProduct, CreateShop, NewVariant, OrderConversation, OrderItemRequest,
    OrderItemView, OrderList, OrderView, PatchProduct, PatchVariant, PayOrder, PlaceOrder,
    ProductCreated, ProductList, ProductView, PutCartItem, RefundRequestView, RequestRefund,
    ShipOrder, ShippingAddress, ShopCreated, ShopList, ShopSummary, ShopView, VariantView,
};

/// RFC 9457 problem details, as every error is answered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` style tags here).
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable, machine-readable reason, such as `username_taken`.
    pub code: String,
}

// ---------------------------------------------------------------- accounts

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateAccount {
    pub username: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AccountView {
    pub account_id: String,
    pub username: String,
    pub display_name: String,
    /// The account's picture (`GET /api/v1/media/{id}/thumbnail`), or null.
    #[serde(default)]
    pub avatar_media_id: Option<String>,
    /// On `GET /api/v1/me` and `PATCH /api/v1/me` only: empty when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
}

/// `PATCH /api/v1/me`: the fields to change; an absent field is left as
/// it is, and `null` clears the avatar or the bio.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct UpdateProfile {
    /// 1 to 64 characters, as at sign-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// An image you uploaded (`POST /api/v1/media`), or null for none.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub avatar_media_id: Option<Option<String>>,
    /// At most 300 characters on one line; null or empty for none.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub bio: Option<Option<String>>,
}

/// A field that is present (`Some`, holding `None` for `null`), for bodies
/// where leaving a field out and sending `null` mean different things.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `GET /api/v1/accounts/{account_id}` and `GET /api/v1/accounts?username=`:
/// an account as the caller may see it. The account itself, its contacts
/// and those sharing a conversation with it get every field; a stranger
/// with a contact request pending between them (either way), or one
/// looking a username up, gets only the first four.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ProfileView {
    pub account_id: String,
    pub username: String,
    pub display_name: String,
    pub avatar_media_id: Option<String>,
    /// Empty when none; absent from what a stranger sees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    /// Absent from what a stranger sees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_contact: Option<bool>,
}

/// `PUT /api/v1/me/password`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangePassword {
    pub old_password: String,
    /// At least 8 characters, as at sign-up.
    pub new_password: String,
    /// Log every other device of the account out in the same step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_out_other_devices: Option<bool>,
}

/// `DELETE /api/v1/accounts/me`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeleteAccount {
    /// The account's password.
    pub password: String,
}

/// What `DELETE /api/v1/accounts/me` answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AccountDeleted {
    /// RFC 3339: when the account will be erased. Logging in with its
    /// password before then restores it whole.
    pub erase_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateSession {
    pub username: String,
    pub password: String,
    pub device_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionCreated {
    pub token: String,
    pub device_id: String,
    pub account_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeviceView {
    pub device_id: String,
    pub device_name: String,
    pub created_at: String,
    pub last_seen_at: String,
    /// True for the device whose token made this call.
    pub current: bool,
    /// The `User-Agent` it last sent (at most 256 bytes); absent when it
    /// sent none, or was not seen since the server kept them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The address it was last used from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_address: Option<String>,
    /// What the device is, read by the server from `user_agent` (absent
    /// with it), as codes a client words in its own language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<DeviceClient>,
}

/// A device's program and system, from its `User-Agent`: one of a fixed few
/// codes each, never text the device wrote.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct DeviceClient {
    /// `chrome`, `edge`, `firefox`, `safari`, `piazza_cli` (the command-line
    /// client) or `unknown`.
    pub app: String,
    /// `windows`, `macos`, `linux`, `android`, `ios` or `unknown`.
    pub system: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeviceList {
    pub devices: Vec<DeviceView>,
    /// True when another page follows; pass `next_cursor` as `cursor`.
    #[serde(default)]
    pub has_more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

// ---------------------------------------------------------------- contacts

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateContactRequest {
    /// The username of the account to ask.
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContactRequestCreated {
    pub request_id: String,
}

/// Who a contact request is from or to: what it needs to show them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AccountBrief {
    pub account_id: String,
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub avatar_media_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContactRequestView {
    pub request_id: String,
    pub from: AccountBrief,
    pub greeting: String,
    pub created_at: String,
}

/// A request the caller sent that waits for an answer. (A declined one
/// looks the same: the sender is not told.)
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutgoingRequestView {
    pub request_id: String,
    pub to: AccountBrief,
    pub greeting: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutgoingRequestList {
    pub requests: Vec<OutgoingRequestView>,
    /// True when another page follows; pass `next_cursor` as `cursor`.
    #[serde(default)]
    pub has_more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContactRequestList {
    pub requests: Vec<ContactRequestView>,
    /// True when another page follows; pass `next_cursor` as `cursor`.
    #[serde(default)]
    pub has_more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One of the caller's contacts, with the caller's own name for it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ContactView {
    pub account_id: String,
    pub username: String,
    pub display_name: String,
    /// The contact's picture (`GET /api/v1/media/{id}/thumbnail`), or null.
    #[serde(default)]
    pub avatar_media_id: Option<String>,
    /// The caller's private name for this contact (`PATCH
    /// /api/v1/contacts/{account_id}`), or null; only the caller sees it.
    #[serde(default)]
    pub remark: Option<String>,
}

/// `PATCH /api/v1/contacts/{account_id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UpdateContact {
    /// Required: up to 64 characters on one line, trimmed; empty or `null`
    /// clears it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, required = true)]
    pub remark: Option<Option<String>>,
}

/// `GET /api/v1/me/contact-code?format=payload` and
/// `POST /api/v1/me/contact-code/reset`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ContactCodeView {
    /// `piazza-contact:<token>`: what the QR code carries.
    pub payload: String,
}

/// `POST /api/v1/contacts/by-code`: ask the owner of a scanned code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContactRequestByCode {
    /// The scanned or pasted `piazza-contact:<token>`.
    pub payload: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContactList {
    pub contacts: Vec<ContactView>,
    /// True when another page follows; pass `next_cursor` as `cursor`.
    #[serde(default)]
    pub has_more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

// ----------------------------------------------------------- conversations

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpenDirect {
    /// The peer's `account_id`.
    pub peer: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateGroup {
    pub title: String,
    /// Account ids of the caller's contacts; the caller joins as owner.
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConversationCreated {
    pub conversation_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConversationView {
    pub conversation_id: String,
    /// `direct`, `group` or `order` (an order's own conversation).
    pub kind: String,
    /// The group's title; for a direct conversation, the peer's display name.
    pub title: String,
    pub last_seq: i64,
    pub unread: i64,
    /// How far this account has read.
    pub read_seq: i64,
    pub member_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The group's picture, or the direct peer's; null when none.
    #[serde(default)]
    pub avatar_media_id: Option<String>,
    /// The other member of a direct conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// How far the peer of a direct conversation has read it: my messages
    /// with `seq` up to it are read (`read.receipt` events move it live).
    /// Absent for a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_read_seq: Option<i64>,
    /// The caller's own name for the peer of a direct conversation (`PATCH
    /// /api/v1/contacts/{account_id}`), shown instead of `title` where set;
    /// absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// Messages after `read_seq` (the same as `unread`).
    #[serde(default)]
    pub unread_count: i64,
    /// Unread messages that mention the caller, or everyone.
    #[serde(default)]
    pub mention_count: i64,
    /// The last message the caller sees, its text cut to 100 characters;
    /// absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<MessagePreview>,
    /// When a message was last sent (or it was created).
    #[serde(default)]
    pub last_activity_at: String,
    #[serde(default)]
    pub muted: bool,
    #[serde(default)]
    pub pinned: bool,
    #[serde(default)]
    pub archived: bool,
}

/// A conversation's last message, as its list shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MessagePreview {
    pub message_id: String,
    pub seq: i64,
    pub sender: String,
    pub kind: String,
    /// Its text, cut to 100 characters (empty when recalled).
    pub text: String,
    pub sent_at: String,
    /// What a non-text message stands for (a `med_…`, a `trf_…`).
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub ref_: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub recalled: bool,
    /// Who recalled it: its sender or the group's owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recalled_by: Option<String>,
}

/// `PATCH /api/v1/conversations/{id}/settings`: an absent field stays as
/// it is. Pinning takes a conversation out of the archive and archiving
/// unpins it; asking both at once is refused.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ConversationSettingsChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

/// A member's own settings of a conversation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ConversationSettingsView {
    pub conversation_id: String,
    pub muted: bool,
    pub pinned: bool,
    pub archived: bool,
}

/// `PATCH /api/v1/conversations/{id}` (a group's owner or an admin): an
/// absent field is left as it is; `null` clears the picture.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct UpdateGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// An image you uploaded (`POST /api/v1/media`), or null for none.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub avatar_media_id: Option<Option<String>>,
    /// At most 2,000 characters, line breaks kept; empty clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcement: Option<String>,
    /// Whether joining by invitation waits for an admin's approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_approval: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConversationList {
    pub conversations: Vec<ConversationView>,
    /// True when another page follows; pass `next_cursor` as `cursor`.
    #[serde(default)]
    pub has_more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AddMember {
    pub account_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SendMessage {
    pub client_msg_id: String,
    #[serde(flatten)]
    pub message: MessageContent,
}

/// What a message is, as a sender sends it (`POST …/messages` and the
/// WebSocket's `send`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct MessageContent {
    /// The message; an image's caption, which may be empty; empty for a
    /// location, a contact card, an article or product card or a forward.
    #[serde(default)]
    pub text: String,
    /// `text` (the default), `image`, `file`, `voice` or `video` (with
    /// `media_id`), `location` (with `location`), `contact_card` (with
    /// `card`), `article_card` (with `article_id`) or `product_card`
    /// (with `product_id`); absent with `forward_of`, whose message gives
    /// it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A media you uploaded (`POST /api/v1/media`): the message is then
    /// `kind` `image` (a picture), `voice` (audio), `video` (a video) or
    /// `file` (any media), with `ref` = this id. Without `kind`, what the
    /// media is decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// A voice note's or video's length as the sender's recorder knows it
    /// (at most a day); without it, what the container says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationView>,
    /// Your own account or one of your contacts'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardRequest>,
    /// A channel's article (`art_…`) to share as a card: the message is
    /// then `kind` `article_card`, showing the article as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_id: Option<String>,
    /// A shop's listed product (`prd_…`) to share as a card: the message
    /// is then `kind` `product_card`, showing the product as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// A message of this conversation you can see, which this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Members to mention (at most 100).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    /// Mention every member: a group's owner only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub mention_all: bool,
    /// Forward this message (one you can see, in any of your
    /// conversations): its text, picture, place or card (a contact's, an
    /// article's or a product's), not a copy of its media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_of: Option<MessageRefView>,
}

impl MessageContent {
    pub fn text(text: impl Into<String>) -> MessageContent {
        MessageContent {
            text: text.into(),
            ..MessageContent::default()
        }
    }
}

/// A place: degrees, latitude -90 to 90 and longitude -180 to 180, kept to
/// 1e-7 degrees.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct LocationView {
    pub lat: f64,
    pub lon: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CardRequest {
    pub account_id: String,
}

/// A contact card as it was when sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CardView {
    pub account_id: String,
    pub username: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_media_id: Option<String>,
}

/// An article card: a channel's article as it was when shared.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ArticleCardView {
    pub article_id: String,
    pub title: String,
    pub channel_id: String,
    /// The channel's handle when it was shared.
    pub handle: String,
    pub channel_name: String,
    /// The article's cover: its thumbnail and preview are public
    /// (`GET /c/-/media/{id}/thumbnail`, or `GET /api/v1/media/{id}/thumbnail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cover_media_id: Option<String>,
    /// The article's public page, `/c/{handle}/{article_id}`.
    pub url: String,
}

/// A product card: a shop's product as it was when shared.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ProductCardView {
    pub product_id: String,
    pub title: String,
    /// Its first picture: its thumbnail and preview are anyone's while
    /// the product is listed (`GET /s/-/media/{id}/thumbnail`, or
    /// `GET /api/v1/media/{id}/thumbnail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture_media_id: Option<String>,
    /// The cheapest and dearest of its variants' prices when shared.
    pub min_price_minor: i64,
    pub max_price_minor: i64,
    pub currency: String,
    pub shop_id: String,
    /// The shop's handle when it was shared.
    pub handle: String,
    pub shop_name: String,
    /// The product's public page, `/s/{handle}/{product_id}`.
    pub url: String,
}

/// A message named by its conversation and id.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MessageRefView {
    pub conversation_id: String,
    pub message_id: String,
}

/// The answer to an upload (`POST /api/v1/media`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MediaUploaded {
    pub media_id: String,
    /// What the bytes are: `image/png`, `image/jpeg`, `image/webp`,
    /// `image/gif`, `audio/ogg`, `audio/mp4`, `audio/mpeg`, `audio/webm`,
    /// `video/mp4`, `video/webm`, `video/quicktime`, or
    /// `application/octet-stream` for any other file.
    pub content_type: String,
    pub bytes: u64,
    /// The SHA-256 of the bytes uploaded, in lower-case hex (a picture is
    /// served without its metadata, so its download may differ).
    pub sha256: String,
    /// A picture's or video's size as shown, where its container says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Audio's or video's length, where its container says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The file's name as uploaded (`?name=`), made safe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MessageSent {
    pub message_id: String,
    pub seq: i64,
    pub sent_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct MessageView {
    pub message_id: String,
    pub seq: i64,
    /// The sender's `account_id`.
    pub sender: String,
    pub text: String,
    pub sent_at: String,
    pub client_msg_id: String,
    /// `text`, or what the message stands for: `transfer`, …
    #[serde(default = "text_kind")]
    pub kind: String,
    /// The id of what a non-text message stands for (a `trf_…`).
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub ref_: Option<String>,
    /// Recalled by its sender or the group's owner: `text` is empty and
    /// `ref` absent for good; show "recalled" in its place. Absent (false)
    /// for every other message, so their wire form is as it always was.
    #[serde(default, skip_serializing_if = "is_false")]
    pub recalled: bool,
    /// When it was recalled (RFC 3339); absent if it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recalled_at: Option<String>,
    /// Who recalled it: its sender, or the group's owner; absent if it
    /// was not recalled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recalled_by: Option<String>,
    /// In the history: each emoji members reacted with, and who, the first
    /// used first; absent when there are none (and from `message.new`:
    /// `message.reaction` events follow it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<ReactionView>,
    /// The message of this conversation it answers
    /// (`GET …/messages/{message_id}` shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Members it mentions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    /// It mentions every member.
    #[serde(default, skip_serializing_if = "is_false")]
    pub mention_all: bool,
    /// The message it forwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_of: Option<MessageRefView>,
    /// A `location` message's place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationView>,
    /// A `contact_card` message's account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardView>,
    /// An `article_card` message's article, as it was when shared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article: Option<ArticleCardView>,
    /// A `product_card` message's product, as it was when shared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductCardView>,
    /// A media message's media (`ref`), as it was sent: fetch it with
    /// `GET /api/v1/media/{ref}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<AttachmentView>,
}

/// What a media message shows of its media.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AttachmentView {
    /// What the bytes are (as `MediaUploaded.content_type`).
    pub content_type: String,
    pub bytes: u64,
    /// A file's name, as uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// A voice note's or video's length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// One emoji's reactions to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReactionView {
    pub emoji: String,
    pub count: usize,
    /// Who reacted with it, the first to react first: the first 20 (the
    /// count is exact).
    pub accounts: Vec<String>,
    /// Whether the caller reacted with it.
    #[serde(default)]
    pub mine: bool,
}

/// `POST /api/v1/conversations/{id}/messages/{message_id}/reactions`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct React {
    /// Exactly one emoji (skin tones allowed).
    pub emoji: String,
}

fn is_false(value: &bool) -> bool {
    !value
}

fn text_kind() -> String {
    "text".to_owned()
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MessagePage {
    /// Newest first.
    pub messages: Vec<MessageView>,
    pub has_more: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MarkRead {
    pub seq: i64,
}

// -------------------------------------------------------------------- sync

/// One entry of the account's log. `cursor`, `type` and `at` are always
/// present; the other fields are the event's, as `Event` gives them for its
/// `type`. Skip a `type` you do not know: new ones may come.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct EventView {
    pub cursor: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub at: String,
    // A map rather than `events::Event`, so that a client reads (and can
    // skip) a type newer than itself; `event()` gives the typed form. The
    // fields go out in name order, after the three above.
    #[serde(flatten)]
    #[schema(value_type = events::Event)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl EventView {
    /// The envelope of `event`, logged at `cursor` and `at`.
    pub fn new(cursor: String, at: String, event: &events::Event) -> EventView {
        let encoded = serde_json::to_value(event).expect("an event always encodes");
        let serde_json::Value::Object(mut fields) = encoded else {
            unreachable!("an internally tagged enum encodes as an object")
        };
        let Some(serde_json::Value::String(type_)) = fields.remove("type") else {
            unreachable!("an internally tagged enum encodes its tag as a string")
        };
        EventView {
            cursor,
            type_,
            at,
            fields,
        }
    }

    /// The event as its type, or an error for a type (or a shape) this
    /// build does not know.
    pub fn event(&self) -> Result<events::Event, serde_json::Error> {
        let mut tagged = self.fields.clone();
        tagged.insert("type".to_owned(), self.type_.clone().into());
        serde_json::from_value(serde_json::Value::Object(tagged))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SyncPage {
    pub events: Vec<EventView>,
    /// Send this back as `since` to continue.
    pub cursor: String,
    pub has_more: bool,
}

/// What a client sends over the WebSocket.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
// Parsed once per frame and taken apart at once: no box for the send.
#[allow(clippy::large_enum_variant)]
pub enum ClientFrame {
    /// Replay everything after `since` (from the start if absent), then go live.
    Sync {
        #[serde(default)]
        since: Option<String>,
    },
    /// Send a message: the same fields as `POST …/messages`.
    Send {
        conversation_id: String,
        client_msg_id: String,
        #[serde(flatten)]
        message: MessageContent,
    },
    /// The account is typing in a conversation: the other members' online
    /// sockets get `{"type":"typing","conversation_id","account_id"}`,
    /// never stored (send it every few seconds while typing; one a
    /// conversation every two seconds is passed on).
    Typing {
        conversation_id: String,
    },
    Ping,
}

/// An ephemeral event on the WebSocket: someone is typing. It is never in
/// the log, so it carries no `cursor`; a client shows it for a few seconds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct TypingEvent {
    /// Always `typing`.
    #[serde(rename = "type")]
    pub type_: String,
    pub conversation_id: String,
    pub account_id: String,
}

/// An ephemeral event on the WebSocket: a contact came online or went
/// offline (`last_seen` then says when). Never in the log: no `cursor`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PresenceEvent {
    /// Always `presence`.
    #[serde(rename = "type")]
    pub type_: String,
    pub account_id: String,
    pub online: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
}

/// `GET /api/v1/contacts/presence`: the contacts who show it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PresenceList {
    pub presence: Vec<PresenceView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PresenceView {
    pub account_id: String,
    /// A socket of it is open on this server now.
    pub online: bool,
    /// When one of its devices was last seen (RFC 3339); absent if never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
}

/// `GET`/`PATCH /api/v1/me/privacy`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Privacy {
    /// Who sees whether you are online and when you were last seen:
    /// `contacts` (the default) or `nobody`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// How far back others may look at your moments: `all` (the
    /// default), `180d`, `30d` or `3d`. You always see all of your own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moments_horizon: Option<String>,
    /// Accounts (your contacts) who may not see your moments at all. A
    /// list given replaces the one kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moments_hidden_from: Option<Vec<String>>,
    /// Accounts whose moments you do not want in your feed (their page
    /// still shows them). A list given replaces the one kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moments_not_shown: Option<Vec<String>>,
}

/// `POST /api/v1/blocks`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Block {
    pub account_id: String,
}

/// `GET /api/v1/blocks`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct BlockList {
    pub blocks: Vec<BlockView>,
}

/// An account the caller blocked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct BlockView {
    pub account_id: String,
    pub username: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_media_id: Option<String>,
    pub blocked_at: String,
}

/// What the server sends over the WebSocket besides events (events carry
/// `type`, these carry `op`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ServerFrame {
    Ack {
        client_msg_id: String,
        message_id: String,
        seq: i64,
        conversation_id: String,
        sent_at: String,
    },
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<String>,
        code: String,
        status: u16,
        detail: String,
    },
    /// The replay asked for by `sync` is complete up to `cursor`; what
    /// follows is live.
    Synced {
        cursor: String,
    },
    Pong,
}

/// `GET /healthz`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}

// ------------------------------------------------------------------ wallet

/// `GET /api/v1/wallet`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct WalletView {
    pub currency: String,
    pub balance_minor: i64,
    /// Whether a payment PIN is set (money-out needs one).
    #[serde(default)]
    pub pin_set: bool,
    /// RFC 3339: wrong PINs lock money-out until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_locked_until: Option<String>,
    /// RFC 3339: a forgotten PIN is being reset; no money leaves the
    /// wallet until then, when the new PIN takes effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_reset_effective_at: Option<String>,
}

/// `PUT /api/v1/wallet/pin`: the new `pin` and one proof. `password` sets
/// the first PIN at once, or resets a forgotten one after a wait during
/// which no money leaves the wallet (202); `old_pin` changes the PIN at
/// once (204), counted like any PIN, and cancels a reset still waiting.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct SetPin {
    /// The new PIN: exactly six ASCII digits.
    pub pin: String,
    /// The account's password. Wrong ones count with the log-in failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The PIN in force now, to change it without a wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_pin: Option<String>,
}

/// The 202 answer of `PUT /api/v1/wallet/pin` that reset a forgotten PIN.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PinResetStarted {
    /// RFC 3339: when the new PIN takes effect and money may leave again.
    pub effective_at: String,
}

/// `POST /api/v1/wallet/topups`. `amount_minor` is taken as any JSON value
/// so that a string, a fraction or a huge number is the server's precise
/// 400 `invalid_amount`, not serde's generic one.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TopUp {
    /// A positive integer of minor units (fen, cents).
    #[schema(value_type = i64, minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    pub amount_minor: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct TopUpDone {
    pub topup_id: String,
    /// The wallet's balance right after the top-up.
    pub balance_minor: i64,
}

/// `POST /api/v1/wallet/withdrawals`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Withdraw {
    #[schema(value_type = i64, minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    pub amount_minor: serde_json::Value,
    /// The six-digit payment PIN.
    pub pin: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct WithdrawalDone {
    pub withdrawal_id: String,
    pub balance_minor: i64,
}

/// One line of `GET /api/v1/wallet/statement`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct StatementEntryView {
    pub entry_id: String,
    /// Signed: positive money in, negative money out.
    pub amount_minor: i64,
    pub balance_after_minor: i64,
    /// The operation: `topup`, `withdrawal`, …
    pub kind: String,
    /// The operation's id (`topup_id`, `withdrawal_id`, …).
    #[serde(rename = "ref")]
    pub ref_: String,
    /// What the entry belongs to, for a client to show whom the money went
    /// to or came from: the transfer (`trf_…`), red packet (`rpk_…`),
    /// payment (`pay_…`) or refund (`rfd_…`). Absent for top-ups and
    /// withdrawals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Statement {
    /// Newest first.
    pub entries: Vec<StatementEntryView>,
    /// Pass as `cursor` for the next (older) page; null on the last one.
    pub cursor: Option<String>,
}

// --------------------------------------------------------------- transfers

/// `POST /api/v1/transfers`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SendTransfer {
    /// The recipient's `account_id`; they must be a contact.
    pub to: String,
    #[schema(value_type = i64, minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    pub amount_minor: serde_json::Value,
    /// The six-digit payment PIN.
    pub pin: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct TransferSent {
    pub transfer_id: String,
    /// Always `pending`, also on a replay (see `GET /api/v1/transfers/{id}`).
    pub status: String,
}

/// The answer to accept and decline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct TransferStatusView {
    /// `pending`, `accepted`, `declined` or `returned`.
    pub status: String,
}

/// `GET /api/v1/transfers/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct TransferView {
    pub transfer_id: String,
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    /// The sender's `account_id`.
    pub from: String,
    /// The recipient's `account_id`.
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub created_at: String,
    pub expires_at: String,
}

// ------------------------------------------------------------- red packets

/// `POST /api/v1/red-packets`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SendRedPacket {
    pub conversation_id: String,
    #[schema(value_type = i64, minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    pub total_minor: serde_json::Value,
    /// 1 to 100 shares.
    #[schema(value_type = u32)]
    pub count: serde_json::Value,
    /// `lucky` or `equal`.
    pub mode: String,
    /// The six-digit payment PIN.
    pub pin: String,
    #[serde(default)]
    pub greeting: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RedPacketSent {
    pub red_packet_id: String,
}

/// The answer to a claim: the claimer's share (the same on every claim).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RedPacketClaimed {
    pub amount_minor: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RedPacketClaimView {
    pub account_id: String,
    pub amount_minor: i64,
    pub claimed_at: String,
}

/// `GET /api/v1/red-packets/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RedPacketView {
    pub red_packet_id: String,
    pub conversation_id: String,
    /// The sender's `account_id`.
    pub sender: String,
    pub mode: String,
    pub total_minor: i64,
    pub currency: String,
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    /// `open`, `empty` or `expired`.
    pub status: String,
    pub remaining_shares: u32,
    pub created_at: String,
    pub expires_at: String,
    /// Oldest first.
    pub claims: Vec<RedPacketClaimView>,
}

// --------------------------------------------------------------- merchants

/// `POST /api/v1/merchants`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateMerchant {
    /// 1 to 25 characters (EMVCo's limit for the name in a code).
    pub name: String,
    /// At most 15 characters.
    #[serde(default)]
    pub city: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MerchantCreated {
    pub merchant_id: String,
}

/// `GET /api/v1/merchants/{id}`, for the merchant's owner.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MerchantView {
    pub merchant_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// What the merchant was paid and has not refunded.
    pub balance_minor: i64,
}

/// `GET /api/v1/merchants/{id}/qr?format=payload`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct QrPayload {
    /// An EMVCo merchant-presented payload, ending in its CRC.
    pub payload: String,
}

/// `POST /api/v1/payments`: the buyer scanned a merchant's code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Pay {
    pub qr_payload: String,
    /// Required for a static code; for a dynamic one it may be left out and
    /// must otherwise agree with the code's amount.
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    pub amount_minor: Option<serde_json::Value>,
    /// The six-digit payment PIN.
    pub pin: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PaymentDone {
    pub payment_id: String,
    /// `completed`; for a collection above the no-PIN limit
    /// `needs_confirmation` (nothing moved yet), then `declined` or
    /// `expired` if the buyer does not confirm.
    pub status: String,
}

/// `POST /api/v1/payments/{id}/confirm`: the buyer confirms a collection.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConfirmPayment {
    /// The six-digit payment PIN.
    pub pin: String,
}

/// `GET /api/v1/payments/{id}`: a payment, for its buyer or its merchant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PaymentView {
    pub payment_id: String,
    pub merchant_id: String,
    /// The merchant's name, as its codes carry it.
    #[serde(default)]
    pub merchant_name: String,
    pub buyer: String,
    pub amount_minor: i64,
    pub currency: String,
    pub refunded_minor: i64,
    /// `needs_confirmation`, `completed`, `declined` or `expired`.
    pub status: String,
    pub created_at: String,
    /// While `needs_confirmation`: when the collection lapses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_by: Option<String>,
}

/// `POST /api/v1/payments/{id}/refunds`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefundPayment {
    #[schema(value_type = i64, minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    pub amount_minor: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RefundDone {
    pub refund_id: String,
    /// The payment's refunded total after this refund.
    pub refunded_minor: i64,
}

/// `POST /api/v1/wallet/payment-code`'s body: the payment PIN, which a
/// device that entered it within `limits.payment_code_pin_window_s` may
/// leave out (as it may the whole body).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PaymentCodeRequest {
    /// The six-digit payment PIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

/// `POST /api/v1/wallet/payment-code`: a one-use code for a merchant to scan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PaymentCodeIssued {
    /// 18 digits.
    pub code: String,
    /// RFC 3339; 60 s after it was issued (`limits.payment_code_valid_s`).
    pub expires_at: String,
    /// The code drawn as a QR code, an SVG document, so a page shows it
    /// without a QR library.
    #[serde(default)]
    pub qr_svg: String,
}

/// `POST /api/v1/merchants/{id}/collect`: the merchant scanned a buyer's code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Collect {
    pub payment_code: String,
    #[schema(value_type = i64, minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    pub amount_minor: serde_json::Value,
}

// ------------------------------------------------------------ QR log-in

/// `POST /api/v1/login-requests`: a page asks to log in by QR code.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CreateLoginRequest {
    /// The new device's name (default "Browser (QR log-in)").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginRequestCreated {
    pub request_id: String,
    /// What the QR code encodes: `piazza-login:<request_id>:<code>`. Safe
    /// to show; only a logged-in device can approve it.
    pub qr_payload: String,
    /// RFC 3339; two minutes after creation.
    pub expires_at: String,
    /// Only this page knows it (it is not in the QR code); it reads the
    /// request's status, and so the token, with it.
    pub secret: String,
    /// The QR code of `qr_payload` as an SVG document.
    pub qr_svg: String,
}

/// `POST /api/v1/login-requests/{id}/approve`: the code, or the whole
/// scanned payload, and `confirm: true` — sent only once the person has
/// seen the request's details (`GET /api/v1/login-requests/{id}/details`)
/// and said yes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ApproveLogin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_payload: Option<String>,
    /// Must be `true`; anything else is 400 `confirmation_required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm: Option<bool>,
}

/// `GET /api/v1/login-requests/{id}/details`: what the server itself saw
/// of the page asking to log in, for the approving device to show before
/// it confirms. Nothing here is text the page chose.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct LoginRequestDetails {
    /// The page's browser and system from its User-Agent, one of a fixed
    /// few ("Chrome on Linux", "Safari on iOS", "Unknown browser").
    pub browser: String,
    /// The same as codes, for a client to word in its own language.
    #[serde(default)]
    pub client: DeviceClient,
    /// The address the request came from, as the server saw it.
    pub address: String,
    /// RFC 3339; when the page asked.
    pub requested_at: String,
    /// RFC 3339; when the QR code stops working.
    pub expires_at: String,
}

/// `GET /api/v1/login-requests/{id}`: `pending`, `expired` or `approved`;
/// the first read after approval also carries the new device's session
/// (like `SessionCreated`), later reads do not.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct LoginRequestView {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}
