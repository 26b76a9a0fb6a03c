//! What happened: the entries of each account's log, and the notices the
//! store hands to the live hub after each commit.

use std::sync::Arc;

use crate::{
    AccountId, ArticleId, ChannelId, ClientMsgId, ContactRequestId, ConversationId, DeviceId,
    Emoji, LogSeq, MediaId, MerchantId, MessageId, MessageText, MomentCommentId, MomentId, OrderId,
    PaymentId, ProductId, RedPacketId, RefundId, Seq, ShopId, Timestamp, TransactionId, TransferId,
    Username,
};

#[cfg(any(test, feature = "examples"))]
pub mod examples;
pub mod stored;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationKind {
    Direct,
    Group,
    /// An order's own conversation between its buyer and the shop's owner
    /// and staff: no owner, no roles, nobody adds or removes members —
    /// they follow the order and the shop's staff.
    Order,
}

/// A member's part in a group: its one owner, the admins the owner names,
/// and everyone else. What each may do is decided in
/// `piazza_core::groups`; this only names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupRole {
    Member,
    Admin,
    Owner,
}

impl GroupRole {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupRole::Member => "member",
            GroupRole::Admin => "admin",
            GroupRole::Owner => "owner",
        }
    }

    /// The owner and admins run a group; members take part in it.
    pub fn manages(self) -> bool {
        self >= GroupRole::Admin
    }
}

impl ConversationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationKind::Direct => "direct",
            ConversationKind::Group => "group",
            ConversationKind::Order => "order",
        }
    }
}

/// A stored message, as every member sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub seq: Seq,
    pub sender: AccountId,
    pub client_msg_id: ClientMsgId,
    pub text: MessageText,
    pub sent_at: Timestamp,
    /// `None` for a plain text message; `transfer`, `red_packet`, … for a
    /// message that stands for a money movement.
    pub kind: Option<String>,
    /// The id of what a non-text message stands for (a `trf_…`).
    pub reference: Option<String>,
    /// When and by whom it was recalled: its text and reference are gone
    /// for good.
    pub recalled: Option<Recall>,
    /// What it carries besides its text and kind; `None` for most
    /// messages (and once recalled).
    pub extra: Option<Box<Extra>>,
}

impl Message {
    /// A contact card's account, to redraw (see [`Event::faces_mut`]).
    pub fn card_mut(&mut self) -> Option<&mut AccountRef> {
        self.extra.as_mut()?.card.as_mut()
    }

    /// What it carries besides its text and kind, empty if nothing.
    pub fn extra(&self) -> &Extra {
        static NONE: Extra = Extra::NONE;
        self.extra.as_deref().unwrap_or(&NONE)
    }
}

/// What a message carries besides its text and kind: the message it
/// answers, whom it mentions, the message it forwards, and the content of
/// a location, a contact card, an article card or a product card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    /// A message of the same conversation that this one answers.
    pub reply_to: Option<MessageId>,
    /// Members it mentions, each once, ordered by id.
    pub mentions: Vec<AccountId>,
    /// It mentions every member (a group's owner's only).
    pub mention_all: bool,
    /// The message whose content it carries, forwarded from a conversation
    /// its sender can see.
    pub forward_of: Option<MessageRef>,
    /// A `location` message's place.
    pub location: Option<crate::Location>,
    /// A `contact_card` message's account, as it was when sent.
    pub card: Option<AccountRef>,
    /// An `article_card` message's article, as it was when sent.
    pub article: Option<ArticleCard>,
    /// A `product_card` message's product, as it was when sent.
    pub product: Option<ProductCard>,
    /// A media message's media (its `ref`), as it was when sent: media
    /// never change, so history shows it without reading the media.
    pub attachment: Option<Attachment>,
}

/// What a media message shows of its media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub media_type: crate::media::MediaType,
    pub bytes: u64,
    /// A file's name.
    pub name: Option<String>,
    /// Sizes from the container; the length as the sender gave it (a voice
    /// note's recorder knows it where its container may not), or else the
    /// container's.
    pub facts: crate::media::MediaFacts,
}

impl Extra {
    pub const NONE: Extra = Extra {
        reply_to: None,
        mentions: Vec::new(),
        mention_all: false,
        forward_of: None,
        location: None,
        card: None,
        article: None,
        product: None,
        attachment: None,
    };

    pub fn is_empty(&self) -> bool {
        *self == Extra::NONE
    }

    /// `Some` boxed when there is anything, as `Message.extra` holds it.
    pub fn boxed(self) -> Option<Box<Extra>> {
        (!self.is_empty()).then(|| Box::new(self))
    }
}

