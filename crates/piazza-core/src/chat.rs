//! Chat: direct and group conversations (and each order's own, which
//! `shops` opens), their members, messages, read positions, and each
//! account's log read back for sync.
//!
//! Who learns what: a conversation's creation and its membership changes
//! go to its members' logs (a newcomer's first to a snapshot of the whole
//! group), a message to every member's, a read marker to the reader's own
//! devices and, in a direct conversation only, a receipt to the peer
//! (ARCHITECTURE.md, "Read receipts"). A member sees the messages sent
//! after they joined, never those before.

pub mod compose;
pub mod conversations;
pub mod delete_for_me;
pub mod messages;
pub mod reactions;
pub mod recall;
pub mod settings;

use piazza_domain::event::{ConversationKind, Extra, LogEntry, Message, Recall};
use piazza_domain::store::{
    ConversationKey, ConversationSettings, ConversationSummary, Page, ReactionRow,
};
use piazza_domain::{
    AccountId, ClientMsgId, ConversationId, Emoji, GroupTitle, LogSeq, MediaId, MessageId,
    MessageText, Seq, Timestamp,
};

use crate::engine::{Read, Result};

pub use compose::{
    ARTICLE_CARD_KIND, CARD_KIND, Content, FILE_KIND, IMAGE_KIND, LOCATION_KIND, MEDIA_KINDS,
    MediaContent, Outgoing, PRODUCT_CARD_KIND, VIDEO_KIND, VOICE_KIND, send,
};
pub use conversations::{add_member, create_group, open_direct, remove_member, update_group};
pub use messages::{append_message, history, log_page, mark_read, send_image, send_message};

/// `message` of `conversation` if `membership` (the reader's) can see it:
/// sent after they joined. Anything else is `MessageNotFound`, as for an
/// id that does not exist, so a newer member learns nothing of it.
pub fn visible_message(
    read: &mut dyn Read,
    membership: &Membership,
    conversation: ConversationId,
    message: MessageId,
) -> Result<Message> {
    read.message_in(conversation, message)?
        .filter(|found| found.seq > membership.from_seq)
        .ok_or_else(|| piazza_domain::Rejection::MessageNotFound.into())
}

/// What a member's row says about a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    pub kind: ConversationKind,
    pub owner: Option<AccountId>,
    /// The conversation's last message.
    pub last_seq: Seq,
    /// How far this member has read.
    pub read_seq: Seq,
    /// The conversation's last seq when this member joined: they see the
    /// messages after it.
    pub from_seq: Seq,
}

/// A group's title and picture as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLook {
    pub title: Option<String>,
    pub avatar: Option<MediaId>,
}

/// What a message is, as it will be stored.
#[derive(Debug, Clone)]
pub struct Body {
    pub text: MessageText,
    /// `None` for a text; `image`, `location`, `transfer`, … otherwise.
    pub kind: Option<&'static str>,
    /// The id of what the message stands for (a `med_…`, a `trf_…`).
    pub reference: Option<String>,
    pub extra: Option<Box<Extra>>,
}

impl Body {
    pub fn text(text: MessageText) -> Body {
        Body {
            text,
            kind: None,
            reference: None,
            extra: None,
        }
    }

    /// A message that stands for something else: `kind` and its id.
    pub fn special(text: MessageText, kind: &'static str, reference: String) -> Body {
        Body {
            text,
            kind: Some(kind),
            reference: Some(reference),
            extra: None,
        }
    }
}

/// A message about to be stored (its id is the engine's).
#[derive(Debug, Clone, Copy)]
pub struct NewMessage<'a> {
    pub conversation: ConversationId,
    pub seq: Seq,
    pub sender: AccountId,
    pub client_msg_id: &'a ClientMsgId,
    pub text: &'a MessageText,
    pub sent_at: Timestamp,
    /// `None` for a text; what a message that is something else is
    /// (`image`, `transfer`, …).
    pub kind: Option<&'a str>,
    /// The id of what it stands for (a `med_…`, a `trf_…`).
    pub reference: Option<&'a str>,
    pub extra: Option<&'a Extra>,
}

/// Whom a message mentions, for their conversation lists' counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mentioned<'a> {
    /// Every member (the sender's own read position leaves it out).
    All,
    /// These members, ordered by id.
    These(&'a [AccountId]),
}

