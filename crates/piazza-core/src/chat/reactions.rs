//! Reactions: a member marks a message with an emoji (several, up to
//! [`REACTIONS_PER_ACCOUNT_MAX`] different ones) and may take each back.
//! Every member's log gets `message.reaction`, and the history shows each
//! emoji with who reacted. A recalled message takes none (its reactions
//! went with its content).

use std::collections::HashMap;

use piazza_domain::event::Event;
use piazza_domain::store::{Reaction, ReactionRow, StoreResult};
use piazza_domain::{AccountId, ConversationId, Emoji, MessageId, Rejection};

use crate::Core;
use crate::engine::{Lane, Result, Tx};

/// Different emojis one account may put on one message.
pub const REACTIONS_PER_ACCOUNT_MAX: usize = 10;

/// `account` reacts to `message` of `conversation` with `emoji` (`added`)
/// or takes that reaction back. The account must be a member who can see
/// the message (else `MessageNotFound`, as for one that does not exist);
/// reacting twice, or taking back what is not there, changes nothing.
pub fn react(
    tx: &mut dyn Tx,
    account: AccountId,
    conversation: ConversationId,
    message: MessageId,
    emoji: &Emoji,
    added: bool,
) -> Result<()> {
    // Locked (the member's and the conversation's rows): reactions and
    // recalls in a conversation are counted and changed one job at a
    // time, so the cap holds across processes.
    let membership = tx
        .membership_for_update(account, conversation)?
        .ok_or(Rejection::NotAMember)?;
    let found = super::visible_message(tx.reads(), &membership, conversation, message)?;
    crate::blocks::not_blocked_in(tx.reads(), &membership, account, conversation)?;
    let changed = if added {
        if found.recalled.is_some() {
            return Err(Rejection::MessageRecalled.into());
        }
        let now = tx.now();
        let new = tx.add_reaction(message, account, emoji, now)?;
        // Counted after: an emoji already there is no new one, at the cap
        // too (a refusal takes the insert back).
        if new && tx.reads().reaction_count(message, account)? > REACTIONS_PER_ACCOUNT_MAX {
            return Err(Rejection::TooMany {
                what: "different reactions on one message",
                max: REACTIONS_PER_ACCOUNT_MAX,
            }
            .into());
        }
        new
    } else {
        tx.remove_reaction(message, account, emoji)?
    };
    if !changed {
        return Ok(());
    }
    // Only those who can see it: a newer member never learns it existed.
    let members = tx.reads().members_seeing(conversation, found.seq)?;
    let event = Event::MessageReaction {
        conversation_id: conversation,
        message_id: message,
        seq: found.seq,
        account_id: account,
        emoji: emoji.clone(),
        added,
    };
    tx.append_to_all(&members, &event)
}

/// `rows` (as [`crate::chat::Reads::reactions`] gives them) by message,
/// each emoji once with its count and the accounts shown.
pub fn grouped(rows: Vec<ReactionRow>) -> HashMap<MessageId, Vec<Reaction>> {
    let mut by_message: HashMap<MessageId, Vec<Reaction>> = HashMap::new();
    for row in rows {
        let reactions = by_message.entry(row.message).or_default();
        match reactions
            .iter_mut()
            .find(|reaction| reaction.emoji == row.emoji)
        {
            Some(reaction) => reaction.accounts.push(row.account),
            None => reactions.push(Reaction {
                emoji: row.emoji,
                count: row.count,
                accounts: vec![row.account],
                mine: row.mine,
            }),
        }
    }
    by_message
}

impl Core {
    /// Adds (`added`) or takes back a reaction ([`react`]).
    pub async fn react(
        &self,
        account: AccountId,
        conversation: ConversationId,
        message: MessageId,
        emoji: Emoji,
        added: bool,
    ) -> StoreResult<()> {
        let lane = Lane::conversation(conversation);
        self.write_in(lane, move |tx| {
            react(tx, account, conversation, message, &emoji, added)
        })
        .await
    }
}
