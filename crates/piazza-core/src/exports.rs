//! Exports: everything an account holds, taken away as one zip
//! (`POST /api/v1/exports`). A row records an export asked for; the zip
//! is made as it is downloaded, from what the account holds then, so the
//! server never keeps or holds a whole export (`piazza_server::export`).
//! An account may ask for [`EXPORTS_PER_DAY`] a day.
//!
//! A download takes the account's token, or a link to one export
//! ([`make_link`]): a secret the server keeps only the SHA-256 of, good
//! once and for [`LINK_TTL_MS`]. A browser hands a download to its
//! download manager, which streams it to disk and shows its progress, but
//! cannot send a token with it.

use piazza_domain::store::StoreResult;
use piazza_domain::{AccountId, ExportId, Rejection, Timestamp};

use crate::Core;
use crate::engine::{Read, Result, Tx};

/// Exports an account may ask for in 24 hours: each reads its whole
/// history.
pub const EXPORTS_PER_DAY: usize = 3;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// How long a download link is good for, unused.
pub const LINK_TTL_MS: i64 = 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Export {
    pub id: ExportId,
    pub account: AccountId,
    pub created_at: Timestamp,
}

/// An export asked for, or when the next may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    Made(Export),
    Wait(Timestamp),
}

/// The queries of this area, as every engine answers them.
pub trait Reads {
    fn export(&mut self, id: ExportId) -> Result<Option<Export>>;
    /// When `account` asked for its exports since `since`, oldest first.
    fn exports_since(&mut self, account: AccountId, since: Timestamp) -> Result<Vec<Timestamp>>;
    /// The export a link with this secret is for, and until when.
    fn export_link(&mut self, secret_sha256: &[u8; 32]) -> Result<Option<(ExportId, Timestamp)>>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    fn insert_export(&mut self, account: AccountId, at: Timestamp) -> Result<ExportId>;
    /// A link to `export` by its secret's SHA-256; drops the export's
    /// links that expired by `now`.
    fn insert_export_link(
        &mut self,
        export: ExportId,
        secret_sha256: &[u8; 32],
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<()>;
    /// Deletes the link with this secret; `false` if there was none (a
    /// download beside this one took it first).
    fn take_export_link(&mut self, secret_sha256: &[u8; 32]) -> Result<bool>;
}

/// A new export of `account`, unless it asked for [`EXPORTS_PER_DAY`] in
/// the last day (its row locked, so two asking at once count both).
pub fn ask(tx: &mut dyn Tx, account: AccountId) -> Result<Asked> {
    tx.account_for_update(account)?;
    let now = tx.now();
    let since = Timestamp::from_unix_ms(now.unix_ms() - DAY_MS);
    let asked = tx.reads().exports_since(account, since)?;
    if asked.len() >= EXPORTS_PER_DAY {
        let oldest = asked[asked.len() - EXPORTS_PER_DAY];
        return Ok(Asked::Wait(Timestamp::from_unix_ms(
            oldest.unix_ms() + DAY_MS,
        )));
    }
    let id = tx.insert_export(account, now)?;
    Ok(Asked::Made(Export {
        id,
        account,
        created_at: now,
    }))
}

/// `account`'s export `id`; another's is one that does not exist.
pub fn export_of(read: &mut dyn Read, account: AccountId, id: ExportId) -> Result<Export> {
    match read.export(id)? {
        Some(export) if export.account == account => Ok(export),
        _ => Err(Rejection::ExportNotFound.into()),
    }
}

/// A link that downloads `account`'s export `id` once, without a token,
/// until the time answered.
pub fn make_link(
    tx: &mut dyn Tx,
    account: AccountId,
    id: ExportId,
    secret_sha256: &[u8; 32],
) -> Result<Timestamp> {
    export_of(tx.reads(), account, id)?;
    let now = tx.now();
    let expires_at = Timestamp::from_unix_ms(now.unix_ms() + LINK_TTL_MS);
    tx.insert_export_link(id, secret_sha256, expires_at, now)?;
    Ok(expires_at)
}

/// The export `id` a link with this secret downloads, the link left as
/// it is (a download refused for now must not use it up): see
/// [`redeem_link`].
pub fn linked_export(
    read: &mut dyn Read,
    id: ExportId,
    secret_sha256: &[u8; 32],
    now: Timestamp,
) -> Result<Export> {
    let link = read.export_link(secret_sha256)?;
    let Some((linked, expires_at)) = link.filter(|&(linked, _)| linked == id) else {
        return Err(Rejection::ExportNotFound.into());
    };
    let export = read.export(linked)?.ok_or(Rejection::ExportNotFound)?;
    if expires_at <= now || read.is_deleted(export.account)? {
        return Err(Rejection::ExportNotFound.into());
    }
    Ok(export)
}

/// The export `id` a link with this secret downloads, using the link up:
/// `ExportNotFound` for a link used already, expired, for another export,
/// or of an account deleted since, as for a link that never was.
pub fn redeem_link(tx: &mut dyn Tx, id: ExportId, secret_sha256: &[u8; 32]) -> Result<Export> {
    let now = tx.now();
    let export = linked_export(tx.reads(), id, secret_sha256, now)?;
    // Two downloads of one link at once: only one takes it.
    if !tx.take_export_link(secret_sha256)? {
        return Err(Rejection::ExportNotFound.into());
    }
    Ok(export)
}

impl Core {
    pub async fn export_link(
        &self,
        account: AccountId,
        id: ExportId,
        secret_sha256: [u8; 32],
    ) -> StoreResult<Timestamp> {
        self.write(move |tx| make_link(tx, account, id, &secret_sha256))
            .await
    }

    pub async fn linked_export(
        &self,
        id: ExportId,
        secret_sha256: [u8; 32],
    ) -> StoreResult<Export> {
        self.read(move |read| linked_export(read, id, &secret_sha256, Timestamp::now()))
            .await
    }

    pub async fn redeem_export_link(
        &self,
        id: ExportId,
        secret_sha256: [u8; 32],
    ) -> StoreResult<Export> {
        self.write(move |tx| redeem_link(tx, id, &secret_sha256))
            .await
    }

    pub async fn ask_export(&self, account: AccountId) -> StoreResult<Asked> {
        self.write(move |tx| ask(tx, account)).await
    }

    pub async fn export(&self, account: AccountId, id: ExportId) -> StoreResult<Export> {
        self.read(move |read| export_of(read, account, id)).await
    }
}
