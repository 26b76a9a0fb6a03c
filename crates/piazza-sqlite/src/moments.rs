//! Moments: the SQL behind `piazza_core::moments`. A post is delivered on
//! write into `moment_inbox` (its author's and each contact's), and a
//! feed page is one range of the viewer's inbox joined to the posts, each
//! row with the facts the rules decide on (contacts, blocks, privacy
//! lists, the author's horizon, the viewer on the post's list). The
//! writer is SQLite's only one, so what a job reads cannot move before it
//! commits: `moment_author_for_update` needs no lock of its own.

use std::collections::HashMap;

use piazza_core::Result;
use piazza_core::moments::{
    Between, Candidate, Comment, Horizon, Like, MomentMedia, MomentRow, MomentsPrivacy, NewComment,
    NewMoment, PrivacyList, Reads, Relation, ShownLikes, VisibilityKind, Writes, stored,
};
use piazza_domain::event::AccountRef;
use piazza_domain::{
    AccountId, CommentText, MediaId, MomentCommentId, MomentId, MomentText, Timestamp, Username,
};
use rusqlite::{Row, params};

use crate::engine::{Db, Sql};
use crate::writer::WriteCtx;

/// A post's columns and the facts between the viewer (`?1`) and its
/// author, over `moments m JOIN accounts a ON a.id = m.author_id`.
macro_rules! candidate_columns {
    () => {
        "SELECT m.id, a.id, a.username, a.display_name, a.avatar_media_id, m.text, m.location,
                m.visibility, m.created_at,
                EXISTS (SELECT 1 FROM contacts WHERE account_id = ?1 AND contact_id = m.author_id),
                EXISTS (SELECT 1 FROM blocks WHERE account_id = ?1 AND blocked_id = m.author_id)
                 OR EXISTS (SELECT 1 FROM blocks WHERE account_id = m.author_id AND blocked_id = ?1)
                 OR a.deleted_at IS NOT NULL,
                EXISTS (SELECT 1 FROM moment_privacy
                        WHERE account_id = m.author_id AND list = 0 AND other_id = ?1),
                EXISTS (SELECT 1 FROM moment_privacy
                        WHERE account_id = ?1 AND list = 1 AND other_id = m.author_id),
                a.moments_horizon,
                EXISTS (SELECT 1 FROM moment_audience WHERE moment_id = m.id AND account_id = ?1)"
    };
}

/// The raw columns of a candidate row, before the checked conversions.
struct RawCandidate {
    candidate: Candidate,
    visibility: i64,
    location: Option<String>,
}

fn raw_candidate(row: &Row<'_>) -> rusqlite::Result<RawCandidate> {
    let candidate = Candidate {
        row: MomentRow {
            moment_id: MomentId::from_row(row.get(0)?),
            author: AccountRef {
                account_id: AccountId::from_row(row.get(1)?),
                username: Username::from_store(row.get(2)?),
                display_name: row.get(3)?,
                avatar_media_id: row.get::<_, Option<i64>>(4)?.map(MediaId::from_row),
            },
            text: MomentText::from_store(row.get(5)?),
            location: None,
            visibility: VisibilityKind::Contacts,
            created_at: Timestamp::from_unix_ms(row.get(8)?),
        },
        between: Between {
            contacts: row.get(9)?,
            blocked: row.get(10)?,
            hidden_from_viewer: row.get(11)?,
            not_shown_to_viewer: row.get(12)?,
            author_horizon: Horizon::from_days(row.get(13)?),
        },
        viewer_listed: row.get(14)?,
    };
    Ok(RawCandidate {
        candidate,
        visibility: row.get(7)?,
        location: row.get(6)?,
    })
}

fn finish(raw: RawCandidate) -> Result<Candidate> {
    let mut candidate = raw.candidate;
    candidate.row.visibility = stored::visibility(raw.visibility)?;
    candidate.row.location = stored::location(raw.location)?;
    Ok(candidate)
}

fn candidates(
    db: &Db<'_>,
    sql: &'static str,
    params: impl rusqlite::Params,
) -> Result<Vec<Candidate>> {
    let mut statement = db.0.prepare_cached(sql).sql()?;
    let rows = statement.query_map(params, raw_candidate).sql()?;
    let raws = rows.collect::<rusqlite::Result<Vec<_>>>().sql()?;
    raws.into_iter().map(finish).collect()
}

