//! Messages, read positions, and the log read back: sending (and its
//! retries), the history a member may page through, marking read with its
//! receipt, and a page of an account's log for sync.

use std::sync::Arc;

use piazza_domain::event::{ConversationKind, Event, Face, Message};
use piazza_domain::store::{Answer, HistoryPage, LogPage, Sent, StoreResult};
use piazza_domain::{
    AccountId, ClientMsgId, ConversationId, DeviceId, LogSeq, MediaId, MessageId, MessageText,
    Rejection, Seq, limits,
};

use super::compose::{Content, Outgoing, send};
use super::{Body, Membership, NewMessage};
use crate::Core;
use crate::engine::{Lane, Read, Result, Tx};

/// Sends a text message: [`send`] with nothing but text.
pub fn send_message(
    tx: &mut dyn Tx,
    sender: AccountId,
    conversation: ConversationId,
    client_msg_id: &ClientMsgId,
    text: &MessageText,
) -> Result<Sent> {
    send(
        tx,
        sender,
        conversation,
        client_msg_id,
        &Outgoing::text(text.clone()),
    )
}

/// Sends an image message (`kind = image`, `ref` the media): `media` must
/// be the sender's own upload (`MediaNotFound` otherwise, as for an id
/// that does not exist); [`send`] with a picture and its caption.
pub fn send_image(
    tx: &mut dyn Tx,
    sender: AccountId,
    conversation: ConversationId,
    client_msg_id: &ClientMsgId,
    caption: &MessageText,
    media: MediaId,
) -> Result<Sent> {
    let outgoing = Outgoing {
        content: Content::Media(super::MediaContent {
            media,
            kind: Some(super::IMAGE_KIND),
            duration_ms: None,
        }),
        ..Outgoing::text(caption.clone())
    };
    send(tx, sender, conversation, client_msg_id, &outgoing)
}

/// The answer to a retry: the message `sender` stored with
/// `client_msg_id`, if `retried` says it is this one (or it was sent to
/// `conversation` and recalled since: its content is gone, so it cannot
/// be compared); `ClientMsgIdReused` if it is another; `None` if there is
/// none. A retry is answered even if the sender has left since: it
/// reveals only the sender's own message.
pub(super) fn replay(
    tx: &mut dyn Tx,
    sender: AccountId,
    conversation: ConversationId,
    client_msg_id: &ClientMsgId,
    retried: impl Fn(&Message) -> bool,
) -> Result<Option<Sent>> {
    let recalled =
        |earlier: &Message| earlier.recalled.is_some() && earlier.conversation_id == conversation;
    match tx.reads().message_by_client_id(sender, client_msg_id)? {
        Some(earlier) if retried(&earlier) || recalled(&earlier) => Ok(Some(Sent {
            message: Arc::new(earlier),
            replayed: true,
        })),
        Some(_) => Err(Rejection::ClientMsgIdReused.into()),
        None => Ok(None),
    }
}

/// Who a message of `sender`'s to `conversation` goes to, with the
/// sender's membership locked for the send: the sender must be a member
/// and, in a direct conversation, still the peer's contact.
pub(super) fn audience(
    tx: &mut dyn Tx,
    sender: AccountId,
    conversation: ConversationId,
) -> Result<(Membership, Vec<AccountId>)> {
    let found = tx
        .membership_for_update(sender, conversation)?
        .ok_or(Rejection::NotAMember)?;
    let members = tx.reads().member_ids(conversation)?;
    if found.kind == ConversationKind::Direct {
        let peer = members.iter().copied().find(|member| *member != sender);
        match peer {
            Some(peer) if tx.reads().are_contacts(sender, peer)? => {
                crate::blocks::not_blocked(tx.reads(), sender, peer)?;
            }
            _ => return Err(Rejection::NotAContact.into()),
        }
    }
    Ok((found, members))
}

/// Stores a message after `last_seq` (read locked in this job, with the
/// membership the caller checked) and logs it to every one of `members`.
/// Sending is reading: the sender's read position moves to the message,
/// without a receipt (the peer's `message.new` is one already).
pub fn append_message(
    tx: &mut dyn Tx,
    sender: AccountId,
    conversation: ConversationId,
    last_seq: Seq,
    members: Vec<AccountId>,
    client_msg_id: ClientMsgId,
    body: Body,
) -> Result<Arc<Message>> {
    tx.will_append(&members)?;
    let now = tx.now();
    let seq = tx.next_seq(conversation, last_seq, now)?;
    let message_id = tx.insert_message(&NewMessage {
        conversation,
        seq,
        sender,
        client_msg_id: &client_msg_id,
        text: &body.text,
        sent_at: now,
        kind: body.kind,
        reference: body.reference.as_deref(),
        extra: body.extra.as_deref(),
    })?;
    tx.set_read_seq(conversation, sender, seq)?;
    let message = Arc::new(Message {
        message_id,
        conversation_id: conversation,
        seq,
        sender,
        client_msg_id,
        text: body.text,
        sent_at: now,
        kind: body.kind.map(str::to_owned),
        reference: body.reference,
        recalled: None,
        extra: body.extra,
    });
    tx.append_to_all(&members, &Event::MessageNew(Arc::clone(&message)))?;
    Ok(message)
}

