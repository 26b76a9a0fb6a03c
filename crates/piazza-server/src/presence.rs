//! Presence on the wire: when an account's first socket opens here, its
//! contacts' sockets get `{"type":"presence","online":true}`; when its
//! last one closes, `online: false` with `last_seen`. Ephemeral, through
//! the hub's second queues, as typing is; an account that shows its
//! presence to nobody is announced to nobody. What a device missed it
//! reads from `GET /api/v1/contacts/presence`.
//!
//! Online is the hub's knowledge: a socket here, or on another node of a
//! cluster that said so lately (`cluster.rs`: each node tells the others
//! when an account's first socket opens and its last closes, and its
//! whole list every two seconds; a node silent for six holds nothing).

use axum::extract::ws::Utf8Bytes;
use piazza_api::PresenceEvent;
use piazza_domain::{AccountId, Timestamp};

use crate::App;

/// Tells `account`'s contacts it is online or offline, if it still is
/// when their list has been read (a quick reconnect does not announce a
/// stale offline after its own online).
pub async fn announce(app: &App, account: AccountId, online: bool) {
    let audience = match app.store.presence_audience(account).await {
        Ok(audience) => audience,
        Err(error) => {
            tracing::warn!(%account, %error, "presence not announced");
            return;
        }
    };
    if app.hub.is_online(account) != online {
        return;
    }
    let last_seen = (!online).then(Timestamp::now);
    tell(app, &audience, account, online, last_seen);
}

/// Tells `audience` that `account` is online, or offline since
/// `last_seen` (absent: not shown).
pub fn tell(
    app: &App,
    audience: &[AccountId],
    account: AccountId,
    online: bool,
    last_seen: Option<Timestamp>,
) {
    if audience.is_empty() {
        return;
    }
    let event = PresenceEvent {
        type_: "presence".to_owned(),
        account_id: account.to_string(),
        online,
        last_seen: last_seen.map(|at| at.to_rfc3339()),
    };
    let json = serde_json::to_string(&event).expect("a presence event encodes");
    app.hub
        .publish_ephemeral(audience, account, &Utf8Bytes::from(json));
}
