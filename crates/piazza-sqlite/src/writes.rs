//! Every change to the store, each a function run by the writer inside its
//! own savepoint. The rules that need the data (membership, contacts,
//! ownership, idempotency) are checked here, in the same transaction as the
//! change, so no race can slip between the check and the write.

use std::sync::Arc;

use piazza_domain::event::{ConversationKind, Event, Message, Named};
use piazza_domain::limits;
use piazza_domain::store::Sent;
use piazza_domain::{
    AccountId, ClientMsgId, ConversationId, DeviceId, GroupTitle, MediaId, MessageId, MessageText,
    Rejection, Seq,
};
use rusqlite::{OptionalExtension, params};

use crate::error::Result;
use crate::reads;
use crate::tails;
use crate::writer::WriteCtx;

pub fn open_direct(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    peer: AccountId,
) -> Result<ConversationId> {
    if peer == account {
        return Err(Rejection::SelfTarget.into());
    }
    if !reads::are_contacts(ctx.conn, account, peer)? {
        return Err(Rejection::NotAContact.into());
    }
    let key = format!(
        "{}:{}",
        account.row().min(peer.row()),
        account.row().max(peer.row())
    );
    let existing: Option<i64> = ctx
        .conn
        .prepare_cached("SELECT id FROM conversations WHERE direct_key = ?1")?
        .query_row([&key], |row| row.get(0))
        .optional()?;
    if let Some(existing) = existing {
        return Ok(ConversationId::from_row(existing));
    }
    let conversation = insert_conversation(ctx, ConversationKind::Direct, None, None, Some(&key))?;
    let members = vec![account, peer];
    for member in &members {
        insert_member(ctx, conversation, *member, Seq::ZERO)?;
    }
    let event = Event::ConversationCreated {
        conversation_id: conversation,
        kind: ConversationKind::Direct,
        title: None,
        owner: None,
        members: members.clone(),
        avatar_media_id: None,
    };
    for member in members {
        ctx.append_log(member, event.clone())?;
    }
    Ok(conversation)
}

pub fn create_group(
    ctx: &mut WriteCtx<'_>,
    owner: AccountId,
    title: GroupTitle,
    invited: Vec<AccountId>,
) -> Result<ConversationId> {
    let mut members = vec![owner];
    for member in invited {
        if !members.contains(&member) {
            members.push(member);
        }
    }
    if members.len() > limits::GROUP_MEMBERS_MAX {
        return Err(Rejection::GroupFull {
            max: limits::GROUP_MEMBERS_MAX,
        }
        .into());
    }
    for member in &members[1..] {
        if !reads::are_contacts(ctx.conn, owner, *member)? {
            return Err(Rejection::NotAContact.into());
        }
    }
    let conversation = insert_conversation(
        ctx,
        ConversationKind::Group,
        Some(title.as_str()),
        Some(owner),
        None,
    )?;
    for member in &members {
        insert_member(ctx, conversation, *member, Seq::ZERO)?;
    }
    let event = Event::ConversationCreated {
        conversation_id: conversation,
        kind: ConversationKind::Group,
        title: Some(title.as_str().to_owned()),
        owner: Some(owner),
        members: members.clone(),
        avatar_media_id: None,
    };
    for member in members {
        ctx.append_log(member, event.clone())?;
    }
    Ok(conversation)
}

