//! Red-packet claims through the batch (`batch.rs`): the packet's row
//! locked once for the batch, each claim drawing from the pot the claim
//! before it left, the claims and the pot written by one statement
//! ([`flush`]). A thousand members grabbing one packet cost a batch's
//! round trips, not a savepoint and five statements each.

use std::collections::{HashMap, HashSet};

use piazza_core::Result;
use piazza_core::pay::red_packets::Pot;
use piazza_domain::store::{RedPacket, RedPacketClaim};
use piazza_domain::{AccountId, Timestamp};

use crate::conn::Conn;
use crate::red_packets::packet_from_row;

/// A packet's row, locked: as the batch's claims left it, its pot as the
/// database holds it, and its claims (a packet has as many as it has
/// shares at most).
#[derive(Debug, Clone)]
pub(crate) struct PacketRow {
    pub packet: RedPacket,
    pub stored: Pot,
    pub claims: HashMap<i64, RedPacketClaim>,
}

impl PacketRow {
    pub fn pot(&self) -> Pot {
        packet_pot(&self.packet)
    }

    /// The claims and the pot of an open packet add up to its total and
    /// its share count.
    fn adds_up(&self) -> bool {
        let packet = &self.packet;
        let paid: i64 = self.claims.values().map(|claim| claim.amount_minor).sum();
        !packet.refunded
            && paid + packet.remaining_minor == packet.total.amount.get()
            && self.claims.len() as u64 + u64::from(packet.remaining_shares)
                == u64::from(packet.count)
    }
}

fn packet_pot(packet: &RedPacket) -> Pot {
    Pot {
        remaining_minor: packet.remaining_minor,
        remaining_shares: packet.remaining_shares,
    }
}

/// A claim waiting for the flush: packet, account, amount, at.
pub(crate) type NewClaim = (i64, i64, i64, i64);

/// Packets by id, locked in id order, each with its claims and its
/// conversation's members (what a claim asks next): one round trip for
/// all a claim reads. The row locked is the newest, but the claims are
/// read in the statement's snapshot, taken before it waited for the lock:
/// a claim committed meanwhile would be missing, and its member would
/// draw again. Claims and the pot move together under the lock, so the
/// claims found must add up with the pot found; a packet whose do not (or
/// one refunded) has its claims read again, by a statement of its own
/// that starts after the lock is held.
pub(crate) fn fetch_packets(conn: &mut Conn, ids: HashSet<i64>) -> Result<()> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    let rows = conn.raw_query(
        concat!(
            "SELECT ",
            crate::red_packets::packet_columns!(),
            ", ARRAY(SELECT m.account_id FROM members m
                      WHERE m.conversation_id = p.conversation_id ORDER BY m.account_id),
               ARRAY(SELECT c.account_id FROM red_packet_claims c WHERE c.red_packet_id = p.id
                     ORDER BY c.account_id),
               ARRAY(SELECT c.amount_minor FROM red_packet_claims c WHERE c.red_packet_id = p.id
                     ORDER BY c.account_id),
               ARRAY(SELECT c.claimed_at FROM red_packet_claims c WHERE c.red_packet_id = p.id
                     ORDER BY c.account_id)
             FROM red_packets p WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE OF p"
        ),
        &[&ids],
    )?;
    let mut found = Vec::with_capacity(rows.len());
    let mut stale: Vec<i64> = Vec::new();
    for row in &rows {
        let packet = packet_from_row(row)?;
        let members: Vec<i64> = row.get(13);
        let (claimers, amounts, ats): (Vec<i64>, Vec<i64>, Vec<i64>) =
            (row.get(14), row.get(15), row.get(16));
        let claims = claimers
            .iter()
            .zip(amounts)
            .zip(ats)
            .map(|((account, amount), at)| {
                let claim = RedPacketClaim {
                    account: AccountId::from_row(*account),
                    amount_minor: amount,
                    claimed_at: Timestamp::from_unix_ms(at),
                };
                (*account, claim)
            });
        let claims = claims.collect();
        let conversation = packet.conversation.row();
        // Not `member_lists`: sends trust that list as read after their
        // conversation's row was locked, and this one was not.
        let batch = conn.batch_mut();
        if !batch.cache.packet_audiences.contains_key(&conversation) {
            let list = members.into_iter().map(AccountId::from_row).collect();
            batch.set(|cache| &mut cache.packet_audiences, conversation, list);
        }
        let stored = packet_pot(&packet);
        let id = packet.red_packet_id.row();
        let packet = PacketRow {
            packet,
            stored,
            claims,
        };
        if !packet.adds_up() {
            stale.push(id);
        }
        found.push((id, packet));
    }
    if !stale.is_empty() {
        let mut claims = claims_of(conn, &stale)?;
        for (id, packet) in &mut found {
            if stale.contains(id) {
                packet.claims = claims.remove(id).unwrap_or_default();
            }
        }
    }
    conn.batch_mut()
        .answer(|cache| &mut cache.packets, ids, found);
    Ok(())
}

/// The claims of `packets`, by packet and account, read by a statement
/// that starts after their rows are locked.
fn claims_of(
    conn: &mut Conn,
    packets: &[i64],
) -> Result<HashMap<i64, HashMap<i64, RedPacketClaim>>> {
    let rows = conn.raw_query(
        "SELECT red_packet_id, account_id, amount_minor, claimed_at FROM red_packet_claims
         WHERE red_packet_id = ANY($1)",
        &[&packets],
    )?;
    let mut claims: HashMap<i64, HashMap<i64, RedPacketClaim>> = HashMap::new();
    for row in rows {
        let account: i64 = row.get(1);
        let claim = RedPacketClaim {
            account: AccountId::from_row(account),
            amount_minor: row.get(2),
            claimed_at: Timestamp::from_unix_ms(row.get(3)),
        };
        claims.entry(row.get(0)).or_default().insert(account, claim);
    }
    Ok(claims)
}

