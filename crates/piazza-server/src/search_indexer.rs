//! Search's indexer as a task: the node holding the indexer's lease
//! (`piazza_core::leases`) runs `piazza_core::search::indexer` a batch at
//! a time — at once while messages wait; once it has caught up, when the
//! hub says something was logged (here or on another node), or after
//! [`IDLE_PAUSE`]. A node that loses the lease forgets what it read, and the
//! next holder goes on from the stored watermark: an existing server's
//! history is indexed by the same loop, resumably, after an upgrade.

use std::time::{Duration, Instant};

use piazza_core::leases::LeaseName;
use piazza_core::search::indexer::Indexer;

use crate::App;
use crate::sweeper::LEASE_TTL;

/// Messages one indexing job takes at most.
pub const BATCH: u32 = 1000;
/// Once caught up, the indexer waits for something to be logged (the
/// hub's poke, for commits here and what other nodes tell), or this long
/// at most: a message committed elsewhere while the bus is down is
/// indexed within it.
const IDLE_PAUSE: Duration = Duration::from_secs(2);
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
        let logged = match pause == IDLE_PAUSE {
            true => futures_util::future::Either::Left(app.hub.something_logged()),
            false => futures_util::future::Either::Right(std::future::pending()),
        };
        tokio::select! {
            () = app.shutdown.cancelled() => {
                let _ = app.store.release_lease(LeaseName::SearchIndexer, holder).await;
                return;
            }
            () = tokio::time::sleep(pause) => {}
            () = logged => {}
        }
    }
}
