//! Red packets' data: the SQL behind `piazza_core::pay::red_packets` —
//! packets with their pot on the row, and one claim row per member.

use piazza_core::Result;
use piazza_core::pay::red_packets::{Pot, Reads, Writes};
use piazza_domain::money::{AmountMinor, Currency, Money};
use piazza_domain::red_packet::SplitMode;
use piazza_domain::store::{RedPacket, RedPacketClaim, RedPacketRequest};
use piazza_domain::{AccountId, ConversationId, RedPacketId, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::engine::{Db, Sql};
use crate::error::Error;
use crate::writer::WriteCtx;

/// `red_packets.status`.
const OPEN: i64 = 0;
const CLOSED: i64 = 1;

const PACKET_COLUMNS: &str = "id, sender_id, conversation_id, total_minor, currency, share_count, \
     mode, greeting, remaining_minor, remaining_shares, status, created_at, expires_at";

impl Reads for Db<'_> {
    fn red_packet(&mut self, packet: RedPacketId) -> Result<Option<RedPacket>> {
        Ok(load(self.0, packet)?)
    }

    fn red_packet_claims(&mut self, packet: RedPacketId) -> Result<Vec<RedPacketClaim>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT account_id, amount_minor, claimed_at FROM red_packet_claims
                 WHERE red_packet_id = ?1 ORDER BY claimed_at, account_id",
            )
            .sql()?;
        statement
            .query_map([packet.row()], claim_from_row)
            .sql()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .sql()
    }

    fn red_packet_claim(
        &mut self,
        packet: RedPacketId,
        account: AccountId,
    ) -> Result<Option<RedPacketClaim>> {
        self.0
            .prepare_cached(
                "SELECT account_id, amount_minor, claimed_at FROM red_packet_claims
                 WHERE red_packet_id = ?1 AND account_id = ?2",
            )
            .sql()?
            .query_row(params![packet.row(), account.row()], claim_from_row)
            .optional()
            .sql()
    }
}

impl Writes for WriteCtx<'_> {
    fn insert_red_packet(
        &mut self,
        sender: AccountId,
        asked: &RedPacketRequest,
        at: Timestamp,
    ) -> Result<RedPacketId> {
        let row: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO red_packets
                 (sender_id, conversation_id, total_minor, currency, share_count, mode, greeting,
                  remaining_minor, remaining_shares, status, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?3, ?5, ?8, ?9, ?10) RETURNING id",
            )
            .sql()?
            .query_row(
                params![
                    sender.row(),
                    asked.conversation.row(),
                    asked.total.amount.get(),
                    asked.total.currency.as_str(),
                    asked.count.get(),
                    asked.mode.as_str(),
                    asked.greeting,
                    OPEN,
                    at.unix_ms(),
                    asked.expires_at.unix_ms()
                ],
                |row| row.get(0),
            )
            .sql()?;
        Ok(RedPacketId::from_row(row))
    }

    fn red_packet_for_update(&mut self, packet: RedPacketId) -> Result<Option<RedPacket>> {
        // The single writer: the row cannot change before this commits.
        Ok(load(self.conn, packet)?)
    }

    fn draw_from_pot(&mut self, packet: RedPacketId, before: Pot, after: Pot) -> Result<bool> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE red_packets SET remaining_minor = ?1, remaining_shares = ?2
                 WHERE id = ?3 AND remaining_minor = ?4 AND remaining_shares = ?5",
            )
            .sql()?
            .execute(params![
                after.remaining_minor,
                after.remaining_shares,
                packet.row(),
                before.remaining_minor,
                before.remaining_shares
            ])
            .sql()?;
        Ok(changed == 1)
    }

    fn insert_claim(
        &mut self,
        packet: RedPacketId,
        account: AccountId,
        amount_minor: i64,
        at: Timestamp,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO red_packet_claims (red_packet_id, account_id, amount_minor, claimed_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .sql()?
            .execute(params![packet.row(), account.row(), amount_minor, at.unix_ms()])
            .sql()?;
        Ok(())
    }

    fn expired_red_packets_for_update(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<RedPacket>> {
        let mut statement = self
            .conn
            .prepare_cached(&format!(
                "SELECT {PACKET_COLUMNS} FROM red_packets
                 WHERE status = 0 AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2"
            ))
            .sql()?;
        let mut rows = statement
            .query(params![now.unix_ms(), i64::from(limit)])
            .sql()?;
        let mut expired = Vec::new();
        while let Some(row) = rows.next().sql()? {
            expired.push(packet_from_row(row)?);
        }
        Ok(expired)
    }

    fn close_red_packet(&mut self, packet: RedPacketId) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE red_packets SET status = ?1, remaining_minor = 0, remaining_shares = 0
                 WHERE id = ?2",
            )
            .sql()?
            .execute(params![CLOSED, packet.row()])
            .sql()?;
        Ok(())
    }
}

fn claim_from_row(row: &Row<'_>) -> rusqlite::Result<RedPacketClaim> {
    Ok(RedPacketClaim {
        account: AccountId::from_row(row.get(0)?),
        amount_minor: row.get(1)?,
        claimed_at: Timestamp::from_unix_ms(row.get(2)?),
    })
}

fn packet_from_row(row: &Row<'_>) -> crate::error::Result<RedPacket> {
    let id: i64 = row.get(0)?;
    let corrupt = |what: &str| Error::Corrupt(format!("red packet {id}: {what}"));
    let total: i64 = row.get(3)?;
    let currency: String = row.get(4)?;
    let mode: String = row.get(6)?;
    Ok(RedPacket {
        red_packet_id: RedPacketId::from_row(id),
        sender: AccountId::from_row(row.get(1)?),
        conversation: ConversationId::from_row(row.get(2)?),
        total: Money::new(
            AmountMinor::positive(total).map_err(|_| corrupt("total"))?,
            Currency::parse(&currency).map_err(|_| corrupt("currency"))?,
        ),
        count: row.get(5)?,
        mode: SplitMode::parse(&mode).map_err(|_| corrupt("mode"))?,
        greeting: row.get(7)?,
        remaining_minor: row.get(8)?,
        remaining_shares: row.get(9)?,
        refunded: row.get::<_, i64>(10)? == CLOSED,
        created_at: Timestamp::from_unix_ms(row.get(11)?),
        expires_at: Timestamp::from_unix_ms(row.get(12)?),
        claims: Vec::new(),
    })
}

fn load(conn: &Connection, packet: RedPacketId) -> crate::error::Result<Option<RedPacket>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {PACKET_COLUMNS} FROM red_packets WHERE id = ?1"
    ))?;
    let mut rows = statement.query([packet.row()])?;
    match rows.next()? {
        Some(row) => Ok(Some(packet_from_row(row)?)),
        None => Ok(None),
    }
}
