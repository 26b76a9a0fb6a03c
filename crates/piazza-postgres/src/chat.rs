//! Conversations, members, messages and the log read back: the SQL behind
//! `piazza_core::chat`. A conversation's seq is handed out under its row's
//! lock (`membership_for_update` takes it, `next_seq` moves it), so seqs
//! are gapless and in commit order across every writer of every process.

use std::sync::Arc;

use piazza_core::chat::{GroupLook, Membership, Mentioned, NewMessage, Reads, Writes};
use piazza_core::{Error, Result};
use piazza_domain::event::{ConversationKind, Event, LogEntry, Message, Recall, stored};
use piazza_domain::store::{
    ConversationKey, ConversationSettings, ConversationSummary, Page, ReactionRow,
};
use piazza_domain::{
    AccountId, ClientMsgId, ConversationId, Emoji, GroupTitle, LogSeq, MediaId, MessageId,
    MessageText, Seq, Timestamp, limits,
};
use postgres::Row;

use crate::conn::corrupt;
use crate::{Db, PgTx};

/// The columns `message_at` reads, of the `messages` table as `m`.
macro_rules! message_columns {
    () => {
        "m.id, m.conversation_id, m.seq, m.sender_id, m.client_msg_id, m.text, m.sent_at, \
         m.kind, m.ref, m.recalled_at, m.recalled_by, m.extra"
    };
}
pub(crate) use message_columns;

/// What `membership` and `membership_for_update` read.
macro_rules! membership_query {
    () => {
        "SELECT c.kind, c.owner_id, c.last_seq, m.read_seq, m.from_seq
         FROM members m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.conversation_id = $1 AND m.account_id = $2"
    };
}

pub(crate) fn kind_of(kind: i64) -> Result<ConversationKind> {
    match kind {
        0 => Ok(ConversationKind::Direct),
        1 => Ok(ConversationKind::Group),
        2 => Ok(ConversationKind::Order),
        other => Err(corrupt(format!("conversation kind {other}"))),
    }
}

fn kind_code(kind: ConversationKind) -> i64 {
    match kind {
        ConversationKind::Direct => 0,
        ConversationKind::Group => 1,
        ConversationKind::Order => 2,
    }
}

fn membership_of(row: &Row) -> Result<Membership> {
    Ok(Membership {
        kind: kind_of(row.get(0))?,
        owner: row.get::<_, Option<i64>>(1).map(AccountId::from_row),
        last_seq: Seq::from_store(row.get(2)),
        read_seq: Seq::from_store(row.get(3)),
        from_seq: Seq::from_store(row.get(4)),
    })
}

/// A message from `message_columns!()` starting at column `first`.
pub(crate) fn message_at(row: &Row, first: usize) -> Result<Message> {
    let extra: Option<&str> = row.get(first + 11);
    let extra = stored::Extra::from_json(extra)
        .map_err(|error| corrupt(format!("a message's extra: {error}")))?;
    Ok(Message {
        message_id: MessageId::from_row(row.get(first)),
        conversation_id: ConversationId::from_row(row.get(first + 1)),
        seq: Seq::from_store(row.get(first + 2)),
        sender: AccountId::from_row(row.get(first + 3)),
        client_msg_id: ClientMsgId::from_store(row.get(first + 4)),
        text: MessageText::from_store(row.get(first + 5)),
        sent_at: Timestamp::from_unix_ms(row.get(first + 6)),
        kind: row.get(first + 7),
        reference: row.get(first + 8),
        recalled: recall_of(row.get(first + 9), row.get(first + 10)),
        extra,
    })
}

/// A recall from its columns (both set, or neither).
fn recall_of(at: Option<i64>, by: Option<i64>) -> Option<Recall> {
    Some(Recall {
        at: Timestamp::from_unix_ms(at?),
        by: AccountId::from_row(by?),
    })
}