pub fn add_member(
    ctx: &mut WriteCtx<'_>,
    actor: AccountId,
    conversation: ConversationId,
    member: AccountId,
) -> Result<()> {
    let found = reads::membership(ctx.conn, actor, conversation)?.ok_or(Rejection::NotAMember)?;
    if found.kind == ConversationKind::Direct {
        return Err(Rejection::NotAGroup.into());
    }
    if found.owner != Some(actor) {
        return Err(Rejection::NotOwner.into());
    }
    if reads::membership(ctx.conn, member, conversation)?.is_some() {
        return Ok(());
    }
    if !reads::are_contacts(ctx.conn, actor, member)? {
        return Err(Rejection::NotAContact.into());
    }
    let members = reads::member_ids(ctx.conn, conversation)?;
    if members.len() >= limits::GROUP_MEMBERS_MAX {
        return Err(Rejection::GroupFull {
            max: limits::GROUP_MEMBERS_MAX,
        }
        .into());
    }
    insert_member(ctx, conversation, member, found.last_seq)?;
    // The newcomer's log gets the whole picture first, as a creator would.
    let (title, avatar): (Option<String>, Option<i64>) = ctx
        .conn
        .prepare_cached("SELECT title, avatar_media_id FROM conversations WHERE id = ?1")?
        .query_row([conversation.row()], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let snapshot = Event::ConversationCreated {
        conversation_id: conversation,
        kind: ConversationKind::Group,
        title,
        owner: found.owner,
        members: members.iter().copied().chain([member]).collect(),
        avatar_media_id: avatar.map(MediaId::from_row),
    };
    ctx.append_log(member, snapshot)?;
    let event = Event::MemberAdded {
        conversation_id: conversation,
        account_id: member,
        by: actor,
        member: Named::from(&reads::account(ctx.conn, member)?.to_ref()),
    };
    for account in members.into_iter().chain([member]) {
        ctx.append_log(account, event.clone())?;
    }
    Ok(())
}

pub fn remove_member(
    ctx: &mut WriteCtx<'_>,
    actor: AccountId,
    conversation: ConversationId,
    member: AccountId,
) -> Result<()> {
    let found = reads::membership(ctx.conn, actor, conversation)?.ok_or(Rejection::NotAMember)?;
    if found.kind == ConversationKind::Direct {
        return Err(Rejection::NotAGroup.into());
    }
    if member != actor && found.owner != Some(actor) {
        return Err(Rejection::NotOwner.into());
    }
    let members = reads::member_ids(ctx.conn, conversation)?;
    if !members.contains(&member) {
        return Err(Rejection::MemberNotFound.into());
    }
    ctx.conn
        .prepare_cached("DELETE FROM members WHERE conversation_id = ?1 AND account_id = ?2")?
        .execute([conversation.row(), member.row()])?;
    let mut owner = found.owner;
    if found.owner == Some(member) {
        // The longest-standing member (then the lowest id) inherits the group.
        let heir: Option<i64> = ctx
            .conn
            .prepare_cached(
                "SELECT account_id FROM members WHERE conversation_id = ?1
                 ORDER BY joined_at, account_id LIMIT 1",
            )?
            .query_row([conversation.row()], |row| row.get(0))
            .optional()?;
        ctx.conn
            .prepare_cached("UPDATE conversations SET owner_id = ?1 WHERE id = ?2")?
            .execute(params![heir, conversation.row()])?;
        owner = heir.map(AccountId::from_row);
    }
    // Everyone who was a member learns it, the one removed included, and
    // with it who owns the group now.
    let event = Event::MemberRemoved {
        conversation_id: conversation,
        account_id: member,
        by: actor,
        owner,
        member: Named::from(&reads::account(ctx.conn, member)?.to_ref()),
    };
    for account in &members {
        ctx.append_log(*account, event.clone())?;
    }
    Ok(())
}

pub fn send_message(
    ctx: &mut WriteCtx<'_>,
    sender: AccountId,
    conversation: ConversationId,
    client_msg_id: ClientMsgId,
    text: MessageText,
) -> Result<Sent> {
    // A retry replays the first answer even if the sender has left since:
    // it reveals only the sender's own message.
    if let Some(earlier) = reads::message_by_client_id(ctx.conn, sender, &client_msg_id)? {
        // An image (or money) message's id is not replayed as a text's.
        let same = earlier.conversation_id == conversation
            && earlier.text == text
            && earlier.kind.is_none();
        if same {
            return Ok(Sent {
                message: Arc::new(earlier),
                replayed: true,
            });
        }
        return Err(Rejection::ClientMsgIdReused.into());
    }
    let found = reads::membership(ctx.conn, sender, conversation)?.ok_or(Rejection::NotAMember)?;
    let members = reads::member_ids(ctx.conn, conversation)?;
    if found.kind == ConversationKind::Direct {
        let peer = members.iter().copied().find(|member| *member != sender);
        match peer {
            Some(peer) if reads::are_contacts(ctx.conn, sender, peer)? => {}
            _ => return Err(Rejection::NotAContact.into()),
        }
    }
    let message = append_message(
        ctx,
        sender,
        conversation,
        found.last_seq,
        members,
        client_msg_id,
        text,
        None,
    )?;
    Ok(Sent {
        message,
        replayed: false,
    })
}

/// Writes a message after `last_seq` and logs it to every member. The
/// caller has checked membership (and contacts) in this same job.
/// `special` is the kind and reference of a message that stands for
/// something else (a transfer, …).
#[allow(clippy::too_many_arguments)]
pub fn append_message(
    ctx: &mut WriteCtx<'_>,
    sender: AccountId,
    conversation: ConversationId,
    last_seq: Seq,
    members: Vec<AccountId>,
    client_msg_id: ClientMsgId,
    text: MessageText,
    special: Option<(&str, String)>,
) -> Result<Arc<Message>> {
    // The membership read is in this same transaction of the only
    // writer, so last_seq cannot have moved; the guard asserts it.
    let seq = last_seq.get() + 1;
    let moved = ctx
        .conn
        .prepare_cached(
            "UPDATE conversations SET last_seq = ?1, last_activity_at = ?2
             WHERE id = ?3 AND last_seq = ?4",
        )?
        .execute(params![seq, ctx.now.unix_ms(), conversation.row(), seq - 1])?;
    assert_eq!(
        moved, 1,
        "{conversation}'s last_seq changed under the writer"
    );
    ctx.conn
        .prepare_cached(
            "INSERT INTO messages
             (conversation_id, seq, sender_id, client_msg_id, text, sent_at, kind, ref)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            conversation.row(),
            seq,
            sender.row(),
            client_msg_id.as_str(),
            text.as_str(),
            ctx.now.unix_ms(),
            special.as_ref().map(|(kind, _)| *kind),
            special.as_ref().map(|(_, reference)| reference.as_str()),
        ])?;
    let row = ctx.conn.last_insert_rowid();
    ctx.conn
        .prepare_cached(
            "INSERT INTO messages_by_conversation_tail (conversation_id, seq, message_id)
             VALUES (?1, ?2, ?3)",
        )?
        .execute(params![conversation.row(), seq, row])?;
    ctx.appended_to(tails::MESSAGES_BY_CONVERSATION);
    // Sending is reading: everything up to one's own message counts as seen.
    ctx.conn
        .prepare_cached(
            "UPDATE members SET read_seq = ?1 WHERE conversation_id = ?2 AND account_id = ?3",
        )?
        .execute(params![seq, conversation.row(), sender.row()])?;
    let message = Arc::new(Message {
        message_id: MessageId::from_row(row),
        conversation_id: conversation,
        seq: Seq::from_store(seq),
        sender,
        client_msg_id,
        text,
        sent_at: ctx.now,
        kind: special.as_ref().map(|(kind, _)| (*kind).to_owned()),
        reference: special.map(|(_, reference)| reference),
    });
    for member in members {
        ctx.append_log(member, Event::MessageNew(Arc::clone(&message)))?;
    }
    Ok(message)
}

