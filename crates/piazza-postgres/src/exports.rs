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

    fn export_link(&mut self, secret_sha256: &[u8; 32]) -> Result<Option<(ExportId, Timestamp)>> {
        let row = self.0.query_opt(
            "SELECT export_id, expires_at FROM export_links WHERE secret_sha256 = $1",
            &[&&secret_sha256[..]],
        )?;
        Ok(row.map(|row| {
            (
                ExportId::from_row(row.get(0)),
                Timestamp::from_unix_ms(row.get(1)),
            )
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

    fn insert_export_link(
        &mut self,
        export: ExportId,
        secret_sha256: &[u8; 32],
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        self.conn().execute(
            "DELETE FROM export_links WHERE export_id = $1 AND expires_at <= $2",
            &[&export.row(), &now.unix_ms()],
        )?;
        self.conn().execute(
            "INSERT INTO export_links (secret_sha256, export_id, expires_at) VALUES ($1, $2, $3)",
            &[&&secret_sha256[..], &export.row(), &expires_at.unix_ms()],
        )?;
        Ok(())
    }

    fn take_export_link(&mut self, secret_sha256: &[u8; 32]) -> Result<bool> {
        let taken = self.conn().execute(
            "DELETE FROM export_links WHERE secret_sha256 = $1",
            &[&&secret_sha256[..]],
        )?;
        Ok(taken == 1)
    }
}
