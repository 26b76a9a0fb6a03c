//! Presence: who of one's contacts is online, and when each was last
//! seen, as far as each lets them know. "Online" is the server's live
//! knowledge (a socket open), never stored; "last seen" is when one of
//! the account's devices last made a request (`devices.last_seen_at`,
//! kept already). An account that shows its last seen to nobody shows
//! neither to anyone.

use piazza_domain::store::StoreResult;
use piazza_domain::{AccountId, DeviceId, Timestamp};

use crate::Core;
use crate::engine::{Read, Result, Tx};

/// Who sees an account's presence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LastSeen {
    /// Its contacts (the default).
    #[default]
    Contacts,
    Nobody,
}

impl LastSeen {
    pub fn as_str(self) -> &'static str {
        match self {
            LastSeen::Contacts => "contacts",
            LastSeen::Nobody => "nobody",
        }
    }
}

/// A contact's presence as its owner lets the viewer see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub account: AccountId,
    /// When one of its devices was last seen; `None` if never.
    pub last_seen: Option<Timestamp>,
}

/// The queries of this area, as every engine answers them.
pub trait Reads {
    /// Who sees `account`'s presence.
    fn last_seen_shown(&mut self, account: AccountId) -> Result<LastSeen>;
    /// For each of `viewer`'s contacts who shows its presence to contacts,
    /// and with whom no block stands either way, when one of its devices
    /// was last seen.
    fn contacts_last_seen(&mut self, viewer: AccountId) -> Result<Vec<Seen>>;
    /// `account`'s contacts with whom no block stands either way.
    fn unblocked_contact_ids(&mut self, account: AccountId) -> Result<Vec<AccountId>>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    fn set_last_seen_shown(&mut self, account: AccountId, shown: LastSeen) -> Result<()>;
    /// `device` was in use until `at` (its last seen moves forward only).
    fn device_seen_until(&mut self, device: DeviceId, at: Timestamp) -> Result<()>;
}

/// Whom `account`'s coming online or going offline is told: its contacts
/// (but those blocked, or blocking it), unless it shows its presence to
/// nobody.
pub fn presence_audience(read: &mut dyn Read, account: AccountId) -> Result<Vec<AccountId>> {
    match read.last_seen_shown(account)? {
        LastSeen::Contacts => read.unblocked_contact_ids(account),
        LastSeen::Nobody => Ok(Vec::new()),
    }
}

impl Core {
    pub async fn presence_audience(&self, account: AccountId) -> StoreResult<Vec<AccountId>> {
        self.read(move |read| presence_audience(read, account))
            .await
    }

    /// The presence `viewer` may see of its contacts (the engine leaves
    /// out those who show it to nobody).
    pub async fn contacts_last_seen(&self, viewer: AccountId) -> StoreResult<Vec<Seen>> {
        self.read(move |read| read.contacts_last_seen(viewer)).await
    }

    pub async fn last_seen_shown(&self, account: AccountId) -> StoreResult<LastSeen> {
        self.read(move |read| read.last_seen_shown(account)).await
    }

    /// `device`'s socket closes now: it was seen until now, so the last
    /// seen its contacts read afterwards is the one the offline event told
    /// them (a request's last seen is kept at most once a minute, and a
    /// socket makes none).
    pub async fn device_seen_now(&self, device: DeviceId) -> StoreResult<()> {
        self.write(move |tx: &mut dyn Tx| {
            let now = tx.now();
            tx.device_seen_until(device, now)
        })
        .await
    }

    /// Changes who sees `account`'s presence.
    pub async fn set_last_seen_shown(
        &self,
        account: AccountId,
        shown: LastSeen,
    ) -> StoreResult<()> {
        self.write(move |tx: &mut dyn Tx| tx.set_last_seen_shown(account, shown))
            .await
    }
}
