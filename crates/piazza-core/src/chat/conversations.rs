//! Conversations and their members: opening a direct conversation,
//! groups (creating, adding and removing members, title and picture), and
//! the conversation list.

use piazza_domain::event::{ConversationKind, Event, Named};
use piazza_domain::store::{
    ConversationKey, ConversationSummary, FieldChange, GroupChange, Page, StoreResult,
};
use piazza_domain::{AccountId, ConversationId, GroupTitle, Rejection, limits};

use super::Membership;
use crate::Core;
use crate::accounts::page;
use crate::engine::{Error, Result, Tx};
use crate::media;

/// The direct conversation of `account` and `peer`, opened if they have
/// none yet. They must be contacts.
pub fn open_direct(tx: &mut dyn Tx, account: AccountId, peer: AccountId) -> Result<ConversationId> {
    if peer == account {
        return Err(Rejection::SelfTarget.into());
    }
    if !tx.reads().are_contacts(account, peer)? {
        return Err(Rejection::NotAContact.into());
    }
    if let Some(existing) = tx.reads().direct_conversation(account, peer)? {
        return Ok(existing);
    }
    // A new one would tell the peer of it (`conversation.created`).
    crate::blocks::not_blocked(tx.reads(), account, peer)?;
    let now = tx.now();
    let Some(conversation) = tx.insert_direct(account, peer, now)? else {
        // Another writer opened it since the read above.
        return tx
            .reads()
            .direct_conversation(account, peer)?
            .ok_or_else(|| Error::missing(format!("the direct conversation of {account}")));
    };
    let members = vec![account, peer];
    announce_new(
        tx,
        conversation,
        ConversationKind::Direct,
        None,
        None,
        members,
    )?;
    Ok(conversation)
}

/// A group owned by `owner` with the contacts `invited` (the owner first,
/// each member once), within the group size.
pub fn create_group(
    tx: &mut dyn Tx,
    owner: AccountId,
    title: &GroupTitle,
    invited: &[AccountId],
) -> Result<ConversationId> {
    let mut members = vec![owner];
    for member in invited {
        if !members.contains(member) {
            members.push(*member);
        }
    }
    if members.len() > limits::GROUP_MEMBERS_MAX {
        return Err(group_full());
    }
    for member in &members[1..] {
        if !tx.reads().are_contacts(owner, *member)? {
            return Err(Rejection::NotAContact.into());
        }
    }
    let now = tx.now();
    let conversation = tx.insert_group(title, owner, now)?;
    let title = Some(title.as_str().to_owned());
    announce_new(
        tx,
        conversation,
        ConversationKind::Group,
        title,
        Some(owner),
        members,
    )?;
    Ok(conversation)
}

/// Makes `members` the first members of a new conversation and logs its
/// creation to each.
fn announce_new(
    tx: &mut dyn Tx,
    conversation: ConversationId,
    kind: ConversationKind,
    title: Option<String>,
    owner: Option<AccountId>,
    members: Vec<AccountId>,
) -> Result<()> {
    let now = tx.now();
    for member in &members {
        tx.insert_member(conversation, *member, piazza_domain::Seq::ZERO, now)?;
    }
    let event = Event::ConversationCreated {
        conversation_id: conversation,
        kind,
        title,
        owner,
        members: members.clone(),
        avatar_media_id: None,
    };
    for member in members {
        tx.append_log(member, event.clone())?;
    }
    Ok(())
}

/// The owner adds a contact to a group; the newcomer sees the messages
/// sent from now on. Adding a member again changes nothing.
pub fn add_member(
    tx: &mut dyn Tx,
    actor: AccountId,
    conversation: ConversationId,
    member: AccountId,
) -> Result<()> {
    let found = owned_group(tx, actor, conversation)?;
    if tx.reads().membership(member, conversation)?.is_some() {
        return Ok(());
    }
    if !tx.reads().are_contacts(actor, member)? {
        return Err(Rejection::NotAContact.into());
    }
    let members = tx.reads().member_ids(conversation)?;
    if members.len() >= limits::GROUP_MEMBERS_MAX {
        return Err(group_full());
    }
    let now = tx.now();
    tx.insert_member(conversation, member, found.last_seq, now)?;
    // The newcomer's log gets the whole picture first, as a creator's did.
    let look = tx.reads().group_look(conversation)?;
    let snapshot = Event::ConversationCreated {
        conversation_id: conversation,
        kind: ConversationKind::Group,
        title: look.title,
        owner: found.owner,
        members: members.iter().copied().chain([member]).collect(),
        avatar_media_id: look.avatar,
    };
    tx.append_log(member, snapshot)?;
    let event = Event::MemberAdded {
        conversation_id: conversation,
        account_id: member,
        by: actor,
        member: named(tx, member)?,
    };
    for account in members.into_iter().chain([member]) {
        tx.append_log(account, event.clone())?;
    }
    Ok(())
}

