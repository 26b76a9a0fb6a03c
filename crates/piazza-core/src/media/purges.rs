//! Deleting the bytes of media no one may be shown any more (an erased
//! account's: `account_deletion::erase_next` queues every content no
//! media still served holds), while others may be uploading the same
//! bytes: blobs are named by their content, so two accounts' uploads of
//! one picture are one blob.
//!
//! An upload stores its bytes before its media row commits. So the rules:
//!
//! - an upload first *pins* its bytes ([`pin_upload`], a job of its own,
//!   before it stores them), refused while a purge of them is claimed;
//! - a sweeper *claims* a purge ([`claim_next`]) only of bytes no upload
//!   has pinned and no media still served holds, then deletes every key
//!   of them from the blob store, then *finishes* the purge; a claim is a
//!   token (when it was made), so a claim taken over from a sweeper gone
//!   for [`CLAIM_STALE_MS`] is finished only by its new holder;
//! - the upload's media row drops the pin and any purge of its bytes not
//!   yet claimed (in [`super::insert`]).
//!
//! Whatever the interleaving, a media row that commits finds its bytes
//! stored: its upload pinned them before storing, and no purge claimed
//! after the pin deletes them. A purge whose deletes fail is released
//! and tried again after [`RETRY_MS`], behind the others. Each step locks
//! the bytes first (`Writes::blob_purge_for_update`), so on PostgreSQL's
//! several writers they take turns.

use piazza_domain::Timestamp;

use crate::engine::{Error, Result, Tx};

/// A claim older than this was given up by its sweeper (a node died):
/// another may take it over.
pub const CLAIM_STALE_MS: i64 = 10 * 60 * 1000;
/// How long a sweeper spends deleting one claim's keys before it gives
/// the claim up (released, tried again later): far less than
/// [`CLAIM_STALE_MS`], so a claim taken over is never still deleting.
pub const DELETES_MAX_MS: u64 = 2 * 60 * 1000;
/// How long a purge whose deletes failed waits to be tried again.
pub const RETRY_MS: i64 = 60 * 60 * 1000;
/// How long a pin holds at most: longer than any upload takes to store
/// its bytes and commit its row.
pub const PIN_MS: i64 = 30 * 60 * 1000;
/// Purges looked at for one claim.
const CANDIDATES: u32 = 16;

/// A queued purge, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purge {
    /// When a sweeper claimed it; `None` while it waits.
    pub claimed_at: Option<Timestamp>,
    pub retry_at: Timestamp,
}

/// A purge a sweeper claimed: it deletes the bytes, then finishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub sha256: [u8; 32],
    pub claimed_at: Timestamp,
}

/// The queries of this area, as every engine answers them.
pub trait Reads {
    /// Whether a media still served holds these bytes.
    fn bytes_held(&mut self, sha256: &[u8; 32]) -> Result<bool>;
    /// Whether an upload pinned these bytes until after `now`.
    fn bytes_pinned(&mut self, sha256: &[u8; 32], now: Timestamp) -> Result<bool>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    /// The purge of these bytes, if one is queued, with the bytes locked
    /// until the transaction ends (PostgreSQL: an advisory lock on them,
    /// the one an erase takes; SQLite's one writer needs none).
    fn blob_purge_for_update(&mut self, sha256: &[u8; 32]) -> Result<Option<Purge>>;
    /// Purges that may be claimed at `now` (waiting and due, or claimed
    /// before `stale_before`), the longest waiting first; unlocked.
    fn blob_purges_due(
        &mut self,
        now: Timestamp,
        stale_before: Timestamp,
        limit: u32,
    ) -> Result<Vec<[u8; 32]>>;
    fn set_blob_purge(&mut self, sha256: &[u8; 32], purge: Purge) -> Result<()>;
    fn delete_blob_purge(&mut self, sha256: &[u8; 32]) -> Result<()>;
    /// Pins these bytes until `until` (a pin already there is moved).
    fn pin_bytes(&mut self, sha256: &[u8; 32], until: Timestamp) -> Result<()>;
    fn unpin_bytes(&mut self, sha256: &[u8; 32]) -> Result<()>;
}

