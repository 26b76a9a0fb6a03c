//! Channels (official accounts): a channel an account owns, with a unique
//! handle, the editors the owner names, the accounts that follow it, the
//! articles its owner and editors publish, and what readers do with them
//! (read, like, comment).
//!
//! Who may do what:
//! - any signed-in account creates channels (up to
//!   [`channel::CHANNELS_PER_OWNER_MAX`]), follows and unfollows them
//!   (idempotent; up to [`channel::FOLLOWS_PER_ACCOUNT_MAX`]), finds them,
//!   reads, likes and comments on any article;
//! - the owner names and removes editors;
//! - the owner and editors publish, feature comments and see every
//!   comment; a reader sees the featured comments and its own.
//!
//! **Publishing costs the same whatever the followers.** A publish writes
//! the article and one fan-out task row, in one transaction, and answers.
//! The subscriptions feed is read from the articles of the channels one
//! follows (fan-out on read), so it has the article from then on. Each
//! follower's log learns of it (`article.published`, for every device,
//! live or by sync) from [`fan_out_step`], which the server runs in the
//! background: [`channel::FANOUT_CHUNK`] followers a transaction, in
//! account order, the task's cursor moved in the same transaction, so a
//! restart goes on where the last commit left off. See ARCHITECTURE.md,
//! "Channels: publishing to a million followers".

use piazza_domain::channel::{
    self, ArticleBody, ArticleTitle, ChannelDescription, ChannelName, CommentText, Handle,
};
use piazza_domain::event::Event;
use piazza_domain::media::MediaKind;
use piazza_domain::store::{Page, StoreResult};
use piazza_domain::{
    AccountId, ArticleId, ChannelId, CommentId, MediaId, Rejection, Timestamp, limits,
};

use crate::Core;
use crate::accounts::page;
use crate::engine::{Error, Read, Result, Tx};
use crate::media::{self, Reading, Served};
use crate::search::{
    self,
    documents::{DocKind, DocText},
};

/// A channel as stored, with its counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub channel_id: ChannelId,
    pub handle: Handle,
    pub name: String,
    pub description: String,
    pub avatar: Option<MediaId>,
    pub owner: AccountId,
    pub created_at: Timestamp,
    /// Kept on the channel's row by every follow and unfollow, so showing
    /// it counts nothing.
    pub follower_count: u64,
    pub article_count: u64,
}

/// What an account is to a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Editor,
    Reader,
}

impl Role {
    /// The owner and editors publish and feature comments.
    pub fn manages(self) -> bool {
        matches!(self, Role::Owner | Role::Editor)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Reader => "reader",
        }
    }
}

/// A channel as one account sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelView {
    pub channel: Channel,
    pub following: bool,
    pub role: Role,
    /// Its editors, shown to its owner and editors only (empty otherwise).
    pub editors: Vec<AccountId>,
}

/// A channel to create, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChannel {
    pub handle: Handle,
    pub name: ChannelName,
    pub description: ChannelDescription,
    pub avatar: Option<MediaId>,
}

/// An article as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    pub article_id: ArticleId,
    pub channel_id: ChannelId,
    pub author: AccountId,
    pub title: String,
    pub body_markdown: String,
    pub cover: Option<MediaId>,
    pub published_at: Timestamp,
    /// Accounts that opened it, each once.
    pub read_count: u64,
    pub like_count: u64,
}

/// An article to publish, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewArticle {
    pub title: ArticleTitle,
    pub body: ArticleBody,
    pub cover: Option<MediaId>,
}

/// A comment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub comment_id: CommentId,
    pub article_id: ArticleId,
    pub author: AccountId,
    pub text: String,
    pub created_at: Timestamp,
    /// When the owner or an editor featured it; held until then.
    pub featured_at: Option<Timestamp>,
}

/// Which comments of an article a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentsShown {
    /// Every one: the channel's owner and editors.
    All,
    /// The featured ones and `viewer`'s own.
    FeaturedAnd(AccountId),
    /// The featured ones: a public page.
    Featured,
    /// The held ones: the channel's owner and editors.
    Held,
    /// `viewer`'s own held ones.
    HeldOf(AccountId),
}

