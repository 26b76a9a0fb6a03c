//! Conversations, members, messages and the log read back: the SQL behind
//! `piazza_core::chat`. The history and the log are each kept in two
//! tables (`tails.rs`); a read merges both in one statement, so in one
//! snapshot.

use std::sync::Arc;

use piazza_core::Result;
use piazza_core::chat::{GroupLook, Membership, Mentioned, NewMessage, Reads, Writes};
use piazza_domain::event::{ConversationKind, Event, LogEntry, Message, Recall, stored};
use piazza_domain::store::{
    ConversationKey, ConversationSettings, ConversationSummary, Page, ReactionRow,
};
use piazza_domain::{
    AccountId, ClientMsgId, ConversationId, Emoji, GroupTitle, LogSeq, MediaId, MessageId, Seq,
    Timestamp, limits,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::engine::{Db, Sql};
use crate::error::Error;
use crate::reads::{self, MESSAGE_COLUMNS, message_from_row, prefixed};
use crate::tails;
use crate::writer::WriteCtx;

impl Reads for Db<'_> {
    fn membership(
        &mut self,
        account: AccountId,
        conversation: ConversationId,
    ) -> Result<Option<Membership>> {
        Ok(reads::membership(self.0, account, conversation)?)
    }

    fn member_ids(&mut self, conversation: ConversationId) -> Result<Vec<AccountId>> {
        Ok(reads::member_ids(self.0, conversation)?)
    }

    fn longest_standing_member(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<AccountId>> {
        let found: Option<i64> = self
            .0
            .prepare_cached(
                "SELECT account_id FROM members WHERE conversation_id = ?1
                 ORDER BY joined_at, account_id LIMIT 1",
            )
            .sql()?
            .query_row([conversation.row()], |row| row.get(0))
            .optional()
            .sql()?;
        Ok(found.map(AccountId::from_row))
    }

    fn direct_conversation(
        &mut self,
        one: AccountId,
        other: AccountId,
    ) -> Result<Option<ConversationId>> {
        let found: Option<i64> = self
            .0
            .prepare_cached("SELECT id FROM conversations WHERE direct_key = ?1")
            .sql()?
            .query_row([direct_key(one, other)], |row| row.get(0))
            .optional()
            .sql()?;
        Ok(found.map(ConversationId::from_row))
    }

    fn group_look(&mut self, conversation: ConversationId) -> Result<GroupLook> {
        let (title, avatar): (Option<String>, Option<i64>) = self
            .0
            .prepare_cached("SELECT title, avatar_media_id FROM conversations WHERE id = ?1")
            .sql()?
            .query_row([conversation.row()], |row| Ok((row.get(0)?, row.get(1)?)))
            .sql()?;
        Ok(GroupLook {
            title,
            avatar: avatar.map(MediaId::from_row),
        })
    }

    fn message_by_client_id(
        &mut self,
        sender: AccountId,
        client_msg_id: &ClientMsgId,
    ) -> Result<Option<Message>> {
        Ok(reads::message_by_client_id(self.0, sender, client_msg_id)?)
    }

    fn reactions(&mut self, messages: &[MessageId], viewer: AccountId) -> Result<Vec<ReactionRow>> {
        let ids: Vec<i64> = messages.iter().map(|message| message.row()).collect();
        let ids =
            serde_json::to_string(&ids).map_err(|e| piazza_core::Error::Engine(e.to_string()))?;
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT message_id, emoji, account_id, n, mine FROM (
                     SELECT message_id, emoji, account_id,
                            ROW_NUMBER() OVER (PARTITION BY message_id, emoji
                                               ORDER BY reacted_at, account_id) AS rank,
                            COUNT(*) OVER e AS n,
                            MAX(account_id = ?2) OVER e AS mine,
                            MIN(reacted_at) OVER e AS first_at
                     FROM message_reactions
                     WHERE message_id IN (SELECT value FROM json_each(?1))
                     WINDOW e AS (PARTITION BY message_id, emoji))
                 WHERE rank <= ?3
                 ORDER BY message_id, first_at, emoji, rank",
            )
            .sql()?;
        let shown = limits::REACTION_ACCOUNTS_SHOWN as i64;
        let rows = statement
            .query_map(params![ids, viewer.row(), shown], |row| {
                Ok(ReactionRow {
                    message: MessageId::from_row(row.get(0)?),
                    emoji: Emoji::from_store(row.get(1)?),
                    account: AccountId::from_row(row.get(2)?),
                    count: row.get::<_, i64>(3)? as usize,
                    mine: row.get(4)?,
                })
            })
            .sql()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql()
    }

    fn reaction_count(&mut self, message: MessageId, account: AccountId) -> Result<usize> {
        let count: i64 = self
            .0
            .prepare_cached(
                "SELECT COUNT(*) FROM message_reactions WHERE message_id = ?1 AND account_id = ?2",
            )
            .sql()?
            .query_row(params![message.row(), account.row()], |row| row.get(0))
            .sql()?;
        Ok(count as usize)
    }

    fn members_seeing(&mut self, conversation: ConversationId, seq: Seq) -> Result<Vec<AccountId>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT account_id FROM members
                 WHERE conversation_id = ?1 AND from_seq < ?2 ORDER BY account_id",
            )
            .sql()?;
        let rows = statement
            .query_map(params![conversation.row(), seq.get()], |row| {
                Ok(AccountId::from_row(row.get(0)?))
            })
            .sql()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql()
    }

    fn message_in(
        &mut self,
        conversation: ConversationId,
        message: MessageId,
    ) -> Result<Option<Message>> {
        self.0
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1 AND conversation_id = ?2"
            ))
            .sql()?
            .query_row(params![message.row(), conversation.row()], |row| {
                message_from_row(row, 0)
            })
            .optional()
            .sql()
    }

    fn conversations(
        &mut self,
        account: AccountId,
        after: Option<ConversationKey>,
        limit: u32,
    ) -> Result<Vec<ConversationSummary>> {
        Ok(conversations(self.0, account, after, limit)?)
    }

    fn conversation_settings(
        &mut self,
        account: AccountId,
        conversation: ConversationId,
    ) -> Result<ConversationSettings> {
        let found = self
            .0
            .prepare_cached(
                "SELECT muted, pinned, archived FROM members
                 WHERE conversation_id = ?1 AND account_id = ?2",
            )
            .sql()?
            .query_row([conversation.row(), account.row()], |row| {
                Ok(ConversationSettings {
                    muted: row.get(0)?,
                    pinned: row.get(1)?,
                    archived: row.get(2)?,
                })
            })
            .optional()
            .sql()?;
        found.ok_or_else(|| piazza_core::Error::missing(account))
    }

    fn pinned_count(&mut self, account: AccountId) -> Result<usize> {
        let count: i64 = self
            .0
            .prepare_cached("SELECT COUNT(*) FROM members WHERE account_id = ?1 AND pinned = 1")
            .sql()?
            .query_row([account.row()], |row| row.get(0))
            .sql()?;
        Ok(count as usize)
    }

    fn history(
        &mut self,
        conversation: ConversationId,
        viewer: AccountId,
        since: Seq,
        before: Option<Seq>,
        limit: u32,
    ) -> Result<Vec<Message>> {
        Ok(history(self.0, conversation, viewer, since, before, limit)?)
    }

    fn log_after(
        &mut self,
        account: AccountId,
        after: LogSeq,
        limit: u32,
    ) -> Result<Page<LogEntry>> {
        Ok(log_after(self.0, account, after, limit)?)
    }

    fn log_head(&mut self, account: AccountId) -> Result<LogSeq> {
        let head: Option<i64> = self
            .0
            .prepare_cached("SELECT log_head FROM accounts WHERE id = ?1")
            .sql()?
            .query_row([account.row()], |row| row.get(0))
            .optional()
            .sql()?;
        Ok(LogSeq::from_stored(head.unwrap_or(0)))
    }
}

