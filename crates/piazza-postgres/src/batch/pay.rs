//! Pay's hot path through the batch (`batch.rs`): a transfer's
//! idempotency key looked up and its answer stored, the sender's PIN
//! locked, the ledger accounts it moves locked (or made: each transfer has
//! an in-flight account of its own), the ledger transaction, its postings
//! and the transfer's row kept for one statement ([`flush`]).

use std::collections::HashSet;

use piazza_core::pay::wallet::{KeyAnswer, Posted, StoredAnswer};
use piazza_core::{Error, Result};
use piazza_domain::ledger::{LedgerAccountRef, LedgerError, Transaction};
use piazza_domain::store::{Idempotent, TransferRequest, TransferStatus};
use piazza_domain::{AccountId, Timestamp, TransactionId};

use super::{IdTable, LedgerRow, PinRow, Tracked};
use crate::conn::Conn;
use crate::wallet::{KEY_DONE, decode_answer, encode_answer, stored_pin};

/// Pay's rows waiting for the flush.
#[derive(Default)]
pub(crate) struct PendingPay {
    /// id, kind, initiator, ref, at.
    transactions: Vec<(i64, &'static str, i64, String, i64)>,
    /// transaction, ledger account, amount, balance after.
    postings: Vec<(i64, i64, i64, i64)>,
    transfers: Vec<NewTransfer>,
    /// account, key, request hash, answer, at.
    keys: Vec<(i64, String, Vec<u8>, String, i64)>,
}

struct NewTransfer {
    id: i64,
    from: i64,
    to: i64,
    amount: i64,
    currency: String,
    note: Option<String>,
    at: i64,
    expires_at: i64,
}

/// Where a job's Pay rows started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PayMark([usize; 4]);

impl PendingPay {
    pub fn mark(&self) -> PayMark {
        PayMark([
            self.transactions.len(),
            self.postings.len(),
            self.transfers.len(),
            self.keys.len(),
        ])
    }

    pub fn truncate(&mut self, PayMark([a, b, c, d]): PayMark) {
        self.transactions.truncate(a);
        self.postings.truncate(b);
        self.transfers.truncate(c);
        self.keys.truncate(d);
    }

    pub fn is_empty(&self) -> bool {
        self.transactions.is_empty()
            && self.postings.is_empty()
            && self.transfers.is_empty()
            && self.keys.is_empty()
    }
}

/// Idempotency keys' final answers.
pub(crate) fn fetch_keys(conn: &mut Conn, keys: HashSet<(i64, String)>) -> Result<()> {
    let (accounts, names): (Vec<i64>, Vec<String>) = keys.iter().cloned().unzip();
    let rows = conn.raw_query(
        "SELECT x.account_id, x.key, x.request_hash, x.response_body
         FROM unnest($1::bigint[], $2::text[]) AS k(account_id, key)
         CROSS JOIN LATERAL (
             SELECT * FROM idempotency_keys i
             WHERE i.account_id = k.account_id AND i.key = k.key AND i.status = $3
             LIMIT 1
         ) x",
        &[&accounts, &names, &KEY_DONE],
    )?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let hash: Vec<u8> = row.get(2);
        let key: String = row.get(1);
        let request_hash = hash
            .try_into()
            .map_err(|_| Error::Corrupt(format!("idempotency key {key:?}'s hash")))?;
        let answer = StoredAnswer {
            request_hash,
            answer: decode_answer(row.get(3))?,
        };
        found.push(((row.get::<_, i64>(0), key), answer));
    }
    conn.batch_mut()
        .answer(|cache| &mut cache.keys, keys, found);
    Ok(())
}

/// Payment PINs, locked in account order.
pub(crate) fn fetch_pins(conn: &mut Conn, accounts: HashSet<i64>) -> Result<()> {
    let mut accounts: Vec<i64> = accounts.into_iter().collect();
    accounts.sort_unstable();
    let rows = conn.raw_query(
        "SELECT pin_hash, locked_until, reset_pin_hash, reset_effective_at, account_id,
                failed_attempts <> 0 OR locked_until IS NOT NULL
         FROM payment_pins WHERE account_id = ANY($1) ORDER BY account_id FOR NO KEY UPDATE",
        &[&accounts],
    )?;
    let found = rows.iter().map(|row| {
        let pin = PinRow {
            pin: stored_pin(row),
            failing: row.get(5),
        };
        (row.get(4), pin)
    });
    conn.batch_mut()
        .answer(|cache| &mut cache.pins, accounts, found);
    Ok(())
}

