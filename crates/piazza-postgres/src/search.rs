//! Search: the SQL behind `piazza_core::search`. A search is one
//! statement: for each of the caller's conversations (a `LATERAL` join),
//! the newest postings of the walked term, then the newest of all. The
//! other groups of terms are arrays: a candidate holds a term of each.

use piazza_core::Result;
use piazza_core::search::documents::{
    DocFound, DocKind, DocSearch, DocText, Reads as DocReads, Writes as DocWrites,
};
use piazza_core::search::{Candidate, MessageSearch, Posting, Reads, ToIndex, Writes};
use piazza_domain::event::AccountRef;
use piazza_domain::{AccountId, ConversationId, MediaId, MessageId, Seq, Timestamp, Username};
use postgres::Row;
use postgres::types::ToSql;

use crate::{Db, PgTx};

fn to_index(row: &Row) -> ToIndex {
    ToIndex {
        message: MessageId::from_row(row.get(0)),
        conversation: ConversationId::from_row(row.get(1)),
        text: row.get(2),
    }
}

impl Reads for Db<'_> {
    fn search_watermark(&mut self, kind: &str) -> Result<i64> {
        let row = self.0.query_one(
            "SELECT through FROM search_progress WHERE name = $1",
            &[&kind],
        )?;
        Ok(row.get(0))
    }

    fn newest_message_id(&mut self) -> Result<i64> {
        let row = self
            .0
            .query_one("SELECT COALESCE(MAX(id), 0)::BIGINT FROM messages", &[])?;
        Ok(row.get(0))
    }

    fn messages_to_index(&mut self, after: i64, limit: u32) -> Result<Vec<ToIndex>> {
        let rows = self.0.query(
            "SELECT id, conversation_id, text FROM messages
             WHERE id > $1 ORDER BY id LIMIT $2",
            &[&after, &i64::from(limit)],
        )?;
        Ok(rows.iter().map(to_index).collect())
    }

    fn messages_by_id(&mut self, ids: &[i64]) -> Result<Vec<ToIndex>> {
        let rows = self.0.query(
            "SELECT id, conversation_id, text FROM messages WHERE id = ANY($1) ORDER BY id",
            &[&ids],
        )?;
        Ok(rows.iter().map(to_index).collect())
    }

    fn term_counts(&mut self, terms: &[String]) -> Result<Vec<i64>> {
        let rows = self.0.query(
            "SELECT COALESCE(t.postings, 0)
             FROM unnest($1::text[]) WITH ORDINALITY AS q(term, n)
             LEFT JOIN search_terms t ON t.term = q.term
             ORDER BY q.n",
            &[&terms],
        )?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    fn terms_starting(&mut self, prefix: &str, limit: u32) -> Result<Vec<String>> {
        let rows = self.0.query(
            "SELECT term FROM search_terms
             WHERE term >= $1 AND term < $1 || chr(1114111)
             ORDER BY postings DESC, term LIMIT $2",
            &[&prefix, &i64::from(limit)],
        )?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    fn message_candidates(&mut self, search: &MessageSearch) -> Result<Vec<Candidate>> {
        message_candidates(self, search)
    }
}

/// $1 the caller, $2 one conversation or NULL for all, $3 the walked
/// term(s), $4 below this id, $5 limit, $6 above this id; then the other
/// groups, as `$others` reads them ($7…).
///
/// In each conversation the walked term's postings (index only, newest
/// first) are first kept to those holding the other groups, each probed
/// by one descent of `search_postings_by_message`; only those are joined
/// to their messages, to ask whether the caller may see them. The
/// `OFFSET 0` keeps the planner from joining the messages first: for two
/// common words rarely together, that was a heap fetch of every posting
/// of the rarer (BENCHMARKS.md, "Search"). Only the page's rows are
/// joined to their senders.
macro_rules! candidates {
    ($walked:literal, $($others:tt)*) => {
        concat!(
            "SELECT c.message_id, c.conversation_id, m.seq, m.text, m.sent_at,
                    a.id, a.username, a.display_name, a.avatar_media_id
             FROM (
                 SELECT l.message_id, l.conversation_id
                 FROM members mb
                 CROSS JOIN LATERAL (
                     SELECT p.message_id, p.conversation_id
                     FROM (SELECT DISTINCT p.message_id, p.conversation_id
                           FROM search_postings p
                           WHERE p.conversation_id = mb.conversation_id AND ",
            $walked,
            "               AND p.message_id < $4 AND p.message_id > $6 ",
            $($others)*,
            "              ORDER BY p.message_id DESC OFFSET 0) p
                     JOIN messages m ON m.id = p.message_id
                     WHERE m.seq > mb.from_seq AND m.recalled_at IS NULL
                       AND NOT EXISTS (SELECT 1 FROM hidden_messages h
                                       WHERE h.account_id = $1 AND h.message_id = p.message_id)
                     ORDER BY p.message_id DESC LIMIT $5) l
                 WHERE mb.account_id = $1 AND ($2::BIGINT IS NULL OR mb.conversation_id = $2)
                 ORDER BY l.message_id DESC LIMIT $5) c
             JOIN messages m ON m.id = c.message_id
             JOIN accounts a ON a.id = m.sender_id
             ORDER BY c.message_id DESC"
        )
    };
}

/// A candidate holds a term of the group in `$n` (a `text[]`).
macro_rules! holds {
    ($n:literal) => {
        concat!(
            " AND EXISTS (SELECT 1 FROM search_postings q
                          WHERE q.message_id = p.message_id AND q.term = ANY(",
            $n,
            "::text[]))"
        )
    };
}

macro_rules! with_others {
    ($walked:literal) => {
        [
            candidates!($walked, ""),
            candidates!($walked, holds!("$7")),
            candidates!($walked, holds!("$7"), holds!("$8")),
            // Three or more: $7 their terms, $8 the group of each, $9
            // how many groups.
            candidates!(
                $walked,
                " AND (SELECT count(DISTINCT g.grp)
                       FROM unnest($7::text[], $8::int[]) AS g(term, grp)
                       WHERE EXISTS (SELECT 1 FROM search_postings q
                                     WHERE q.message_id = p.message_id
                                       AND q.term = g.term)) = $9"
            ),
        ]
    };
}

/// By how many other groups there are (0, 1, 2, more): walking one term,
/// and walking several.
const CANDIDATES_OF_ONE_TERM: [&str; 4] = with_others!("p.term = $3::text");
const CANDIDATES_OF_TERMS: [&str; 4] = with_others!("p.term = ANY($3::text[])");

/// The candidates of `search`, in one statement of the shape its groups
/// need.
fn message_candidates(db: &mut Db<'_>, search: &MessageSearch) -> Result<Vec<Candidate>> {
    let floor = search.after.map_or(0, MessageId::row);
    let (driver, others) = search
        .groups
        .split_first()
        .expect("a search has a group of terms");
    let before = search.before.map_or(i64::MAX, MessageId::row);
    let conversation = search.conversation.map(ConversationId::row);
    let limit = i64::from(search.limit);
    let account = search.account.row();
    let (terms, groups): (Vec<&str>, Vec<i32>) = others
        .iter()
        .enumerate()
        .flat_map(|(n, group)| group.iter().map(move |term| (term.as_str(), n as i32)))
        .unzip();
    let group_count = others.len() as i64;
    let walked: &(dyn ToSql + Sync) = match driver.as_slice() {
        [term] => term,
        _ => driver,
    };
    let mut params: Vec<&(dyn ToSql + Sync)> =
        vec![&account, &conversation, walked, &before, &limit, &floor];
    let shape = match others {
        [] => 0,
        [one] => {
            params.push(one);
            1
        }
        [one, two] => {
            params.extend([one as &(dyn ToSql + Sync), two]);
            2
        }
        _ => {
            params.extend([&terms as &(dyn ToSql + Sync), &groups, &group_count]);
            3
        }
    };
    let sql = match driver.as_slice() {
        [_] => CANDIDATES_OF_ONE_TERM[shape],
        _ => CANDIDATES_OF_TERMS[shape],
    };
    let rows = db.0.query(sql, &params)?;
    Ok(rows.iter().map(candidate).collect())
}

fn candidate(row: &Row) -> Candidate {
    Candidate {
        message: MessageId::from_row(row.get(0)),
        conversation: ConversationId::from_row(row.get(1)),
        seq: Seq::from_store(row.get(2)),
        text: row.get(3),
        sent_at: Timestamp::from_unix_ms(row.get(4)),
        sender: AccountRef {
            account_id: AccountId::from_row(row.get(5)),
            username: Username::from_store(row.get(6)),
            display_name: row.get(7),
            avatar_media_id: row.get::<_, Option<i64>>(8).map(MediaId::from_row),
        },
    }
}

impl Writes for PgTx<'_> {
    fn insert_postings(&mut self, postings: &[Posting]) -> Result<()> {
        let terms: Vec<&str> = postings.iter().map(|p| p.term.as_str()).collect();
        let conversations: Vec<i64> = postings.iter().map(|p| p.conversation.row()).collect();
        let messages: Vec<i64> = postings.iter().map(|p| p.message.row()).collect();
        self.conn().execute(
            "INSERT INTO search_postings (term, conversation_id, message_id)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
             ON CONFLICT DO NOTHING",
            &[&terms, &conversations, &messages],
        )?;
        Ok(())
    }

    fn count_terms(&mut self, counts: &[(String, i64)]) -> Result<()> {
        let terms: Vec<&str> = counts.iter().map(|(term, _)| term.as_str()).collect();
        let added: Vec<i64> = counts.iter().map(|(_, count)| *count).collect();
        // In term order, as every indexer's batch is: two batches lock
        // the rows they share in the same order.
        self.conn().execute(
            "INSERT INTO search_terms (term, postings)
             SELECT * FROM unnest($1::text[], $2::bigint[])
             ON CONFLICT (term) DO UPDATE SET postings = search_terms.postings + excluded.postings",
            &[&terms, &added],
        )?;
        Ok(())
    }

    fn set_search_watermark(&mut self, kind: &str, through: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE search_progress SET through = $2 WHERE name = $1",
            &[&kind, &through],
        )?;
        Ok(())
    }
}

