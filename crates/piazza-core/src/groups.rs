//! Group administration: roles (the owner, the admins the owner names,
//! members), a group's announcement and approval mode, invitations by link
//! or QR code, and the join requests approval mode makes.
//!
//! Who may do what:
//! - the owner names and demotes admins;
//! - the owner and admins change the title, picture, announcement and
//!   approval mode, remove plain members (only the owner removes an
//!   admin), mention everyone and recall anyone's message within a day;
//! - any member creates an invitation (as WeChat lets any member show the
//!   group's QR code): approval mode, the managers' switch, is what makes
//!   every join by invitation wait for one of them. An invitation is
//!   revoked by its creator or a manager.
//!
//! A member leaving is `chat::conversations::leave`; ownership then passes
//! to the longest-standing admin, else the longest-standing member.

use piazza_domain::event::{ConversationKind, Event, GroupRole};
use piazza_domain::store::{StoreResult, TokenHash};
use piazza_domain::{AccountId, ConversationId, InviteId, Rejection, Seq, Timestamp, limits};

use crate::Core;
use crate::chat::Membership;
use crate::chat::conversations::{admit, group_membership, named};
use crate::engine::{Error, Read, Result, Tx};

/// A member of a group as its views list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberRow {
    pub account: AccountId,
    /// Named an admin by the owner (never true of the owner itself).
    pub admin: bool,
    pub joined_at: Timestamp,
}

/// What a group holds besides its title and picture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupDetails {
    /// Empty when there is none.
    pub announcement: String,
    /// Who set the announcement and when; `None` when it is empty.
    pub announcement_by: Option<AccountId>,
    pub announcement_at: Option<Timestamp>,
    pub join_approval: bool,
}

/// One conversation as its members see it: the group's settings and each
/// member with its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    pub conversation: ConversationId,
    pub kind: ConversationKind,
    pub title: Option<String>,
    pub avatar: Option<piazza_domain::MediaId>,
    pub owner: Option<AccountId>,
    pub details: GroupDetails,
    /// By the time they joined, the longest-standing first.
    pub members: Vec<(AccountId, GroupRole, Timestamp)>,
}

/// An invitation as stored (its token only as a hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invite {
    pub invite_id: InviteId,
    pub conversation: ConversationId,
    pub created_by: AccountId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked: bool,
}

impl Invite {
    /// Whether it still lets someone in at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        !self.revoked && now.unix_ms() < self.expires_at.unix_ms()
    }
}

/// A join request waiting for a manager's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinRequest {
    pub conversation: ConversationId,
    pub account: AccountId,
    pub invite_id: InviteId,
    pub requested_at: Timestamp,
}

/// What accepting an invitation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    /// The caller is a member (now, or already).
    Member(ConversationId),
    /// Approval mode: the caller waits for a manager.
    Pending(JoinRequest),
}

/// A manager's answer to a join request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Decline,
}

/// A conversation's row as a change that admits someone reads it, locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockedConversation {
    pub kind: ConversationKind,
    pub owner: Option<AccountId>,
    pub last_seq: Seq,
}