/// Moves `account`'s read position in `conversation` forward to `seq`
/// (a marker at or behind it changes nothing), tells the account's own
/// devices, and in a direct conversation the peer.
pub fn mark_read(
    tx: &mut dyn Tx,
    account: AccountId,
    device: DeviceId,
    conversation: ConversationId,
    seq: Seq,
) -> Result<()> {
    let found = tx
        .membership_for_update(account, conversation)?
        .ok_or(Rejection::NotAMember)?;
    if seq > found.last_seq {
        return Err(Rejection::SeqOutOfRange { seq: seq.get() }.into());
    }
    if seq <= found.read_seq {
        return Ok(());
    }
    tx.set_read_seq(conversation, account, seq)?;
    tx.append_log(
        account,
        Event::ReadMarker {
            conversation_id: conversation,
            seq,
            device_id: device,
        },
    )?;
    // A group's members are not told: every read in a group of 500 would
    // write 499 entries into others' logs (ARCHITECTURE.md, "Read receipts").
    if found.kind == ConversationKind::Direct {
        log_read_receipt(tx, account, conversation, seq)?;
    }
    Ok(())
}

/// Tells the peer of a direct conversation that `reader` has read it up to
/// `seq`. The caller has checked that the position moved forward.
fn log_read_receipt(
    tx: &mut dyn Tx,
    reader: AccountId,
    conversation: ConversationId,
    seq: Seq,
) -> Result<()> {
    let members = tx.reads().member_ids(conversation)?;
    assert!(
        members.len() <= 2 && members.contains(&reader),
        "{conversation} is direct, with {reader} among at most two members"
    );
    for peer in members.into_iter().filter(|member| *member != reader) {
        tx.append_log(
            peer,
            Event::ReadReceipt {
                conversation_id: conversation,
                account_id: reader,
                seq,
            },
        )?;
    }
    Ok(())
}

/// A member's page of the history, newest first, before `before`: only
/// the messages sent since they joined.
pub fn history(
    read: &mut dyn Read,
    viewer: AccountId,
    conversation: ConversationId,
    before: Option<Seq>,
    limit: u32,
) -> Result<HistoryPage> {
    let membership = read
        .membership(viewer, conversation)?
        .ok_or(Rejection::NotAMember)?;
    let mut messages = read.history(conversation, viewer, membership.from_seq, before, limit)?;
    let has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    cards_as_now(read, &mut messages)?;
    let ids: Vec<MessageId> = messages.iter().map(|message| message.message_id).collect();
    let reactions = super::reactions::grouped(read.reactions(&ids, viewer)?);
    Ok(HistoryPage {
        messages,
        has_more,
        reactions,
    })
}

/// The contact cards among `messages` showing accounts deleted since as
/// they are now (`account_deletion::show_as_now`).
fn cards_as_now(read: &mut dyn Read, messages: &mut [Message]) -> Result<()> {
    for message in messages {
        if let Some(card) = message.card_mut() {
            crate::account_deletion::show_as_now(read, Face::Ref(card))?;
        }
    }
    Ok(())
}

/// One message of `conversation` as `viewer` sees it in the history, with
/// its reactions: `MessageNotFound` if it is not there for them (sent
/// before they joined, deleted for themselves, or no such message).
pub fn one_message(
    read: &mut dyn Read,
    viewer: AccountId,
    conversation: ConversationId,
    message: MessageId,
) -> Result<HistoryPage> {
    let membership = read
        .membership(viewer, conversation)?
        .ok_or(Rejection::NotAMember)?;
    let found = super::visible_message(read, &membership, conversation, message)?;
    let seq = found.seq.get();
    let (since, before) = (Seq::from_store(seq - 1), Seq::from_store(seq + 1));
    let mut messages = read.history(conversation, viewer, since, Some(before), 1)?;
    cards_as_now(read, &mut messages)?;
    if messages.is_empty() {
        return Err(Rejection::MessageNotFound.into());
    }
    let reactions = super::reactions::grouped(read.reactions(&[message], viewer)?);
    Ok(HistoryPage {
        messages,
        has_more: false,
        reactions,
    })
}

/// A page of `account`'s log after `after`. An empty page ends at
/// `after`, or at the log's head if `after` is beyond it: a wrong or
/// restored cursor must not carry a device past entries still to come.
pub fn log_page(
    read: &mut dyn Read,
    account: AccountId,
    after: LogSeq,
    limit: u32,
) -> Result<LogPage> {
    let mut page = read.log_after(account, after, limit)?;
    for entry in &mut page.items {
        for face in entry.event.faces_mut() {
            crate::account_deletion::show_as_now(read, face)?;
        }
    }
    let end = match page.items.last() {
        Some(entry) => entry.seq,
        None => after.min(read.log_head(account)?),
    };
    Ok(LogPage {
        entries: page.items,
        end,
        has_more: page.has_more,
    })
}

