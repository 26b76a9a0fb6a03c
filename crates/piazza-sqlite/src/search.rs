//! Search: the SQL behind `piazza_core::search`. A search walks the
//! caller's conversations one at a time, each a range of the postings'
//! key (term, conversation, message) read from its newest end, and keeps
//! the newest `limit` of all; once it has that many, a conversation is
//! only asked for newer ones.

use piazza_core::Result;
use piazza_core::search::documents::{
    DocFound, DocKind, DocSearch, DocText, Reads as DocReads, Writes as DocWrites,
};
use piazza_core::search::{Candidate, MessageSearch, Posting, Reads, ToIndex, Writes};
use piazza_domain::event::AccountRef;
use piazza_domain::{AccountId, ConversationId, MediaId, MessageId, Seq, Timestamp, Username};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

use crate::engine::{Db, Sql};
use crate::writer::WriteCtx;

fn to_index(row: &Row) -> rusqlite::Result<ToIndex> {
    Ok(ToIndex {
        message: MessageId::from_row(row.get(0)?),
        conversation: ConversationId::from_row(row.get(1)?),
        text: row.get(2)?,
    })
}

impl Reads for Db<'_> {
    fn search_watermark(&mut self, kind: &str) -> Result<i64> {
        self.0
            .prepare_cached("SELECT through FROM search_progress WHERE name = ?1")
            .sql()?
            .query_row([kind], |row| row.get(0))
            .sql()
    }

    fn newest_message_id(&mut self) -> Result<i64> {
        self.0
            .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM messages")
            .sql()?
            .query_row([], |row| row.get(0))
            .sql()
    }

    fn messages_to_index(&mut self, after: i64, limit: u32) -> Result<Vec<ToIndex>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT id, conversation_id, text FROM messages
                 WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .sql()?;
        let rows = statement.query_map(params![after, limit], to_index).sql()?;
        rows.collect::<rusqlite::Result<_>>().sql()
    }

    fn messages_by_id(&mut self, ids: &[i64]) -> Result<Vec<ToIndex>> {
        let mut statement = self
            .0
            .prepare_cached("SELECT id, conversation_id, text FROM messages WHERE id = ?1")
            .sql()?;
        let mut found = Vec::new();
        for id in ids {
            if let Some(row) = statement.query_row([id], to_index).optional().sql()? {
                found.push(row);
            }
        }
        Ok(found)
    }

    fn term_counts(&mut self, terms: &[String]) -> Result<Vec<i64>> {
        let mut statement = self
            .0
            .prepare_cached("SELECT postings FROM search_terms WHERE term = ?1")
            .sql()?;
        terms
            .iter()
            .map(|term| {
                let count = statement.query_row([term], |row| row.get(0)).optional();
                Ok(count.sql()?.unwrap_or(0))
            })
            .collect()
    }

    fn terms_starting(&mut self, prefix: &str, limit: u32) -> Result<Vec<String>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT term FROM search_terms WHERE term >= ?1 AND term < ?1 || char(1114111)
                 ORDER BY postings DESC, term LIMIT ?2",
            )
            .sql()?;
        let rows = statement
            .query_map(params![prefix, limit], |row| row.get(0))
            .sql()?;
        rows.collect::<rusqlite::Result<_>>().sql()
    }

    fn message_candidates(&mut self, search: &MessageSearch) -> Result<Vec<Candidate>> {
        let conversations = conversations_seen(self.0, search)?;
        let sql = candidates_sql(search);
        let mut statement = self.0.prepare_cached(&sql).sql()?;
        let mut best: Vec<Candidate> = Vec::new();
        for (conversation, from_seq) in conversations {
            let above = search.after.map_or(0, MessageId::row);
            let floor = match best.len() == search.limit as usize {
                true => best
                    .last()
                    .map_or(above, |last| last.message.row().max(above)),
                false => above,
            };
            let mut values = vec![
                Value::Integer(conversation.row()),
                Value::Integer(search.before.map_or(i64::MAX, MessageId::row)),
                Value::Integer(floor),
                Value::Integer(from_seq),
                Value::Integer(search.account.row()),
                Value::Integer(i64::from(search.limit)),
            ];
            values.extend(search.groups.iter().flatten().cloned().map(Value::Text));
            let rows = statement
                .query_map(params_from_iter(values), |row| candidate(row, conversation))
                .sql()?;
            best.extend(rows.collect::<rusqlite::Result<Vec<_>>>().sql()?);
            best.sort_by_key(|found| std::cmp::Reverse(found.message.row()));
            best.truncate(search.limit as usize);
        }
        Ok(best)
    }
}

