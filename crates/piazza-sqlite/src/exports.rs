//! Exports: the SQL behind `piazza_core::exports`.

use piazza_core::Result;
use piazza_core::exports::{Export, Reads, Writes};
use piazza_domain::{AccountId, ExportId, Timestamp};
use rusqlite::{OptionalExtension, params};

use crate::engine::{Db, Sql};
use crate::writer::WriteCtx;

impl Reads for Db<'_> {
    fn export(&mut self, id: ExportId) -> Result<Option<Export>> {
        self.0
            .prepare_cached("SELECT account_id, created_at FROM exports WHERE id = ?1")
            .sql()?
            .query_row([id.row()], |row| {
                Ok(Export {
                    id,
                    account: AccountId::from_row(row.get(0)?),
                    created_at: Timestamp::from_unix_ms(row.get(1)?),
                })
            })
            .optional()
            .sql()
    }

    fn export_link(&mut self, secret_sha256: &[u8; 32]) -> Result<Option<(ExportId, Timestamp)>> {
        self.0
            .prepare_cached(
                "SELECT export_id, expires_at FROM export_links WHERE secret_sha256 = ?1",
            )
            .sql()?
            .query_row([&secret_sha256[..]], |row| {
                Ok((
                    ExportId::from_row(row.get(0)?),
                    Timestamp::from_unix_ms(row.get(1)?),
                ))
            })
            .optional()
            .sql()
    }

    fn exports_since(&mut self, account: AccountId, since: Timestamp) -> Result<Vec<Timestamp>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT created_at FROM exports WHERE account_id = ?1 AND created_at > ?2
                 ORDER BY created_at",
            )
            .sql()?;
        let rows = statement
            .query_map(params![account.row(), since.unix_ms()], |row| {
                Ok(Timestamp::from_unix_ms(row.get(0)?))
            })
            .sql()?;
        rows.collect::<rusqlite::Result<_>>().sql()
    }
}

impl Writes for WriteCtx<'_> {
    fn insert_export(&mut self, account: AccountId, at: Timestamp) -> Result<ExportId> {
        self.conn
            .prepare_cached("INSERT INTO exports (account_id, created_at) VALUES (?1, ?2)")
            .sql()?
            .execute(params![account.row(), at.unix_ms()])
            .sql()?;
        Ok(ExportId::from_row(self.conn.last_insert_rowid()))
    }

    fn insert_export_link(
        &mut self,
        export: ExportId,
        secret_sha256: &[u8; 32],
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM export_links WHERE export_id = ?1 AND expires_at <= ?2")
            .sql()?
            .execute(params![export.row(), now.unix_ms()])
            .sql()?;
        self.conn
            .prepare_cached(
                "INSERT INTO export_links (secret_sha256, export_id, expires_at) VALUES (?1, ?2, ?3)",
            )
            .sql()?
            .execute(params![&secret_sha256[..], export.row(), expires_at.unix_ms()])
            .sql()?;
        Ok(())
    }

    fn take_export_link(&mut self, secret_sha256: &[u8; 32]) -> Result<bool> {
        let taken = self
            .conn
            .prepare_cached("DELETE FROM export_links WHERE secret_sha256 = ?1")
            .sql()?
            .execute([&secret_sha256[..]])
            .sql()?;
        Ok(taken == 1)
    }
}
