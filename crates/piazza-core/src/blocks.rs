//! Blocking: an account stops another from reaching it. Between the two,
//! either way, no contact request is made and no direct message is sent
//! (403 `blocked`, nothing stored), and neither sees the other's presence
//! or typing; messages in groups they share still flow, as in WeChat and
//! WhatsApp. Blocking keeps the contact: unblocking restores everything.
//! Only an account one knows (as a profile is known: a contact, a
//! co-member, a party to a request) can be blocked; any other id is 404,
//! as it is for profiles.

use piazza_domain::event::{AccountRef, ConversationKind, Event};
use piazza_domain::store::StoreResult;
use piazza_domain::{AccountId, ConversationId, Rejection, Timestamp};

use crate::chat::Membership;

use crate::Core;
use crate::engine::{Read, Result, Tx};

/// Someone the account blocked, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub account: AccountRef,
    pub since: Timestamp,
}

/// The queries of this area, as every engine answers them.
pub trait Reads {
    /// Whether either of `one` and `other` blocked the other, or either
    /// was deleted (`account_deletion`): nothing passes between them.
    fn blocked_between(&mut self, one: AccountId, other: AccountId) -> Result<bool>;
    /// Whom `account` blocked, the latest first.
    fn blocked_by(&mut self, account: AccountId) -> Result<Vec<Blocked>>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    /// `blocker` blocks `blocked` from `at`; `false` if it did already.
    fn insert_block(
        &mut self,
        blocker: AccountId,
        blocked: AccountId,
        at: Timestamp,
    ) -> Result<bool>;
    /// `blocker` no longer blocks `blocked`; `false` if it did not.
    fn delete_block(&mut self, blocker: AccountId, blocked: AccountId) -> Result<bool>;
}

/// Refuses with `Blocked` if either of the two blocked the other, or
/// `AccountDeleted` if either was deleted.
pub fn not_blocked(read: &mut dyn Read, one: AccountId, other: AccountId) -> Result<()> {
    match barrier(read, one, other)? {
        Some(refused) => Err(refused.into()),
        None => Ok(()),
    }
}

/// What stands between `one` and `other`, if anything: `Blocked` or
/// `AccountDeleted`. One question on the hot path; which refusal is asked
/// only when there is one.
pub fn barrier(read: &mut dyn Read, one: AccountId, other: AccountId) -> Result<Option<Rejection>> {
    if !read.blocked_between(one, other)? {
        return Ok(None);
    }
    if read.is_deleted(other)? || read.is_deleted(one)? {
        return Ok(Some(Rejection::AccountDeleted));
    }
    Ok(Some(Rejection::Blocked))
}

/// Refuses with `Blocked` if `account`'s conversation (its `membership`)
/// is a direct one with someone either of them blocked; a group is never
/// refused.
pub fn not_blocked_in(
    read: &mut dyn Read,
    membership: &Membership,
    account: AccountId,
    conversation: ConversationId,
) -> Result<()> {
    if membership.kind != ConversationKind::Direct {
        return Ok(());
    }
    let members = read.member_ids(conversation)?;
    match members.into_iter().find(|member| *member != account) {
        Some(peer) => not_blocked(read, account, peer),
        None => Ok(()),
    }
}

/// `blocker` blocks `blocked`, an account it knows (else
/// `AccountNotFound`, as for an id that does not exist). Again: no change.
pub fn block(tx: &mut dyn Tx, blocker: AccountId, blocked: AccountId) -> Result<()> {
    if blocker == blocked {
        return Err(Rejection::SelfTarget.into());
    }
    crate::profiles::profile(tx.reads(), blocker, blocked)?;
    let now = tx.now();
    if tx.insert_block(blocker, blocked, now)? {
        told(tx, blocker, blocked, true)?;
    }
    Ok(())
}

/// `blocker` no longer blocks `blocked`; nothing happens if it did not.
pub fn unblock(tx: &mut dyn Tx, blocker: AccountId, blocked: AccountId) -> Result<()> {
    if tx.delete_block(blocker, blocked)? {
        told(tx, blocker, blocked, false)?;
    }
    Ok(())
}

/// Tells the blocker's own devices (never the blocked account's).
fn told(tx: &mut dyn Tx, blocker: AccountId, blocked: AccountId, now_blocked: bool) -> Result<()> {
    let event = Event::ContactBlocked {
        account_id: blocked,
        blocked: now_blocked,
    };
    tx.append_log(blocker, event)?;
    Ok(())
}

impl Core {
    pub async fn block(&self, blocker: AccountId, blocked: AccountId) -> StoreResult<()> {
        self.write(move |tx| block(tx, blocker, blocked)).await
    }

    /// Takes a block back; nothing happens if there was none.
    pub async fn unblock(&self, blocker: AccountId, blocked: AccountId) -> StoreResult<()> {
        self.write(move |tx| unblock(tx, blocker, blocked)).await
    }

    /// Whether either of the two blocked the other.
    pub async fn blocked_between(&self, one: AccountId, other: AccountId) -> StoreResult<bool> {
        self.read(move |read| read.blocked_between(one, other))
            .await
    }

    pub async fn blocked_by(&self, account: AccountId) -> StoreResult<Vec<Blocked>> {
        self.read(move |read| read.blocked_by(account)).await
    }
}
