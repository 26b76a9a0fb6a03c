//! Moments: the SQL behind `piazza_core::moments`. None of it is on the
//! batch's hot paths, so every statement runs its job direct (`conn.rs`).
//! A post is delivered on write into `moment_inbox` (its author's and
//! each contact's, one `INSERT … SELECT`), and a feed page is one range
//! of the viewer's inbox joined to the posts, each row with the facts the
//! rules decide on. A like, a comment or a deletion first locks the
//! post's row (`FOR NO KEY UPDATE`), so nothing lands on a post being
//! deleted and comments are counted under the lock; a privacy change
//! locks its account's row (`lock_accounts`).

use std::collections::HashMap;

use piazza_core::Result;
use piazza_core::moments::{
    Between, Candidate, Comment, Horizon, Like, MomentMedia, MomentRow, MomentsPrivacy, NewComment,
    NewMoment, PrivacyList, Reads, Relation, ShownLikes, Writes, stored,
};
use piazza_domain::event::AccountRef;
use piazza_domain::{
    AccountId, CommentText, MediaId, MomentCommentId, MomentId, MomentText, Timestamp, Username,
};
use postgres::Row;

use crate::contacts::lock_accounts;
use crate::{Db, PgTx};

/// A post's columns and the facts between the viewer (`$1`) and its
/// author, over `moments m JOIN accounts a ON a.id = m.author_id`.
macro_rules! candidate_columns {
    () => {
        "SELECT m.id, a.id, a.username, a.display_name, a.avatar_media_id, m.text, m.location,
                m.visibility, m.created_at,
                EXISTS (SELECT 1 FROM contacts WHERE account_id = $1 AND contact_id = m.author_id),
                EXISTS (SELECT 1 FROM blocks WHERE account_id = $1 AND blocked_id = m.author_id)
                 OR EXISTS (SELECT 1 FROM blocks WHERE account_id = m.author_id AND blocked_id = $1)
                 OR a.deleted_at IS NOT NULL,
                EXISTS (SELECT 1 FROM moment_privacy
                        WHERE account_id = m.author_id AND list = 0 AND other_id = $1),
                EXISTS (SELECT 1 FROM moment_privacy
                        WHERE account_id = $1 AND list = 1 AND other_id = m.author_id),
                a.moments_horizon,
                EXISTS (SELECT 1 FROM moment_audience WHERE moment_id = m.id AND account_id = $1)"
    };
}

macro_rules! comment_columns {
    () => {
        "SELECT c.id, c.moment_id, c.text, c.reply_to, c.reply_to_account, c.created_at,
                a.id, a.username, a.display_name, a.avatar_media_id
         FROM moment_comments c JOIN accounts a ON a.id = c.account_id"
    };
}

fn account_ref(row: &Row, first: usize) -> AccountRef {
    AccountRef {
        account_id: AccountId::from_row(row.get(first)),
        username: Username::from_store(row.get(first + 1)),
        display_name: row.get(first + 2),
        avatar_media_id: row.get::<_, Option<i64>>(first + 3).map(MediaId::from_row),
    }
}

fn candidate_of(row: &Row) -> Result<Candidate> {
    Ok(Candidate {
        row: MomentRow {
            moment_id: MomentId::from_row(row.get(0)),
            author: account_ref(row, 1),
            text: MomentText::from_store(row.get(5)),
            location: stored::location(row.get(6))?,
            visibility: stored::visibility(row.get(7))?,
            created_at: Timestamp::from_unix_ms(row.get(8)),
        },
        between: Between {
            contacts: row.get(9),
            blocked: row.get(10),
            hidden_from_viewer: row.get(11),
            not_shown_to_viewer: row.get(12),
            author_horizon: Horizon::from_days(row.get(13)),
        },
        viewer_listed: row.get(14),
    })
}