/// What keeps a pair to one direct conversation: `conversations.direct_key`
/// is unique. The same text as SQLite's, so a store copied across matches.
fn direct_key(one: AccountId, other: AccountId) -> String {
    let (one, other) = (one.row(), other.row());
    format!("{}:{}", one.min(other), one.max(other))
}

impl Reads for Db<'_> {
    fn membership(
        &mut self,
        account: AccountId,
        conversation: ConversationId,
    ) -> Result<Option<Membership>> {
        let row = self
            .0
            .query_opt(membership_query!(), &[&conversation.row(), &account.row()])?;
        row.as_ref().map(membership_of).transpose()
    }

    fn is_member(&mut self, account: AccountId, conversation: ConversationId) -> Result<bool> {
        if self.0.batch.is_some() {
            let known = self
                .0
                .batch_mut()
                .cache
                .member_lists
                .contains_key(&conversation.row());
            if !known && let Some(found) = self.0.in_packet_audience(conversation.row(), account) {
                return Ok(found);
            }
            return Ok(self.0.member_list(conversation.row())?.contains(&account));
        }
        Ok(self.membership(account, conversation)?.is_some())
    }

    fn member_ids(&mut self, conversation: ConversationId) -> Result<Vec<AccountId>> {
        if self.0.batch.is_some() {
            return self.0.member_list(conversation.row());
        }
        let rows = self.0.query(
            "SELECT account_id FROM members WHERE conversation_id = $1 ORDER BY account_id",
            &[&conversation.row()],
        )?;
        Ok(rows
            .iter()
            .map(|row| AccountId::from_row(row.get(0)))
            .collect())
    }

    fn longest_standing_member(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<AccountId>> {
        let row = self.0.query_opt(
            "SELECT account_id FROM members WHERE conversation_id = $1
             ORDER BY joined_at, account_id LIMIT 1",
            &[&conversation.row()],
        )?;
        Ok(row.map(|row| AccountId::from_row(row.get(0))))
    }

    fn direct_conversation(
        &mut self,
        one: AccountId,
        other: AccountId,
    ) -> Result<Option<ConversationId>> {
        if self.0.batch.is_some() {
            let found = self.0.direct_cached(direct_key(one, other))?;
            return Ok(found.map(ConversationId::from_row));
        }
        let row = self.0.query_opt(
            "SELECT id FROM conversations WHERE direct_key = $1",
            &[&direct_key(one, other)],
        )?;
        Ok(row.map(|row| ConversationId::from_row(row.get(0))))
    }

    fn group_look(&mut self, conversation: ConversationId) -> Result<GroupLook> {
        let row = self.0.query_opt(
            "SELECT title, avatar_media_id FROM conversations WHERE id = $1",
            &[&conversation.row()],
        )?;
        let row = row.ok_or_else(|| Error::missing(conversation))?;
        Ok(GroupLook {
            title: row.get(0),
            avatar: row.get::<_, Option<i64>>(1).map(MediaId::from_row),
        })
    }

    fn message_by_client_id(
        &mut self,
        sender: AccountId,
        client_msg_id: &ClientMsgId,
    ) -> Result<Option<Message>> {
        if self.0.batch.is_some() {
            return self.0.sent_message(sender.row(), client_msg_id.as_str());
        }
        // The conditions of `messages_by_client_id`, so that index answers.
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages m
                 WHERE m.sender_id = $1 AND m.client_msg_id = $2
                   AND m.kind IS DISTINCT FROM 'transfer'
                   AND m.kind IS DISTINCT FROM 'red_packet'"
            ),
            &[&sender.row(), &client_msg_id.as_str()],
        )?;
        row.map(|row| message_at(&row, 0)).transpose()
    }

    fn reactions(&mut self, messages: &[MessageId], viewer: AccountId) -> Result<Vec<ReactionRow>> {
        let ids: Vec<i64> = messages.iter().map(|message| message.row()).collect();
        let shown = limits::REACTION_ACCOUNTS_SHOWN as i64;
        // Emojis compare by their bytes, as SQLite's do.
        let rows = self.0.query(
            "SELECT message_id, emoji, account_id, n, mine FROM (
                 SELECT message_id, emoji, account_id,
                        ROW_NUMBER() OVER (PARTITION BY message_id, emoji
                                           ORDER BY reacted_at, account_id) AS rank,
                        COUNT(*) OVER e AS n,
                        bool_or(account_id = $2) OVER e AS mine,
                        MIN(reacted_at) OVER e AS first_at
                 FROM message_reactions
                 WHERE message_id = ANY($1)
                 WINDOW e AS (PARTITION BY message_id, emoji)) r
             WHERE rank <= $3
             ORDER BY message_id, first_at, emoji COLLATE \"C\", rank",
            &[&ids, &viewer.row(), &shown],
        )?;
        Ok(rows
            .iter()
            .map(|row| ReactionRow {
                message: MessageId::from_row(row.get(0)),
                emoji: Emoji::from_store(row.get(1)),
                account: AccountId::from_row(row.get(2)),
                count: row.get::<_, i64>(3) as usize,
                mine: row.get(4),
            })
            .collect())
    }

    fn reaction_count(&mut self, message: MessageId, account: AccountId) -> Result<usize> {
        let count: i64 = self
            .0
            .query_one(
                "SELECT COUNT(*) FROM message_reactions WHERE message_id = $1 AND account_id = $2",
                &[&message.row(), &account.row()],
            )?
            .get(0);
        Ok(count as usize)
    }

    fn members_seeing(&mut self, conversation: ConversationId, seq: Seq) -> Result<Vec<AccountId>> {
        let rows = self.0.query(
            "SELECT account_id FROM members
             WHERE conversation_id = $1 AND from_seq < $2 ORDER BY account_id",
            &[&conversation.row(), &seq.get()],
        )?;
        Ok(rows
            .iter()
            .map(|row| AccountId::from_row(row.get(0)))
            .collect())
    }

    fn message_in(
        &mut self,
        conversation: ConversationId,
        message: MessageId,
    ) -> Result<Option<Message>> {
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages m WHERE m.id = $1 AND m.conversation_id = $2"
            ),
            &[&message.row(), &conversation.row()],
        )?;
        row.map(|row| message_at(&row, 0)).transpose()
    }

    /// The last message each member sees is read in the same statement,
    /// one probe of `(conversation_id, seq)` per row of the page.
    fn conversations(
        &mut self,
        account: AccountId,
        after: Option<ConversationKey>,
        limit: u32,
    ) -> Result<Vec<ConversationSummary>> {
        let (pinned, at, row) = after.map_or((true, i64::MAX, i64::MAX), |key| {
            (
                key.pinned,
                key.last_activity_at.unix_ms(),
                key.conversation_id.row(),
            )
        });
        // The first page starts before every key: (true, MAX, MAX) with
        // `<=` on the pinned column alone, a later one strictly after.
        let first = after.is_none();
        let rows = self.0.query(
            concat!(
                "WITH page AS MATERIALIZED (
                     SELECT me.conversation_id AS id, me.read_seq, me.from_seq, me.muted,
                            me.pinned, me.archived, c.last_activity_at
                     FROM members me JOIN conversations c ON c.id = me.conversation_id
                     WHERE me.account_id = $1
                       AND ($6 OR (me.pinned, c.last_activity_at, c.id) < ($2, $3, $4))
                     ORDER BY me.pinned DESC, c.last_activity_at DESC, c.id DESC LIMIT $5)
                 SELECT c.id, c.kind, c.title, c.owner_id, c.last_seq, page.read_seq,
                        c.member_count, peer.display_name, c.last_activity_at,
                        c.avatar_media_id, peer.id, peer.avatar_media_id, peer_member.read_seq,
                        page.muted, page.pinned, page.archived,
                        (SELECT count(*) FROM mentions x
                         WHERE x.conversation_id = c.id AND x.account_id IN ($1, 0)
                           AND x.seq > page.read_seq),
                        (SELECT k.remark FROM contacts k
                         WHERE k.account_id = $1 AND k.contact_id = peer.id),
                        ",
                message_columns!(),
                " FROM page JOIN conversations c ON c.id = page.id
                 LEFT JOIN LATERAL (
                     SELECT p.account_id, p.read_seq FROM members p
                     WHERE c.kind = 0 AND p.conversation_id = c.id AND p.account_id <> $1
                     LIMIT 1) peer_member ON TRUE
                 LEFT JOIN accounts peer ON peer.id = peer_member.account_id
                 LEFT JOIN LATERAL (
                     SELECT * FROM messages l
                     WHERE l.conversation_id = c.id AND l.seq > page.from_seq
                       AND NOT EXISTS (SELECT 1 FROM hidden_messages h
                                       WHERE h.account_id = $1 AND h.message_id = l.id)
                     ORDER BY l.seq DESC LIMIT 1) m ON TRUE
                 ORDER BY page.pinned DESC, page.last_activity_at DESC, page.id DESC"
            ),
            &[
                &account.row(),
                &pinned,
                &at,
                &row,
                &(i64::from(limit) + 1),
                &first,
            ],
        )?;
        rows.iter().map(summary_of).collect()
    }

    fn conversation_settings(
        &mut self,
        account: AccountId,
        conversation: ConversationId,
    ) -> Result<ConversationSettings> {
        let row = self.0.query_opt(
            "SELECT muted, pinned, archived FROM members
             WHERE conversation_id = $1 AND account_id = $2",
            &[&conversation.row(), &account.row()],
        )?;
        let row = row.ok_or_else(|| Error::missing(account))?;
        Ok(ConversationSettings {
            muted: row.get(0),
            pinned: row.get(1),
            archived: row.get(2),
        })
    }

    fn pinned_count(&mut self, account: AccountId) -> Result<usize> {
        let row = self.0.query_one(
            "SELECT count(*) FROM members WHERE account_id = $1 AND pinned",
            &[&account.row()],
        )?;
        Ok(row.get::<_, i64>(0) as usize)
    }

    fn history(
        &mut self,
        conversation: ConversationId,
        viewer: AccountId,
        since: Seq,
        before: Option<Seq>,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let rows = self.0.query(
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages m
                 WHERE m.conversation_id = $1 AND m.seq > $2 AND m.seq < $3
                   AND NOT EXISTS (SELECT 1 FROM hidden_messages h
                                   WHERE h.account_id = $5 AND h.message_id = m.id)
                 ORDER BY m.seq DESC LIMIT $4"
            ),
            &[
                &conversation.row(),
                &since.get(),
                &before.map_or(i64::MAX, Seq::get),
                &(i64::from(limit) + 1),
                &viewer.row(),
            ],
        )?;
        rows.iter().map(|row| message_at(row, 0)).collect()
    }

    fn log_after(
        &mut self,
        account: AccountId,
        after: LogSeq,
        limit: u32,
    ) -> Result<Page<LogEntry>> {
        let rows = self.0.query(
            concat!(
                "SELECT l.log_seq, l.at, l.data, ",
                message_columns!(),
                " FROM account_log l LEFT JOIN messages m ON m.id = l.message_id
                 WHERE l.account_id = $1 AND l.log_seq > $2
                 ORDER BY l.log_seq LIMIT $3"
            ),
            &[&account.row(), &after.get(), &(i64::from(limit) + 1)],
        )?;
        let has_more = rows.len() > limit as usize;
        let items = rows
            .iter()
            .take(limit as usize)
            .map(|row| log_entry_of(account, row))
            .collect::<Result<Vec<_>>>()?;
        Ok(Page { items, has_more })
    }

    fn log_head(&mut self, account: AccountId) -> Result<LogSeq> {
        let row = self.0.query_opt(
            "SELECT log_head FROM accounts WHERE id = $1",
            &[&account.row()],
        )?;
        Ok(LogSeq::from_stored(row.map_or(0, |row| row.get(0))))
    }
}