/// Ledger accounts, locked in key order; one not made yet is `None`.
pub(crate) fn fetch_ledger(conn: &mut Conn, accounts: HashSet<LedgerAccountRef>) -> Result<()> {
    let mut accounts: Vec<LedgerAccountRef> = accounts.into_iter().collect();
    accounts.sort_unstable();
    let kinds: Vec<&str> = accounts.iter().map(|a| a.kind().as_str()).collect();
    let holders: Vec<i64> = accounts.iter().map(LedgerAccountRef::holder).collect();
    let currencies: Vec<String> = accounts
        .iter()
        .map(|a| a.currency().as_str().to_owned())
        .collect();
    let rows = conn.raw_query(
        "SELECT x.id, x.balance_minor, k.n
         FROM unnest($1::text[], $2::bigint[], $3::text[]) WITH ORDINALITY
              AS k(kind, holder, currency, n)
         CROSS JOIN LATERAL (
             SELECT id, balance_minor FROM ledger_accounts a
             WHERE a.kind = k.kind AND a.holder = k.holder AND a.currency = k.currency
             FOR NO KEY UPDATE
         ) x",
        &[&kinds, &holders, &currencies],
    )?;
    let found = rows.iter().map(|row| {
        let index = usize::try_from(row.get::<_, i64>(2) - 1).expect("ordinality from 1");
        let found = LedgerRow {
            id: row.get(0),
            balance: Tracked::new(row.get(1)),
            new: false,
        };
        (accounts[index], found)
    });
    let found: Vec<_> = found.collect();
    conn.batch_mut()
        .answer(|cache| &mut cache.ledger, accounts, found);
    Ok(())
}

/// Pay's reads and writes through the batch.
impl Conn {
    pub(crate) fn key_answer_cached(
        &mut self,
        account: i64,
        key: &str,
    ) -> Result<Option<StoredAnswer>> {
        let key = (account, key.to_owned());
        let fetched = key.clone();
        self.cached(
            |cache| cache.keys.get(&key).cloned(),
            |misses| {
                misses.keys.insert(key.clone());
            },
            |conn| fetch_keys(conn, HashSet::from([fetched])),
        )
    }

    pub(crate) fn pin_locked(&mut self, account: i64) -> Result<Option<PinRow>> {
        self.cached(
            |cache| cache.pins.get(&account).cloned(),
            |misses| {
                misses.pins.insert(account);
            },
            |conn| fetch_pins(conn, HashSet::from([account])),
        )
    }

    /// Whether the PIN's failures are already clear (nothing to write);
    /// `false` when they must be cleared by a statement of the job's own.
    pub(crate) fn pin_failures_clear(&mut self, account: i64) -> bool {
        let pins = &self.batch_mut().cache.pins;
        matches!(pins.get(&account), Some(Some(pin)) if !pin.failing)
    }

    /// The balances of `accounts` (0 for one not made yet), locked.
    pub(crate) fn ledger_rows(
        &mut self,
        accounts: &[LedgerAccountRef],
    ) -> Result<Vec<Option<LedgerRow>>> {
        let missing: HashSet<LedgerAccountRef> = {
            let ledger = &self.batch_mut().cache.ledger;
            accounts
                .iter()
                .filter(|a| !ledger.contains_key(a))
                .copied()
                .collect()
        };
        if !missing.is_empty() {
            let noted = missing.clone();
            if self
                .batch_mut()
                .missed(|misses| misses.ledger.extend(noted))?
            {
                fetch_ledger(self, missing)?;
            }
        }
        let ledger = &self.batch_mut().cache.ledger;
        accounts
            .iter()
            .map(|account| {
                ledger.get(account).copied().ok_or_else(|| {
                    Error::Engine(format!("ledger account {account:?} fetched but not cached"))
                })
            })
            .collect()
    }

    /// As `Writes::post`: balances locked, the new ones checked by the
    /// ledger's rules, then the rows kept for the flush.
    pub(crate) fn post_cached(
        &mut self,
        transaction: &Transaction,
        initiator: AccountId,
        reference: &str,
        at: Timestamp,
    ) -> Result<std::result::Result<Posted, LedgerError>> {
        let accounts: Vec<LedgerAccountRef> = transaction
            .postings()
            .iter()
            .map(|posting| posting.account())
            .collect();
        let rows = self.ledger_rows(&accounts)?;
        let balance_of = |account: &LedgerAccountRef| {
            let index = accounts.iter().position(|one| one == account);
            index
                .and_then(|index| rows[index])
                .map_or(0, |row| row.balance.now)
        };
        let changes = match transaction.balance_changes(balance_of) {
            Ok(changes) => changes,
            Err(refused) => return Ok(Err(refused)),
        };
        let made = rows.iter().filter(|row| row.is_none()).count();
        self.ids_at_hand(IdTable::LedgerAccounts, made)?;
        let transaction_id = self.next_id(IdTable::LedgerTransactions)?;
        for (change, row) in changes.iter().zip(rows) {
            let row = match row {
                Some(row) => row,
                None => LedgerRow {
                    id: self.next_id(IdTable::LedgerAccounts)?,
                    balance: Tracked::new(0),
                    new: true,
                },
            };
            let moved = LedgerRow {
                balance: Tracked {
                    stored: row.balance.stored,
                    now: change.after,
                },
                ..row
            };
            let batch = self.batch_mut();
            batch.set(|cache| &mut cache.ledger, change.account, Some(moved));
            let posting = (transaction_id, row.id, change.amount, change.after);
            batch.pending.pay.postings.push(posting);
        }
        let kind = transaction.kind().as_str();
        let pending = &mut self.batch_mut().pending.pay;
        let row = (
            transaction_id,
            kind,
            initiator.row(),
            reference.to_owned(),
            at.unix_ms(),
        );
        pending.transactions.push(row);
        Ok(Ok(Posted {
            transaction_id: TransactionId::from_row(transaction_id),
            changes,
        }))
    }

