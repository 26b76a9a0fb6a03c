//! Driving a bench phase: many senders doing one operation back to back
//! (a transfer, an order placed and paid) until the phase's window
//! closes, each answer timed and counted, and the figures every such
//! phase reports. Shared by `bench ledger` and `bench shop`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::future::join_all;
use hdrhistogram::Histogram;

use super::progress::StatusLine;
use super::report::Report;

/// Operations per sender in one phase, at most.
const OPS_PER_SENDER_MAX: u64 = 100_000_000;
/// Latencies above this are recorded as this (microseconds).
const LATENCY_US_MAX: u64 = 600_000_000;
/// Error details kept for the report; the rest are only counted.
const NOTES_MAX: usize = 5;

/// What one operation (a transfer, an order placed and paid) came to.
pub(super) enum Outcome {
    /// Durably done (a 201; an `Ok` from the store).
    Done,
    /// A definite refusal: no money moved.
    Refused(String),
    /// No definite answer (a transport error, a 5xx): the money may or may
    /// not have moved, so the balance check cannot be exact.
    Unknown(String),
}

/// The shared clock and counters of one phase.
pub(super) struct Plan {
    origin: Instant,
    measure_from: Instant,
    end: Instant,
    /// Measured transfers after which the phase ends; 0 for none.
    count: u64,
    measured: AtomicU64,
    /// Set when `count` is reached; then `stopped_at_us` says when.
    stopped: AtomicBool,
    stopped_at_us: AtomicU64,
    done: AtomicU64,
    notes: Mutex<Vec<String>>,
}

impl Plan {
    /// Warm up for `warmup_s`, then measure for `duration_s` or until
    /// `count` operations (0: no count).
    pub(super) fn new(warmup_s: u64, duration_s: u64, count: u64) -> Plan {
        let origin = Instant::now();
        let measure_from = origin + Duration::from_secs(warmup_s);
        Plan {
            origin,
            measure_from,
            end: measure_from + Duration::from_secs(duration_s),
            count,
            measured: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            stopped_at_us: AtomicU64::new(u64::MAX),
            done: AtomicU64::new(0),
            notes: Mutex::new(Vec::new()),
        }
    }

    pub(super) fn over(&self, now: Instant) -> bool {
        now >= self.end || self.stopped.load(Ordering::Relaxed)
    }

    /// Counts one measured transfer; the one that reaches `count` ends the
    /// phase.
    pub(super) fn measured_one(&self, now: Instant) {
        let measured = self.measured.fetch_add(1, Ordering::Relaxed) + 1;
        if self.count > 0 && measured >= self.count {
            let at = u64::try_from(now.duration_since(self.origin).as_micros()).unwrap_or(u64::MAX);
            self.stopped_at_us.fetch_min(at, Ordering::Relaxed);
            self.stopped.store(true, Ordering::Relaxed);
        }
    }

    /// The measured time: the whole window, or up to the `count`th
    /// transfer.
    pub(super) fn measured_for(&self) -> Duration {
        let window = self.end.duration_since(self.measure_from);
        match self.stopped_at_us.load(Ordering::Relaxed) {
            u64::MAX => window,
            at_us => (self.origin + Duration::from_micros(at_us))
                .saturating_duration_since(self.measure_from)
                .min(window),
        }
    }

    pub(super) fn note(&self, note: String) {
        let mut notes = self
            .notes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if notes.len() < NOTES_MAX {
            notes.push(note);
        }
    }
}

/// One sender's tallies.
pub(super) struct Tally {
    pub(super) done: u64,
    pub(super) refused: u64,
    pub(super) unknown: u64,
    pub(super) latencies: Histogram<u64>,
}

impl Tally {
    pub(super) fn new() -> Tally {
        Tally {
            done: 0,
            refused: 0,
            unknown: 0,
            latencies: latency_histogram(),
        }
    }

    pub(super) fn add(&mut self, other: &Tally) {
        self.done += other.done;
        self.refused += other.refused;
        self.unknown += other.unknown;
        self.latencies
            .add(&other.latencies)
            .expect("histograms with the same bounds add up");
    }
}

fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_US_MAX, 3).expect("the latency bounds are valid")
}

/// Calls `transfer(number)` back to back until the phase is over. A
/// transfer is measured when its answer comes inside the window, which
/// makes the count over the window the throughput.
async fn drive<F, Fut>(plan: Arc<Plan>, sender: usize, mut transfer: F) -> Tally
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let mut tally = Tally::new();
    for number in 0..OPS_PER_SENDER_MAX {
        let started = Instant::now();
        if plan.over(started) {
            break;
        }
        let outcome = transfer(number).await;
        let answered = Instant::now();
        match outcome {
            Outcome::Done => {
                tally.done += 1;
                plan.done.fetch_add(1, Ordering::Relaxed);
                if answered >= plan.measure_from && answered < plan.end {
                    let micros = u64::try_from(answered.duration_since(started).as_micros());
                    tally
                        .latencies
                        .saturating_record(micros.unwrap_or(u64::MAX).max(1));
                    plan.measured_one(answered);
                }
            }
            Outcome::Refused(code) => {
                tally.refused += 1;
                plan.note(format!("sender {sender}: refused: {code}"));
            }
            Outcome::Unknown(detail) => {
                tally.unknown += 1;
                plan.note(format!("sender {sender}: no definite answer: {detail}"));
            }
        }
    }
    tally
}

