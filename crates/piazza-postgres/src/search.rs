//! Search: the SQL behind `piazza_core::search`. A search is one
//! statement: for each of the caller's conversations (a `LATERAL` join),
//! the newest postings of the walked term, then the newest of all. The
//! other groups of terms are arrays: a candidate holds a term of each.

use piazza_core::Result;
use piazza_core::search::{Candidate, MessageSearch, Posting, Reads, ToIndex, Writes};
use piazza_domain::event::AccountRef;
use piazza_domain::{AccountId, ConversationId, MediaId, MessageId, Seq, Timestamp, Username};
use postgres::Row;

use crate::{Db, PgTx};

fn to_index(row: &Row) -> ToIndex {
    ToIndex {
        message: MessageId::from_row(row.get(0)),
        conversation: ConversationId::from_row(row.get(1)),
        text: row.get(2),
    }
}

impl Reads for Db<'_> {
    fn search_watermark(&mut self) -> Result<i64> {
        let row = self.0.query_one(
            "SELECT through FROM search_progress WHERE name = 'messages'",
            &[],
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
        let (driver, others) = search
            .groups
            .split_first()
            .expect("a search has a group of terms");
        let (terms, groups): (Vec<&str>, Vec<i32>) = others
            .iter()
            .enumerate()
            .flat_map(|(n, group)| group.iter().map(move |term| (term.as_str(), n as i32)))
            .unzip();
        let before = search.before.map_or(i64::MAX, MessageId::row);
        let conversation = search.conversation.map(ConversationId::row);
        let limit = i64::from(search.limit);
        let group_count = others.len() as i64;
        let account = search.account.row();
        let rows = match driver.as_slice() {
            [term] => self.0.query(
                CANDIDATES_OF_ONE_TERM,
                &[
                    &account,
                    &conversation,
                    term,
                    &before,
                    &limit,
                    &terms,
                    &groups,
                    &group_count,
                ],
            )?,
            _ => self.0.query(
                CANDIDATES_OF_TERMS,
                &[
                    &account,
                    &conversation,
                    driver,
                    &before,
                    &limit,
                    &terms,
                    &groups,
                    &group_count,
                ],
            )?,
        };
        Ok(rows.iter().map(candidate).collect())
    }
}

/// $1 the caller, $2 one conversation or NULL for all, $3 the walked
/// term(s), $4 below this id, $5 limit, $6 and $7 the other groups'
/// terms and the group of each, $8 how many groups there are.
macro_rules! candidates {
    ($walked:literal) => {
        concat!(
            "SELECT c.message_id, c.conversation_id, m.seq, m.text, m.sent_at,
                    a.id, a.username, a.display_name, a.avatar_media_id
             FROM members mb
             CROSS JOIN LATERAL (
                 SELECT DISTINCT p.message_id, p.conversation_id
                 FROM search_postings p
                 JOIN messages m ON m.id = p.message_id
                 WHERE p.conversation_id = mb.conversation_id AND ",
            $walked,
            "     AND p.message_id < $4
                   AND m.seq > mb.from_seq AND m.recalled_at IS NULL
                   AND NOT EXISTS (SELECT 1 FROM hidden_messages h
                                   WHERE h.account_id = $1 AND h.message_id = p.message_id)
                   AND (SELECT count(DISTINCT g.grp)
                        FROM unnest($6::text[], $7::int[]) AS g(term, grp)
                        WHERE EXISTS (SELECT 1 FROM search_postings q
                                      WHERE q.term = g.term
                                        AND q.conversation_id = p.conversation_id
                                        AND q.message_id = p.message_id)) = $8
                 ORDER BY p.message_id DESC LIMIT $5) c
             JOIN messages m ON m.id = c.message_id
             JOIN accounts a ON a.id = m.sender_id
             WHERE mb.account_id = $1 AND ($2::BIGINT IS NULL OR mb.conversation_id = $2)
             ORDER BY c.message_id DESC LIMIT $5"
        )
    };
}

const CANDIDATES_OF_ONE_TERM: &str = candidates!("p.term = $3::text");
const CANDIDATES_OF_TERMS: &str = candidates!("p.term = ANY($3::text[])");

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

    fn set_search_watermark(&mut self, through: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE search_progress SET through = $1 WHERE name = 'messages'",
            &[&through],
        )?;
        Ok(())
    }
}
