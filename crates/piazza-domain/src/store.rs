//! What the rules and the server say to each other about stored things:
//! the values a use case takes and answers (`Transfer`, `PinChange`, …),
//! the rejections of a broken rule and `StoreError`. The use cases
//! themselves are `piazza-core`'s, over the engines.
//!
//! Every use case that takes an `AccountId` as its first argument acts
//! *as* that account: membership and ownership are checked inside the
//! same read or transaction, which is how isolation is enforced in one
//! place.

use std::sync::Arc;

use crate::event::{AccountRef, ConversationKind, LogEntry, Message, Notice};
use crate::ledger::OperationKind;
use crate::money::Money;
use crate::{
    AccountId, Bio, ContactRequestId, ConversationId, DeviceId, DeviceName, DisplayName, EntryId,
    GroupTitle, LogSeq, MediaId, MerchantId, PaymentId, RedPacketId, RefundId, Seq, Timestamp,
    TransactionId, TransferId, Username, limits,
};

/// A rule the request broke. Each maps to one HTTP status and stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("that username is taken")]
    UsernameTaken,
    #[error("no such account")]
    AccountNotFound,
    #[error("you cannot do this with your own account")]
    SelfTarget,
    #[error("you are already contacts")]
    AlreadyContacts,
    #[error("no pending contact request with that id was sent to you")]
    RequestNotFound,
    #[error("that account is not one of your contacts")]
    NotAContact,
    #[error("you are not a member of that conversation")]
    NotAMember,
    #[error("only the group's owner may do this")]
    NotOwner,
    #[error("direct conversations have exactly two members")]
    NotAGroup,
    #[error("a group holds at most {max} members")]
    GroupFull { max: usize },
    #[error("that account is not a member of this conversation")]
    MemberNotFound,
    #[error("only the group's owner or an admin may do this")]
    NotAdmin,
    #[error("the group's owner cannot be made an admin, demoted or removed")]
    TargetIsOwner,
    #[error("a direct conversation cannot be left")]
    CannotLeaveDirect,
    #[error("no such invitation, or it has expired or been revoked")]
    InviteNotFound,
    #[error("no pending join request from that account")]
    JoinRequestNotFound,
    #[error("no device with that id belongs to you")]
    DeviceNotFound,
    #[error("this client_msg_id was already used for a different message")]
    ClientMsgIdReused,
    #[error("seq {seq} is past the conversation's last message")]
    SeqOutOfRange { seq: i64 },
    #[error("an account holds at most {max} {what}")]
    TooMany { what: &'static str, max: usize },
    #[error("the wallet holds too little for this")]
    InsufficientFunds,
    #[error("this Idempotency-Key was already used for a different request")]
    IdempotencyKeyReused,
    #[error("the payment PIN is wrong")]
    WrongPin,
    #[error("too many wrong PINs: money-out is locked until {}", until.to_rfc3339())]
    PinLocked { until: Timestamp },
    #[error("set a payment PIN first (PUT /api/v1/wallet/pin)")]
    PinNotSet,
    #[error("enter the payment PIN: this device has not entered it lately")]
    PinRequired,
    #[error(
        "the payment PIN is being reset: no money can leave the wallet until {}",
        until.to_rfc3339()
    )]
    PinResetPending { until: Timestamp },
    #[error("a wallet holds at most {max} minor units: top up less, or spend first")]
    WalletBalanceLimit { max: i64 },
    #[error(
        "this server holds as much money as its ledger can account for: withdraw first, or top up less"
    )]
    GatewayLimit,
    #[error("no such transfer")]
    TransferNotFound,
    #[error("the transfer is no longer pending (it is {status})")]
    TransferNotPending { status: &'static str },
    #[error("no such red packet")]
    RedPacketNotFound,
    #[error("the red packet has no shares left")]
    RedPacketEmpty,
    #[error("the red packet has expired")]
    RedPacketExpired,
    #[error("no such merchant")]
    MerchantNotFound,
    #[error("no such payment")]
    PaymentNotFound,
    #[error("the QR code does not name a Piazza merchant")]
    InvalidQr,
    #[error("refunds would exceed what was paid")]
    RefundExceedsPayment,
    #[error("no such payment code")]
    PaymentCodeNotFound,
    #[error("the payment code has expired")]
    PaymentCodeExpired,
    #[error("the payment code was already used")]
    PaymentCodeUsed,
    #[error("the payment no longer waits for confirmation (it is {status})")]
    PaymentNotPending { status: &'static str },
    #[error("no such media")]
    MediaNotFound,
    /// A media id in a request's body that is not one (`med_<number>`).
    #[error("`media_id` must be a media id such as med_12, as the upload answered")]
    InvalidMediaId,
    #[error(
        "the server found damage in its store and has halted all money movement until an operator restores it"
    )]
    MoneyHalted,
    #[error(
        "this upload would pass the account's media quota of {quota_bytes} bytes ({used_bytes} used)"
    )]
    MediaQuotaExceeded { quota_bytes: u64, used_bytes: u64 },
    #[error("the account password is wrong")]
    WrongPassword,
    #[error("the image cannot be decoded: {reason}")]
    ImageUndecodable { reason: String },
    /// An upload whose body broke off before its end (the connection
    /// failed or was closed); nothing of it is kept.
    #[error("the upload broke off: {0}")]
    UploadCut(String),
    /// An upload of no bytes at all.
    #[error("an upload holds at least one byte")]
    EmptyUpload,
    /// An upload past its kind's cap (`limits.*_bytes_max`).
    #[error("a {kind} is at most {max_bytes} bytes")]
    MediaTooLarge { kind: &'static str, max_bytes: u64 },
    /// An upload declared as a picture, audio or video whose bytes are not
    /// that (a type is what the bytes say, never what is declared).
    #[error("the bytes are {found}, not the {declared} declared")]
    MediaTypeMismatch {
        declared: &'static str,
        found: &'static str,
    },
    /// A media message's kind that its media cannot be (a voice note
    /// that is not audio, a picture that is a video…).
    #[error("a {kind} message needs {needs}")]
    MediaKindMismatch {
        kind: &'static str,
        needs: &'static str,
    },
    #[error("no such message in this conversation")]
    MessageNotFound,
    #[error("the message was recalled")]
    MessageRecalled,
    #[error("a message can be recalled within {window_s} s of sending it")]
    RecallTooLate { window_s: u64 },
    #[error(
        "only its sender, or the group's owner or an admin, may recall a message; money is never recalled"
    )]
    RecallNotAllowed,
    #[error("only members of the conversation can be mentioned")]
    MentionNotAMember,
    #[error("only a group's owner or admins may mention everyone")]
    MentionAllNotAllowed,
    #[error("money's messages (transfers, red packets) cannot be forwarded")]
    ForwardNotAllowed,
    #[error("one of you has blocked the other")]
    Blocked,
    /// A log-in that no account answers (now): a deleted account past its
    /// grace period, or a password changed while it was checked.
    #[error("wrong username or password")]
    WrongCredentials,
    /// An export that is not the caller's, or no export at all.
    #[error("no such export")]
    ExportNotFound,
    /// The other account was deleted by its owner (it may be in its grace
    /// period, or erased): nothing reaches it.
    #[error("that account was deleted")]
    AccountDeleted,
    /// An account is deleted only with an empty wallet: money is
    /// withdrawn first, never dropped.
    #[error("your wallet still holds money: withdraw it before deleting your account")]
    WalletNotEmpty,
    #[error("no such contact")]
    ContactNotFound,
    /// Unknown, revoked or never issued: one answer, so a code's absence
    /// says nothing about any account.
    #[error("no such contact code")]
    ContactCodeNotFound,
    /// A Moments post the caller may not see answers as one that does not
    /// exist.
    #[error("no such moment")]
    MomentNotFound,
    /// A comment on a moment or an article that is not there, or not
    /// shown to the caller.
    #[error("no such comment here")]
    CommentNotFound,
    #[error("only a moment's author may do this")]
    NotMomentAuthor,
    #[error("only a comment's author or the moment's author may delete it")]
    NotCommentAuthor,
    #[error("a moment holds text or at least one picture")]
    EmptyMoment,
    #[error("an `only` moment names at least one contact")]
    EmptyAudience,
    /// The acting device was signed out (revoked) while its request ran:
    /// answered as its next request would be, 401.
    #[error("this device has been signed out")]
    DeviceSignedOut,
    #[error("no such channel")]
    ChannelNotFound,
    #[error("that handle is taken by another channel")]
    HandleTaken,
    #[error("only the channel's owner may do this")]
    NotChannelOwner,
    #[error("only the channel's owner or its editors may do this")]
    NotChannelEditor,
    #[error("no such article")]
    ArticleNotFound,
    /// A shop, or a shop the caller may not manage where managing is
    /// asked.
    #[error("no such shop")]
    ShopNotFound,
    #[error("that handle is taken by another shop")]
    ShopHandleTaken,
    #[error("only the shop's owner may do this")]
    NotShopOwner,
    #[error("only the shop's owner or its staff may do this")]
    NotShopStaff,
    /// A product, or an unlisted one shown to a buyer.
    #[error("no such product")]
    ProductNotFound,
    #[error("no such variant")]
    VariantNotFound,
    #[error("the shop already has a variant with SKU {sku}")]
    SkuTaken { sku: String },
    #[error("variant {variant} is not sold by this shop, or no longer listed")]
    VariantUnavailable { variant: crate::VariantId },
    #[error("only {available} of variant {variant} are available")]
    OutOfStock {
        variant: crate::VariantId,
        available: i64,
    },
    #[error("the stock of variant {variant} would go below zero ({available} available)")]
    StockBelowZero {
        variant: crate::VariantId,
        available: i64,
    },
    /// An order, or one the caller is neither the buyer of nor staff of
    /// its shop for: the same answer, so ids tell nothing.
    #[error("no such order")]
    OrderNotFound,
    #[error("only the order's buyer may do this")]
    NotOrderBuyer,
    /// The order's state machine refused the move (`OrderError::code`).
    #[error("{0}")]
    Order(crate::order::OrderError),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The store cannot answer now (disk full, shutting down, a bug). The
    /// detail is for the log, never for the client.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The answer to a write that is already queued: it resolves once the