/// [`CommentsShown`] as an engine's query applies it: a comment is in
/// when it is featured, or `every` holds, or it is `author`'s; and, when
/// `featured` is given, its being featured is that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommentFilter {
    pub every: bool,
    pub author: Option<AccountId>,
    pub featured: Option<bool>,
}

impl CommentsShown {
    pub fn filter(self) -> CommentFilter {
        let (every, author, featured) = match self {
            CommentsShown::All => (true, None, None),
            CommentsShown::FeaturedAnd(viewer) => (false, Some(viewer), None),
            CommentsShown::Featured => (false, None, Some(true)),
            CommentsShown::Held => (true, None, Some(false)),
            CommentsShown::HeldOf(viewer) => (false, Some(viewer), Some(false)),
        };
        CommentFilter {
            every,
            author,
            featured,
        }
    }
}

/// Which comments a page of an article's comments asks for; each account
/// gets those of them it may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentStatus {
    All,
    Held,
    Featured,
}

impl CommentStatus {
    pub fn parse(text: &str) -> Option<CommentStatus> {
        match text {
            "all" => Some(CommentStatus::All),
            "held" => Some(CommentStatus::Held),
            "featured" => Some(CommentStatus::Featured),
            _ => None,
        }
    }
}

/// An article as one account sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleView {
    pub article: Article,
    pub channel: Channel,
    pub role: Role,
    pub liked: bool,
    /// Newest first, at most [`channel::COMMENTS_SHOWN_MAX`].
    pub comments: Vec<Comment>,
}

/// One article of the subscriptions feed: what a list shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedItem {
    pub article_id: ArticleId,
    pub channel_id: ChannelId,
    pub handle: Handle,
    pub channel_name: String,
    pub channel_avatar: Option<MediaId>,
    pub title: String,
    /// The body's first [`FEED_EXCERPT_CHARS`] characters, as written.
    pub excerpt: String,
    pub cover: Option<MediaId>,
    pub published_at: Timestamp,
    pub read_count: u64,
    pub like_count: u64,
    /// Whether the viewer has opened it.
    pub read: bool,
}

/// How much of an article's body a feed item carries.
pub const FEED_EXCERPT_CHARS: usize = 300;

/// A channel's article with what the public page of it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicArticle {
    pub channel: Channel,
    pub article: Article,
    pub comments: Vec<Comment>,
}

/// A fan-out still to finish: the followers of `channel` after `after`
/// (in account order) have not been told of `article` yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FanoutTask {
    pub article: ArticleId,
    pub channel: ChannelId,
    pub after: Option<AccountId>,
}