/// The queries of this area, as every engine answers them.
pub trait Reads {
    /// Whether `account` is an admin of `conversation` (false for a
    /// non-member and for the owner, whose role the conversation names).
    fn is_admin(&mut self, conversation: ConversationId, account: AccountId) -> Result<bool>;
    /// The members of `conversation`, the longest-standing first (then by
    /// account id).
    fn member_rows(&mut self, conversation: ConversationId) -> Result<Vec<MemberRow>>;
    /// The announcement and approval mode of `conversation`, which exists.
    fn group_details(&mut self, conversation: ConversationId) -> Result<GroupDetails>;
    /// The admin of `conversation` who joined first (then the lowest id).
    fn longest_standing_admin(&mut self, conversation: ConversationId)
    -> Result<Option<AccountId>>;
    /// The invitation whose token hashes to `token`, revoked and expired
    /// ones included.
    fn invite_by_token(&mut self, token: &TokenHash) -> Result<Option<Invite>>;
    fn invite(&mut self, invite: InviteId) -> Result<Option<Invite>>;
    /// Invitations of `conversation` neither revoked nor expired at `now`.
    fn live_invite_count(&mut self, conversation: ConversationId, now: Timestamp) -> Result<usize>;
    /// Pending join requests of `conversation`, oldest first.
    fn join_requests(&mut self, conversation: ConversationId) -> Result<Vec<JoinRequest>>;
    fn join_request(
        &mut self,
        conversation: ConversationId,
        account: AccountId,
    ) -> Result<Option<JoinRequest>>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    /// The conversation's row, locked until the transaction ends (as
    /// `membership_for_update` locks it): what admitting someone who is not
    /// a member yet reads, so two joins cannot both take the last place.
    fn conversation_for_update(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<LockedConversation>>;
    /// Makes `account`, a member, an admin of `conversation` or not.
    fn set_admin(
        &mut self,
        conversation: ConversationId,
        account: AccountId,
        admin: bool,
    ) -> Result<()>;
    /// The announcement is now `text` (empty: none), set by `by` at `at`
    /// (`None` with an empty text).
    fn set_announcement(
        &mut self,
        conversation: ConversationId,
        text: &str,
        by: Option<AccountId>,
        at: Option<Timestamp>,
    ) -> Result<()>;
    fn set_join_approval(&mut self, conversation: ConversationId, on: bool) -> Result<()>;
    /// Stores a new invitation; its token is kept only as `token`'s hash.
    fn insert_invite(
        &mut self,
        conversation: ConversationId,
        token: &TokenHash,
        created_by: AccountId,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<InviteId>;
    /// Revokes `invite`; `false` if it was revoked already.
    fn revoke_invite(&mut self, invite: InviteId, at: Timestamp) -> Result<bool>;
    /// A pending request; `false` if `account` has one in `conversation`.
    fn insert_join_request(&mut self, request: &JoinRequest) -> Result<bool>;
    /// Takes `account`'s request out of `conversation`; `false` if none.
    fn delete_join_request(
        &mut self,
        conversation: ConversationId,
        account: AccountId,
    ) -> Result<bool>;
}

/// `account`'s role in the group of `membership` (its own membership).
pub fn role_of(
    read: &mut dyn Read,
    membership: &Membership,
    conversation: ConversationId,
    account: AccountId,
) -> Result<GroupRole> {
    if membership.kind != ConversationKind::Group {
        return Ok(GroupRole::Member);
    }
    if membership.owner == Some(account) {
        return Ok(GroupRole::Owner);
    }
    if read.is_admin(conversation, account)? {
        return Ok(GroupRole::Admin);
    }
    Ok(GroupRole::Member)
}

/// `actor`'s membership of a group it manages (owner or admin), locked.
pub fn managed_group(
    tx: &mut dyn Tx,
    actor: AccountId,
    conversation: ConversationId,
) -> Result<Membership> {
    let found = group_membership(tx, actor, conversation)?;
    if !role_of(tx.reads(), &found, conversation, actor)?.manages() {
        return Err(Rejection::NotAdmin.into());
    }
    Ok(found)
}

/// The owner makes a member an admin (`GroupRole::Admin`) or an admin a
/// member again (`GroupRole::Member`); every member's log gets
/// `conversation.role_changed` when it changed anything.
pub fn set_role(
    tx: &mut dyn Tx,
    actor: AccountId,
    conversation: ConversationId,
    target: AccountId,
    role: GroupRole,
) -> Result<()> {
    assert!(
        role != GroupRole::Owner,
        "ownership moves only when the owner leaves"
    );
    let found = group_membership(tx, actor, conversation)?;
    if found.owner != Some(actor) {
        return Err(Rejection::NotOwner.into());
    }
    if target == actor {
        return Err(Rejection::TargetIsOwner.into());
    }
    if tx.reads().membership(target, conversation)?.is_none() {
        return Err(Rejection::MemberNotFound.into());
    }
    let admin = role == GroupRole::Admin;
    if tx.reads().is_admin(conversation, target)? == admin {
        return Ok(());
    }
    tx.set_admin(conversation, target, admin)?;
    let event = Event::MemberRoleChanged {
        conversation_id: conversation,
        account_id: target,
        role,
        by: actor,
    };
    let members = tx.reads().member_ids(conversation)?;
    tx.append_to_all(&members, &event)
}

/// A member makes an invitation into a group (see the module's rules),
/// valid for `ttl_ms` (the route gives [`limits::GROUP_INVITE_TTL_MS`]; a
/// test, none): its token, made by the caller, is kept as `token`'s hash.
pub fn create_invite(
    tx: &mut dyn Tx,
    actor: AccountId,
    conversation: ConversationId,
    token: &TokenHash,
    ttl_ms: i64,
) -> Result<Invite> {
    assert!(
        (0..=limits::GROUP_INVITE_TTL_MS).contains(&ttl_ms),
        "an invitation lasts at most a week"
    );
    group_membership(tx, actor, conversation)?;
    let now = tx.now();
    if tx.reads().live_invite_count(conversation, now)? >= limits::GROUP_INVITES_LIVE_MAX {
        return Err(Rejection::TooMany {
            what: "live invitations per group",
            max: limits::GROUP_INVITES_LIVE_MAX,
        }
        .into());
    }
    let expires_at = Timestamp::from_unix_ms(now.unix_ms() + ttl_ms);
    let invite_id = tx.insert_invite(conversation, token, actor, now, expires_at)?;
    Ok(Invite {
        invite_id,
        conversation,
        created_by: actor,
        created_at: now,
        expires_at,
        revoked: false,
    })
}

/// Its creator or a manager revokes an invitation of `conversation`;
/// revoking it again changes nothing.
pub fn revoke_invite(
    tx: &mut dyn Tx,
    actor: AccountId,
    conversation: ConversationId,
    invite: InviteId,
) -> Result<()> {
    let membership = group_membership(tx, actor, conversation)?;
    let found = tx
        .reads()
        .invite(invite)?
        .filter(|found| found.conversation == conversation)
        .ok_or(Rejection::InviteNotFound)?;
    if found.created_by != actor
        && !role_of(tx.reads(), &membership, conversation, actor)?.manages()
    {
        return Err(Rejection::NotAdmin.into());
    }
    tx.revoke_invite(invite, tx.now())?;
    Ok(())
}

/// `account` accepts the invitation whose token hashes to `token`: a
/// member at once, or, in approval mode, a pending request. An unknown,
/// expired or revoked invitation is the same `InviteNotFound`. Accepting
/// again answers the same (already a member; the same request).
pub fn accept_invite(tx: &mut dyn Tx, account: AccountId, token: &TokenHash) -> Result<Joined> {
    let now = tx.now();
    let invite = tx
        .reads()
        .invite_by_token(token)?
        .filter(|invite| invite.is_live(now))
        .ok_or(Rejection::InviteNotFound)?;
    let conversation = invite.conversation;
    // An invitation lapses with its creator's membership, as a shared QR
    // code of a group one has left no longer opens it.
    if tx
        .reads()
        .membership(invite.created_by, conversation)?
        .is_none()
    {
        return Err(Rejection::InviteNotFound.into());
    }
    let locked = tx
        .conversation_for_update(conversation)?
        .ok_or_else(|| Error::missing(conversation))?;
    assert_eq!(
        locked.kind,
        ConversationKind::Group,
        "invitations are made into groups only"
    );
    if tx.reads().membership(account, conversation)?.is_some() {
        return Ok(Joined::Member(conversation));
    }
    if tx.reads().group_details(conversation)?.join_approval {
        return request_to_join(tx, account, &invite, locked.owner);
    }
    admit(tx, conversation, account, invite.created_by, &locked)?;
    Ok(Joined::Member(conversation))
}

/// Approval mode: `account`'s request waits (the one it has, if any), and
/// the group's owner and admins learn of a new one
/// (`conversation.join_requested`).
fn request_to_join(
    tx: &mut dyn Tx,
    account: AccountId,
    invite: &Invite,
    owner: Option<AccountId>,
) -> Result<Joined> {
    let conversation = invite.conversation;
    if let Some(pending) = tx.reads().join_request(conversation, account)? {
        return Ok(Joined::Pending(pending));
    }
    if tx.reads().join_requests(conversation)?.len() >= limits::JOIN_REQUESTS_PENDING_MAX {
        return Err(Rejection::TooMany {
            what: "pending join requests per group",
            max: limits::JOIN_REQUESTS_PENDING_MAX,
        }
        .into());
    }
    let request = JoinRequest {
        conversation,
        account,
        invite_id: invite.invite_id,
        requested_at: tx.now(),
    };
    let inserted = tx.insert_join_request(&request)?;
    assert!(inserted, "no request was pending: the read above said so");
    let event = Event::JoinRequested {
        conversation_id: conversation,
        account_id: account,
        member: named(tx, account)?,
    };
    let managers = managers(tx.reads(), owner, conversation)?;
    tx.append_to_all(&managers, &event)?;
    Ok(Joined::Pending(request))
}

/// A manager approves (the requester becomes a member, within the group's
/// size) or declines a pending request; either way it is no longer
/// pending, and a declined requester may ask again with an invitation.
/// A decline is told to the requester and to the group's managers
/// (`conversation.join_declined`); an approval, by `member_added`.
pub fn decide_join_request(
    tx: &mut dyn Tx,
    actor: AccountId,
    conversation: ConversationId,
    account: AccountId,
    decision: Decision,
) -> Result<()> {
    let membership = managed_group(tx, actor, conversation)?;
    if !tx.delete_join_request(conversation, account)? {
        return Err(Rejection::JoinRequestNotFound.into());
    }
    if decision == Decision::Decline {
        return declined(tx, &membership, conversation, account, actor);
    }
    if tx.reads().membership(account, conversation)?.is_some() {
        return Ok(());
    }
    if tx.reads().is_deleted(account)? {
        return Err(Rejection::AccountDeleted.into());
    }
    let locked = tx
        .conversation_for_update(conversation)?
        .ok_or_else(|| Error::missing(conversation))?;
    admit(tx, conversation, account, actor, &locked)
}

fn declined(
    tx: &mut dyn Tx,
    membership: &Membership,
    conversation: ConversationId,
    account: AccountId,
    by: AccountId,
) -> Result<()> {
    let title = tx
        .reads()
        .group_look(conversation)?
        .title
        .unwrap_or_default();
    let event = Event::JoinDeclined {
        conversation_id: conversation,
        account_id: account,
        by,
        title,
    };
    let mut told = managers(tx.reads(), membership.owner, conversation)?;
    told.push(account);
    tx.append_to_all(&told, &event)
}

/// A group's owner and admins.
fn managers(
    read: &mut dyn Read,
    owner: Option<AccountId>,
    conversation: ConversationId,
) -> Result<Vec<AccountId>> {
    let rows = read.member_rows(conversation)?;
    let admins = rows.iter().filter(|row| row.admin).map(|row| row.account);
    Ok(owner.into_iter().chain(admins).collect())
}

/// The pending join requests of a group the viewer manages.
pub fn pending_requests(
    read: &mut dyn Read,
    viewer: AccountId,
    conversation: ConversationId,
) -> Result<Vec<JoinRequest>> {
    let membership = read
        .membership(viewer, conversation)?
        .ok_or(Rejection::NotAMember)?;
    if membership.kind != ConversationKind::Group {
        return Err(Rejection::NotAGroup.into());
    }
    if !role_of(read, &membership, conversation, viewer)?.manages() {
        return Err(Rejection::NotAdmin.into());
    }
    read.join_requests(conversation)
}

/// A conversation as one of its members sees it, with every member's role.
pub fn group_view(
    read: &mut dyn Read,
    viewer: AccountId,
    conversation: ConversationId,
) -> Result<GroupView> {
    let membership = read
        .membership(viewer, conversation)?
        .ok_or(Rejection::NotAMember)?;
    let look = read.group_look(conversation)?;
    let details = read.group_details(conversation)?;
    let members = read
        .member_rows(conversation)?
        .into_iter()
        .map(|row| {
            let role = match (membership.owner == Some(row.account), row.admin) {
                (true, _) => GroupRole::Owner,
                (false, true) => GroupRole::Admin,
                (false, false) => GroupRole::Member,
            };
            (row.account, role, row.joined_at)
        })
        .collect();
    Ok(GroupView {
        conversation,
        kind: membership.kind,
        title: look.title,
        avatar: look.avatar,
        owner: membership.owner,
        details,
        members,
    })
}

impl Core {
    pub async fn set_role(
        &self,
        actor: AccountId,
        conversation: ConversationId,
        target: AccountId,
        role: GroupRole,
    ) -> StoreResult<()> {
        self.write(move |tx| set_role(tx, actor, conversation, target, role))
            .await
    }

    pub async fn create_invite(
        &self,
        actor: AccountId,
        conversation: ConversationId,
        token: TokenHash,
        ttl_ms: i64,
    ) -> StoreResult<Invite> {
        self.write(move |tx| create_invite(tx, actor, conversation, &token, ttl_ms))
            .await
    }

    pub async fn revoke_invite(
        &self,
        actor: AccountId,
        conversation: ConversationId,
        invite: InviteId,
    ) -> StoreResult<()> {
        self.write(move |tx| revoke_invite(tx, actor, conversation, invite))
            .await
    }

    pub async fn accept_invite(&self, account: AccountId, token: TokenHash) -> StoreResult<Joined> {
        self.write(move |tx| accept_invite(tx, account, &token))
            .await
    }

    pub async fn decide_join_request(
        &self,
        actor: AccountId,
        conversation: ConversationId,
        account: AccountId,
        decision: Decision,
    ) -> StoreResult<()> {
        self.write(move |tx| decide_join_request(tx, actor, conversation, account, decision))
            .await
    }

    pub async fn join_requests(
        &self,
        viewer: AccountId,
        conversation: ConversationId,
    ) -> StoreResult<Vec<JoinRequest>> {
        self.read(move |read| pending_requests(read, viewer, conversation))
            .await
    }

    pub async fn group_view(
        &self,
        viewer: AccountId,
        conversation: ConversationId,
    ) -> StoreResult<GroupView> {
        self.read(move |read| group_view(read, viewer, conversation))
            .await
    }
}
