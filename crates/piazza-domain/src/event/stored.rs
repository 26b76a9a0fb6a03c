//! How a storage engine keeps an event: the stored form of the log, one
//! for every engine (SQLite keeps it as JSON text; PostgreSQL keeps the
//! same JSON). It is separate from [`Event`](super::Event), which the rules
//! use, and from the wire form clients see (`piazza_api::events`), so any
//! of the three can be renamed without touching the others.
//!
//! Entries written years ago must still read, so this form only grows:
//! every key is spelled out with `rename` (renaming a Rust field here
//! changes nothing stored), a field added later is `#[serde(default)]`,
//! and none is ever renamed or removed without a migration of every
//! engine's stored entries. The tests pin the JSON of every event, and
//! entries in their older shapes. Ids are kept as their row numbers and
//! times as Unix milliseconds (the transparent serde of those types).
//!
//! An engine may keep some events another way (SQLite keeps a
//! `message.new` as its message's row and a transfer's events as a
//! reference to its transfer), but whatever it keeps as a whole event is
//! this.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::event as domain;
use crate::{
    AccountId, ArticleId, ChannelId, ClientMsgId, ContactRequestId, ConversationId, DeviceId,
    Emoji, MediaId, MerchantId, MessageId, MessageText, MomentCommentId, MomentId, OrderId,
    PaymentId, ProductId, RedPacketId, RefundId, Seq, ShopId, Timestamp, TransactionId, TransferId,
    Username,
};

