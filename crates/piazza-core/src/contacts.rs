//! Contacts: requests (asked, accepted, declined, asked again), the
//! contacts list, and removing a contact.
//!
//! A declined request stays open for its sender, who is not told: their
//! outgoing list shows it pending and asking again answers as for a
//! pending one, so a decline cannot be told from silence.
//!
//! Each side of a contact may give the other a remark, a name only it
//! sees: kept on its own side's row, logged to its own log only.

use piazza_domain::event::{Event, Named};
use piazza_domain::store::{Account, ContactRequest, OutgoingRequest, Page, StoreResult};
use piazza_domain::{
    AccountId, ContactRequestId, Greeting, Rejection, Remark, Timestamp, Username, limits,
};

use crate::Core;
use crate::accounts::page;
use crate::engine::{Error, Read, Result, Tx};

/// Where a contact request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    Pending,
    Accepted,
    /// The recipient declined it; its sender still sees it pending.
    Declined,
}

/// A contact request's sender, recipient and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestParties {
    pub from: AccountId,
    pub to: AccountId,
    pub status: RequestStatus,
}

/// A contact request still open for its sender: pending, or declined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRequest {
    pub request: ContactRequestId,
    pub greeting: String,
    /// `Pending` or `Declined`.
    pub status: RequestStatus,
    /// When the recipient declined it, if it says.
    pub declined_at: Option<Timestamp>,
}

/// One of an account's contacts, with the account's remark for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub account: Account,
    /// The account's own name for this contact; never empty.
    pub remark: Option<String>,
}

/// The queries of this area, as every engine answers them.
pub trait Reads {
    /// Whether `contact` is among `account`'s contacts (contacts go both
    /// ways: the engine keeps a pair or nothing).
    fn are_contacts(&mut self, account: AccountId, contact: AccountId) -> Result<bool>;
    /// Every contact of `account`, in no particular order.
    fn contact_ids(&mut self, account: AccountId) -> Result<Vec<AccountId>>;
    /// `account`'s contacts by username after `after`, `limit + 1` at
    /// most, each with `account`'s remark for it.
    fn contacts(
        &mut self,
        account: AccountId,
        after: Option<&Username>,
        limit: u32,
    ) -> Result<Vec<Contact>>;
    /// Pending requests to `account` (not declined ones), newest (highest
    /// id) first, below `before`, `limit + 1` at most.
    fn incoming_requests(
        &mut self,
        account: AccountId,
        before: Option<ContactRequestId>,
        limit: u32,
    ) -> Result<Vec<ContactRequest>>;
    /// Open requests from `account` (pending and declined alike), newest
    /// first, below `before`, `limit + 1` at most.
    fn outgoing_requests(
        &mut self,
        account: AccountId,
        before: Option<ContactRequestId>,
        limit: u32,
    ) -> Result<Vec<OutgoingRequest>>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    /// The request with this id. The engine must lock its row for the
    /// rest of the transaction (PostgreSQL: `SELECT … FOR UPDATE`).
    fn request_for_update(&mut self, request: ContactRequestId) -> Result<Option<RequestParties>>;
    /// The request open from `from` to `to`, if there is one (at most one
    /// per pair and direction: the engine's unique index keeps it so),
    /// locked for the rest of the transaction.
    fn open_request_for_update(
        &mut self,
        from: AccountId,
        to: AccountId,
    ) -> Result<Option<OpenRequest>>;
    /// How many contacts `account` has. The engine must keep the count
    /// from growing under this transaction until it commits (PostgreSQL:
    /// lock the account's row before counting).
    fn contact_count_for_update(&mut self, account: AccountId) -> Result<usize>;
    /// A new pending request asked at `at`.
    fn insert_request(
        &mut self,
        from: AccountId,
        to: AccountId,
        greeting: &Greeting,
        at: Timestamp,
    ) -> Result<ContactRequestId>;
    /// The request now carries `greeting`, asked at `at`.
    fn set_request_greeting(
        &mut self,
        request: ContactRequestId,
        greeting: &Greeting,
        at: Timestamp,
    ) -> Result<()>;
    /// A declined request is pending again, with no decline time.
    fn reopen_request(&mut self, request: ContactRequestId) -> Result<()>;
    /// The request is declined, at `at`.
    fn mark_request_declined(&mut self, request: ContactRequestId, at: Timestamp) -> Result<()>;
    /// Every open request between `a` and `b`, either way, is accepted
    /// (and no longer declined).
    fn mark_requests_accepted_between(&mut self, a: AccountId, b: AccountId) -> Result<()>;
    /// `a` and `b` are each other's contacts since `at`.
    fn insert_contact_pair(&mut self, a: AccountId, b: AccountId, at: Timestamp) -> Result<()>;
    /// `a` and `b` are no longer contacts, either way; `false` when they
    /// were not.
    fn delete_contact_pair(&mut self, a: AccountId, b: AccountId) -> Result<bool>;
    /// `account`'s remark for `contact`: `None` when `contact` is not its
    /// contact, `Some(None)` when it gave none. The engine must lock
    /// `account`'s side of the pair for the rest of the transaction.
    fn contact_remark_for_update(
        &mut self,
        account: AccountId,
        contact: AccountId,
    ) -> Result<Option<Option<String>>>;
    /// `account`'s side of its contact with `contact` now carries `remark`
    /// (`None`: none). Only called for a pair that exists.
    fn set_contact_remark(
        &mut self,
        account: AccountId,
        contact: AccountId,
        remark: Option<&Remark>,
    ) -> Result<()>;
}