    /// Keeps a new pending transfer for the flush; its id now.
    pub(crate) fn insert_transfer_cached(
        &mut self,
        sender: AccountId,
        asked: &TransferRequest,
        at: Timestamp,
    ) -> Result<i64> {
        let id = self.next_id(IdTable::Transfers)?;
        self.batch_mut().pending.pay.transfers.push(NewTransfer {
            id,
            from: sender.row(),
            to: asked.to.row(),
            amount: asked.money.amount.get(),
            currency: asked.money.currency.as_str().to_owned(),
            note: asked.note.clone(),
            at: at.unix_ms(),
            expires_at: asked.expires_at.unix_ms(),
        });
        Ok(id)
    }

    /// Keeps a key's answer for the flush. The key is not stored yet (the
    /// job looked it up in this batch): another writer's same key, stored
    /// first, makes the flush conflict, and the job's next run replays it.
    pub(crate) fn store_key_answer_cached(
        &mut self,
        account: AccountId,
        request: &Idempotent,
        answer: &KeyAnswer,
        at: Timestamp,
    ) {
        let key = (account.row(), request.key.as_str().to_owned());
        let stored = StoredAnswer {
            request_hash: request.request_hash,
            answer: answer.clone(),
        };
        let batch = self.batch_mut();
        batch.set(|cache| &mut cache.keys, key.clone(), Some(stored));
        let row = (
            key.0,
            key.1,
            request.request_hash.to_vec(),
            encode_answer(answer),
            at.unix_ms(),
        );
        batch.pending.pay.keys.push(row);
    }
}

const FLUSH_PAY: &str = "
WITH new_accounts AS (
    INSERT INTO ledger_accounts (id, kind, holder, currency, balance_minor)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::bigint[])
    RETURNING 1
), moved_balances AS (
    UPDATE ledger_accounts a SET balance_minor = u.balance
    FROM unnest($6::bigint[], $7::bigint[], $8::bigint[]) AS u(id, expected, balance)
    WHERE a.id = u.id AND a.balance_minor = u.expected
    RETURNING 1
), new_transactions AS (
    INSERT INTO ledger_transactions (id, kind, account_id, ref, at)
    SELECT * FROM unnest($9::bigint[], $10::text[], $11::bigint[], $12::text[], $13::bigint[])
    RETURNING 1
), new_postings AS (
    INSERT INTO ledger_postings
        (transaction_id, ledger_account_id, amount_minor, balance_after_minor)
    SELECT p.t, p.a, p.amount, p.after
    FROM unnest($14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[])
         WITH ORDINALITY AS p(t, a, amount, after, n)
    ORDER BY p.n
    RETURNING 1
), new_transfers AS (
    INSERT INTO transfers
        (id, from_id, to_id, amount_minor, currency, note, status, created_at, expires_at)
    SELECT t.id, t.from_id, t.to_id, t.amount, t.currency, t.note, $27, t.at, t.expires_at
    FROM unnest($18::bigint[], $19::bigint[], $20::bigint[], $21::bigint[], $22::text[],
                $23::text[], $24::bigint[], $25::bigint[])
         AS t(id, from_id, to_id, amount, currency, note, at, expires_at)
    RETURNING 1
), new_keys AS (
    INSERT INTO idempotency_keys
        (account_id, key, request_hash, status, response_body, created_at)
    SELECT k.account_id, k.key, k.hash, $32, k.body, k.at
    FROM unnest($26::bigint[], $28::text[], $29::bytea[], $30::text[], $31::bigint[])
         AS k(account_id, key, hash, body, at)
    RETURNING 1
)
SELECT (SELECT count(*) FROM new_accounts), (SELECT count(*) FROM moved_balances),
       (SELECT count(*) FROM new_transactions), (SELECT count(*) FROM new_postings),
       (SELECT count(*) FROM new_transfers), (SELECT count(*) FROM new_keys)";

