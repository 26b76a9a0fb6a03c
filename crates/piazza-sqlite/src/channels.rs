//! Channels: the SQL behind `piazza_core::channels`. SQLite's one writer
//! makes every read of a write job stand until it commits, so the
//! `…_for_update` reads lock nothing, and a fan-out task is never worked
//! on by two transactions at once.

use piazza_core::Result;
use piazza_core::channels::{
    Article, Channel, Comment, CommentsShown, FEED_EXCERPT_CHARS, FanoutTask, FeedItem, NewArticle,
    NewChannel, Reads, Writes,
};
use piazza_domain::channel::{CommentText, Handle};
use piazza_domain::{AccountId, ArticleId, ChannelId, CommentId, MediaId, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::engine::{Db, Sql};
use crate::writer::WriteCtx;

const CHANNEL_COLUMNS: &str = "id, handle, name, description, avatar_media_id, owner_id, \
     created_at, follower_count, article_count";
const ARTICLE_COLUMNS: &str = "id, channel_id, author_id, title, body_markdown, \
     cover_media_id, published_at, read_count, like_count";
const COMMENT_COLUMNS: &str = "id, article_id, author_id, text, created_at, featured_at";

fn channel_of(row: &Row<'_>) -> rusqlite::Result<Channel> {
    Ok(Channel {
        channel_id: ChannelId::from_row(row.get(0)?),
        handle: Handle::from_store(row.get(1)?),
        name: row.get(2)?,
        description: row.get(3)?,
        avatar: row.get::<_, Option<i64>>(4)?.map(MediaId::from_row),
        owner: AccountId::from_row(row.get(5)?),
        created_at: Timestamp::from_unix_ms(row.get(6)?),
        follower_count: row.get::<_, i64>(7)?.max(0) as u64,
        article_count: row.get::<_, i64>(8)?.max(0) as u64,
    })
}

fn article_of(row: &Row<'_>) -> rusqlite::Result<Article> {
    Ok(Article {
        article_id: ArticleId::from_row(row.get(0)?),
        channel_id: ChannelId::from_row(row.get(1)?),
        author: AccountId::from_row(row.get(2)?),
        title: row.get(3)?,
        body_markdown: row.get(4)?,
        cover: row.get::<_, Option<i64>>(5)?.map(MediaId::from_row),
        published_at: Timestamp::from_unix_ms(row.get(6)?),
        read_count: row.get::<_, i64>(7)?.max(0) as u64,
        like_count: row.get::<_, i64>(8)?.max(0) as u64,
    })
}

fn comment_of(row: &Row<'_>) -> rusqlite::Result<Comment> {
    Ok(Comment {
        comment_id: CommentId::from_row(row.get(0)?),
        article_id: ArticleId::from_row(row.get(1)?),
        author: AccountId::from_row(row.get(2)?),
        text: row.get(3)?,
        created_at: Timestamp::from_unix_ms(row.get(4)?),
        featured_at: row.get::<_, Option<i64>>(5)?.map(Timestamp::from_unix_ms),
    })
}

fn one_channel(conn: &Connection, sql: &str, key: &dyn rusqlite::ToSql) -> Result<Option<Channel>> {
    conn.prepare_cached(sql)
        .sql()?
        .query_row([key], channel_of)
        .optional()
        .sql()
}

pub(crate) fn exists(conn: &Connection, sql: &str, one: i64, other: i64) -> Result<bool> {
    conn.prepare_cached(sql)
        .sql()?
        .query_row([one, other], |_| Ok(()))
        .optional()
        .sql()
        .map(|found| found.is_some())
}

pub(crate) fn count(conn: &Connection, sql: &str, key: i64) -> Result<usize> {
    let found: i64 = conn
        .prepare_cached(sql)
        .sql()?
        .query_row([key], |row| row.get(0))
        .sql()?;
    Ok(usize::try_from(found).unwrap_or(0))
}

pub(crate) fn changed(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<bool> {
    Ok(conn.prepare_cached(sql).sql()?.execute(params).sql()? == 1)
}

/// `needle` as a LIKE pattern that matches it anywhere, literally.
pub(crate) fn like_pattern(needle: &str) -> String {
    let escaped = needle
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Reads for Db<'_> {
    fn channel(&mut self, channel: ChannelId) -> Result<Option<Channel>> {
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = ?1");
        one_channel(self.0, &sql, &channel.row())
    }

    fn channel_by_handle(&mut self, handle: &Handle) -> Result<Option<Channel>> {
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE handle = ?1");
        one_channel(self.0, &sql, &handle.as_str())
    }

    fn find_channels(&mut self, needle: &str, limit: usize) -> Result<Vec<Channel>> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels
             WHERE handle LIKE ?1 ESCAPE '\\' OR lower(name) LIKE ?1 ESCAPE '\\'
             ORDER BY follower_count DESC, id LIMIT ?2"
        );
        let mut statement = self.0.prepare_cached(&sql).sql()?;
        let rows = statement
            .query_map(params![like_pattern(needle), limit as i64], channel_of)
            .sql()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql()
    }

    fn owned_channels(&mut self, owner: AccountId) -> Result<Vec<Channel>> {
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE owner_id = ?1 ORDER BY id");
        let mut statement = self.0.prepare_cached(&sql).sql()?;
        let rows = statement.query_map([owner.row()], channel_of).sql()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql()
    }

    fn is_editor(&mut self, channel: ChannelId, account: AccountId) -> Result<bool> {
        exists(
            self.0,
            "SELECT 1 FROM channel_editors WHERE channel_id = ?1 AND account_id = ?2",
            channel.row(),
            account.row(),
        )
    }

    fn editors(&mut self, channel: ChannelId) -> Result<Vec<AccountId>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT account_id FROM channel_editors WHERE channel_id = ?1
                 ORDER BY added_at, account_id",
            )
            .sql()?;
        let rows = statement
            .query_map([channel.row()], |row| Ok(AccountId::from_row(row.get(0)?)))
            .sql()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql()
    }

    fn follows(&mut self, channel: ChannelId, account: AccountId) -> Result<bool> {
        exists(
            self.0,
            "SELECT 1 FROM channel_follows WHERE channel_id = ?1 AND account_id = ?2",
            channel.row(),
            account.row(),
        )
    }

    fn article(&mut self, article: ArticleId) -> Result<Option<Article>> {
        let sql = format!("SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = ?1");
        self.0
            .prepare_cached(&sql)
            .sql()?
            .query_row([article.row()], article_of)
            .optional()
            .sql()
    }

    fn channel_articles(
        &mut self,
        channel: ChannelId,
        before: Option<ArticleId>,
        limit: usize,
    ) -> Result<Vec<Article>> {
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE channel_id = ?1 AND id < ?2
             ORDER BY id DESC LIMIT ?3"
        );
        let before = before.map_or(i64::MAX, ArticleId::row);
        let mut statement = self.0.prepare_cached(&sql).sql()?;
        let rows = statement
            .query_map(params![channel.row(), before, limit as i64], article_of)
            .sql()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql()
    }

    fn subscriptions_feed(
        &mut self,
        account: AccountId,
        before: Option<ArticleId>,
        limit: usize,
    ) -> Result<Vec<FeedItem>> {
        // The page's ids first, from the covering (channel_id, id) index:
        // each followed channel gives at most `limit` below the cursor, so
        // a channel's long history is never walked.
        let before = before.map_or(i64::MAX, ArticleId::row);
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT a.id FROM channel_follows f
                 JOIN articles a ON a.id IN (
                     SELECT id FROM articles WHERE channel_id = f.channel_id AND id < ?2
                     ORDER BY id DESC LIMIT ?3)
                 WHERE f.account_id = ?1 ORDER BY a.id DESC LIMIT ?3",
            )
            .sql()?;
        let ids = statement
            .query_map(params![account.row(), before, limit as i64], |row| {
                row.get::<_, i64>(0)
            })
            .sql()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .sql()?;
        ids.into_iter()
            .map(|id| feed_item(self.0, account, id))
            .collect()
    }

    fn has_read(&mut self, article: ArticleId, account: AccountId) -> Result<bool> {
        exists(
            self.0,
            "SELECT 1 FROM article_reads WHERE article_id = ?1 AND account_id = ?2",
            article.row(),
            account.row(),
        )
    }

    fn has_liked(&mut self, article: ArticleId, account: AccountId) -> Result<bool> {
        exists(
            self.0,
            "SELECT 1 FROM article_likes WHERE article_id = ?1 AND account_id = ?2",
            article.row(),
            account.row(),
        )
    }

    fn comments(
        &mut self,
        article: ArticleId,
        shown: CommentsShown,
        before: Option<CommentId>,
        limit: usize,
    ) -> Result<Vec<Comment>> {
        let filter = shown.filter();
        let sql = format!(
            "SELECT {COMMENT_COLUMNS} FROM article_comments
             WHERE article_id = ?1 AND id < ?2
               AND (?3 OR featured_at IS NOT NULL OR author_id = ?4)
               AND (?5 IS NULL OR ?5 = (featured_at IS NOT NULL))
             ORDER BY id DESC LIMIT ?6"
        );
        let mut statement = self.0.prepare_cached(&sql).sql()?;
        let rows = statement
            .query_map(
                params![
                    article.row(),
                    before.map_or(i64::MAX, CommentId::row),
                    filter.every,
                    // -1 names nobody.
                    filter.author.map_or(-1, AccountId::row),
                    filter.featured,
                    limit as i64
                ],
                comment_of,
            )
            .sql()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql()
    }

    fn comment(&mut self, comment: CommentId) -> Result<Option<Comment>> {
        let sql = format!("SELECT {COMMENT_COLUMNS} FROM article_comments WHERE id = ?1");
        self.0
            .prepare_cached(&sql)
            .sql()?
            .query_row([comment.row()], comment_of)
            .optional()
            .sql()
    }

    fn is_channel_media(&mut self, media: MediaId) -> Result<bool> {
        exists(
            self.0,
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM channels WHERE avatar_media_id = ?1)
                OR EXISTS (SELECT 1 FROM articles WHERE cover_media_id = ?2)",
            media.row(),
            media.row(),
        )
    }

    fn followers_after(
        &mut self,
        channel: ChannelId,
        after: Option<AccountId>,
        limit: usize,
    ) -> Result<Vec<AccountId>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT account_id FROM channel_follows WHERE channel_id = ?1 AND account_id > ?2
                 ORDER BY account_id LIMIT ?3",
            )
            .sql()?;
        let after = after.map_or(0, AccountId::row);
        let rows = statement
            .query_map(params![channel.row(), after, limit as i64], |row| {
                Ok(AccountId::from_row(row.get(0)?))
            })
            .sql()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql()
    }
}

