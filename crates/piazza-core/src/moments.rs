//! Moments, the friends' feed: posts of text, up to nine pictures and a
//! place, shown to the author's contacts as the author chooses, with
//! likes and comments.
//!
//! Every rule of who sees what is here, decided at read time from the
//! facts as they stand now (contacts, blocks, privacy lists), so a
//! removal or a block takes effect "from then on" by itself:
//!
//! - **A post** by `author` is seen by `viewer` when they are the same
//!   account, or when they are contacts, no block stands either way, the
//!   author does not hide their moments from the viewer
//!   (`moments_hidden_from`), the post is within the author's horizon
//!   (`moments_horizon`: how far back others may look), and its
//!   visibility lets the viewer in (`contacts`; `only` those listed;
//!   `except` those listed; `private`: nobody). Whoever may not see a
//!   post gets `MomentNotFound` for it, exactly as for an id that does
//!   not exist — to read, like or comment on it.
//! - **The feed** is the viewer's own posts and their contacts' posts
//!   they may see, less the accounts whose moments the viewer does not
//!   want there (`moments_not_shown`; their page still shows them).
//! - **Likes and comments (the WeChat rule)**: a viewer sees those of
//!   their own contacts (no block standing either way), their own and
//!   the author's; a reply is shown only when the one it answers is
//!   shown too. Strangers commenting on one friend's post are invisible
//!   to each other.
//!
//! Delivery is fan-out on write (ARCHITECTURE.md, "Moments"): a post is
//! put in the inbox of its author and of each of the author's contacts
//! when it is made, and the feed reads the viewer's inbox; the rules
//! above filter what it holds.

use std::collections::{HashMap, HashSet};

use piazza_domain::event::{AccountRef, Event, Named};
use piazza_domain::store::StoreResult;
use piazza_domain::{
    AccountId, CommentText, Location, MediaId, MomentCommentId, MomentId, MomentText, Rejection,
    Timestamp, limits,
};

use crate::Core;
use crate::engine::{Read, Result, Tx};

/// Who may see a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Every contact.
    Contacts,
    /// Only these contacts.
    Only(Vec<AccountId>),
    /// Every contact but these.
    Except(Vec<AccountId>),
    /// The author alone.
    Private,
}

/// [`Visibility`] without its list, as a post's row keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisibilityKind {
    Contacts,
    Only,
    Except,
    Private,
}

impl VisibilityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VisibilityKind::Contacts => "contacts",
            VisibilityKind::Only => "only",
            VisibilityKind::Except => "except",
            VisibilityKind::Private => "private",
        }
    }

    pub fn parse(text: &str) -> Option<VisibilityKind> {
        Some(match text {
            "contacts" => VisibilityKind::Contacts,
            "only" => VisibilityKind::Only,
            "except" => VisibilityKind::Except,
            "private" => VisibilityKind::Private,
            _ => return None,
        })
    }
}

impl Visibility {
    pub fn kind(&self) -> VisibilityKind {
        match self {
            Visibility::Contacts => VisibilityKind::Contacts,
            Visibility::Only(_) => VisibilityKind::Only,
            Visibility::Except(_) => VisibilityKind::Except,
            Visibility::Private => VisibilityKind::Private,
        }
    }

    /// The accounts it lists (`only`, `except`); none otherwise.
    pub fn accounts(&self) -> &[AccountId] {
        match self {
            Visibility::Only(accounts) | Visibility::Except(accounts) => accounts,
            Visibility::Contacts | Visibility::Private => &[],
        }
    }
}

/// How far back others may look at an account's posts; the author always
/// sees all of their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Horizon {
    #[default]
    All,
    Days180,
    Days30,
    Days3,
}

impl Horizon {
    pub fn as_str(self) -> &'static str {
        match self {
            Horizon::All => "all",
            Horizon::Days180 => "180d",
            Horizon::Days30 => "30d",
            Horizon::Days3 => "3d",
        }
    }

    pub fn parse(text: &str) -> Option<Horizon> {
        Some(match text {
            "all" => Horizon::All,
            "180d" => Horizon::Days180,
            "30d" => Horizon::Days30,
            "3d" => Horizon::Days3,
            _ => return None,
        })
    }

    /// The days it reaches back, as engines keep it (0: all).
    pub fn days(self) -> u16 {
        match self {
            Horizon::All => 0,
            Horizon::Days180 => 180,
            Horizon::Days30 => 30,
            Horizon::Days3 => 3,
        }
    }

    /// From [`Horizon::days`]; an unknown count is the nearest narrower.
    pub fn from_days(days: i64) -> Horizon {
        match days {
            0 => Horizon::All,
            d if d > 30 => Horizon::Days180,
            d if d > 3 => Horizon::Days30,
            _ => Horizon::Days3,
        }
    }

    /// Whether a post made `at` is within reach `now`.
    pub fn reaches(self, at: Timestamp, now: Timestamp) -> bool {
        let days = i64::from(self.days());
        days == 0 || now.unix_ms() - at.unix_ms() <= days * 24 * 60 * 60 * 1000
    }
}