/// One event as engines keep it. Read one back with `Event::from`
/// (`domain::Event::from(stored)`), write one with `Event::from(&event)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    #[serde(rename = "message.new")]
    MessageNew(Message),
    #[serde(rename = "conversation.created")]
    ConversationCreated {
        #[serde(rename = "conversation_id")]
        conversation_id: ConversationId,
        #[serde(rename = "kind")]
        kind: ConversationKind,
        #[serde(rename = "title")]
        title: Option<String>,
        #[serde(rename = "owner")]
        owner: Option<AccountId>,
        #[serde(rename = "members")]
        members: Vec<AccountId>,
        #[serde(
            rename = "avatar_media_id",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        avatar_media_id: Option<MediaId>,
        #[serde(rename = "admins", default, skip_serializing_if = "Vec::is_empty")]
        admins: Vec<AccountId>,
        #[serde(
            rename = "announcement",
            default,
            skip_serializing_if = "String::is_empty"
        )]
        announcement: String,
    },
    #[serde(rename = "conversation.updated")]
    ConversationUpdated {
        #[serde(rename = "conversation_id")]
        conversation_id: ConversationId,
        #[serde(rename = "title")]
        title: String,
        #[serde(rename = "avatar_media_id")]
        avatar_media_id: Option<MediaId>,
        #[serde(rename = "by")]
        by: AccountId,
        #[serde(
            rename = "announcement",
            default,
            skip_serializing_if = "String::is_empty"
        )]
        announcement: String,
        #[serde(
            rename = "join_approval",
            default,
            skip_serializing_if = "std::ops::Not::not"
        )]
        join_approval: bool,
    },
    #[serde(rename = "conversation.join_requested")]
    JoinRequested {
        #[serde(rename = "conversation_id")]
        conversation_id: ConversationId,
        #[serde(rename = "account_id")]
        account_id: AccountId,
        #[serde(flatten)]
        member: Named,
    },
    #[serde(rename = "conversation.join_declined")]
    JoinDeclined {
        #[serde(rename = "conversation_id")]
        conversation_id: ConversationId,
        #[serde(rename = "account_id")]
        account_id: AccountId,
        #[serde(rename = "by")]
        by: AccountId,
        #[serde(rename = "title")]
        title: String,
    },
    #[serde(rename = "conversation.role_changed")]
    MemberRoleChanged {
        #[serde(rename = "conversation_id")]
        conversation_id: ConversationId,
        #[serde(rename = "account_id")]
        account_id: AccountId,
        #[serde(rename = "role")]
        role: GroupRole,
        #[serde(rename = "by")]
        by: AccountId,
    },
    #[serde(rename = "conversation.member_added")]
    MemberAdded {
        #[serde(rename = "conversation_id")]
        conversation_id: ConversationId,
        #[serde(rename = "account_id")]
        account_id: AccountId,
        #[serde(rename = "by")]
        by: AccountId,
        #[serde(flatten)]
        member: Named,
    },
    #[serde(rename = "conversation.member_removed")]
    MemberRemoved {
        #[serde(rename = "conversation_id")]
        conversation_id: ConversationId,
        #[serde(rename = "account_id")]
        account_id: AccountId,
        #[serde(rename = "by")]
        by: AccountId,
        #[serde(rename = "owner", default)]
        owner: Option<AccountId>,
        #[serde(flatten)]
        member: Named,
    },
    #[serde(rename = "contact.request")]
    ContactRequest {
        #[serde(rename = "request_id")]
        request_id: ContactRequestId,
        #[serde(rename = "from")]
        from: AccountRef,
        #[serde(rename = "to")]
        to: AccountRef,
        #[serde(rename = "greeting")]
        greeting: String,
    },
    #[serde(rename = "contact.request_declined")]
    ContactRequestDeclined {
        #[serde(rename = "request_id")]
        request_id: ContactRequestId,
        #[serde(rename = "from")]
        from: AccountId,
    },
    #[serde(rename = "contact.added")]
    ContactAdded {
        #[serde(rename = "contact")]
        contact: AccountRef,
    },
    #[serde(rename = "contact.removed")]
    ContactRemoved {
        #[serde(rename = "account_id")]
        account_id: AccountId,
        #[serde(flatten)]
        contact: Named,
    },
    #[serde(rename = "contact.updated")]
    ContactUpdated {
        #[serde(rename = "account_id")]
        account_id: AccountId,
        #[serde(rename = "remark")]
        remark: Option<String>,
    },
    #[serde(rename = "contact.blocked")]
    ContactBlocked {
        #[serde(rename = "account_id")]
        account_id: AccountId,
        #[serde(rename = "blocked")]
        blocked: bool,
    },
    #[serde(rename = "account.updated")]
    AccountUpdated {
        #[serde(rename = "account_id")]
        account_id: AccountId,
        #[serde(rename = "display_name")]
        display_name: String,
        #[serde(rename = "avatar_media_id")]
        avatar_media_id: Option<MediaId>,
        #[serde(rename = "bio")]
        bio: String,
    },
    #[serde(rename = "account.password_changed")]
    PasswordChanged {
        #[serde(rename = "by_device_id")]
        by_device_id: DeviceId,
        #[serde(rename = "signed_out_other_devices")]
        signed_out_other_devices: bool,
    },
    #[serde(rename = "read.marker")]
    ReadMarker {
        #[serde(rename = "conversation_id")]
        conversation_id: ConversationId,
        #[serde(rename = "seq")]
        seq: Seq,
        #[serde(rename = "device_id")]
        device_id: DeviceId,
    },
    #[serde(rename = "message.recalled")]
    MessageRecalled {
        #[serde(rename = "conversation_id")]
        conversation_id: ConversationId,
        #[serde(rename = "message_id")]
        message_id: MessageId,
        #[serde(rename = "seq")]
        seq: Seq,
        #[serde(rename = "by")]
        by: AccountId,
    },
    #[serde(rename = "message.reaction")]
    MessageReaction {
        #[serde(rename = "conversation_id")]
        conversation_id: ConversationId,
        #[serde(rename = "message_id")]
        message_id: MessageId,
        #[serde(rename = "seq")]
        seq: Seq,
        #[serde(rename = "account_id")]
        account_id: AccountId,
        #[serde(rename = "emoji")]
        emoji: Emoji,
        #[serde(rename = "added")]
        added: bool,
    },
    #[serde(rename = "message.deleted")]
    MessageDeleted {
        #[serde(rename = "conversation_id")]
        conversation_id: ConversationId,
        #[serde(rename = "message_id")]
        message_id: MessageId,
        #[serde(rename = "seq")]
        seq: Seq,
    },
    #[serde(rename = "conversation.settings")]
    ConversationSettings {
        #[serde(rename = "conversation_id")]
        conversation_id: ConversationId,
        #[serde(rename = "muted")]
        muted: bool,
        #[serde(rename = "pinned")]
        pinned: bool,
        #[serde(rename = "archived")]
        archived: bool,
    },
    #[serde(rename = "read.receipt")]
    ReadReceipt {
        #[serde(rename = "conversation_id")]
        conversation_id: ConversationId,
        #[serde(rename = "account_id")]
        account_id: AccountId,
        #[serde(rename = "seq")]
        seq: Seq,
    },
    #[serde(rename = "wallet.credited")]
    WalletCredited(WalletMovement),
    #[serde(rename = "wallet.debited")]
    WalletDebited(WalletMovement),
    #[serde(rename = "transfer.sent")]
    TransferSent(Transfer),
    #[serde(rename = "transfer.received")]
    TransferReceived(Transfer),
    #[serde(rename = "transfer.accepted")]
    TransferAccepted(Transfer),
    #[serde(rename = "transfer.declined")]
    TransferDeclined(Transfer),
    #[serde(rename = "transfer.returned")]
    TransferReturned(Transfer),
    #[serde(rename = "red_packet.claimed")]
    RedPacketClaimed(RedPacket),
    #[serde(rename = "red_packet.refunded")]
    RedPacketRefunded(RedPacket),
    #[serde(rename = "payment.sent")]
    PaymentSent(Payment),
    #[serde(rename = "payment.received")]
    PaymentReceived(Payment),
    #[serde(rename = "payment.refunded")]
    PaymentRefunded(Payment),
    #[serde(rename = "payment.confirmation_requested")]
    PaymentConfirmationRequested(Payment),
    #[serde(rename = "payment.declined")]
    PaymentDeclined(Payment),
    #[serde(rename = "payment.expired")]
    PaymentExpired(Payment),
    #[serde(rename = "order.updated")]
    OrderUpdated(Order),
    #[serde(rename = "wallet.pin_reset")]
    PinReset {
        #[serde(rename = "effective_at")]
        effective_at: Timestamp,
    },
    #[serde(rename = "wallet.pin_changed")]
    PinChanged {
        #[serde(rename = "reset_cancelled")]
        reset_cancelled: bool,
    },
    #[serde(rename = "article.published")]
    ArticlePublished {
        #[serde(rename = "channel_id")]
        channel_id: ChannelId,
        #[serde(rename = "handle")]
        handle: String,
        #[serde(rename = "channel_name")]
        channel_name: String,
        #[serde(rename = "article_id")]
        article_id: ArticleId,
        #[serde(rename = "title")]
        title: String,
        #[serde(rename = "cover_media_id")]
        cover_media_id: Option<MediaId>,
        #[serde(rename = "published_at")]
        published_at: Timestamp,
    },
    #[serde(rename = "moment.liked")]
    MomentLiked {
        #[serde(rename = "moment_id")]
        moment_id: MomentId,
        #[serde(rename = "author_id")]
        author_id: AccountId,
        #[serde(rename = "account_id")]
        account_id: AccountId,
        #[serde(flatten)]
        liker: Named,
    },
    #[serde(rename = "moment.commented")]
    MomentCommented {
        #[serde(rename = "moment_id")]
        moment_id: MomentId,
        #[serde(rename = "author_id")]
        author_id: AccountId,
        #[serde(rename = "comment_id")]
        comment_id: MomentCommentId,
        #[serde(rename = "account_id")]
        account_id: AccountId,
        #[serde(flatten)]
        commenter: Named,
        #[serde(rename = "text")]
        text: String,
        #[serde(rename = "reply_to", default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<MomentCommentId>,
        #[serde(
            rename = "reply_to_account",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        reply_to_account: Option<AccountId>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConversationKind {
    #[serde(rename = "direct")]
    Direct,
    #[serde(rename = "group")]
    Group,
    #[serde(rename = "order")]
    Order,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    #[serde(rename = "message_id")]
    pub message_id: MessageId,
    #[serde(rename = "conversation_id")]
    pub conversation_id: ConversationId,
    #[serde(rename = "seq")]
    pub seq: Seq,
    #[serde(rename = "sender")]
    pub sender: AccountId,
    #[serde(rename = "client_msg_id")]
    pub client_msg_id: ClientMsgId,
    #[serde(rename = "text")]
    pub text: MessageText,
    #[serde(rename = "sent_at")]
    pub sent_at: Timestamp,
    #[serde(rename = "kind", default)]
    pub kind: Option<String>,
    #[serde(rename = "reference", default)]
    pub reference: Option<String>,
    #[serde(rename = "recalled", default, skip_serializing_if = "Option::is_none")]
    pub recalled: Option<Recall>,
    /// Boxed: most messages have none, and the event stays small.
    #[serde(rename = "extra", default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Box<Extra>>,
}

/// A message's extra as engines keep it (SQLite and PostgreSQL both as
/// this JSON in the message's row): only what is there is written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extra {
    #[serde(rename = "reply_to", default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<MessageId>,
    #[serde(rename = "mentions", default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<AccountId>,
    #[serde(rename = "mention_all", default, skip_serializing_if = "is_false")]
    pub mention_all: bool,
    #[serde(
        rename = "forward_of",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub forward_of: Option<MessageRef>,
    #[serde(rename = "location", default, skip_serializing_if = "Option::is_none")]
    pub location: Option<crate::Location>,
    #[serde(rename = "card", default, skip_serializing_if = "Option::is_none")]
    pub card: Option<AccountRef>,
    #[serde(rename = "article", default, skip_serializing_if = "Option::is_none")]
    pub article: Option<ArticleCard>,
    #[serde(rename = "product", default, skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductCard>,
    #[serde(
        rename = "attachment",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub attachment: Option<Attachment>,
}