/// The queries of this area, as every engine answers them.
pub trait Reads {
    fn channel(&mut self, channel: ChannelId) -> Result<Option<Channel>>;
    fn channel_by_handle(&mut self, handle: &Handle) -> Result<Option<Channel>>;
    /// Channels whose handle or name holds `needle` (lowercase; ASCII
    /// case ignored in names), the most followed first (then by id); with
    /// an empty needle, the most followed.
    fn find_channels(&mut self, needle: &str, limit: usize) -> Result<Vec<Channel>>;
    /// The channels `owner` owns (at most `CHANNELS_PER_OWNER_MAX`), the
    /// oldest first.
    fn owned_channels(&mut self, owner: AccountId) -> Result<Vec<Channel>>;
    fn is_editor(&mut self, channel: ChannelId, account: AccountId) -> Result<bool>;
    /// Its editors, by when they were named.
    fn editors(&mut self, channel: ChannelId) -> Result<Vec<AccountId>>;
    fn follows(&mut self, channel: ChannelId, account: AccountId) -> Result<bool>;
    fn article(&mut self, article: ArticleId) -> Result<Option<Article>>;
    /// `channel`'s articles before `before` (all, without), newest first.
    fn channel_articles(
        &mut self,
        channel: ChannelId,
        before: Option<ArticleId>,
        limit: usize,
    ) -> Result<Vec<Article>>;
    /// Articles of the channels `account` follows, before `before`,
    /// newest first, each with whether `account` has read it.
    fn subscriptions_feed(
        &mut self,
        account: AccountId,
        before: Option<ArticleId>,
        limit: usize,
    ) -> Result<Vec<FeedItem>>;
    fn has_read(&mut self, article: ArticleId, account: AccountId) -> Result<bool>;
    fn has_liked(&mut self, article: ArticleId, account: AccountId) -> Result<bool>;
    /// Comments of `article` as `shown` says, below `before` (all,
    /// without), newest first, at most `limit`.
    fn comments(
        &mut self,
        article: ArticleId,
        shown: CommentsShown,
        before: Option<CommentId>,
        limit: usize,
    ) -> Result<Vec<Comment>>;
    fn comment(&mut self, comment: CommentId) -> Result<Option<Comment>>;
    /// Whether `media` is a channel's avatar or an article's cover: what a
    /// public page shows.
    fn is_channel_media(&mut self, media: MediaId) -> Result<bool>;
    /// Followers of `channel` after `after` (all, without), in account
    /// order, at most `limit`.
    fn followers_after(
        &mut self,
        channel: ChannelId,
        after: Option<AccountId>,
        limit: usize,
    ) -> Result<Vec<AccountId>>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    /// How many channels `owner` owns, read so that no concurrent create
    /// of the same owner counts meanwhile (PostgreSQL: the owner's
    /// account row locked).
    fn owned_channels_for_update(&mut self, owner: AccountId) -> Result<usize>;
    /// How many channels `account` follows, read as above.
    fn follows_for_update(&mut self, account: AccountId) -> Result<usize>;
    /// How many comments `author` left on `article`, read as above (the
    /// author's account row locked), so two comments at once cannot both
    /// pass the cap.
    fn comments_by_for_update(&mut self, article: ArticleId, author: AccountId) -> Result<usize>;
    /// A new channel; `None` when another channel has its handle.
    fn insert_channel(
        &mut self,
        owner: AccountId,
        channel: &NewChannel,
        at: Timestamp,
    ) -> Result<Option<ChannelId>>;
    /// `false` if `account` followed `channel` already.
    fn insert_follow(
        &mut self,
        channel: ChannelId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool>;
    /// `false` if `account` did not follow `channel`.
    fn delete_follow(&mut self, channel: ChannelId, account: AccountId) -> Result<bool>;
    /// Moves the channel's follower count by `delta`.
    fn add_followers(&mut self, channel: ChannelId, delta: i64) -> Result<()>;
    /// `false` if `account` was an editor already.
    fn insert_editor(
        &mut self,
        channel: ChannelId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool>;
    /// `false` if `account` was not an editor.
    fn delete_editor(&mut self, channel: ChannelId, account: AccountId) -> Result<bool>;
    /// A new article (its counters zero), and one more on its channel.
    fn insert_article(
        &mut self,
        channel: ChannelId,
        author: AccountId,
        article: &NewArticle,
        at: Timestamp,
    ) -> Result<ArticleId>;
    /// A fan-out task for `article`, from its channel's first follower,
    /// at the back of the turns.
    fn insert_fanout(
        &mut self,
        article: ArticleId,
        channel: ChannelId,
        at: Timestamp,
    ) -> Result<()>;
    /// The fan-out task least recently made or advanced (the lowest
    /// turn) that no other transaction is working on, locked until this
    /// one ends (PostgreSQL: `FOR UPDATE SKIP LOCKED`). Tasks so take
    /// turns: a long one does not hold back those published after it.
    fn next_fanout_for_update(&mut self) -> Result<Option<FanoutTask>>;
    /// The task of `article` has told every follower up to `after`; it
    /// goes to the back of the turns.
    fn advance_fanout(&mut self, article: ArticleId, after: AccountId) -> Result<()>;
    fn delete_fanout(&mut self, article: ArticleId) -> Result<()>;
    /// `false` if `account` had read `article` already.
    fn insert_read(
        &mut self,
        article: ArticleId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool>;
    fn add_reads(&mut self, article: ArticleId, delta: i64) -> Result<()>;
    /// `false` if `account` liked `article` already.
    fn insert_like(
        &mut self,
        article: ArticleId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool>;
    /// `false` if `account` did not like `article`.
    fn delete_like(&mut self, article: ArticleId, account: AccountId) -> Result<bool>;
    fn add_likes(&mut self, article: ArticleId, delta: i64) -> Result<()>;
    fn insert_comment(
        &mut self,
        article: ArticleId,
        author: AccountId,
        text: &CommentText,
        at: Timestamp,
        featured: bool,
    ) -> Result<CommentId>;
    /// Features `comment` at `at` (`None`: holds it again).
    fn set_featured(&mut self, comment: CommentId, at: Option<Timestamp>) -> Result<()>;
}

fn channel_of(read: &mut dyn Read, channel: ChannelId) -> Result<Channel> {
    Ok(read.channel(channel)?.ok_or(Rejection::ChannelNotFound)?)
}

fn article_of(read: &mut dyn Read, article: ArticleId) -> Result<Article> {
    Ok(read.article(article)?.ok_or(Rejection::ArticleNotFound)?)
}

/// What `account` is to `channel`.
pub fn role_of(read: &mut dyn Read, channel: &Channel, account: AccountId) -> Result<Role> {
    if channel.owner == account {
        return Ok(Role::Owner);
    }
    if read.is_editor(channel.channel_id, account)? {
        return Ok(Role::Editor);
    }
    Ok(Role::Reader)
}

/// `media` if `account` uploaded it and it is a picture (an avatar, a
/// cover); `MediaNotFound` for another's, as for an unknown id.
pub(crate) fn own_picture(
    read: &mut dyn Read,
    account: AccountId,
    media: MediaId,
    what: &'static str,
) -> Result<MediaId> {
    let found = media::own_media_row(read, account, media)?;
    if found.media_type.kind() != MediaKind::Picture {
        return Err(Rejection::MediaKindMismatch {
            kind: what,
            needs: "a picture",
        }
        .into());
    }
    Ok(media)
}

/// `owner` creates a channel; its handle must be no other channel's.
pub fn create_channel(tx: &mut dyn Tx, owner: AccountId, new: &NewChannel) -> Result<ChannelId> {
    if tx.owned_channels_for_update(owner)? >= channel::CHANNELS_PER_OWNER_MAX {
        return Err(Rejection::TooMany {
            what: "channels",
            max: channel::CHANNELS_PER_OWNER_MAX,
        }
        .into());
    }
    if let Some(avatar) = new.avatar {
        own_picture(tx.reads(), owner, avatar, "channel avatar")?;
    }
    let now = tx.now();
    let channel = tx
        .insert_channel(owner, new, now)?
        .ok_or(Rejection::HandleTaken)?;
    let text = DocText {
        title: new.name.as_str().to_owned(),
        body: new.description.as_str().to_owned(),
        also: new.handle.as_str().to_owned(),
    };
    search::documents::index(tx, DocKind::Channel, channel.row(), &text)?;
    Ok(channel)
}

/// `account` follows `channel`; following again changes nothing.
pub fn follow(tx: &mut dyn Tx, account: AccountId, channel: ChannelId) -> Result<()> {
    channel_of(tx.reads(), channel)?;
    if tx.reads().follows(channel, account)? {
        return Ok(());
    }
    if tx.follows_for_update(account)? >= channel::FOLLOWS_PER_ACCOUNT_MAX {
        return Err(Rejection::TooMany {
            what: "followed channels",
            max: channel::FOLLOWS_PER_ACCOUNT_MAX,
        }
        .into());
    }
    let now = tx.now();
    if tx.insert_follow(channel, account, now)? {
        tx.add_followers(channel, 1)?;
    }
    Ok(())
}

/// `account` stops following `channel`; not following changes nothing.
pub fn unfollow(tx: &mut dyn Tx, account: AccountId, channel: ChannelId) -> Result<()> {
    channel_of(tx.reads(), channel)?;
    if tx.delete_follow(channel, account)? {
        tx.add_followers(channel, -1)?;
    }
    Ok(())
}

/// Channels whose handle or name holds `query` (trimmed, any case of the
/// ASCII letters: both engines fold those alike, and only those).
pub fn find(read: &mut dyn Read, query: &str) -> Result<Vec<Channel>> {
    let needle: String = query
        .trim()
        .chars()
        .take(channel::CHANNEL_NAME_CHARS_MAX)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    read.find_channels(&needle, channel::SEARCH_RESULTS_MAX)
}

/// `channel` as `viewer` sees it.
pub fn channel_view(
    read: &mut dyn Read,
    viewer: AccountId,
    channel: ChannelId,
) -> Result<ChannelView> {
    let found = channel_of(read, channel)?;
    let role = role_of(read, &found, viewer)?;
    let editors = if role.manages() {
        read.editors(channel)?
    } else {
        Vec::new()
    };
    Ok(ChannelView {
        following: read.follows(channel, viewer)?,
        channel: found,
        role,
        editors,
    })
}

/// The owner names `editor` an editor of `channel` (`on`) or no longer.
/// Doing what is done already changes nothing. An editor is one of the
/// owner's contacts, with no block either way; anyone else is answered
/// `AccountNotFound`, exactly as an id no account has, so naming editors
/// tells the owner nothing of who exists.
pub fn set_editor(
    tx: &mut dyn Tx,
    actor: AccountId,
    channel: ChannelId,
    editor: AccountId,
    on: bool,
) -> Result<()> {
    let found = channel_of(tx.reads(), channel)?;
    if found.owner != actor {
        return Err(Rejection::NotChannelOwner.into());
    }
    if editor == actor {
        return Err(Rejection::SelfTarget.into());
    }
    if !on {
        tx.delete_editor(channel, editor)?;
        return Ok(());
    }
    crate::contacts::trusted_contact(tx.reads(), actor, editor)?;
    if tx.reads().is_editor(channel, editor)? {
        return Ok(());
    }
    if tx.reads().editors(channel)?.len() >= channel::EDITORS_PER_CHANNEL_MAX {
        return Err(Rejection::TooMany {
            what: "editors per channel",
            max: channel::EDITORS_PER_CHANNEL_MAX,
        }
        .into());
    }
    let now = tx.now();
    tx.insert_editor(channel, editor, now)?;
    Ok(())
}

/// The owner or an editor publishes an article: the article and its
/// fan-out task, nothing per follower. Answers the article and the
/// channel's handle (for its public page's address).
pub fn publish(
    tx: &mut dyn Tx,
    actor: AccountId,
    channel: ChannelId,
    article: &NewArticle,
) -> Result<(ArticleId, Handle)> {
    let found = channel_of(tx.reads(), channel)?;
    if !role_of(tx.reads(), &found, actor)?.manages() {
        return Err(Rejection::NotChannelEditor.into());
    }
    if let Some(cover) = article.cover {
        own_picture(tx.reads(), actor, cover, "cover")?;
    }
    let now = tx.now();
    let article_id = tx.insert_article(channel, actor, article, now)?;
    tx.insert_fanout(article_id, channel, now)?;
    let text = DocText {
        title: article.title.as_str().to_owned(),
        body: article.body.as_str().to_owned(),
        also: String::new(),
    };
    search::documents::index(tx, DocKind::Article, article_id.row(), &text)?;
    Ok((article_id, found.handle))
}

/// Tells the next chunk of one channel's followers of an article it
/// published (`article.published` to each log, in account order), and
/// moves the task's cursor past them (or ends the task). Answers how many
/// were told; 0 when no task waits.
pub fn fan_out_step(tx: &mut dyn Tx, chunk: usize) -> Result<usize> {
    let Some(task) = tx.next_fanout_for_update()? else {
        return Ok(0);
    };
    let followers = tx
        .reads()
        .followers_after(task.channel, task.after, chunk)?;
    let (Some(found), Some(article)) = (
        tx.reads().channel(task.channel)?,
        tx.reads().article(task.article)?,
    ) else {
        return Err(Error::missing(task.article));
    };
    let event = Event::ArticlePublished {
        channel_id: found.channel_id,
        handle: found.handle.as_str().to_owned(),
        channel_name: found.name,
        article_id: article.article_id,
        title: article.title,
        cover_media_id: article.cover,
        published_at: article.published_at,
    };
    tx.append_to_all(&followers, &event)?;
    match followers.last() {
        Some(last) if followers.len() == chunk => tx.advance_fanout(task.article, *last)?,
        _ => tx.delete_fanout(task.article)?,
    }
    // A task with no follower left still did work: its row is gone.
    Ok(followers.len().max(1))
}

/// `viewer` opens an article: the article, its channel, and the comments
/// `viewer` may see. The first opening is counted (`read`).
pub fn article_view(
    read: &mut dyn Read,
    viewer: AccountId,
    article: ArticleId,
) -> Result<ArticleView> {
    let found = article_of(read, article)?;
    let channel = channel_of(read, found.channel_id)?;
    let role = role_of(read, &channel, viewer)?;
    let shown = if role.manages() {
        CommentsShown::All
    } else {
        CommentsShown::FeaturedAnd(viewer)
    };
    Ok(ArticleView {
        liked: read.has_liked(article, viewer)?,
        comments: read.comments(article, shown, None, channel::COMMENTS_SHOWN_MAX)?,
        article: found,
        channel,
        role,
    })
}

/// A page of `article`'s comments below `before`, newest first, past
/// the newest [`channel::COMMENTS_SHOWN_MAX`] an article view holds:
/// the owner and editors page through every comment (or the held ones,
/// or the featured); anyone else through the featured and their own.
pub fn article_comments(
    read: &mut dyn Read,
    viewer: AccountId,
    article: ArticleId,
    status: CommentStatus,
    before: Option<CommentId>,
    limit: u32,
) -> Result<Page<Comment>> {
    let found = article_of(read, article)?;
    let channel = channel_of(read, found.channel_id)?;
    let manages = role_of(read, &channel, viewer)?.manages();
    let shown = match (status, manages) {
        (CommentStatus::All, true) => CommentsShown::All,
        (CommentStatus::All, false) => CommentsShown::FeaturedAnd(viewer),
        (CommentStatus::Held, true) => CommentsShown::Held,
        (CommentStatus::Held, false) => CommentsShown::HeldOf(viewer),
        (CommentStatus::Featured, _) => CommentsShown::Featured,
    };
    let items = read.comments(article, shown, before, limit as usize + 1)?;
    Ok(page(items, limit))
}

/// Counts `viewer` among `article`'s readers (once).
pub fn mark_read(tx: &mut dyn Tx, viewer: AccountId, article: ArticleId) -> Result<ArticleView> {
    article_of(tx.reads(), article)?;
    let now = tx.now();
    if tx.insert_read(article, viewer, now)? {
        tx.add_reads(article, 1)?;
    }
    article_view(tx.reads(), viewer, article)
}

/// The articles of the channels `viewer` follows, newest first.
pub fn feed(
    read: &mut dyn Read,
    viewer: AccountId,
    before: Option<ArticleId>,
    limit: u32,
) -> Result<Page<FeedItem>> {
    let items = read.subscriptions_feed(viewer, before, limit as usize + 1)?;
    Ok(page(items, limit))
}

/// A channel's articles, newest first (any signed-in account).
pub fn articles(
    read: &mut dyn Read,
    channel: ChannelId,
    before: Option<ArticleId>,
    limit: u32,
) -> Result<Page<Article>> {
    channel_of(read, channel)?;
    let items = read.channel_articles(channel, before, limit as usize + 1)?;
    Ok(page(items, limit))
}

/// `account` likes `article` (`on`) or no longer; answers its like count.
pub fn like(tx: &mut dyn Tx, account: AccountId, article: ArticleId, on: bool) -> Result<u64> {
    let found = article_of(tx.reads(), article)?;
    let now = tx.now();
    let delta = match on {
        true if tx.insert_like(article, account, now)? => 1,
        false if tx.delete_like(article, account)? => -1,
        _ => return Ok(found.like_count),
    };
    tx.add_likes(article, delta)?;
    Ok(found.like_count.saturating_add_signed(delta))
}

/// `author` comments on `article`: held until the owner or an editor
/// features it, unless `author` is one of them.
pub fn comment(
    tx: &mut dyn Tx,
    author: AccountId,
    article: ArticleId,
    text: &CommentText,
) -> Result<Comment> {
    let found = article_of(tx.reads(), article)?;
    let channel = channel_of(tx.reads(), found.channel_id)?;
    let max = channel::COMMENTS_PER_ACCOUNT_PER_ARTICLE_MAX;
    if tx.comments_by_for_update(article, author)? >= max {
        return Err(Rejection::TooMany {
            what: "comments on one article",
            max,
        }
        .into());
    }
    let featured = role_of(tx.reads(), &channel, author)?.manages();
    let now = tx.now();
    let comment_id = tx.insert_comment(article, author, text, now, featured)?;
    Ok(Comment {
        comment_id,
        article_id: article,
        author,
        text: text.as_str().to_owned(),
        created_at: now,
        featured_at: featured.then_some(now),
    })
}

/// The owner or an editor features a comment of `article` (`on`) or holds
/// it again; doing what is done changes nothing.
pub fn feature(
    tx: &mut dyn Tx,
    actor: AccountId,
    article: ArticleId,
    comment: CommentId,
    on: bool,
) -> Result<Comment> {
    let found = article_of(tx.reads(), article)?;
    let channel = channel_of(tx.reads(), found.channel_id)?;
    if !role_of(tx.reads(), &channel, actor)?.manages() {
        return Err(Rejection::NotChannelEditor.into());
    }
    let mut target = tx
        .reads()
        .comment(comment)?
        .filter(|target| target.article_id == article)
        .ok_or(Rejection::CommentNotFound)?;
    if target.featured_at.is_some() != on {
        let at = on.then(|| tx.now());
        tx.set_featured(comment, at)?;
        target.featured_at = at;
    }
    Ok(target)
}

/// An article of the channel `handle` as its public page shows it.
pub fn public_article(
    read: &mut dyn Read,
    handle: &Handle,
    article: ArticleId,
) -> Result<PublicArticle> {
    let channel = read
        .channel_by_handle(handle)?
        .ok_or(Rejection::ChannelNotFound)?;
    let found = read
        .article(article)?
        .filter(|found| found.channel_id == channel.channel_id)
        .ok_or(Rejection::ArticleNotFound)?;
    let comments = read.comments(
        article,
        CommentsShown::Featured,
        None,
        channel::COMMENTS_SHOWN_MAX,
    )?;
    Ok(PublicArticle {
        channel,
        article: found,
        comments,
    })
}

/// The channel `handle` and its latest articles, for its public page and feed.
pub fn public_channel(read: &mut dyn Read, handle: &Handle) -> Result<(Channel, Vec<Article>)> {
    let channel = read
        .channel_by_handle(handle)?
        .ok_or(Rejection::ChannelNotFound)?;
    let articles = read.channel_articles(channel.channel_id, None, channel::PUBLIC_ARTICLES_MAX)?;
    Ok((channel, articles))
}

impl Core {
    pub async fn create_channel(
        &self,
        owner: AccountId,
        new: NewChannel,
    ) -> StoreResult<ChannelId> {
        self.write(move |tx| create_channel(tx, owner, &new)).await
    }

    pub async fn follow_channel(&self, account: AccountId, channel: ChannelId) -> StoreResult<()> {
        self.write(move |tx| follow(tx, account, channel)).await
    }

    pub async fn unfollow_channel(
        &self,
        account: AccountId,
        channel: ChannelId,
    ) -> StoreResult<()> {
        self.write(move |tx| unfollow(tx, account, channel)).await
    }

    pub async fn owned_channels(&self, owner: AccountId) -> StoreResult<Vec<Channel>> {
        self.read(move |read| read.owned_channels(owner)).await
    }

    pub async fn find_channels(&self, query: String) -> StoreResult<Vec<Channel>> {
        self.read(move |read| find(read, &query)).await
    }

    pub async fn channel_view(
        &self,
        viewer: AccountId,
        channel: ChannelId,
    ) -> StoreResult<ChannelView> {
        self.read(move |read| channel_view(read, viewer, channel))
            .await
    }

    pub async fn set_channel_editor(
        &self,
        actor: AccountId,
        channel: ChannelId,
        editor: AccountId,
        on: bool,
    ) -> StoreResult<()> {
        self.write(move |tx| set_editor(tx, actor, channel, editor, on))
            .await
    }

    pub async fn publish_article(
        &self,
        actor: AccountId,
        channel: ChannelId,
        article: NewArticle,
    ) -> StoreResult<(ArticleId, Handle)> {
        self.write(move |tx| publish(tx, actor, channel, &article))
            .await
    }

    /// One step of the background fan-out (see [`fan_out_step`]).
    pub async fn fan_out_step(&self, chunk: usize) -> StoreResult<usize> {
        self.write(move |tx| fan_out_step(tx, chunk)).await
    }

    /// `viewer` opens an article. Read first: only a first opening
    /// writes (to count the reader once).
    pub async fn open_article(
        &self,
        viewer: AccountId,
        article: ArticleId,
    ) -> StoreResult<ArticleView> {
        let (view, read_before) = self
            .read(move |read| {
                let view = article_view(read, viewer, article)?;
                Ok((view, read.has_read(article, viewer)?))
            })
            .await?;
        if read_before {
            return Ok(view);
        }
        self.write(move |tx| mark_read(tx, viewer, article)).await
    }

    /// A page of an article's comments (see [`article_comments`]).
    pub async fn article_comments(
        &self,
        viewer: AccountId,
        article: ArticleId,
        status: CommentStatus,
        before: Option<CommentId>,
        limit: u32,
    ) -> StoreResult<Page<Comment>> {
        let limit = limit.min(limits::PAGE_LEN_MAX);
        self.read(move |read| article_comments(read, viewer, article, status, before, limit))
            .await
    }

    pub async fn subscriptions_feed(
        &self,
        viewer: AccountId,
        before: Option<ArticleId>,
        limit: u32,
    ) -> StoreResult<Page<FeedItem>> {
        let limit = limit.min(limits::PAGE_LEN_MAX);
        self.read(move |read| feed(read, viewer, before, limit))
            .await
    }

    pub async fn channel_articles(
        &self,
        channel: ChannelId,
        before: Option<ArticleId>,
        limit: u32,
    ) -> StoreResult<Page<Article>> {
        let limit = limit.min(limits::PAGE_LEN_MAX);
        self.read(move |read| articles(read, channel, before, limit))
            .await
    }

    pub async fn like_article(
        &self,
        account: AccountId,
        article: ArticleId,
        on: bool,
    ) -> StoreResult<u64> {
        self.write(move |tx| like(tx, account, article, on)).await
    }

    pub async fn comment_article(
        &self,
        author: AccountId,
        article: ArticleId,
        text: CommentText,
    ) -> StoreResult<Comment> {
        self.write(move |tx| comment(tx, author, article, &text))
            .await
    }

    pub async fn feature_comment(
        &self,
        actor: AccountId,
        article: ArticleId,
        comment: CommentId,
        on: bool,
    ) -> StoreResult<Comment> {
        self.write(move |tx| feature(tx, actor, article, comment, on))
            .await
    }

    pub async fn public_article(
        &self,
        handle: Handle,
        article: ArticleId,
    ) -> StoreResult<PublicArticle> {
        self.read(move |read| public_article(read, &handle, article))
            .await
    }

    pub async fn public_channel(&self, handle: Handle) -> StoreResult<(Channel, Vec<Article>)> {
        self.read(move |read| public_channel(read, &handle)).await
    }

    /// A channel's avatar or an article's cover, for a public page: its
    /// preview or thumbnail only, to anyone; any other media is
    /// `MediaNotFound`, as an unknown id.
    pub async fn channel_media_served(
        &self,
        media: MediaId,
        reading: Reading,
        picture_bytes_max: u64,
    ) -> StoreResult<Served> {
        self.public_media_served(media, reading, picture_bytes_max, |read, media| {
            read.is_channel_media(media)
        })
        .await
    }
}