/// How both engines keep this area's values in their rows (the tables
/// have the same columns on both: `admin migrate-store` copies them).
pub mod stored {
    use piazza_domain::Location;

    use super::{PrivacyList, VisibilityKind};
    use crate::engine::{Error, Result};

    pub fn visibility_code(kind: VisibilityKind) -> i64 {
        match kind {
            VisibilityKind::Contacts => 0,
            VisibilityKind::Only => 1,
            VisibilityKind::Except => 2,
            VisibilityKind::Private => 3,
        }
    }

    pub fn visibility(code: i64) -> Result<VisibilityKind> {
        Ok(match code {
            0 => VisibilityKind::Contacts,
            1 => VisibilityKind::Only,
            2 => VisibilityKind::Except,
            3 => VisibilityKind::Private,
            other => return Err(Error::Corrupt(format!("moment visibility {other}"))),
        })
    }

    pub fn list_code(list: PrivacyList) -> i64 {
        match list {
            PrivacyList::HiddenFrom => 0,
            PrivacyList::NotShown => 1,
        }
    }

    /// A post's place as JSON (the domain's serde, as a message keeps it).
    pub fn location_text(location: Option<&Location>) -> Option<String> {
        location.map(|place| serde_json::to_string(place).expect("a location serializes"))
    }

    pub fn location(text: Option<String>) -> Result<Option<Location>> {
        text.map(|text| {
            serde_json::from_str(&text)
                .map_err(|e| Error::Corrupt(format!("a moment's place: {e}")))
        })
        .transpose()
    }
}

/// Which of an account's Moments privacy lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivacyList {
    /// Accounts who may not see the owner's moments.
    HiddenFrom,
    /// Accounts whose moments the owner does not want in their feed.
    NotShown,
}

/// An account's Moments privacy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MomentsPrivacy {
    pub horizon: Horizon,
    pub hidden_from: Vec<AccountId>,
    pub not_shown: Vec<AccountId>,
}

/// A change of an account's Moments privacy; `None` keeps what is. A list
/// replaces the one kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrivacyChange {
    pub horizon: Option<Horizon>,
    pub hidden_from: Option<Vec<AccountId>>,
    pub not_shown: Option<Vec<AccountId>>,
}

/// A post as its author asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMoment {
    pub text: MomentText,
    pub media: Vec<MediaId>,
    pub location: Option<Location>,
    pub visibility: Visibility,
}

/// A picture of a post, with its size where it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MomentMedia {
    pub media_id: MediaId,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// A stored post, as its author made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MomentRow {
    pub moment_id: MomentId,
    pub author: AccountRef,
    pub text: MomentText,
    pub location: Option<Location>,
    pub visibility: VisibilityKind,
    pub created_at: Timestamp,
}

/// What stands between a viewer and a post's author, as the engine finds
/// it now. Meaningless when they are the same account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Between {
    pub contacts: bool,
    /// Either blocked the other, or the author's account was deleted
    /// (`account_deletion`): its posts are no one's to see.
    pub blocked: bool,
    /// The viewer is on the author's `moments_hidden_from`.
    pub hidden_from_viewer: bool,
    /// The author is on the viewer's `moments_not_shown`.
    pub not_shown_to_viewer: bool,
    pub author_horizon: Horizon,
}

/// A post with the facts a viewer's rule needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub row: MomentRow,
    pub between: Between,
    /// The viewer is on the post's `only` or `except` list.
    pub viewer_listed: bool,
}

/// A like, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Like {
    pub moment_id: MomentId,
    pub account: AccountRef,
    pub at: Timestamp,
}

/// The likes of one post that a viewer may see (the WeChat rule):
/// the newest few, how many in all, and whether one is the viewer's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShownLikes {
    /// The newest [`limits::MOMENT_LIKES_SHOWN_MAX`] at most, oldest first.
    pub likes: Vec<Like>,
    /// All the likes the viewer may see, those in `likes` included.
    pub count: u32,
    pub by_viewer: bool,
}