fn account_ref(row: &Row<'_>, first: usize) -> rusqlite::Result<AccountRef> {
    Ok(AccountRef {
        account_id: AccountId::from_row(row.get(first)?),
        username: Username::from_store(row.get(first + 1)?),
        display_name: row.get(first + 2)?,
        avatar_media_id: row.get::<_, Option<i64>>(first + 3)?.map(MediaId::from_row),
    })
}

fn comment_of(row: &Row<'_>) -> rusqlite::Result<Comment> {
    Ok(Comment {
        comment_id: MomentCommentId::from_row(row.get(0)?),
        moment_id: MomentId::from_row(row.get(1)?),
        text: CommentText::from_store(row.get(2)?),
        reply_to: row.get::<_, Option<i64>>(3)?.map(MomentCommentId::from_row),
        reply_to_account: row.get::<_, Option<i64>>(4)?.map(AccountId::from_row),
        at: Timestamp::from_unix_ms(row.get(5)?),
        account: account_ref(row, 6)?,
    })
}

const COMMENT_COLUMNS: &str =
    "c.id, c.moment_id, c.text, c.reply_to, c.reply_to_account, c.created_at,
     a.id, a.username, a.display_name, a.avatar_media_id";

fn before_row(before: Option<MomentId>) -> i64 {
    before.map_or(i64::MAX, MomentId::row)
}

/// Whether like `l` of a post by `?3` is one viewer `?2` may see: the
/// viewer's own, the author's, or a contact's with no block standing
/// either way (`piazza_core::moments`, the WeChat rule).
macro_rules! like_shown {
    () => {
        "(l.account_id IN (?2, ?3)
          OR (EXISTS (SELECT 1 FROM contacts WHERE account_id = ?2 AND contact_id = l.account_id)
              AND NOT EXISTS (SELECT 1 FROM blocks WHERE account_id = ?2 AND blocked_id = l.account_id)
              AND NOT EXISTS (SELECT 1 FROM blocks WHERE account_id = l.account_id AND blocked_id = ?2)))"
    };
}

impl Db<'_> {
    /// The newest `shown_max` likes of `moment` that `viewer` may see,
    /// oldest first.
    fn shown_likes(
        &mut self,
        moment: MomentId,
        viewer: AccountId,
        author: AccountId,
        shown_max: u32,
    ) -> Result<Vec<Like>> {
        let mut statement = self
            .0
            .prepare_cached(concat!(
                "SELECT l.moment_id, l.created_at, a.id, a.username, a.display_name,
                        a.avatar_media_id
                 FROM moment_likes l JOIN accounts a ON a.id = l.account_id
                 WHERE l.moment_id = ?1 AND ",
                like_shown!(),
                " ORDER BY l.created_at DESC, l.account_id DESC LIMIT ?4"
            ))
            .sql()?;
        let rows = statement
            .query_map(
                params![moment.row(), viewer.row(), author.row(), shown_max],
                |row| {
                    Ok(Like {
                        moment_id: MomentId::from_row(row.get(0)?),
                        at: Timestamp::from_unix_ms(row.get(1)?),
                        account: account_ref(row, 2)?,
                    })
                },
            )
            .sql()?;
        let mut likes = rows.collect::<rusqlite::Result<Vec<_>>>().sql()?;
        likes.reverse();
        Ok(likes)
    }
}

