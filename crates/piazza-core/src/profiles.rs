//! Profiles and passwords: an account's name, picture and bio, who sees
//! which of them, the exact-username lookup, and password changes.
//!
//! Who hears of a change: a profile change goes to the account's own log
//! and its contacts' logs, not to everyone it shares a group with (a
//! group holds up to 500 members and an account may sit in many, so one
//! rename could grow hundreds of thousands of strangers' logs); members
//! read a co-member's current profile when they show it.

use piazza_domain::event::{Event, Notice};
use piazza_domain::store::{
    Account, FieldChange, OtherDevices, Profile, ProfileChange, StoreResult,
};
use piazza_domain::{AccountId, DeviceId, Rejection, Timestamp, Username};

use crate::Core;
use crate::engine::{Error, Read, Result, Tx};
use crate::media::own_media;

/// What one account has to do with another, as far as seeing its
/// profile goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relation {
    /// The other account is among the viewer's contacts.
    pub is_contact: bool,
    /// They are members of one conversation (a group, or a direct one
    /// from when they were contacts).
    pub shares_conversation: bool,
    /// A request is open between them, either way (a declined one too).
    pub has_open_request: bool,
}

/// The queries of this area, as every engine answers them.
pub trait Reads {
    /// The stored password hash of `account`, if it exists.
    fn password_hash(&mut self, account: AccountId) -> Result<Option<String>>;
    /// What `viewer` has to do with `account` (two different accounts),
    /// answered from one snapshot.
    fn relation(&mut self, viewer: AccountId, account: AccountId) -> Result<Relation>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    /// `account` as stored, its row locked for the rest of the transaction
    /// (PostgreSQL: `SELECT … FOR UPDATE`), so that two changes of one
    /// profile cannot each undo the other's fields.
    fn account_for_update(&mut self, account: AccountId) -> Result<Option<Account>>;
    /// `account`'s password hash, its row locked for the rest of the
    /// transaction: the compare-and-set of a password change.
    fn password_hash_for_update(&mut self, account: AccountId) -> Result<Option<String>>;
    /// Whether `device` is a live (not revoked) device of `account`, its
    /// row locked for the rest of the transaction, so that it cannot be
    /// revoked before this transaction commits.
    fn live_device_for_update(&mut self, account: AccountId, device: DeviceId) -> Result<bool>;
    /// Stores the profile fields of `profile` (display name, avatar, bio;
    /// an empty bio is none) for its account.
    fn set_profile(&mut self, profile: &Account) -> Result<()>;
    fn set_password_hash(&mut self, account: AccountId, password_hash: &str) -> Result<()>;
    /// Revokes every live device of `account` but `kept`, at `at`;
    /// answers the devices revoked.
    fn revoke_other_devices(
        &mut self,
        account: AccountId,
        kept: DeviceId,
        at: Timestamp,
    ) -> Result<Vec<DeviceId>>;
}

/// Changes the account's own profile; logs `account.updated` to it and
/// its contacts when something changed. The avatar must be the account's
/// own upload.
pub fn update_profile(
    tx: &mut dyn Tx,
    account: AccountId,
    change: &ProfileChange,
) -> Result<Account> {
    let before = tx
        .account_for_update(account)?
        .ok_or_else(|| Error::missing(account))?;
    let avatar_media_id = match change.avatar {
        FieldChange::Keep => before.avatar_media_id,
        FieldChange::Clear => None,
        FieldChange::Set(media) => Some(own_media(tx.reads(), account, media)?),
    };
    let after = Account {
        display_name: change.display_name.as_ref().map_or_else(
            || before.display_name.clone(),
            |name| name.as_str().to_owned(),
        ),
        avatar_media_id,
        bio: change
            .bio
            .as_ref()
            .map_or_else(|| before.bio.clone(), |bio| bio.as_str().to_owned()),
        ..before.clone()
    };
    if after == before {
        return Ok(after);
    }
    tx.set_profile(&after)?;
    let event = Event::AccountUpdated {
        account_id: account,
        display_name: after.display_name.clone(),
        avatar_media_id: after.avatar_media_id,
        bio: after.bio.clone(),
    };
    tx.append_log(account, event.clone())?;
    for contact in tx.reads().contact_ids(account)? {
        tx.append_log(contact, event.clone())?;
    }
    Ok(after)
}

