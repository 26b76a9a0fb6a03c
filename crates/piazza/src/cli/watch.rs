//! `piazza watch`: the account's events as they happen, one sentence a
//! line, resuming from the cursor the last watch saved.
//!
//! A watch outlives the connection: when the server goes away (a restart,
//! a network blip, a full queue) it says so on stderr, tries again with a
//! growing pause (half a second, doubling, at most ten seconds), says when
//! it is back, and asks the server for everything after the last event it
//! printed. Only what retrying cannot mend stops it: a revoked login,
//! Ctrl-C.
//!
//! The server pushes live events from the moment the socket opens, before
//! it has read the `sync` and replayed the log after the cursor: after
//! event 100, a live 105 may come before the replay of 101–105. So an
//! event is printed only when it is the next one (`latest + 1`); one at or
//! before `latest` is a copy; one further on, before `synced`, is dropped,
//! since the replay brings it in order (see [`accepts`]).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use piazza_api::{ClientFrame, EventView, ServerFrame};
use piazza_client::{ClientError, Incoming};

use super::render::{self, Directory};
use super::{Cli, Session, config};

/// How often `watch` writes its cursor to the config while events stream
/// in: often enough that a crash replays little, rarely enough that a long
/// replay does not rewrite the file thousands of times.
const CURSOR_SAVE_INTERVAL_MS: u64 = 1000;
/// The first pause before reconnecting, doubled after each failed try.
const RECONNECT_FIRST_MS: u64 = 500;
/// The longest pause between tries.
const RECONNECT_MAX_MS: u64 = 10_000;

/// Streams the account's events until Ctrl-C or a failure retrying cannot
/// mend, saving the cursor so the next `watch` resumes.
pub(super) async fn watch(cli: &Cli) -> anyhow::Result<()> {
    let session = cli.session()?;
    let mut watcher = Watcher {
        session: &session,
        directory: session.names().await?,
        cursor: CursorKeeper::new(cli, &session.saved),
        looked_up: HashSet::new(),
    };
    eprintln!(
        "watching {} on {} ({}); Ctrl-C to stop",
        session.saved.username,
        cli.server,
        if watcher.cursor.latest.is_some() {
            "resuming where the last watch stopped"
        } else {
            "from the beginning"
        }
    );
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    let mut pause = Pause::default();
    let mut lost_at: Option<Instant> = None;
    let outcome = loop {
        let ended = tokio::select! {
            _ = &mut stop => break Ok(()),
            ended = watcher.follow(&mut lost_at, &mut pause) => ended,
        };
        let reason = match ended {
            Ended::Fatal(error) => break Err(error),
            Ended::Lost(reason) => reason,
        };
        if lost_at.is_none() {
            lost_at = Some(Instant::now());
            eprintln!(
                "lost the server at {} ({reason}); reconnecting by itself, Ctrl-C to stop",
                cli.server
            );
        }
        watcher.cursor.save()?;
        let wait = pause.next();
        tokio::select! {
            _ = &mut stop => break Ok(()),
            () = tokio::time::sleep(wait) => {}
        }
    };
    watcher.cursor.save()?;
    outcome
}

/// Why one connection ended.
enum Ended {
    /// Worth trying again: the server went away or could not be reached.
    Lost(String),
    /// Trying again would not help (a revoked login, a config not saved).
    Fatal(anyhow::Error),
}

struct Watcher<'a> {
    session: &'a Session,
    directory: Directory,
    cursor: CursorKeeper<'a>,
    /// Accounts whose profile was asked for already, found or not.
    looked_up: HashSet<String>,
}