impl Reads for Db<'_> {
    fn moment_for(&mut self, viewer: AccountId, moment: MomentId) -> Result<Option<Candidate>> {
        let found = candidates(
            self,
            concat!(
                candidate_columns!(),
                " FROM moments m JOIN accounts a ON a.id = m.author_id WHERE m.id = ?2"
            ),
            [viewer.row(), moment.row()],
        )?;
        Ok(found.into_iter().next())
    }

    fn inbox(
        &mut self,
        viewer: AccountId,
        before: Option<MomentId>,
        limit: u32,
    ) -> Result<Vec<Candidate>> {
        candidates(
            self,
            concat!(
                candidate_columns!(),
                " FROM moment_inbox i JOIN moments m ON m.id = i.moment_id
                  JOIN accounts a ON a.id = m.author_id
                  WHERE i.owner_id = ?1 AND i.moment_id < ?2
                  ORDER BY i.moment_id DESC LIMIT ?3"
            ),
            params![viewer.row(), before_row(before), limit],
        )
    }

    fn moments_by(
        &mut self,
        viewer: AccountId,
        author: AccountId,
        before: Option<MomentId>,
        limit: u32,
    ) -> Result<Vec<Candidate>> {
        candidates(
            self,
            concat!(
                candidate_columns!(),
                " FROM moments m JOIN accounts a ON a.id = m.author_id
                  WHERE m.author_id = ?2 AND m.id < ?3
                  ORDER BY m.id DESC LIMIT ?4"
            ),
            params![viewer.row(), author.row(), before_row(before), limit],
        )
    }

    fn moment_media(
        &mut self,
        moments: &[MomentId],
    ) -> Result<HashMap<MomentId, Vec<MomentMedia>>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT mm.media_id, md.width, md.height FROM moment_media mm
                 JOIN media md ON md.id = mm.media_id
                 WHERE mm.moment_id = ?1 ORDER BY mm.position",
            )
            .sql()?;
        let mut all = HashMap::new();
        for moment in moments {
            let rows = statement
                .query_map([moment.row()], |row| {
                    Ok(MomentMedia {
                        media_id: MediaId::from_row(row.get(0)?),
                        width: row.get(1)?,
                        height: row.get(2)?,
                    })
                })
                .sql()?;
            let media = rows.collect::<rusqlite::Result<Vec<_>>>().sql()?;
            all.insert(*moment, media);
        }
        Ok(all)
    }

    fn moment_audience(&mut self, moment: MomentId) -> Result<Vec<AccountId>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT account_id FROM moment_audience WHERE moment_id = ?1 ORDER BY account_id",
            )
            .sql()?;
        let rows = statement
            .query_map([moment.row()], |row| Ok(AccountId::from_row(row.get(0)?)))
            .sql()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql()
    }

    fn moment_likes(
        &mut self,
        viewer: AccountId,
        posts: &[(MomentId, AccountId)],
        shown_max: u32,
    ) -> Result<HashMap<MomentId, ShownLikes>> {
        let mut all = HashMap::with_capacity(posts.len());
        for &(moment, author) in posts {
            let (count, by_viewer) = self
                .0
                .prepare_cached(concat!(
                    "SELECT COUNT(*), EXISTS (SELECT 1 FROM moment_likes
                                              WHERE moment_id = ?1 AND account_id = ?2)
                     FROM moment_likes l WHERE l.moment_id = ?1 AND ",
                    like_shown!()
                ))
                .sql()?
                .query_row([moment.row(), viewer.row(), author.row()], |row| {
                    Ok((row.get::<_, u32>(0)?, row.get(1)?))
                })
                .sql()?;
            let likes = if count == 0 {
                Vec::new()
            } else {
                self.shown_likes(moment, viewer, author, shown_max)?
            };
            all.insert(
                moment,
                ShownLikes {
                    likes,
                    count,
                    by_viewer,
                },
            );
        }
        Ok(all)
    }

    fn moment_comments(&mut self, moments: &[MomentId]) -> Result<Vec<Comment>> {
        let sql = format!(
            "SELECT {COMMENT_COLUMNS} FROM moment_comments c JOIN accounts a ON a.id = c.account_id
             WHERE c.moment_id = ?1 ORDER BY c.id"
        );
        let mut statement = self.0.prepare_cached(&sql).sql()?;
        let mut comments = Vec::new();
        for moment in moments {
            let rows = statement.query_map([moment.row()], comment_of).sql()?;
            comments.extend(rows.collect::<rusqlite::Result<Vec<_>>>().sql()?);
        }
        Ok(comments)
    }

    fn moment_comment(
        &mut self,
        moment: MomentId,
        comment: MomentCommentId,
    ) -> Result<Option<Comment>> {
        let sql = format!(
            "SELECT {COMMENT_COLUMNS} FROM moment_comments c JOIN accounts a ON a.id = c.account_id
             WHERE c.moment_id = ?1 AND c.id = ?2"
        );
        let mut statement = self.0.prepare_cached(&sql).sql()?;
        let mut rows = statement
            .query_map([moment.row(), comment.row()], comment_of)
            .sql()?;
        rows.next().transpose().sql()
    }

    fn relations(&mut self, viewer: AccountId, accounts: &[AccountId]) -> Result<Vec<Relation>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM contacts WHERE account_id = ?1 AND contact_id = ?2),
                        EXISTS (SELECT 1 FROM blocks WHERE account_id = ?1 AND blocked_id = ?2)
                     OR EXISTS (SELECT 1 FROM blocks WHERE account_id = ?2 AND blocked_id = ?1)
                     OR EXISTS (SELECT 1 FROM accounts WHERE id = ?2 AND deleted_at IS NOT NULL)",
            )
            .sql()?;
        let mut relations = Vec::with_capacity(accounts.len());
        for account in accounts {
            let (contacts, blocked) = statement
                .query_row([viewer.row(), account.row()], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .sql()?;
            relations.push(Relation {
                account: *account,
                contacts,
                blocked,
            });
        }
        Ok(relations)
    }

    fn moments_showing(&mut self, media: MediaId) -> Result<Vec<MomentId>> {
        let mut statement = self
            .0
            .prepare_cached("SELECT moment_id FROM moment_media WHERE media_id = ?1")
            .sql()?;
        let rows = statement
            .query_map([media.row()], |row| Ok(MomentId::from_row(row.get(0)?)))
            .sql()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql()
    }

    fn moments_privacy(&mut self, account: AccountId) -> Result<MomentsPrivacy> {
        let days: i64 = self
            .0
            .prepare_cached("SELECT moments_horizon FROM accounts WHERE id = ?1")
            .sql()?
            .query_row([account.row()], |row| row.get(0))
            .sql()?;
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT list, other_id FROM moment_privacy WHERE account_id = ?1
                 ORDER BY list, other_id",
            )
            .sql()?;
        let rows = statement
            .query_map([account.row()], |row| {
                Ok((row.get::<_, i64>(0)?, AccountId::from_row(row.get(1)?)))
            })
            .sql()?;
        let mut privacy = MomentsPrivacy {
            horizon: Horizon::from_days(days),
            ..MomentsPrivacy::default()
        };
        for row in rows {
            match row.sql()? {
                (0, other) => privacy.hidden_from.push(other),
                (_, other) => privacy.not_shown.push(other),
            }
        }
        Ok(privacy)
    }
}