/// A row of the conversation list. A direct conversation shows its
/// peer's name and picture.
fn summary_of(row: &Row) -> Result<ConversationSummary> {
    let last_seq: i64 = row.get(4);
    let read_seq: i64 = row.get(5);
    let peer = row.get::<_, Option<i64>>(10).map(AccountId::from_row);
    let (title, avatar): (Option<String>, Option<i64>) = if peer.is_some() {
        (row.get(7), row.get(11))
    } else {
        (row.get(2), row.get(9))
    };
    Ok(ConversationSummary {
        conversation_id: ConversationId::from_row(row.get(0)),
        kind: kind_of(row.get(1))?,
        title: title.unwrap_or_default(),
        last_seq: Seq::from_store(last_seq),
        read_seq: Seq::from_store(read_seq),
        unread: (last_seq - read_seq).max(0),
        member_count: row.get(6),
        owner: row.get::<_, Option<i64>>(3).map(AccountId::from_row),
        avatar_media_id: avatar.map(MediaId::from_row),
        peer,
        peer_read_seq: row.get::<_, Option<i64>>(12).map(Seq::from_store),
        peer_remark: row.get(17),
        last_activity_at: Timestamp::from_unix_ms(row.get(8)),
        settings: ConversationSettings {
            muted: row.get(13),
            pinned: row.get(14),
            archived: row.get(15),
        },
        mention_count: row.get(16),
        last_message: match row.get::<_, Option<i64>>(18) {
            Some(_) => Some(message_at(row, 18)?),
            None => None,
        },
    })
}

