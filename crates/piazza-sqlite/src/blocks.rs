//! Blocks: the SQL behind `piazza_core::blocks`.

use piazza_core::Result;
use piazza_core::blocks::{Blocked, Reads, Writes};
use piazza_domain::event::AccountRef;
use piazza_domain::{AccountId, MediaId, Timestamp, Username};
use rusqlite::params;

use crate::engine::{Db, Sql};
use crate::writer::WriteCtx;

impl Reads for Db<'_> {
    fn blocked_between(&mut self, one: AccountId, other: AccountId) -> Result<bool> {
        self.0
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM blocks WHERE account_id = ?1 AND blocked_id = ?2)
                     OR EXISTS (SELECT 1 FROM blocks WHERE account_id = ?2 AND blocked_id = ?1)
                     OR EXISTS (SELECT 1 FROM accounts
                                WHERE id IN (?1, ?2) AND deleted_at IS NOT NULL)",
            )
            .sql()?
            .query_row([one.row(), other.row()], |row| row.get(0))
            .sql()
    }

    fn blocked_by(&mut self, account: AccountId) -> Result<Vec<Blocked>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT a.id, a.username, a.display_name, a.avatar_media_id, b.blocked_at
                 FROM blocks b JOIN accounts a ON a.id = b.blocked_id
                 WHERE b.account_id = ?1
                 ORDER BY b.blocked_at DESC, a.id DESC",
            )
            .sql()?;
        let rows = statement
            .query_map([account.row()], |row| {
                Ok(Blocked {
                    account: AccountRef {
                        account_id: AccountId::from_row(row.get(0)?),
                        username: Username::from_store(row.get(1)?),
                        display_name: row.get(2)?,
                        avatar_media_id: row.get::<_, Option<i64>>(3)?.map(MediaId::from_row),
                    },
                    since: Timestamp::from_unix_ms(row.get(4)?),
                })
            })
            .sql()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql()
    }
}

impl Writes for WriteCtx<'_> {
    fn insert_block(
        &mut self,
        blocker: AccountId,
        blocked: AccountId,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO blocks (account_id, blocked_id, blocked_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
            )
            .sql()?
            .execute(params![blocker.row(), blocked.row(), at.unix_ms()])
            .sql()?;
        Ok(inserted == 1)
    }

    fn delete_block(&mut self, blocker: AccountId, blocked: AccountId) -> Result<bool> {
        let deleted = self
            .conn
            .prepare_cached("DELETE FROM blocks WHERE account_id = ?1 AND blocked_id = ?2")
            .sql()?
            .execute([blocker.row(), blocked.row()])
            .sql()?;
        Ok(deleted == 1)
    }
}