/// The conversations searched, each with the seq after which the caller
/// sees its messages.
fn conversations_seen(
    conn: &rusqlite::Connection,
    search: &MessageSearch,
) -> Result<Vec<(ConversationId, i64)>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT conversation_id, from_seq FROM members
             WHERE account_id = ?1 AND (?2 IS NULL OR conversation_id = ?2)",
        )
        .sql()?;
    let rows = statement
        .query_map(
            params![
                search.account.row(),
                search.conversation.map(ConversationId::row)
            ],
            |row| Ok((ConversationId::from_row(row.get(0)?), row.get(1)?)),
        )
        .sql()?;
    rows.collect::<rusqlite::Result<_>>().sql()
}

/// One conversation's candidates: ?1 conversation, ?2 below this id, ?3
/// above this one, ?4 the caller's `from_seq`, ?5 the caller, ?6 limit,
/// then the groups' terms in order.
fn candidates_sql(search: &MessageSearch) -> String {
    let mut groups = search.groups.iter();
    let driver = groups.next().expect("a search has a group of terms");
    let mut next = 7;
    let mut sql = format!(
        "SELECT DISTINCT p.message_id, m.seq, m.text, m.sent_at,
                a.id, a.username, a.display_name, a.avatar_media_id
         FROM search_postings p
         JOIN messages m ON m.id = p.message_id
         JOIN accounts a ON a.id = m.sender_id
         WHERE p.conversation_id = ?1 AND p.term IN ({})
           AND p.message_id < ?2 AND p.message_id > ?3
           AND m.seq > ?4 AND m.recalled_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM hidden_messages h
                           WHERE h.account_id = ?5 AND h.message_id = p.message_id)",
        placeholders(&mut next, driver.len())
    );
    for group in groups {
        sql.push_str(&format!(
            "
           AND EXISTS (SELECT 1 FROM search_postings q
                       WHERE q.term IN ({}) AND q.conversation_id = ?1
                         AND q.message_id = p.message_id)",
            placeholders(&mut next, group.len())
        ));
    }
    sql.push_str("\n         ORDER BY p.message_id DESC LIMIT ?6");
    sql
}

/// Each kind's id and searchable text (title, body, also), as
/// `documents_to_index` and the candidates read them; its table; its id.
fn document_source(kind: DocKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        DocKind::Channel => (
            "SELECT c.id, c.name, c.description, c.handle",
            "FROM channels c",
            "c.id",
        ),
        DocKind::Article => (
            "SELECT a.id, a.title, a.body_markdown, ''",
            "FROM articles a",
            "a.id",
        ),
        DocKind::Product => (
            "SELECT p.id, p.title, p.description, ''",
            "FROM products p",
            "p.id",
        ),
    }
}

/// The columns of a candidate after its text: parent id and name, media,
/// time; and the joins that give them.
fn document_extras(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Channel => {
            ", NULL, NULL, c.avatar_media_id, c.created_at
             FROM search_documents d JOIN channels c ON c.id = d.doc_id"
        }
        DocKind::Article => {
            ", ch.id, ch.name, a.cover_media_id, a.published_at
             FROM search_documents d JOIN articles a ON a.id = d.doc_id
             JOIN channels ch ON ch.id = a.channel_id"
        }
        DocKind::Product => {
            ", s.id, s.name,
               (SELECT m.media_id FROM product_media m WHERE m.product_id = p.id
                ORDER BY m.position LIMIT 1),
               p.updated_at
             FROM search_documents d JOIN products p ON p.id = d.doc_id AND p.listed = 1
             JOIN shops s ON s.id = p.shop_id"
        }
    }
}

