//! Areas whose rules still live in an engine (SQLite's store): each
//! method forwards to it. A method leaves this file for its area's module
//! when its rules move above the engines; the file goes with the last one.

use piazza_domain::store::*;
use piazza_domain::*;

use crate::Core;

impl Core {
    pub async fn open_direct(
        &self,
        account: AccountId,
        peer: AccountId,
    ) -> StoreResult<ConversationId> {
        self.legacy()?.open_direct(account, peer).await
    }

    pub async fn create_group(
        &self,
        owner: AccountId,
        title: GroupTitle,
        members: Vec<AccountId>,
    ) -> StoreResult<ConversationId> {
        self.legacy()?.create_group(owner, title, members).await
    }

    pub async fn conversations(
        &self,
        account: AccountId,
        after: Option<(Timestamp, ConversationId)>,
        limit: u32,
    ) -> StoreResult<Page<ConversationSummary>> {
        self.legacy()?.conversations(account, after, limit).await
    }

    pub async fn add_member(
        &self,
        actor: AccountId,
        conversation: ConversationId,
        member: AccountId,
    ) -> StoreResult<()> {
        self.legacy()?.add_member(actor, conversation, member).await
    }

    pub async fn remove_member(
        &self,
        actor: AccountId,
        conversation: ConversationId,
        member: AccountId,
    ) -> StoreResult<()> {
        self.legacy()?
            .remove_member(actor, conversation, member)
            .await
    }

    pub async fn update_group(
        &self,
        actor: AccountId,
        conversation: ConversationId,
        change: GroupChange,
    ) -> StoreResult<()> {
        self.legacy()?
            .update_group(actor, conversation, change)
            .await
    }

    pub async fn send_message(
        &self,
        sender: AccountId,
        conversation: ConversationId,
        client_msg_id: ClientMsgId,
        text: MessageText,
    ) -> StoreResult<Sent> {
        self.legacy()?
            .send_message(sender, conversation, client_msg_id, text)
            .await
    }

    pub async fn queue_message(
        &self,
        sender: AccountId,
        conversation: ConversationId,
        client_msg_id: ClientMsgId,
        text: MessageText,
    ) -> StoreResult<Answer<Sent>> {
        self.legacy()?
            .queue_message(sender, conversation, client_msg_id, text)
            .await
    }

    pub async fn history(
        &self,
        viewer: AccountId,
        conversation: ConversationId,
        before: Option<Seq>,
        limit: u32,
    ) -> StoreResult<HistoryPage> {
        self.legacy()?
            .history(viewer, conversation, before, limit)
            .await
    }

    pub async fn mark_read(
        &self,
        account: AccountId,
        device: DeviceId,
        conversation: ConversationId,
        seq: Seq,
    ) -> StoreResult<()> {
        self.legacy()?
            .mark_read(account, device, conversation, seq)
            .await
    }

    pub async fn log_after(
        &self,
        account: AccountId,
        after: LogSeq,
        limit: u32,
    ) -> StoreResult<LogPage> {
        self.legacy()?.log_after(account, after, limit).await
    }

    pub async fn send_transfer(
        &self,
        sender: AccountId,
        request: Idempotent,
        transfer: TransferRequest,
        pin: PinCheck,
    ) -> StoreResult<Transfer> {
        self.legacy()?
            .send_transfer(sender, request, transfer, pin)
            .await
    }

    pub async fn decide_transfer(
        &self,
        recipient: AccountId,
        transfer: TransferId,
        decision: TransferDecision,
    ) -> StoreResult<Transfer> {
        self.legacy()?
            .decide_transfer(recipient, transfer, decision)
            .await
    }

    pub async fn transfer(&self, viewer: AccountId, transfer: TransferId) -> StoreResult<Transfer> {
        self.legacy()?.transfer(viewer, transfer).await
    }

    pub async fn return_expired_transfers(&self, now: Timestamp, limit: u32) -> StoreResult<usize> {
        self.legacy()?.return_expired_transfers(now, limit).await
    }

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

    pub async fn send_image(
        &self,
        sender: AccountId,
        conversation: ConversationId,
        client_msg_id: ClientMsgId,
        caption: MessageText,
        media: MediaId,
    ) -> StoreResult<Sent> {
        self.legacy()?
            .send_image(sender, conversation, client_msg_id, caption, media)
            .await
    }
}
