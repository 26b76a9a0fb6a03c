//! An account deleted by its owner: deactivated at once, restored by
//! logging in within its grace period, erased after it.
//!
//! Deactivating swaps the account's public face for a deleted one in the
//! same rows everything else reads — username `#<id>` (no username can
//! hold `#`, so none can be taken or looked up as it), display name
//! [`DELETED_DISPLAY_NAME`], no avatar, no bio — and keeps what it was in
//! `account_deletions`, where its username stays reserved. So every list,
//! card, member and message of every area shows "Deleted account" with
//! no change of theirs. Every device is signed out, its sockets closed;
//! its contacts hear `account.updated` as for a rename. `deleted_at` on
//! the account makes [`crate::blocks::not_blocked`] refuse anything that
//! would reach it (a request, a direct message, presence, typing) with
//! `AccountDeleted`, during the grace period and after.
//!
//! Logging in with the password within the grace period swaps the face
//! back ([`restore_if_deleted`]). After it the sweeper erases
//! ([`erase_next`], one account a job): the original face and the
//! password are dropped (the username is free again), contacts are
//! removed (each told), requests, blocks and the contact code deleted,
//! any device left revoked; it leaves its groups (an owner's pass on, as
//! when one leaves; a group picture it uploaded goes) and its orders'
//! conversations, unfollows its channels, is no longer any shop's staff,
//! its own log is deleted and its media are never served again, their
//! bytes deleted from the blob store unless another account's media hold
//! the same ones. Its messages stay in others' conversations, from
//! "Deleted account"; its ledger history stays, as the law wants for
//! money, tied to an id that names nobody. Old entries that name it by
//! its looks of then (a contact request, a card, a member added) show it
//! as it is now ([`show_as_now`]). A wallet that money reached after
//! deactivation (a transfer it sent, declined) is never erased: the
//! account waits, deactivated, for its owner to log in and withdraw.
//!
//! Deactivating, restoring and erasing each lock the account's row
//! first, so on PostgreSQL's several writers they never interleave.

use piazza_domain::event::{Event, Face, Named, Notice};
use piazza_domain::money::Currency;
use piazza_domain::store::{Account, Credentials, StoreResult};
use piazza_domain::{
    AccountId, ChannelId, ConversationId, DeviceId, MediaId, Rejection, Timestamp, Username,
};

use crate::Core;
use crate::engine::{Error, Read, Result, Tx};

/// How long a deleted account whose money is not settled waits again.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// How long one whose erasure a rule refused waits again.
const HOUR_MS: i64 = 60 * 60 * 1000;

/// What a deleted account is shown as, to everyone.
pub const DELETED_DISPLAY_NAME: &str = "Deleted account";

/// A deactivated account's own face, kept through its grace period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    pub account: AccountId,
    pub username: Username,
    pub display_name: String,
    pub avatar_media_id: Option<MediaId>,
    pub bio: String,
    pub requested_at: Timestamp,
    pub erase_at: Timestamp,
}

/// The queries of this area, as every engine answers them.
pub trait Reads {
    /// `account`'s deletion, while it is in its grace period.
    fn deletion(&mut self, account: AccountId) -> Result<Option<Deletion>>;
    /// The account in its grace period that held `username`, with its
    /// password hash: how it logs in to be restored.
    fn deletion_credentials(&mut self, username: &Username) -> Result<Option<Credentials>>;
    /// The groups and orders' conversations `account` is a member of
    /// (`true`: a group).
    fn conversations_to_leave(&mut self, account: AccountId)
    -> Result<Vec<(ConversationId, bool)>>;
    /// The channels `account` follows.
    fn followed_channels(&mut self, account: AccountId) -> Result<Vec<ChannelId>>;
    /// Whether `account` was erased (deleted, and past its grace period).
    fn is_erased(&mut self, account: AccountId) -> Result<bool>;
    /// Whether `account` was deleted (in its grace period, or erased).
    fn is_deleted(&mut self, account: AccountId) -> Result<bool>;
    /// Whether money `account` sent may still come back to it: a
    /// transfer not yet accepted, a red packet not yet closed, an order
    /// paid and not completed, a refund it asked for not yet decided.
    fn money_in_flight(&mut self, account: AccountId) -> Result<bool>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    fn insert_deletion(&mut self, deletion: &Deletion) -> Result<()>;
    fn delete_deletion(&mut self, account: AccountId) -> Result<()>;
    /// Sets `account`'s username and when it was deleted (`None`: it is
    /// not, restored).
    fn set_deleted(
        &mut self,
        account: AccountId,
        username: &str,
        deleted_at: Option<Timestamp>,
    ) -> Result<()>;
    /// Deletions whose grace period ended by `now`, oldest first, at most
    /// `limit`. Not locked: the caller locks the account, then reads its
    /// deletion again.
    fn deletions_due(&mut self, now: Timestamp, limit: u32) -> Result<Vec<AccountId>>;
    /// Deletes what only `account` holds, of the areas with no rules to
    /// run on the way: its contact requests and blocks (either way), its
    /// contact code, its exports and its own log (the checkers pass over
    /// an erased account's log); makes its password nothing can match;
    /// marks its media erased, never served again, and queues for
    /// deletion from the blob store the bytes no media still served holds
    /// (see [`crate::media::purges`]); revokes every device still live
    /// (answered).
    fn erase_rows(&mut self, account: AccountId, at: Timestamp) -> Result<Vec<DeviceId>>;
}

