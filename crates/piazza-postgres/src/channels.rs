//! Channels: the SQL behind `piazza_core::channels`. None of it is on the
//! batch's fast path: every statement runs the job direct (`conn.rs`).
//!
//! Locking: a create or a follow counts the account's channels or follows
//! under the account's row (`FOR NO KEY UPDATE`, as its log entries lock
//! it), so two at once cannot both pass the cap; counters move by
//! `UPDATE … SET n = n + 1` under the row's own lock, and a follow or
//! like row is inserted `ON CONFLICT DO NOTHING`, the counter moving only
//! when one was inserted. A fan-out task is taken `FOR UPDATE SKIP
//! LOCKED`, so two writers (or processes) work on different tasks, and
//! its chunk's log heads are locked in one statement, in id order
//! (`Tx::append_to_all`), before the appends.

use piazza_core::Result;
use piazza_core::channels::{
    Article, Channel, Comment, CommentsShown, FEED_EXCERPT_CHARS, FanoutTask, FeedItem, NewArticle,
    NewChannel, Reads, Writes,
};
use piazza_domain::channel::{CommentText, Handle};
use piazza_domain::{AccountId, ArticleId, ChannelId, CommentId, MediaId, Timestamp};
use postgres::Row;

use crate::{Db, PgTx};

macro_rules! channel_columns {
    () => {
        "id, handle, name, description, avatar_media_id, owner_id, created_at, follower_count, \
         article_count"
    };
}

macro_rules! article_columns {
    () => {
        "id, channel_id, author_id, title, body_markdown, cover_media_id, published_at, \
         read_count, like_count"
    };
}