/// Writes Pay's pending rows and moved balances, if any, in one
/// statement; a balance not where it was read, or a key another writer
/// stored first, is a conflict.
pub(crate) fn flush(conn: &mut Conn) -> Result<()> {
    let batch = conn.batch_mut();
    let ledger = batch
        .cache
        .ledger
        .iter()
        .filter_map(|(key, row)| Some((key, (*row)?)));
    let (made, moved): (Vec<_>, Vec<_>) = ledger
        .filter(|(_, row)| row.new || row.balance.is_dirty())
        .partition(|(_, row)| row.new);
    let pending = std::mem::take(&mut batch.pending.pay);
    if made.is_empty() && moved.is_empty() && pending.is_empty() {
        return Ok(());
    }
    let made_ids: Vec<i64> = made.iter().map(|(_, row)| row.id).collect();
    let made_kinds: Vec<&str> = made.iter().map(|(a, _)| a.kind().as_str()).collect();
    let made_holders: Vec<i64> = made.iter().map(|(a, _)| a.holder()).collect();
    let made_currencies: Vec<String> = made
        .iter()
        .map(|(a, _)| a.currency().as_str().to_owned())
        .collect();
    let made_balances: Vec<i64> = made.iter().map(|(_, row)| row.balance.now).collect();
    let moved_ids: Vec<i64> = moved.iter().map(|(_, row)| row.id).collect();
    let moved_from: Vec<i64> = moved.iter().map(|(_, row)| row.balance.stored).collect();
    let moved_to: Vec<i64> = moved.iter().map(|(_, row)| row.balance.now).collect();
    let t = &pending.transactions;
    let t_ids: Vec<i64> = t.iter().map(|t| t.0).collect();
    let t_kinds: Vec<&str> = t.iter().map(|t| t.1).collect();
    let t_initiators: Vec<i64> = t.iter().map(|t| t.2).collect();
    let t_refs: Vec<&str> = t.iter().map(|t| t.3.as_str()).collect();
    let t_ats: Vec<i64> = t.iter().map(|t| t.4).collect();
    let p = &pending.postings;
    let p_columns: [Vec<i64>; 4] = [
        p.iter().map(|p| p.0).collect(),
        p.iter().map(|p| p.1).collect(),
        p.iter().map(|p| p.2).collect(),
        p.iter().map(|p| p.3).collect(),
    ];
    let f = &pending.transfers;
    let f_numbers: [Vec<i64>; 6] = [
        f.iter().map(|f| f.id).collect(),
        f.iter().map(|f| f.from).collect(),
        f.iter().map(|f| f.to).collect(),
        f.iter().map(|f| f.amount).collect(),
        f.iter().map(|f| f.at).collect(),
        f.iter().map(|f| f.expires_at).collect(),
    ];
    let f_currencies: Vec<&str> = f.iter().map(|f| f.currency.as_str()).collect();
    let f_notes: Vec<Option<&str>> = f.iter().map(|f| f.note.as_deref()).collect();
    let k = &pending.keys;
    let k_accounts: Vec<i64> = k.iter().map(|k| k.0).collect();
    let k_names: Vec<&str> = k.iter().map(|k| k.1.as_str()).collect();
    let k_hashes: Vec<&[u8]> = k.iter().map(|k| k.2.as_slice()).collect();
    let k_bodies: Vec<&str> = k.iter().map(|k| k.3.as_str()).collect();
    let k_ats: Vec<i64> = k.iter().map(|k| k.4).collect();
    let expected = [made.len(), moved.len(), t.len(), p.len(), f.len(), k.len()];
    let pending_code = TransferStatus::Pending.code();
    let rows = conn
        .client_query(
            FLUSH_PAY,
            &[
                &made_ids,
                &made_kinds,
                &made_holders,
                &made_currencies,
                &made_balances,
                &moved_ids,
                &moved_from,
                &moved_to,
                &t_ids,
                &t_kinds,
                &t_initiators,
                &t_refs,
                &t_ats,
                &p_columns[0],
                &p_columns[1],
                &p_columns[2],
                &p_columns[3],
                &f_numbers[0],
                &f_numbers[1],
                &f_numbers[2],
                &f_numbers[3],
                &f_currencies,
                &f_notes,
                &f_numbers[4],
                &f_numbers[5],
                &k_accounts,
                &pending_code,
                &k_names,
                &k_hashes,
                &k_bodies,
                &k_ats,
                &KEY_DONE,
            ],
        )
        .map_err(super::flush::conflict_on_raced_key)?;
    super::flush::all_written(&rows, &expected)
}
