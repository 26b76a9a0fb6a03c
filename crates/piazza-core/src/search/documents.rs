//! Channels, articles and products in search: public things, found by
//! anyone (an unlisted product by nobody). Each is indexed in the
//! transaction that makes or changes it ([`index`]), so its postings are
//! never behind its text; what existed before search is indexed by the
//! indexer ([`backfill_step`]), by id above each kind's watermark, adding
//! postings and never removing one. A posting left over from an old text
//! (a backfill racing a change) can only make a candidate that the check
//! of the query against the text as it is then drops: postings may hold
//! more than the text, never less.

use std::collections::BTreeSet;
use std::ops::Range;

use piazza_domain::Timestamp;
use piazza_domain::search::{self, Part, Query, SnippetPart, index_terms};
use piazza_domain::store::StoreResult;

use super::{PREFIX_EXPANSION_MAX, cjk_terms};
use crate::Core;
use crate::engine::{Read, Result, Tx};

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Channel,
    Article,
    Product,
}

impl DocKind {
    pub const ALL: [DocKind; 3] = [DocKind::Channel, DocKind::Article, DocKind::Product];

    /// How the index keeps the kind.
    pub fn code(self) -> i64 {
        match self {
            DocKind::Channel => 1,
            DocKind::Article => 2,
            DocKind::Product => 3,
        }
    }

    /// Its watermark's name (`Reads::search_watermark`).
    pub fn progress(self) -> &'static str {
        match self {
            DocKind::Channel => "channels",
            DocKind::Article => "articles",
            DocKind::Product => "products",
        }
    }
}

/// A document's searchable text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocText {
    /// A channel's name, an article's or a product's title.
    pub title: String,
    /// A channel's description, an article's body, a product's
    /// description.
    pub body: String,
    /// Found but not shown in a snippet: a channel's handle.
    pub also: String,
}

impl DocText {
    fn terms(&self) -> Vec<String> {
        let mut terms = index_terms(&self.title);
        terms.extend(index_terms(&self.body));
        terms.extend(index_terms(&self.also));
        terms.into_iter().collect()
    }
}

/// A document found by the engine, with what a result shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocFound {
    pub id: i64,
    pub text: DocText,
    /// An article's channel, a product's shop; `None` for a channel.
    pub parent: Option<(i64, String)>,
    /// A channel's avatar, an article's cover, a product's first picture.
    pub media: Option<i64>,
    /// When it was made (a product: last changed).
    pub at: Timestamp,
}

/// What the engine is asked for: documents of `kind` holding a term of
/// every group, that anyone may see, the newest first, below `before`.
#[derive(Debug, Clone)]
pub struct DocSearch {
    pub kind: DocKind,
    pub groups: Vec<Vec<String>>,
    pub before: Option<i64>,
    pub limit: u32,
}

/// The queries of documents' search, as every engine answers them.
pub trait Reads {
    /// Documents of `kind` with ids above `after`, by id, `limit` at most.
    fn documents_to_index(
        &mut self,
        kind: DocKind,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, DocText)>>;
    /// Terms of `kind`'s documents starting with `prefix`, `limit` at most.
    fn document_terms_starting(
        &mut self,
        kind: DocKind,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<String>>;
    /// The candidates of `search` (see [`DocSearch`]).
    fn document_candidates(&mut self, search: &DocSearch) -> Result<Vec<DocFound>>;
}

/// The changes of documents' search, inside an engine's transaction.
pub trait Writes {
    /// Adds `terms` as `kind` `id`'s postings; with `replace`, its old
    /// postings go first.
    fn index_document(
        &mut self,
        kind: DocKind,
        id: i64,
        terms: &[String],
        replace: bool,
    ) -> Result<()>;
}

/// Indexes a document as its text now is, in the transaction that made
/// or changed it.
pub fn index(tx: &mut dyn Tx, kind: DocKind, id: i64, text: &DocText) -> Result<()> {
    tx.index_document(kind, id, &text.terms(), true)
}

/// Documents the backfill takes per kind and step.
const BACKFILL_BATCH: u32 = 200;

/// Indexes the next documents of each kind that existed before search
/// (or since the last step); answers how many. Run by the indexer.
pub fn backfill_step(tx: &mut dyn Tx) -> Result<usize> {
    let mut indexed = 0;
    for kind in DocKind::ALL {
        let after = tx.reads().search_watermark(kind.progress())?;
        let documents = tx.reads().documents_to_index(kind, after, BACKFILL_BATCH)?;
        for (id, text) in &documents {
            tx.index_document(kind, *id, &text.terms(), false)?;
        }
        if let Some((last, _)) = documents.last() {
            tx.set_search_watermark(kind.progress(), *last)?;
        }
        indexed += documents.len();
    }
    Ok(indexed)
}

/// A document found, and the part of it that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentFound {
    pub document: DocFound,
    pub snippet: Vec<SnippetPart>,
}