macro_rules! comment_columns {
    () => {
        "id, article_id, author_id, text, created_at, featured_at"
    };
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn channel_of(row: &Row) -> Channel {
    Channel {
        channel_id: ChannelId::from_row(row.get(0)),
        handle: Handle::from_store(row.get(1)),
        name: row.get(2),
        description: row.get(3),
        avatar: row.get::<_, Option<i64>>(4).map(MediaId::from_row),
        owner: AccountId::from_row(row.get(5)),
        created_at: Timestamp::from_unix_ms(row.get(6)),
        follower_count: count(row.get(7)),
        article_count: count(row.get(8)),
    }
}

fn article_of(row: &Row) -> Article {
    Article {
        article_id: ArticleId::from_row(row.get(0)),
        channel_id: ChannelId::from_row(row.get(1)),
        author: AccountId::from_row(row.get(2)),
        title: row.get(3),
        body_markdown: row.get(4),
        cover: row.get::<_, Option<i64>>(5).map(MediaId::from_row),
        published_at: Timestamp::from_unix_ms(row.get(6)),
        read_count: count(row.get(7)),
        like_count: count(row.get(8)),
    }
}

fn comment_of(row: &Row) -> Comment {
    Comment {
        comment_id: CommentId::from_row(row.get(0)),
        article_id: ArticleId::from_row(row.get(1)),
        author: AccountId::from_row(row.get(2)),
        text: row.get(3),
        created_at: Timestamp::from_unix_ms(row.get(4)),
        featured_at: row.get::<_, Option<i64>>(5).map(Timestamp::from_unix_ms),
    }
}

fn feed_item_of(row: &Row) -> FeedItem {
    FeedItem {
        article_id: ArticleId::from_row(row.get(0)),
        channel_id: ChannelId::from_row(row.get(1)),
        handle: Handle::from_store(row.get(2)),
        channel_name: row.get(3),
        channel_avatar: row.get::<_, Option<i64>>(4).map(MediaId::from_row),
        title: row.get(5),
        excerpt: row.get(6),
        cover: row.get::<_, Option<i64>>(7).map(MediaId::from_row),
        published_at: Timestamp::from_unix_ms(row.get(8)),
        read_count: count(row.get(9)),
        like_count: count(row.get(10)),
        read: row.get(11),
    }
}

/// `needle` as a LIKE pattern that matches it anywhere, literally.
pub(crate) fn like_pattern(needle: &str) -> String {
    let escaped = needle
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

pub(crate) fn len(value: i64) -> usize {
    usize::try_from(value).unwrap_or(0)
}

impl Reads for Db<'_> {
    fn channel(&mut self, channel: ChannelId) -> Result<Option<Channel>> {
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                channel_columns!(),
                " FROM channels WHERE id = $1"
            ),
            &[&channel.row()],
        )?;
        Ok(row.as_ref().map(channel_of))
    }

    fn channel_by_handle(&mut self, handle: &Handle) -> Result<Option<Channel>> {
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                channel_columns!(),
                " FROM channels WHERE handle = $1"
            ),
            &[&handle.as_str()],
        )?;
        Ok(row.as_ref().map(channel_of))
    }

    fn owned_channels(&mut self, owner: AccountId) -> Result<Vec<Channel>> {
        let rows = self.0.query(
            concat!(
                "SELECT ",
                channel_columns!(),
                " FROM channels WHERE owner_id = $1 ORDER BY id"
            ),
            &[&owner.row()],
        )?;
        Ok(rows.iter().map(channel_of).collect())
    }

    fn find_channels(&mut self, needle: &str, limit: usize) -> Result<Vec<Channel>> {
        let rows = self.0.query(
            concat!(
                "SELECT ",
                channel_columns!(),
                // SQLite's lower() folds ASCII letters only; so does this.
                " FROM channels WHERE handle LIKE $1
                     OR translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
                        LIKE $1
                 ORDER BY follower_count DESC, id LIMIT $2"
            ),
            &[&like_pattern(needle), &(limit as i64)],
        )?;
        Ok(rows.iter().map(channel_of).collect())
    }

    fn is_editor(&mut self, channel: ChannelId, account: AccountId) -> Result<bool> {
        let row = self.0.query_opt(
            "SELECT 1 FROM channel_editors WHERE channel_id = $1 AND account_id = $2",
            &[&channel.row(), &account.row()],
        )?;
        Ok(row.is_some())
    }

    fn editors(&mut self, channel: ChannelId) -> Result<Vec<AccountId>> {
        let rows = self.0.query(
            "SELECT account_id FROM channel_editors WHERE channel_id = $1
             ORDER BY added_at, account_id",
            &[&channel.row()],
        )?;
        Ok(rows
            .iter()
            .map(|row| AccountId::from_row(row.get(0)))
            .collect())
    }

    fn follows(&mut self, channel: ChannelId, account: AccountId) -> Result<bool> {
        let row = self.0.query_opt(
            "SELECT 1 FROM channel_follows WHERE channel_id = $1 AND account_id = $2",
            &[&channel.row(), &account.row()],
        )?;
        Ok(row.is_some())
    }

    fn article(&mut self, article: ArticleId) -> Result<Option<Article>> {
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                article_columns!(),
                " FROM articles WHERE id = $1"
            ),
            &[&article.row()],
        )?;
        Ok(row.as_ref().map(article_of))
    }

    fn channel_articles(
        &mut self,
        channel: ChannelId,
        before: Option<ArticleId>,
        limit: usize,
    ) -> Result<Vec<Article>> {
        let rows = self.0.query(
            concat!(
                "SELECT ",
                article_columns!(),
                " FROM articles WHERE channel_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
            ),
            &[
                &channel.row(),
                &before.map_or(i64::MAX, ArticleId::row),
                &(limit as i64),
            ],
        )?;
        Ok(rows.iter().map(article_of).collect())
    }

    fn subscriptions_feed(
        &mut self,
        account: AccountId,
        before: Option<ArticleId>,
        limit: usize,
    ) -> Result<Vec<FeedItem>> {
        // The page's ids first, each followed channel giving at most
        // `limit` below the cursor from its (channel_id, id) index, so a
        // channel's long history is never walked; then their rows.
        let rows = self.0.query(
            "WITH page AS (
                 SELECT a.id FROM channel_follows f
                 CROSS JOIN LATERAL (
                     SELECT id FROM articles WHERE channel_id = f.channel_id AND id < $2
                     ORDER BY id DESC LIMIT $3) a
                 WHERE f.account_id = $1 ORDER BY a.id DESC LIMIT $3)
             SELECT a.id, a.channel_id, c.handle, c.name, c.avatar_media_id, a.title,
                    left(a.body_markdown, $4), a.cover_media_id, a.published_at,
                    a.read_count, a.like_count,
                    EXISTS (SELECT 1 FROM article_reads r
                            WHERE r.article_id = a.id AND r.account_id = $1)
             FROM page JOIN articles a ON a.id = page.id JOIN channels c ON c.id = a.channel_id
             ORDER BY a.id DESC",
            &[
                &account.row(),
                &before.map_or(i64::MAX, ArticleId::row),
                &(limit as i64),
                &(FEED_EXCERPT_CHARS as i32),
            ],
        )?;
        Ok(rows.iter().map(feed_item_of).collect())
    }

    fn has_read(&mut self, article: ArticleId, account: AccountId) -> Result<bool> {
        let row = self.0.query_opt(
            "SELECT 1 FROM article_reads WHERE article_id = $1 AND account_id = $2",
            &[&article.row(), &account.row()],
        )?;
        Ok(row.is_some())
    }

    fn has_liked(&mut self, article: ArticleId, account: AccountId) -> Result<bool> {
        let row = self.0.query_opt(
            "SELECT 1 FROM article_likes WHERE article_id = $1 AND account_id = $2",
            &[&article.row(), &account.row()],
        )?;
        Ok(row.is_some())
    }

    fn comments(
        &mut self,
        article: ArticleId,
        shown: CommentsShown,
        before: Option<CommentId>,
        limit: usize,
    ) -> Result<Vec<Comment>> {
        let filter = shown.filter();
        let rows = self.0.query(
            concat!(
                "SELECT ",
                comment_columns!(),
                " FROM article_comments
                 WHERE article_id = $1 AND id < $2
                   AND ($3 OR featured_at IS NOT NULL OR author_id = $4)
                   AND ($5::BOOLEAN IS NULL OR $5 = (featured_at IS NOT NULL))
                 ORDER BY id DESC LIMIT $6"
            ),
            &[
                &article.row(),
                &before.map_or(i64::MAX, CommentId::row),
                &filter.every,
                // -1 names nobody.
                &filter.author.map_or(-1, AccountId::row),
                &filter.featured,
                &(limit as i64),
            ],
        )?;
        Ok(rows.iter().map(comment_of).collect())
    }

    fn comment(&mut self, comment: CommentId) -> Result<Option<Comment>> {
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                comment_columns!(),
                " FROM article_comments WHERE id = $1"
            ),
            &[&comment.row()],
        )?;
        Ok(row.as_ref().map(comment_of))
    }

    fn is_channel_media(&mut self, media: MediaId) -> Result<bool> {
        let row = self.0.query_one(
            "SELECT EXISTS (SELECT 1 FROM channels WHERE avatar_media_id = $1)
                 OR EXISTS (SELECT 1 FROM articles WHERE cover_media_id = $1)",
            &[&media.row()],
        )?;
        Ok(row.get(0))
    }

    fn followers_after(
        &mut self,
        channel: ChannelId,
        after: Option<AccountId>,
        limit: usize,
    ) -> Result<Vec<AccountId>> {
        let rows = self.0.query(
            "SELECT account_id FROM channel_follows WHERE channel_id = $1 AND account_id > $2
             ORDER BY account_id LIMIT $3",
            &[
                &channel.row(),
                &after.map_or(0, AccountId::row),
                &(limit as i64),
            ],
        )?;
        Ok(rows
            .iter()
            .map(|row| AccountId::from_row(row.get(0)))
            .collect())
    }
}

