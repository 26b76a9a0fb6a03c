//! Red packets' data: the SQL behind `piazza_core::pay::red_packets`.
//!
//! Locks: a claim draws from the pot under the packet row's lock, so the
//! claims of one packet take their turns and none over- or under-pays; a
//! member's second claim meets the claims' primary key. The refund sweep
//! skips packets another transaction holds (a claim under way); a later
//! sweep closes them.

use piazza_core::Result;
use piazza_core::pay::red_packets::{Pot, Reads, Writes};
use piazza_domain::money::{AmountMinor, Currency, Money};
use piazza_domain::red_packet::SplitMode;
use piazza_domain::store::{RedPacket, RedPacketClaim, RedPacketRequest};
use piazza_domain::{AccountId, ConversationId, RedPacketId, Timestamp};
use postgres::Row;

use crate::conn::corrupt;
use crate::{Db, PgTx};

/// `red_packets.status`, as SQLite keeps it.
const OPEN: i64 = 0;
const CLOSED: i64 = 1;

/// The columns [`packet_from_row`] reads.
macro_rules! packet_columns {
    () => {
        "id, sender_id, conversation_id, total_minor, currency, share_count, mode, greeting, \
         remaining_minor, remaining_shares, status, created_at, expires_at"
    };
}
pub(crate) use packet_columns;

pub(crate) fn packet_from_row(row: &Row) -> Result<RedPacket> {
    let id: i64 = row.get(0);
    let broken = |what: &str| corrupt(format!("red packet {id}: {what}"));
    let currency: String = row.get(4);
    let mode: String = row.get(6);
    let shares = |column: usize| u32::try_from(row.get::<_, i64>(column));
    Ok(RedPacket {
        red_packet_id: RedPacketId::from_row(id),
        sender: AccountId::from_row(row.get(1)),
        conversation: ConversationId::from_row(row.get(2)),
        total: Money::new(
            AmountMinor::positive(row.get(3)).map_err(|_| broken("total"))?,
            Currency::parse(&currency).map_err(|_| broken("currency"))?,
        ),
        count: shares(5).map_err(|_| broken("share count"))?,
        mode: SplitMode::parse(&mode).map_err(|_| broken("mode"))?,
        greeting: row.get(7),
        remaining_minor: row.get(8),
        remaining_shares: shares(9).map_err(|_| broken("remaining shares"))?,
        refunded: row.get::<_, i64>(10) == CLOSED,
        created_at: Timestamp::from_unix_ms(row.get(11)),
        expires_at: Timestamp::from_unix_ms(row.get(12)),
        claims: Vec::new(),
    })
}

fn claim_from_row(row: &Row) -> RedPacketClaim {
    RedPacketClaim {
        account: AccountId::from_row(row.get(0)),
        amount_minor: row.get(1),
        claimed_at: Timestamp::from_unix_ms(row.get(2)),
    }
}

impl Reads for Db<'_> {
    fn red_packet(&mut self, packet: RedPacketId) -> Result<Option<RedPacket>> {
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                packet_columns!(),
                " FROM red_packets WHERE id = $1"
            ),
            &[&packet.row()],
        )?;
        row.as_ref().map(packet_from_row).transpose()
    }

    fn red_packet_claims(&mut self, packet: RedPacketId) -> Result<Vec<RedPacketClaim>> {
        let rows = self.0.query(
            "SELECT account_id, amount_minor, claimed_at FROM red_packet_claims
             WHERE red_packet_id = $1 ORDER BY claimed_at, account_id",
            &[&packet.row()],
        )?;
        Ok(rows.iter().map(claim_from_row).collect())
    }

    fn red_packet_claim(
        &mut self,
        packet: RedPacketId,
        account: AccountId,
    ) -> Result<Option<RedPacketClaim>> {
        if self.0.batch.is_some() {
            return self.0.claim_cached(packet.row(), account.row());
        }
        let row = self.0.query_opt(
            "SELECT account_id, amount_minor, claimed_at FROM red_packet_claims
             WHERE red_packet_id = $1 AND account_id = $2",
            &[&packet.row(), &account.row()],
        )?;
        Ok(row.as_ref().map(claim_from_row))
    }
}

impl Writes for PgTx<'_> {
    fn insert_red_packet(
        &mut self,
        sender: AccountId,
        asked: &RedPacketRequest,
        at: Timestamp,
    ) -> Result<RedPacketId> {
        let row = self.conn().query_one(
            "INSERT INTO red_packets
             (sender_id, conversation_id, total_minor, currency, share_count, mode, greeting,
              remaining_minor, remaining_shares, status, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $3, $5, $8, $9, $10) RETURNING id",
            &[
                &sender.row(),
                &asked.conversation.row(),
                &asked.total.amount.get(),
                &asked.total.currency.as_str(),
                &i64::from(asked.count.get()),
                &asked.mode.as_str(),
                &asked.greeting,
                &OPEN,
                &at.unix_ms(),
                &asked.expires_at.unix_ms(),
            ],
        )?;
        Ok(RedPacketId::from_row(row.get(0)))
    }

    // A writer's connection always has its batch (`batch/red_packets.rs`).
    fn red_packet_for_update(&mut self, packet: RedPacketId) -> Result<Option<RedPacket>> {
        self.conn().packet_locked(packet.row())
    }

    fn draw_from_pot(&mut self, packet: RedPacketId, before: Pot, after: Pot) -> Result<bool> {
        Ok(self.conn().draw_cached(packet.row(), before, after))
    }

    fn insert_claim(
        &mut self,
        packet: RedPacketId,
        account: AccountId,
        amount_minor: i64,
        at: Timestamp,
    ) -> Result<()> {
        if !self
            .conn()
            .insert_claim_cached(packet.row(), account, amount_minor, at)
        {
            return Err(piazza_core::Error::Engine(format!(
                "{packet} is not locked by the batch that claims it"
            )));
        }
        Ok(())
    }

    fn expired_red_packets_for_update(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<RedPacket>> {
        let rows = self.conn().query(
            concat!(
                "SELECT ",
                packet_columns!(),
                " FROM red_packets WHERE status = 0 AND expires_at <= $1
                  ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED"
            ),
            &[&now.unix_ms(), &i64::from(limit)],
        )?;
        rows.iter().map(packet_from_row).collect()
    }

    fn close_red_packet(&mut self, packet: RedPacketId) -> Result<()> {
        self.conn().execute(
            "UPDATE red_packets SET status = $1, remaining_minor = 0, remaining_shares = 0
             WHERE id = $2",
            &[&CLOSED, &packet.row()],
        )?;
        Ok(())
    }
}