/// A log entry: its event kept whole as its stored form's JSON, or a
/// `message.new` kept as its message's row.
fn log_entry_of(account: AccountId, row: &Row) -> Result<LogEntry> {
    let seq = LogSeq::from_stored(row.get(0));
    let data: Option<String> = row.get(2);
    let event = match data {
        Some(data) => serde_json::from_str::<stored::Event>(&data)
            .map(Event::from)
            .map_err(|error| corrupt(format!("log entry {seq:?} of {account}: {error}")))?,
        None => Event::MessageNew(Arc::new(message_at(row, 3)?)),
    };
    Ok(LogEntry {
        account,
        seq,
        at: Timestamp::from_unix_ms(row.get(1)),
        event,
    })
}

/// The `mentions.account_id` that stands for every member.
const EVERY_MEMBER: i64 = 0;

impl PgTx<'_> {
    /// Moves `conversation`'s member count by `by`.
    fn count_members(&mut self, conversation: ConversationId, by: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE conversations SET member_count = member_count + $2 WHERE id = $1",
            &[&conversation.row(), &by],
        )?;
        Ok(())
    }
}

impl Writes for PgTx<'_> {
    /// Locks the member's row and the conversation's until the
    /// transaction ends, fetched with the batch's others (`batch.rs`).
    fn membership_for_update(
        &mut self,
        account: AccountId,
        conversation: ConversationId,
    ) -> Result<Option<Membership>> {
        self.conn()
            .locked_membership(conversation.row(), account.row())
    }

    /// A racing open of the same pair waits on the unique key, then finds
    /// it taken once the other commits.
    fn insert_direct(
        &mut self,
        one: AccountId,
        other: AccountId,
        at: Timestamp,
    ) -> Result<Option<ConversationId>> {
        let row = self.conn().query_opt(
            "INSERT INTO conversations (kind, direct_key, created_at, last_activity_at)
             VALUES ($1, $2, $3, $3) ON CONFLICT (direct_key) DO NOTHING RETURNING id",
            &[
                &kind_code(ConversationKind::Direct),
                &direct_key(one, other),
                &at.unix_ms(),
            ],
        )?;
        Ok(row.map(|row| ConversationId::from_row(row.get(0))))
    }

    fn insert_group(
        &mut self,
        title: &GroupTitle,
        owner: AccountId,
        at: Timestamp,
    ) -> Result<ConversationId> {
        let row = self.conn().query_one(
            "INSERT INTO conversations (kind, title, owner_id, created_at, last_activity_at)
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
            &[
                &kind_code(ConversationKind::Group),
                &title.as_str(),
                &owner.row(),
                &at.unix_ms(),
            ],
        )?;
        Ok(ConversationId::from_row(row.get(0)))
    }

    fn insert_order_conversation(&mut self, title: &str, at: Timestamp) -> Result<ConversationId> {
        let row = self.conn().query_one(
            "INSERT INTO conversations (kind, title, created_at, last_activity_at)
             VALUES ($1, $2, $3, $3) RETURNING id",
            &[&kind_code(ConversationKind::Order), &title, &at.unix_ms()],
        )?;
        Ok(ConversationId::from_row(row.get(0)))
    }

    fn insert_member(
        &mut self,
        conversation: ConversationId,
        member: AccountId,
        from_seq: Seq,
        at: Timestamp,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO members (conversation_id, account_id, joined_at, from_seq, read_seq)
             VALUES ($1, $2, $3, $4, $4)",
            &[
                &conversation.row(),
                &member.row(),
                &at.unix_ms(),
                &from_seq.get(),
            ],
        )?;
        self.count_members(conversation, 1)
    }

    fn delete_member(&mut self, conversation: ConversationId, member: AccountId) -> Result<()> {
        let deleted = self.conn().execute(
            "DELETE FROM members WHERE conversation_id = $1 AND account_id = $2",
            &[&conversation.row(), &member.row()],
        )?;
        self.count_members(conversation, -(deleted as i64))
    }

    fn set_owner(&mut self, conversation: ConversationId, owner: Option<AccountId>) -> Result<()> {
        self.conn().execute(
            "UPDATE conversations SET owner_id = $1 WHERE id = $2",
            &[&owner.map(AccountId::row), &conversation.row()],
        )?;
        Ok(())
    }

    fn set_group_look(
        &mut self,
        conversation: ConversationId,
        title: &str,
        avatar: Option<MediaId>,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE conversations SET title = $1, avatar_media_id = $2 WHERE id = $3",
            &[&title, &avatar.map(MediaId::row), &conversation.row()],
        )?;
        Ok(())
    }

    /// The row is locked by `membership_for_update`; should `last_seq`
    /// have moved all the same, the batch conflicts and runs again rather
    /// than skip or repeat a seq.
    fn next_seq(
        &mut self,
        conversation: ConversationId,
        last_seq: Seq,
        at: Timestamp,
    ) -> Result<Seq> {
        if let Some(seq) = self
            .conn()
            .next_seq(conversation.row(), last_seq.get(), at)?
        {
            return Ok(Seq::from_store(seq));
        }
        let seq = last_seq.get() + 1;
        let moved = self.conn().execute(
            "UPDATE conversations SET last_seq = $1, last_activity_at = $2
             WHERE id = $3 AND last_seq = $4",
            &[&seq, &at.unix_ms(), &conversation.row(), &last_seq.get()],
        )?;
        if moved != 1 {
            return Err(Error::Conflict(format!(
                "{conversation}'s last_seq moved from {} in this transaction",
                last_seq.get()
            )));
        }
        Ok(Seq::from_store(seq))
    }

    /// Kept for the batch's flush, which writes every message of the
    /// batch in one statement. Another writer's message with the same
    /// client id (a retry sent twice at once) may commit between the
    /// rules' look-up and the flush: the batch then conflicts and runs
    /// again, and the rules find that message and answer it as the retry
    /// it is.
    fn insert_message(&mut self, message: &NewMessage<'_>) -> Result<MessageId> {
        self.conn().insert_message(message).map(MessageId::from_row)
    }

    fn add_reaction(
        &mut self,
        message: MessageId,
        account: AccountId,
        emoji: &Emoji,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self.conn().execute(
            "INSERT INTO message_reactions (message_id, account_id, emoji, reacted_at)
             SELECT $1, $2, $3, $4 WHERE EXISTS
                 (SELECT 1 FROM messages WHERE id = $1 AND recalled_at IS NULL)
             ON CONFLICT DO NOTHING",
            &[
                &message.row(),
                &account.row(),
                &emoji.as_str(),
                &at.unix_ms(),
            ],
        )?;
        Ok(inserted == 1)
    }

    fn remove_reaction(
        &mut self,
        message: MessageId,
        account: AccountId,
        emoji: &Emoji,
    ) -> Result<bool> {
        let deleted = self.conn().execute(
            "DELETE FROM message_reactions WHERE message_id = $1 AND account_id = $2 AND emoji = $3",
            &[&message.row(), &account.row(), &emoji.as_str()],
        )?;
        Ok(deleted == 1)
    }

    fn hide_message(
        &mut self,
        account: AccountId,
        message: MessageId,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self.conn().execute(
            "INSERT INTO hidden_messages (account_id, message_id, hidden_at)
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&account.row(), &message.row(), &at.unix_ms()],
        )?;
        Ok(inserted == 1)
    }

    fn recall_message(&mut self, message: MessageId, recall: Recall) -> Result<bool> {
        let recalled = self.conn().query_opt(
            "UPDATE messages
             SET text = '', ref = NULL, extra = NULL, recalled_at = $2, recalled_by = $3
             WHERE id = $1 AND recalled_at IS NULL
             RETURNING conversation_id, seq",
            &[&message.row(), &recall.at.unix_ms(), &recall.by.row()],
        )?;
        let Some(recalled) = recalled else {
            return Ok(false);
        };
        let (conversation, seq): (i64, i64) = (recalled.get(0), recalled.get(1));
        self.conn().execute(
            "DELETE FROM message_reactions WHERE message_id = $1",
            &[&message.row()],
        )?;
        self.conn().execute(
            "DELETE FROM mentions WHERE conversation_id = $1 AND seq = $2",
            &[&conversation, &seq],
        )?;
        Ok(true)
    }

    fn insert_mentions(
        &mut self,
        conversation: ConversationId,
        seq: Seq,
        mentioned: Mentioned<'_>,
    ) -> Result<()> {
        let accounts: Vec<i64> = match mentioned {
            Mentioned::All => vec![EVERY_MEMBER],
            Mentioned::These(accounts) => accounts.iter().map(|account| account.row()).collect(),
        };
        self.conn().execute(
            "INSERT INTO mentions (conversation_id, account_id, seq)
             SELECT $1, account, $3 FROM unnest($2::bigint[]) AS account",
            &[&conversation.row(), &accounts, &seq.get()],
        )?;
        Ok(())
    }

    fn set_conversation_settings(
        &mut self,
        conversation: ConversationId,
        account: AccountId,
        settings: ConversationSettings,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE members SET muted = $3, pinned = $4, archived = $5
             WHERE conversation_id = $1 AND account_id = $2",
            &[
                &conversation.row(),
                &account.row(),
                &settings.muted,
                &settings.pinned,
                &settings.archived,
            ],
        )?;
        Ok(())
    }

    fn set_read_seq(
        &mut self,
        conversation: ConversationId,
        member: AccountId,
        seq: Seq,
    ) -> Result<()> {
        if self
            .conn()
            .set_read_seq(conversation.row(), member.row(), seq.get())
        {
            return Ok(());
        }
        self.conn().execute(
            "UPDATE members SET read_seq = $1 WHERE conversation_id = $2 AND account_id = $3",
            &[&seq.get(), &conversation.row(), &member.row()],
        )?;
        Ok(())
    }
}
