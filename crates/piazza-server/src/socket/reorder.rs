//! Pushes that arrive past a gap wait here a moment for the ones before
//! them. On a cluster one account's entries are committed by several
//! nodes and pushed to a socket by different paths (its own node's hub at
//! once, another node's through the bus a millisecond later), so a push
//! often overtakes the one before it. Waiting [`WAIT`] for the missing one
//! costs a little latency on the early push; not waiting would cost a
//! read of the store for nearly every such gap. Past the wait (the bus
//! lost it, or it is slow), the socket reads the store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use piazza_domain::LogSeq;
use tokio::time::Instant;

use crate::hub::Pushed;

/// How long a push past a gap waits for the ones before it.
pub const WAIT: Duration = Duration::from_millis(20);
/// Pushes held at most; past them the store is read at once.
const HELD_MAX: usize = 256;
/// A nudge (every socket of a node told to read the store at once) is
/// spread over this long, so that thousands of sockets do not all ask the
/// database in the same millisecond.
pub const NUDGE_SPREAD: Duration = Duration::from_millis(250);

#[derive(Default)]
pub struct Reorder {
    held: BTreeMap<LogSeq, Arc<Pushed>>,
    /// When the oldest push still held arrived.
    since: Option<Instant>,
    /// When a nudge asked the store to be read, if it has not been since.
    nudged: Option<Instant>,
}

impl Reorder {
    /// Keeps `pushed` until the positions before it are delivered.
    pub fn hold(&mut self, pushed: Arc<Pushed>) {
        self.held.insert(pushed.seq, pushed);
        self.since.get_or_insert_with(Instant::now);
    }

    /// The held push that comes right after `delivered`, if there is one
    /// (those at or below it are dropped: a catch-up sent them).
    pub fn next_after(&mut self, delivered: LogSeq) -> Option<Arc<Pushed>> {
        while let Some(entry) = self.held.first_entry() {
            if *entry.key() <= delivered {
                entry.remove();
            } else if entry.key().get() == delivered.get() + 1 {
                return Some(entry.remove());
            } else {
                return None;
            }
        }
        self.since = None;
        None
    }

    /// Reads the store at a moment drawn within [`NUDGE_SPREAD`] from now
    /// (or sooner, if it was to be read sooner anyway).
    pub fn nudge(&mut self) {
        let spread = NUDGE_SPREAD.mul_f64(rand::random::<f64>());
        let at = Instant::now() + spread;
        self.nudged = Some(self.nudged.map_or(at, |before| before.min(at)));
    }

    /// When the store must be read: a push held past a gap has waited
    /// [`WAIT`], or a nudge's moment came.
    pub fn deadline(&self) -> Option<Instant> {
        let gap = self.since.map(|since| since + WAIT);
        match (gap, self.nudged) {
            (Some(gap), Some(nudged)) => Some(gap.min(nudged)),
            (gap, nudged) => gap.or(nudged),
        }
    }

    /// Whether so many wait that the store should be read now.
    pub fn overfull(&self) -> bool {
        self.held.len() > HELD_MAX
    }

    /// After a catch-up, which read the store after every held push had
    /// arrived (so after its commit): it sent them all. A push the store
    /// did not have is not the log's, and is dropped with the rest.
    pub fn settle(&mut self) {
        self.held.clear();
        self.since = None;
        self.nudged = None;
    }
}

#[cfg(test)]
mod tests {
    use axum::extract::ws::Utf8Bytes;

    use super::*;

    fn push(seq: i64) -> Arc<Pushed> {
        Arc::new(Pushed {
            seq: LogSeq::from_stored(seq),
            json: Utf8Bytes::from_static("{}"),
        })
    }

    #[test]
    fn a_push_past_a_gap_waits_for_the_ones_before_it() {
        let mut reorder = Reorder::default();
        let delivered = LogSeq::from_stored(4);
        reorder.hold(push(6));
        reorder.hold(push(7));
        assert!(
            reorder.next_after(delivered).is_none(),
            "5 is still missing"
        );
        assert!(reorder.deadline().is_some(), "and waited for");
        // 5 arrives: 6 and 7 follow it in order, and nothing waits.
        let mut delivered = LogSeq::from_stored(5);
        let mut order = Vec::new();
        while let Some(next) = reorder.next_after(delivered) {
            delivered = next.seq;
            order.push(next.seq.get());
        }
        assert_eq!(order, [6, 7]);
        assert!(reorder.deadline().is_none());
    }

    #[test]
    fn a_nudge_asks_for_the_store_within_its_spread_and_a_catch_up_answers_it() {
        let mut reorder = Reorder::default();
        let before = Instant::now();
        reorder.nudge();
        let deadline = reorder.deadline().expect("a read of the store is due");
        assert!(deadline >= before && deadline <= Instant::now() + NUDGE_SPREAD);
        reorder.settle();
        assert!(reorder.deadline().is_none());
    }

    #[test]
    fn a_catch_up_settles_what_it_sent() {
        let mut reorder = Reorder::default();
        reorder.hold(push(9));
        reorder.hold(push(12));
        reorder.settle();
        assert!(reorder.deadline().is_none());
        assert!(reorder.next_after(LogSeq::from_stored(9)).is_none());
    }
}
