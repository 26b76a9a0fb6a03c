//! Deleting a message for oneself: it leaves the account's history on
//! every one of its devices (`message.deleted` in its own log) and stays
//! for everyone else. Any message the account can see may go, money's
//! too: only the account's view of it changes.

use piazza_domain::event::Event;
use piazza_domain::store::StoreResult;
use piazza_domain::{AccountId, ConversationId, MessageId, Rejection};

use crate::Core;
use crate::engine::{Lane, Result, Tx};

/// Hides `message` of `conversation` from `account`, who must be a member
/// who can see it (else `MessageNotFound`, as for an id that does not
/// exist). Deleting it again changes nothing.
pub fn delete_for_me(
    tx: &mut dyn Tx,
    account: AccountId,
    conversation: ConversationId,
    message: MessageId,
) -> Result<()> {
    let membership = tx
        .reads()
        .membership(account, conversation)?
        .ok_or(Rejection::NotAMember)?;
    let found = super::visible_message(tx.reads(), &membership, conversation, message)?;
    let now = tx.now();
    if tx.hide_message(account, message, now)? {
        tx.append_log(
            account,
            Event::MessageDeleted {
                conversation_id: conversation,
                message_id: message,
                seq: found.seq,
            },
        )?;
    }
    Ok(())
}

impl Core {
    /// Deletes a message for `account` only ([`delete_for_me`]).
    pub async fn delete_for_me(
        &self,
        account: AccountId,
        conversation: ConversationId,
        message: MessageId,
    ) -> StoreResult<()> {
        let lane = Lane::conversation(conversation);
        self.write_in(lane, move |tx| {
            delete_for_me(tx, account, conversation, message)
        })
        .await
    }
}