/// `other` if it is `account`'s contact with no block either way: the one
/// an owner may name to help (a channel's editor, a shop's staff).
/// Anyone else is `AccountNotFound`, exactly as an id no account has, so
/// naming tells nothing of who exists.
pub fn trusted_contact(read: &mut dyn Read, account: AccountId, other: AccountId) -> Result<()> {
    if !read.are_contacts(account, other)? || read.blocked_between(account, other)? {
        return Err(Rejection::AccountNotFound.into());
    }
    Ok(())
}

/// `from` asks the account named `to`. Asking back someone who asked
/// first (even if that request was declined) accepts theirs; asking again
/// is [`ask_again`].
pub fn request_contact(
    tx: &mut dyn Tx,
    from: AccountId,
    to: &Username,
    greeting: &Greeting,
) -> Result<ContactRequestId> {
    let to = tx
        .reads()
        .account_by_username(to)?
        .ok_or(Rejection::AccountNotFound)?;
    request_account(tx, from, &to, greeting)
}

/// `from` asks `to`, however the caller found it (by its username, or by
/// its contact code: `contact_codes::request_by_code`), under one set of
/// rules: not oneself, not a contact already, no block either way, and
/// asking back or asking again as [`request_contact`] says.
pub fn request_account(
    tx: &mut dyn Tx,
    from: AccountId,
    to: &Account,
    greeting: &Greeting,
) -> Result<ContactRequestId> {
    if to.account_id == from {
        return Err(Rejection::SelfTarget.into());
    }
    if tx.reads().are_contacts(from, to.account_id)? {
        return Err(Rejection::AlreadyContacts.into());
    }
    crate::blocks::not_blocked(tx.reads(), from, to.account_id)?;
    if let Some(reverse) = tx.open_request_for_update(to.account_id, from)? {
        accept_request(tx, from, reverse.request)?;
        return Ok(reverse.request);
    }
    if let Some(open) = tx.open_request_for_update(from, to.account_id)? {
        return ask_again(tx, open, from, to, greeting);
    }
    let now = tx.now();
    let request = tx.insert_request(from, to.account_id, greeting, now)?;
    let event = request_event(tx.reads(), request, from, to, greeting)?;
    tx.append_log(to.account_id, event.clone())?;
    tx.append_log(from, event)?;
    Ok(request)
}

fn request_event(
    read: &mut dyn Read,
    request: ContactRequestId,
    from: AccountId,
    to: &Account,
    greeting: &Greeting,
) -> Result<Event> {
    Ok(Event::ContactRequest {
        request_id: request,
        from: known_account(read, from)?.to_ref(),
        to: to.to_ref(),
        greeting: greeting.as_str().to_owned(),
    })
}

/// An account that must exist (it is referenced by stored data).
fn known_account(read: &mut dyn Read, account: AccountId) -> Result<Account> {
    read.account(account)?
        .ok_or_else(|| Error::missing(account))
}

