//! Chat transfers' data: the SQL behind `piazza_core::pay::transfers`.
//! A transfer's row never changes but for its status, which is why the log
//! keeps its events by reference (`log_data.rs`).

use piazza_core::Result;
use piazza_core::pay::transfers::{Reads, Writes};
use piazza_domain::money::{AmountMinor, Currency, Money};
use piazza_domain::store::{Transfer, TransferRequest, TransferStatus};
use piazza_domain::{AccountId, Timestamp, TransferId};
use rusqlite::{Connection, Row, params};

use crate::engine::{Db, Sql};
use crate::error::Error;
use crate::writer::WriteCtx;

const TRANSFER_COLUMNS: &str =
    "id, from_id, to_id, amount_minor, currency, note, status, created_at, expires_at";

impl Reads for Db<'_> {
    fn transfer(&mut self, transfer: TransferId) -> Result<Option<Transfer>> {
        Ok(load(self.0, transfer)?)
    }
}

impl Writes for WriteCtx<'_> {
    fn insert_transfer(
        &mut self,
        sender: AccountId,
        asked: &TransferRequest,
        at: Timestamp,
    ) -> Result<TransferId> {
        let row: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO transfers
                 (from_id, to_id, amount_minor, currency, note, status, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
            )
            .sql()?
            .query_row(
                params![
                    sender.row(),
                    asked.to.row(),
                    asked.money.amount.get(),
                    asked.money.currency.as_str(),
                    asked.note,
                    TransferStatus::Pending.code(),
                    at.unix_ms(),
                    asked.expires_at.unix_ms()
                ],
                |row| row.get(0),
            )
            .sql()?;
        Ok(TransferId::from_row(row))
    }

    fn transfer_for_update(&mut self, transfer: TransferId) -> Result<Option<Transfer>> {
        // The single writer: the row cannot change before this commits.
        Ok(load(self.conn, transfer)?)
    }

    fn expired_transfers_for_update(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Transfer>> {
        let mut statement = self
            .conn
            .prepare_cached(&format!(
                "SELECT {TRANSFER_COLUMNS} FROM transfers
                 WHERE status = 0 AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2"
            ))
            .sql()?;
        let mut rows = statement
            .query(params![now.unix_ms(), i64::from(limit)])
            .sql()?;
        let mut expired = Vec::new();
        while let Some(row) = rows.next().sql()? {
            expired.push(transfer_from_row(row)?);
        }
        Ok(expired)
    }

    fn resolve_transfer(
        &mut self,
        transfer: TransferId,
        status: TransferStatus,
        at: Timestamp,
    ) -> Result<bool> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE transfers SET status = ?1, resolved_at = ?2 WHERE id = ?3 AND status = ?4",
            )
            .sql()?
            .execute(params![
                status.code(),
                at.unix_ms(),
                transfer.row(),
                TransferStatus::Pending.code()
            ])
            .sql()?;
        Ok(changed == 1)
    }
}

fn transfer_from_row(row: &Row<'_>) -> crate::error::Result<Transfer> {
    let amount: i64 = row.get(3)?;
    let currency: String = row.get(4)?;
    let status: i64 = row.get(6)?;
    let corrupt = |what: &str| Error::Corrupt(format!("transfer {}: {what}", amount));
    Ok(Transfer {
        transfer_id: TransferId::from_row(row.get(0)?),
        from: AccountId::from_row(row.get(1)?),
        to: AccountId::from_row(row.get(2)?),
        money: Money::new(
            AmountMinor::positive(amount).map_err(|_| corrupt("amount"))?,
            Currency::parse(&currency).map_err(|_| corrupt("currency"))?,
        ),
        note: row.get(5)?,
        status: TransferStatus::from_code(status).ok_or_else(|| corrupt("status"))?,
        created_at: Timestamp::from_unix_ms(row.get(7)?),
        expires_at: Timestamp::from_unix_ms(row.get(8)?),
    })
}

/// A transfer as its row stands (also how the log rebuilds its events).
pub(crate) fn load(
    conn: &Connection,
    transfer: TransferId,
) -> crate::error::Result<Option<Transfer>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {TRANSFER_COLUMNS} FROM transfers WHERE id = ?1"
    ))?;
    let mut rows = statement.query([transfer.row()])?;
    match rows.next()? {
        Some(row) => Ok(Some(transfer_from_row(row)?)),
        None => Ok(None),
    }
}
