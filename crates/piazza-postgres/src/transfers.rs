//! Chat transfers' data: the SQL behind `piazza_core::pay::transfers`.
//!
//! Locks: a transfer is accepted, declined or returned under its row's
//! lock, so exactly one of them happens. The return sweep skips rows
//! another transaction holds (a recipient deciding at that moment); a
//! later sweep takes what is still pending then.

use piazza_core::Result;
use piazza_core::pay::transfers::{Reads, Writes};
use piazza_domain::money::{AmountMinor, Currency, Money};
use piazza_domain::store::{Transfer, TransferRequest, TransferStatus};
use piazza_domain::{AccountId, Timestamp, TransferId};
use postgres::Row;

use crate::conn::corrupt;
use crate::{Db, PgTx};

/// The columns [`transfer_from_row`] reads.
macro_rules! transfer_columns {
    () => {
        "id, from_id, to_id, amount_minor, currency, note, status, created_at, expires_at"
    };
}

fn transfer_from_row(row: &Row) -> Result<Transfer> {
    let id: i64 = row.get(0);
    let broken = |what: &str| corrupt(format!("transfer {id}: {what}"));
    let currency: String = row.get(4);
    Ok(Transfer {
        transfer_id: TransferId::from_row(id),
        from: AccountId::from_row(row.get(1)),
        to: AccountId::from_row(row.get(2)),
        money: Money::new(
            AmountMinor::positive(row.get(3)).map_err(|_| broken("amount"))?,
            Currency::parse(&currency).map_err(|_| broken("currency"))?,
        ),
        note: row.get(5),
        status: TransferStatus::from_code(row.get(6)).ok_or_else(|| broken("status"))?,
        created_at: Timestamp::from_unix_ms(row.get(7)),
        expires_at: Timestamp::from_unix_ms(row.get(8)),
    })
}

impl Reads for Db<'_> {
    fn transfer(&mut self, transfer: TransferId) -> Result<Option<Transfer>> {
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                transfer_columns!(),
                " FROM transfers WHERE id = $1"
            ),
            &[&transfer.row()],
        )?;
        row.as_ref().map(transfer_from_row).transpose()
    }
}

impl Writes for PgTx<'_> {
    fn insert_transfer(
        &mut self,
        sender: AccountId,
        asked: &TransferRequest,
        at: Timestamp,
    ) -> Result<TransferId> {
        let id = self.conn().insert_transfer_cached(sender, asked, at)?;
        Ok(TransferId::from_row(id))
    }

    fn transfer_for_update(&mut self, transfer: TransferId) -> Result<Option<Transfer>> {
        let row = self.conn().query_opt(
            concat!(
                "SELECT ",
                transfer_columns!(),
                " FROM transfers WHERE id = $1 FOR UPDATE"
            ),
            &[&transfer.row()],
        )?;
        row.as_ref().map(transfer_from_row).transpose()
    }

    fn expired_transfers_for_update(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Transfer>> {
        let rows = self.conn().query(
            concat!(
                "SELECT ",
                transfer_columns!(),
                " FROM transfers WHERE status = 0 AND expires_at <= $1
                  ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED"
            ),
            &[&now.unix_ms(), &i64::from(limit)],
        )?;
        rows.iter().map(transfer_from_row).collect()
    }

    fn resolve_transfer(
        &mut self,
        transfer: TransferId,
        status: TransferStatus,
        at: Timestamp,
    ) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE transfers SET status = $1, resolved_at = $2 WHERE id = $3 AND status = $4",
            &[
                &status.code(),
                &at.unix_ms(),
                &transfer.row(),
                &TransferStatus::Pending.code(),
            ],
        )?;
        Ok(changed == 1)
    }
}