/// The queries of this area, as every engine answers them.
pub trait Reads {
    /// `account`'s membership of `conversation`; `None` if it is not a
    /// member (or there is no such conversation).
    fn membership(
        &mut self,
        account: AccountId,
        conversation: ConversationId,
    ) -> Result<Option<Membership>>;
    /// Whether `account` is a member of `conversation`: [`Reads::membership`]
    /// where an engine can answer it cheaper (a batch that holds the
    /// conversation's members).
    fn is_member(&mut self, account: AccountId, conversation: ConversationId) -> Result<bool> {
        Ok(self.membership(account, conversation)?.is_some())
    }
    /// The members of `conversation`, ordered by account id.
    fn member_ids(&mut self, conversation: ConversationId) -> Result<Vec<AccountId>>;
    /// The members of `conversation` who can see its message `seq` (they
    /// joined before it), ordered by account id.
    fn members_seeing(&mut self, conversation: ConversationId, seq: Seq) -> Result<Vec<AccountId>>;
    /// The member of `conversation` who joined first, the lowest account
    /// id among those who joined at the same moment; `None` if none is left.
    fn longest_standing_member(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<AccountId>>;
    /// The direct conversation between `one` and `other`, in either order.
    fn direct_conversation(
        &mut self,
        one: AccountId,
        other: AccountId,
    ) -> Result<Option<ConversationId>>;
    /// The title and picture of `conversation`, which must exist.
    fn group_look(&mut self, conversation: ConversationId) -> Result<GroupLook>;
    /// The message `sender` sent with `client_msg_id`, to answer a retry.
    /// Only messages people send are found: never one the server posted
    /// for a transfer or a red packet.
    fn message_by_client_id(
        &mut self,
        sender: AccountId,
        client_msg_id: &ClientMsgId,
    ) -> Result<Option<Message>>;
    /// The reactions to `messages` as `viewer` sees them: for each message
    /// and emoji, the first [`piazza_domain::limits::REACTION_ACCOUNTS_SHOWN`] accounts
    /// that reacted with it (a row each, in the order they reacted), each
    /// row with the emoji's count and whether `viewer` is among all of
    /// them; by message, each message's emojis in the order first used.
    fn reactions(&mut self, messages: &[MessageId], viewer: AccountId) -> Result<Vec<ReactionRow>>;
    /// How many emojis `account` has reacted to `message` with.
    fn reaction_count(&mut self, message: MessageId, account: AccountId) -> Result<usize>;
    /// The message `message` if it is one of `conversation`'s.
    fn message_in(
        &mut self,
        conversation: ConversationId,
        message: MessageId,
    ) -> Result<Option<Message>>;
    /// `account`'s conversations in the order of [`ConversationKey`]
    /// (pinned first, then the most recently active), strictly after
    /// `after`, `limit + 1` at most. A direct conversation is titled and
    /// pictured by its peer. Nothing here counts a conversation's rows:
    /// the unread count is two numbers of the member's row, the mention
    /// count only the unread mentions, and the member count a number of
    /// the conversation's row.
    fn conversations(
        &mut self,
        account: AccountId,
        after: Option<ConversationKey>,
        limit: u32,
    ) -> Result<Vec<ConversationSummary>>;
    /// `account`'s own settings of `conversation`, of which it is a member.
    fn conversation_settings(
        &mut self,
        account: AccountId,
        conversation: ConversationId,
    ) -> Result<ConversationSettings>;
    /// How many conversations `account` has pinned.
    fn pinned_count(&mut self, account: AccountId) -> Result<usize>;
    /// Messages of `conversation` with `since < seq < before` that `viewer`
    /// has not deleted for itself, newest first, `limit + 1` at most, read
    /// in one snapshot.
    fn history(
        &mut self,
        conversation: ConversationId,
        viewer: AccountId,
        since: Seq,
        before: Option<Seq>,
        limit: u32,
    ) -> Result<Vec<Message>>;
    /// The first `limit` entries of `account`'s log after `after`, in
    /// order and read in one snapshot, and whether more follow.
    fn log_after(
        &mut self,
        account: AccountId,
        after: LogSeq,
        limit: u32,
    ) -> Result<Page<LogEntry>>;
    /// The last position handed out in `account`'s log (`START` if none,
    /// or no such account).
    fn log_head(&mut self, account: AccountId) -> Result<LogSeq>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    /// As [`Reads::membership`], and the engine locks the conversation's
    /// row and this member's row until the transaction ends (PostgreSQL:
    /// `SELECT … FOR UPDATE`), so the `last_seq`, owner and `read_seq`
    /// read are still true when the job changes them.
    fn membership_for_update(
        &mut self,
        account: AccountId,
        conversation: ConversationId,
    ) -> Result<Option<Membership>>;
    /// A new direct conversation between `one` and `other`, active from
    /// `at`; `None` when they have one already (the engine's unique key
    /// decides, so two racing opens cannot both create one).
    fn insert_direct(
        &mut self,
        one: AccountId,
        other: AccountId,
        at: Timestamp,
    ) -> Result<Option<ConversationId>>;
    /// A new group owned by `owner`, active from `at`.
    fn insert_group(
        &mut self,
        title: &GroupTitle,
        owner: AccountId,
        at: Timestamp,
    ) -> Result<ConversationId>;
    /// A new order's conversation titled `title`, owned by nobody, active
    /// from `at`.
    fn insert_order_conversation(&mut self, title: &str, at: Timestamp) -> Result<ConversationId>;
    /// Makes `member` a member of `conversation` from `at`, seeing the
    /// messages after `from_seq` and having read up to it.
    fn insert_member(
        &mut self,
        conversation: ConversationId,
        member: AccountId,
        from_seq: Seq,
        at: Timestamp,
    ) -> Result<()>;
    /// `member` is no longer a member of `conversation` (its messages
    /// stay).
    fn delete_member(&mut self, conversation: ConversationId, member: AccountId) -> Result<()>;
    /// `owner` owns `conversation` now; `None` when nobody is left.
    fn set_owner(&mut self, conversation: ConversationId, owner: Option<AccountId>) -> Result<()>;
    /// A group's title and picture are now these (the picture is one the
    /// rules checked is its owner's upload).
    fn set_group_look(
        &mut self,
        conversation: ConversationId,
        title: &str,
        avatar: Option<MediaId>,
    ) -> Result<()>;
    /// The seq of `conversation`'s next message, which follows `last_seq`
    /// (what [`Writes::membership_for_update`] read in this transaction),
    /// and marks the conversation active at `at`. Seqs are gapless and in
    /// commit order: the row is locked; should `last_seq` have moved all
    /// the same, the job fails rather than skip or repeat a seq.
    fn next_seq(
        &mut self,
        conversation: ConversationId,
        last_seq: Seq,
        at: Timestamp,
    ) -> Result<Seq>;
    /// Stores `message` (its seq from [`Writes::next_seq`]) and indexes it
    /// in its conversation's history.
    fn insert_message(&mut self, message: &NewMessage<'_>) -> Result<MessageId>;
    /// `account` reacts to `message` with `emoji`; `false` if it had, or
    /// the message is recalled.
    fn add_reaction(
        &mut self,
        message: MessageId,
        account: AccountId,
        emoji: &Emoji,
        at: Timestamp,
    ) -> Result<bool>;
    /// Takes `account`'s `emoji` off `message`; `false` if it had none.
    fn remove_reaction(
        &mut self,
        message: MessageId,
        account: AccountId,
        emoji: &Emoji,
    ) -> Result<bool>;
    /// Hides `message` from `account`'s history; `false` if it was hidden
    /// already.
    fn hide_message(
        &mut self,
        account: AccountId,
        message: MessageId,
        at: Timestamp,
    ) -> Result<bool>;
    /// Recalls `message`: its text, reference, extra, reactions and
    /// mentions are erased for good and `recall` kept; `false` if it was
    /// recalled already.
    fn recall_message(&mut self, message: MessageId, recall: Recall) -> Result<bool>;
    /// The message `seq` of `conversation` mentions `mentioned`: it counts
    /// in their lists' `mention_count` until they read past it.
    fn insert_mentions(
        &mut self,
        conversation: ConversationId,
        seq: Seq,
        mentioned: Mentioned<'_>,
    ) -> Result<()>;
    /// `account`'s own settings of `conversation` are now `settings`.
    fn set_conversation_settings(
        &mut self,
        conversation: ConversationId,
        account: AccountId,
        settings: ConversationSettings,
    ) -> Result<()>;
    /// Moves `member`'s read position in `conversation` to `seq`.
    fn set_read_seq(
        &mut self,
        conversation: ConversationId,
        member: AccountId,
        seq: Seq,
    ) -> Result<()>;
}