/// Each kind's id and searchable text (title, body, also), $1 the id after
/// which, $2 how many.
const CHANNELS_TO_INDEX: &str = "SELECT c.id, c.name, c.description, c.handle
     FROM channels c WHERE c.id > $1 ORDER BY c.id LIMIT $2";
const ARTICLES_TO_INDEX: &str = "SELECT a.id, a.title, a.body_markdown, ''
     FROM articles a WHERE a.id > $1 ORDER BY a.id LIMIT $2";
const PRODUCTS_TO_INDEX: &str = "SELECT p.id, p.title, p.description, ''
     FROM products p WHERE p.id > $1 ORDER BY p.id LIMIT $2";

/// A kind's candidates: its text and what a result shows, from `$select`
/// (columns after the id, title, body and also: parent id and name,
/// media, time) and `$from` (the joins), where `d` is the posting walked
/// by `$walked`. $1 the kind, $2 below this id, $3 limit, $4 the walked
/// term(s), $5 and $6 the other groups' terms and the group of each, $7
/// how many groups there are.
macro_rules! document_candidates {
    ($select:literal, $from:literal, $walked:literal) => {
        concat!(
            "SELECT DISTINCT ",
            $select,
            " FROM search_documents d ",
            $from,
            " WHERE d.kind = $1 AND d.doc_id < $2 AND ",
            $walked,
            " AND (SELECT count(DISTINCT g.grp)
                   FROM unnest($5::text[], $6::int[]) AS g(term, grp)
                   WHERE EXISTS (SELECT 1 FROM search_documents q
                                 WHERE q.term = g.term AND q.kind = $1
                                   AND q.doc_id = d.doc_id)) = $7
             ORDER BY 1 DESC LIMIT $3"
        )
    };
}