/// The `mentions.account_id` that stands for every member.
const EVERY_MEMBER: i64 = 0;

/// Moves `conversation`'s member count by `by`.
fn count_members(conn: &Connection, conversation: ConversationId, by: i64) -> Result<()> {
    conn.prepare_cached("UPDATE conversations SET member_count = member_count + ?2 WHERE id = ?1")
        .sql()?
        .execute([conversation.row(), by])
        .sql()?;
    Ok(())
}

/// What keeps a pair to one direct conversation: `conversations.direct_key`
/// is unique.
fn direct_key(one: AccountId, other: AccountId) -> String {
    let (one, other) = (one.row(), other.row());
    format!("{}:{}", one.min(other), one.max(other))
}

impl Writes for WriteCtx<'_> {
    /// The writer is SQLite's only one: what it reads stays true until it
    /// commits, so the plain read is the locked one.
    fn membership_for_update(
        &mut self,
        account: AccountId,
        conversation: ConversationId,
    ) -> Result<Option<Membership>> {
        Ok(reads::membership(self.conn, account, conversation)?)
    }

    fn insert_direct(
        &mut self,
        one: AccountId,
        other: AccountId,
        at: Timestamp,
    ) -> Result<Option<ConversationId>> {
        let key = direct_key(one, other);
        insert_conversation(
            self.conn,
            ConversationKind::Direct,
            None,
            None,
            Some(&key),
            at,
        )
    }

    fn insert_group(
        &mut self,
        title: &GroupTitle,
        owner: AccountId,
        at: Timestamp,
    ) -> Result<ConversationId> {
        let kind = ConversationKind::Group;
        insert_conversation(self.conn, kind, Some(title.as_str()), Some(owner), None, at)?
            .ok_or_else(|| {
                piazza_core::Error::Corrupt("a group without a direct key conflicted".into())
            })
    }

    fn insert_order_conversation(&mut self, title: &str, at: Timestamp) -> Result<ConversationId> {
        let kind = ConversationKind::Order;
        insert_conversation(self.conn, kind, Some(title), None, None, at)?.ok_or_else(|| {
            piazza_core::Error::Corrupt(
                "an order's conversation without a direct key conflicted".into(),
            )
        })
    }

    fn insert_member(
        &mut self,
        conversation: ConversationId,
        member: AccountId,
        from_seq: Seq,
        at: Timestamp,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO members (conversation_id, account_id, joined_at, from_seq, read_seq)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
            )
            .sql()?
            .execute(params![
                conversation.row(),
                member.row(),
                at.unix_ms(),
                from_seq.get()
            ])
            .sql()?;
        count_members(self.conn, conversation, 1)
    }

    fn delete_member(&mut self, conversation: ConversationId, member: AccountId) -> Result<()> {
        let deleted = self
            .conn
            .prepare_cached("DELETE FROM members WHERE conversation_id = ?1 AND account_id = ?2")
            .sql()?
            .execute([conversation.row(), member.row()])
            .sql()?;
        count_members(self.conn, conversation, -(deleted as i64))
    }

    fn set_owner(&mut self, conversation: ConversationId, owner: Option<AccountId>) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE conversations SET owner_id = ?1 WHERE id = ?2")
            .sql()?
            .execute(params![owner.map(AccountId::row), conversation.row()])
            .sql()?;
        Ok(())
    }

    fn set_group_look(
        &mut self,
        conversation: ConversationId,
        title: &str,
        avatar: Option<MediaId>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE conversations SET title = ?1, avatar_media_id = ?2 WHERE id = ?3",
            )
            .sql()?
            .execute(params![title, avatar.map(MediaId::row), conversation.row()])
            .sql()?;
        Ok(())
    }

    fn next_seq(
        &mut self,
        conversation: ConversationId,
        last_seq: Seq,
        at: Timestamp,
    ) -> Result<Seq> {
        let seq = last_seq.get() + 1;
        let moved = self
            .conn
            .prepare_cached(
                "UPDATE conversations SET last_seq = ?1, last_activity_at = ?2
                 WHERE id = ?3 AND last_seq = ?4",
            )
            .sql()?
            .execute(params![
                seq,
                at.unix_ms(),
                conversation.row(),
                last_seq.get()
            ])
            .sql()?;
        // Only this writer moves last_seq, and the caller read it in this
        // same transaction: it cannot have moved.
        assert_eq!(
            moved, 1,
            "{conversation}'s last_seq changed under the writer"
        );
        Ok(Seq::from_store(seq))
    }

    fn insert_message(&mut self, message: &NewMessage<'_>) -> Result<MessageId> {
        self.conn
            .prepare_cached(
                "INSERT INTO messages
                 (conversation_id, seq, sender_id, client_msg_id, text, sent_at, kind, ref, extra)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .sql()?
            .execute(params![
                message.conversation.row(),
                message.seq.get(),
                message.sender.row(),
                message.client_msg_id.as_str(),
                message.text.as_str(),
                message.sent_at.unix_ms(),
                message.kind,
                message.reference,
                stored::Extra::to_json(message.extra),
            ])
            .sql()?;
        let row = self.conn.last_insert_rowid();
        self.conn
            .prepare_cached(
                "INSERT INTO messages_by_conversation_tail (conversation_id, seq, message_id)
                 VALUES (?1, ?2, ?3)",
            )
            .sql()?
            .execute(params![message.conversation.row(), message.seq.get(), row])
            .sql()?;
        self.appended_to(tails::MESSAGES_BY_CONVERSATION);
        Ok(MessageId::from_row(row))
    }

    fn add_reaction(
        &mut self,
        message: MessageId,
        account: AccountId,
        emoji: &Emoji,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO message_reactions (message_id, account_id, emoji, reacted_at)
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS
                     (SELECT 1 FROM messages WHERE id = ?1 AND recalled_at IS NULL)
                 ON CONFLICT DO NOTHING",
            )
            .sql()?
            .execute(params![
                message.row(),
                account.row(),
                emoji.as_str(),
                at.unix_ms()
            ])
            .sql()?;
        Ok(inserted == 1)
    }

    fn remove_reaction(
        &mut self,
        message: MessageId,
        account: AccountId,
        emoji: &Emoji,
    ) -> Result<bool> {
        let deleted = self
            .conn
            .prepare_cached(
                "DELETE FROM message_reactions
                 WHERE message_id = ?1 AND account_id = ?2 AND emoji = ?3",
            )
            .sql()?
            .execute(params![message.row(), account.row(), emoji.as_str()])
            .sql()?;
        Ok(deleted == 1)
    }

    fn hide_message(
        &mut self,
        account: AccountId,
        message: MessageId,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO hidden_messages (account_id, message_id, hidden_at)
                 VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )
            .sql()?
            .execute(params![account.row(), message.row(), at.unix_ms()])
            .sql()?;
        Ok(inserted == 1)
    }

    fn recall_message(&mut self, message: MessageId, recall: Recall) -> Result<bool> {
        let recalled: Option<(i64, i64)> = self
            .conn
            .prepare_cached(
                "UPDATE messages
                 SET text = '', ref = NULL, extra = NULL, recalled_at = ?2, recalled_by = ?3
                 WHERE id = ?1 AND recalled_at IS NULL
                 RETURNING conversation_id, seq",
            )
            .sql()?
            .query_row(
                params![message.row(), recall.at.unix_ms(), recall.by.row()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .sql()?;
        let Some((conversation, seq)) = recalled else {
            return Ok(false);
        };
        self.conn
            .prepare_cached("DELETE FROM message_reactions WHERE message_id = ?1")
            .sql()?
            .execute([message.row()])
            .sql()?;
        self.conn
            .prepare_cached("DELETE FROM mentions WHERE conversation_id = ?1 AND seq = ?2")
            .sql()?
            .execute([conversation, seq])
            .sql()?;
        Ok(true)
    }

    fn insert_mentions(
        &mut self,
        conversation: ConversationId,
        seq: Seq,
        mentioned: Mentioned<'_>,
    ) -> Result<()> {
        let mut statement = self
            .conn
            .prepare_cached(
                "INSERT INTO mentions (conversation_id, account_id, seq) VALUES (?1, ?2, ?3)",
            )
            .sql()?;
        let everyone = [EVERY_MEMBER];
        let rows: Vec<i64> = match mentioned {
            Mentioned::All => everyone.to_vec(),
            Mentioned::These(accounts) => accounts.iter().map(|account| account.row()).collect(),
        };
        for account in rows {
            statement
                .execute([conversation.row(), account, seq.get()])
                .sql()?;
        }
        Ok(())
    }

    fn set_conversation_settings(
        &mut self,
        conversation: ConversationId,
        account: AccountId,
        settings: ConversationSettings,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE members SET muted = ?3, pinned = ?4, archived = ?5
                 WHERE conversation_id = ?1 AND account_id = ?2",
            )
            .sql()?
            .execute(params![
                conversation.row(),
                account.row(),
                settings.muted,
                settings.pinned,
                settings.archived
            ])
            .sql()?;
        Ok(())
    }

    fn set_read_seq(
        &mut self,
        conversation: ConversationId,
        member: AccountId,
        seq: Seq,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE members SET read_seq = ?1 WHERE conversation_id = ?2 AND account_id = ?3",
            )
            .sql()?
            .execute(params![seq.get(), conversation.row(), member.row()])
            .sql()?;
        Ok(())
    }
}

