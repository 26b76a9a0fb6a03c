//! The contract between the rules and the database. The HTTP layer talks
//! only to this trait; `piazza-store` fulfils it with SQLite, and a
//! PostgreSQL implementation will fulfil it the same way.
//!
//! Every method that takes an `AccountId` as its first argument acts *as*
//! that account: the store checks membership and ownership inside the same
//! read or transaction, which is how isolation is enforced in one place.

use std::sync::Arc;

use async_trait::async_trait;

use crate::event::{AccountRef, ConversationKind, LogEntry, Message, Notice};
use crate::{
    AccountId, ClientMsgId, ContactRequestId, ConversationId, DeviceId, DeviceName, DisplayName,
    Greeting, GroupTitle, LogSeq, MessageText, Seq, Timestamp, Username,
};

/// A rule the request broke. Each maps to one HTTP status and stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("that username is taken")]
    UsernameTaken,
    #[error("no account has that username")]
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
    #[error("no device with that id belongs to you")]
    DeviceNotFound,
    #[error("this client_msg_id was already used for a different message")]
    ClientMsgIdReused,
    #[error("seq {seq} is past the conversation's last message")]
    SeqOutOfRange { seq: i64 },
    #[error("an account holds at most {max} {what}")]
    TooMany { what: &'static str, max: usize },
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account_id: AccountId,
    pub username: Username,
    pub display_name: String,
}

impl Account {
    pub fn to_ref(&self) -> AccountRef {
        AccountRef {
            account_id: self.account_id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
        }
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub account_id: AccountId,
    pub device_id: DeviceId,
    pub last_seen_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub device_id: DeviceId,
    pub device_name: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRequest {
    pub request_id: ContactRequestId,
    pub from: AccountRef,
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
    /// When a message was last sent (or the conversation created); the
    /// list is ordered by it, newest first.
    pub last_activity_at: Timestamp,
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
}

#[derive(Debug, Clone)]
pub struct LogPage {
    pub entries: Vec<LogEntry>,
    /// The last position the page covers (the `after` asked for if empty).
    pub end: LogSeq,
    pub has_more: bool,
}

/// Receives what each commit made visible, after it is durable.
pub trait NoticeSink: Send + Sync + 'static {
    fn notify(&self, notices: Vec<Notice>);
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // Accounts and devices.
    async fn create_account(
        &self,
        username: Username,
        display_name: DisplayName,
        password_hash: String,
    ) -> StoreResult<Account>;
    async fn credentials(&self, username: &Username) -> StoreResult<Option<Credentials>>;
    async fn create_session(
        &self,
        account: AccountId,
        device_name: DeviceName,
        token_hash: TokenHash,
    ) -> StoreResult<DeviceId>;
    async fn authenticate(&self, token_hash: TokenHash) -> StoreResult<Option<Session>>;
    async fn touch_device(&self, device: DeviceId) -> StoreResult<()>;
    async fn account(&self, account: AccountId) -> StoreResult<Account>;
    async fn devices(
        &self,
        account: AccountId,
        after: Option<DeviceId>,
        limit: u32,
    ) -> StoreResult<Page<Device>>;
    async fn revoke_device(&self, account: AccountId, device: DeviceId) -> StoreResult<()>;

    // Contacts.
    async fn request_contact(
        &self,
        from: AccountId,
        to: Username,
        greeting: Greeting,
    ) -> StoreResult<ContactRequestId>;
    /// Pending requests to `account`, newest first, older than `before`.
    async fn incoming_requests(
        &self,
        account: AccountId,
        before: Option<ContactRequestId>,
        limit: u32,
    ) -> StoreResult<Page<ContactRequest>>;
    async fn accept_request(
        &self,
        account: AccountId,
        request: ContactRequestId,
    ) -> StoreResult<()>;
    /// Contacts by username, after `after`.
    async fn contacts(
        &self,
        account: AccountId,
        after: Option<Username>,
        limit: u32,
    ) -> StoreResult<Page<Account>>;
    async fn remove_contact(&self, account: AccountId, other: AccountId) -> StoreResult<()>;

    // Conversations and messages.
    async fn open_direct(&self, account: AccountId, peer: AccountId)
    -> StoreResult<ConversationId>;
    async fn create_group(
        &self,
        owner: AccountId,
        title: GroupTitle,
        members: Vec<AccountId>,
    ) -> StoreResult<ConversationId>;
    /// Conversations, most recently active first, after the given
    /// (activity time, id) position.
    async fn conversations(
        &self,
        account: AccountId,
        after: Option<(Timestamp, ConversationId)>,
        limit: u32,
    ) -> StoreResult<Page<ConversationSummary>>;
    async fn add_member(
        &self,
        actor: AccountId,
        conversation: ConversationId,
        member: AccountId,
    ) -> StoreResult<()>;
    async fn remove_member(
        &self,
        actor: AccountId,
        conversation: ConversationId,
        member: AccountId,
    ) -> StoreResult<()>;
    async fn send_message(
        &self,
        sender: AccountId,
        conversation: ConversationId,
        client_msg_id: ClientMsgId,
        text: MessageText,
    ) -> StoreResult<Sent>;
    async fn history(
        &self,
        viewer: AccountId,
        conversation: ConversationId,
        before: Option<Seq>,
        limit: u32,
    ) -> StoreResult<HistoryPage>;
    async fn mark_read(
        &self,
        account: AccountId,
        device: DeviceId,
        conversation: ConversationId,
        seq: Seq,
    ) -> StoreResult<()>;

    /// Ok when the store can both read and write (its writer is running).
    async fn check_health(&self) -> StoreResult<()>;

    // Sync.
    async fn log_after(
        &self,
        account: AccountId,
        after: LogSeq,
        limit: u32,
    ) -> StoreResult<LogPage>;
}
