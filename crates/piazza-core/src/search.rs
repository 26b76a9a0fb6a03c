//! Search: what an account can find among what it can see. The text rules
//! (folding, terms, queries, snippets) are `piazza_domain::search`'s; this
//! module holds who may find what and how a query is run over the index
//! both engines keep.
//!
//! - **Messages** are found through the index (`search_postings`: a term,
//!   a conversation, a message), which [`indexer`] fills behind the
//!   writers. A member finds the messages it can see: those after it
//!   joined, neither recalled nor deleted for it; the newest first.
//! - **Contacts** are few (at most `CONTACTS_PER_ACCOUNT_MAX`) and are
//!   matched here, by the caller's remark, display name and username.
//!
//! The engine answers candidates — messages holding every query term, as
//! the member may see them — and the rules here keep those that hold the
//! query itself (a CJK word of three characters holds its pairs in order,
//! not merely each pair somewhere), and cut their snippets.

pub mod documents;
pub mod indexer;

use std::collections::BTreeSet;
use std::ops::Range;

use piazza_domain::event::AccountRef;
use piazza_domain::search::{self, Part, Query, SnippetPart};
use piazza_domain::store::StoreResult;
use piazza_domain::{AccountId, ConversationId, MessageId, Rejection, Seq, Timestamp};

use crate::Core;
use crate::engine::{Read, Result};

/// A message as the indexer reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToIndex {
    pub message: MessageId,
    pub conversation: ConversationId,
    pub text: String,
}

/// One row of the index: `term` is in `message`, of `conversation`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Posting {
    pub term: String,
    pub conversation: ConversationId,
    pub message: MessageId,
}

/// What the engine is asked for: messages `account` can see, holding a
/// term of every group (each group: a query part's terms, any of which
/// will do), the newest first, below `before` and above `after`, `limit`
/// at most. The first group is the one with the fewest postings: an
/// engine walks it.
#[derive(Debug, Clone)]
pub struct MessageSearch {
    pub account: AccountId,
    pub conversation: Option<ConversationId>,
    pub groups: Vec<Vec<String>>,
    pub before: Option<MessageId>,
    pub after: Option<MessageId>,
    pub limit: u32,
}

/// A candidate the engine found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub message: MessageId,
    pub conversation: ConversationId,
    pub seq: Seq,
    pub sender: AccountRef,
    pub text: String,
    pub sent_at: Timestamp,
}

/// How far the index has come, for `piazza admin search-status`: the
/// watermark, the newest message's id, and how many messages wait above
/// the watermark. Both engines run this text as it is.
pub const PROGRESS_SQL: &str = "SELECT p.through,
       (SELECT COALESCE(MAX(id), 0) FROM messages),
       (SELECT COUNT(*) FROM messages WHERE id > p.through)
FROM search_progress p WHERE p.name = 'messages'";

/// The queries of this area, as every engine answers them.
pub trait Reads {
    /// The id through which every row of `kind` is indexed (0 at
    /// first): `messages`, or a document kind's (`DocKind::progress`).
    fn search_watermark(&mut self, kind: &str) -> Result<i64>;
    /// The newest message's id, 0 if there is none.
    fn newest_message_id(&mut self) -> Result<i64>;
    /// Messages with ids above `after`, by id, `limit` at most.
    fn messages_to_index(&mut self, after: i64, limit: u32) -> Result<Vec<ToIndex>>;
    /// Those of `ids` that exist now.
    fn messages_by_id(&mut self, ids: &[i64]) -> Result<Vec<ToIndex>>;
    /// How many postings each of `terms` has, as far as the index counted
    /// (an estimate: a message indexed twice after a crash counts twice).
    fn term_counts(&mut self, terms: &[String]) -> Result<Vec<i64>>;
    /// Indexed terms starting with `prefix`, the most used first,
    /// `limit` at most.
    fn terms_starting(&mut self, prefix: &str, limit: u32) -> Result<Vec<String>>;
    /// The candidates of `search` (see [`MessageSearch`]).
    fn message_candidates(&mut self, search: &MessageSearch) -> Result<Vec<Candidate>>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    /// Adds postings; one already there is left as it is.
    fn insert_postings(&mut self, postings: &[Posting]) -> Result<()>;
    /// Adds to each term's count of postings.
    fn count_terms(&mut self, counts: &[(String, i64)]) -> Result<()>;
    /// Every row of `kind` (as in `Reads::search_watermark`) through
    /// `through` is indexed.
    fn set_search_watermark(&mut self, kind: &str, through: i64) -> Result<()>;
}

/// The watermark of messages (`Reads::search_watermark`).
pub const MESSAGES: &str = "messages";