/// write has committed (or failed). See [`Store::queue_message`].
pub type Answer<T> = std::pin::Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'static>>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account_id: AccountId,
    pub username: Username,
    pub display_name: String,
    /// The account's picture: one of its own uploads.
    pub avatar_media_id: Option<MediaId>,
    /// Empty when the account has none.
    pub bio: String,
}

impl Account {
    pub fn to_ref(&self) -> AccountRef {
        AccountRef {
            account_id: self.account_id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            avatar_media_id: self.avatar_media_id,
        }
    }
}

/// How an update changes one field that may be cleared: left alone,
/// cleared, or set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldChange<T> {
    Keep,
    Clear,
    Set(T),
}

/// A change of an account's own profile; `None` leaves a field alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileChange {
    pub display_name: Option<DisplayName>,
    /// Must name an image the account uploaded itself.
    pub avatar: FieldChange<MediaId>,
    /// An empty bio clears it.
    pub bio: Option<Bio>,
}

/// A change of a group's title, picture, announcement or approval mode
/// (its owner or an admin); `None` keeps what is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChange {
    pub title: Option<GroupTitle>,
    /// Must name an image the one changing it uploaded itself.
    pub avatar: FieldChange<MediaId>,
    /// Empty clears it.
    pub announcement: Option<crate::Announcement>,
    pub join_approval: Option<bool>,
}