impl Writes for PgTx<'_> {
    fn owned_channels_for_update(&mut self, owner: AccountId) -> Result<usize> {
        self.conn().query_opt(
            "SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE",
            &[&owner.row()],
        )?;
        let row = self.conn().query_one(
            "SELECT COUNT(*) FROM channels WHERE owner_id = $1",
            &[&owner.row()],
        )?;
        Ok(len(row.get(0)))
    }

    fn follows_for_update(&mut self, account: AccountId) -> Result<usize> {
        self.conn().query_opt(
            "SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE",
            &[&account.row()],
        )?;
        let row = self.conn().query_one(
            "SELECT COUNT(*) FROM channel_follows WHERE account_id = $1",
            &[&account.row()],
        )?;
        Ok(len(row.get(0)))
    }

    fn comments_by_for_update(&mut self, article: ArticleId, author: AccountId) -> Result<usize> {
        self.conn().query_opt(
            "SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE",
            &[&author.row()],
        )?;
        let row = self.conn().query_one(
            "SELECT COUNT(*) FROM article_comments WHERE article_id = $1 AND author_id = $2",
            &[&article.row(), &author.row()],
        )?;
        Ok(len(row.get(0)))
    }

    fn insert_channel(
        &mut self,
        owner: AccountId,
        channel: &NewChannel,
        at: Timestamp,
    ) -> Result<Option<ChannelId>> {
        let row = self.conn().query_opt(
            "INSERT INTO channels (handle, name, description, avatar_media_id, owner_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (handle) DO NOTHING RETURNING id",
            &[
                &channel.handle.as_str(),
                &channel.name.as_str(),
                &channel.description.as_str(),
                &channel.avatar.map(MediaId::row),
                &owner.row(),
                &at.unix_ms(),
            ],
        )?;
        Ok(row.map(|row| ChannelId::from_row(row.get(0))))
    }

    fn insert_follow(
        &mut self,
        channel: ChannelId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self.conn().execute(
            "INSERT INTO channel_follows (channel_id, account_id, followed_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&channel.row(), &account.row(), &at.unix_ms()],
        )?;
        Ok(inserted == 1)
    }

    fn delete_follow(&mut self, channel: ChannelId, account: AccountId) -> Result<bool> {
        let deleted = self.conn().execute(
            "DELETE FROM channel_follows WHERE channel_id = $1 AND account_id = $2",
            &[&channel.row(), &account.row()],
        )?;
        Ok(deleted == 1)
    }

    fn add_followers(&mut self, channel: ChannelId, delta: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE channels SET follower_count = follower_count + $2 WHERE id = $1",
            &[&channel.row(), &delta],
        )?;
        Ok(())
    }

    fn insert_editor(
        &mut self,
        channel: ChannelId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self.conn().execute(
            "INSERT INTO channel_editors (channel_id, account_id, added_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&channel.row(), &account.row(), &at.unix_ms()],
        )?;
        Ok(inserted == 1)
    }

    fn delete_editor(&mut self, channel: ChannelId, account: AccountId) -> Result<bool> {
        let deleted = self.conn().execute(
            "DELETE FROM channel_editors WHERE channel_id = $1 AND account_id = $2",
            &[&channel.row(), &account.row()],
        )?;
        Ok(deleted == 1)
    }

    fn insert_article(
        &mut self,
        channel: ChannelId,
        author: AccountId,
        article: &NewArticle,
        at: Timestamp,
    ) -> Result<ArticleId> {
        let row = self.conn().query_one(
            "WITH counted AS (
                 UPDATE channels SET article_count = article_count + 1 WHERE id = $1)
             INSERT INTO articles (channel_id, author_id, title, body_markdown, cover_media_id,
                                   published_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &channel.row(),
                &author.row(),
                &article.title.as_str(),
                &article.body.as_str(),
                &article.cover.map(MediaId::row),
                &at.unix_ms(),
            ],
        )?;
        Ok(ArticleId::from_row(row.get(0)))
    }

    fn insert_fanout(
        &mut self,
        article: ArticleId,
        channel: ChannelId,
        at: Timestamp,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO channel_fanouts (article_id, channel_id, created_at, turn)
             VALUES ($1, $2, $3, (SELECT COALESCE(MAX(turn), 0) + 1 FROM channel_fanouts))",
            &[&article.row(), &channel.row(), &at.unix_ms()],
        )?;
        Ok(())
    }

    fn next_fanout_for_update(&mut self) -> Result<Option<FanoutTask>> {
        let row = self.conn().query_opt(
            "SELECT article_id, channel_id, after_id FROM channel_fanouts
             ORDER BY turn, article_id LIMIT 1 FOR UPDATE SKIP LOCKED",
            &[],
        )?;
        Ok(row.map(|row| FanoutTask {
            article: ArticleId::from_row(row.get(0)),
            channel: ChannelId::from_row(row.get(1)),
            after: row.get::<_, Option<i64>>(2).map(AccountId::from_row),
        }))
    }

    fn advance_fanout(&mut self, article: ArticleId, after: AccountId) -> Result<()> {
        self.conn().execute(
            "UPDATE channel_fanouts
             SET after_id = $2, turn = (SELECT MAX(turn) + 1 FROM channel_fanouts)
             WHERE article_id = $1",
            &[&article.row(), &after.row()],
        )?;
        Ok(())
    }

    fn delete_fanout(&mut self, article: ArticleId) -> Result<()> {
        self.conn().execute(
            "DELETE FROM channel_fanouts WHERE article_id = $1",
            &[&article.row()],
        )?;
        Ok(())
    }

    fn insert_read(
        &mut self,
        article: ArticleId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self.conn().execute(
            "INSERT INTO article_reads (article_id, account_id, read_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&article.row(), &account.row(), &at.unix_ms()],
        )?;
        Ok(inserted == 1)
    }

    fn add_reads(&mut self, article: ArticleId, delta: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE articles SET read_count = read_count + $2 WHERE id = $1",
            &[&article.row(), &delta],
        )?;
        Ok(())
    }

    fn insert_like(
        &mut self,
        article: ArticleId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self.conn().execute(
            "INSERT INTO article_likes (article_id, account_id, liked_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&article.row(), &account.row(), &at.unix_ms()],
        )?;
        Ok(inserted == 1)
    }

    fn delete_like(&mut self, article: ArticleId, account: AccountId) -> Result<bool> {
        let deleted = self.conn().execute(
            "DELETE FROM article_likes WHERE article_id = $1 AND account_id = $2",
            &[&article.row(), &account.row()],
        )?;
        Ok(deleted == 1)
    }

    fn add_likes(&mut self, article: ArticleId, delta: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE articles SET like_count = like_count + $2 WHERE id = $1",
            &[&article.row(), &delta],
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
        let row = self.conn().query_one(
            "INSERT INTO article_comments (article_id, author_id, text, created_at, featured_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &article.row(),
                &author.row(),
                &text.as_str(),
                &at.unix_ms(),
                &featured.then_some(at.unix_ms()),
            ],
        )?;
        Ok(CommentId::from_row(row.get(0)))
    }

    fn set_featured(&mut self, comment: CommentId, at: Option<Timestamp>) -> Result<()> {
        self.conn().execute(
            "UPDATE article_comments SET featured_at = $2 WHERE id = $1",
            &[&comment.row(), &at.map(Timestamp::unix_ms)],
        )?;
        Ok(())
    }
}