/// Runs one driver per sender and adds their tallies up.
pub(super) async fn drive_all<F, Fut>(
    label: &'static str,
    plan: &Arc<Plan>,
    senders: usize,
    transfer: F,
) -> anyhow::Result<Tally>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let transfer = Arc::new(transfer);
    let status = running_status(label, plan);
    let tasks = (0..senders).map(|sender| {
        let transfer = Arc::clone(&transfer);
        tokio::spawn(drive(Arc::clone(plan), sender, move |number| {
            transfer(sender, number)
        }))
    });
    let joined = join_all(tasks).await;
    status.finish();
    let mut total = Tally::new();
    for tally in joined {
        total.add(&tally.context("a bench task panicked")?);
    }
    Ok(total)
}

fn running_status(label: &'static str, plan: &Arc<Plan>) -> StatusLine {
    let plan = Arc::clone(plan);
    StatusLine::start(move || {
        let total = plan.end.duration_since(plan.origin).as_secs_f64();
        let elapsed = plan.origin.elapsed().as_secs_f64().min(total);
        format!(
            "{label}… {elapsed:.1}/{total:.0} s, {} done, {} measured",
            plan.done.load(Ordering::Relaxed),
            plan.measured.load(Ordering::Relaxed),
        )
    })
}

/// The figures both phases report, under their own keys.
pub(super) struct Keys {
    /// What is counted, plural ("transfers", "orders"), and its rate.
    pub(super) unit: &'static str,
    pub(super) rate: &'static str,
    pub(super) senders: (&'static str, &'static str),
    pub(super) done: (&'static str, &'static str),
    pub(super) measured: (&'static str, &'static str),
    pub(super) window: (&'static str, &'static str),
    pub(super) throughput: (&'static str, &'static str),
    pub(super) p50: (&'static str, &'static str),
    pub(super) p99: (&'static str, &'static str),
    pub(super) p999: (&'static str, &'static str),
    pub(super) max: (&'static str, &'static str),
    pub(super) refused: (&'static str, &'static str),
    pub(super) unknown: (&'static str, &'static str),
}

pub(super) fn report_phase(
    report: &mut Report,
    keys: &Keys,
    senders: usize,
    plan: &Plan,
    tally: &Tally,
) {
    let measured = plan.measured.load(Ordering::Relaxed);
    // Ended by `--count`: the window closed at the `count`th transfer;
    // the few answered after it are not in the rate.
    let in_window = if plan.stopped.load(Ordering::Relaxed) {
        measured.min(plan.count)
    } else {
        measured
    };
    let seconds = plan.measured_for().as_secs_f64();
    let throughput = if seconds > 0.0 {
        in_window as f64 / seconds
    } else {
        0.0
    };
    let latency_ms = |quantile: f64| tally.latencies.value_at_quantile(quantile) as f64 / 1000.0;
    report.count(keys.senders.0, keys.senders.1, senders as u64, "");
    report.count(keys.done.0, keys.done.1, tally.done, "");
    report.count(keys.measured.0, keys.measured.1, measured, "");
    report.measure(keys.window.0, keys.window.1, seconds, 2, "s");
    report.measure(
        keys.throughput.0,
        keys.throughput.1,
        throughput,
        0,
        keys.rate,
    );
    report.measure(keys.p50.0, keys.p50.1, latency_ms(0.5), 2, "ms");
    report.measure(keys.p99.0, keys.p99.1, latency_ms(0.99), 2, "ms");
    report.measure(keys.p999.0, keys.p999.1, latency_ms(0.999), 2, "ms");
    report.measure(keys.max.0, keys.max.1, latency_ms(1.0), 2, "ms");
    report.count(keys.refused.0, keys.refused.1, tally.refused, "");
    report.count(keys.unknown.0, keys.unknown.1, tally.unknown, "");
    let notes = plan
        .notes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for note in notes.iter() {
        eprintln!("note: {note}");
    }
    if tally.refused > 0 {
        report.fail(format!(
            "{}: {} {} refused (none should be)",
            keys.senders.0, tally.refused, keys.unit
        ));
    }
    if tally.unknown > 0 {
        report.fail(format!(
            "{}: {} {} had no definite answer",
            keys.senders.0, tally.unknown, keys.unit
        ));
    }
    if measured == 0 {
        report.fail(format!(
            "{}: none of the {} was measured",
            keys.senders.0, keys.unit
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaching_the_count_ends_the_phase_and_shortens_the_window() {
        let plan = Plan::new(0, 10, 2);
        let now = Instant::now();
        plan.measured_one(now);
        assert!(!plan.over(now));
        plan.measured_one(now);
        assert!(plan.over(now));
        assert!(plan.measured_for() < Duration::from_secs(1));
    }

    #[test]
    fn without_a_count_the_window_is_the_duration() {
        let plan = Plan::new(0, 10, 0);
        plan.measured_one(Instant::now());
        assert!(!plan.over(Instant::now()));
        assert_eq!(plan.measured_for(), Duration::from_secs(10));
    }
}
