//! The events of an account's log as clients see them: one type per event,
//! the only definition of their wire form. An [`EventView`](crate::EventView)
//! carries one of them beside its `cursor`, `type` and `at`.
//!
//! This form is separate from how a storage engine keeps an event
//! (`piazza_domain::event::stored`): a field here can be renamed without
//! touching a stored entry, and the stored form can change without a client
//! noticing. The server's `events::wire` is the one conversion between
//! them. Ids are their outside form (`acct_12`), times RFC 3339.
//!
//! Absent and `null` are both part of the contract, and differ per field:
//! each field's attributes say which it is.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{AccountBrief, MessageView};

/// What one log entry says, by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
// A wire type, built once per delivery and serialized at once: a message's
// size beside the small events costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    #[serde(rename = "message.new")]
    MessageNew(MessageEvent),
    #[serde(rename = "conversation.created")]
    ConversationCreated(ConversationCreatedEvent),
    /// A group's title, picture, announcement or approval mode changed
    /// (every member's log).
    #[serde(rename = "conversation.updated")]
    ConversationUpdated(ConversationUpdatedEvent),
    /// The owner made a member an admin, or an admin a member again (every
    /// member's log).
    #[serde(rename = "conversation.role_changed")]
    RoleChanged(RoleChangedEvent),
    /// Someone asked to join a group in approval mode (its owner's and
    /// admins' logs).
    #[serde(rename = "conversation.join_requested")]
    JoinRequested(JoinRequestedEvent),
    #[serde(rename = "conversation.join_declined")]
    JoinDeclined(JoinDeclinedEvent),
    #[serde(rename = "conversation.member_added")]
    MemberAdded(MemberAddedEvent),
    #[serde(rename = "conversation.member_removed")]
    MemberRemoved(MemberRemovedEvent),
    #[serde(rename = "contact.request")]
    ContactRequest(ContactRequestEvent),
    /// The recipient declined a request (the recipient's log only).
    #[serde(rename = "contact.request_declined")]
    ContactRequestDeclined(ContactRequestDeclinedEvent),
    #[serde(rename = "contact.added")]
    ContactAdded(ContactAddedEvent),
    #[serde(rename = "contact.removed")]
    ContactRemoved(ContactRemovedEvent),
    /// The account changed its own remark for a contact (its own log
    /// only: the contact never learns it).
    #[serde(rename = "contact.updated")]
    ContactUpdated(ContactUpdatedEvent),
    /// The account blocked or unblocked another (its own log only).
    #[serde(rename = "contact.blocked")]
    ContactBlocked(ContactBlockedEvent),
    /// An account changed its profile (its own log and its contacts').
    #[serde(rename = "account.updated")]
    AccountUpdated(AccountUpdatedEvent),
    #[serde(rename = "account.password_changed")]
    PasswordChanged(PasswordChangedEvent),
    #[serde(rename = "read.marker")]
    ReadMarker(ReadMarkerEvent),
    /// The other member of a direct conversation read it up to `seq`.
    #[serde(rename = "read.receipt")]
    ReadReceipt(ReadReceiptEvent),
    /// A message was recalled (every member's log): show it as recalled.
    #[serde(rename = "message.recalled")]
    MessageRecalled(MessageRecalledEvent),
    /// The account deleted a message for itself (its own log only): stop
    /// showing it on this device too.
    #[serde(rename = "message.deleted")]
    MessageDeleted(MessageDeletedEvent),
    /// The account changed its own settings of a conversation (its own
    /// log only).
    #[serde(rename = "conversation.settings")]
    ConversationSettings(crate::ConversationSettingsView),
    /// A member added (`added: true`) or took back a reaction (every
    /// member's log).
    #[serde(rename = "message.reaction")]
    MessageReaction(MessageReactionEvent),
    #[serde(rename = "wallet.credited")]
    WalletCredited(WalletMovementEvent),
    #[serde(rename = "wallet.debited")]
    WalletDebited(WalletMovementEvent),
    #[serde(rename = "transfer.sent")]
    TransferSent(TransferEvent),
    #[serde(rename = "transfer.received")]
    TransferReceived(TransferEvent),
    #[serde(rename = "transfer.accepted")]
    TransferAccepted(TransferEvent),
    #[serde(rename = "transfer.declined")]
    TransferDeclined(TransferEvent),
    #[serde(rename = "transfer.returned")]
    TransferReturned(TransferEvent),
    #[serde(rename = "red_packet.claimed")]
    RedPacketClaimed(RedPacketEvent),
    #[serde(rename = "red_packet.refunded")]
    RedPacketRefunded(RedPacketEvent),
    #[serde(rename = "payment.sent")]
    PaymentSent(PaymentEvent),
    #[serde(rename = "payment.received")]
    PaymentReceived(PaymentEvent),
    #[serde(rename = "payment.refunded")]
    PaymentRefunded(PaymentEvent),
    /// Nothing moved until the buyer confirms (the buyer's log).
    #[serde(rename = "payment.confirmation_requested")]
    PaymentConfirmationRequested(PaymentEvent),
    #[serde(rename = "payment.declined")]
    PaymentDeclined(PaymentEvent),
    #[serde(rename = "payment.expired")]
    PaymentExpired(PaymentEvent),
    /// A forgotten PIN is being reset; no money leaves until `effective_at`.
    #[serde(rename = "wallet.pin_reset")]
    PinReset(PinResetEvent),
    /// Someone liked your post in Moments (your log only).
    #[serde(rename = "moment.liked")]
    MomentLiked(MomentLikedEvent),
    /// Someone commented on your post in Moments, or replied to your
    /// comment (the post's author's log and the one replied to's).
    #[serde(rename = "moment.commented")]
    MomentCommented(MomentCommentedEvent),
    #[serde(rename = "wallet.pin_changed")]
    PinChanged(PinChangedEvent),
    /// A channel the account follows published an article (each
    /// follower's log, told in the background after the publish).
    #[serde(rename = "article.published")]
    ArticlePublished(ArticlePublishedEvent),
    /// A shop order moved (its buyer's log and every staff member's of
    /// the shop).
    #[serde(rename = "order.updated")]
    OrderUpdated(OrderUpdatedEvent),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderUpdatedEvent {
    pub order_id: String,
    pub shop_id: String,
    /// The shop's name when it happened.
    pub shop_name: String,
    pub buyer: String,
    /// `placed`, `paid`, `shipped`, `confirmed`, `auto_confirmed`,
    /// `cancelled`, `expired`, `refund_requested`, `refund_approved` or
    /// `refund_rejected`.
    pub action: String,
    /// The order's status after it.
    pub status: String,
    pub total_minor: i64,
    pub currency: String,
    /// Refunded so far, in all.
    pub refunded_minor: i64,
    /// For a refund request's moves: its index and amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_minor: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ArticlePublishedEvent {
    pub channel_id: String,
    /// The channel's handle and name when it published.
    pub handle: String,
    pub channel_name: String,
    pub article_id: String,
    pub title: String,
    /// `null` when the article has no cover.
    pub cover_media_id: Option<String>,
    pub published_at: String,
    /// Its public page, `/c/{handle}/{article_id}`.
    pub url: String,
}

