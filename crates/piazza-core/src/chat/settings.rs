//! A member's own settings of a conversation: muted, pinned to the top of
//! the list, archived. They are the member's alone and reach every one of
//! its devices (`conversation.settings` in its own log). Pinning takes a
//! conversation out of the archive and archiving unpins it, so the list
//! has one place for each; at most `PINNED_CONVERSATIONS_MAX` are pinned.

use piazza_domain::event::Event;
use piazza_domain::store::{ConversationSettings, StoreResult};
use piazza_domain::{AccountId, ConversationId, Rejection, limits};

use crate::Core;
use crate::engine::{Lane, Result, Tx};

/// What a change asks for; an absent setting stays as it is. Pinning and
/// archiving in one change contradict each other: the caller refuses it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettingsChange {
    pub muted: Option<bool>,
    pub pinned: Option<bool>,
    pub archived: Option<bool>,
}

impl SettingsChange {
    /// The settings after this change.
    fn applied_to(self, mut settings: ConversationSettings) -> ConversationSettings {
        assert!(
            !(self.pinned == Some(true) && self.archived == Some(true)),
            "pinning and archiving at once is refused before this"
        );
        if let Some(muted) = self.muted {
            settings.muted = muted;
        }
        if let Some(pinned) = self.pinned {
            settings.pinned = pinned;
            settings.archived &= !pinned;
        }
        if let Some(archived) = self.archived {
            settings.archived = archived;
            settings.pinned &= !archived;
        }
        settings
    }
}

/// Changes `account`'s settings of `conversation`, of which it must be a
/// member, and tells its devices; a change that changes nothing logs
/// nothing. Answers the settings as they now are.
pub fn change_settings(
    tx: &mut dyn Tx,
    account: AccountId,
    conversation: ConversationId,
    change: SettingsChange,
) -> Result<ConversationSettings> {
    tx.membership_for_update(account, conversation)?
        .ok_or(Rejection::NotAMember)?;
    let before = tx.reads().conversation_settings(account, conversation)?;
    let after = change.applied_to(before);
    if after == before {
        return Ok(after);
    }
    if after.pinned && !before.pinned {
        // The account's row, locked, keeps two pins racing on two writers
        // (or two processes) from both counting one short of the cap.
        tx.account_for_update(account)?;
        let max = limits::PINNED_CONVERSATIONS_MAX;
        if tx.reads().pinned_count(account)? >= max {
            let what = "pinned conversations";
            return Err(Rejection::TooMany { what, max }.into());
        }
    }
    tx.set_conversation_settings(conversation, account, after)?;
    tx.append_log(
        account,
        Event::ConversationSettings {
            conversation_id: conversation,
            muted: after.muted,
            pinned: after.pinned,
            archived: after.archived,
        },
    )?;
    Ok(after)
}

impl Core {
    /// Changes a member's own settings of a conversation
    /// ([`change_settings`]).
    pub async fn change_settings(
        &self,
        account: AccountId,
        conversation: ConversationId,
        change: SettingsChange,
    ) -> StoreResult<ConversationSettings> {
        let lane = Lane::conversation(conversation);
        self.write_in(lane, move |tx| {
            change_settings(tx, account, conversation, change)
        })
        .await
    }
}
