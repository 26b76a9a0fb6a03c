//! Sessions remembered between requests, on an engine where reading one
//! costs a round trip to another process (`Engine::remembers_sessions`:
//! PostgreSQL). Only a write that takes a `Caller` answers on a
//! remembered session ([`crate::auth::WriteAuth`]), and it checks the
//! session again inside its own transaction, where a batch looks up all
//! its writes' sessions at once (`piazza_core::accounts::Caller`): a device
//! revoked on any process writes nothing from then on. Every other request
//! reads its session; a read that finds none forgets it here.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use piazza_domain::store::{Session, TokenHash};

/// Sessions remembered at most; past it, all are forgotten (the next
/// requests read theirs again).
pub const SESSIONS_REMEMBERED_MAX: usize = 100_000;

#[derive(Default)]
pub struct RememberedSessions {
    entries: Mutex<HashMap<TokenHash, Session>>,
}

impl RememberedSessions {
    pub fn get(&self, token_hash: &TokenHash) -> Option<Session> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(token_hash).cloned()
    }

    /// Remembers `session` (read just now, or just touched) for `token_hash`.
    pub fn remember(&self, token_hash: TokenHash, session: Session) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= SESSIONS_REMEMBERED_MAX && !entries.contains_key(&token_hash) {
            entries.clear();
        }
        entries.insert(token_hash, session);
    }

    pub fn forget(&self, token_hash: &TokenHash) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.remove(token_hash);
    }
}
