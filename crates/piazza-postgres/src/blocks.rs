//! Blocks: the SQL behind `piazza_core::blocks`. A direct message's check
//! goes through the batch (`Conn::blocked_between`), as its contact check
//! does, so it costs the hot path no round trip of its own.

use piazza_core::Result;
use piazza_core::blocks::{Blocked, Reads, Writes};
use piazza_domain::event::AccountRef;
use piazza_domain::{AccountId, MediaId, Timestamp, Username};

use crate::{Db, PgTx};

impl Reads for Db<'_> {
    fn blocked_between(&mut self, one: AccountId, other: AccountId) -> Result<bool> {
        if self.0.batch.is_some() {
            return self.0.blocked_between(one.row(), other.row());
        }
        let row = self
            .0
            .query_one(BLOCKED_BETWEEN, &[&one.row(), &other.row()])?;
        Ok(row.get(0))
    }

    fn blocked_by(&mut self, account: AccountId) -> Result<Vec<Blocked>> {
        let rows = self.0.query(
            "SELECT a.id, a.username, a.display_name, a.avatar_media_id, b.blocked_at
             FROM blocks b JOIN accounts a ON a.id = b.blocked_id
             WHERE b.account_id = $1
             ORDER BY b.blocked_at DESC, a.id DESC",
            &[&account.row()],
        )?;
        Ok(rows
            .iter()
            .map(|row| Blocked {
                account: AccountRef {
                    account_id: AccountId::from_row(row.get(0)),
                    username: Username::from_store(row.get(1)),
                    display_name: row.get(2),
                    avatar_media_id: row.get::<_, Option<i64>>(3).map(MediaId::from_row),
                },
                since: Timestamp::from_unix_ms(row.get(4)),
            })
            .collect())
    }
}

/// Whether either of $1 and $2 blocked the other, or was deleted.
const BLOCKED_BETWEEN: &str = "SELECT
    EXISTS (SELECT 1 FROM blocks WHERE account_id = $1 AND blocked_id = $2)
    OR EXISTS (SELECT 1 FROM blocks WHERE account_id = $2 AND blocked_id = $1)
    OR EXISTS (SELECT 1 FROM accounts WHERE id IN ($1, $2) AND deleted_at IS NOT NULL)";

impl Writes for PgTx<'_> {
    fn insert_block(
        &mut self,
        blocker: AccountId,
        blocked: AccountId,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self.conn().execute(
            "INSERT INTO blocks (account_id, blocked_id, blocked_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&blocker.row(), &blocked.row(), &at.unix_ms()],
        )?;
        Ok(inserted == 1)
    }

    fn delete_block(&mut self, blocker: AccountId, blocked: AccountId) -> Result<bool> {
        let deleted = self.conn().execute(
            "DELETE FROM blocks WHERE account_id = $1 AND blocked_id = $2",
            &[&blocker.row(), &blocked.row()],
        )?;
        Ok(deleted == 1)
    }
}