impl Core {
    pub async fn send_message(
        &self,
        sender: AccountId,
        conversation: ConversationId,
        client_msg_id: ClientMsgId,
        text: MessageText,
    ) -> StoreResult<Sent> {
        self.send(sender, conversation, client_msg_id, Outgoing::text(text))
            .await
    }

    /// `send_message` in two steps, for a caller that pipelines its sends
    /// and must keep their order (a socket): the outer future ends once
    /// this send is queued behind every send queued before it, and the
    /// [`Answer`] resolves after its commit. Sends that one caller queues
    /// one after the other into one conversation are stored in that order,
    /// whatever the load (its lane's writer takes them in turn); sends into
    /// two conversations may commit in either order on an engine with
    /// several writers.
    pub async fn queue_message(
        &self,
        sender: AccountId,
        conversation: ConversationId,
        client_msg_id: ClientMsgId,
        text: MessageText,
    ) -> StoreResult<Answer<Sent>> {
        self.queue_send(sender, conversation, client_msg_id, Outgoing::text(text))
            .await
    }

    /// Sends anything a member may send ([`send`]).
    pub async fn send(
        &self,
        sender: AccountId,
        conversation: ConversationId,
        client_msg_id: ClientMsgId,
        outgoing: Outgoing,
    ) -> StoreResult<Sent> {
        let lane = Lane::conversation(conversation);
        self.write_in(lane, move |tx| {
            send(tx, sender, conversation, &client_msg_id, &outgoing)
        })
        .await
    }

    /// [`Core::send`] in two steps, as [`Core::queue_message`].
    pub async fn queue_send(
        &self,
        sender: AccountId,
        conversation: ConversationId,
        client_msg_id: ClientMsgId,
        outgoing: Outgoing,
    ) -> StoreResult<Answer<Sent>> {
        let lane = Lane::conversation(conversation);
        self.queue(lane, move |tx| {
            send(tx, sender, conversation, &client_msg_id, &outgoing)
        })
        .await
    }

    /// `conversation`'s kind and members, ordered by id, if `viewer` is
    /// one (`NotAMember` otherwise): who a typing indicator goes to. The
    /// same for every member, so it may be remembered for all of them.
    pub async fn conversation_audience(
        &self,
        viewer: AccountId,
        conversation: ConversationId,
    ) -> StoreResult<(ConversationKind, Vec<AccountId>)> {
        self.read(move |read| {
            let membership = read
                .membership(viewer, conversation)?
                .ok_or(Rejection::NotAMember)?;
            Ok((membership.kind, read.member_ids(conversation)?))
        })
        .await
    }

    /// One message as the viewer sees it ([`one_message`]).
    pub async fn message(
        &self,
        viewer: AccountId,
        conversation: ConversationId,
        message: MessageId,
    ) -> StoreResult<HistoryPage> {
        self.read(move |read| one_message(read, viewer, conversation, message))
            .await
    }

    /// Sends a `kind = image` message whose `ref` is `media`, which must be
    /// the sender's own upload (`MediaNotFound` otherwise). Otherwise as
    /// `send_message`, idempotent by `client_msg_id`.
    pub async fn send_image(
        &self,
        sender: AccountId,
        conversation: ConversationId,
        client_msg_id: ClientMsgId,
        caption: MessageText,
        media: MediaId,
    ) -> StoreResult<Sent> {
        let lane = Lane::conversation(conversation);
        self.write_in(lane, move |tx| {
            send_image(tx, sender, conversation, &client_msg_id, &caption, media)
        })
        .await
    }

    pub async fn history(
        &self,
        viewer: AccountId,
        conversation: ConversationId,
        before: Option<Seq>,
        limit: u32,
    ) -> StoreResult<HistoryPage> {
        let limit = limit.clamp(1, limits::PAGE_LEN_MAX);
        self.read(move |read| history(read, viewer, conversation, before, limit))
            .await
    }

    pub async fn mark_read(
        &self,
        account: AccountId,
        device: DeviceId,
        conversation: ConversationId,
        seq: Seq,
    ) -> StoreResult<()> {
        let lane = Lane::conversation(conversation);
        self.write_in(lane, move |tx| {
            mark_read(tx, account, device, conversation, seq)
        })
        .await
    }

    pub async fn log_after(
        &self,
        account: AccountId,
        after: LogSeq,
        limit: u32,
    ) -> StoreResult<LogPage> {
        // The largest page anyone reads: a socket's replay.
        let limit = limit.clamp(1, limits::REPLAY_PAGE_LEN_MAX);
        self.read(move |read| log_page(read, account, after, limit))
            .await
    }

    /// The last position of `account`'s log (`START` if none).
    pub async fn log_head(&self, account: AccountId) -> StoreResult<LogSeq> {
        self.read(move |read| read.log_head(account)).await
    }
}