/// An account as one viewer may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Profile {
    /// The account itself, a contact, or someone it shares a conversation
    /// with: everything.
    Full { account: Account, is_contact: bool },
    /// A stranger party to a pending contact request with the viewer
    /// (either way), or one looked up by exact username: what a request
    /// needs and no more (id, username, name, picture).
    Card(Account),
}

/// Whether a password change logs the account's other devices out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherDevices {
    Keep,
    SignOut,
}

/// What a log-in checks against.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub account_id: AccountId,
    pub password_hash: String,
}

/// The SHA-256 of a session token; the token itself is never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

/// The device a valid token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub account_id: AccountId,
    pub device_id: DeviceId,
    pub last_seen_at: Timestamp,
    /// What was seen of it then.
    pub seen: DeviceSeen,
}

/// What the server saw of a device when it last used its token: the
/// `User-Agent` it sent (cut short by the server; none if it sent none)
/// and the address it came from. Shown to the account's own devices only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceSeen {
    pub user_agent: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub device_id: DeviceId,
    pub device_name: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// What was seen of it at `last_seen_at` (or at its creation).
    pub seen: DeviceSeen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRequest {
    pub request_id: ContactRequestId,
    pub from: AccountRef,
    pub greeting: String,
    pub created_at: Timestamp,
}