fn comment_of(row: &Row) -> Comment {
    Comment {
        comment_id: MomentCommentId::from_row(row.get(0)),
        moment_id: MomentId::from_row(row.get(1)),
        text: CommentText::from_store(row.get(2)),
        reply_to: row.get::<_, Option<i64>>(3).map(MomentCommentId::from_row),
        reply_to_account: row.get::<_, Option<i64>>(4).map(AccountId::from_row),
        at: Timestamp::from_unix_ms(row.get(5)),
        account: account_ref(row, 6),
    }
}

fn before_row(before: Option<MomentId>) -> i64 {
    before.map_or(i64::MAX, MomentId::row)
}

fn rows_of(moments: &[MomentId]) -> Vec<i64> {
    moments.iter().map(|moment| moment.row()).collect()
}

/// Whether like `l` of post `p` (`p.author_id` its author) is one viewer
/// `$1` may see: the viewer's own, the author's, or a contact's with no
/// block standing either way (`piazza_core::moments`, the WeChat rule).
macro_rules! like_shown {
    () => {
        "(l.account_id = $1 OR l.account_id = p.author_id
          OR (EXISTS (SELECT 1 FROM contacts WHERE account_id = $1 AND contact_id = l.account_id)
              AND NOT EXISTS (SELECT 1 FROM blocks WHERE account_id = $1 AND blocked_id = l.account_id)
              AND NOT EXISTS (SELECT 1 FROM blocks WHERE account_id = l.account_id AND blocked_id = $1)))"
    };
}

