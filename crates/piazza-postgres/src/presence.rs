//! Presence: the SQL behind `piazza_core::presence`.

use piazza_core::Result;
use piazza_core::presence::{LastSeen, Reads, Seen, Writes};
use piazza_domain::{AccountId, DeviceId, Timestamp};

use crate::{Db, PgTx};

/// `accounts.last_seen_shown`, as kept.
fn code(shown: LastSeen) -> i64 {
    match shown {
        LastSeen::Contacts => 0,
        LastSeen::Nobody => 1,
    }
}

impl Reads for Db<'_> {
    fn last_seen_shown(&mut self, account: AccountId) -> Result<LastSeen> {
        let row = self.0.query_opt(
            "SELECT last_seen_shown FROM accounts WHERE id = $1",
            &[&account.row()],
        )?;
        Ok(match row.map(|row| row.get::<_, i64>(0)) {
            Some(1) => LastSeen::Nobody,
            _ => LastSeen::Contacts,
        })
    }

    fn contacts_last_seen(&mut self, viewer: AccountId) -> Result<Vec<Seen>> {
        let rows = self.0.query(
            "SELECT a.id, (SELECT max(d.last_seen_at) FROM devices d WHERE d.account_id = a.id)
             FROM contacts c JOIN accounts a ON a.id = c.contact_id
             WHERE c.account_id = $1 AND a.last_seen_shown = 0
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = $1 AND b.blocked_id = a.id)
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = a.id AND b.blocked_id = $1)
             ORDER BY a.id",
            &[&viewer.row()],
        )?;
        Ok(rows
            .iter()
            .map(|row| Seen {
                account: AccountId::from_row(row.get(0)),
                last_seen: row.get::<_, Option<i64>>(1).map(Timestamp::from_unix_ms),
            })
            .collect())
    }

    fn unblocked_contact_ids(&mut self, account: AccountId) -> Result<Vec<AccountId>> {
        let rows = self.0.query(
            "SELECT c.contact_id FROM contacts c
             WHERE c.account_id = $1
               AND NOT EXISTS (SELECT 1 FROM blocks b
                               WHERE b.account_id = $1 AND b.blocked_id = c.contact_id)
               AND NOT EXISTS (SELECT 1 FROM blocks b
                               WHERE b.account_id = c.contact_id AND b.blocked_id = $1)",
            &[&account.row()],
        )?;
        Ok(rows
            .iter()
            .map(|row| AccountId::from_row(row.get(0)))
            .collect())
    }
}

impl Writes for PgTx<'_> {
    fn device_seen_until(&mut self, device: DeviceId, at: Timestamp) -> Result<()> {
        self.conn().execute(
            "UPDATE devices SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id = $1",
            &[&device.row(), &at.unix_ms()],
        )?;
        Ok(())
    }

    fn set_last_seen_shown(&mut self, account: AccountId, shown: LastSeen) -> Result<()> {
        self.conn().execute(
            "UPDATE accounts SET last_seen_shown = $2 WHERE id = $1",
            &[&account.row(), &code(shown)],
        )?;
        Ok(())
    }
}