/// A comment, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub comment_id: MomentCommentId,
    pub moment_id: MomentId,
    pub account: AccountRef,
    pub text: CommentText,
    pub reply_to: Option<MomentCommentId>,
    pub reply_to_account: Option<AccountId>,
    pub at: Timestamp,
}

/// How a viewer stands to an account that liked or commented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relation {
    pub account: AccountId,
    pub contacts: bool,
    /// Either blocked the other, or `account` was deleted.
    pub blocked: bool,
}

/// A post as one viewer may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moment {
    pub row: MomentRow,
    pub media: Vec<MomentMedia>,
    /// The post's `only`/`except` list: its author's eyes only.
    pub visibility: Option<Visibility>,
    /// The newest of the likes the viewer may see.
    pub likes: Vec<Like>,
    /// How many likes the viewer may see in all.
    pub like_count: u32,
    pub comments: Vec<Comment>,
    pub liked_by_viewer: bool,
}

/// A page of posts, newest first, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MomentPage {
    pub items: Vec<Moment>,
    /// Posts below this id are the next page; `None`: none left.
    pub next_before: Option<MomentId>,
}

/// The queries of this area, as every engine answers them.
pub trait Reads {
    /// The post, with what stands between `viewer` and its author.
    fn moment_for(&mut self, viewer: AccountId, moment: MomentId) -> Result<Option<Candidate>>;
    /// Posts in `viewer`'s inbox below `before`, newest first, `limit` at
    /// most, each with what stands between `viewer` and its author.
    fn inbox(
        &mut self,
        viewer: AccountId,
        before: Option<MomentId>,
        limit: u32,
    ) -> Result<Vec<Candidate>>;
    /// `author`'s posts below `before`, newest first, `limit` at most, as
    /// [`Reads::inbox`].
    fn moments_by(
        &mut self,
        viewer: AccountId,
        author: AccountId,
        before: Option<MomentId>,
        limit: u32,
    ) -> Result<Vec<Candidate>>;
    /// The pictures of each post, in the author's order.
    fn moment_media(&mut self, moments: &[MomentId])
    -> Result<HashMap<MomentId, Vec<MomentMedia>>>;
    /// The `only`/`except` list of a post.
    fn moment_audience(&mut self, moment: MomentId) -> Result<Vec<AccountId>>;
    /// The likes of each post (`(post, its author)`) that `viewer` may
    /// see: the viewer's own, the author's, and those of the viewer's
    /// contacts with no block standing either way; at most `shown_max`
    /// of them (the newest), and the count of all. Filtered and bounded
    /// in the engine, so a post with thousands of likes costs a page a
    /// count, not thousands of rows.
    fn moment_likes(
        &mut self,
        viewer: AccountId,
        posts: &[(MomentId, AccountId)],
        shown_max: u32,
    ) -> Result<HashMap<MomentId, ShownLikes>>;
    /// The comments of each post, oldest first.
    fn moment_comments(&mut self, moments: &[MomentId]) -> Result<Vec<Comment>>;
    /// One comment of `moment`.
    fn moment_comment(
        &mut self,
        moment: MomentId,
        comment: MomentCommentId,
    ) -> Result<Option<Comment>>;
    /// How `viewer` stands to each of `accounts`.
    fn relations(&mut self, viewer: AccountId, accounts: &[AccountId]) -> Result<Vec<Relation>>;
    /// The posts showing `media`.
    fn moments_showing(&mut self, media: MediaId) -> Result<Vec<MomentId>>;
    /// `account`'s Moments privacy.
    fn moments_privacy(&mut self, account: AccountId) -> Result<MomentsPrivacy>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    /// A new post of `author`, made `at`, with its pictures and list.
    fn insert_moment(
        &mut self,
        author: AccountId,
        moment: &NewMoment,
        at: Timestamp,
    ) -> Result<MomentId>;
    /// Puts `moment` in the inbox of its author, and of each of the
    /// author's contacts when `to_contacts`.
    fn deliver_moment(
        &mut self,
        moment: MomentId,
        author: AccountId,
        to_contacts: bool,
    ) -> Result<()>;
    /// The post's author, its row locked for the rest of the transaction
    /// (PostgreSQL: `FOR NO KEY UPDATE`), so no like or comment lands on
    /// it while it is deleted, and comments are counted under the lock.
    fn moment_author_for_update(&mut self, moment: MomentId) -> Result<Option<AccountId>>;
    /// As [`Reads::moments_privacy`], the account's row locked for the
    /// rest of the transaction, so two changes apply one after the other.
    fn moments_privacy_for_update(&mut self, account: AccountId) -> Result<MomentsPrivacy>;
    /// The post and everything on it (pictures, list, likes, comments,
    /// inbox entries) are gone.
    fn delete_moment(&mut self, moment: MomentId, author: AccountId) -> Result<()>;
    /// `account` likes `moment`; `false` if it did already.
    fn insert_moment_like(
        &mut self,
        moment: MomentId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool>;
    /// `account` no longer likes `moment`; `false` if it did not.
    fn delete_moment_like(&mut self, moment: MomentId, account: AccountId) -> Result<bool>;
    /// How many comments `moment` holds (its row locked by the caller).
    fn comment_count(&mut self, moment: MomentId) -> Result<usize>;
    fn insert_moment_comment(
        &mut self,
        comment: &NewComment,
        at: Timestamp,
    ) -> Result<MomentCommentId>;
    /// The comment (and the replies to it keep their `reply_to`).
    fn delete_comment(&mut self, comment: MomentCommentId) -> Result<()>;
    fn set_moments_horizon(&mut self, account: AccountId, horizon: Horizon) -> Result<()>;
    /// Replaces `account`'s `list` with `accounts`.
    fn set_privacy_list(
        &mut self,
        account: AccountId,
        list: PrivacyList,
        accounts: &[AccountId],
    ) -> Result<()>;
}

/// A comment as its author asks for it, its reply checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComment {
    pub moment_id: MomentId,
    pub account: AccountId,
    pub text: CommentText,
    pub reply_to: Option<MomentCommentId>,
    pub reply_to_account: Option<AccountId>,
}