/// A contact request the account sent that has not been answered, as its
/// sender sees it (a declined one looks the same: senders are not told).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRequest {
    pub request_id: ContactRequestId,
    pub to: AccountRef,
    pub greeting: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationSummary {
    pub conversation_id: ConversationId,
    pub kind: ConversationKind,
    pub title: String,
    pub last_seq: Seq,
    pub read_seq: Seq,
    pub unread: i64,
    pub member_count: i64,
    pub owner: Option<AccountId>,
    /// A group's picture, or a direct conversation's peer's.
    pub avatar_media_id: Option<MediaId>,
    /// The other member of a direct conversation.
    pub peer: Option<AccountId>,
    /// How far the peer of a direct conversation has read it (its
    /// `read_seq`); `None` for a group.
    pub peer_read_seq: Option<Seq>,
    /// This member's own name for the peer of a direct conversation (its
    /// remark), if it gave one.
    pub peer_remark: Option<String>,
    /// When a message was last sent (or the conversation created); the
    /// list is ordered by it, newest first, after the pinned ones.
    pub last_activity_at: Timestamp,
    /// This member's own settings of it.
    pub settings: ConversationSettings,
    /// Unread messages that mention this member (or everyone).
    pub mention_count: i64,
    /// The last message this member sees (sent since they joined, not
    /// deleted for themselves).
    pub last_message: Option<crate::event::Message>,
}

impl ConversationSummary {
    /// Where it stands in its account's list.
    pub fn key(&self) -> ConversationKey {
        ConversationKey {
            pinned: self.settings.pinned,
            last_activity_at: self.last_activity_at,
            conversation_id: self.conversation_id,
        }
    }
}

/// A member's own settings of a conversation, on all its devices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConversationSettings {
    /// Its messages make no sound (they still count as unread).
    pub muted: bool,
    /// At the top of the list.
    pub pinned: bool,
    /// Out of the main list, in the archive.
    pub archived: bool,
}

/// The order of an account's conversation list: pinned first, then the
/// most recently active, then the highest id; a page starts after one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationKey {
    pub pinned: bool,
    pub last_activity_at: Timestamp,
    pub conversation_id: ConversationId,
}

/// One page of a list, and whether more follows.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

/// The result of a send: the stored message and whether it was stored by
/// an earlier call with the same `client_msg_id`.
#[derive(Debug, Clone)]
pub struct Sent {
    pub message: Arc<Message>,
    pub replayed: bool,
}

#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub messages: Vec<Message>,
    pub has_more: bool,
    /// The reactions to the page's messages, by message: each emoji with
    /// who reacted with it, the first to react first.
    pub reactions: std::collections::HashMap<crate::MessageId, Vec<Reaction>>,
}

