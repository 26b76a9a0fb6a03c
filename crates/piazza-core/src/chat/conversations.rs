//! Conversations and their members: opening a direct conversation,
//! groups (creating, adding, removing and leaving members, title, picture
//! and announcement: roles are `groups.rs`'s), an order's conversation
//! (opened when the order is placed; its members follow the shop's staff),
//! and the conversation list.

use piazza_domain::event::{ConversationKind, Event, GroupRole, Named};
use piazza_domain::store::{
    ConversationKey, ConversationSummary, FieldChange, GroupChange, Page, StoreResult,
};
use piazza_domain::{AccountId, ConversationId, GroupTitle, Rejection, limits};

use super::Membership;
use crate::Core;
use crate::accounts::page;
use crate::engine::{Error, Result, Tx};
use crate::groups::{self, LockedConversation};
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
        // A contact deleted, in its grace period, is a contact still.
        if tx.reads().is_deleted(*member)? {
            return Err(Rejection::AccountDeleted.into());
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

/// An order's own conversation, titled `title`, between `members` (its
/// buyer and its shop's owner and staff, each once, ordered). It has no
/// owner and no roles: nobody adds, removes, renames or leaves; its
/// members change only as the shop's staff does
/// ([`join_order_conversation`], [`leave_order_conversation`]).
pub(crate) fn open_order_conversation(
    tx: &mut dyn Tx,
    title: &str,
    members: Vec<AccountId>,
) -> Result<ConversationId> {
    let now = tx.now();
    let conversation = tx.insert_order_conversation(title, now)?;
    let title = Some(title.to_owned());
    announce_new(
        tx,
        conversation,
        ConversationKind::Order,
        title,
        None,
        members,
    )?;
    Ok(conversation)
}

/// `member` (newly named staff of the order's shop) joins the order
/// conversation `conversation`, let in by `by`, and sees its messages
/// from now on, as a group's newcomer does; a member already changes
/// nothing.
pub(crate) fn join_order_conversation(
    tx: &mut dyn Tx,
    conversation: ConversationId,
    member: AccountId,
    by: AccountId,
) -> Result<()> {
    let locked = tx
        .conversation_for_update(conversation)?
        .ok_or_else(|| Error::missing(conversation))?;
    if locked.kind != ConversationKind::Order {
        return Err(Error::Corrupt(format!(
            "an order names {conversation}, which is no order's conversation"
        )));
    }
    if tx.reads().membership(member, conversation)?.is_some() {
        return Ok(());
    }
    admit(tx, conversation, member, by, &locked)
}

/// `member` (no longer staff of the order's shop) leaves the order
/// conversation `conversation`, taken out by `by`; every member learns it.
/// One who is not a member changes nothing.
pub(crate) fn leave_order_conversation(
    tx: &mut dyn Tx,
    conversation: ConversationId,
    member: AccountId,
    by: AccountId,
) -> Result<()> {
    let Some(found) = tx.membership_for_update(member, conversation)? else {
        return Ok(());
    };
    take_out(tx, by, conversation, member, &found)
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
        admins: Vec::new(),
        announcement: String::new(),
    };
    tx.append_to_all(&members, &event)
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
    if tx.reads().is_deleted(member)? {
        return Err(Rejection::AccountDeleted.into());
    }
    let locked = LockedConversation {
        kind: found.kind,
        owner: found.owner,
        last_seq: found.last_seq,
    };
    admit(tx, conversation, member, actor, &locked)
}