/// The sender asks again. Whatever the recipient did, the sender sees
/// exactly what asking again about a pending request shows (the answer,
/// their outgoing list, nothing in their log), so a decline cannot be
/// told from silence: the same greeting changes nothing; a new one is
/// kept with the time it was asked, and is not logged again (a stranger
/// editing a greeting must not grow someone else's log without end).
/// Apart from that, a request declined long enough ago is pending again
/// and reaches the recipient's log once more, not the sender's; one
/// declined lately stays declined, so a refused sender reaches the same
/// person again at most once per wait.
fn ask_again(
    tx: &mut dyn Tx,
    open: OpenRequest,
    from: AccountId,
    to: &Account,
    greeting: &Greeting,
) -> Result<ContactRequestId> {
    let now = tx.now();
    if open.greeting != greeting.as_str() {
        tx.set_request_greeting(open.request, greeting, now)?;
    }
    // A decline without a time (none should lack one) counts as long ago.
    let declined_at = (open.status == RequestStatus::Declined)
        .then(|| open.declined_at.map_or(0, Timestamp::unix_ms));
    let reopens = declined_at
        .is_some_and(|at| now.unix_ms() - at >= limits::CONTACT_REQUEST_RETRY_AFTER_DECLINE_MS);
    if reopens {
        tx.reopen_request(open.request)?;
        let event = request_event(tx.reads(), open.request, from, to, greeting)?;
        tx.append_log(to.account_id, event)?;
    }
    Ok(open.request)
}

/// The recipient accepts; a declined request may still be accepted (its
/// sender still waits for an answer), an accepted one again changes
/// nothing. Both become contacts within the contacts limit, and each
/// one's log says so.
pub fn accept_request(
    tx: &mut dyn Tx,
    account: AccountId,
    request: ContactRequestId,
) -> Result<()> {
    let found = tx
        .request_for_update(request)?
        .filter(|found| found.to == account)
        .ok_or(Rejection::RequestNotFound)?;
    if found.status == RequestStatus::Accepted {
        return Ok(());
    }
    let from = found.from;
    crate::blocks::not_blocked(tx.reads(), from, account)?;
    // Settle open requests in both directions between the pair.
    tx.mark_requests_accepted_between(from, account)?;
    if tx.reads().are_contacts(from, account)? {
        return Ok(());
    }
    for side in [from, account] {
        if tx.contact_count_for_update(side)? >= limits::CONTACTS_PER_ACCOUNT_MAX {
            return Err(Rejection::TooMany {
                what: "contacts",
                max: limits::CONTACTS_PER_ACCOUNT_MAX,
            }
            .into());
        }
    }
    let now = tx.now();
    tx.insert_contact_pair(from, account, now)?;
    let from_ref = known_account(tx.reads(), from)?.to_ref();
    let account_ref = known_account(tx.reads(), account)?.to_ref();
    tx.append_log(
        from,
        Event::ContactAdded {
            contact: account_ref,
        },
    )?;
    tx.append_log(account, Event::ContactAdded { contact: from_ref })?;
    Ok(())
}

/// The recipient declines a pending request. The request stays open for
/// its sender (who is not told); the recipient's log says it was declined
/// so their other devices drop it. Declining again changes nothing.
pub fn decline_request(
    tx: &mut dyn Tx,
    account: AccountId,
    request: ContactRequestId,
) -> Result<()> {
    let found = tx
        .request_for_update(request)?
        .filter(|found| found.to == account);
    match found.map(|found| (found.from, found.status)) {
        Some((_, RequestStatus::Declined)) => Ok(()),
        Some((from, RequestStatus::Pending)) => {
            let now = tx.now();
            tx.mark_request_declined(request, now)?;
            tx.append_log(
                account,
                Event::ContactRequestDeclined {
                    request_id: request,
                    from,
                },
            )?;
            Ok(())
        }
        // Not the recipient, no such request, or accepted already.
        _ => Err(Rejection::RequestNotFound.into()),
    }
}