/// An article card's article as it was when sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleCard {
    #[serde(rename = "article_id")]
    pub article_id: ArticleId,
    #[serde(rename = "title")]
    pub title: String,
    #[serde(rename = "channel_id")]
    pub channel_id: ChannelId,
    #[serde(rename = "handle")]
    pub handle: String,
    #[serde(rename = "channel_name")]
    pub channel_name: String,
    #[serde(
        rename = "cover_media_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cover_media_id: Option<MediaId>,
}

/// A product card's product as it was when sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductCard {
    #[serde(rename = "product_id")]
    pub product_id: ProductId,
    #[serde(rename = "title")]
    pub title: String,
    #[serde(
        rename = "picture_media_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub picture_media_id: Option<MediaId>,
    #[serde(rename = "min_price_minor")]
    pub min_price_minor: i64,
    #[serde(rename = "max_price_minor")]
    pub max_price_minor: i64,
    #[serde(rename = "currency")]
    pub currency: String,
    #[serde(rename = "shop_id")]
    pub shop_id: ShopId,
    #[serde(rename = "handle")]
    pub handle: String,
    #[serde(rename = "shop_name")]
    pub shop_name: String,
}

/// A media message's media as it was when sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    #[serde(rename = "content_type")]
    pub content_type: String,
    #[serde(rename = "bytes")]
    pub bytes: u64,
    #[serde(rename = "name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "width", default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(rename = "height", default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(
        rename = "duration_ms",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub duration_ms: Option<u64>,
}

