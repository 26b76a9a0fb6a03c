//! The channels' background fan-out: tells each follower's log of the
//! articles their channels published (`piazza_core::channels::
//! fan_out_step`), one chunk of followers per writer job, until no task
//! is left. A publish wakes it at once; it also looks every second, for
//! tasks left by a restart or by another process. The publish never
//! waits for it: see ARCHITECTURE.md, "Channels: publishing to a million
//! followers".

use std::time::Duration;

use crate::App;

/// How often it looks for tasks without being woken.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Runs until the server shuts down, telling `chunk` followers a job
/// (`piazza_domain::channel::FANOUT_CHUNK` but in tests).
pub async fn run(app: App, chunk: usize) {
    loop {
        drain(&app, chunk).await;
        tokio::select! {
            () = app.shutdown.cancelled() => return,
            () = app.fanout_wake.notified() => {}
            () = tokio::time::sleep(LOOK_EVERY) => {}
        }
    }
}

/// Steps until no task is left (or a step fails: the next look tries
/// again), each step its own writer job, so chat and other jobs queue
/// between two chunks rather than behind a whole fan-out.
async fn drain(app: &App, chunk: usize) {
    while !app.shutdown.is_cancelled() {
        match app.store.fan_out_step(chunk).await {
            Ok(0) => return,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "a channel's fan-out step failed");
                return;
            }
        }
    }
}
