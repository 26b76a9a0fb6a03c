//! Accounts and their devices: sign-up, log-in sessions, the devices list.

use piazza_domain::store::{
    Account, Credentials, Device, DeviceSeen, Page, Session, StoreResult, TokenHash,
};
use piazza_domain::{
    AccountId, DeviceId, DeviceName, DisplayName, Rejection, Timestamp, Username, limits,
};

use crate::Core;
use crate::engine::{Error, Result, Tx};
use piazza_domain::event::Notice;

/// The queries of this area, as every engine answers them.
pub trait Reads {
    fn account(&mut self, account: AccountId) -> Result<Option<Account>>;
    fn account_by_username(&mut self, username: &Username) -> Result<Option<Account>>;
    fn credentials(&mut self, username: &Username) -> Result<Option<Credentials>>;
    /// The live (not revoked) device whose token hashes to `token_hash`.
    fn session(&mut self, token_hash: &TokenHash) -> Result<Option<Session>>;
    /// Whether `device` is live and its token still hashes to
    /// `token_hash` (a [`Caller`]'s remembered session still stands).
    fn session_stands(&mut self, device: DeviceId, token_hash: &TokenHash) -> Result<bool>;
    /// Live devices of `account` after `after`, by id, `limit + 1` at most.
    fn live_devices(
        &mut self,
        account: AccountId,
        after: Option<DeviceId>,
        limit: u32,
    ) -> Result<Vec<Device>>;
    fn live_device_count(&mut self, account: AccountId) -> Result<usize>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    /// A new account; `None` when the username is taken (the engine's
    /// unique index decides, so two racing sign-ups cannot both win).
    fn insert_account(
        &mut self,
        username: &Username,
        display_name: &DisplayName,
        password_hash: &str,
        at: Timestamp,
    ) -> Result<Option<AccountId>>;
    fn insert_device(
        &mut self,
        account: AccountId,
        name: &DeviceName,
        token_hash: &TokenHash,
        seen: &DeviceSeen,
        at: Timestamp,
    ) -> Result<DeviceId>;
    fn touch_device(&mut self, device: DeviceId, seen: &DeviceSeen, at: Timestamp) -> Result<()>;
    /// Revokes a live device of `account`; `false` if it has none such.
    fn revoke_device(
        &mut self,
        account: AccountId,
        device: DeviceId,
        at: Timestamp,
    ) -> Result<bool>;
}

/// Who makes a write: an account, by a session the server read for this
/// request or one it remembered from an earlier request. A remembered
/// session is checked again inside the write's own transaction
/// ([`Caller::stands`]), so a device revoked on any process writes nothing
/// from then on, exactly as if every request read its session. The server
/// remembers sessions only where a read costs a round trip to another
/// process ([`crate::Engine::remembers_sessions`]) and only for writes
/// that take a `Caller`: a read never answers on a remembered session.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub account: AccountId,
    /// The remembered session, to check again.
    remembered: Option<(DeviceId, TokenHash)>,
}

impl Caller {
    /// A session remembered from an earlier request.
    pub fn remembered(account: AccountId, device: DeviceId, token_hash: TokenHash) -> Caller {
        Caller {
            account,
            remembered: Some((device, token_hash)),
        }
    }

    /// Refuses the write, as signed out, if the remembered session no
    /// longer stands; a session read for this request stands.
    pub fn stands(&self, tx: &mut dyn Tx) -> Result<()> {
        if let Some((device, token_hash)) = &self.remembered
            && !tx.reads().session_stands(*device, token_hash)?
        {
            return Err(Rejection::DeviceSignedOut.into());
        }
        Ok(())
    }
}

/// An account whose session was read for this request.
impl From<AccountId> for Caller {
    fn from(account: AccountId) -> Caller {
        Caller {
            account,
            remembered: None,
        }
    }
}