impl DocReads for Db<'_> {
    fn documents_to_index(
        &mut self,
        kind: DocKind,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, DocText)>> {
        let (select, from, id) = document_source(kind);
        let sql = format!("{select} {from} WHERE {id} > ?1 ORDER BY {id} LIMIT ?2");
        let mut statement = self.0.prepare_cached(&sql).sql()?;
        let rows = statement
            .query_map(params![after, limit], |row| {
                Ok((
                    row.get(0)?,
                    DocText {
                        title: row.get(1)?,
                        body: row.get(2)?,
                        also: row.get(3)?,
                    },
                ))
            })
            .sql()?;
        rows.collect::<rusqlite::Result<_>>().sql()
    }

    fn document_terms_starting(
        &mut self,
        kind: DocKind,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<String>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT DISTINCT term FROM search_documents
                 WHERE term >= ?1 AND term < ?1 || char(1114111) AND kind = ?2
                 ORDER BY term LIMIT ?3",
            )
            .sql()?;
        let rows = statement
            .query_map(params![prefix, kind.code(), limit], |row| row.get(0))
            .sql()?;
        rows.collect::<rusqlite::Result<_>>().sql()
    }

    fn document_candidates(&mut self, search: &DocSearch) -> Result<Vec<DocFound>> {
        let (select, _, _) = document_source(search.kind);
        let select = select.replacen("SELECT", "SELECT DISTINCT", 1);
        let mut groups = search.groups.iter();
        let driver = groups.next().expect("a search has a group of terms");
        let mut next = 4;
        let mut sql = format!(
            "{select}{} WHERE d.kind = ?1 AND d.doc_id < ?2 AND d.term IN ({})",
            document_extras(search.kind),
            placeholders(&mut next, driver.len())
        );
        for group in groups {
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM search_documents q WHERE q.term IN ({})
                   AND q.kind = ?1 AND q.doc_id = d.doc_id)",
                placeholders(&mut next, group.len())
            ));
        }
        sql.push_str(" ORDER BY d.doc_id DESC LIMIT ?3");
        let mut values = vec![
            Value::Integer(search.kind.code()),
            Value::Integer(search.before.unwrap_or(i64::MAX)),
            Value::Integer(i64::from(search.limit)),
        ];
        values.extend(search.groups.iter().flatten().cloned().map(Value::Text));
        let mut statement = self.0.prepare_cached(&sql).sql()?;
        let rows = statement
            .query_map(params_from_iter(values), |row| {
                let parent: Option<i64> = row.get(4)?;
                Ok(DocFound {
                    id: row.get(0)?,
                    text: DocText {
                        title: row.get(1)?,
                        body: row.get(2)?,
                        also: row.get(3)?,
                    },
                    parent: match parent {
                        Some(id) => Some((id, row.get(5)?)),
                        None => None,
                    },
                    media: row.get(6)?,
                    at: Timestamp::from_unix_ms(row.get(7)?),
                })
            })
            .sql()?;
        rows.collect::<rusqlite::Result<_>>().sql()
    }
}

impl DocWrites for WriteCtx<'_> {
    fn index_document(
        &mut self,
        kind: DocKind,
        id: i64,
        terms: &[String],
        replace: bool,
    ) -> Result<()> {
        if replace {
            self.conn
                .prepare_cached("DELETE FROM search_documents WHERE kind = ?1 AND doc_id = ?2")
                .sql()?
                .execute(params![kind.code(), id])
                .sql()?;
        }
        let mut statement = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO search_documents (term, kind, doc_id) VALUES (?1, ?2, ?3)",
            )
            .sql()?;
        for term in terms {
            statement.execute(params![term, kind.code(), id]).sql()?;
        }
        Ok(())
    }
}

/// `count` numbered parameters from `next` on (a bare `?` would be
/// numbered after the largest number before it in the text).
fn placeholders(next: &mut usize, count: usize) -> String {
    assert!(count > 0, "a group holds a term");
    let first = *next;
    *next += count;
    (first..*next)
        .map(|n| format!("?{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn candidate(row: &Row, conversation: ConversationId) -> rusqlite::Result<Candidate> {
    Ok(Candidate {
        message: MessageId::from_row(row.get(0)?),
        conversation,
        seq: Seq::from_store(row.get(1)?),
        text: row.get(2)?,
        sent_at: Timestamp::from_unix_ms(row.get(3)?),
        sender: AccountRef {
            account_id: AccountId::from_row(row.get(4)?),
            username: Username::from_store(row.get(5)?),
            display_name: row.get(6)?,
            avatar_media_id: row.get::<_, Option<i64>>(7)?.map(MediaId::from_row),
        },
    })
}

impl Writes for WriteCtx<'_> {
    fn insert_postings(&mut self, postings: &[Posting]) -> Result<()> {
        let mut statement = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO search_postings (term, conversation_id, message_id)
                 VALUES (?1, ?2, ?3)",
            )
            .sql()?;
        for posting in postings {
            statement
                .execute(params![
                    posting.term,
                    posting.conversation.row(),
                    posting.message.row()
                ])
                .sql()?;
        }
        Ok(())
    }

    fn count_terms(&mut self, counts: &[(String, i64)]) -> Result<()> {
        let mut statement = self
            .conn
            .prepare_cached(
                "INSERT INTO search_terms (term, postings) VALUES (?1, ?2)
                 ON CONFLICT (term) DO UPDATE SET postings = postings + excluded.postings",
            )
            .sql()?;
        for (term, count) in counts {
            statement.execute(params![term, count]).sql()?;
        }
        Ok(())
    }

    fn set_search_watermark(&mut self, kind: &str, through: i64) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE search_progress SET through = ?2 WHERE name = ?1")
            .sql()?
            .execute(params![kind, through])
            .sql()?;
        Ok(())
    }
}