macro_rules! channel_candidates {
    ($walked:literal) => {
        document_candidates!(
            "c.id, c.name, c.description, c.handle, NULL::BIGINT, NULL::TEXT,
             c.avatar_media_id, c.created_at",
            "JOIN channels c ON c.id = d.doc_id",
            $walked
        )
    };
}

macro_rules! article_candidates {
    ($walked:literal) => {
        document_candidates!(
            "a.id, a.title, a.body_markdown, ''::TEXT, ch.id, ch.name, a.cover_media_id,
             a.published_at",
            "JOIN articles a ON a.id = d.doc_id JOIN channels ch ON ch.id = a.channel_id",
            $walked
        )
    };
}

macro_rules! product_candidates {
    ($walked:literal) => {
        document_candidates!(
            "p.id, p.title, p.description, ''::TEXT, s.id, s.name,
             (SELECT m.media_id FROM product_media m WHERE m.product_id = p.id
              ORDER BY m.position LIMIT 1),
             p.updated_at",
            "JOIN products p ON p.id = d.doc_id AND p.listed JOIN shops s ON s.id = p.shop_id",
            $walked
        )
    };
}

/// For each kind: walking one term, and walking several.
const CANDIDATES: [(&str, &str); 3] = [
    (
        channel_candidates!("d.term = $4::text"),
        channel_candidates!("d.term = ANY($4::text[])"),
    ),
    (
        article_candidates!("d.term = $4::text"),
        article_candidates!("d.term = ANY($4::text[])"),
    ),
    (
        product_candidates!("d.term = $4::text"),
        product_candidates!("d.term = ANY($4::text[])"),
    ),
];