/// A new conversation; `None` when `direct_key` is taken.
fn insert_conversation(
    conn: &Connection,
    kind: ConversationKind,
    title: Option<&str>,
    owner: Option<AccountId>,
    direct_key: Option<&str>,
    at: Timestamp,
) -> Result<Option<ConversationId>> {
    let kind = match kind {
        ConversationKind::Direct => 0,
        ConversationKind::Group => 1,
        ConversationKind::Order => 2,
    };
    let row: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO conversations (kind, title, owner_id, direct_key, created_at, last_activity_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (direct_key) DO NOTHING RETURNING id",
        )
        .sql()?
        .query_row(
            params![kind, title, owner.map(AccountId::row), direct_key, at.unix_ms()],
            |row| row.get(0),
        )
        .optional()
        .sql()?;
    Ok(row.map(ConversationId::from_row))
}

fn conversations(
    conn: &Connection,
    account: AccountId,
    after: Option<ConversationKey>,
    limit: u32,
) -> crate::error::Result<Vec<ConversationSummary>> {
    // The page is chosen first, from the account's memberships alone:
    // SQLite works out a row's result columns before it sorts, so the
    // peer's and the mentions' lookups run only for the page's rows.
    let mut statement = conn.prepare_cached(
        "WITH page AS (
             SELECT m.conversation_id AS id, m.read_seq, m.from_seq, m.muted, m.pinned,
                    m.archived, c.last_activity_at
             FROM members m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.account_id = ?1
               AND (m.pinned, c.last_activity_at, c.id) < (?2, ?3, ?4)
             ORDER BY m.pinned DESC, c.last_activity_at DESC, c.id DESC LIMIT ?5)
         SELECT c.id, c.kind, c.title, c.owner_id, c.last_seq, page.read_seq, c.member_count,
                peer.display_name, c.last_activity_at, c.avatar_media_id,
                peer.id, peer.avatar_media_id, peer_member.read_seq,
                page.muted, page.pinned, page.archived, page.from_seq,
                (SELECT COUNT(*) FROM mentions x
                 WHERE x.conversation_id = c.id AND x.account_id IN (?1, 0)
                   AND x.seq > page.read_seq),
                (SELECT k.remark FROM contacts k WHERE k.account_id = ?1 AND k.contact_id = peer.id)
         FROM page JOIN conversations c ON c.id = page.id
         LEFT JOIN accounts peer ON c.kind = 0 AND peer.id =
             (SELECT p.account_id FROM members p
              WHERE p.conversation_id = c.id AND p.account_id <> ?1 LIMIT 1)
         LEFT JOIN members peer_member
             ON peer_member.conversation_id = c.id AND peer_member.account_id = peer.id
         ORDER BY page.pinned DESC, page.last_activity_at DESC, page.id DESC",
    )?;
    let (pinned, at, row) = after.map_or((2, i64::MAX, i64::MAX), |key| {
        (
            i64::from(key.pinned),
            key.last_activity_at.unix_ms(),
            key.conversation_id.row(),
        )
    });
    let rows = statement
        .query_map(
            params![account.row(), pinned, at, row, i64::from(limit) + 1],
            |row| {
                Ok((
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(16)?,
                    summary_from_row(row)?,
                ))
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(kind, from_seq, mut summary)| {
            summary.kind = reads::kind_from_row(kind)?;
            let since = Seq::from_store(from_seq);
            let last = history(conn, summary.conversation_id, account, since, None, 0)?;
            summary.last_message = last.into_iter().next();
            Ok(summary)
        })
        .collect()
}