/// `account` as `viewer` may see it: whole to itself, its contacts and
/// anyone it shares a conversation with; as a card to a stranger with a
/// request open between them either way (a declined one included, so its
/// sender notices nothing); to anyone else nothing, as for an id that
/// does not exist.
pub fn profile(read: &mut dyn Read, viewer: AccountId, account: AccountId) -> Result<Profile> {
    let found = read.account(account)?.ok_or(Rejection::AccountNotFound)?;
    if viewer == account {
        return Ok(Profile::Full {
            account: found,
            is_contact: false,
        });
    }
    let relation = read.relation(viewer, account)?;
    if relation.is_contact || relation.shares_conversation {
        Ok(Profile::Full {
            account: found,
            is_contact: relation.is_contact,
        })
    } else if relation.has_open_request {
        Ok(Profile::Card(found))
    } else {
        Err(Rejection::AccountNotFound.into())
    }
}

/// Replaces the password hash if it is still the one the caller checked
/// the old password against and the acting `device` is still signed in,
/// logs `account.password_changed`, and with `OtherDevices::SignOut`
/// revokes every other live device of the account in the same commit.
/// Answers the devices revoked.
pub fn change_password(
    tx: &mut dyn Tx,
    account: AccountId,
    device: DeviceId,
    old_hash: &str,
    new_hash: &str,
    others: OtherDevices,
) -> Result<Vec<DeviceId>> {
    // The caller's token was checked before the old password's Argon2 ran
    // (a second or so); a device revoked meanwhile (by another device, or
    // by a password change that signed the others out) must not commit a
    // change, least of all one that signs the others out.
    if !tx.live_device_for_update(account, device)? {
        return Err(Rejection::DeviceSignedOut.into());
    }
    // Another change committed since the caller verified the old password:
    // that password is no longer the account's.
    let stored = tx
        .password_hash_for_update(account)?
        .ok_or_else(|| Error::missing(account))?;
    if stored != old_hash {
        return Err(Rejection::WrongPassword.into());
    }
    tx.set_password_hash(account, new_hash)?;
    let revoked = match others {
        OtherDevices::SignOut => {
            let now = tx.now();
            tx.revoke_other_devices(account, device, now)?
        }
        OtherDevices::Keep => Vec::new(),
    };
    // Logged before the revocations' notices, so the hub pushes it to the
    // other devices' sockets before it closes them.
    tx.append_log(
        account,
        Event::PasswordChanged {
            by_device_id: device,
            signed_out_other_devices: others == OtherDevices::SignOut,
        },
    )?;
    for other in &revoked {
        tx.notice(Notice::DeviceRevoked {
            account,
            device: *other,
        });
    }
    Ok(revoked)
}

impl Core {
    /// Changes the account's own profile and tells its devices and its
    /// contacts (`account.updated`); a change that changes nothing logs
    /// nothing. The avatar must be the account's own upload
    /// (`MediaNotFound` otherwise).
    pub async fn update_profile(
        &self,
        account: AccountId,
        change: ProfileChange,
    ) -> StoreResult<Account> {
        self.write(move |tx| update_profile(tx, account, &change))
            .await
    }

    /// `account` as `viewer` may see it; `AccountNotFound` when `viewer`
    /// may see nothing of it, as for an id that does not exist.
    pub async fn profile(&self, viewer: AccountId, account: AccountId) -> StoreResult<Profile> {
        self.read(move |read| profile(read, viewer, account)).await
    }

    /// The account with exactly this username (`AccountNotFound` if none),
    /// as a contact request would show it.
    pub async fn find_account(&self, username: Username) -> StoreResult<Account> {
        self.read(move |read| {
            Ok(read
                .account_by_username(&username)?
                .ok_or(Rejection::AccountNotFound)?)
        })
        .await
    }

    /// The stored password hash of an account.
    pub async fn password_hash(&self, account: AccountId) -> StoreResult<String> {
        self.read(move |read| {
            read.password_hash(account)?
                .ok_or_else(|| Error::missing(account))
        })
        .await
    }

    /// Replaces the password hash, if it is still `old_hash` (the one the
    /// caller verified; `WrongPassword` if another change came first), and
    /// logs `account.password_changed`; with `OtherDevices::SignOut` every
    /// other device of the account is revoked in the same commit. Answers
    /// the devices revoked.
    pub async fn change_password(
        &self,
        account: AccountId,
        device: DeviceId,
        old_hash: String,
        new_hash: String,
        others: OtherDevices,
    ) -> StoreResult<Vec<DeviceId>> {
        self.write(move |tx| change_password(tx, account, device, &old_hash, &new_hash, others))
            .await
    }
}