/// An article shared into a chat, as it was when sent: receivers see this
/// even if the channel changes later, as they see a contact card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleCard {
    pub article_id: ArticleId,
    pub title: String,
    pub channel_id: ChannelId,
    /// The channel's handle: with the article's id, its public page
    /// (`/c/{handle}/{article_id}`).
    pub handle: String,
    pub channel_name: String,
    pub cover_media_id: Option<MediaId>,
}

/// A shop's listed product shared into a chat, as it was when sent: its
/// title, first picture and prices then, and its shop. Receivers see this
/// even if the product changes or is unlisted later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductCard {
    pub product_id: ProductId,
    pub title: String,
    /// Its first picture, if it had any.
    pub picture_media_id: Option<MediaId>,
    /// The cheapest and dearest of its variants' prices, in minor units of
    /// `currency`.
    pub min_price_minor: i64,
    pub max_price_minor: i64,
    pub currency: String,
    pub shop_id: ShopId,
    /// The shop's handle: with the product's id, its public page
    /// (`/s/{handle}/{product_id}`).
    pub handle: String,
    pub shop_name: String,
}

/// A message named by its conversation and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageRef {
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
}

/// A message's recall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recall {
    pub at: Timestamp,
    /// Its sender, or the group's owner.
    pub by: AccountId,
}

/// A public reference to an account, as events carry it: what a contact
/// request needs to show who it is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRef {
    pub account_id: AccountId,
    pub username: Username,
    pub display_name: String,
    /// The account's avatar when the event was logged. Absent from
    /// entries logged before profiles had avatars.
    pub avatar_media_id: Option<MediaId>,
}

/// Who an event is about, by name and picture as they were when it was
/// logged, for events that name an account by id only. Both are `None` in
/// entries logged before profiles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Named {
    pub display_name: Option<String>,
    pub avatar_media_id: Option<MediaId>,
}

impl From<&AccountRef> for Named {
    fn from(account: &AccountRef) -> Named {
        Named {
            display_name: Some(account.display_name.clone()),
            avatar_media_id: account.avatar_media_id,
        }
    }
}