/// A typed word expands to at most this many indexed words.
pub const PREFIX_EXPANSION_MAX: u32 = 24;
/// Candidates asked of the engine at a time, beyond the page.
const CANDIDATES_SLACK: u32 = 16;
/// Rounds of candidates one page looks through at most: a page of rare
/// hits among many candidates ends early, with a cursor to go on.
const CANDIDATE_ROUNDS_MAX: usize = 12;
/// A search reads the newest ids first: a window this many ids wide,
/// then older ones, each this many times wider than the last, so a page
/// costs about what lies between the newest message and its last hit,
/// whatever a conversation holds below (each conversation's postings are
/// read within the window only). Twelve rounds cover 4,096 × 4¹¹ ids.
const FIRST_WINDOW: i64 = 4096;
const WINDOW_GROWTH: i64 = 4;

/// A message found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFound {
    pub message: MessageId,
    pub conversation: ConversationId,
    pub seq: Seq,
    pub sender: AccountRef,
    pub sent_at: Timestamp,
    pub snippet: Vec<SnippetPart>,
}

/// A page of messages found, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessagesFound {
    pub messages: Vec<MessageFound>,
    /// The next page's `before`, when there may be more.
    pub next: Option<MessageId>,
}

/// The messages `account` can see that hold `query`, newest first, below
/// `before`, `limit` at most; in `conversation` only, when given, which
/// the account must be a member of.
pub fn messages(
    read: &mut dyn Read,
    account: AccountId,
    query: &Query,
    conversation: Option<ConversationId>,
    before: Option<MessageId>,
    limit: u32,
) -> Result<MessagesFound> {
    assert!(limit > 0);
    if let Some(conversation) = conversation
        && read.membership(account, conversation)?.is_none()
    {
        return Err(Rejection::NotAMember.into());
    }
    let Some(groups) = term_groups(read, query)? else {
        return Ok(MessagesFound::default());
    };
    let top = match before {
        Some(before) => before.row(),
        None => read.newest_message_id()? + 1,
    };
    let mut search = MessageSearch {
        account,
        conversation,
        groups,
        before: Some(MessageId::from_row(top)),
        after: None,
        limit: limit + CANDIDATES_SLACK,
    };
    let mut found = MessagesFound::default();
    let mut width = FIRST_WINDOW;
    for _ in 0..CANDIDATE_ROUNDS_MAX {
        let below = search.before.map_or(0, MessageId::row);
        let floor = below.saturating_sub(width).max(0);
        search.after = (floor > 0).then(|| MessageId::from_row(floor));
        let candidates = read.message_candidates(&search)?;
        let full = candidates.len() == search.limit as usize;
        assert!(
            candidates
                .windows(2)
                .all(|pair| pair[0].message > pair[1].message)
                && candidates
                    .iter()
                    .all(|c| c.message.row() > floor && c.message.row() < below),
            "an engine answers a window's candidates inside it, newest first"
        );
        for candidate in candidates {
            search.before = Some(candidate.message);
            if found.messages.len() == limit as usize {
                // One more hit may follow: the page ends on its last.
                found.next = found.messages.last().map(|last| last.message);
                return Ok(found);
            }
            if let Some(hits) = query.hits(&candidate.text) {
                found.messages.push(message_found(candidate, &hits));
            }
        }
        if !full {
            // The window is read: the next one, older and wider.
            if floor == 0 {
                return Ok(found);
            }
            search.before = Some(MessageId::from_row(floor + 1));
            width = width.saturating_mul(WINDOW_GROWTH);
        }
    }
    // Many candidates, few hits: go on from the last one looked at.
    found.next = search.before;
    Ok(found)
}

fn message_found(candidate: Candidate, hits: &[Range<usize>]) -> MessageFound {
    MessageFound {
        snippet: search::snippet(&candidate.text, hits),
        message: candidate.message,
        conversation: candidate.conversation,
        seq: candidate.seq,
        sender: candidate.sender,
        sent_at: candidate.sent_at,
    }
}