impl Watcher<'_> {
    /// One connection: connect, replay from the cursor, then print live
    /// events until it ends. `lost_at` is set while reconnecting; a
    /// connection that opens says it resumed and clears it, and one that
    /// has synced starts the next reconnection's pauses from the first.
    async fn follow(&mut self, lost_at: &mut Option<Instant>, pause: &mut Pause) -> Ended {
        let session = self.session;
        let mut socket = match session.client.connect_socket().await {
            Ok(socket) => socket,
            Err(error) => return lost_or_fatal(session, error),
        };
        let since = self.cursor.latest.clone();
        if let Err(error) = socket.send(&ClientFrame::Sync { since }).await {
            return lost_or_fatal(session, error);
        }
        if let Some(lost) = lost_at.take() {
            eprintln!(
                "reconnected to {} after {:.1} s; resuming from the last event shown",
                session.saved.server,
                lost.elapsed().as_secs_f64()
            );
        }
        // Until `synced`, the replay brings every event after the cursor in
        // order; live pushes may come first, out of order.
        let mut synced = false;
        loop {
            match socket.next().await {
                Some(Ok(Incoming::Event(event))) => {
                    if let Err(error) = self.show(&event, synced).await {
                        return Ended::Fatal(error);
                    }
                }
                Some(Ok(Incoming::Frame(ServerFrame::Synced { cursor }))) => {
                    synced = true;
                    *pause = Pause::default();
                    if let Err(error) = self.cursor.advance(&cursor, SaveWhen::Now) {
                        return Ended::Fatal(error);
                    }
                    eprintln!("(up to date; new events follow as they happen)");
                }
                Some(Ok(Incoming::Frame(ServerFrame::Error { code, detail, .. }))) => {
                    eprintln!("server error: {detail} ({code})");
                }
                // Acks and pongs answer frames this command never sends;
                // someone typing is not worth a line.
                Some(Ok(Incoming::Frame(_) | Incoming::Ephemeral(_))) => {}
                Some(Ok(Incoming::Closed { code, reason })) => return closed(code, &reason),
                // One unreadable message is no reason to stop watching.
                Some(Err(ClientError::Decode(detail))) => {
                    eprintln!("warning: skipped a message the CLI does not understand: {detail}");
                }
                Some(Err(error)) => return lost_or_fatal(session, error),
                None => return Ended::Lost("the connection ended".to_owned()),
            }
        }
    }

    /// Prints an event once and in order (see [`accepts`]).
    async fn show(&mut self, event: &EventView, synced: bool) -> anyhow::Result<()> {
        let latest = self.cursor.latest.as_deref().and_then(position);
        if !accepts(latest, position(&event.cursor), synced) {
            return Ok(());
        }
        self.directory.learn(event);
        let strangers: Vec<String> = render::accounts_named(event)
            .into_iter()
            .filter(|id| !self.directory.knows(id) && self.looked_up.insert(id.clone()))
            .collect();
        self.session
            .name_strangers(&mut self.directory, strangers.iter().map(String::as_str))
            .await;
        println!("{}", render::event_line(event, &self.directory));
        self.cursor.advance(&event.cursor, SaveWhen::Due)
    }
}

/// Whether `watch` prints the event at log position `event`, having
/// printed up to `latest` (`None`: nothing yet, the position before the
/// first entry), on a connection that has or has not had its `synced`.
///
/// - At or before `latest`: a copy (a replay overlapping what was pushed).
/// - `latest + 1`: the next one, printed.
/// - Further on, before `synced`: a live push that overtook the replay,
///   dropped, because the replay brings it after the ones before it.
///   Printing it would move `latest` past them, and they would then be
///   dropped as copies: lost.
/// - Further on, after `synced`: the server sends live events without
///   gaps (it drops a socket rather than skip one), so this means entries
///   that no replay could bring; shown, rather than stall every event
///   after it.
///
/// An event whose cursor the CLI cannot read is shown rather than lost.
fn accepts(latest: Option<i64>, event: Option<i64>, synced: bool) -> bool {
    let Some(event) = event else {
        return true;
    };
    let next = latest.unwrap_or(piazza_domain::LogSeq::START.get()) + 1;
    event == next || (synced && event > next)
}

/// A failed call: a login the server refuses is the end; anything else
/// (no answer, a 5xx, a rate limit) is worth another try.
fn lost_or_fatal(session: &Session, error: ClientError) -> Ended {
    match error {
        ClientError::Api { status: 401, .. } => Ended::Fatal(session.explain(error)),
        ClientError::Transport(detail) => Ended::Lost(detail),
        other => Ended::Lost(other.to_string()),
    }
}

/// The server closed the socket: a revocation ends the watch, anything
/// else (shutting down, a full queue) is a reason to come back.
fn closed(code: u16, reason: &str) -> Ended {
    let said = if reason.is_empty() {
        format!("closed with code {code}")
    } else {
        format!("closed with code {code}: {reason}")
    };
    match code {
        4001 => Ended::Fatal(anyhow!(
            "this device was revoked ({said}): run `piazza login` again"
        )),
        _ => Ended::Lost(said),
    }
}

/// The pauses between reconnection tries: doubling from
/// [`RECONNECT_FIRST_MS`] to [`RECONNECT_MAX_MS`], each with up to a fifth
/// taken off at random so that many watchers do not come back in step.
#[derive(Debug, Default)]
struct Pause {
    tries: u32,
}

impl Pause {
    fn next(&mut self) -> Duration {
        let full = pause_ms(self.tries);
        self.tries = self.tries.saturating_add(1);
        let jitter = rand::random::<u64>() % (full / 5 + 1);
        Duration::from_millis(full - jitter)
    }
}

/// The pause before try `tries` (0-based), without jitter.
fn pause_ms(tries: u32) -> u64 {
    RECONNECT_FIRST_MS
        .saturating_mul(1u64 << tries.min(20))
        .min(RECONNECT_MAX_MS)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SaveWhen {
    Now,
    /// Only if the last save is older than `CURSOR_SAVE_INTERVAL_MS`.
    Due,
}

/// The latest cursor `watch` has seen, and when it last reached the file.
struct CursorKeeper<'a> {
    cli: &'a Cli,
    saved: &'a super::SavedAccount,
    latest: Option<String>,
    unsaved: bool,
    saved_at: Instant,
}