/// One thing an account must learn about. This is the form the rules use;
/// it has no serde of its own. Engines keep [`stored::Event`], clients see
/// `piazza_api::events::Event`: each is converted from this in one place,
/// so a field here can be renamed without a migration or a client noticing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    MessageNew(Arc<Message>),
    ConversationCreated {
        conversation_id: ConversationId,
        kind: ConversationKind,
        title: Option<String>,
        owner: Option<AccountId>,
        members: Vec<AccountId>,
        /// A group's picture (absent from older entries and for direct
        /// conversations).
        avatar_media_id: Option<MediaId>,
        /// A group's admins (besides its owner), when a newcomer's log is
        /// given the whole picture; empty in older entries.
        admins: Vec<AccountId>,
        /// A group's announcement; empty when it has none.
        announcement: String,
    },
    /// A group's title, picture, announcement or approval mode changed
    /// (every member's log): the event carries all of them as they now
    /// are, so a client replaces rather than merges.
    ConversationUpdated {
        conversation_id: ConversationId,
        title: String,
        avatar_media_id: Option<MediaId>,
        by: AccountId,
        /// Empty when the group has none (and in older entries).
        announcement: String,
        /// Whether joining by invitation waits for an admin's approval.
        join_approval: bool,
    },
    /// Someone asked to join a group in approval mode (its owner's and
    /// admins' logs): a request waits for one of them to decide.
    JoinRequested {
        conversation_id: ConversationId,
        account_id: AccountId,
        /// The requester's name and picture.
        member: Named,
    },
    /// A manager declined a join request (the requester's log, whose
    /// request no longer waits, and the owner's and admins', whose lists
    /// it leaves). `title` names the group to a requester who is not in it.
    JoinDeclined {
        conversation_id: ConversationId,
        account_id: AccountId,
        by: AccountId,
        title: String,
    },
    /// The owner made a member an admin, or an admin a member again
    /// (every member's log). Ownership moves only through
    /// `MemberRemoved`'s `owner`, when the owner leaves.
    MemberRoleChanged {
        conversation_id: ConversationId,
        account_id: AccountId,
        role: GroupRole,
        by: AccountId,
    },
    MemberAdded {
        conversation_id: ConversationId,
        account_id: AccountId,
        by: AccountId,
        /// The new member's name and picture.
        member: Named,
    },
    MemberRemoved {
        conversation_id: ConversationId,
        account_id: AccountId,
        by: AccountId,
        /// The owner once the member is gone: it changes when the owner leaves.
        owner: Option<AccountId>,
        /// The removed member's name and picture.
        member: Named,
    },
    ContactRequest {
        request_id: ContactRequestId,
        from: AccountRef,
        to: AccountRef,
        greeting: String,
    },
    /// The recipient declined a request (the recipient's log only: the
    /// sender is not told, and still sees it pending).
    ContactRequestDeclined {
        request_id: ContactRequestId,
        from: AccountId,
    },
    ContactAdded {
        contact: AccountRef,
    },
    ContactRemoved {
        account_id: AccountId,
        /// The former contact's name and picture.
        contact: Named,
    },
    /// The account changed its own remark for a contact (its own log
    /// only: the contact never learns it).
    ContactUpdated {
        account_id: AccountId,
        /// `None` when the remark was cleared.
        remark: Option<String>,
    },
    /// The account blocked (or unblocked) another (its own log only: the
    /// blocked account is never told), so every one of its devices shows
    /// the same list.
    ContactBlocked {
        account_id: AccountId,
        blocked: bool,
    },
    /// An account changed its profile (its own log and its contacts').
    AccountUpdated {
        account_id: AccountId,
        display_name: String,
        avatar_media_id: Option<MediaId>,
        /// Empty when the account has none.
        bio: String,
    },
    /// The account's password was changed from one of its devices; the
    /// others, if `signed_out_other_devices`, were logged out in the same
    /// commit.
    PasswordChanged {
        by_device_id: DeviceId,
        signed_out_other_devices: bool,
    },
    ReadMarker {
        conversation_id: ConversationId,
        seq: Seq,
        device_id: DeviceId,
    },
    /// A message was recalled (every member's log): its content is gone.
    MessageRecalled {
        conversation_id: ConversationId,
        message_id: MessageId,
        seq: Seq,
        /// Its sender, or the group's owner.
        by: AccountId,
    },
    /// A member added (or took back) a reaction to a message (every
    /// member's log).
    MessageReaction {
        conversation_id: ConversationId,
        message_id: MessageId,
        seq: Seq,
        account_id: AccountId,
        emoji: Emoji,
        /// `false`: the reaction was taken back.
        added: bool,
    },
    /// The account deleted a message for itself (its own log only): its
    /// devices stop showing it; the other members keep it.
    MessageDeleted {
        conversation_id: ConversationId,
        message_id: MessageId,
        seq: Seq,
    },
    /// The account changed its own settings of a conversation (its own
    /// log only): every one of its devices shows the same list.
    ConversationSettings {
        conversation_id: ConversationId,
        muted: bool,
        pinned: bool,
        archived: bool,
    },
    /// The other member of a direct conversation read it up to `seq`
    /// (the peer's log only, and only when their read position moved
    /// forward; never in groups, see ARCHITECTURE.md, "Read receipts").
    ReadReceipt {
        conversation_id: ConversationId,
        /// Who read: the peer of the account whose log this is.
        account_id: AccountId,
        seq: Seq,
    },
    /// Money came into the account's wallet.
    WalletCredited(WalletMovement),
    /// Money left the account's wallet.
    WalletDebited(WalletMovement),
    /// A transfer left the account's wallet (the sender's log).
    TransferSent(TransferEvent),
    /// A transfer waits for the account to accept it (the recipient's log).
    TransferReceived(TransferEvent),
    TransferAccepted(TransferEvent),
    TransferDeclined(TransferEvent),
    /// Unaccepted in time, the transfer went back to its sender.
    TransferReturned(TransferEvent),
    /// Someone claimed a share (the claimer's and the sender's logs).
    RedPacketClaimed(RedPacketEvent),
    /// The unclaimed rest went back to the sender (the sender's log).
    RedPacketRefunded(RedPacketEvent),
    /// The account paid a merchant (the buyer's log).
    PaymentSent(PaymentEvent),
    /// One of the account's merchants was paid (the owner's log).
    PaymentReceived(PaymentEvent),
    /// A merchant gave (part of) a payment back (buyer's and owner's logs).
    PaymentRefunded(PaymentEvent),
    /// A merchant collected more than the no-PIN limit from the account's
    /// payment code: nothing moved until the buyer confirms (buyer's log).
    PaymentConfirmationRequested(PaymentEvent),
    /// The buyer declined a collection (buyer's and owner's logs).
    PaymentDeclined(PaymentEvent),
    /// The buyer did not confirm a collection in time (both logs).
    PaymentExpired(PaymentEvent),
    /// A forgotten PIN is being reset with the password: no money leaves
    /// the wallet until `effective_at`, when the new PIN takes over. Every
    /// device of the account learns it, so an owner who did not ask can
    /// cancel it with the current PIN.
    PinReset {
        effective_at: Timestamp,
    },
    /// The PIN was set or changed at once (the first PIN, or a change with
    /// the old PIN, which also cancels a pending reset).
    PinChanged {
        reset_cancelled: bool,
    },
    /// A channel the account follows published an article (each
    /// follower's log, written by the background fan-out after the
    /// publish has answered; the subscriptions feed has it from the
    /// publish on).
    ArticlePublished {
        channel_id: ChannelId,
        /// The channel's handle and name as they were when it published.
        handle: String,
        channel_name: String,
        article_id: ArticleId,
        title: String,
        cover_media_id: Option<MediaId>,
        published_at: Timestamp,
    },
    /// A shop order moved (the buyer's log and every staff member's of
    /// the shop, the owner's included).
    OrderUpdated(OrderEvent),
    /// Someone liked a post in Moments (its author's log; never one's own
    /// like of one's own post).
    MomentLiked {
        moment_id: MomentId,
        /// The post's author.
        author_id: AccountId,
        /// Who liked it, with their name and picture.
        account_id: AccountId,
        liker: Named,
    },
    /// Someone commented on a post in Moments, or replied to a comment on
    /// one (the post's author's log and the log of the one replied to;
    /// never one's own).
    MomentCommented {
        moment_id: MomentId,
        /// The post's author.
        author_id: AccountId,
        comment_id: MomentCommentId,
        /// Who commented, with their name and picture.
        account_id: AccountId,
        commenter: Named,
        text: String,
        /// The comment this one replies to, and its author.
        reply_to: Option<MomentCommentId>,
        reply_to_account: Option<AccountId>,
    },
}