impl Writes for WriteCtx<'_> {
    fn insert_moment(
        &mut self,
        author: AccountId,
        moment: &NewMoment,
        at: Timestamp,
    ) -> Result<MomentId> {
        self.conn
            .prepare_cached(
                "INSERT INTO moments (author_id, text, location, visibility, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .sql()?
            .execute(params![
                author.row(),
                moment.text.as_str(),
                stored::location_text(moment.location.as_ref()),
                stored::visibility_code(moment.visibility.kind()),
                at.unix_ms()
            ])
            .sql()?;
        let id = MomentId::from_row(self.conn.last_insert_rowid());
        let mut media = self
            .conn
            .prepare_cached(
                "INSERT INTO moment_media (moment_id, position, media_id) VALUES (?1, ?2, ?3)",
            )
            .sql()?;
        for (position, media_id) in moment.media.iter().enumerate() {
            media
                .execute(params![id.row(), position as i64, media_id.row()])
                .sql()?;
        }
        let mut audience = self
            .conn
            .prepare_cached("INSERT INTO moment_audience (moment_id, account_id) VALUES (?1, ?2)")
            .sql()?;
        for account in moment.visibility.accounts() {
            audience.execute([id.row(), account.row()]).sql()?;
        }
        Ok(id)
    }

    fn deliver_moment(
        &mut self,
        moment: MomentId,
        author: AccountId,
        to_contacts: bool,
    ) -> Result<()> {
        self.conn
            .prepare_cached("INSERT INTO moment_inbox (owner_id, moment_id) VALUES (?1, ?2)")
            .sql()?
            .execute([author.row(), moment.row()])
            .sql()?;
        if to_contacts {
            self.conn
                .prepare_cached(
                    "INSERT INTO moment_inbox (owner_id, moment_id)
                     SELECT contact_id, ?2 FROM contacts WHERE account_id = ?1",
                )
                .sql()?
                .execute([author.row(), moment.row()])
                .sql()?;
        }
        Ok(())
    }

    fn moments_privacy_for_update(&mut self, account: AccountId) -> Result<MomentsPrivacy> {
        self.db.moments_privacy(account)
    }

    fn moment_author_for_update(&mut self, moment: MomentId) -> Result<Option<AccountId>> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT author_id FROM moments WHERE id = ?1")
            .sql()?;
        let mut rows = statement
            .query_map([moment.row()], |row| Ok(AccountId::from_row(row.get(0)?)))
            .sql()?;
        rows.next().transpose().sql()
    }

    fn delete_moment(&mut self, moment: MomentId, author: AccountId) -> Result<()> {
        for sql in [
            "DELETE FROM moment_media WHERE moment_id = ?1",
            "DELETE FROM moment_audience WHERE moment_id = ?1",
            "DELETE FROM moment_likes WHERE moment_id = ?1",
            "DELETE FROM moment_comments WHERE moment_id = ?1",
        ] {
            self.conn
                .prepare_cached(sql)
                .sql()?
                .execute([moment.row()])
                .sql()?;
        }
        self.conn
            .prepare_cached(
                "DELETE FROM moment_inbox WHERE moment_id = ?1 AND (owner_id = ?2 OR owner_id IN
                     (SELECT contact_id FROM contacts WHERE account_id = ?2))",
            )
            .sql()?
            .execute([moment.row(), author.row()])
            .sql()?;
        self.conn
            .prepare_cached("DELETE FROM moments WHERE id = ?1")
            .sql()?
            .execute([moment.row()])
            .sql()?;
        Ok(())
    }

    fn insert_moment_like(
        &mut self,
        moment: MomentId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO moment_likes (moment_id, account_id, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
            )
            .sql()?
            .execute(params![moment.row(), account.row(), at.unix_ms()])
            .sql()?;
        Ok(inserted == 1)
    }

    fn delete_moment_like(&mut self, moment: MomentId, account: AccountId) -> Result<bool> {
        let deleted = self
            .conn
            .prepare_cached("DELETE FROM moment_likes WHERE moment_id = ?1 AND account_id = ?2")
            .sql()?
            .execute([moment.row(), account.row()])
            .sql()?;
        Ok(deleted == 1)
    }

    fn comment_count(&mut self, moment: MomentId) -> Result<usize> {
        let count: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM moment_comments WHERE moment_id = ?1")
            .sql()?
            .query_row([moment.row()], |row| row.get(0))
            .sql()?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    fn insert_moment_comment(
        &mut self,
        comment: &NewComment,
        at: Timestamp,
    ) -> Result<MomentCommentId> {
        self.conn
            .prepare_cached(
                "INSERT INTO moment_comments
                     (moment_id, account_id, text, reply_to, reply_to_account, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .sql()?
            .execute(params![
                comment.moment_id.row(),
                comment.account.row(),
                comment.text.as_str(),
                comment.reply_to.map(MomentCommentId::row),
                comment.reply_to_account.map(AccountId::row),
                at.unix_ms()
            ])
            .sql()?;
        Ok(MomentCommentId::from_row(self.conn.last_insert_rowid()))
    }

    fn delete_comment(&mut self, comment: MomentCommentId) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM moment_comments WHERE id = ?1")
            .sql()?
            .execute([comment.row()])
            .sql()?;
        Ok(())
    }

    fn set_moments_horizon(&mut self, account: AccountId, horizon: Horizon) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE accounts SET moments_horizon = ?1 WHERE id = ?2")
            .sql()?
            .execute([i64::from(horizon.days()), account.row()])
            .sql()?;
        Ok(())
    }

    fn set_privacy_list(
        &mut self,
        account: AccountId,
        list: PrivacyList,
        accounts: &[AccountId],
    ) -> Result<()> {
        let code = stored::list_code(list);
        self.conn
            .prepare_cached("DELETE FROM moment_privacy WHERE account_id = ?1 AND list = ?2")
            .sql()?
            .execute([account.row(), code])
            .sql()?;
        let mut insert = self
            .conn
            .prepare_cached(
                "INSERT INTO moment_privacy (account_id, list, other_id) VALUES (?1, ?2, ?3)",
            )
            .sql()?;
        for other in accounts {
            insert.execute([account.row(), code, other.row()]).sql()?;
        }
        Ok(())
    }
}