/// Deactivates `account` for `grace_ms`, if `device` still stands, the
/// password hash is still the one the caller's password was checked
/// against, and its wallet in `currency` is empty. Answers when it will
/// be erased.
pub fn deactivate(
    tx: &mut dyn Tx,
    account: AccountId,
    device: DeviceId,
    checked_hash: &str,
    currency: Currency,
    grace_ms: i64,
) -> Result<Timestamp> {
    if !tx.live_device_for_update(account, device)? {
        return Err(Rejection::DeviceSignedOut.into());
    }
    if tx.password_hash_for_update(account)?.as_deref() != Some(checked_hash) {
        return Err(Rejection::WrongPassword.into());
    }
    if tx.reads().wallet_balance(account, currency)? != 0 {
        return Err(Rejection::WalletNotEmpty.into());
    }
    let before = tx
        .account_for_update(account)?
        .ok_or_else(|| Error::missing(account))?;
    let now = tx.now();
    let erase_at = Timestamp::from_unix_ms(now.unix_ms().saturating_add(grace_ms));
    tx.insert_deletion(&Deletion {
        account,
        username: before.username.clone(),
        display_name: before.display_name.clone(),
        avatar_media_id: before.avatar_media_id,
        bio: before.bio.clone(),
        requested_at: now,
        erase_at,
    })?;
    tx.set_deleted(account, &format!("#{}", account.row()), Some(now))?;
    let face = Account {
        display_name: DELETED_DISPLAY_NAME.to_owned(),
        avatar_media_id: None,
        bio: String::new(),
        ..before
    };
    show(tx, &face)?;
    for revoked in tx.revoke_other_devices(account, device, now)? {
        tx.notice(Notice::DeviceRevoked {
            account,
            device: revoked,
        });
    }
    crate::accounts::revoke_device(tx, account, device)?;
    Ok(erase_at)
}

/// Stores `face` as the account's profile and tells the account and its
/// contacts, as a profile change does.
fn show(tx: &mut dyn Tx, face: &Account) -> Result<()> {
    tx.set_profile(face)?;
    let event = Event::AccountUpdated {
        account_id: face.account_id,
        display_name: face.display_name.clone(),
        avatar_media_id: face.avatar_media_id,
        bio: face.bio.clone(),
    };
    tx.append_log(face.account_id, event.clone())?;
    for contact in tx.reads().contact_ids(face.account_id)? {
        tx.append_log(contact, event.clone())?;
    }
    Ok(())
}

/// Before a log-in of `account` (its row locked: deactivating, restoring
/// and erasing each lock it first, so they never interleave): nothing if
/// it is not deleted; its own face back if it is in its grace period and
/// `password_hash` (what the password was checked against) is still its
/// hash; else `WrongCredentials` — erased, or past its grace period and
/// waiting to be, or logging in without a password (a QR approval).
pub fn restore_if_deleted(
    tx: &mut dyn Tx,
    account: AccountId,
    password_hash: Option<&str>,
) -> Result<()> {
    let before = tx
        .account_for_update(account)?
        .ok_or_else(|| Error::missing(account))?;
    if !tx.reads().is_deleted(account)? {
        return Ok(());
    }
    let deletion = tx.reads().deletion(account)?;
    let Some(deletion) = deletion.filter(|deletion| deletion.erase_at > tx.now()) else {
        return Err(Rejection::WrongCredentials.into());
    };
    let current = tx.password_hash_for_update(account)?;
    if password_hash.is_none() || current.as_deref() != password_hash {
        return Err(Rejection::WrongCredentials.into());
    }
    tx.delete_deletion(account)?;
    tx.set_deleted(account, deletion.username.as_str(), None)?;
    let face = Account {
        username: deletion.username,
        display_name: deletion.display_name,
        avatar_media_id: deletion.avatar_media_id,
        bio: deletion.bio,
        ..before
    };
    show(tx, &face)
}

