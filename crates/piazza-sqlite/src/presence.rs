//! Presence: the SQL behind `piazza_core::presence`.

use piazza_core::Result;
use piazza_core::presence::{LastSeen, Reads, Seen, Writes};
use piazza_domain::{AccountId, DeviceId, Timestamp};

use crate::engine::{Db, Sql};
use crate::writer::WriteCtx;

/// `accounts.last_seen_shown`, as kept.
fn code(shown: LastSeen) -> i64 {
    match shown {
        LastSeen::Contacts => 0,
        LastSeen::Nobody => 1,
    }
}

impl Reads for Db<'_> {
    fn last_seen_shown(&mut self, account: AccountId) -> Result<LastSeen> {
        let kept: Option<i64> = rusqlite::OptionalExtension::optional(
            self.0
                .prepare_cached("SELECT last_seen_shown FROM accounts WHERE id = ?1")
                .sql()?
                .query_row([account.row()], |row| row.get(0)),
        )
        .sql()?;
        Ok(match kept {
            Some(1) => LastSeen::Nobody,
            _ => LastSeen::Contacts,
        })
    }

    fn contacts_last_seen(&mut self, viewer: AccountId) -> Result<Vec<Seen>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT a.id, (SELECT MAX(d.last_seen_at) FROM devices d WHERE d.account_id = a.id)
                 FROM contacts c JOIN accounts a ON a.id = c.contact_id
                 WHERE c.account_id = ?1 AND a.last_seen_shown = 0
                   AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = ?1 AND b.blocked_id = a.id)
                   AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = a.id AND b.blocked_id = ?1)
                 ORDER BY a.id",
            )
            .sql()?;
        let rows = statement
            .query_map([viewer.row()], |row| {
                Ok(Seen {
                    account: AccountId::from_row(row.get(0)?),
                    last_seen: row.get::<_, Option<i64>>(1)?.map(Timestamp::from_unix_ms),
                })
            })
            .sql()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql()
    }

    fn unblocked_contact_ids(&mut self, account: AccountId) -> Result<Vec<AccountId>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT c.contact_id FROM contacts c
                 WHERE c.account_id = ?1
                   AND NOT EXISTS (SELECT 1 FROM blocks b
                                   WHERE b.account_id = ?1 AND b.blocked_id = c.contact_id)
                   AND NOT EXISTS (SELECT 1 FROM blocks b
                                   WHERE b.account_id = c.contact_id AND b.blocked_id = ?1)",
            )
            .sql()?;
        let rows = statement
            .query_map([account.row()], |row| Ok(AccountId::from_row(row.get(0)?)))
            .sql()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql()
    }
}

impl Writes for WriteCtx<'_> {
    fn device_seen_until(&mut self, device: DeviceId, at: Timestamp) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE devices SET last_seen_at = MAX(last_seen_at, ?2) WHERE id = ?1")
            .sql()?
            .execute([device.row(), at.unix_ms()])
            .sql()?;
        Ok(())
    }

    fn set_last_seen_shown(&mut self, account: AccountId, shown: LastSeen) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE accounts SET last_seen_shown = ?2 WHERE id = ?1")
            .sql()?
            .execute([account.row(), code(shown)])
            .sql()?;
        Ok(())
    }
}