/// The owner removes a member, or a member leaves. When the owner goes,
/// the longest-standing member left inherits the group.
pub fn remove_member(
    tx: &mut dyn Tx,
    actor: AccountId,
    conversation: ConversationId,
    member: AccountId,
) -> Result<()> {
    let found = group_membership(tx, actor, conversation)?;
    if member != actor && found.owner != Some(actor) {
        return Err(Rejection::NotOwner.into());
    }
    let members = tx.reads().member_ids(conversation)?;
    if !members.contains(&member) {
        return Err(Rejection::MemberNotFound.into());
    }
    tx.delete_member(conversation, member)?;
    let mut owner = found.owner;
    if found.owner == Some(member) {
        owner = tx.reads().longest_standing_member(conversation)?;
        tx.set_owner(conversation, owner)?;
    }
    // Everyone who was a member learns it, the one removed included, and
    // with it who owns the group now.
    let event = Event::MemberRemoved {
        conversation_id: conversation,
        account_id: member,
        by: actor,
        owner,
        member: named(tx, member)?,
    };
    for account in members {
        tx.append_log(account, event.clone())?;
    }
    Ok(())
}

/// The owner changes a group's title or picture (one of the owner's own
/// uploads); every member's log gets `conversation.updated` when
/// something changed.
pub fn update_group(
    tx: &mut dyn Tx,
    actor: AccountId,
    conversation: ConversationId,
    change: &GroupChange,
) -> Result<()> {
    owned_group(tx, actor, conversation)?;
    let before = tx.reads().group_look(conversation)?;
    let title_before = before.title.unwrap_or_default();
    let avatar = match change.avatar {
        FieldChange::Keep => before.avatar,
        FieldChange::Clear => None,
        FieldChange::Set(media) => Some(media::own_media(tx.reads(), actor, media)?),
    };
    let title = change
        .title
        .as_ref()
        .map_or_else(|| title_before.clone(), |title| title.as_str().to_owned());
    if (&title, avatar) == (&title_before, before.avatar) {
        return Ok(());
    }
    tx.set_group_look(conversation, &title, avatar)?;
    let event = Event::ConversationUpdated {
        conversation_id: conversation,
        title,
        avatar_media_id: avatar,
        by: actor,
    };
    for member in tx.reads().member_ids(conversation)? {
        tx.append_log(member, event.clone())?;
    }
    Ok(())
}

/// `actor`'s membership of a group it owns, locked for the change.
fn owned_group(
    tx: &mut dyn Tx,
    actor: AccountId,
    conversation: ConversationId,
) -> Result<Membership> {
    let found = group_membership(tx, actor, conversation)?;
    if found.owner != Some(actor) {
        return Err(Rejection::NotOwner.into());
    }
    Ok(found)
}

/// `actor`'s membership of a group, locked for the change.
fn group_membership(
    tx: &mut dyn Tx,
    actor: AccountId,
    conversation: ConversationId,
) -> Result<Membership> {
    let found = tx
        .membership_for_update(actor, conversation)?
        .ok_or(Rejection::NotAMember)?;
    if found.kind == ConversationKind::Direct {
        return Err(Rejection::NotAGroup.into());
    }
    Ok(found)
}

/// `account` as a membership event names it: as it is now.
fn named(tx: &mut dyn Tx, account: AccountId) -> Result<Named> {
    let found = tx
        .reads()
        .account(account)?
        .ok_or_else(|| Error::missing(account))?;
    Ok(Named::from(&found.to_ref()))
}

fn group_full() -> Error {
    Rejection::GroupFull {
        max: limits::GROUP_MEMBERS_MAX,
    }
    .into()
}

impl Core {
    pub async fn open_direct(
        &self,
        account: AccountId,
        peer: AccountId,
    ) -> StoreResult<ConversationId> {
        self.write(move |tx| open_direct(tx, account, peer)).await
    }

    pub async fn create_group(
        &self,
        owner: AccountId,
        title: GroupTitle,
        members: Vec<AccountId>,
    ) -> StoreResult<ConversationId> {
        self.write(move |tx| create_group(tx, owner, &title, &members))
            .await
    }

    /// Conversations, pinned first, then the most recently active, after
    /// the given position.
    pub async fn conversations(
        &self,
        account: AccountId,
        after: Option<ConversationKey>,
        limit: u32,
    ) -> StoreResult<Page<ConversationSummary>> {
        let limit = limit.clamp(1, limits::PAGE_LEN_MAX);
        self.read(move |read| Ok(page(read.conversations(account, after, limit)?, limit)))
            .await
    }

    pub async fn add_member(
        &self,
        actor: AccountId,
        conversation: ConversationId,
        member: AccountId,
    ) -> StoreResult<()> {
        self.write(move |tx| add_member(tx, actor, conversation, member))
            .await
    }

    pub async fn remove_member(
        &self,
        actor: AccountId,
        conversation: ConversationId,
        member: AccountId,
    ) -> StoreResult<()> {
        self.write(move |tx| remove_member(tx, actor, conversation, member))
            .await
    }

    pub async fn update_group(
        &self,
        actor: AccountId,
        conversation: ConversationId,
        change: GroupChange,
    ) -> StoreResult<()> {
        self.write(move |tx| update_group(tx, actor, conversation, &change))
            .await
    }
}
