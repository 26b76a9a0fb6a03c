//! "Typing…": a socket's `{"op":"typing","conversation_id"}` reaches the
//! other members' online sockets as `{"type":"typing",…}` through the
//! hub's ephemeral queues, never the store. A conversation's members are
//! read once and remembered by the hub until a membership change passes
//! through it (or 30 s, for a change another process made), so a burst of
//! typing costs no reads; each socket passes on one typing per
//! conversation every two seconds, and drops the rest.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use piazza_api::TypingEvent;
use piazza_domain::event::ConversationKind;
use piazza_domain::{AccountId, ConversationId, Rejection};

use crate::App;
use crate::error::ApiError;
use crate::hub::Audience;

/// One typing per conversation per socket in this long is passed on.
pub const TYPING_INTERVAL: Duration = Duration::from_secs(2);
/// Conversations a socket keeps its pace for; past it, it starts afresh.
const PACED_MAX: usize = 256;

/// When each conversation's typing was last passed on from one socket.
#[derive(Default)]
pub struct TypingPace {
    last: HashMap<ConversationId, Instant>,
}

impl TypingPace {
    /// Whether a typing in `conversation` now is passed on.
    fn admit(&mut self, conversation: ConversationId, now: Instant) -> bool {
        if self.last.len() >= PACED_MAX {
            self.last.clear();
        }
        match self.last.get(&conversation) {
            Some(last) if now.duration_since(*last) < TYPING_INTERVAL => false,
            _ => {
                self.last.insert(conversation, now);
                true
            }
        }
    }
}

/// Passes on `account`'s typing in `conversation` (as the client wrote
/// it) to the other members' sockets; `NotAMember` for a conversation it
/// is not in (or an id that does not parse). A typing past the pace is
/// dropped without an answer.
pub async fn relay(
    app: &App,
    account: AccountId,
    conversation: &str,
    pace: &mut TypingPace,
) -> Result<(), ApiError> {
    let conversation =
        ConversationId::parse(conversation).map_err(|_| ApiError::from(Rejection::NotAMember))?;
    if !pace.admit(conversation, Instant::now()) {
        return Ok(());
    }
    let audience = match app.hub.audience(conversation) {
        Some(audience) => audience,
        None => {
            let epoch = app.hub.audience_epoch();
            let (kind, members) = app
                .store
                .conversation_audience(account, conversation)
                .await?;
            let audience = Audience {
                direct: kind == ConversationKind::Direct,
                members: members.into(),
            };
            app.hub
                .remember_audience(conversation, epoch, audience.clone());
            audience
        }
    };
    let members = &audience.members;
    if members.binary_search(&account).is_err() {
        return Err(Rejection::NotAMember.into());
    }
    // A block changes no membership: checked on each typing, which the
    // pace keeps to one read every two seconds at most.
    if audience.direct
        && let Some(peer) = members.iter().find(|member| **member != account)
        && app.store.blocked_between(account, *peer).await?
    {
        return Ok(());
    }
    let event = TypingEvent {
        type_: "typing".to_owned(),
        conversation_id: conversation.to_string(),
        account_id: account.to_string(),
    };
    let json = serde_json::to_string(&event).expect("a typing event encodes");
    app.hub
        .publish_ephemeral(members, account, &Utf8Bytes::from(json));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_typing_per_conversation_per_interval() {
        let mut pace = TypingPace::default();
        let start = Instant::now();
        let (one, two) = (ConversationId::from_row(1), ConversationId::from_row(2));
        assert!(pace.admit(one, start));
        assert!(!pace.admit(one, start + Duration::from_millis(1999)));
        assert!(
            pace.admit(two, start),
            "another conversation has its own pace"
        );
        assert!(pace.admit(one, start + TYPING_INTERVAL));
    }
}