/// One article of `viewer`'s feed, with its channel and whether `viewer`
/// read it.
fn feed_item(conn: &Connection, viewer: AccountId, article: i64) -> Result<FeedItem> {
    conn.prepare_cached(
        "SELECT a.id, a.channel_id, c.handle, c.name, c.avatar_media_id, a.title,
                substr(a.body_markdown, 1, ?3), a.cover_media_id, a.published_at,
                a.read_count, a.like_count,
                EXISTS (SELECT 1 FROM article_reads r WHERE r.article_id = a.id AND r.account_id = ?2)
         FROM articles a JOIN channels c ON c.id = a.channel_id WHERE a.id = ?1",
    )
    .sql()?
    .query_row(
        params![article, viewer.row(), FEED_EXCERPT_CHARS as i64],
        |row| {
            Ok(FeedItem {
                article_id: ArticleId::from_row(row.get(0)?),
                channel_id: ChannelId::from_row(row.get(1)?),
                handle: Handle::from_store(row.get(2)?),
                channel_name: row.get(3)?,
                channel_avatar: row.get::<_, Option<i64>>(4)?.map(MediaId::from_row),
                title: row.get(5)?,
                excerpt: row.get(6)?,
                cover: row.get::<_, Option<i64>>(7)?.map(MediaId::from_row),
                published_at: Timestamp::from_unix_ms(row.get(8)?),
                read_count: row.get::<_, i64>(9)?.max(0) as u64,
                like_count: row.get::<_, i64>(10)?.max(0) as u64,
                read: row.get(11)?,
            })
        },
    )
    .sql()
}