/// A row of the conversation list (its kind is set from column 1, and its
/// last message read, after).
fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<ConversationSummary> {
    let last_seq: i64 = row.get(4)?;
    let read_seq: i64 = row.get(5)?;
    let peer = row.get::<_, Option<i64>>(10)?.map(AccountId::from_row);
    // A direct conversation shows its peer's name and picture.
    let (title, avatar) = if peer.is_some() {
        (
            row.get::<_, Option<String>>(7)?,
            row.get::<_, Option<i64>>(11)?,
        )
    } else {
        (
            row.get::<_, Option<String>>(2)?,
            row.get::<_, Option<i64>>(9)?,
        )
    };
    Ok(ConversationSummary {
        conversation_id: ConversationId::from_row(row.get(0)?),
        kind: ConversationKind::Group,
        title: title.unwrap_or_default(),
        last_seq: Seq::from_store(last_seq),
        read_seq: Seq::from_store(read_seq),
        unread: (last_seq - read_seq).max(0),
        member_count: row.get(6)?,
        owner: row.get::<_, Option<i64>>(3)?.map(AccountId::from_row),
        avatar_media_id: avatar.map(MediaId::from_row),
        peer,
        peer_read_seq: row.get::<_, Option<i64>>(12)?.map(Seq::from_store),
        peer_remark: row.get(18)?,
        last_activity_at: Timestamp::from_unix_ms(row.get(8)?),
        settings: ConversationSettings {
            muted: row.get(13)?,
            pinned: row.get(14)?,
            archived: row.get(15)?,
        },
        mention_count: row.get(17)?,
        last_message: None,
    })
}

