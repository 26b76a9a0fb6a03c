//! Areas whose rules still live in an engine (SQLite's store): each
//! method forwards to it. A method leaves this file for its area's module
//! when its rules move above the engines; the file goes with the last one.

use piazza_domain::money::{Currency, Money};
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

    pub async fn wallet_balance(&self, account: AccountId, currency: Currency) -> StoreResult<i64> {
        self.legacy()?.wallet_balance(account, currency).await
    }

    pub async fn set_pin(&self, account: AccountId, change: PinChange) -> StoreResult<PinSet> {
        self.legacy()?.set_pin(account, change).await
    }

    pub async fn pin(&self, account: AccountId) -> StoreResult<Option<PinState>> {
        self.legacy()?.pin(account).await
    }

    pub async fn replayed_movement(
        &self,
        account: AccountId,
        request: Idempotent,
    ) -> StoreResult<Option<MoneyMoved>> {
        self.legacy()?.replayed_movement(account, request).await
    }

    pub async fn top_up(
        &self,
        account: AccountId,
        request: Idempotent,
        money: Money,
        reference: String,
    ) -> StoreResult<MoneyMoved> {
        self.legacy()?
            .top_up(account, request, money, reference)
            .await
    }

    pub async fn withdraw(
        &self,
        account: AccountId,
        request: Idempotent,
        money: Money,
        pin: PinCheck,
        reference: String,
    ) -> StoreResult<MoneyMoved> {
        self.legacy()?
            .withdraw(account, request, money, pin, reference)
            .await
    }

    pub async fn statement(
        &self,
        account: AccountId,
        currency: Currency,
        before: Option<EntryId>,
        limit: u32,
    ) -> StoreResult<Page<StatementEntry>> {
        self.legacy()?
            .statement(account, currency, before, limit)
            .await
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

    pub async fn create_merchant(
        &self,
        owner: AccountId,
        name: String,
        city: String,
        currency: Currency,
    ) -> StoreResult<Merchant> {
        self.legacy()?
            .create_merchant(owner, name, city, currency)
            .await
    }

    pub async fn merchant(
        &self,
        viewer: AccountId,
        merchant: MerchantId,
        currency: Currency,
    ) -> StoreResult<Merchant> {
        self.legacy()?.merchant(viewer, merchant, currency).await
    }

    pub async fn pay_merchant(
        &self,
        buyer: AccountId,
        request: Idempotent,
        merchant: MerchantId,
        money: Money,
        pin: PinCheck,
    ) -> StoreResult<Payment> {
        self.legacy()?
            .pay_merchant(buyer, request, merchant, money, pin)
            .await
    }

    pub async fn refund_payment(
        &self,
        owner: AccountId,
        request: Idempotent,
        payment: PaymentId,
        money: Money,
    ) -> StoreResult<Refund> {
        self.legacy()?
            .refund_payment(owner, request, payment, money)
            .await
    }

    pub async fn create_payment_code(
        &self,
        account: AccountId,
        device: DeviceId,
        code_hash: [u8; 32],
        expires_at: Timestamp,
        authorization: CodeAuthorization,
    ) -> StoreResult<()> {
        self.legacy()?
            .create_payment_code(account, device, code_hash, expires_at, authorization)
            .await
    }

    pub async fn collect_payment(
        &self,
        owner: AccountId,
        request: Idempotent,
        collect: CollectRequest,
    ) -> StoreResult<Payment> {
        self.legacy()?
            .collect_payment(owner, request, collect)
            .await
    }

    pub async fn decide_payment(
        &self,
        buyer: AccountId,
        payment: PaymentId,
        decision: PaymentDecision,
    ) -> StoreResult<Payment> {
        self.legacy()?
            .decide_payment(buyer, payment, decision)
            .await
    }

    pub async fn payment(&self, viewer: AccountId, payment: PaymentId) -> StoreResult<Payment> {
        self.legacy()?.payment(viewer, payment).await
    }

    pub async fn lapse_unconfirmed_payments(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<usize> {
        self.legacy()?.lapse_unconfirmed_payments(now, limit).await
    }

    pub async fn purge_money_housekeeping(
        &self,
        keys_before: Timestamp,
        codes_before: Timestamp,
        limit: u32,
    ) -> StoreResult<usize> {
        self.legacy()?
            .purge_money_housekeeping(keys_before, codes_before, limit)
            .await
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