impl Reads for Db<'_> {
    fn moment_for(&mut self, viewer: AccountId, moment: MomentId) -> Result<Option<Candidate>> {
        let row = self.0.query_opt(
            concat!(
                candidate_columns!(),
                " FROM moments m JOIN accounts a ON a.id = m.author_id WHERE m.id = $2"
            ),
            &[&viewer.row(), &moment.row()],
        )?;
        row.as_ref().map(candidate_of).transpose()
    }

    fn inbox(
        &mut self,
        viewer: AccountId,
        before: Option<MomentId>,
        limit: u32,
    ) -> Result<Vec<Candidate>> {
        let rows = self.0.query(
            concat!(
                candidate_columns!(),
                " FROM moment_inbox i JOIN moments m ON m.id = i.moment_id
                  JOIN accounts a ON a.id = m.author_id
                  WHERE i.owner_id = $1 AND i.moment_id < $2
                  ORDER BY i.moment_id DESC LIMIT $3"
            ),
            &[&viewer.row(), &before_row(before), &i64::from(limit)],
        )?;
        rows.iter().map(candidate_of).collect()
    }

    fn moments_by(
        &mut self,
        viewer: AccountId,
        author: AccountId,
        before: Option<MomentId>,
        limit: u32,
    ) -> Result<Vec<Candidate>> {
        let rows = self.0.query(
            concat!(
                candidate_columns!(),
                " FROM moments m JOIN accounts a ON a.id = m.author_id
                  WHERE m.author_id = $2 AND m.id < $3
                  ORDER BY m.id DESC LIMIT $4"
            ),
            &[
                &viewer.row(),
                &author.row(),
                &before_row(before),
                &i64::from(limit),
            ],
        )?;
        rows.iter().map(candidate_of).collect()
    }

    fn moment_media(
        &mut self,
        moments: &[MomentId],
    ) -> Result<HashMap<MomentId, Vec<MomentMedia>>> {
        let rows = self.0.query(
            "SELECT mm.moment_id, mm.media_id, md.width, md.height FROM moment_media mm
             JOIN media md ON md.id = mm.media_id
             WHERE mm.moment_id = ANY($1) ORDER BY mm.moment_id, mm.position",
            &[&rows_of(moments)],
        )?;
        let mut all: HashMap<MomentId, Vec<MomentMedia>> = HashMap::new();
        for row in &rows {
            let side = |column: usize| {
                row.get::<_, Option<i64>>(column)
                    .and_then(|side| u32::try_from(side).ok())
            };
            all.entry(MomentId::from_row(row.get(0)))
                .or_default()
                .push(MomentMedia {
                    media_id: MediaId::from_row(row.get(1)),
                    width: side(2),
                    height: side(3),
                });
        }
        Ok(all)
    }

    fn moment_audience(&mut self, moment: MomentId) -> Result<Vec<AccountId>> {
        let rows = self.0.query(
            "SELECT account_id FROM moment_audience WHERE moment_id = $1 ORDER BY account_id",
            &[&moment.row()],
        )?;
        Ok(rows
            .iter()
            .map(|row| AccountId::from_row(row.get(0)))
            .collect())
    }

    fn moment_likes(
        &mut self,
        viewer: AccountId,
        posts: &[(MomentId, AccountId)],
        shown_max: u32,
    ) -> Result<HashMap<MomentId, ShownLikes>> {
        let moments: Vec<i64> = posts.iter().map(|(moment, _)| moment.row()).collect();
        let authors: Vec<i64> = posts.iter().map(|(_, author)| author.row()).collect();
        let counts = self.0.query(
            concat!(
                "SELECT p.moment_id,
                        (SELECT count(*) FROM moment_likes l
                         WHERE l.moment_id = p.moment_id AND ",
                like_shown!(),
                "),
                        EXISTS (SELECT 1 FROM moment_likes
                                WHERE moment_id = p.moment_id AND account_id = $1)
                 FROM unnest($2::BIGINT[], $3::BIGINT[]) AS p(moment_id, author_id)"
            ),
            &[&viewer.row(), &moments, &authors],
        )?;
        let mut all: HashMap<MomentId, ShownLikes> = counts
            .iter()
            .map(|row| {
                let count: i64 = row.get(1);
                let shown = ShownLikes {
                    likes: Vec::new(),
                    count: u32::try_from(count).unwrap_or(u32::MAX),
                    by_viewer: row.get(2),
                };
                (MomentId::from_row(row.get(0)), shown)
            })
            .collect();
        let rows = self.0.query(
            concat!(
                "SELECT p.moment_id, l.created_at, a.id, a.username, a.display_name,
                        a.avatar_media_id
                 FROM unnest($2::BIGINT[], $3::BIGINT[]) AS p(moment_id, author_id)
                 CROSS JOIN LATERAL (
                     SELECT l.account_id, l.created_at FROM moment_likes l
                     WHERE l.moment_id = p.moment_id AND ",
                like_shown!(),
                "    ORDER BY l.created_at DESC, l.account_id DESC LIMIT $4) l
                 JOIN accounts a ON a.id = l.account_id
                 ORDER BY p.moment_id, l.created_at, l.account_id"
            ),
            &[&viewer.row(), &moments, &authors, &i64::from(shown_max)],
        )?;
        for row in &rows {
            let like = Like {
                moment_id: MomentId::from_row(row.get(0)),
                at: Timestamp::from_unix_ms(row.get(1)),
                account: account_ref(row, 2),
            };
            all.entry(like.moment_id).or_default().likes.push(like);
        }
        Ok(all)
    }

    fn moment_comments(&mut self, moments: &[MomentId]) -> Result<Vec<Comment>> {
        let rows = self.0.query(
            concat!(
                comment_columns!(),
                " WHERE c.moment_id = ANY($1) ORDER BY c.moment_id, c.id"
            ),
            &[&rows_of(moments)],
        )?;
        Ok(rows.iter().map(comment_of).collect())
    }

    fn moment_comment(
        &mut self,
        moment: MomentId,
        comment: MomentCommentId,
    ) -> Result<Option<Comment>> {
        let row = self.0.query_opt(
            concat!(comment_columns!(), " WHERE c.moment_id = $1 AND c.id = $2"),
            &[&moment.row(), &comment.row()],
        )?;
        Ok(row.as_ref().map(comment_of))
    }

    fn relations(&mut self, viewer: AccountId, accounts: &[AccountId]) -> Result<Vec<Relation>> {
        let ids: Vec<i64> = accounts.iter().map(|account| account.row()).collect();
        let rows = self.0.query(
            "SELECT o.id,
                    EXISTS (SELECT 1 FROM contacts WHERE account_id = $1 AND contact_id = o.id),
                    EXISTS (SELECT 1 FROM blocks WHERE account_id = $1 AND blocked_id = o.id)
                 OR EXISTS (SELECT 1 FROM blocks WHERE account_id = o.id AND blocked_id = $1)
                 OR EXISTS (SELECT 1 FROM accounts WHERE id = o.id AND deleted_at IS NOT NULL)
             FROM unnest($2::BIGINT[]) AS o(id)",
            &[&viewer.row(), &ids],
        )?;
        Ok(rows
            .iter()
            .map(|row| Relation {
                account: AccountId::from_row(row.get(0)),
                contacts: row.get(1),
                blocked: row.get(2),
            })
            .collect())
    }

    fn moments_showing(&mut self, media: MediaId) -> Result<Vec<MomentId>> {
        let rows = self.0.query(
            "SELECT moment_id FROM moment_media WHERE media_id = $1",
            &[&media.row()],
        )?;
        Ok(rows
            .iter()
            .map(|row| MomentId::from_row(row.get(0)))
            .collect())
    }

    fn moments_privacy(&mut self, account: AccountId) -> Result<MomentsPrivacy> {
        let days: i64 = self
            .0
            .query_one(
                "SELECT moments_horizon FROM accounts WHERE id = $1",
                &[&account.row()],
            )?
            .get(0);
        let rows = self.0.query(
            "SELECT list, other_id FROM moment_privacy WHERE account_id = $1
             ORDER BY list, other_id",
            &[&account.row()],
        )?;
        let mut privacy = MomentsPrivacy {
            horizon: Horizon::from_days(days),
            ..MomentsPrivacy::default()
        };
        for row in &rows {
            let other = AccountId::from_row(row.get(1));
            match row.get::<_, i64>(0) {
                0 => privacy.hidden_from.push(other),
                _ => privacy.not_shown.push(other),
            }
        }
        Ok(privacy)
    }
}

impl Writes for PgTx<'_> {
    fn insert_moment(
        &mut self,
        author: AccountId,
        moment: &NewMoment,
        at: Timestamp,
    ) -> Result<MomentId> {
        let row = self.conn().query_one(
            "INSERT INTO moments (author_id, text, location, visibility, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &author.row(),
                &moment.text.as_str(),
                &stored::location_text(moment.location.as_ref()),
                &stored::visibility_code(moment.visibility.kind()),
                &at.unix_ms(),
            ],
        )?;
        let id = MomentId::from_row(row.get(0));
        let media: Vec<i64> = moment.media.iter().map(|media| media.row()).collect();
        self.conn().execute(
            "INSERT INTO moment_media (moment_id, position, media_id)
             SELECT $1, position - 1, media_id
             FROM unnest($2::BIGINT[]) WITH ORDINALITY AS m(media_id, position)",
            &[&id.row(), &media],
        )?;
        let audience: Vec<i64> = moment
            .visibility
            .accounts()
            .iter()
            .map(|account| account.row())
            .collect();
        self.conn().execute(
            "INSERT INTO moment_audience (moment_id, account_id)
             SELECT $1, account_id FROM unnest($2::BIGINT[]) AS a(account_id)",
            &[&id.row(), &audience],
        )?;
        Ok(id)
    }

    fn deliver_moment(
        &mut self,
        moment: MomentId,
        author: AccountId,
        to_contacts: bool,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO moment_inbox (owner_id, moment_id)
             SELECT $1::BIGINT, $2::BIGINT
             UNION ALL
             SELECT contact_id, $2 FROM contacts WHERE account_id = $1 AND $3::BOOLEAN",
            &[&author.row(), &moment.row(), &to_contacts],
        )?;
        Ok(())
    }

    fn moment_author_for_update(&mut self, moment: MomentId) -> Result<Option<AccountId>> {
        let row = self.conn().query_opt(
            "SELECT author_id FROM moments WHERE id = $1 FOR NO KEY UPDATE",
            &[&moment.row()],
        )?;
        Ok(row.map(|row| AccountId::from_row(row.get(0))))
    }

    fn moments_privacy_for_update(&mut self, account: AccountId) -> Result<MomentsPrivacy> {
        lock_accounts(self.conn(), &[account])?;
        self.db.moments_privacy(account)
    }

    fn delete_moment(&mut self, moment: MomentId, author: AccountId) -> Result<()> {
        self.conn().execute(
            "WITH media AS (DELETE FROM moment_media WHERE moment_id = $1),
                  audience AS (DELETE FROM moment_audience WHERE moment_id = $1),
                  likes AS (DELETE FROM moment_likes WHERE moment_id = $1),
                  inbox AS (DELETE FROM moment_inbox i
                      USING (SELECT $2::bigint AS id
                             UNION ALL SELECT contact_id FROM contacts WHERE account_id = $2) o
                      WHERE i.owner_id = o.id AND i.moment_id = $1)
             DELETE FROM moment_comments WHERE moment_id = $1",
            &[&moment.row(), &author.row()],
        )?;
        self.conn()
            .execute("DELETE FROM moments WHERE id = $1", &[&moment.row()])?;
        Ok(())
    }

    fn insert_moment_like(
        &mut self,
        moment: MomentId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self.conn().execute(
            "INSERT INTO moment_likes (moment_id, account_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&moment.row(), &account.row(), &at.unix_ms()],
        )?;
        Ok(inserted == 1)
    }

    fn delete_moment_like(&mut self, moment: MomentId, account: AccountId) -> Result<bool> {
        let deleted = self.conn().execute(
            "DELETE FROM moment_likes WHERE moment_id = $1 AND account_id = $2",
            &[&moment.row(), &account.row()],
        )?;
        Ok(deleted == 1)
    }

    fn comment_count(&mut self, moment: MomentId) -> Result<usize> {
        let count: i64 = self
            .conn()
            .query_one(
                "SELECT COUNT(*) FROM moment_comments WHERE moment_id = $1",
                &[&moment.row()],
            )?
            .get(0);
        Ok(usize::try_from(count).unwrap_or(0))
    }

    fn insert_moment_comment(
        &mut self,
        comment: &NewComment,
        at: Timestamp,
    ) -> Result<MomentCommentId> {
        let row = self.conn().query_one(
            "INSERT INTO moment_comments
                 (moment_id, account_id, text, reply_to, reply_to_account, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &comment.moment_id.row(),
                &comment.account.row(),
                &comment.text.as_str(),
                &comment.reply_to.map(MomentCommentId::row),
                &comment.reply_to_account.map(AccountId::row),
                &at.unix_ms(),
            ],
        )?;
        Ok(MomentCommentId::from_row(row.get(0)))
    }

    fn delete_comment(&mut self, comment: MomentCommentId) -> Result<()> {
        self.conn().execute(
            "DELETE FROM moment_comments WHERE id = $1",
            &[&comment.row()],
        )?;
        Ok(())
    }

    fn set_moments_horizon(&mut self, account: AccountId, horizon: Horizon) -> Result<()> {
        self.conn().execute(
            "UPDATE accounts SET moments_horizon = $1 WHERE id = $2",
            &[&i64::from(horizon.days()), &account.row()],
        )?;
        Ok(())
    }

    fn set_privacy_list(
        &mut self,
        account: AccountId,
        list: PrivacyList,
        accounts: &[AccountId],
    ) -> Result<()> {
        let code = stored::list_code(list);
        let others: Vec<i64> = accounts.iter().map(|other| other.row()).collect();
        self.conn().execute(
            "DELETE FROM moment_privacy WHERE account_id = $1 AND list = $2",
            &[&account.row(), &code],
        )?;
        self.conn().execute(
            "INSERT INTO moment_privacy (account_id, list, other_id)
             SELECT $1, $2, other_id FROM unnest($3::BIGINT[]) AS o(other_id)",
            &[&account.row(), &code, &others],
        )?;
        Ok(())
    }
}
