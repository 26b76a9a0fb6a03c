//! Contact codes: the SQL behind `piazza_core::contact_codes`.

use piazza_core::contact_codes::{Reads, Writes};
use piazza_core::{Error, Result};
use piazza_domain::{AccountId, ContactCode, Timestamp};
use rusqlite::{OptionalExtension, params};

use crate::engine::{Db, Sql};
use crate::writer::WriteCtx;

impl Reads for Db<'_> {
    fn contact_code(&mut self, account: AccountId) -> Result<Option<ContactCode>> {
        let token: Option<String> = self
            .0
            .prepare_cached("SELECT token FROM contact_codes WHERE account_id = ?1")
            .sql()?
            .query_row([account.row()], |row| row.get(0))
            .optional()
            .sql()?;
        token.map(|token| stored_code(&token)).transpose()
    }

    fn contact_code_owner(&mut self, code: &ContactCode) -> Result<Option<AccountId>> {
        let owner: Option<i64> = self
            .0
            .prepare_cached("SELECT account_id FROM contact_codes WHERE token = ?1")
            .sql()?
            .query_row([code.as_str()], |row| row.get(0))
            .optional()
            .sql()?;
        Ok(owner.map(AccountId::from_row))
    }
}

/// A stored token, which the schema's check keeps well formed.
fn stored_code(token: &str) -> Result<ContactCode> {
    ContactCode::parse_token(token)
        .ok_or_else(|| Error::Corrupt("a contact code that cannot be one".into()))
}

impl Writes for WriteCtx<'_> {
    fn insert_contact_code(
        &mut self,
        account: AccountId,
        code: &ContactCode,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO contact_codes (account_id, token, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (account_id) DO NOTHING",
            )
            .sql()?
            .execute(params![account.row(), code.as_str(), at.unix_ms()])
            .sql()?;
        Ok(inserted == 1)
    }

    fn replace_contact_code(
        &mut self,
        account: AccountId,
        code: &ContactCode,
        at: Timestamp,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO contact_codes (account_id, token, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (account_id) DO UPDATE
                 SET token = excluded.token, created_at = excluded.created_at",
            )
            .sql()?
            .execute(params![account.row(), code.as_str(), at.unix_ms()])
            .sql()?;
        Ok(())
    }
}