/// A page of documents found, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentsFound {
    pub documents: Vec<DocumentFound>,
    pub next: Option<i64>,
}

/// Candidates asked of the engine beyond a page, and rounds at most.
const CANDIDATES_SLACK: u32 = 16;
const CANDIDATE_ROUNDS_MAX: usize = 8;

/// The documents of `kind` that hold `query`, newest first, below
/// `before`, `limit` at most.
pub fn documents(
    read: &mut dyn Read,
    kind: DocKind,
    query: &Query,
    before: Option<i64>,
    limit: u32,
) -> Result<DocumentsFound> {
    assert!(limit > 0);
    let Some(groups) = groups(read, kind, query)? else {
        return Ok(DocumentsFound::default());
    };
    let mut search = DocSearch {
        kind,
        groups,
        before,
        limit: limit + CANDIDATES_SLACK,
    };
    let mut found = DocumentsFound::default();
    for _ in 0..CANDIDATE_ROUNDS_MAX {
        let candidates = read.document_candidates(&search)?;
        let exhausted = candidates.len() < search.limit as usize;
        for document in candidates {
            search.before = Some(document.id);
            if found.documents.len() == limit as usize {
                found.next = found.documents.last().map(|last| last.document.id);
                return Ok(found);
            }
            if let Some(snippet) = matched(query, &document.text) {
                found.documents.push(DocumentFound { document, snippet });
            }
        }
        if exhausted {
            return Ok(found);
        }
    }
    found.next = search.before;
    Ok(found)
}

/// The snippet of a document holding every part of `query` (in its
/// title, body and what is found but not shown, together): its title's if
/// the title holds a hit, else its body's (unmarked if only the hidden
/// part did); `None` if it does not hold the query.
fn matched(query: &Query, text: &DocText) -> Option<Vec<SnippetPart>> {
    let whole = format!("{}\n{}\n{}", text.title, text.body, text.also);
    let hits: Vec<Range<usize>> = query.hits(&whole)?;
    let split = text.title.len();
    let in_title: Vec<Range<usize>> = hits
        .iter()
        .filter(|hit| hit.end <= split)
        .cloned()
        .collect();
    if !in_title.is_empty() {
        return Some(search::snippet(&text.title, &in_title));
    }
    let body_start = split + 1;
    let body_end = body_start + text.body.len();
    let in_body: Vec<Range<usize>> = hits
        .iter()
        .filter(|hit| hit.start >= body_start && hit.end <= body_end)
        .map(|hit| hit.start - body_start..hit.end - body_start)
        .collect();
    Some(search::snippet(&text.body, &in_body))
}

/// The query's groups of terms; `None` when a typed word starts none.
fn groups(read: &mut dyn Read, kind: DocKind, query: &Query) -> Result<Option<Vec<Vec<String>>>> {
    let mut exact: Vec<Vec<String>> = Vec::new();
    let mut typed: Vec<Vec<String>> = Vec::new();
    for part in query.parts() {
        match part {
            Part::Word {
                term,
                prefix: false,
            } => exact.push(vec![term.clone()]),
            Part::Word { term, prefix: true } => {
                let expanded = read.document_terms_starting(kind, term, PREFIX_EXPANSION_MAX)?;
                if expanded.is_empty() {
                    return Ok(None);
                }
                typed.push(expanded);
            }
            Part::Cjk(run) => exact.extend(cjk_terms(run).into_iter().map(|term| vec![term])),
        }
    }
    // A single term walks in id order: it goes first.
    let unique: BTreeSet<Vec<String>> = exact.iter().cloned().collect();
    let mut groups: Vec<Vec<String>> = unique.into_iter().collect();
    groups.extend(typed);
    Ok(Some(groups))
}

impl Core {
    /// See [`documents`].
    pub async fn search_documents(
        &self,
        kind: DocKind,
        query: Query,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<DocumentsFound> {
        self.read(move |read| documents(read, kind, &query, before, limit))
            .await
    }

    /// See [`backfill_step`].
    pub async fn backfill_documents(&self) -> StoreResult<usize> {
        self.write(backfill_step).await
    }
}
