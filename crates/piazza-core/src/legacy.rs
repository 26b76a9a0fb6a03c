//! Areas whose rules still live in an engine (SQLite's store): each
//! method forwards to it. A method leaves this file for its area's module
//! when its rules move above the engines; the file goes with the last one.

use piazza_domain::media::{Media, MediaStored, NewMedia, Thumbnail};
use piazza_domain::store::*;
use piazza_domain::*;

use crate::Core;

impl Core {
    pub async fn update_profile(
        &self,
        account: AccountId,
        change: ProfileChange,
    ) -> StoreResult<Account> {
        self.legacy()?.update_profile(account, change).await
    }

    pub async fn profile(&self, viewer: AccountId, account: AccountId) -> StoreResult<Profile> {
        self.legacy()?.profile(viewer, account).await
    }

    pub async fn find_account(&self, username: Username) -> StoreResult<Account> {
        self.legacy()?.find_account(username).await
    }

    pub async fn password_hash(&self, account: AccountId) -> StoreResult<String> {
        self.legacy()?.password_hash(account).await
    }

    pub async fn change_password(
        &self,
        account: AccountId,
        device: DeviceId,
        old_hash: String,
        new_hash: String,
        others: OtherDevices,
    ) -> StoreResult<Vec<DeviceId>> {
        self.legacy()?
            .change_password(account, device, old_hash, new_hash, others)
            .await
    }

    pub async fn request_contact(
        &self,
        from: AccountId,
        to: Username,
        greeting: Greeting,
    ) -> StoreResult<ContactRequestId> {
        self.legacy()?.request_contact(from, to, greeting).await
    }

    pub async fn incoming_requests(
        &self,
        account: AccountId,
        before: Option<ContactRequestId>,
        limit: u32,
    ) -> StoreResult<Page<ContactRequest>> {
        self.legacy()?
            .incoming_requests(account, before, limit)
            .await
    }

    pub async fn accept_request(
        &self,
        account: AccountId,
        request: ContactRequestId,
    ) -> StoreResult<()> {
        self.legacy()?.accept_request(account, request).await
    }

    pub async fn outgoing_requests(
        &self,
        account: AccountId,
        before: Option<ContactRequestId>,
        limit: u32,
    ) -> StoreResult<Page<OutgoingRequest>> {
        self.legacy()?
            .outgoing_requests(account, before, limit)
            .await
    }

    pub async fn decline_request(
        &self,
        account: AccountId,
        request: ContactRequestId,
    ) -> StoreResult<()> {
        self.legacy()?.decline_request(account, request).await
    }

    pub async fn contacts(
        &self,
        account: AccountId,
        after: Option<Username>,
        limit: u32,
    ) -> StoreResult<Page<Account>> {
        self.legacy()?.contacts(account, after, limit).await
    }

    pub async fn remove_contact(&self, account: AccountId, other: AccountId) -> StoreResult<()> {
        self.legacy()?.remove_contact(account, other).await
    }

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

    pub async fn create_login_request(&self, request: NewLoginRequest) -> StoreResult<bool> {
        self.legacy()?.create_login_request(request).await
    }

    pub async fn approve_login_request(
        &self,
        account: AccountId,
        request: LoginRequestId,
        code_hash: TokenHash,
        placeholder: TokenHash,
    ) -> StoreResult<LoginApproval> {
        self.legacy()?
            .approve_login_request(account, request, code_hash, placeholder)
            .await
    }

    pub async fn review_login_request(
        &self,
        request: LoginRequestId,
        code_hash: TokenHash,
        now: Timestamp,
    ) -> StoreResult<LoginRequestReview> {
        self.legacy()?
            .review_login_request(request, code_hash, now)
            .await
    }

    pub async fn login_request_status(
        &self,
        request: LoginRequestId,
        secret_hash: TokenHash,
        now: Timestamp,
    ) -> StoreResult<LoginRequestStatus> {
        self.legacy()?
            .login_request_status(request, secret_hash, now)
            .await
    }

    pub async fn deliver_login_token(
        &self,
        request: LoginRequestId,
        secret_hash: TokenHash,
        token_hash: TokenHash,
        seen: DeviceSeen,
    ) -> StoreResult<LoginRequestStatus> {
        self.legacy()?
            .deliver_login_token(request, secret_hash, token_hash, seen)
            .await
    }

    pub async fn put_media(
        &self,
        uploader: AccountId,
        media: NewMedia,
        quota_bytes: u64,
    ) -> StoreResult<MediaStored> {
        self.legacy()?.put_media(uploader, media, quota_bytes).await
    }

    pub async fn media(&self, viewer: AccountId, media: MediaId) -> StoreResult<(Media, Vec<u8>)> {
        self.legacy()?.media(viewer, media).await
    }

    pub async fn media_thumbnail(
        &self,
        viewer: AccountId,
        media: MediaId,
    ) -> StoreResult<Thumbnail> {
        self.legacy()?.media_thumbnail(viewer, media).await
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
