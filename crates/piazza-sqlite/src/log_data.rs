//! How an account log entry's `data` is kept.
//!
//! Most events are kept whole, as the JSON of their stored form
//! (`piazza_domain::event::stored`, the same on every engine). A transfer
//! event names only its transfer's row: who, how much and in what currency
//! are in `transfers` and never change, and the status at the time follows
//! from the event (sent and received: pending; then accepted, declined or
//! returned). Each chat transfer logs two of them, in two accounts' logs;
//! at ~25 bytes instead of ~170 they fill `account_log`'s pages (ordered
//! by account) several times more slowly, which is fewer pages split and
//! written per transfer (BENCHMARKS.md, "Checkpoints").
//!
//! Entries written whole before this (schema 9 and earlier) read as they
//! always did.

use piazza_domain::TransferId;
use piazza_domain::event::{Event, stored};
use piazza_domain::store::TransferStatus;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::transfers;

/// A transfer event by reference. `transfer_row` comes first so that the
/// kept text starts with it, which no whole event's JSON does (theirs
/// start with `"type"`).
#[derive(Serialize, Deserialize)]
struct TransferRef<'a> {
    transfer_row: i64,
    #[serde(rename = "type", borrow)]
    kind: &'a str,
}

const TRANSFER_REF_PREFIX: &str = "{\"transfer_row\":";

/// The text to keep in `data` for `event` (never a `message.new`, which is
/// kept as its message's row).
pub(crate) fn encode(event: &Event) -> Result<String> {
    let by_reference = match event {
        Event::TransferSent(transfer)
        | Event::TransferReceived(transfer)
        | Event::TransferAccepted(transfer)
        | Event::TransferDeclined(transfer)
        | Event::TransferReturned(transfer) => Some(transfer.transfer_id),
        _ => None,
    };
    let encoded = match by_reference {
        Some(transfer) => serde_json::to_string(&TransferRef {
            transfer_row: transfer.row(),
            kind: event.type_name(),
        }),
        None => serde_json::to_string(&stored::Event::from(event)),
    };
    encoded.map_err(|error| Error::Corrupt(format!("cannot encode event: {error}")))
}

/// The event kept as `data`; a transfer's is rebuilt from its row.
pub(crate) fn decode(conn: &Connection, data: &str) -> Result<Event> {
    if !data.starts_with(TRANSFER_REF_PREFIX) {
        return serde_json::from_str::<stored::Event>(data)
            .map(Event::from)
            .map_err(|error| Error::Corrupt(format!("log entry {data:?}: {error}")));
    }
    let reference: TransferRef<'_> = serde_json::from_str(data)
        .map_err(|error| Error::Corrupt(format!("log entry {data:?}: {error}")))?;
    let mut transfer = transfers::load(conn, TransferId::from_row(reference.transfer_row))?
        .ok_or_else(|| Error::Corrupt(format!("log entry {data:?}: no such transfer")))?;
    let (event, status): (fn(_) -> Event, _) = match reference.kind {
        "transfer.sent" => (Event::TransferSent, TransferStatus::Pending),
        "transfer.received" => (Event::TransferReceived, TransferStatus::Pending),
        "transfer.accepted" => (Event::TransferAccepted, TransferStatus::Accepted),
        "transfer.declined" => (Event::TransferDeclined, TransferStatus::Declined),
        "transfer.returned" => (Event::TransferReturned, TransferStatus::Returned),
        other => {
            return Err(Error::Corrupt(format!(
                "log entry {data:?}: {other:?} is not a transfer event"
            )));
        }
    };
    // The status the event reported when it was logged, not today's.
    transfer.status = status;
    Ok(event(piazza_core::pay::transfers::event(&transfer)))
}

#[cfg(test)]
mod tests {
    use crate::test_support::{Nobody, account, core};
    use std::sync::Arc;

    use piazza_core::Core;
    use piazza_domain::event::TransferEvent;
    use piazza_domain::money::{AmountMinor, Currency, Money};
    use piazza_domain::store::{
        IdempotencyKey, Idempotent, PinCheck, TransferDecision, TransferRequest,
    };
    use piazza_domain::{AccountId, LogSeq, Timestamp};

    use super::*;
    use crate::{SqliteStore, StoreOptions};