impl Conn {
    /// The packet as the batch's claims left it, its row locked.
    pub(crate) fn packet_locked(&mut self, packet: i64) -> Result<Option<RedPacket>> {
        self.read_packet(packet, |row| row.packet.clone())
    }

    /// `account`'s claim of `packet`, from the packet's row (locked).
    pub(crate) fn claim_cached(
        &mut self,
        packet: i64,
        account: i64,
    ) -> Result<Option<RedPacketClaim>> {
        let claim = self.read_packet(packet, |row| row.claims.get(&account).cloned())?;
        Ok(claim.flatten())
    }

    /// What `pick` takes from the packet's row, fetched (and locked) on a
    /// miss; `None` if there is no such packet.
    fn read_packet<T>(&mut self, packet: i64, pick: impl Fn(&PacketRow) -> T) -> Result<Option<T>> {
        self.cached(
            |cache| Some(cache.packets.get(&packet)?.as_ref().map(&pick)),
            |misses| {
                misses.packets.insert(packet);
            },
            |conn| fetch_packets(conn, HashSet::from([packet])),
        )
    }

    /// Whether `account` was a member of `conversation` when a packet of
    /// it was fetched; `None` if no packet of it was.
    pub(crate) fn in_packet_audience(
        &mut self,
        conversation: i64,
        account: AccountId,
    ) -> Option<bool> {
        let audience = self.batch_mut().cache.packet_audiences.get(&conversation)?;
        Some(audience.contains(&account))
    }

    /// Moves a locked packet's pot from `before` to `after`; `false` if the
    /// pot is not at `before` (or the batch does not hold the packet).
    pub(crate) fn draw_cached(&mut self, packet: i64, before: Pot, after: Pot) -> bool {
        let batch = self.batch_mut();
        let Some(Some(mut row)) = batch.cache.packets.get(&packet).cloned() else {
            return false;
        };
        if row.pot() != before {
            return false;
        }
        row.packet.remaining_minor = after.remaining_minor;
        row.packet.remaining_shares = after.remaining_shares;
        batch.set(|cache| &mut cache.packets, packet, Some(row));
        true
    }

    /// Keeps a claim for the flush, in its packet's row; `false` if the
    /// batch does not hold the packet.
    pub(crate) fn insert_claim_cached(
        &mut self,
        packet: i64,
        account: AccountId,
        amount_minor: i64,
        at: Timestamp,
    ) -> bool {
        let batch = self.batch_mut();
        let Some(Some(mut row)) = batch.cache.packets.get(&packet).cloned() else {
            return false;
        };
        let claim = RedPacketClaim {
            account,
            amount_minor,
            claimed_at: at,
        };
        row.claims.insert(account.row(), claim);
        batch.set(|cache| &mut cache.packets, packet, Some(row));
        let pending = (packet, account.row(), amount_minor, at.unix_ms());
        batch.pending.claims.push(pending);
        true
    }
}

const FLUSH_CLAIMS: &str = "
WITH new_claims AS (
    INSERT INTO red_packet_claims (red_packet_id, account_id, amount_minor, claimed_at)
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[])
    RETURNING 1
), moved_pots AS (
    UPDATE red_packets r SET remaining_minor = u.minor, remaining_shares = u.shares
    FROM unnest($5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
        AS u(id, was_minor, was_shares, minor, shares)
    WHERE r.id = u.id AND r.remaining_minor = u.was_minor AND r.remaining_shares = u.was_shares
    RETURNING 1
)
SELECT (SELECT count(*) FROM new_claims), (SELECT count(*) FROM moved_pots)";

/// Writes the pending claims and the pots they drew from, if any, in one
/// statement; a pot not where it was read is a conflict.
pub(crate) fn flush(conn: &mut Conn) -> Result<()> {
    let batch = conn.batch_mut();
    let claims = std::mem::take(&mut batch.pending.claims);
    let pots: Vec<(i64, Pot, Pot)> = batch
        .cache
        .packets
        .iter()
        .filter_map(|(id, row)| Some((*id, row.as_ref()?)))
        .filter(|(_, row)| row.pot() != row.stored)
        .map(|(id, row)| (id, row.stored, row.pot()))
        .collect();
    if claims.is_empty() && pots.is_empty() {
        return Ok(());
    }
    let c: [Vec<i64>; 4] = [
        claims.iter().map(|c| c.0).collect(),
        claims.iter().map(|c| c.1).collect(),
        claims.iter().map(|c| c.2).collect(),
        claims.iter().map(|c| c.3).collect(),
    ];
    let p: [Vec<i64>; 5] = [
        pots.iter().map(|p| p.0).collect(),
        pots.iter().map(|p| p.1.remaining_minor).collect(),
        pots.iter()
            .map(|p| i64::from(p.1.remaining_shares))
            .collect(),
        pots.iter().map(|p| p.2.remaining_minor).collect(),
        pots.iter()
            .map(|p| i64::from(p.2.remaining_shares))
            .collect(),
    ];
    let rows = conn
        .client_query(
            FLUSH_CLAIMS,
            &[
                &c[0], &c[1], &c[2], &c[3], &p[0], &p[1], &p[2], &p[3], &p[4],
            ],
        )
        .map_err(super::flush::conflict_on_raced_key)?;
    super::flush::all_written(&rows, &[claims.len(), pots.len()])
}