/// Makes `member` (not one yet) a member of the group `locked` (its row,
/// read locked in this transaction), within the group's size, let in by
/// `by`: the newcomer's log gets the whole group first, then every member's
/// (the newcomer's too) `conversation.member_added`. Adding, joining by
/// invitation and an approved request all come through here, and so does
/// staff joining an order's conversation.
pub(crate) fn admit(
    tx: &mut dyn Tx,
    conversation: ConversationId,
    member: AccountId,
    by: AccountId,
    locked: &LockedConversation,
) -> Result<()> {
    assert!(
        matches!(
            locked.kind,
            ConversationKind::Group | ConversationKind::Order
        ),
        "only groups and orders' conversations admit members"
    );
    let rows = tx.reads().member_rows(conversation)?;
    assert!(
        rows.iter().all(|row| row.account != member),
        "{member} is a member of {conversation} already"
    );
    if rows.len() >= limits::GROUP_MEMBERS_MAX {
        return Err(group_full());
    }
    let now = tx.now();
    tx.insert_member(conversation, member, locked.last_seq, now)?;
    // A request still pending (approval mode since switched off, or the
    // owner adding the requester) is answered by the joining itself.
    tx.delete_join_request(conversation, member)?;
    let look = tx.reads().group_look(conversation)?;
    let details = tx.reads().group_details(conversation)?;
    let mut members: Vec<AccountId> = rows.iter().map(|row| row.account).collect();
    members.push(member);
    members.sort_unstable();
    let snapshot = Event::ConversationCreated {
        conversation_id: conversation,
        kind: locked.kind,
        title: look.title,
        owner: locked.owner,
        members: members.clone(),
        avatar_media_id: look.avatar,
        admins: rows
            .iter()
            .filter(|row| row.admin)
            .map(|row| row.account)
            .collect(),
        announcement: details.announcement,
    };
    tx.append_log(member, snapshot)?;
    let event = Event::MemberAdded {
        conversation_id: conversation,
        account_id: member,
        by,
        member: named(tx, member)?,
    };
    tx.append_to_all(&members, &event)
}

/// The owner removes a member, an admin removes a plain member, or a
/// member removes itself (leaves, as [`leave`]).
pub fn remove_member(
    tx: &mut dyn Tx,
    actor: AccountId,
    conversation: ConversationId,
    member: AccountId,
) -> Result<()> {
    let found = group_membership(tx, actor, conversation)?;
    if member != actor {
        let role = groups::role_of(tx.reads(), &found, conversation, actor)?;
        if !role.manages() {
            return Err(Rejection::NotAdmin.into());
        }
        if found.owner == Some(member) {
            return Err(Rejection::TargetIsOwner.into());
        }
        if role != GroupRole::Owner && tx.reads().is_admin(conversation, member)? {
            return Err(Rejection::NotOwner.into());
        }
    }
    take_out(tx, actor, conversation, member, &found)
}

/// A member leaves a group (a direct conversation cannot be left, nor an
/// order's, whose members follow the order and its shop's staff). When
/// the owner leaves, the longest-standing admin owns it, else the
/// longest-standing member; the last one leaves an empty group, which
/// nobody owns.
pub fn leave(tx: &mut dyn Tx, actor: AccountId, conversation: ConversationId) -> Result<()> {
    let found = tx
        .membership_for_update(actor, conversation)?
        .ok_or(Rejection::NotAMember)?;
    match found.kind {
        ConversationKind::Group => take_out(tx, actor, conversation, actor, &found),
        ConversationKind::Direct => Err(Rejection::CannotLeaveDirect.into()),
        ConversationKind::Order => Err(Rejection::NotAGroup.into()),
    }
}

/// `member` leaves the group `found` describes, removed by `actor` (itself
/// when it leaves), and ownership moves on if it owned it. Everyone who
/// was a member learns it, the one removed included, with who owns the
/// group now.
fn take_out(
    tx: &mut dyn Tx,
    actor: AccountId,
    conversation: ConversationId,
    member: AccountId,
    found: &Membership,
) -> Result<()> {
    let members = tx.reads().member_ids(conversation)?;
    if !members.contains(&member) {
        return Err(Rejection::MemberNotFound.into());
    }
    tx.delete_member(conversation, member)?;
    let mut owner = found.owner;
    if found.owner == Some(member) {
        owner = match tx.reads().longest_standing_admin(conversation)? {
            Some(admin) => Some(admin),
            None => tx.reads().longest_standing_member(conversation)?,
        };
        tx.set_owner(conversation, owner)?;
        if let Some(heir) = owner {
            // The owner's role is the conversation's to say, not the row's.
            tx.set_admin(conversation, heir, false)?;
        }
    }
    let event = Event::MemberRemoved {
        conversation_id: conversation,
        account_id: member,
        by: actor,
        owner,
        member: named(tx, member)?,
    };
    tx.append_to_all(&members, &event)
}

