//! Recalling a message: its sender within a short window, or a group's
//! owner or an admin within a day, takes it back from every member. The content is
//! erased from the store, not hidden (a recalled picture is no longer
//! served to anyone but its uploader), and every member's log gets
//! `message.recalled`, so each device replaces what it shows.

use piazza_domain::event::{ConversationKind, Event, Message, Recall};
use piazza_domain::store::StoreResult;
use piazza_domain::{AccountId, ConversationId, MessageId, MessageText, Rejection};

use super::compose::is_composed;
use crate::Core;
use crate::engine::{Error, Lane, Result, Tx};

/// How long after sending a message may be recalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecallWindows {
    /// By its sender (WeChat's two minutes).
    pub own_s: u64,
    /// By a group's owner or admins, for anyone's message.
    pub group_owner_s: u64,
}

/// Recalls `message` of `conversation` for `account`, who must be a member
/// who can see it (else `MessageNotFound`, as for an id that does not
/// exist). Its sender may recall it within `windows.own_s`, the group's
/// owner or an admin within `windows.group_owner_s`; a message that stands for money
/// is never recalled. Recalling a recalled message changes nothing.
/// Answers the message as it is now.
pub fn recall_message(
    tx: &mut dyn Tx,
    account: AccountId,
    conversation: ConversationId,
    message: MessageId,
    windows: RecallWindows,
) -> Result<Message> {
    let membership = tx
        .membership_for_update(account, conversation)?
        .ok_or(Rejection::NotAMember)?;
    let found = super::visible_message(tx.reads(), &membership, conversation, message)?;
    // Who may recall it is checked first, so that a recalled message
    // answers everyone else as any other message would.
    // Anything a member composed; never money's.
    let recallable = is_composed(found.kind.as_deref());
    let as_owner = membership.kind == ConversationKind::Group
        && crate::groups::role_of(tx.reads(), &membership, conversation, account)?.manages();
    let own = (found.sender == account).then_some(windows.own_s);
    let owners = as_owner.then_some(windows.group_owner_s);
    let window_s = own
        .max(owners)
        .filter(|_| recallable)
        .ok_or(Rejection::RecallNotAllowed)?;
    if found.recalled.is_some() {
        return Ok(found);
    }
    let now = tx.now();
    let age_ms = now.unix_ms().saturating_sub(found.sent_at.unix_ms());
    if age_ms > i64::try_from(window_s.saturating_mul(1000)).unwrap_or(i64::MAX) {
        return Err(Rejection::RecallTooLate { window_s }.into());
    }
    let recall = Recall {
        at: now,
        by: account,
    };
    if !tx.recall_message(message, recall)? {
        // Recalled meanwhile (the conversation's row lock makes this
        // unreachable today; the row says so all the same).
        let now_found = tx.reads().message_in(conversation, message)?;
        return now_found.ok_or_else(|| Error::missing(message));
    }
    // Only those who can see it: a newer member never learns it existed.
    let members = tx.reads().members_seeing(conversation, found.seq)?;
    let event = Event::MessageRecalled {
        conversation_id: conversation,
        message_id: message,
        seq: found.seq,
        by: account,
    };
    tx.append_to_all(&members, &event)?;
    Ok(recalled(found, recall))
}

/// `message` as a recall leaves it: as the row now holds it, its extras
/// (a place, a card, an attachment) gone with its text.
fn recalled(message: Message, recall: Recall) -> Message {
    Message {
        text: MessageText::from_store(String::new()),
        reference: None,
        recalled: Some(recall),
        extra: None,
        ..message
    }
}

impl Core {
    /// Recalls a message for every member ([`recall_message`]).
    pub async fn recall_message(
        &self,
        account: AccountId,
        conversation: ConversationId,
        message: MessageId,
        windows: RecallWindows,
    ) -> StoreResult<Message> {
        let lane = Lane::conversation(conversation);
        self.write_in(lane, move |tx| {
            recall_message(tx, account, conversation, message, windows)
        })
        .await
    }
}
