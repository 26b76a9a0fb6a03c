//! Accounts and devices: the SQL behind `piazza_core::accounts`.

use piazza_core::Result;
use piazza_core::accounts::{Reads, Writes};
use piazza_domain::store::{Account, Credentials, Device, DeviceSeen, Session, TokenHash};
use piazza_domain::{AccountId, DeviceId, DeviceName, DisplayName, Timestamp, Username};
use rusqlite::{OptionalExtension, params};

use crate::engine::{Db, Sql};
use crate::reads;
use crate::writer::WriteCtx;

impl Reads for Db<'_> {
    fn account(&mut self, account: AccountId) -> Result<Option<Account>> {
        Ok(reads::find_account(self.0, account)?)
    }

    fn account_by_username(&mut self, username: &Username) -> Result<Option<Account>> {
        Ok(reads::account_by_username(self.0, username)?)
    }

    fn credentials(&mut self, username: &Username) -> Result<Option<Credentials>> {
        Ok(reads::credentials(self.0, username)?)
    }

    fn session(&mut self, token_hash: &TokenHash) -> Result<Option<Session>> {
        Ok(reads::authenticate(self.0, *token_hash)?)
    }

    fn live_devices(
        &mut self,
        account: AccountId,
        after: Option<DeviceId>,
        limit: u32,
    ) -> Result<Vec<Device>> {
        Ok(reads::devices(self.0, account, after, limit)?)
    }

    fn live_device_count(&mut self, account: AccountId) -> Result<usize> {
        let live: i64 = self
            .0
            .prepare_cached(
                "SELECT COUNT(*) FROM devices WHERE account_id = ?1 AND revoked_at IS NULL",
            )
            .sql()?
            .query_row([account.row()], |row| row.get(0))
            .sql()?;
        Ok(live as usize)
    }

    fn session_stands(&mut self, device: DeviceId, token_hash: &TokenHash) -> Result<bool> {
        self.0
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM devices
                                WHERE id = ?1 AND token_hash = ?2 AND revoked_at IS NULL)",
            )
            .sql()?
            .query_row(params![device.row(), &token_hash.0[..]], |row| row.get(0))
            .sql()
    }
}

impl Writes for WriteCtx<'_> {
    fn insert_account(
        &mut self,
        username: &Username,
        display_name: &DisplayName,
        password_hash: &str,
        at: Timestamp,
    ) -> Result<Option<AccountId>> {
        let row: Option<i64> = self
            .conn
            .prepare_cached(
                "INSERT INTO accounts (username, display_name, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (username) DO NOTHING RETURNING id",
            )
            .sql()?
            .query_row(
                params![
                    username.as_str(),
                    display_name.as_str(),
                    password_hash,
                    at.unix_ms()
                ],
                |row| row.get(0),
            )
            .optional()
            .sql()?;
        Ok(row.map(AccountId::from_row))
    }

    fn insert_device(
        &mut self,
        account: AccountId,
        name: &DeviceName,
        token_hash: &TokenHash,
        seen: &DeviceSeen,
        at: Timestamp,
    ) -> Result<DeviceId> {
        let row: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO devices (account_id, name, token_hash, created_at, last_seen_at,
                                      user_agent, last_seen_address)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6) RETURNING id",
            )
            .sql()?
            .query_row(
                params![
                    account.row(),
                    name.as_str(),
                    &token_hash.0[..],
                    at.unix_ms(),
                    seen.user_agent,
                    seen.address
                ],
                |row| row.get(0),
            )
            .sql()?;
        Ok(DeviceId::from_row(row))
    }

    fn touch_device(&mut self, device: DeviceId, seen: &DeviceSeen, at: Timestamp) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE devices SET last_seen_at = ?1, user_agent = ?2, last_seen_address = ?3
                 WHERE id = ?4",
            )
            .sql()?
            .execute(params![
                at.unix_ms(),
                seen.user_agent,
                seen.address,
                device.row()
            ])
            .sql()?;
        Ok(())
    }

    fn revoke_device(
        &mut self,
        account: AccountId,
        device: DeviceId,
        at: Timestamp,
    ) -> Result<bool> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE devices SET revoked_at = ?1
                 WHERE id = ?2 AND account_id = ?3 AND revoked_at IS NULL",
            )
            .sql()?
            .execute(params![at.unix_ms(), device.row(), account.row()])
            .sql()?;
        Ok(changed > 0)
    }
}
