//! The sweeper: one task that does what the clock alone decides. Every
//! second it returns expired chat transfers to their senders, refunds the
//! unclaimed rest of expired red packets and lapses collections the buyer
//! did not confirm, cancels shop orders unpaid by their deadline and
//! confirms those shipped long enough ago, erases accounts deleted
//! longer ago than their grace period and deletes their media's bytes;
//! every minute it deletes idempotency keys past their
//! retention and long-expired payment codes. Each is a store job of at
//! most [`SWEEP_BATCH`] rows, repeated until a short batch says nothing
//! is left, so one sweep never holds the writer for long; the media
//! store's deletes, slower, go [`PURGES_PER_SWEEP`] a sweep, never
//! drained.
//!
//! Of a cluster's nodes only one sweeps at a time: the one holding the
//! sweeper's lease (`piazza_core::leases`), taken or renewed before each
//! sweep for [`LEASE_TTL`]. A node that dies stops renewing it, and
//! another takes over within that time. (Were two to sweep at once, each
//! money job locks its rows `SKIP LOCKED`, and an erase locks the account
//! and reads its deletion again, so nothing would be done twice.)

use std::future::Future;
use std::time::Duration;

use piazza_core::leases::LeaseName;
use piazza_domain::store::StoreResult;
use piazza_domain::{Rejection, StoreError, Timestamp};

use crate::App;
use crate::config::ms;

/// How long a sweep's lease lasts: another node takes over this long
/// after the sweeping one died.
pub const LEASE_TTL: Duration = Duration::from_secs(10);

/// Rows one sweeping job touches at most.
pub const SWEEP_BATCH: u32 = 500;
/// Erased media's bytes deleted from the media store per sweep, at most.
const PURGES_PER_SWEEP: u32 = 20;
/// Sweeps between two purges of idempotency keys and payment codes.
const SWEEPS_PER_PURGE: u64 = 60;
/// Expired payment codes are kept this long, so a late scan still hears
/// "expired" rather than "not found".
const EXPIRED_CODES_KEPT_MS: i64 = 24 * 60 * 60 * 1000;

/// Sweeps every `every` until the server shuts down.
pub async fn run(app: App, every: Duration) {
    let mut sweeps: u64 = 0;
    let holder = format!("{:016x}", app.node);
    loop {
        tokio::select! {
            () = app.shutdown.cancelled() => {
                // Another node need not wait out the lease.
                let _ = app.store.release_lease(LeaseName::Sweeper, holder).await;
                return;
            }
            () = tokio::time::sleep(every) => {}
        }
        let store = &app.store;
        match store
            .take_lease(LeaseName::Sweeper, holder.clone(), LEASE_TTL)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(%error, "the sweeper's lease could not be taken");
                continue;
            }
        }
        drain("returning expired transfers", || {
            store.return_expired_transfers(Timestamp::now(), SWEEP_BATCH)
        })
        .await;
        drain("refunding expired red packets", || {
            store.refund_expired_red_packets(Timestamp::now(), SWEEP_BATCH)
        })
        .await;
        drain("lapsing unconfirmed collections", || {
            store.lapse_unconfirmed_payments(Timestamp::now(), SWEEP_BATCH)
        })
        .await;
        drain("expiring and confirming shop orders", || {
            store.sweep_orders(Timestamp::now(), app.limits.order_policy(), SWEEP_BATCH)
        })
        .await;
        drain("erasing deleted accounts", || {
            store.erase_deleted_accounts(Timestamp::now(), app.currency, SWEEP_BATCH)
        })
        .await;
        // A few each sweep, not drained: each is a few deletes in the
        // media store, and the money jobs above must not wait on them.
        if let Err(error) = store.purge_erased_blobs(PURGES_PER_SWEEP).await {
            tracing::warn!(%error, "deleting erased media from the media store failed");
        }
        if sweeps.is_multiple_of(SWEEPS_PER_PURGE) {
            drain("purging idempotency keys and payment codes", || {
                let now = Timestamp::now().unix_ms();
                store.purge_money_housekeeping(
                    Timestamp::from_unix_ms(
                        now.saturating_sub(ms(app.limits.idempotency_key_retention_s)),
                    ),
                    Timestamp::from_unix_ms(now.saturating_sub(EXPIRED_CODES_KEPT_MS)),
                    SWEEP_BATCH,
                )
            })
            .await;
            sweep_staged_uploads(&app).await;
        }
        sweeps = sweeps.wrapping_add(1);
    }
}

/// Staged uploads untouched for twice an upload's deadline were cut off
/// by a crash: nothing will ever finish them.
async fn sweep_staged_uploads(app: &App) {
    let older_than = Duration::from_secs(app.limits.media_upload_timeout_s.saturating_mul(2));
    match app.store.sweep_staged_uploads(older_than).await {
        Ok(0) => {}
        Ok(deleted) => tracing::info!(deleted, "deleted uploads a crash cut off"),
        Err(error) => tracing::warn!(%error, "sweeping staged uploads"),
    }
}

/// Runs `job` until it touches fewer than a whole batch (or fails: the
/// next sweep tries again).
async fn drain<F, Fut>(what: &str, mut job: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<usize>>,
{
    loop {
        match job().await {
            Ok(done) if done >= SWEEP_BATCH as usize => continue,
            Ok(_) => return,
            // Said once, loudly, by the store's verifier.
            Err(StoreError::Rejected(Rejection::MoneyHalted)) => return,
            Err(error) => {
                tracing::warn!(%error, "{what} failed");
                return;
            }
        }
    }
}