/// Whether `viewer` may see the post, now.
pub fn may_see(viewer: AccountId, post: &Candidate, now: Timestamp) -> bool {
    if post.row.author.account_id == viewer {
        return true;
    }
    let between = post.between;
    if !between.contacts || between.blocked || between.hidden_from_viewer {
        return false;
    }
    if !between.author_horizon.reaches(post.row.created_at, now) {
        return false;
    }
    match post.row.visibility {
        VisibilityKind::Contacts => true,
        VisibilityKind::Only => post.viewer_listed,
        VisibilityKind::Except => !post.viewer_listed,
        VisibilityKind::Private => false,
    }
}

/// Whether `post` and every older post of its author are hidden from
/// `viewer` by what stands between them (not by the post's own list).
fn closed_from_here(viewer: AccountId, post: &Candidate, now: Timestamp) -> bool {
    let between = post.between;
    post.row.author.account_id != viewer
        && (!between.contacts
            || between.blocked
            || between.hidden_from_viewer
            || !between.author_horizon.reaches(post.row.created_at, now))
}

/// Whether `viewer` may see `moment`.
fn read_may_see(
    read: &mut dyn Read,
    viewer: AccountId,
    moment: MomentId,
    now: Timestamp,
) -> Result<bool> {
    Ok(read
        .moment_for(viewer, moment)?
        .is_some_and(|post| may_see(viewer, &post, now)))
}

/// The post if `viewer` may see it; `MomentNotFound` otherwise, as for an
/// id that does not exist.
pub fn visible_moment(
    read: &mut dyn Read,
    viewer: AccountId,
    moment: MomentId,
    now: Timestamp,
) -> Result<Candidate> {
    match read.moment_for(viewer, moment)? {
        Some(post) if may_see(viewer, &post, now) => Ok(post),
        _ => Err(Rejection::MomentNotFound.into()),
    }
}

/// Whom `viewer` sees the likes and comments of on `author`'s posts: the
/// viewer, the author, and the viewer's contacts with no block standing.
struct Audience {
    viewer: AccountId,
    shown: HashSet<AccountId>,
}

impl Audience {
    fn read(
        read: &mut dyn Read,
        viewer: AccountId,
        accounts: impl IntoIterator<Item = AccountId>,
    ) -> Result<Audience> {
        let mut asked: Vec<AccountId> = accounts.into_iter().collect();
        asked.sort_unstable();
        asked.dedup();
        let shown = read
            .relations(viewer, &asked)?
            .into_iter()
            .filter(|relation| relation.contacts && !relation.blocked)
            .map(|relation| relation.account)
            .collect();
        Ok(Audience { viewer, shown })
    }

