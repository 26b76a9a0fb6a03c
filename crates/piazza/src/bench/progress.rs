//! Progress lines on stderr for the long phases, so a run of minutes shows
//! that it is moving. On a terminal one line is redrawn in place; in a log
//! file a line is written now and then instead.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

/// How often the line is redrawn on a terminal.
const TERMINAL_REFRESH_MS: u64 = 250;
/// How often a line is written when stderr is a file or a pipe.
const LOG_REFRESH_MS: u64 = 5000;

type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// A status line that keeps itself up to date until `finish`.
pub struct StatusLine {
    render: Render,
    ticker: JoinHandle<()>,
    terminal: bool,
}

impl StatusLine {
    /// Starts showing what `render` returns, refreshed periodically.
    pub fn start(render: impl Fn() -> String + Send + Sync + 'static) -> StatusLine {
        let render: Render = Arc::new(render);
        let terminal = std::io::stderr().is_terminal();
        let refresh = Duration::from_millis(if terminal {
            TERMINAL_REFRESH_MS
        } else {
            LOG_REFRESH_MS
        });
        let ticker = tokio::spawn({
            let render = Arc::clone(&render);
            async move {
                // The first line comes after one period: a phase that
                // ends sooner shows only its final line.
                let first = tokio::time::Instant::now() + refresh;
                let mut interval = tokio::time::interval_at(first, refresh);
                loop {
                    interval.tick().await;
                    show(&render(), terminal);
                }
            }
        });
        StatusLine {
            render,
            ticker,
            terminal,
        }
    }

    /// Stops refreshing and leaves the final state on its own line.
    pub fn finish(self) {
        self.ticker.abort();
        let line = (self.render)();
        if self.terminal {
            eprintln!("\r{line}\x1b[K");
        } else {
            eprintln!("{line}");
        }
    }
}

/// A status line for a phase of `total` steps: "label… done/total". Bump
/// the returned counter once per step.
pub fn counting(label: String, total: u64) -> (StatusLine, Arc<AtomicU64>) {
    let done = Arc::new(AtomicU64::new(0));
    let line = StatusLine::start({
        let done = Arc::clone(&done);
        move || format!("{label}… {}/{total}", done.load(Ordering::Relaxed))
    });
    (line, done)
}

fn show(line: &str, terminal: bool) {
    if terminal {
        eprint!("\r{line}\x1b[K");
    } else {
        eprintln!("{line}");
    }
}

/// Polls `outstanding` every `poll` until it reaches zero or `limit` has
/// passed, showing the count as `what… N outstanding`. What is left after
/// it is the caller's to report (lost, undelivered).
pub async fn wait_until_none(
    what: &'static str,
    limit: Duration,
    poll: Duration,
    outstanding: impl Fn() -> u64 + Clone + Send + Sync + 'static,
) {
    let deadline = tokio::time::Instant::now() + limit;
    let status = StatusLine::start({
        let outstanding = outstanding.clone();
        move || format!("{what}… {} outstanding", outstanding())
    });
    while outstanding() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(poll).await;
    }
    status.finish();
}