/// One emoji's reactions to a message, as one viewer sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub emoji: crate::Emoji,
    /// How many reacted with it.
    pub count: usize,
    /// The first [`crate::limits::REACTION_ACCOUNTS_SHOWN`] who did, in order.
    pub accounts: Vec<crate::AccountId>,
    /// Whether the viewer is among them (shown or not).
    pub mine: bool,
}

/// One row of a history page's reactions: an account shown for an emoji,
/// with what is known of the emoji as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionRow {
    pub message: crate::MessageId,
    pub emoji: crate::Emoji,
    pub account: crate::AccountId,
    pub count: usize,
    pub mine: bool,
}

#[derive(Debug, Clone)]
pub struct LogPage {
    pub entries: Vec<LogEntry>,
    /// The last position the page covers (the `after` asked for if empty).
    pub end: LogSeq,
    pub has_more: bool,
}

/// A client's `Idempotency-Key`: 1 to 255 bytes of visible ASCII. Keys
/// are per account, so one account cannot collide with another's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Option<IdempotencyKey> {
        let fits = !text.is_empty() && text.len() <= crate::limits::IDEMPOTENCY_KEY_BYTES_MAX;
        (fits && text.bytes().all(|byte| byte.is_ascii_graphic()))
            .then(|| IdempotencyKey(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A money-moving request as idempotency sees it: the key, and a hash of
/// what was asked, so the same key with another request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotent {
    pub key: IdempotencyKey,
    pub request_hash: [u8; 32],
}

/// The answer to a money movement: the same on a replay, flagged as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoneyMoved {
    pub transaction_id: TransactionId,
    /// The caller's wallet balance right after the movement.
    pub balance_minor: i64,
    pub replayed: bool,
}

/// What a money-out call learnt about the PIN before reaching the store
/// (Argon2 runs on the server's blocking pool, not in the writer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinCheck {
    Verified,
    Wrong,
}

/// When wrong PINs lock money-out: the server's configuration, applied by
/// the store in the same transaction that counts each wrong PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinPolicy {
    /// Wrong PINs in a row that lock money-out.
    pub attempts_max: u32,
    /// How long the lock lasts, in milliseconds.
    pub lock_ms: i64,
}

impl Default for PinPolicy {
    fn default() -> PinPolicy {
        PinPolicy {
            attempts_max: limits::PIN_ATTEMPTS_MAX,
            lock_ms: limits::PIN_LOCK_MS,
        }
    }
}

/// The stored payment PIN of an account, as it stands at the moment it
/// was read: a reset whose wait is over has already taken effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinState {
    /// The PIN that verifies now.
    pub pin_hash: String,
    pub locked_until: Option<Timestamp>,
    /// A reset of a forgotten PIN still waiting: when the new PIN takes
    /// effect. Until then no money leaves the wallet.
    pub reset_effective_at: Option<Timestamp>,
}

impl PinState {
    /// This PIN with the reset stored beside it (the new PIN's hash and
    /// when it takes effect), as it stands at `now`: past its wait the
    /// reset is the PIN; before it, the reset is waiting.
    pub fn with_reset(mut self, reset: Option<(String, Timestamp)>, now: Timestamp) -> PinState {
        self.reset_effective_at = None;
        match reset {
            Some((pin_hash, at)) if at <= now => self.pin_hash = pin_hash,
            Some((_, at)) => self.reset_effective_at = Some(at),
            None => {}
        }
        self
    }

    /// Why money cannot leave the wallet at `now`, if it cannot: a reset
    /// still waiting, or a lock. The PIN itself is not looked at.
    pub fn money_out_refusal(&self, now: Timestamp) -> Option<Rejection> {
        if let Some(until) = self.reset_effective_at.filter(|until| *until > now) {
            return Some(Rejection::PinResetPending { until });
        }
        self.lock_refusal(now)
    }

    /// `PinLocked` while wrong PINs keep the PIN locked at `now`.
    pub fn lock_refusal(&self, now: Timestamp) -> Option<Rejection> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| Rejection::PinLocked { until })
    }
}

