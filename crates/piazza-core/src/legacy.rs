//! Areas whose rules still live in an engine (SQLite's store): each
//! method forwards to it. A method leaves this file for its area's module
//! when its rules move above the engines; the file goes with the last one.

use piazza_domain::store::*;
use piazza_domain::*;

use crate::Core;

impl Core {
    pub async fn send_red_packet(
        &self,
        sender: AccountId,
        request: Idempotent,
        packet: RedPacketRequest,
        pin: PinCheck,
    ) -> StoreResult<RedPacket> {
        self.legacy()?
            .send_red_packet(sender, request, packet, pin)
            .await
    }

    pub async fn claim_red_packet(
        &self,
        account: AccountId,
        packet: RedPacketId,
    ) -> StoreResult<RedPacketClaim> {
        self.legacy()?.claim_red_packet(account, packet).await
    }

    pub async fn red_packet(
        &self,
        viewer: AccountId,
        packet: RedPacketId,
    ) -> StoreResult<RedPacket> {
        self.legacy()?.red_packet(viewer, packet).await
    }

    pub async fn refund_expired_red_packets(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<usize> {
        self.legacy()?.refund_expired_red_packets(now, limit).await
    }
}