fn history(
    conn: &Connection,
    conversation: ConversationId,
    viewer: AccountId,
    since: Seq,
    before: Option<Seq>,
    limit: u32,
) -> crate::error::Result<Vec<Message>> {
    let before = before.map_or(i64::MAX, Seq::get);
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {} FROM (
             SELECT message_id, seq FROM messages_by_conversation b
             WHERE conversation_id = ?1 AND seq > ?2 AND seq < ?3 AND NOT EXISTS
                 (SELECT 1 FROM hidden_messages h
                  WHERE h.account_id = ?5 AND h.message_id = b.message_id)
             UNION ALL
             SELECT message_id, seq FROM messages_by_conversation_tail b
             WHERE conversation_id = ?1 AND seq > ?2 AND seq < ?3 AND NOT EXISTS
                 (SELECT 1 FROM hidden_messages h
                  WHERE h.account_id = ?5 AND h.message_id = b.message_id)
             ORDER BY seq DESC LIMIT ?4) page
         JOIN messages m ON m.id = page.message_id
         ORDER BY page.seq DESC",
        prefixed(MESSAGE_COLUMNS, "m")
    ))?;
    let messages = statement
        .query_map(
            params![
                conversation.row(),
                since.get(),
                before,
                i64::from(limit) + 1,
                viewer.row()
            ],
            |row| message_from_row(row, 0),
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(messages)
}

