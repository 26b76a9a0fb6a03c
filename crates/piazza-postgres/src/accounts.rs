//! Accounts and devices: the SQL behind `piazza_core::accounts`.

use piazza_core::Result;
use piazza_core::accounts::{Reads, Writes};
use piazza_domain::store::{Account, Credentials, Device, DeviceSeen, Session, TokenHash};
use piazza_domain::{AccountId, DeviceId, DeviceName, DisplayName, MediaId, Timestamp, Username};
use postgres::Row;

use crate::{Db, PgTx};

/// The columns `account` reads, of the `accounts` table.
macro_rules! account_columns {
    () => {
        "id, username, display_name, avatar_media_id, bio"
    };
}
#[allow(unused_imports)] // for the areas that read accounts with their rows
pub(crate) use account_columns;

/// An account from `account_columns!()` starting at column `first`.
pub(crate) fn account_at(row: &Row, first: usize) -> Account {
    Account {
        account_id: AccountId::from_row(row.get(first)),
        username: Username::from_store(row.get(first + 1)),
        display_name: row.get(first + 2),
        avatar_media_id: row.get::<_, Option<i64>>(first + 3).map(MediaId::from_row),
        bio: row.get::<_, Option<String>>(first + 4).unwrap_or_default(),
    }
}

fn device(row: &Row) -> Device {
    Device {
        device_id: DeviceId::from_row(row.get(0)),
        device_name: row.get(1),
        created_at: Timestamp::from_unix_ms(row.get(2)),
        last_seen_at: Timestamp::from_unix_ms(row.get(3)),
        seen: DeviceSeen {
            user_agent: row.get(4),
            address: row.get(5),
        },
    }
}

impl Reads for Db<'_> {
    fn account(&mut self, account: AccountId) -> Result<Option<Account>> {
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                account_columns!(),
                " FROM accounts WHERE id = $1"
            ),
            &[&account.row()],
        )?;
        Ok(row.map(|row| account_at(&row, 0)))
    }

    fn account_by_username(&mut self, username: &Username) -> Result<Option<Account>> {
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                account_columns!(),
                " FROM accounts WHERE username = $1"
            ),
            &[&username.as_str()],
        )?;
        Ok(row.map(|row| account_at(&row, 0)))
    }

    fn credentials(&mut self, username: &Username) -> Result<Option<Credentials>> {
        let row = self.0.query_opt(
            "SELECT id, password_hash FROM accounts WHERE username = $1",
            &[&username.as_str()],
        )?;
        Ok(row.map(|row| Credentials {
            account_id: AccountId::from_row(row.get(0)),
            password_hash: row.get(1),
        }))
    }

    fn session(&mut self, token_hash: &TokenHash) -> Result<Option<Session>> {
        let row = self.0.query_opt(
            "SELECT account_id, id, last_seen_at, user_agent, last_seen_address
             FROM devices WHERE token_hash = $1 AND revoked_at IS NULL",
            &[&&token_hash.0[..]],
        )?;
        Ok(row.map(|row| Session {
            account_id: AccountId::from_row(row.get(0)),
            device_id: DeviceId::from_row(row.get(1)),
            last_seen_at: Timestamp::from_unix_ms(row.get(2)),
            seen: DeviceSeen {
                user_agent: row.get(3),
                address: row.get(4),
            },
        }))
    }

    fn live_devices(
        &mut self,
        account: AccountId,
        after: Option<DeviceId>,
        limit: u32,
    ) -> Result<Vec<Device>> {
        let rows = self.0.query(
            "SELECT id, name, created_at, last_seen_at, user_agent, last_seen_address
             FROM devices WHERE account_id = $1 AND revoked_at IS NULL AND id > $2
             ORDER BY id LIMIT $3",
            &[
                &account.row(),
                &after.map_or(0, DeviceId::row),
                &(i64::from(limit) + 1),
            ],
        )?;
        Ok(rows.iter().map(device).collect())
    }

    fn live_device_count(&mut self, account: AccountId) -> Result<usize> {
        let count: i64 = self
            .0
            .query_one(
                "SELECT COUNT(*) FROM devices WHERE account_id = $1 AND revoked_at IS NULL",
                &[&account.row()],
            )?
            .get(0);
        Ok(count as usize)
    }

    fn session_stands(&mut self, device: DeviceId, token_hash: &TokenHash) -> Result<bool> {
        if self.0.batch.is_some() {
            return self.0.session_stands(device.row(), token_hash.0);
        }
        let found = self.0.query_opt(
            "SELECT 1 FROM devices WHERE id = $1 AND token_hash = $2 AND revoked_at IS NULL",
            &[&device.row(), &&token_hash.0[..]],
        )?;
        Ok(found.is_some())
    }
}

impl Writes for PgTx<'_> {
    fn insert_account(
        &mut self,
        username: &Username,
        display_name: &DisplayName,
        password_hash: &str,
        at: Timestamp,
    ) -> Result<Option<AccountId>> {
        let row = self.conn().query_opt(
            "INSERT INTO accounts (username, display_name, password_hash, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING RETURNING id",
            &[
                &username.as_str(),
                &display_name.as_str(),
                &password_hash,
                &at.unix_ms(),
            ],
        )?;
        Ok(row.map(|row| AccountId::from_row(row.get(0))))
    }

    fn insert_device(
        &mut self,
        account: AccountId,
        name: &DeviceName,
        token_hash: &TokenHash,
        seen: &DeviceSeen,
        at: Timestamp,
    ) -> Result<DeviceId> {
        let row = self.conn().query_one(
            "INSERT INTO devices (account_id, name, token_hash, created_at, last_seen_at,
                                  user_agent, last_seen_address)
             VALUES ($1, $2, $3, $4, $4, $5, $6) RETURNING id",
            &[
                &account.row(),
                &name.as_str(),
                &&token_hash.0[..],
                &at.unix_ms(),
                &seen.user_agent,
                &seen.address,
            ],
        )?;
        Ok(DeviceId::from_row(row.get(0)))
    }

    fn touch_device(&mut self, device: DeviceId, seen: &DeviceSeen, at: Timestamp) -> Result<()> {
        self.conn().execute(
            "UPDATE devices SET last_seen_at = $1, user_agent = $2, last_seen_address = $3
             WHERE id = $4",
            &[
                &at.unix_ms(),
                &seen.user_agent,
                &seen.address,
                &device.row(),
            ],
        )?;
        Ok(())
    }

    fn revoke_device(
        &mut self,
        account: AccountId,
        device: DeviceId,
        at: Timestamp,
    ) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE devices SET revoked_at = $1
             WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL",
            &[&at.unix_ms(), &device.row(), &account.row()],
        )?;
        Ok(changed > 0)
    }
}