/// `message.new`: a message as history shows it, and its conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MessageEvent {
    pub conversation_id: String,
    #[serde(flatten)]
    pub message: MessageView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationCreatedEvent {
    pub conversation_id: String,
    /// `direct`, `group` or `order` (an order's own conversation).
    pub kind: String,
    /// `null` for a direct conversation.
    pub title: Option<String>,
    /// `null` for a direct conversation.
    pub owner: Option<String>,
    pub members: Vec<String>,
    /// A group's picture; `null` when it has none.
    pub avatar_media_id: Option<String>,
    /// A group's admins besides its owner (known when a newcomer's log is
    /// given the group; empty otherwise, and for direct conversations).
    #[serde(default)]
    pub admins: Vec<String>,
    /// A group's announcement; empty when it has none.
    #[serde(default)]
    pub announcement: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationUpdatedEvent {
    pub conversation_id: String,
    pub title: String,
    /// `null` when the group has no picture.
    pub avatar_media_id: Option<String>,
    /// Who changed it.
    pub by: String,
    /// The announcement as it now is; empty when there is none.
    #[serde(default)]
    pub announcement: String,
    /// Whether joining by invitation now waits for an admin's approval.
    #[serde(default)]
    pub join_approval: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JoinRequestedEvent {
    pub conversation_id: String,
    /// Who asks (`POST …/join-requests/{account_id}/approve` lets them in).
    pub account_id: String,
    /// The requester's name and picture.
    #[serde(flatten)]
    #[schema(nullable = false)]
    pub member: Option<AccountName>,
}

/// A join request was declined: to the requester (it no longer waits) and
/// to the group's owner and admins (it leaves their lists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JoinDeclinedEvent {
    pub conversation_id: String,
    /// Who had asked.
    pub account_id: String,
    /// The owner or admin who declined.
    pub by: String,
    /// The group's title, for a requester who is not in it.
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoleChangedEvent {
    pub conversation_id: String,
    pub account_id: String,
    /// `admin` or `member`.
    pub role: String,
    /// The owner, who changed it.
    pub by: String,
}

/// An account's name and picture as they were when the event was logged,
/// beside its id: both fields, or (in events logged before profiles)
/// neither.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountName {
    // Not required in the schema: a flattened `Option` of this is how
    // events carry it, absent as a whole.
    #[schema(required = false)]
    pub display_name: String,
    /// `null` when the account had no avatar.
    pub avatar_media_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberAddedEvent {
    pub conversation_id: String,
    pub account_id: String,
    pub by: String,
    /// The new member's name and picture.
    #[serde(flatten)]
    #[schema(nullable = false)]
    pub member: Option<AccountName>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberRemovedEvent {
    pub conversation_id: String,
    pub account_id: String,
    pub by: String,
    /// The owner once the member is gone (it changes when the owner
    /// leaves); `null` in entries logged before it was kept.
    pub owner: Option<String>,
    /// The removed member's name and picture.
    #[serde(flatten)]
    #[schema(nullable = false)]
    pub member: Option<AccountName>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContactRequestEvent {
    pub request_id: String,
    pub from: AccountBrief,
    pub to: AccountBrief,
    pub greeting: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContactRequestDeclinedEvent {
    pub request_id: String,
    /// Who had asked.
    pub from: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContactAddedEvent {
    /// The new contact's, as in `contact`.
    pub account_id: String,
    pub contact: AccountBrief,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContactRemovedEvent {
    pub account_id: String,
    /// The former contact's name and picture.
    #[serde(flatten)]
    #[schema(nullable = false)]
    pub contact: Option<AccountName>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContactUpdatedEvent {
    /// The contact's.
    pub account_id: String,
    /// The account's own name for the contact; `null` when cleared.
    pub remark: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContactBlockedEvent {
    /// The account blocked or unblocked.
    pub account_id: String,
    /// `true`: now blocked; `false`: no longer.
    pub blocked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountUpdatedEvent {
    pub account_id: String,
    pub display_name: String,
    /// `null` when the account has no avatar.
    pub avatar_media_id: Option<String>,
    /// Empty when the account has none.
    pub bio: String,
}

/// The password was changed from one device; the others, if
/// `signed_out_other_devices`, were signed out in the same commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PasswordChangedEvent {
    pub by_device_id: String,
    pub signed_out_other_devices: bool,
}

/// The account read a conversation up to `seq` (on `device_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReadMarkerEvent {
    pub conversation_id: String,
    pub seq: i64,
    pub device_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReadReceiptEvent {
    pub conversation_id: String,
    /// Who read: the peer of the account whose log this is.
    pub account_id: String,
    pub seq: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessageRecalledEvent {
    pub conversation_id: String,
    pub message_id: String,
    pub seq: i64,
    /// Who recalled it: its sender, or the group's owner.
    pub recalled_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessageReactionEvent {
    pub conversation_id: String,
    pub message_id: String,
    pub seq: i64,
    /// Who reacted.
    pub account_id: String,
    pub emoji: String,
    /// `false`: the reaction was taken back.
    pub added: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessageDeletedEvent {
    pub conversation_id: String,
    pub message_id: String,
    pub seq: i64,
}

/// `wallet.credited` and `wallet.debited`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WalletMovementEvent {
    pub transaction_id: String,
    /// The operation: `topup`, `withdrawal`, …
    pub kind: String,
    /// Always positive; the event's type says which way it went.
    pub amount_minor: i64,
    pub currency: String,
    /// The wallet's balance after it.
    pub balance_minor: i64,
}

/// `transfer.*`: the transfer as it stood when the event was logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TransferEvent {
    pub transfer_id: String,
    pub from: String,
    pub to: String,
    pub amount_minor: i64,
    pub currency: String,
    /// `pending`, `accepted`, `declined` or `returned`.
    pub status: String,
}

/// `red_packet.claimed` and `red_packet.refunded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RedPacketEvent {
    pub red_packet_id: String,
    pub conversation_id: String,
    pub sender: String,
    /// Who claimed; `null` on `red_packet.refunded`.
    pub claimer: Option<String>,
    /// The share claimed, or the rest refunded.
    pub amount_minor: i64,
    pub currency: String,
}

/// `payment.*`: a merchant payment, or a refund of one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentEvent {
    pub payment_id: String,
    pub merchant_id: String,
    pub buyer: String,
    /// The payment's amount, or the refund's on `payment.refunded`.
    pub amount_minor: i64,
    pub currency: String,
    /// Only on `payment.refunded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refund_id: Option<String>,
    /// The merchant's name; absent from entries logged before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub merchant_name: Option<String>,
    /// Present (and `true`) only when the merchant collected it with the
    /// buyer's payment code.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub collected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PinResetEvent {
    /// When the new PIN takes over (RFC 3339).
    pub effective_at: String,
}

/// The PIN was set or changed at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PinChangedEvent {
    /// A change with the old PIN also cancels a reset in progress.
    pub reset_cancelled: bool,
}

/// `moment.liked`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MomentLikedEvent {
    pub moment_id: String,
    /// The post's author.
    pub author_id: String,
    /// Who liked it.
    pub account_id: String,
    /// Their name and picture.
    #[serde(flatten)]
    #[schema(nullable = false)]
    pub liker: Option<AccountName>,
}

/// `moment.commented`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MomentCommentedEvent {
    pub moment_id: String,
    /// The post's author.
    pub author_id: String,
    pub comment_id: String,
    /// Who commented.
    pub account_id: String,
    /// Their name and picture.
    #[serde(flatten)]
    #[schema(nullable = false)]
    pub commenter: Option<AccountName>,
    pub text: String,
    /// The comment this one answers, and its author (null for a comment
    /// on the post itself).
    pub reply_to: Option<String>,
    pub reply_to_account: Option<String>,
}
