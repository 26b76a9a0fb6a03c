//! Contact codes: an account's QR code that, scanned, sends it a contact
//! request. The code is a random token (`piazza_domain::ContactCode`), not
//! the account's id or name, so it says nothing until its owner shares
//! it, and a reset revokes it at once: the old token then belongs to
//! nobody. An account has one code at a time, made on first read.
//!
//! Asking by code is asking by username under the same rules
//! (`contacts::request_account`); only the lookup differs, and an unknown
//! or revoked code is one `ContactCodeNotFound` whatever the reason.

use piazza_domain::store::StoreResult;
use piazza_domain::{AccountId, ContactCode, ContactRequestId, Greeting, Rejection, Timestamp};

use crate::Core;
use crate::engine::{Error, Result, Tx};

/// The queries of this area, as every engine answers them.
pub trait Reads {
    /// `account`'s current code, if it has one yet.
    fn contact_code(&mut self, account: AccountId) -> Result<Option<ContactCode>>;
    /// Whose current code `code` is (a revoked one is nobody's).
    fn contact_code_owner(&mut self, code: &ContactCode) -> Result<Option<AccountId>>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    /// `account`'s code is `code` from `at`, unless it has one already
    /// (then nothing changes: `false`).
    fn insert_contact_code(
        &mut self,
        account: AccountId,
        code: &ContactCode,
        at: Timestamp,
    ) -> Result<bool>;
    /// `account`'s code is `code` from `at`, in place of any it had, which
    /// is nobody's from then on.
    fn replace_contact_code(
        &mut self,
        account: AccountId,
        code: &ContactCode,
        at: Timestamp,
    ) -> Result<()>;
}

/// `account`'s code, `fresh` if it had none (two first reads at once both
/// answer the one that was stored first).
pub fn ensure_code(
    tx: &mut dyn Tx,
    account: AccountId,
    fresh: &ContactCode,
) -> Result<ContactCode> {
    let now = tx.now();
    if tx.insert_contact_code(account, fresh, now)? {
        return Ok(fresh.clone());
    }
    tx.reads().contact_code(account)?.ok_or_else(|| {
        Error::Corrupt(format!(
            "{account}'s contact code was neither new nor found"
        ))
    })
}

/// `account`'s code is `fresh` from now on; the old one is nobody's.
pub fn reset_code(tx: &mut dyn Tx, account: AccountId, fresh: &ContactCode) -> Result<ContactCode> {
    let now = tx.now();
    tx.replace_contact_code(account, fresh, now)?;
    Ok(fresh.clone())
}

/// `from` asks the owner of `code`, as `contacts::request_account` would
/// by username: one's own code is `SelfTarget`, a block either way
/// `Blocked`, and so on.
pub fn request_by_code(
    tx: &mut dyn Tx,
    from: AccountId,
    code: &ContactCode,
    greeting: &Greeting,
) -> Result<ContactRequestId> {
    let owner = tx
        .reads()
        .contact_code_owner(code)?
        .ok_or(Rejection::ContactCodeNotFound)?;
    let to = tx
        .reads()
        .account(owner)?
        .ok_or_else(|| Error::missing(owner))?;
    crate::contacts::request_account(tx, from, &to, greeting)
}

impl Core {
    /// `account`'s code, made now if it has none. Read first: once made,
    /// showing it again writes nothing.
    pub async fn contact_code(&self, account: AccountId) -> StoreResult<ContactCode> {
        if let Some(code) = self.read(move |read| read.contact_code(account)).await? {
            return Ok(code);
        }
        let fresh = ContactCode::generate();
        self.write(move |tx| ensure_code(tx, account, &fresh)).await
    }

    /// Revokes `account`'s code and answers its new one.
    pub async fn reset_contact_code(&self, account: AccountId) -> StoreResult<ContactCode> {
        let fresh = ContactCode::generate();
        self.write(move |tx| reset_code(tx, account, &fresh)).await
    }

    /// `from` asks the owner of `code` to be its contact.
    pub async fn request_contact_by_code(
        &self,
        from: AccountId,
        code: ContactCode,
        greeting: Greeting,
    ) -> StoreResult<ContactRequestId> {
        self.write(move |tx| request_by_code(tx, from, &code, &greeting))
            .await
    }
}