/// A merchant payment or refund as the logs keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    pub payment_id: PaymentId,
    pub merchant_id: MerchantId,
    pub buyer: AccountId,
    /// The payment's amount, or the refund's for `payment.refunded`.
    pub amount_minor: i64,
    pub currency: String,
    /// For `payment.refunded`.
    pub refund_id: Option<RefundId>,
    /// The merchant's name, so the buyer sees who took the money without
    /// a read of the merchant (which only its owner may read). Absent
    /// from entries logged before it was kept.
    pub merchant_name: Option<String>,
    /// The merchant collected it with the buyer's payment code (rather
    /// than the buyer paying a scanned merchant code). False in entries
    /// logged before it was kept.
    pub collected: bool,
}

/// What happened to a shop order, as the logs keep it: enough for a list
/// of orders to update its line without a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    pub order_id: OrderId,
    pub shop_id: ShopId,
    /// The shop's name when it happened.
    pub shop_name: String,
    pub buyer: AccountId,
    /// What happened: `placed`, `paid`, `shipped`, `confirmed`,
    /// `auto_confirmed`, `cancelled`, `expired`, `refund_requested`,
    /// `refund_approved`, `refund_rejected`.
    pub action: String,
    /// The order's status after it (`OrderStatus::as_str`).
    pub status: String,
    pub total_minor: i64,
    pub currency: String,
    /// Refunded so far, in all.
    pub refunded_minor: i64,
    /// For a refund request's moves: its index in the order and amount.
    pub refund_index: Option<u32>,
    pub refund_minor: Option<i64>,
}

/// A red packet event as the logs keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedPacketEvent {
    pub red_packet_id: RedPacketId,
    pub conversation_id: ConversationId,
    pub sender: AccountId,
    /// Who claimed (for `red_packet.claimed`).
    pub claimer: Option<AccountId>,
    /// The share claimed, or the rest refunded.
    pub amount_minor: i64,
    pub currency: String,
}

/// A transfer event as the logs keep it: plain strings and numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferEvent {
    pub transfer_id: TransferId,
    pub from: AccountId,
    pub to: AccountId,
    pub amount_minor: i64,
    pub currency: String,
    /// `pending`, `accepted`, `declined` or `returned`.
    pub status: String,
}

/// A money event as the account's log keeps it. Plain strings and numbers,
/// so old log entries stay readable if the ledger's types change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletMovement {
    pub transaction_id: TransactionId,
    /// The operation, as `OperationKind::as_str` names it (`topup`, …).
    pub kind: String,
    /// Always positive; the event's type says which way it went.
    pub amount_minor: i64,
    pub currency: String,
    pub balance_minor: i64,
}