/// The query as groups of index terms, the rarest group first; `None`
/// when a typed word starts no indexed word (nothing can be found).
fn term_groups(read: &mut dyn Read, query: &Query) -> Result<Option<Vec<Vec<String>>>> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    for part in query.parts() {
        match part {
            Part::Word {
                term,
                prefix: false,
            } => groups.push(vec![term.clone()]),
            Part::Word { term, prefix: true } => {
                let mut expanded = read.terms_starting(term, PREFIX_EXPANSION_MAX)?;
                // The word itself, if indexed, whatever more used words
                // start with it.
                if !expanded.contains(term) && read.term_counts(std::slice::from_ref(term))?[0] > 0
                {
                    expanded.truncate(PREFIX_EXPANSION_MAX as usize - 1);
                    expanded.insert(0, term.clone());
                }
                if expanded.is_empty() {
                    return Ok(None);
                }
                groups.push(expanded);
            }
            Part::Cjk(run) => groups.extend(cjk_terms(run).into_iter().map(|term| vec![term])),
        }
    }
    groups.sort();
    groups.dedup();
    let terms: Vec<String> = groups.iter().flatten().cloned().collect();
    let counts = read.term_counts(&terms)?;
    assert_eq!(counts.len(), terms.len(), "a count per term");
    let mut counted = counts.into_iter();
    let mut sized: Vec<(i64, Vec<String>)> = groups
        .into_iter()
        .map(|group| (counted.by_ref().take(group.len()).sum(), group))
        .collect();
    if sized.iter().any(|(count, _)| *count == 0) {
        return Ok(None);
    }
    sized.sort_by_key(|(count, _)| *count);
    Ok(Some(sized.into_iter().map(|(_, group)| group).collect()))
}

/// A CJK query run's index terms: itself if one character, else its pairs.
pub(crate) fn cjk_terms(run: &str) -> BTreeSet<String> {
    let chars: Vec<char> = run.chars().collect();
    if chars.len() == 1 {
        return BTreeSet::from([run.to_owned()]);
    }
    chars.windows(2).map(|pair| pair.iter().collect()).collect()
}

/// A contact found, and which of its names matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactFound {
    pub account: AccountRef,
    pub remark: Option<String>,
    pub matched: ContactField,
    pub snippet: Vec<SnippetPart>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ContactField {
    Username,
    DisplayName,
    Remark,
}

impl ContactField {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactField::Username => "username",
            ContactField::DisplayName => "display_name",
            ContactField::Remark => "remark",
        }
    }
}

/// `account`'s contacts whose remark, display name or username holds
/// `query`: those whose name is the query first, then those whose name
/// starts with it, then the rest; the caller's own remark before a
/// display name before a username; then by username.
pub fn contacts(
    read: &mut dyn Read,
    account: AccountId,
    query: &Query,
) -> Result<Vec<ContactFound>> {
    let limit = piazza_domain::limits::CONTACTS_PER_ACCOUNT_MAX as u32;
    let contacts = read.contacts(account, None, limit)?;
    let mut found: Vec<((u8, ContactField), ContactFound)> = Vec::new();
    for contact in contacts {
        let names = [
            (
                ContactField::Remark,
                contact.remark.clone().unwrap_or_default(),
            ),
            (
                ContactField::DisplayName,
                contact.account.display_name.clone(),
            ),
            (
                ContactField::Username,
                contact.account.username.as_str().to_owned(),
            ),
        ];
        let best = names
            .into_iter()
            .filter_map(|(field, name)| {
                let hits = query.hits(&name)?;
                Some(((closeness(&name, &hits), field), name, hits))
            })
            .max_by_key(|(rank, _, _)| *rank);
        if let Some((rank, name, hits)) = best {
            found.push((
                rank,
                ContactFound {
                    account: contact.account.to_ref(),
                    remark: contact.remark,
                    matched: rank.1,
                    snippet: search::snippet(&name, &hits),
                },
            ));
        }
    }
    found.sort_by(|(a, one), (b, other)| {
        b.cmp(a).then_with(|| {
            one.account
                .username
                .as_str()
                .cmp(other.account.username.as_str())
        })
    });
    Ok(found.into_iter().map(|(_, contact)| contact).collect())
}

/// 2 when the hits are the whole name, 1 when they start it, else 0.
fn closeness(name: &str, hits: &[Range<usize>]) -> u8 {
    let trimmed = name.trim();
    let start = name.len() - name.trim_start().len();
    match hits {
        [only] if only.start == start && only.end == start + trimmed.len() => 2,
        [first, ..] if first.start == start => 1,
        _ => 0,
    }
}

impl Core {
    /// See [`messages`].
    pub async fn search_messages(
        &self,
        account: AccountId,
        query: Query,
        conversation: Option<ConversationId>,
        before: Option<MessageId>,
        limit: u32,
    ) -> StoreResult<MessagesFound> {
        self.read(move |read| messages(read, account, &query, conversation, before, limit))
            .await
    }

    /// See [`contacts`].
    pub async fn search_contacts(
        &self,
        account: AccountId,
        query: Query,
    ) -> StoreResult<Vec<ContactFound>> {
        self.read(move |read| contacts(read, account, &query)).await
    }
}
