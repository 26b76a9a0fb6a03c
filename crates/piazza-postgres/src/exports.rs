//! Exports: the SQL behind `piazza_core::exports`.

use piazza_core::Result;
use piazza_core::exports::{Export, Reads, Writes};
use piazza_domain::{AccountId, ExportId, Timestamp};

use crate::{Db, PgTx};

impl Reads for Db<'_> {
    fn export(&mut self, id: ExportId) -> Result<Option<Export>> {
        let row = self.0.query_opt(
            "SELECT account_id, created_at FROM exports WHERE id = $1",
            &[&id.row()],
        )?;
        Ok(row.map(|row| Export {
            id,
            account: AccountId::from_row(row.get(0)),
            created_at: Timestamp::from_unix_ms(row.get(1)),
        }))
    }

    fn exports_since(&mut self, account: AccountId, since: Timestamp) -> Result<Vec<Timestamp>> {
        let rows = self.0.query(
            "SELECT created_at FROM exports WHERE account_id = $1 AND created_at > $2
             ORDER BY created_at",
            &[&account.row(), &since.unix_ms()],
        )?;
        Ok(rows
            .iter()
            .map(|row| Timestamp::from_unix_ms(row.get(0)))
            .collect())
    }
}

impl Writes for PgTx<'_> {
    fn insert_export(&mut self, account: AccountId, at: Timestamp) -> Result<ExportId> {
        let row = self.conn().query_one(
            "INSERT INTO exports (account_id, created_at) VALUES ($1, $2) RETURNING id",
            &[&account.row(), &at.unix_ms()],
        )?;
        Ok(ExportId::from_row(row.get(0)))
    }
}