impl From<domain::Attachment> for Attachment {
    fn from(value: domain::Attachment) -> Attachment {
        Attachment {
            content_type: value.media_type.as_mime().to_owned(),
            bytes: value.bytes,
            name: value.name,
            width: value.facts.width,
            height: value.facts.height,
            duration_ms: value.facts.duration_ms,
        }
    }
}

impl From<Attachment> for domain::Attachment {
    /// A type this version does not know is shown as a plain file.
    fn from(value: Attachment) -> domain::Attachment {
        domain::Attachment {
            media_type: crate::media::MediaType::from_content_type(&value.content_type)
                .unwrap_or(crate::media::MediaType::Binary),
            bytes: value.bytes,
            name: value.name,
            facts: crate::media::MediaFacts {
                width: value.width,
                height: value.height,
                duration_ms: value.duration_ms,
            },
        }
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    #[serde(rename = "conversation_id")]
    pub conversation_id: ConversationId,
    #[serde(rename = "message_id")]
    pub message_id: MessageId,
}

impl Extra {
    /// The JSON an engine keeps in a message's row; `None` for nothing.
    pub fn to_json(extra: Option<&domain::Extra>) -> Option<String> {
        let stored = Extra::from(extra?.clone());
        Some(serde_json::to_string(&stored).expect("an extra serializes"))
    }