pub fn create_account(
    tx: &mut dyn Tx,
    username: &Username,
    display_name: &DisplayName,
    password_hash: &str,
) -> Result<Account> {
    if tx.reads().account_by_username(username)?.is_some()
        || tx.reads().deletion_credentials(username)?.is_some()
    {
        // A deleted account's username stays its own until it is erased.
        return Err(Rejection::UsernameTaken.into());
    }
    let now = tx.now();
    let account_id = tx
        .insert_account(username, display_name, password_hash, now)?
        .ok_or(Rejection::UsernameTaken)?;
    Ok(Account {
        account_id,
        username: username.clone(),
        display_name: display_name.as_str().to_owned(),
        avatar_media_id: None,
        bio: String::new(),
    })
}

/// A new device of `account`, within the devices an account may have; an
/// account in its deletion's grace period is restored by it when it logs
/// in with its password (`password_hash`: what the password was checked
/// against; `None` for a QR approval).
pub fn create_session(
    tx: &mut dyn Tx,
    account: AccountId,
    device_name: &DeviceName,
    token_hash: &TokenHash,
    seen: &DeviceSeen,
    password_hash: Option<&str>,
) -> Result<DeviceId> {
    crate::account_deletion::restore_if_deleted(tx, account, password_hash)?;
    if tx.reads().live_device_count(account)? >= limits::DEVICES_PER_ACCOUNT_MAX {
        return Err(Rejection::TooMany {
            what: "devices",
            max: limits::DEVICES_PER_ACCOUNT_MAX,
        }
        .into());
    }
    let now = tx.now();
    tx.insert_device(account, device_name, token_hash, seen, now)
}

/// Signs a device out; its open sockets close after the commit.
pub fn revoke_device(tx: &mut dyn Tx, account: AccountId, device: DeviceId) -> Result<()> {
    let now = tx.now();
    if !tx.revoke_device(account, device, now)? {
        return Err(Rejection::DeviceNotFound.into());
    }
    tx.notice(Notice::DeviceRevoked { account, device });
    Ok(())
}

/// Cuts a list fetched with one extra row into a page.
pub fn page<T>(mut items: Vec<T>, limit: u32) -> Page<T> {
    let has_more = items.len() > limit as usize;
    items.truncate(limit as usize);
    Page { items, has_more }
}

impl Core {
    pub async fn create_account(
        &self,
        username: Username,
        display_name: DisplayName,
        password_hash: String,
    ) -> StoreResult<Account> {
        self.write(move |tx| create_account(tx, &username, &display_name, &password_hash))
            .await
    }

    pub async fn credentials(&self, username: &Username) -> StoreResult<Option<Credentials>> {
        let username = username.clone();
        self.read(move |read| crate::account_deletion::credentials(read, &username))
            .await
    }

    /// A new device of `account`, seen as `seen` as it logs in with its
    /// password, checked against `password_hash` (`None`: a device made
    /// without one, which restores no deleted account).
    pub async fn create_session(
        &self,
        account: AccountId,
        device_name: DeviceName,
        token_hash: TokenHash,
        seen: DeviceSeen,
        password_hash: Option<String>,
    ) -> StoreResult<DeviceId> {
        self.write(move |tx| {
            let hash = password_hash.as_deref();
            create_session(tx, account, &device_name, &token_hash, &seen, hash)
        })
        .await
    }

    pub async fn authenticate(&self, token_hash: TokenHash) -> StoreResult<Option<Session>> {
        self.read(move |read| read.session(&token_hash)).await
    }

    /// The device was used now, as `seen`.
    pub async fn touch_device(&self, device: DeviceId, seen: DeviceSeen) -> StoreResult<()> {
        self.write(move |tx| {
            let now = tx.now();
            tx.touch_device(device, &seen, now)
        })
        .await
    }

    pub async fn account(&self, account: AccountId) -> StoreResult<Account> {
        self.read(move |read| {
            read.account(account)?
                .ok_or_else(|| Error::missing(account))
        })
        .await
    }

    pub async fn devices(
        &self,
        account: AccountId,
        after: Option<DeviceId>,
        limit: u32,
    ) -> StoreResult<Page<Device>> {
        let limit = limit.clamp(1, limits::PAGE_LEN_MAX);
        self.read(move |read| Ok(page(read.live_devices(account, after, limit)?, limit)))
            .await
    }

    pub async fn revoke_device(&self, account: AccountId, device: DeviceId) -> StoreResult<()> {
        self.write(move |tx| revoke_device(tx, account, device))
            .await
    }
}