fn log_after(
    conn: &Connection,
    account: AccountId,
    after: LogSeq,
    limit: u32,
) -> crate::error::Result<Page<LogEntry>> {
    let columns = prefixed(MESSAGE_COLUMNS, "m");
    let mut statement = conn.prepare_cached(&format!(
        "SELECT l.log_seq, l.at, l.data, {columns}
         FROM account_log l LEFT JOIN messages m ON m.id = l.message_id
         WHERE l.account_id = ?1 AND l.log_seq > ?2
         UNION ALL
         SELECT l.log_seq, l.at, l.data, {columns}
         FROM account_log_tail l LEFT JOIN messages m ON m.id = l.message_id
         WHERE l.account_id = ?1 AND l.log_seq > ?2
         ORDER BY 1 LIMIT ?3"
    ))?;
    let mut rows = statement.query(params![account.row(), after.get(), i64::from(limit) + 1])?;
    let mut items = Vec::with_capacity(limit.min(1024) as usize);
    let mut has_more = false;
    while let Some(row) = rows.next()? {
        // The row past the page only says that more follow: it is not
        // decoded (a transfer's event would cost a read).
        if items.len() == limit as usize {
            has_more = true;
            break;
        }
        items.push(log_entry_from_row(conn, account, row)?);
    }
    Ok(Page { items, has_more })
}

fn log_entry_from_row(
    conn: &Connection,
    account: AccountId,
    row: &Row<'_>,
) -> crate::error::Result<LogEntry> {
    let seq = LogSeq::from_stored(row.get(0)?);
    let at = Timestamp::from_unix_ms(row.get(1)?);
    let data: Option<String> = row.get(2)?;
    let event = match data {
        Some(data) => crate::log_data::decode(conn, &data)
            .map_err(|error| Error::Corrupt(format!("log entry {seq:?} of {account}: {error}")))?,
        None => Event::MessageNew(Arc::new(message_from_row(row, 3)?)),
    };
    Ok(LogEntry {
        account,
        seq,
        at,
        event,
    })
}