/// How the payment PIN is to be set, with the proof the caller gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinChange {
    /// The account password was verified. With no PIN yet, `pin_hash` is
    /// the PIN at once; with one (forgotten), it becomes the PIN at
    /// `reset_effective_at`, and until then no money leaves the wallet.
    WithPassword {
        pin_hash: String,
        reset_effective_at: Timestamp,
    },
    /// The current PIN, checked like any PIN (counted when wrong, refused
    /// while locked). Right, `pin_hash` is the PIN at once and a pending
    /// reset is cancelled: whoever knows the current PIN is the owner.
    /// Wrong, `pin_hash` is never read (the caller need not hash it).
    WithOldPin { old: PinCheck, pin_hash: String },
}

/// What setting the PIN came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinSet {
    /// The new PIN works now.
    Now,
    /// A forgotten PIN's reset: the new PIN works, and money may leave
    /// again, from `effective_at`.
    AfterWait { effective_at: Timestamp },
}

/// What lets a device show a payment code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeAuthorization {
    /// The PIN came with the request (counted when wrong; right, the
    /// device is remembered as having entered it now).
    Pin(PinCheck),
    /// No PIN: the device must have entered the right one within the last
    /// `window_ms`, as the store remembers it.
    RecentPin { window_ms: i64 },
}

/// One line of a wallet statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementEntry {
    pub entry_id: EntryId,
    pub transaction_id: TransactionId,
    /// Signed: positive credits the wallet, negative debits it.
    pub amount_minor: i64,
    pub balance_after_minor: i64,
    pub kind: OperationKind,
    /// What the operation belongs to: a transfer, red packet, payment or
    /// refund id, or the gateway's reference of a top-up or withdrawal.
    pub reference: String,
    pub at: Timestamp,
}

/// A merchant as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    pub merchant_id: MerchantId,
    pub owner: AccountId,
    pub name: String,
    /// Empty when none was given.
    pub city: String,
    /// The settlement account's balance in the deployment's currency.
    pub balance_minor: i64,
}

/// A payment from a buyer to a merchant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub payment_id: PaymentId,
    pub merchant_id: MerchantId,
    /// The merchant's name, so a buyer sees whom they paid (only the
    /// owner may read the merchant itself).
    pub merchant_name: String,
    pub buyer: AccountId,
    pub money: Money,
    /// Refunded so far, in minor units.
    pub refunded_minor: i64,
    pub created_at: Timestamp,
    pub status: PaymentStatus,
    /// For a collection waiting for the buyer: when it lapses.
    pub confirm_by: Option<Timestamp>,
}

/// Where a payment stands. Only `Completed` moved money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// A collection above the no-PIN limit: nothing has moved; the buyer
    /// confirms it with their PIN, or declines it, or it lapses.
    AwaitingConfirmation,
    Completed,
    /// The buyer said no.
    Declined,
    /// The buyer did not confirm in time.
    Lapsed,
}

impl PaymentStatus {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::AwaitingConfirmation => "needs_confirmation",
            PaymentStatus::Completed => "completed",
            PaymentStatus::Declined => "declined",
            PaymentStatus::Lapsed => "expired",
        }
    }

    /// The `payments.status` column's value.
    pub fn code(self) -> i64 {
        match self {
            PaymentStatus::AwaitingConfirmation => 0,
            PaymentStatus::Completed => 1,
            PaymentStatus::Declined => 2,
            PaymentStatus::Lapsed => 3,
        }
    }

    pub fn from_code(code: i64) -> Option<PaymentStatus> {
        Some(match code {
            0 => PaymentStatus::AwaitingConfirmation,
            1 => PaymentStatus::Completed,
            2 => PaymentStatus::Declined,
            3 => PaymentStatus::Lapsed,
            _ => return None,
        })
    }
}

/// What the buyer says to a collection waiting for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentDecision {
    Confirm(PinCheck),
    Decline,
}