/// Erases the oldest account whose grace period ended by `now`, if any;
/// answers whether there was one. One a job: an account may have
/// thousands of contacts, each told.
///
/// Money that reached its wallet after it was deactivated (a transfer it
/// sent, declined; a red packet's rest refunded), or may still (one not
/// yet settled), is never erased with it: such an account waits another
/// day, still deactivated, for its owner to log in and withdraw.
pub fn erase_next(tx: &mut dyn Tx, now: Timestamp, currency: Currency) -> Result<bool> {
    let Some(account) = tx.deletions_due(now, 1)?.into_iter().next() else {
        return Ok(false);
    };
    tx.account_for_update(account)?;
    // Read again under the account's lock: a log-in may have restored it.
    let Some(deletion) = tx.reads().deletion(account)? else {
        return Ok(true);
    };
    if deletion.erase_at > now {
        return Ok(true);
    }
    if tx.reads().wallet_balance(account, currency)? != 0 || tx.reads().money_in_flight(account)? {
        tracing::warn!(%account, "a deleted account's money is not settled: not erased yet");
        return postpone(tx, deletion, now, DAY_MS).map(|()| true);
    }
    // A rule refusing part of it (a race with a member's own move, say)
    // undoes the erasure whole and puts this one off, so the accounts due
    // after it are not held up behind it.
    if let Err(refused) = tx.refusable_part(&mut |tx| erase(tx, account, now))? {
        tracing::warn!(%account, %refused, "a deleted account could not be erased: tried again in an hour");
        postpone(tx, deletion, now, HOUR_MS)?;
    }
    Ok(true)
}

/// Erases `account`, its grace period over and its money settled.
fn erase(tx: &mut dyn Tx, account: AccountId, now: Timestamp) -> Result<()> {
    for contact in tx.reads().contact_ids(account)? {
        crate::contacts::remove_contact(tx, account, contact)?;
    }
    for (conversation, group) in tx.reads().conversations_to_leave(account)? {
        if group {
            crate::chat::conversations::drop_picture_of(tx, account, conversation)?;
            crate::chat::conversations::leave(tx, account, conversation)?;
        } else {
            let by = account;
            crate::chat::conversations::leave_order_conversation(tx, conversation, account, by)?;
        }
    }
    for channel in tx.reads().followed_channels(account)? {
        crate::channels::unfollow(tx, account, channel)?;
    }
    tx.delete_deletion(account)?;
    for device in tx.erase_rows(account, now)? {
        tx.notice(Notice::DeviceRevoked { account, device });
    }
    Ok(())
}

/// Puts `deletion` off: erased `wait_ms` after `now`, still deactivated.
fn postpone(tx: &mut dyn Tx, deletion: Deletion, now: Timestamp, wait_ms: i64) -> Result<()> {
    tx.delete_deletion(deletion.account)?;
    tx.insert_deletion(&Deletion {
        erase_at: Timestamp::from_unix_ms(now.unix_ms().saturating_add(wait_ms)),
        ..deletion
    })
}

/// `face`, an account an old entry names by its looks of then, as it
/// looks now if it was deleted since: its username, name and picture
/// come back through no old contact request, contact card, member or
/// comment. Only deleted accounts are redrawn: others keep what the entry
/// said then, as a chat history does.
pub fn show_as_now(read: &mut dyn Read, face: Face<'_>) -> Result<()> {
    let account = face.account();
    if !read.is_deleted(account)? {
        return Ok(());
    }
    let now = read
        .account(account)?
        .ok_or_else(|| Error::missing(account))?
        .to_ref();
    match face {
        Face::Ref(old) => *old = now,
        Face::Named(_, old) => *old = Named::from(&now),
    }
    Ok(())
}

/// The credentials `username` logs in with: an account's, or one in its
/// grace period's (which logging in restores).
pub fn credentials(read: &mut dyn Read, username: &Username) -> Result<Option<Credentials>> {
    match read.credentials(username)? {
        Some(found) => Ok(Some(found)),
        None => read.deletion_credentials(username),
    }
}

impl Core {
    /// Deactivates the account (see [`deactivate`]); answers when it will
    /// be erased unless it logs in before.
    pub async fn delete_account(
        &self,
        account: AccountId,
        device: DeviceId,
        checked_hash: String,
        currency: Currency,
        grace_ms: i64,
    ) -> StoreResult<Timestamp> {
        self.write(move |tx| deactivate(tx, account, device, &checked_hash, currency, grace_ms))
            .await
    }

    /// Erases up to `limit` accounts past their grace period, one a job;
    /// answers how many were looked at.
    pub async fn erase_deleted_accounts(
        &self,
        now: Timestamp,
        currency: Currency,
        limit: u32,
    ) -> StoreResult<usize> {
        let mut done = 0;
        while done < limit as usize {
            if !self.write(move |tx| erase_next(tx, now, currency)).await? {
                break;
            }
            done += 1;
        }
        Ok(done)
    }
}
