//! The indexer: it reads messages behind the writers, by id, makes their
//! postings here (off the writer: tokenizing costs a writer nothing) and
//! writes them in a job of their own, a batch at a time, with how far it
//! has come (the watermark). It runs on one node of a cluster (the
//! server's `search_indexer`, under a lease) and starts over from the
//! watermark after a restart, so an existing server is indexed by the
//! same loop, resumably, from its first message.
//!
//! Ids are handed out before commit: on PostgreSQL two writers may commit
//! ids 8 and 7 in that order, and a rolled-back transaction leaves its id
//! unused for good. So an id missing below the newest one read is a gap,
//! looked for again at each step until it appears (indexed then) or has
//! been missing for [`GAP_PATIENCE`], far longer than any transaction
//! lasts (an engine gives up on a commit after seconds): its transaction
//! rolled back. The watermark stays below the oldest open gap; postings
//! are idempotent, so indexing a message twice (after a restart) changes
//! nothing but an estimate of its terms' counts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use piazza_domain::search::index_terms;
use piazza_domain::store::StoreResult;

use super::{Posting, ToIndex};
use crate::Core;

/// How long an id may be missing below newer ones before the indexer
/// takes it for an id no committed message will have.
pub const GAP_PATIENCE: Duration = Duration::from_secs(30);
/// Open gaps looked for again at most, per step (the oldest first). A
/// gap's patience runs only once it is asked about, so a pile of ids
/// burned by rolled-back batches never lets an id still in flight above
/// them expire unasked.
const GAPS_ASKED_MAX: usize = 10_000;
/// A run of missing ids longer than this is not tracked id by id: ids
/// are not burned that many at once, so it is a hole left by something
/// else (rows removed), not transactions in flight.
const GAP_RUN_MAX: i64 = 10_000;

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Messages indexed (a gap filled counts too).
    pub indexed: usize,
    /// Fewer messages were waiting than a batch: nothing more for now.
    pub caught_up: bool,
}

/// One node's indexing state: how far it has read, and the gaps below.
#[derive(Debug, Default)]
pub struct Indexer {
    /// The newest id read; `None` until the watermark is read.
    frontier: Option<i64>,
    /// Ids missing below the frontier, and since when they are asked
    /// about (`None`: not yet).
    gaps: BTreeMap<i64, Option<Instant>>,
    /// The watermark as last stored.
    stored: i64,
    /// Documents from before search are all indexed (checked again after
    /// a reset: a restart, a lease taken over).
    documents_done: bool,
}

impl Indexer {
    pub fn new() -> Indexer {
        Indexer::default()
    }

    /// Forgets what was read: the next step starts from the stored
    /// watermark (after a failure, or a lease lost to another node).
    pub fn reset(&mut self) {
        *self = Indexer::default();
    }

    /// Indexes up to `batch` new messages and the gaps that appeared.
    pub async fn step(&mut self, core: &Core, batch: u32) -> StoreResult<Step> {
        let mut outcome = self.try_step(core, batch).await;
        if let Ok(step) = &mut outcome
            && step.caught_up
            && !self.documents_done
        {
            // Channels, articles and products from before search, once
            // messages have caught up; new ones are indexed as they are made.
            match core.backfill_documents().await {
                Ok(0) => self.documents_done = true,
                Ok(indexed) => {
                    *step = Step {
                        indexed: step.indexed + indexed,
                        caught_up: false,
                    }
                }
                Err(error) => outcome = Err(error),
            }
        }
        if outcome.is_err() {
            self.reset();
        }
        outcome
    }

    async fn try_step(&mut self, core: &Core, batch: u32) -> StoreResult<Step> {
        let frontier = match self.frontier {
            Some(frontier) => frontier,
            None => {
                let watermark = core
                    .read(|read| read.search_watermark(super::MESSAGES))
                    .await?;
                self.stored = watermark;
                self.frontier = Some(watermark);
                watermark
            }
        };
        let asked: Vec<i64> = self.gaps.keys().take(GAPS_ASKED_MAX).copied().collect();
        let (rows, filled) = core
            .read(move |read| {
                let rows = read.messages_to_index(frontier, batch)?;
                let filled = match asked.is_empty() {
                    true => Vec::new(),
                    false => read.messages_by_id(&asked)?,
                };
                Ok((rows, filled))
            })
            .await?;
        let now = Instant::now();
        for row in &filled {
            self.gaps.remove(&row.message.row());
        }
        for (_, since) in self.gaps.iter_mut().take(GAPS_ASKED_MAX) {
            since.get_or_insert(now);
        }
        self.gaps
            .retain(|_, since| since.is_none_or(|since| now.duration_since(since) < GAP_PATIENCE));
        self.note_gaps(frontier, &rows);
        let newest = rows.last().map_or(frontier, |row| row.message.row());
        let watermark = self.gaps.keys().next().map_or(newest, |oldest| oldest - 1);
        let indexed = rows.len() + filled.len();
        if indexed > 0 || watermark != self.stored {
            let (postings, counts) = postings_of(rows.iter().chain(&filled));
            let (postings, counts) = (Arc::new(postings), Arc::new(counts));
            core.write(move |tx| {
                tx.insert_postings(&postings)?;
                tx.count_terms(&counts)?;
                tx.set_search_watermark(super::MESSAGES, watermark)
            })
            .await?;
            self.stored = watermark;
        }
        self.frontier = Some(newest);
        Ok(Step {
            indexed,
            caught_up: rows.len() < batch as usize,
        })
    }

    /// Remembers the ids missing between `frontier` and the rows read.
    fn note_gaps(&mut self, frontier: i64, rows: &[ToIndex]) {
        let mut expected = frontier + 1;
        for row in rows {
            let id = row.message.row();
            assert!(
                id >= expected,
                "messages are read by id, above the frontier"
            );
            if id - expected <= GAP_RUN_MAX {
                self.gaps
                    .extend((expected..id).map(|missing| (missing, None)));
            } else {
                tracing::error!(
                    from = expected,
                    to = id - 1,
                    "message ids missing, not tracked"
                );
            }
            expected = id + 1;
        }
    }
}

/// The postings of `rows`, ordered as the index is, and how many each
/// term gained.
fn postings_of<'a>(rows: impl Iterator<Item = &'a ToIndex>) -> (Vec<Posting>, Vec<(String, i64)>) {
    let mut postings = BTreeSet::new();
    for row in rows {
        for term in index_terms(&row.text) {
            postings.insert(Posting {
                term,
                conversation: row.conversation,
                message: row.message,
            });
        }
    }
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for posting in &postings {
        *counts.entry(posting.term.as_str()).or_default() += 1;
    }
    let counts = counts
        .into_iter()
        .map(|(term, count)| (term.to_owned(), count))
        .collect();
    (postings.into_iter().collect(), counts)
}