/// A merchant's collection from a buyer's payment code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectRequest {
    pub merchant: MerchantId,
    /// SHA-256 of the 18-digit code.
    pub code_hash: [u8; 32],
    pub money: Money,
    /// At or under this many minor units the money moves at once, while
    /// the buyer's day stays within `without_confirmation_per_day`.
    pub without_confirmation_max_minor: i64,
    /// How many collections, and how much, complete without the buyer's
    /// confirmation per buyer and UTC day; past either, the buyer confirms.
    pub without_confirmation_per_day: DailyCap,
    /// Above it, when the buyer's confirmation lapses.
    pub confirm_by: Timestamp,
}

/// A count and an amount one account may reach in a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyCap {
    pub count_max: u32,
    pub amount_max_minor: i64,
}

/// A refund, with the payment's refunded total after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refund {
    pub refund_id: RefundId,
    pub payment_id: PaymentId,
    pub amount_minor: i64,
    pub refunded_minor: i64,
}

/// Where a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferStatus {
    Pending,
    Accepted,
    Declined,
    /// Unaccepted in time, back with the sender.
    Returned,
}

impl TransferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Pending => "pending",
            TransferStatus::Accepted => "accepted",
            TransferStatus::Declined => "declined",
            TransferStatus::Returned => "returned",
        }
    }

    /// The stored form.
    pub fn code(self) -> i64 {
        match self {
            TransferStatus::Pending => 0,
            TransferStatus::Accepted => 1,
            TransferStatus::Declined => 2,
            TransferStatus::Returned => 3,
        }
    }

    pub fn from_code(code: i64) -> Option<TransferStatus> {
        Some(match code {
            0 => TransferStatus::Pending,
            1 => TransferStatus::Accepted,
            2 => TransferStatus::Declined,
            3 => TransferStatus::Returned,
            _ => return None,
        })
    }
}

/// A chat transfer as its sender and recipient see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub transfer_id: TransferId,
    pub from: AccountId,
    pub to: AccountId,
    pub money: Money,
    pub note: Option<String>,
    pub status: TransferStatus,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What a transfer's sender asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    pub to: AccountId,
    pub money: Money,
    pub note: Option<String>,
    /// When it goes back to the sender if nobody accepts it.
    pub expires_at: Timestamp,
}

/// Whether the recipient takes or refuses a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferDecision {
    Accept,
    Decline,
}

/// What a red packet's sender asks for. The split was checked by
/// `RedPacketPot::new` before it reached the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedPacketRequest {
    pub conversation: ConversationId,
    pub total: Money,
    pub count: crate::red_packet::ShareCount,
    pub mode: crate::red_packet::SplitMode,
    pub greeting: Option<String>,
    pub expires_at: Timestamp,
}

/// One claimed share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedPacketClaim {
    pub account: AccountId,
    pub amount_minor: i64,
    pub claimed_at: Timestamp,
}

/// A red packet as the members of its conversation see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedPacket {
    pub red_packet_id: RedPacketId,
    pub conversation: ConversationId,
    pub sender: AccountId,
    pub total: Money,
    pub count: u32,
    pub mode: crate::red_packet::SplitMode,
    pub greeting: Option<String>,
    pub remaining_minor: i64,
    pub remaining_shares: u32,
    /// The rest went back to the sender.
    pub refunded: bool,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Oldest first (empty in the answer to sending).
    pub claims: Vec<RedPacketClaim>,
}

/// Receives what each commit made visible, after it is durable.
pub trait NoticeSink: Send + Sync + 'static {
    fn notify(&self, notices: Vec<Notice>);
}

/// A QR login request's id: `lr_` and 22 URL-safe base64 characters (128
/// random bits), so ids can be neither guessed nor counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoginRequestId(String);

impl LoginRequestId {
    pub const PREFIX: &'static str = "lr_";
    const RANDOM_CHARS: usize = 22;

