//! Search's indexer as a task: the node holding the indexer's lease
//! (`piazza_core::leases`) runs `piazza_core::search::indexer` a batch at
//! a time — at once while messages wait, every [`IDLE_PAUSE`] once it has
//! caught up. A node that loses the lease forgets what it read, and the
//! next holder goes on from the stored watermark: an existing server's
//! history is indexed by the same loop, resumably, after an upgrade.

use std::time::{Duration, Instant};

use piazza_core::leases::LeaseName;
use piazza_core::search::indexer::Indexer;

use crate::App;
use crate::sweeper::LEASE_TTL;

/// Messages one indexing job takes at most.
pub const BATCH: u32 = 1000;
/// The pause once nothing waits: how stale search may be, at most, beyond
/// a batch's own time.
const IDLE_PAUSE: Duration = Duration::from_millis(200);
/// The pause after a failure (the store down, say).
const FAILED_PAUSE: Duration = Duration::from_secs(1);
/// How often the lease is renewed while indexing.
const RENEW_EVERY: Duration = Duration::from_secs(2);

/// Indexes until the server shuts down.
pub async fn run(app: App) {
    let holder = format!("{:016x}", app.node);
    let mut indexer = Indexer::new();
    let mut renewed: Option<Instant> = None;
    loop {
        if renewed.is_none_or(|at| at.elapsed() >= RENEW_EVERY) {
            match app
                .store
                .take_lease(LeaseName::SearchIndexer, holder.clone(), LEASE_TTL)
                .await
            {
                Ok(true) => renewed = Some(Instant::now()),
                Ok(false) | Err(_) => {
                    renewed = None;
                    indexer.reset();
                }
            }
        }
        let pause = match renewed {
            None => LEASE_TTL / 4,
            Some(_) => match indexer.step(&app.store, BATCH).await {
                Ok(step) if !step.caught_up => Duration::ZERO,
                Ok(_) => IDLE_PAUSE,
                Err(error) => {
                    tracing::warn!(%error, "search indexing failed; trying again");
                    FAILED_PAUSE
                }
            },
        };
        tokio::select! {
            () = app.shutdown.cancelled() => {
                let _ = app.store.release_lease(LeaseName::SearchIndexer, holder).await;
                return;
            }
            () = tokio::time::sleep(pause) => {}
        }
    }
}