    fn sees(&self, account: AccountId, author: AccountId) -> bool {
        account == self.viewer || account == author || self.shown.contains(&account)
    }

    fn sees_comment(&self, comment: &Comment, author: AccountId) -> bool {
        self.sees(comment.account.account_id, author)
            && comment
                .reply_to_account
                .is_none_or(|replied| self.sees(replied, author))
    }
}

/// The posts as `viewer` sees them: pictures, their likes and comments
/// under the WeChat rule, the list to the author only.
fn shown(read: &mut dyn Read, viewer: AccountId, posts: Vec<Candidate>) -> Result<Vec<Moment>> {
    let ids: Vec<MomentId> = posts.iter().map(|post| post.row.moment_id).collect();
    let authors: Vec<(MomentId, AccountId)> = posts
        .iter()
        .map(|post| (post.row.moment_id, post.row.author.account_id))
        .collect();
    let mut media = read.moment_media(&ids)?;
    let shown_max = u32::try_from(limits::MOMENT_LIKES_SHOWN_MAX).unwrap_or(u32::MAX);
    let mut likes = read.moment_likes(viewer, &authors, shown_max)?;
    let comments = read.moment_comments(&ids)?;
    let people = comments.iter().flat_map(|comment| {
        std::iter::once(comment.account.account_id).chain(comment.reply_to_account)
    });
    let audience = Audience::read(read, viewer, people)?;
    let mut moments = Vec::with_capacity(posts.len());
    for post in posts {
        let row = post.row;
        let id = row.moment_id;
        let author = row.author.account_id;
        let visibility = if author == viewer {
            Some(visibility_of(read, &row)?)
        } else {
            None
        };
        let likes = likes.remove(&id).unwrap_or_default();
        let comments = comments
            .iter()
            .filter(|comment| comment.moment_id == id && audience.sees_comment(comment, author))
            .cloned()
            .collect();
        moments.push(Moment {
            liked_by_viewer: likes.by_viewer,
            media: media.remove(&id).unwrap_or_default(),
            row,
            visibility,
            likes: likes.likes,
            like_count: likes.count,
            comments,
        });
    }
    Ok(moments)
}

fn visibility_of(read: &mut dyn Read, row: &MomentRow) -> Result<Visibility> {
    Ok(match row.visibility {
        VisibilityKind::Contacts => Visibility::Contacts,
        VisibilityKind::Private => Visibility::Private,
        VisibilityKind::Only => Visibility::Only(read.moment_audience(row.moment_id)?),
        VisibilityKind::Except => Visibility::Except(read.moment_audience(row.moment_id)?),
    })
}

/// Which of a feed's posts: the viewer's inbox, or one author's posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Feed,
    Author(AccountId),
}

/// A page of `source` as `viewer` sees it, newest first: up to `limit`
/// posts, reading at most [`limits::MOMENT_FEED_SCAN_MAX`] to fill it (a
/// shorter page with a cursor past that).
pub fn page(
    read: &mut dyn Read,
    viewer: AccountId,
    source: Source,
    before: Option<MomentId>,
    limit: u32,
    now: Timestamp,
) -> Result<MomentPage> {
    let (kept, next_before) = pick(read, viewer, source, before, limit, now)?;
    Ok(MomentPage {
        items: shown(read, viewer, kept)?,
        next_before,
    })
}

/// The posts of a page and where the next starts (see [`page`]).
fn pick(
    read: &mut dyn Read,
    viewer: AccountId,
    source: Source,
    mut cursor: Option<MomentId>,
    limit: u32,
    now: Timestamp,
) -> Result<(Vec<Candidate>, Option<MomentId>)> {
    let wanted = limit.max(1) as usize;
    // One past the page first (most posts in an inbox are shown), then
    // more at a time while the rules leave posts out.
    let mut batch = limit.max(1) + 1;
    let mut kept = Vec::new();
    let mut scanned = 0;
    loop {
        let posts = match source {
            Source::Feed => read.inbox(viewer, cursor, batch)?,
            Source::Author(author) => read.moments_by(viewer, author, cursor, batch)?,
        };
        let exhausted = posts.len() < batch as usize;
        let count = posts.len();
        for (index, post) in posts.into_iter().enumerate() {
            scanned += 1;
            cursor = Some(post.row.moment_id);
            // One person's page ends where the person is closed to the
            // viewer: not a contact, blocked or hidden (every post alike),
            // or past the horizon (every older post too). Nothing further
            // is read, and no cursor names a post the viewer may not see.
            if source != Source::Feed && closed_from_here(viewer, &post, now) {
                return Ok((kept, None));
            }
            let in_feed = source != Source::Feed || !post.between.not_shown_to_viewer;
            if in_feed && may_see(viewer, &post, now) {
                kept.push(post);
                if kept.len() == wanted {
                    let more = index + 1 < count || !exhausted;
                    return Ok((kept, cursor.filter(|_| more)));
                }
            }
        }
        if exhausted {
            return Ok((kept, None));
        }
        if scanned >= limits::MOMENT_FEED_SCAN_MAX {
            return Ok((kept, cursor));
        }
        batch = (batch * 2).min(limits::PAGE_LEN_MAX);
    }
}