    fn request(key: &str) -> Idempotent {
        Idempotent {
            key: IdempotencyKey::parse(key).unwrap(),
            request_hash: [1; 32],
        }
    }

    /// The events of `account`'s log whose type starts with `prefix`.
    async fn logged(store: &Core, account: AccountId, prefix: &str) -> Vec<Event> {
        let page = store.log_after(account, LogSeq::START, 100).await.unwrap();
        page.entries
            .into_iter()
            .map(|entry| entry.event)
            .filter(|event| event.type_name().starts_with(prefix))
            .collect()
    }

    #[tokio::test]
    async fn transfer_events_read_back_whole_with_the_status_of_their_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(dir.path(), StoreOptions::default(), Arc::new(Nobody)).unwrap(),
        );
        let (ann, bob) = (account(&store, "ann").await, account(&store, "bob").await);
        crate::test_support::make_contacts(&store, ann, bob).await;
        let store = core(&store, dir.path());
        crate::test_support::set_first_pin(&store, ann).await;
        let money = Money::new(AmountMinor::positive(1_234).unwrap(), Currency::CNY);
        store
            .top_up(ann, request("fund"), money, "test".into())
            .await
            .unwrap();
        let transfer = store
            .send_transfer(
                ann,
                request("pay"),
                TransferRequest {
                    to: bob,
                    money,
                    note: None,
                    expires_at: Timestamp::from_unix_ms(Timestamp::now().unix_ms() + 60_000),
                },
                PinCheck::Verified,
            )
            .await
            .unwrap();
        store
            .decide_transfer(bob, transfer.transfer_id, TransferDecision::Accept)
            .await
            .unwrap();

        let seen = |status: &str| TransferEvent {
            transfer_id: transfer.transfer_id,
            from: ann,
            to: bob,
            amount_minor: 1_234,
            currency: "CNY".into(),
            status: status.into(),
        };
        assert_eq!(
            logged(&store, ann, "transfer.").await,
            [
                Event::TransferSent(seen("pending")),
                Event::TransferAccepted(seen("accepted"))
            ],
            "the sender's log, read after the accept"
        );
        assert_eq!(
            logged(&store, bob, "transfer.").await,
            [
                Event::TransferReceived(seen("pending")),
                Event::TransferAccepted(seen("accepted"))
            ]
        );
        // Other money events are kept whole.
        assert_eq!(logged(&store, ann, "wallet.credited").await.len(), 1);

        store.shut_down();
        drop(store);
        let conn = Connection::open(dir.path().join(crate::DATABASE_FILE)).unwrap();
        let kept: Vec<String> = conn
            .prepare(
                "SELECT data FROM account_log_all WHERE data IS NOT NULL ORDER BY account_id, log_seq",
            )
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let by_reference = kept
            .iter()
            .filter(|data| data.starts_with(TRANSFER_REF_PREFIX))
            .count();
        assert_eq!(by_reference, 4, "{kept:?}");
        assert!(kept.iter().all(|data| data.len() < 200), "{kept:?}");
    }

    #[test]
    fn whole_transfer_events_from_before_still_read() {
        let conn = Connection::open_in_memory().unwrap();
        let whole = Event::TransferSent(TransferEvent {
            transfer_id: TransferId::from_row(7),
            from: AccountId::from_row(1),
            to: AccountId::from_row(2),
            amount_minor: 5,
            currency: "CNY".into(),
            status: "pending".into(),
        });
        let data = serde_json::to_string(&stored::Event::from(&whole)).unwrap();
        assert!(!data.starts_with(TRANSFER_REF_PREFIX));
        assert_eq!(decode(&conn, &data).unwrap(), whole);
    }

    #[test]
    fn a_reference_to_nothing_is_corruption_not_a_panic() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE transfers (id INTEGER PRIMARY KEY, from_id, to_id, amount_minor,
             currency, note, status, created_at, expires_at)",
        )
        .unwrap();
        for data in [
            r#"{"transfer_row":99,"type":"transfer.sent"}"#,
            r#"{"transfer_row":"x","type":"transfer.sent"}"#,
            r#"{"transfer_row":1,"type":"wallet.credited"}"#,
            r#"{"transfer_row":"#,
        ] {
            assert!(
                matches!(decode(&conn, data), Err(Error::Corrupt(_))),
                "{data}"
            );
        }
    }
}