pub fn mark_read(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    device: DeviceId,
    conversation: ConversationId,
    seq: Seq,
) -> Result<()> {
    let found = reads::membership(ctx.conn, account, conversation)?.ok_or(Rejection::NotAMember)?;
    if seq > found.last_seq {
        return Err(Rejection::SeqOutOfRange { seq: seq.get() }.into());
    }
    if seq <= found.read_seq {
        return Ok(());
    }
    ctx.conn
        .prepare_cached(
            "UPDATE members SET read_seq = ?1 WHERE conversation_id = ?2 AND account_id = ?3",
        )?
        .execute(params![seq.get(), conversation.row(), account.row()])?;
    ctx.append_log(
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
        log_read_receipt(ctx, account, conversation, seq)?;
    }
    Ok(())
}

/// Tells the peer of a direct conversation that `reader` has read it up to
/// `seq`. The caller has checked that the position moved forward.
fn log_read_receipt(
    ctx: &mut WriteCtx<'_>,
    reader: AccountId,
    conversation: ConversationId,
    seq: Seq,
) -> Result<()> {
    let members = reads::member_ids(ctx.conn, conversation)?;
    assert!(
        members.len() <= 2 && members.contains(&reader),
        "{conversation} is direct, with {reader} among at most two members"
    );
    for peer in members.into_iter().filter(|member| *member != reader) {
        ctx.append_log(
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

fn insert_conversation(
    ctx: &mut WriteCtx<'_>,
    kind: ConversationKind,
    title: Option<&str>,
    owner: Option<AccountId>,
    direct_key: Option<&str>,
) -> Result<ConversationId> {
    let kind = match kind {
        ConversationKind::Direct => 0,
        ConversationKind::Group => 1,
    };
    let row: i64 = ctx
        .conn
        .prepare_cached(
            "INSERT INTO conversations (kind, title, owner_id, direct_key, created_at, last_activity_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id",
        )?
        .query_row(
            params![kind, title, owner.map(AccountId::row), direct_key, ctx.now.unix_ms()],
            |row| row.get(0),
        )?;
    Ok(ConversationId::from_row(row))
}

fn insert_member(
    ctx: &mut WriteCtx<'_>,
    conversation: ConversationId,
    member: AccountId,
    from_seq: Seq,
) -> Result<()> {
    ctx.conn
        .prepare_cached(
            "INSERT INTO members (conversation_id, account_id, joined_at, from_seq, read_seq)
             VALUES (?1, ?2, ?3, ?4, ?4)",
        )?
        .execute(params![
            conversation.row(),
            member.row(),
            ctx.now.unix_ms(),
            from_seq.get()
        ])?;
    Ok(())
}