/// One post as `viewer` sees it.
pub fn one(
    read: &mut dyn Read,
    viewer: AccountId,
    moment: MomentId,
    now: Timestamp,
) -> Result<Moment> {
    let post = visible_moment(read, viewer, moment, now)?;
    let mut shown = shown(read, viewer, vec![post])?;
    shown.pop().ok_or_else(|| crate::Error::missing(moment))
}

/// Refuses a list naming anyone but the author's contacts (an unknown id
/// answers the same: nothing is learnt of which ids exist), the author,
/// or more than `max`.
fn contacts_only(
    read: &mut dyn Read,
    author: AccountId,
    accounts: &[AccountId],
    max: usize,
) -> Result<Vec<AccountId>> {
    let mut list = accounts.to_vec();
    list.sort_unstable();
    list.dedup();
    if list.len() > max {
        return Err(Rejection::TooMany {
            what: "accounts in a list",
            max,
        }
        .into());
    }
    for account in &list {
        if *account == author || !read.are_contacts(author, *account)? {
            return Err(Rejection::NotAContact.into());
        }
    }
    Ok(list)
}

/// Posts `moment` for `author`: its pictures the author's own uploads,
/// its list the author's contacts, and something to show (text or a
/// picture).
pub fn post(tx: &mut dyn Tx, author: AccountId, moment: &NewMoment) -> Result<MomentId> {
    if moment.text.is_empty() && moment.media.is_empty() {
        return Err(Rejection::EmptyMoment.into());
    }
    if moment.media.len() > limits::MOMENT_MEDIA_MAX {
        return Err(Rejection::TooMany {
            what: "pictures in a post",
            max: limits::MOMENT_MEDIA_MAX,
        }
        .into());
    }
    for media in &moment.media {
        crate::media::own_media(tx.reads(), author, *media)?;
    }
    let accounts = contacts_only(
        tx.reads(),
        author,
        moment.visibility.accounts(),
        limits::MOMENT_AUDIENCE_MAX,
    )?;
    if matches!(moment.visibility, Visibility::Only(_)) && accounts.is_empty() {
        return Err(Rejection::EmptyAudience.into());
    }
    let visibility = match &moment.visibility {
        Visibility::Only(_) => Visibility::Only(accounts),
        Visibility::Except(_) => Visibility::Except(accounts),
        other => other.clone(),
    };
    let stored = NewMoment {
        visibility,
        ..moment.clone()
    };
    let now = tx.now();
    let id = tx.insert_moment(author, &stored, now)?;
    let to_contacts = stored.visibility != Visibility::Private;
    tx.deliver_moment(id, author, to_contacts)?;
    Ok(id)
}

/// The post's author deletes it; anyone else who may see it is refused
/// (`NotMomentAuthor`), anyone who may not gets `MomentNotFound`.
pub fn delete(tx: &mut dyn Tx, account: AccountId, moment: MomentId) -> Result<()> {
    let author = tx.moment_author_for_update(moment)?;
    let now = tx.now();
    visible_moment(tx.reads(), account, moment, now)?;
    if author != Some(account) {
        return Err(Rejection::NotMomentAuthor.into());
    }
    tx.delete_moment(moment, account)
}

/// `account` likes `moment`, once however often asked; its author is told
/// (unless it is their own).
pub fn like(tx: &mut dyn Tx, account: AccountId, moment: MomentId) -> Result<()> {
    tx.moment_author_for_update(moment)?;
    let now = tx.now();
    let post = visible_moment(tx.reads(), account, moment, now)?;
    if !tx.insert_moment_like(moment, account, now)? {
        return Ok(());
    }
    let author = post.row.author.account_id;
    if author != account {
        let liker = named(tx.reads(), account)?;
        tx.append_log(
            author,
            Event::MomentLiked {
                moment_id: moment,
                author_id: author,
                account_id: account,
                liker,
            },
        )?;
    }
    Ok(())
}