    pub fn parse(text: &str) -> Option<LoginRequestId> {
        let random = text.strip_prefix(Self::PREFIX)?;
        let plain = random
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        (random.len() == Self::RANDOM_CHARS && plain).then(|| LoginRequestId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for LoginRequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A login request to store: the page keeps the secret, the QR code
/// carries the code; the store sees only their hashes.
#[derive(Debug, Clone)]
pub struct NewLoginRequest {
    pub request_id: LoginRequestId,
    pub code_hash: TokenHash,
    pub secret_hash: TokenHash,
    /// The name the new device will have.
    pub device_name: DeviceName,
    /// What the server saw of the page, for the approver to check.
    pub origin: LoginOrigin,
    pub expires_at: Timestamp,
}

/// What the server itself observed of a page asking to log in by QR code,
/// chosen at the request's creation, never text the page wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginOrigin {
    /// The browser kind read from its User-Agent ("Chrome on Linux").
    pub browser: String,
    /// The User-Agent itself, cut short (none if the page sent none).
    pub user_agent: Option<String>,
    /// The address it connected from.
    pub address: String,
}

/// A login request as a logged-in device holding its code sees it, before
/// it approves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRequestReview {
    /// No request has that id and code.
    NotFound,
    Expired,
    AlreadyUsed,
    Pending {
        origin: LoginOrigin,
        requested_at: Timestamp,
        expires_at: Timestamp,
    },
}

/// What approving a login request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginApproval {
    /// The approver's account has this new device.
    Approved(DeviceId),
    /// No request has that id and code.
    NotFound,
    /// Its time ran out first.
    Expired,
    /// It was approved already (a request is good for one device).
    AlreadyUsed,
}

/// A login request as the page that made it sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRequestStatus {
    /// No request has that id and secret (or it was purged long after
    /// it expired).
    NotFound,
    Pending {
        expires_at: Timestamp,
    },
    /// Not approved in time, or its device was revoked or left waiting
    /// too long for its token.
    Expired {
        expires_at: Timestamp,
    },
    Approved {
        account: AccountId,
        username: Username,
        device: DeviceId,
        /// Whether the device's token is still to be handed out.
        awaiting_token: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_ms(ms)
    }

    fn pin(locked_until: Option<i64>) -> PinState {
        PinState {
            pin_hash: "old".into(),
            locked_until: locked_until.map(at),
            reset_effective_at: None,
        }
    }

    #[test]
    fn a_reset_is_the_pin_once_its_wait_is_over_and_holds_money_before() {
        let reset = Some(("new".to_owned(), at(2_000)));
        let waiting = pin(None).with_reset(reset.clone(), at(1_999));
        assert_eq!(waiting.pin_hash, "old", "the PIN in force until then");
        assert_eq!(
            waiting.money_out_refusal(at(1_999)),
            Some(Rejection::PinResetPending { until: at(2_000) })
        );
        assert_eq!(
            waiting.lock_refusal(at(1_999)),
            None,
            "a change may cancel it"
        );
        let over = pin(None).with_reset(reset, at(2_000));
        assert_eq!(over.pin_hash, "new");
        assert_eq!(over.reset_effective_at, None);
        assert_eq!(over.money_out_refusal(at(2_000)), None);
    }

    #[test]
    fn a_lock_refuses_money_out_until_it_runs_out_and_a_reset_first() {
        let locked = pin(Some(5_000));
        assert_eq!(
            locked.money_out_refusal(at(4_999)),
            Some(Rejection::PinLocked { until: at(5_000) })
        );
        assert_eq!(locked.money_out_refusal(at(5_000)), None);
        let both = pin(Some(5_000)).with_reset(Some(("new".into(), at(9_000))), at(1));
        assert_eq!(
            both.money_out_refusal(at(1)),
            Some(Rejection::PinResetPending { until: at(9_000) })
        );
        assert_eq!(
            both.lock_refusal(at(1)),
            Some(Rejection::PinLocked { until: at(5_000) })
        );
    }
}
