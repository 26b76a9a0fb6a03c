//! Contact codes: the SQL behind `piazza_core::contact_codes`. The
//! account's row in `contact_codes` is its code's only lock: an upsert
//! takes it, so two resets at once end with one code and no other.

use piazza_core::contact_codes::{Reads, Writes};
use piazza_core::{Error, Result};
use piazza_domain::{AccountId, ContactCode, Timestamp};

use crate::{Db, PgTx};

impl Reads for Db<'_> {
    fn contact_code(&mut self, account: AccountId) -> Result<Option<ContactCode>> {
        let row = self.0.query_opt(
            "SELECT token FROM contact_codes WHERE account_id = $1",
            &[&account.row()],
        )?;
        row.map(|row| stored_code(row.get(0))).transpose()
    }

    fn contact_code_owner(&mut self, code: &ContactCode) -> Result<Option<AccountId>> {
        let row = self.0.query_opt(
            "SELECT account_id FROM contact_codes WHERE token = $1",
            &[&code.as_str()],
        )?;
        Ok(row.map(|row| AccountId::from_row(row.get(0))))
    }
}

/// A stored token, which the schema's check keeps well formed.
fn stored_code(token: &str) -> Result<ContactCode> {
    ContactCode::parse_token(token)
        .ok_or_else(|| Error::Corrupt("a contact code that cannot be one".into()))
}

impl Writes for PgTx<'_> {
    fn insert_contact_code(
        &mut self,
        account: AccountId,
        code: &ContactCode,
        at: Timestamp,
    ) -> Result<bool> {
        let inserted = self.conn().execute(
            "INSERT INTO contact_codes (account_id, token, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (account_id) DO NOTHING",
            &[&account.row(), &code.as_str(), &at.unix_ms()],
        )?;
        Ok(inserted == 1)
    }

    fn replace_contact_code(
        &mut self,
        account: AccountId,
        code: &ContactCode,
        at: Timestamp,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO contact_codes (account_id, token, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (account_id) DO UPDATE
             SET token = excluded.token, created_at = excluded.created_at",
            &[&account.row(), &code.as_str(), &at.unix_ms()],
        )?;
        Ok(())
    }
}