/// `account` takes its like back; nothing happens if there was none. One's
/// own like goes even from a post one may no longer see (a removal or a
/// block since); without one, a post one may not see is not found.
pub fn unlike(tx: &mut dyn Tx, account: AccountId, moment: MomentId) -> Result<()> {
    tx.moment_author_for_update(moment)?;
    if tx.delete_moment_like(moment, account)? {
        return Ok(());
    }
    let now = tx.now();
    visible_moment(tx.reads(), account, moment, now)?;
    Ok(())
}

fn named(read: &mut dyn Read, account: AccountId) -> Result<Named> {
    let found = read
        .account(account)?
        .ok_or_else(|| crate::Error::missing(account))?;
    Ok(Named::from(&found.to_ref()))
}

/// `account` comments on `moment`, or replies to one of its comments that
/// it can see; the author and the one replied to are told (never oneself).
pub fn comment(
    tx: &mut dyn Tx,
    account: AccountId,
    moment: MomentId,
    text: &CommentText,
    reply_to: Option<MomentCommentId>,
) -> Result<MomentCommentId> {
    tx.moment_author_for_update(moment)?;
    let now = tx.now();
    let post = visible_moment(tx.reads(), account, moment, now)?;
    let author = post.row.author.account_id;
    let replied = match reply_to {
        None => None,
        Some(comment) => Some(seen_comment(tx.reads(), account, author, moment, comment)?),
    };
    if tx.comment_count(moment)? >= limits::MOMENT_COMMENTS_MAX {
        return Err(Rejection::TooMany {
            what: "comments on a post",
            max: limits::MOMENT_COMMENTS_MAX,
        }
        .into());
    }
    let new = NewComment {
        moment_id: moment,
        account,
        text: text.clone(),
        reply_to,
        reply_to_account: replied,
    };
    let comment_id = tx.insert_moment_comment(&new, now)?;
    let commenter = named(tx.reads(), account)?;
    let event = Event::MomentCommented {
        moment_id: moment,
        author_id: author,
        comment_id,
        account_id: account,
        commenter,
        text: text.as_str().to_owned(),
        reply_to,
        reply_to_account: replied,
    };
    let mut told = vec![author];
    // The one replied to is told only while they may still see the post
    // (not after the author removed, blocked or hid them).
    if let Some(replied) = replied {
        let sees = read_may_see(tx.reads(), replied, moment, now)?;
        told.extend(sees.then_some(replied));
    }
    told.dedup();
    for whom in told.into_iter().filter(|whom| *whom != account) {
        tx.append_log(whom, event.clone())?;
    }
    Ok(comment_id)
}

/// The author of `comment` on `moment`, if `viewer` can see it (under the
/// WeChat rule); `CommentNotFound` otherwise.
fn seen_comment(
    read: &mut dyn Read,
    viewer: AccountId,
    author: AccountId,
    moment: MomentId,
    comment: MomentCommentId,
) -> Result<AccountId> {
    let found = read
        .moment_comment(moment, comment)?
        .ok_or(Rejection::CommentNotFound)?;
    let people = std::iter::once(found.account.account_id).chain(found.reply_to_account);
    let audience = Audience::read(read, viewer, people)?;
    if !audience.sees_comment(&found, author) {
        return Err(Rejection::CommentNotFound.into());
    }
    Ok(found.account.account_id)
}

/// Deletes a comment: its author, or the post's author, may. One's own
/// comment goes even from a post one may no longer see, and the post's
/// author removes any comment on it, one from a person removed or blocked
/// since included (who may still show it to common contacts).
pub fn delete_comment(
    tx: &mut dyn Tx,
    account: AccountId,
    moment: MomentId,
    comment: MomentCommentId,
) -> Result<()> {
    tx.moment_author_for_update(moment)?;
    let found = tx.reads().moment_comment(moment, comment)?;
    if found
        .as_ref()
        .is_some_and(|found| found.account.account_id == account)
    {
        return tx.delete_comment(comment);
    }
    let now = tx.now();
    let post = visible_moment(tx.reads(), account, moment, now)?;
    let author = post.row.author.account_id;
    if account == author {
        found.ok_or(Rejection::CommentNotFound)?;
        return tx.delete_comment(comment);
    }
    seen_comment(tx.reads(), account, author, moment, comment)?;
    Err(Rejection::NotCommentAuthor.into())
}