    /// Reads back what [`Extra::to_json`] wrote.
    pub fn from_json(json: Option<&str>) -> Result<Option<Box<domain::Extra>>, serde_json::Error> {
        let Some(json) = json else {
            return Ok(None);
        };
        let stored: Extra = serde_json::from_str(json)?;
        Ok(domain::Extra::from(stored).boxed())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recall {
    #[serde(rename = "at")]
    pub at: Timestamp,
    #[serde(rename = "by")]
    pub by: AccountId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRef {
    #[serde(rename = "account_id")]
    pub account_id: AccountId,
    #[serde(rename = "username")]
    pub username: Username,
    #[serde(rename = "display_name")]
    pub display_name: String,
    /// Absent from entries logged before profiles had avatars.
    #[serde(
        rename = "avatar_media_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub avatar_media_id: Option<MediaId>,
}

/// Flattened into the event that names the account; both keys are absent
/// from entries logged before profiles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    #[serde(
        rename = "display_name",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
    #[serde(
        rename = "avatar_media_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub avatar_media_id: Option<MediaId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletMovement {
    #[serde(rename = "transaction_id")]
    pub transaction_id: TransactionId,
    #[serde(rename = "kind")]
    pub kind: String,
    #[serde(rename = "amount_minor")]
    pub amount_minor: i64,
    #[serde(rename = "currency")]
    pub currency: String,
    #[serde(rename = "balance_minor")]
    pub balance_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    #[serde(rename = "transfer_id")]
    pub transfer_id: TransferId,
    #[serde(rename = "from")]
    pub from: AccountId,
    #[serde(rename = "to")]
    pub to: AccountId,
    #[serde(rename = "amount_minor")]
    pub amount_minor: i64,
    #[serde(rename = "currency")]
    pub currency: String,
    #[serde(rename = "status")]
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedPacket {
    #[serde(rename = "red_packet_id")]
    pub red_packet_id: RedPacketId,
    #[serde(rename = "conversation_id")]
    pub conversation_id: ConversationId,
    #[serde(rename = "sender")]
    pub sender: AccountId,
    #[serde(rename = "claimer", default)]
    pub claimer: Option<AccountId>,
    #[serde(rename = "amount_minor")]
    pub amount_minor: i64,
    #[serde(rename = "currency")]
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    #[serde(rename = "order_id")]
    pub order_id: OrderId,
    #[serde(rename = "shop_id")]
    pub shop_id: ShopId,
    #[serde(rename = "shop_name")]
    pub shop_name: String,
    #[serde(rename = "buyer")]
    pub buyer: AccountId,
    #[serde(rename = "action")]
    pub action: String,
    #[serde(rename = "status")]
    pub status: String,
    #[serde(rename = "total_minor")]
    pub total_minor: i64,
    #[serde(rename = "currency")]
    pub currency: String,
    #[serde(rename = "refunded_minor")]
    pub refunded_minor: i64,
    #[serde(
        rename = "refund_index",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_index: Option<u32>,
    #[serde(
        rename = "refund_minor",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_minor: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    #[serde(rename = "payment_id")]
    pub payment_id: PaymentId,
    #[serde(rename = "merchant_id")]
    pub merchant_id: MerchantId,
    #[serde(rename = "buyer")]
    pub buyer: AccountId,
    #[serde(rename = "amount_minor")]
    pub amount_minor: i64,
    #[serde(rename = "currency")]
    pub currency: String,
    #[serde(rename = "refund_id", default)]
    pub refund_id: Option<RefundId>,
    /// Absent from entries logged before it was kept.
    #[serde(rename = "merchant_name", default)]
    pub merchant_name: Option<String>,
    /// Kept only when true; absent from entries logged before it was kept.
    #[serde(
        rename = "collected",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub collected: bool,
}

impl From<&domain::Event> for Event {
    fn from(event: &domain::Event) -> Event {
        Event::from(event.clone())
    }
}

/// `From` both ways between `domain::Event` and [`Event`], which have the
/// same variants with the same fields: each field is converted with `into`
/// (its own type's identity for most). Every match names every variant and
/// every field, so a variant or field added to one side only fails to
/// compile here.
macro_rules! event_twins {
    (
        newtype: $($newtype:ident),+;
        with_fields: $($variant:ident { $($field:ident),+ }),+ $(,)?
    ) => {
        impl From<domain::Event> for Event {
            fn from(event: domain::Event) -> Event {
                match event {
                    $(domain::Event::$newtype(inner) => Event::$newtype(inner.into()),)+
                    $(domain::Event::$variant { $($field),+ } => Event::$variant {
                        $($field: $field.into()),+
                    },)+
                }
            }
        }

        impl From<Event> for domain::Event {
            fn from(event: Event) -> domain::Event {
                match event {
                    $(Event::$newtype(inner) => domain::Event::$newtype(inner.into()),)+
                    $(Event::$variant { $($field),+ } => domain::Event::$variant {
                        $($field: $field.into()),+
                    },)+
                }
            }
        }
    };
}

event_twins! {
    newtype: MessageNew, WalletCredited, WalletDebited, TransferSent, TransferReceived,
        TransferAccepted, TransferDeclined, TransferReturned, RedPacketClaimed,
        RedPacketRefunded, PaymentSent, PaymentReceived, PaymentRefunded,
        PaymentConfirmationRequested, PaymentDeclined, PaymentExpired, OrderUpdated;
    with_fields:
        ConversationCreated {
            conversation_id, kind, title, owner, members, avatar_media_id, admins, announcement
        },
        ConversationUpdated {
            conversation_id, title, avatar_media_id, by, announcement, join_approval
        },
        MemberRoleChanged { conversation_id, account_id, role, by },
        JoinRequested { conversation_id, account_id, member },
        JoinDeclined { conversation_id, account_id, by, title },
        MemberAdded { conversation_id, account_id, by, member },
        MemberRemoved { conversation_id, account_id, by, owner, member },
        ContactRequest { request_id, from, to, greeting },
        ContactRequestDeclined { request_id, from },
        ContactAdded { contact },
        ContactRemoved { account_id, contact },
        ContactUpdated { account_id, remark },
        ContactBlocked { account_id, blocked },
        AccountUpdated { account_id, display_name, avatar_media_id, bio },
        PasswordChanged { by_device_id, signed_out_other_devices },
        ReadMarker { conversation_id, seq, device_id },
        ReadReceipt { conversation_id, account_id, seq },
        MessageRecalled { conversation_id, message_id, seq, by },
        MessageDeleted { conversation_id, message_id, seq },
        ConversationSettings { conversation_id, muted, pinned, archived },
        MessageReaction { conversation_id, message_id, seq, account_id, emoji, added },
        PinReset { effective_at },
        MomentLiked { moment_id, author_id, account_id, liker },
        MomentCommented {
            moment_id, author_id, comment_id, account_id, commenter, text, reply_to,
            reply_to_account
        },
        PinChanged { reset_cancelled },
        ArticlePublished {
            channel_id, handle, channel_name, article_id, title, cover_media_id, published_at
        },
}

/// `From` both ways between a domain struct and its stored twin, which
/// have the same fields. Both are destructured whole, so a field added to
/// one side only fails to compile here.
macro_rules! struct_twins {
    ($domain:ident <=> $stored:ident { $($field:ident),+ $(,)? }) => {
        impl From<domain::$domain> for $stored {
            fn from(value: domain::$domain) -> $stored {
                let domain::$domain { $($field),+ } = value;
                $stored { $($field),+ }
            }
        }

        impl From<$stored> for domain::$domain {
            fn from(value: $stored) -> domain::$domain {
                let $stored { $($field),+ } = value;
                domain::$domain { $($field),+ }
            }
        }
    };
}

/// By hand, for its recall (a struct of its own on both sides).
impl From<domain::Message> for Message {
    fn from(value: domain::Message) -> Message {
        let domain::Message {
            message_id,
            conversation_id,
            seq,
            sender,
            client_msg_id,
            text,
            sent_at,
            kind,
            reference,
            recalled,
            extra,
        } = value;
        let recalled = recalled.map(Recall::from);
        Message {
            message_id,
            conversation_id,
            seq,
            sender,
            client_msg_id,
            text,
            sent_at,
            kind,
            reference,
            recalled,
            extra: extra.map(|extra| Box::new(Extra::from(*extra))),
        }
    }
}

impl From<Message> for domain::Message {
    fn from(value: Message) -> domain::Message {
        let Message {
            message_id,
            conversation_id,
            seq,
            sender,
            client_msg_id,
            text,
            sent_at,
            kind,
            reference,
            recalled,
            extra,
        } = value;
        let recalled = recalled.map(domain::Recall::from);
        domain::Message {
            message_id,
            conversation_id,
            seq,
            sender,
            client_msg_id,
            text,
            sent_at,
            kind,
            reference,
            recalled,
            extra: extra.and_then(|extra| domain::Extra::from(*extra).boxed()),
        }
    }
}
struct_twins!(Recall <=> Recall { at, by });
struct_twins!(MessageRef <=> MessageRef { conversation_id, message_id });

impl From<domain::Extra> for Extra {
    fn from(value: domain::Extra) -> Extra {
        let domain::Extra {
            reply_to,
            mentions,
            mention_all,
            forward_of,
            location,
            card,
            article,
            product,
            attachment,
        } = value;
        Extra {
            reply_to,
            mentions,
            mention_all,
            forward_of: forward_of.map(MessageRef::from),
            location,
            card: card.map(AccountRef::from),
            article: article.map(ArticleCard::from),
            product: product.map(ProductCard::from),
            attachment: attachment.map(Attachment::from),
        }
    }
}

impl From<Extra> for domain::Extra {
    fn from(value: Extra) -> domain::Extra {
        let Extra {
            reply_to,
            mentions,
            mention_all,
            forward_of,
            location,
            card,
            article,
            product,
            attachment,
        } = value;
        domain::Extra {
            reply_to,
            mentions,
            mention_all,
            forward_of: forward_of.map(domain::MessageRef::from),
            location,
            card: card.map(domain::AccountRef::from),
            article: article.map(domain::ArticleCard::from),
            product: product.map(domain::ProductCard::from),
            attachment: attachment.map(domain::Attachment::from),
        }
    }
}
struct_twins!(AccountRef <=> AccountRef { account_id, username, display_name, avatar_media_id });
struct_twins!(ArticleCard <=> ArticleCard {
    article_id, title, channel_id, handle, channel_name, cover_media_id,
});
struct_twins!(ProductCard <=> ProductCard {
    product_id, title, picture_media_id, min_price_minor, max_price_minor, currency, shop_id,
    handle, shop_name,
});
struct_twins!(Named <=> Named { display_name, avatar_media_id });
struct_twins!(WalletMovement <=> WalletMovement {
    transaction_id, kind, amount_minor, currency, balance_minor,
});
struct_twins!(TransferEvent <=> Transfer { transfer_id, from, to, amount_minor, currency, status });
struct_twins!(RedPacketEvent <=> RedPacket {
    red_packet_id, conversation_id, sender, claimer, amount_minor, currency,
});
struct_twins!(OrderEvent <=> Order {
    order_id, shop_id, shop_name, buyer, action, status, total_minor, currency, refunded_minor,
    refund_index, refund_minor,
});
struct_twins!(PaymentEvent <=> Payment {
    payment_id, merchant_id, buyer, amount_minor, currency, refund_id, merchant_name, collected,
});

/// A `message.new` holds its message shared (`Arc`), as the hub does.
impl From<Arc<domain::Message>> for Message {
    fn from(message: Arc<domain::Message>) -> Message {
        Message::from(Arc::unwrap_or_clone(message))
    }
}

impl From<Message> for Arc<domain::Message> {
    fn from(message: Message) -> Arc<domain::Message> {
        Arc::new(message.into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupRole {
    #[serde(rename = "member")]
    Member,
    #[serde(rename = "admin")]
    Admin,
    #[serde(rename = "owner")]
    Owner,
}

impl From<domain::GroupRole> for GroupRole {
    fn from(role: domain::GroupRole) -> GroupRole {
        match role {
            domain::GroupRole::Member => GroupRole::Member,
            domain::GroupRole::Admin => GroupRole::Admin,
            domain::GroupRole::Owner => GroupRole::Owner,
        }
    }
}

impl From<GroupRole> for domain::GroupRole {
    fn from(role: GroupRole) -> domain::GroupRole {
        match role {
            GroupRole::Member => domain::GroupRole::Member,
            GroupRole::Admin => domain::GroupRole::Admin,
            GroupRole::Owner => domain::GroupRole::Owner,
        }
    }
}

impl From<domain::ConversationKind> for ConversationKind {
    fn from(kind: domain::ConversationKind) -> ConversationKind {
        match kind {
            domain::ConversationKind::Direct => ConversationKind::Direct,
            domain::ConversationKind::Group => ConversationKind::Group,
            domain::ConversationKind::Order => ConversationKind::Order,
        }
    }
}

impl From<ConversationKind> for domain::ConversationKind {
    fn from(kind: ConversationKind) -> domain::ConversationKind {
        match kind {
            ConversationKind::Direct => domain::ConversationKind::Direct,
            ConversationKind::Group => domain::ConversationKind::Group,
            ConversationKind::Order => domain::ConversationKind::Order,
        }
    }
}

#[cfg(test)]
mod tests;