/// The answer to an upload of bytes a sweeper is deleting.
fn being_deleted() -> Error {
    Error::Engine("these bytes are being deleted from the media store: upload them again".into())
}

/// Before an upload stores its bytes: pins them, unless a purge of them
/// is claimed (refused: the sweeper may delete them under it).
pub fn pin_upload(tx: &mut dyn Tx, sha256: &[u8; 32]) -> Result<()> {
    if let Some(purge) = tx.blob_purge_for_update(sha256)?
        && purge.claimed_at.is_some()
    {
        return Err(being_deleted());
    }
    let until = Timestamp::from_unix_ms(tx.now().unix_ms() + PIN_MS);
    tx.pin_bytes(sha256, until)
}

/// With an upload's media row: drops its pin, and the purge of its bytes
/// if one waits (they are held again). A claimed one cannot be: the pin
/// kept it from being claimed.
pub fn settle_upload(tx: &mut dyn Tx, sha256: &[u8; 32]) -> Result<()> {
    // The bytes' lock first, as `pin_upload` takes it: two uploads of the
    // same bytes take turns rather than wait on each other.
    let purge = tx.blob_purge_for_update(sha256)?;
    tx.unpin_bytes(sha256)?;
    match purge {
        Some(purge) if purge.claimed_at.is_some() => Err(being_deleted()),
        Some(_) => tx.delete_blob_purge(sha256),
        None => Ok(()),
    }
}

/// Claims the next purge whose bytes no upload pinned and no media still
/// served holds (dropping those held again), if any.
pub fn claim_next(tx: &mut dyn Tx) -> Result<Option<Claim>> {
    let now = tx.now();
    let stale_before = Timestamp::from_unix_ms(now.unix_ms() - CLAIM_STALE_MS);
    for sha256 in tx.blob_purges_due(now, stale_before, CANDIDATES)? {
        // Looked at again under the bytes' lock.
        let Some(purge) = tx.blob_purge_for_update(&sha256)? else {
            continue;
        };
        let due = match purge.claimed_at {
            None => purge.retry_at <= now,
            Some(claimed_at) => claimed_at < stale_before,
        };
        if !due || tx.reads().bytes_pinned(&sha256, now)? {
            continue;
        }
        if tx.reads().bytes_held(&sha256)? {
            tx.delete_blob_purge(&sha256)?;
            continue;
        }
        let claimed = Purge {
            claimed_at: Some(now),
            ..purge
        };
        tx.set_blob_purge(&sha256, claimed)?;
        return Ok(Some(Claim {
            sha256,
            claimed_at: now,
        }));
    }
    Ok(None)
}

/// The claim's bytes are deleted: the purge is done, if it is still this
/// claim's (not taken over).
pub fn finish(tx: &mut dyn Tx, claim: Claim) -> Result<()> {
    match tx.blob_purge_for_update(&claim.sha256)? {
        Some(purge) if purge.claimed_at == Some(claim.claimed_at) => {
            tx.delete_blob_purge(&claim.sha256)
        }
        _ => Ok(()),
    }
}

/// The claim's deletes failed: it waits [`RETRY_MS`], behind the others.
pub fn release(tx: &mut dyn Tx, claim: Claim) -> Result<()> {
    let retry_at = Timestamp::from_unix_ms(tx.now().unix_ms() + RETRY_MS);
    match tx.blob_purge_for_update(&claim.sha256)? {
        Some(purge) if purge.claimed_at == Some(claim.claimed_at) => {
            let waiting = Purge {
                claimed_at: None,
                retry_at,
            };
            tx.set_blob_purge(&claim.sha256, waiting)
        }
        _ => Ok(()),
    }
}