/// Ends a contact both ways; each side's log says so. Removing someone
/// who is not a contact changes nothing.
pub fn remove_contact(tx: &mut dyn Tx, account: AccountId, other: AccountId) -> Result<()> {
    if !tx.delete_contact_pair(account, other)? {
        return Ok(());
    }
    let other_named = Named::from(&known_account(tx.reads(), other)?.to_ref());
    let account_named = Named::from(&known_account(tx.reads(), account)?.to_ref());
    tx.append_log(
        account,
        Event::ContactRemoved {
            account_id: other,
            contact: other_named,
        },
    )?;
    tx.append_log(
        other,
        Event::ContactRemoved {
            account_id: account,
            contact: account_named,
        },
    )?;
    Ok(())
}

/// `account` names `contact` `remark` (an empty one clears it), for its
/// own eyes: only its own log says so, for its other devices, and only
/// when the remark changed. Anyone but a contact is `ContactNotFound`.
pub fn set_remark(
    tx: &mut dyn Tx,
    account: AccountId,
    contact: AccountId,
    remark: &Remark,
) -> Result<Contact> {
    let remark = (!remark.as_str().is_empty()).then_some(remark);
    let before = tx
        .contact_remark_for_update(account, contact)?
        .ok_or(Rejection::ContactNotFound)?;
    let after = remark.map(|remark| remark.as_str().to_owned());
    if before != after {
        tx.set_contact_remark(account, contact, remark)?;
        let event = Event::ContactUpdated {
            account_id: contact,
            remark: after.clone(),
        };
        tx.append_log(account, event)?;
    }
    let contact = known_account(tx.reads(), contact)?;
    Ok(Contact {
        account: contact,
        remark: after,
    })
}

impl Core {
    pub async fn request_contact(
        &self,
        from: AccountId,
        to: Username,
        greeting: Greeting,
    ) -> StoreResult<ContactRequestId> {
        self.write(move |tx| request_contact(tx, from, &to, &greeting))
            .await
    }

    /// Pending requests to `account`, newest first, older than `before`.
    pub async fn incoming_requests(
        &self,
        account: AccountId,
        before: Option<ContactRequestId>,
        limit: u32,
    ) -> StoreResult<Page<ContactRequest>> {
        let limit = limit.clamp(1, limits::PAGE_LEN_MAX);
        self.read(move |read| Ok(page(read.incoming_requests(account, before, limit)?, limit)))
            .await
    }

    pub async fn accept_request(
        &self,
        account: AccountId,
        request: ContactRequestId,
    ) -> StoreResult<()> {
        self.write(move |tx| accept_request(tx, account, request))
            .await
    }

    /// Requests `account` sent that are still unanswered as far as it
    /// knows (pending or declined), newest first, older than `before`.
    pub async fn outgoing_requests(
        &self,
        account: AccountId,
        before: Option<ContactRequestId>,
        limit: u32,
    ) -> StoreResult<Page<OutgoingRequest>> {
        let limit = limit.clamp(1, limits::PAGE_LEN_MAX);
        self.read(move |read| Ok(page(read.outgoing_requests(account, before, limit)?, limit)))
            .await
    }

    /// The recipient declines a pending request: it leaves their list and
    /// their log says so; its sender is not told. Anyone else, or a
    /// request already accepted, gets `RequestNotFound`.
    pub async fn decline_request(
        &self,
        account: AccountId,
        request: ContactRequestId,
    ) -> StoreResult<()> {
        self.write(move |tx| decline_request(tx, account, request))
            .await
    }

    /// Contacts by username, after `after`, with `account`'s remarks.
    pub async fn contacts(
        &self,
        account: AccountId,
        after: Option<Username>,
        limit: u32,
    ) -> StoreResult<Page<Contact>> {
        let limit = limit.clamp(1, limits::PAGE_LEN_MAX);
        self.read(move |read| Ok(page(read.contacts(account, after.as_ref(), limit)?, limit)))
            .await
    }

    /// `account`'s own name for `contact`; an empty remark clears it.
    pub async fn set_remark(
        &self,
        account: AccountId,
        contact: AccountId,
        remark: Remark,
    ) -> StoreResult<Contact> {
        self.write(move |tx| set_remark(tx, account, contact, &remark))
            .await
    }

    pub async fn remove_contact(&self, account: AccountId, other: AccountId) -> StoreResult<()> {
        self.write(move |tx| remove_contact(tx, account, other))
            .await
    }
}
