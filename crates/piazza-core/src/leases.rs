//! Leases: a job that must run once across every node of a cluster (the
//! sweeper) runs only on the node holding its lease, a row of the
//! database with a holder and a deadline. The holder renews it well
//! before the deadline; a node that dies stops renewing, and another
//! takes the lease once the deadline has passed. A lease is a row, not an
//! advisory lock, so it works on any engine, PostgreSQL-wire distributed
//! ones included, and outlives no one: a deadline always ends it.

use std::time::Duration;

use piazza_domain::Timestamp;
use piazza_domain::store::StoreResult;

use crate::Core;
use crate::engine::{Result, Tx};

/// The leases there are: each engine's schema holds one row of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseName {
    /// Expiries, auto-confirms and purges (`piazza-server`'s sweeper).
    Sweeper,
    /// Search's indexer (`piazza-server`'s `search_indexer`).
    SearchIndexer,
}

impl LeaseName {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaseName::Sweeper => "sweeper",
            LeaseName::SearchIndexer => "search_indexer",
        }
    }
}

/// A lease as kept: who holds it, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub holder: String,
    pub until: Timestamp,
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    /// The lease `name`, locked for the rest of the transaction.
    fn lease_for_update(&mut self, name: LeaseName) -> Result<Lease>;
    fn set_lease(&mut self, name: LeaseName, lease: &Lease) -> Result<()>;
    /// The time by the store's clock: the one clock every node sharing
    /// the store reads alike (the database server's), so that deadlines
    /// one node writes and another compares do not depend on how far
    /// apart the nodes' own clocks are.
    fn store_clock(&mut self) -> Result<Timestamp>;
}

/// Takes or renews `name` for `holder` until `now + ttl`, unless another
/// holder's lease runs past `now`. Answers whether `holder` holds it.
pub fn take(
    tx: &mut dyn Tx,
    name: LeaseName,
    holder: &str,
    now: Timestamp,
    ttl: Duration,
) -> Result<bool> {
    let current = tx.lease_for_update(name)?;
    if current.holder != holder && current.until > now {
        return Ok(false);
    }
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let lease = Lease {
        holder: holder.to_owned(),
        until: Timestamp::from_unix_ms(now.unix_ms().saturating_add(ttl_ms)),
    };
    assert!(lease.until > now, "a lease taken runs past now");
    tx.set_lease(name, &lease)?;
    Ok(true)
}

/// Gives `name` up if `holder` holds it (a node shutting down), so
/// another may take it at once rather than after its deadline.
pub fn release(tx: &mut dyn Tx, name: LeaseName, holder: &str, now: Timestamp) -> Result<()> {
    let current = tx.lease_for_update(name)?;
    if current.holder == holder && current.until > now {
        tx.set_lease(
            name,
            &Lease {
                holder: current.holder,
                until: now,
            },
        )?;
    }
    Ok(())
}

impl Core {
    /// [`release`], in a job of its own.
    pub async fn release_lease(&self, name: LeaseName, holder: String) -> StoreResult<()> {
        self.write(move |tx| {
            let now = tx.store_clock()?;
            release(tx, name, &holder, now)
        })
        .await
    }

    /// [`take`], in a job of its own.
    pub async fn take_lease(
        &self,
        name: LeaseName,
        holder: String,
        ttl: Duration,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            let now = tx.store_clock()?;
            take(tx, name, &holder, now, ttl)
        })
        .await
    }
}