impl Writes for WriteCtx<'_> {
    fn owned_channels_for_update(&mut self, owner: AccountId) -> Result<usize> {
        count(
            self.conn,
            "SELECT COUNT(*) FROM channels WHERE owner_id = ?1",
            owner.row(),
        )
    }

    fn follows_for_update(&mut self, account: AccountId) -> Result<usize> {
        count(
            self.conn,
            "SELECT COUNT(*) FROM channel_follows WHERE account_id = ?1",
            account.row(),
        )
    }

    fn comments_by_for_update(&mut self, article: ArticleId, author: AccountId) -> Result<usize> {
        let found: i64 = self
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM article_comments WHERE article_id = ?1 AND author_id = ?2",
            )
            .sql()?
            .query_row([article.row(), author.row()], |row| row.get(0))
            .sql()?;
        Ok(usize::try_from(found).unwrap_or(0))
    }

    fn insert_channel(
        &mut self,
        owner: AccountId,
        channel: &NewChannel,
        at: Timestamp,
    ) -> Result<Option<ChannelId>> {
        let inserted = changed(
            self.conn,
            "INSERT INTO channels (handle, name, description, avatar_media_id, owner_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (handle) DO NOTHING",
            params![
                channel.handle.as_str(),
                channel.name.as_str(),
                channel.description.as_str(),
                channel.avatar.map(MediaId::row),
                owner.row(),
                at.unix_ms()
            ],
        )?;
        Ok(inserted.then(|| ChannelId::from_row(self.conn.last_insert_rowid())))
    }

    fn insert_follow(
        &mut self,
        channel: ChannelId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool> {
        changed(
            self.conn,
            "INSERT INTO channel_follows (channel_id, account_id, followed_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![channel.row(), account.row(), at.unix_ms()],
        )
    }

    fn delete_follow(&mut self, channel: ChannelId, account: AccountId) -> Result<bool> {
        changed(
            self.conn,
            "DELETE FROM channel_follows WHERE channel_id = ?1 AND account_id = ?2",
            params![channel.row(), account.row()],
        )
    }

    fn add_followers(&mut self, channel: ChannelId, delta: i64) -> Result<()> {
        changed(
            self.conn,
            "UPDATE channels SET follower_count = follower_count + ?2 WHERE id = ?1",
            params![channel.row(), delta],
        )?;
        Ok(())
    }

    fn insert_editor(
        &mut self,
        channel: ChannelId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool> {
        changed(
            self.conn,
            "INSERT INTO channel_editors (channel_id, account_id, added_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![channel.row(), account.row(), at.unix_ms()],
        )
    }

    fn delete_editor(&mut self, channel: ChannelId, account: AccountId) -> Result<bool> {
        changed(
            self.conn,
            "DELETE FROM channel_editors WHERE channel_id = ?1 AND account_id = ?2",
            params![channel.row(), account.row()],
        )
    }

    fn insert_article(
        &mut self,
        channel: ChannelId,
        author: AccountId,
        article: &NewArticle,
        at: Timestamp,
    ) -> Result<ArticleId> {
        changed(
            self.conn,
            "INSERT INTO articles (channel_id, author_id, title, body_markdown, cover_media_id,
                                   published_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                channel.row(),
                author.row(),
                article.title.as_str(),
                article.body.as_str(),
                article.cover.map(MediaId::row),
                at.unix_ms()
            ],
        )?;
        let id = ArticleId::from_row(self.conn.last_insert_rowid());
        changed(
            self.conn,
            "UPDATE channels SET article_count = article_count + 1 WHERE id = ?1",
            [channel.row()],
        )?;
        Ok(id)
    }

    fn insert_fanout(
        &mut self,
        article: ArticleId,
        channel: ChannelId,
        at: Timestamp,
    ) -> Result<()> {
        changed(
            self.conn,
            "INSERT INTO channel_fanouts (article_id, channel_id, created_at, turn)
             VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(turn), 0) + 1 FROM channel_fanouts))",
            params![article.row(), channel.row(), at.unix_ms()],
        )?;
        Ok(())
    }

    fn next_fanout_for_update(&mut self) -> Result<Option<FanoutTask>> {
        self.conn
            .prepare_cached(
                "SELECT article_id, channel_id, after_id FROM channel_fanouts
                 ORDER BY turn, article_id LIMIT 1",
            )
            .sql()?
            .query_row([], |row| {
                Ok(FanoutTask {
                    article: ArticleId::from_row(row.get(0)?),
                    channel: ChannelId::from_row(row.get(1)?),
                    after: row.get::<_, Option<i64>>(2)?.map(AccountId::from_row),
                })
            })
            .optional()
            .sql()
    }

    fn advance_fanout(&mut self, article: ArticleId, after: AccountId) -> Result<()> {
        changed(
            self.conn,
            "UPDATE channel_fanouts
             SET after_id = ?2, turn = (SELECT MAX(turn) + 1 FROM channel_fanouts)
             WHERE article_id = ?1",
            [article.row(), after.row()],
        )?;
        Ok(())
    }

    fn delete_fanout(&mut self, article: ArticleId) -> Result<()> {
        changed(
            self.conn,
            "DELETE FROM channel_fanouts WHERE article_id = ?1",
            [article.row()],
        )?;
        Ok(())
    }

    fn insert_read(
        &mut self,
        article: ArticleId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool> {
        changed(
            self.conn,
            "INSERT INTO article_reads (article_id, account_id, read_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![article.row(), account.row(), at.unix_ms()],
        )
    }

    fn add_reads(&mut self, article: ArticleId, delta: i64) -> Result<()> {
        changed(
            self.conn,
            "UPDATE articles SET read_count = read_count + ?2 WHERE id = ?1",
            params![article.row(), delta],
        )?;
        Ok(())
    }

    fn insert_like(
        &mut self,
        article: ArticleId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool> {
        changed(
            self.conn,
            "INSERT INTO article_likes (article_id, account_id, liked_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![article.row(), account.row(), at.unix_ms()],
        )
    }

    fn delete_like(&mut self, article: ArticleId, account: AccountId) -> Result<bool> {
        changed(
            self.conn,
            "DELETE FROM article_likes WHERE article_id = ?1 AND account_id = ?2",
            params![article.row(), account.row()],
        )
    }

    fn add_likes(&mut self, article: ArticleId, delta: i64) -> Result<()> {
        changed(
            self.conn,
            "UPDATE articles SET like_count = like_count + ?2 WHERE id = ?1",
            params![article.row(), delta],
        )?;
        Ok(())
    }

    fn insert_comment(
        &mut self,
        article: ArticleId,
        author: AccountId,
        text: &CommentText,
        at: Timestamp,
        featured: bool,
    ) -> Result<CommentId> {
        changed(
            self.conn,
            "INSERT INTO article_comments (article_id, author_id, text, created_at, featured_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                article.row(),
                author.row(),
                text.as_str(),
                at.unix_ms(),
                featured.then_some(at.unix_ms())
            ],
        )?;
        Ok(CommentId::from_row(self.conn.last_insert_rowid()))
    }

    fn set_featured(&mut self, comment: CommentId, at: Option<Timestamp>) -> Result<()> {
        changed(
            self.conn,
            "UPDATE article_comments SET featured_at = ?2 WHERE id = ?1",
            params![comment.row(), at.map(Timestamp::unix_ms)],
        )?;
        Ok(())
    }
}