impl<'a> CursorKeeper<'a> {
    fn new(cli: &'a Cli, saved: &'a super::SavedAccount) -> CursorKeeper<'a> {
        CursorKeeper {
            cli,
            saved,
            latest: saved.cursor.clone(),
            unsaved: false,
            saved_at: Instant::now(),
        }
    }

    /// Whether `cursor` is past the latest one seen (a cursor the CLI
    /// cannot read counts as past it).
    fn is_new(&self, cursor: &str) -> bool {
        match (position(cursor), self.latest.as_deref().and_then(position)) {
            (Some(event), Some(latest)) => event > latest,
            _ => true,
        }
    }

    fn advance(&mut self, cursor: &str, when: SaveWhen) -> anyhow::Result<()> {
        // A cursor never goes back (a `synced` may name the one we have).
        if self.latest.is_some() && !self.is_new(cursor) {
            return if when == SaveWhen::Now {
                self.save()
            } else {
                Ok(())
            };
        }
        self.latest = Some(cursor.to_owned());
        self.unsaved = true;
        let interval = Duration::from_millis(CURSOR_SAVE_INTERVAL_MS);
        if when == SaveWhen::Now || self.saved_at.elapsed() >= interval {
            self.save()?;
        }
        Ok(())
    }

    fn save(&mut self) -> anyhow::Result<()> {
        let Some(latest) = self.latest.as_deref().filter(|_| self.unsaved) else {
            return Ok(());
        };
        config::update(&self.cli.config_path, |config| {
            config.set_cursor(&self.saved.server, &self.saved.username, latest);
        })
        .context("cannot save how far `watch` got")?;
        self.unsaved = false;
        self.saved_at = Instant::now();
        Ok(())
    }
}

/// The log position a cursor names.
fn position(cursor: &str) -> Option<i64> {
    piazza_domain::Cursor::parse(cursor)
        .ok()
        .map(|cursor| cursor.log_seq().get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_up_to_a_cap_with_a_little_jitter() {
        let pauses: Vec<u64> = (0..8).map(pause_ms).collect();
        assert_eq!(
            pauses,
            [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]
        );
        assert_eq!(pause_ms(u32::MAX), RECONNECT_MAX_MS);
        let mut pause = Pause::default();
        for tries in 0..10 {
            let full = pause_ms(tries);
            let got = pause.next().as_millis() as u64;
            assert!(
                got <= full && got >= full - full / 5,
                "{tries}: {got} of {full}"
            );
        }
    }

    #[test]
    fn a_revocation_ends_the_watch_and_anything_else_is_retried() {
        assert!(matches!(closed(4001, "device revoked"), Ended::Fatal(_)));
        for code in [1001, 4008, 1006, 1011] {
            assert!(matches!(closed(code, ""), Ended::Lost(_)), "{code}");
        }
        let Ended::Lost(said) = closed(1001, "server shutting down") else {
            panic!("lost");
        };
        assert_eq!(said, "closed with code 1001: server shutting down");
    }

    /// Which of a connection's events `watch` prints, in order.
    fn printed(latest: Option<i64>, arriving: &[Arriving]) -> Vec<i64> {
        let mut latest = latest;
        let mut synced = false;
        let mut shown = Vec::new();
        for arriving in arriving {
            match *arriving {
                Arriving::Event(at) => {
                    if accepts(latest, Some(at), synced) {
                        shown.push(at);
                        latest = Some(at);
                    }
                }
                Arriving::Synced(at) => {
                    synced = true;
                    latest = latest.max(Some(at));
                }
            }
        }
        shown
    }

    enum Arriving {
        Event(i64),
        Synced(i64),
    }

    /// After event 100, the server pushes a live 105 before it has read
    /// the `sync` and replayed 101–105: printing 105 at once would make
    /// 101–104 look like copies and lose them.
    #[test]
    fn a_live_event_that_overtakes_the_replay_loses_nothing() {
        use Arriving::{Event, Synced};
        let connection = [
            Event(105),
            Event(101),
            Event(102),
            Event(103),
            Event(104),
            Event(105),
            Synced(105),
            Event(105),
            Event(106),
        ];
        assert_eq!(
            printed(Some(100), &connection),
            [101, 102, 103, 104, 105, 106]
        );
        // From the very beginning, likewise.
        let first = [Event(2), Event(1), Event(2), Synced(2), Event(3)];
        assert_eq!(printed(None, &first), [1, 2, 3]);
        // A jump after `synced` cannot be replayed: shown, not stalled on.
        assert_eq!(printed(Some(4), &[Synced(4), Event(7), Event(8)]), [7, 8]);
        assert!(
            accepts(Some(4), None, false),
            "an unreadable cursor is shown"
        );
    }

    #[test]
    fn positions_order_cursors() {
        let at = |seq: i64| {
            piazza_domain::Cursor::at(piazza_domain::LogSeq::from_stored(seq)).to_string()
        };
        assert_eq!(position(&at(7)), Some(7));
        assert!(position(&at(12)) > position(&at(9)));
        assert_eq!(position("garbage"), None);
    }
}