/// An account an event names with how it looked when the event was
/// logged (see [`Event::faces_mut`]).
pub enum Face<'a> {
    /// By username, name and picture.
    Ref(&'a mut AccountRef),
    /// By name and picture, beside its id.
    Named(AccountId, &'a mut Named),
}

impl Face<'_> {
    pub fn account(&self) -> AccountId {
        match self {
            Face::Ref(account) => account.account_id,
            Face::Named(account, _) => *account,
        }
    }
}

impl Event {
    /// The accounts this event names by their looks of the time it was
    /// logged: a contact request's two sides, a contact added or removed,
    /// a contact card, a member, a requester, a liker, a commenter. A
    /// reader redraws those of accounts deleted since.
    pub fn faces_mut(&mut self) -> Vec<Face<'_>> {
        match self {
            Event::MessageNew(message) if message.extra().card.is_some() => Arc::make_mut(message)
                .card_mut()
                .map(Face::Ref)
                .into_iter()
                .collect(),
            Event::ContactRequest { from, to, .. } => vec![Face::Ref(from), Face::Ref(to)],
            Event::ContactAdded { contact } => vec![Face::Ref(contact)],
            Event::MemberAdded {
                account_id, member, ..
            }
            | Event::MemberRemoved {
                account_id, member, ..
            }
            | Event::JoinRequested {
                account_id, member, ..
            }
            | Event::ContactRemoved {
                account_id,
                contact: member,
            }
            | Event::MomentLiked {
                account_id,
                liker: member,
                ..
            }
            | Event::MomentCommented {
                account_id,
                commenter: member,
                ..
            } => vec![Face::Named(*account_id, member)],
            _ => Vec::new(),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Event::MessageNew(_) => "message.new",
            Event::ConversationCreated { .. } => "conversation.created",
            Event::MemberAdded { .. } => "conversation.member_added",
            Event::MemberRemoved { .. } => "conversation.member_removed",
            Event::ConversationUpdated { .. } => "conversation.updated",
            Event::MemberRoleChanged { .. } => "conversation.role_changed",
            Event::JoinRequested { .. } => "conversation.join_requested",
            Event::JoinDeclined { .. } => "conversation.join_declined",
            Event::ContactRequest { .. } => "contact.request",
            Event::ContactRequestDeclined { .. } => "contact.request_declined",
            Event::ContactAdded { .. } => "contact.added",
            Event::ContactRemoved { .. } => "contact.removed",
            Event::ContactUpdated { .. } => "contact.updated",
            Event::ContactBlocked { .. } => "contact.blocked",
            Event::AccountUpdated { .. } => "account.updated",
            Event::PasswordChanged { .. } => "account.password_changed",
            Event::ReadMarker { .. } => "read.marker",
            Event::ReadReceipt { .. } => "read.receipt",
            Event::MessageRecalled { .. } => "message.recalled",
            Event::MessageDeleted { .. } => "message.deleted",
            Event::ConversationSettings { .. } => "conversation.settings",
            Event::MessageReaction { .. } => "message.reaction",
            Event::WalletCredited(_) => "wallet.credited",
            Event::WalletDebited(_) => "wallet.debited",
            Event::TransferSent(_) => "transfer.sent",
            Event::TransferReceived(_) => "transfer.received",
            Event::TransferAccepted(_) => "transfer.accepted",
            Event::TransferDeclined(_) => "transfer.declined",
            Event::TransferReturned(_) => "transfer.returned",
            Event::RedPacketClaimed(_) => "red_packet.claimed",
            Event::RedPacketRefunded(_) => "red_packet.refunded",
            Event::PaymentSent(_) => "payment.sent",
            Event::PaymentReceived(_) => "payment.received",
            Event::PaymentRefunded(_) => "payment.refunded",
            Event::PaymentConfirmationRequested(_) => "payment.confirmation_requested",
            Event::PaymentDeclined(_) => "payment.declined",
            Event::PaymentExpired(_) => "payment.expired",
            Event::PinReset { .. } => "wallet.pin_reset",
            Event::MomentLiked { .. } => "moment.liked",
            Event::MomentCommented { .. } => "moment.commented",
            Event::PinChanged { .. } => "wallet.pin_changed",
            Event::ArticlePublished { .. } => "article.published",
            Event::OrderUpdated(_) => "order.updated",
        }
    }
}

/// One entry of one account's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub account: AccountId,
    pub seq: LogSeq,
    pub at: Timestamp,
    pub event: Event,
}

/// What the store tells the live side after a commit, in commit order.
#[derive(Debug, Clone)]
pub enum Notice {
    Logged(Arc<LogEntry>),
    DeviceRevoked {
        account: AccountId,
        device: DeviceId,
    },
}