/// The owner or an admin changes a group's title, picture (one of their
/// own uploads), announcement or approval mode; every member's log gets
/// `conversation.updated`, with all four as they now are, when something
/// changed.
pub fn update_group(
    tx: &mut dyn Tx,
    actor: AccountId,
    conversation: ConversationId,
    change: &GroupChange,
) -> Result<()> {
    groups::managed_group(tx, actor, conversation)?;
    let before = tx.reads().group_look(conversation)?;
    let details = tx.reads().group_details(conversation)?;
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
    let announcement = change.announcement.as_ref().map_or_else(
        || details.announcement.clone(),
        |text| text.as_str().to_owned(),
    );
    let join_approval = change.join_approval.unwrap_or(details.join_approval);
    let look_changed = (&title, avatar) != (&title_before, before.avatar);
    let announced = announcement != details.announcement;
    if !look_changed && !announced && join_approval == details.join_approval {
        return Ok(());
    }
    if look_changed {
        tx.set_group_look(conversation, &title, avatar)?;
    }
    if announced {
        let now = tx.now();
        let (by, at) = match announcement.is_empty() {
            true => (None, None),
            false => (Some(actor), Some(now)),
        };
        tx.set_announcement(conversation, &announcement, by, at)?;
    }
    if join_approval != details.join_approval {
        tx.set_join_approval(conversation, join_approval)?;
    }
    let event = Event::ConversationUpdated {
        conversation_id: conversation,
        title,
        avatar_media_id: avatar,
        by: actor,
        announcement,
        join_approval,
    };
    let members = tx.reads().member_ids(conversation)?;
    tx.append_to_all(&members, &event)
}

/// A group's picture that `uploader` uploaded, going with its account
/// (erased: its media are served to nobody): the group shows none, and
/// every member hears it as from `uploader`. Any other picture stays.
pub(crate) fn drop_picture_of(
    tx: &mut dyn Tx,
    uploader: AccountId,
    conversation: ConversationId,
) -> Result<()> {
    let look = tx.reads().group_look(conversation)?;
    let Some(avatar) = look.avatar else {
        return Ok(());
    };
    if tx.reads().media_uploader(avatar)? != Some(uploader) {
        return Ok(());
    }
    let details = tx.reads().group_details(conversation)?;
    let title = look.title.unwrap_or_default();
    tx.set_group_look(conversation, &title, None)?;
    let event = Event::ConversationUpdated {
        conversation_id: conversation,
        title,
        avatar_media_id: None,
        by: uploader,
        announcement: details.announcement,
        join_approval: details.join_approval,
    };
    let members = tx.reads().member_ids(conversation)?;
    tx.append_to_all(&members, &event)
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

/// `actor`'s membership of a group, locked for the change: a direct
/// conversation or an order's is `NotAGroup`, so nothing of groups'
/// (members, roles, invitations, title) applies to them.
pub(crate) fn group_membership(
    tx: &mut dyn Tx,
    actor: AccountId,
    conversation: ConversationId,
) -> Result<Membership> {
    let found = tx
        .membership_for_update(actor, conversation)?
        .ok_or(Rejection::NotAMember)?;
    if found.kind != ConversationKind::Group {
        return Err(Rejection::NotAGroup.into());
    }
    Ok(found)
}

/// `account` as a membership event names it: as it is now.
pub(crate) fn named(tx: &mut dyn Tx, account: AccountId) -> Result<Named> {
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

    pub async fn leave(&self, actor: AccountId, conversation: ConversationId) -> StoreResult<()> {
        self.write(move |tx| leave(tx, actor, conversation)).await
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