fn kind_index(kind: DocKind) -> usize {
    match kind {
        DocKind::Channel => 0,
        DocKind::Article => 1,
        DocKind::Product => 2,
    }
}

fn document_found(row: &Row) -> DocFound {
    let parent: Option<i64> = row.get(4);
    DocFound {
        id: row.get(0),
        text: DocText {
            title: row.get(1),
            body: row.get(2),
            also: row.get(3),
        },
        parent: parent.map(|id| (id, row.get(5))),
        media: row.get(6),
        at: Timestamp::from_unix_ms(row.get(7)),
    }
}

impl DocReads for Db<'_> {
    fn documents_to_index(
        &mut self,
        kind: DocKind,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, DocText)>> {
        let sql = match kind {
            DocKind::Channel => CHANNELS_TO_INDEX,
            DocKind::Article => ARTICLES_TO_INDEX,
            DocKind::Product => PRODUCTS_TO_INDEX,
        };
        let rows = self.0.query(sql, &[&after, &i64::from(limit)])?;
        Ok(rows
            .iter()
            .map(|row| {
                let text = DocText {
                    title: row.get(1),
                    body: row.get(2),
                    also: row.get(3),
                };
                (row.get(0), text)
            })
            .collect())
    }

    fn document_terms_starting(
        &mut self,
        kind: DocKind,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<String>> {
        let rows = self.0.query(
            "SELECT DISTINCT term FROM search_documents
             WHERE term >= $1 AND term < $1 || chr(1114111) AND kind = $2
             ORDER BY term LIMIT $3",
            &[&prefix, &(kind.code() as i16), &i64::from(limit)],
        )?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    fn document_candidates(&mut self, search: &DocSearch) -> Result<Vec<DocFound>> {
        let (driver, others) = search
            .groups
            .split_first()
            .expect("a search has a group of terms");
        let (terms, groups): (Vec<&str>, Vec<i32>) = others
            .iter()
            .enumerate()
            .flat_map(|(n, group)| group.iter().map(move |term| (term.as_str(), n as i32)))
            .unzip();
        let kind = search.kind.code() as i16;
        let before = search.before.unwrap_or(i64::MAX);
        let limit = i64::from(search.limit);
        let group_count = others.len() as i64;
        let (one, several) = CANDIDATES[kind_index(search.kind)];
        let rows = match driver.as_slice() {
            [term] => self.0.query(
                one,
                &[&kind, &before, &limit, term, &terms, &groups, &group_count],
            )?,
            _ => self.0.query(
                several,
                &[
                    &kind,
                    &before,
                    &limit,
                    driver,
                    &terms,
                    &groups,
                    &group_count,
                ],
            )?,
        };
        Ok(rows.iter().map(document_found).collect())
    }
}

impl DocWrites for PgTx<'_> {
    fn index_document(
        &mut self,
        kind: DocKind,
        id: i64,
        terms: &[String],
        replace: bool,
    ) -> Result<()> {
        let kind = kind.code() as i16;
        if replace {
            self.conn().execute(
                "DELETE FROM search_documents WHERE kind = $1 AND doc_id = $2",
                &[&kind, &id],
            )?;
        }
        self.conn().execute(
            "INSERT INTO search_documents (term, kind, doc_id)
             SELECT term, $2, $3 FROM unnest($1::text[]) AS t(term)
             ON CONFLICT DO NOTHING",
            &[&terms, &kind, &id],
        )?;
        Ok(())
    }
}