/// Whether `viewer` may see a post showing `media`.
pub fn shows_media(
    read: &mut dyn Read,
    viewer: AccountId,
    media: MediaId,
    now: Timestamp,
) -> Result<bool> {
    for moment in read.moments_showing(media)? {
        if let Some(post) = read.moment_for(viewer, moment)?
            && may_see(viewer, &post, now)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Changes `account`'s Moments privacy. A list may name the account's
/// contacts, and keep anyone it named before (a former contact stays
/// until taken off).
pub fn set_privacy(tx: &mut dyn Tx, account: AccountId, change: &PrivacyChange) -> Result<()> {
    let before = tx.moments_privacy_for_update(account)?;
    let lists = [
        (
            PrivacyList::HiddenFrom,
            &change.hidden_from,
            &before.hidden_from,
        ),
        (PrivacyList::NotShown, &change.not_shown, &before.not_shown),
    ];
    for (list, new, kept) in lists {
        let Some(new) = new else { continue };
        let mut asked: Vec<AccountId> = new.clone();
        asked.sort_unstable();
        asked.dedup();
        let fresh: Vec<AccountId> = asked
            .iter()
            .copied()
            .filter(|id| !kept.contains(id))
            .collect();
        contacts_only(tx.reads(), account, &fresh, limits::MOMENT_PRIVACY_LIST_MAX)?;
        if asked.len() > limits::MOMENT_PRIVACY_LIST_MAX {
            return Err(Rejection::TooMany {
                what: "accounts in a list",
                max: limits::MOMENT_PRIVACY_LIST_MAX,
            }
            .into());
        }
        tx.set_privacy_list(account, list, &asked)?;
    }
    if let Some(horizon) = change.horizon {
        tx.set_moments_horizon(account, horizon)?;
    }
    Ok(())
}

impl Core {
    pub async fn post_moment(&self, author: AccountId, moment: NewMoment) -> StoreResult<MomentId> {
        self.write(move |tx| post(tx, author, &moment)).await
    }

    pub async fn delete_moment(&self, account: AccountId, moment: MomentId) -> StoreResult<()> {
        self.write(move |tx| delete(tx, account, moment)).await
    }

    pub async fn moment(&self, viewer: AccountId, moment: MomentId) -> StoreResult<Moment> {
        self.read(move |read| one(read, viewer, moment, Timestamp::now()))
            .await
    }

    /// A page of `source` as `viewer` sees it.
    pub async fn moments(
        &self,
        viewer: AccountId,
        source: Source,
        before: Option<MomentId>,
        limit: u32,
    ) -> StoreResult<MomentPage> {
        self.read(move |read| {
            if let Source::Author(author) = source
                && author != viewer
            {
                // A stranger's page is the 404 an unknown account's is.
                crate::profiles::profile(read, viewer, author)?;
            }
            page(read, viewer, source, before, limit, Timestamp::now())
        })
        .await
    }

    pub async fn like_moment(&self, account: AccountId, moment: MomentId) -> StoreResult<()> {
        self.write(move |tx| like(tx, account, moment)).await
    }

    pub async fn unlike_moment(&self, account: AccountId, moment: MomentId) -> StoreResult<()> {
        self.write(move |tx| unlike(tx, account, moment)).await
    }

    pub async fn comment_moment(
        &self,
        account: AccountId,
        moment: MomentId,
        text: CommentText,
        reply_to: Option<MomentCommentId>,
    ) -> StoreResult<MomentCommentId> {
        self.write(move |tx| comment(tx, account, moment, &text, reply_to))
            .await
    }

    pub async fn delete_moment_comment(
        &self,
        account: AccountId,
        moment: MomentId,
        comment: MomentCommentId,
    ) -> StoreResult<()> {
        self.write(move |tx| delete_comment(tx, account, moment, comment))
            .await
    }

    pub async fn moments_privacy(&self, account: AccountId) -> StoreResult<MomentsPrivacy> {
        self.read(move |read| read.moments_privacy(account)).await
    }

    pub async fn set_moments_privacy(
        &self,
        account: AccountId,
        change: PrivacyChange,
    ) -> StoreResult<()> {
        self.write(move |tx| set_privacy(tx, account, &change))
            .await
    }
}
