//! What a writer's batch keeps between PostgreSQL and its jobs, so that a
//! batch of a thousand sends costs a dozen round trips, not ten thousand.
//!
//! The hot paths (a message sent: its client id looked up, the sender's
//! membership locked, the members listed, the contact checked, the seq
//! and each member's `log_seq` handed out, the message and the log
//! entries stored; a transfer: its key, the PIN, the ledger accounts, the
//! transfer's row, its posting, `pay.rs`; a red-packet claim: the packet
//! and its claims, the pot drawn from, `red_packets.rs`) read through
//! [`Cache`] and write into [`Pending`]:
//!
//! - **Reads are fetched for the whole batch at once.** A job that asks
//!   for something not cached fails with [`Error::Fetching`]; the writer
//!   then runs the jobs after it in *discovery* (their effects undone) to
//!   learn what they will ask, fetches it all in one query per kind, and
//!   runs the job again. A send needs about five such rounds, whatever
//!   the batch's size. Rows a job will change are fetched locked (`FOR NO
//!   KEY UPDATE`, as the `UPDATE` would lock them), so a seq or a
//!   `log_seq` handed out from the cache is still the next one at COMMIT,
//!   whichever other process writes the same rows.
//! - **Writes are kept until a flush writes them all** ([`flush`]: one
//!   statement for chat and the logs, one for Pay, one for claims, each
//!   only if it has something to write), before COMMIT or before any
//!   statement that is not one of these.
//! - **Any other statement runs the job *direct*:** the writer flushes
//!   what earlier jobs left, opens a savepoint for the job, and runs it
//!   again; from then on its every statement first flushes, a write also
//!   empties the cache (what it wrote may be cached), and a miss is
//!   fetched at once. Rarer jobs (a group created, a transfer accepted,
//!   a red packet sent) run so, and so does a job that has stopped
//!   more than 8 times (one looping over many rows).
//!
//! A job's changes to the cache are journaled; undoing the journal and
//! truncating what it left pending takes a job back (a refusal, a
//! discovery run) without a round trip. Invariant: every pending write is
//! to a row the cache holds, or (an emptied cart line) to a table no
//! fetch reads, so a fetch never needs a flush first.

mod fetch;
mod flush;
mod pay;
mod red_packets;
mod shops;

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use piazza_core::chat::{Membership, NewMessage};
use piazza_core::pay::wallet::{StoredAnswer, StoredPin};
use piazza_core::{Error, Result};
use piazza_domain::event::{ConversationKind, Extra, Message, stored};
use piazza_domain::ledger::LedgerAccountRef;
use piazza_domain::{AccountId, LogSeq, MessageId, Seq, Timestamp};

use crate::conn::Conn;

pub(crate) use flush::flush;
pub(crate) use shops::{OrderRow, ShopRow, VariantRow};

/// How the running job meets a miss or a statement of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A miss is noted and the job stops ([`Error::Fetching`]); so does a
    /// statement of its own, to be run again direct.
    Buffered,
    /// As `Buffered`, for a job run only to learn what it will ask.
    Discovery,
    /// The job runs in its own savepoint: a miss is fetched at once and a
    /// statement of its own runs after a flush.
    Direct,
}

/// A value as the database holds it (`stored`, as of the last fetch or
/// flush) and as the batch's jobs have made it (`now`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tracked<T> {
    pub stored: T,
    pub now: T,
}

impl<T: Copy + PartialEq> Tracked<T> {
    pub fn new(value: T) -> Tracked<T> {
        Tracked {
            stored: value,
            now: value,
        }
    }

    pub fn is_dirty(&self) -> bool {
        self.stored != self.now
    }
}

/// A conversation row, locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Conversation {
    pub kind: ConversationKind,
    pub owner: Option<AccountId>,
    pub last_seq: Tracked<i64>,
    /// Its `last_activity_at` once its seq moved in this batch.
    pub active_at: i64,
}

/// A member row, locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Member {
    pub read_seq: Tracked<i64>,
    pub from_seq: i64,
}

/// What the batch read (a `None` is an answer too: no such row).
#[derive(Default)]
pub(crate) struct Cache {
    pub conversations: HashMap<i64, Conversation>,
    /// By (conversation, account).
    pub members: HashMap<(i64, i64), Option<Member>>,
    pub member_lists: HashMap<i64, Vec<AccountId>>,
    /// By (account, contact).
    pub contacts: HashMap<(i64, i64), bool>,
    /// Whether either of a pair blocked the other, by (lower, higher) id.
    pub blocks: HashMap<(i64, i64), bool>,
    /// Direct conversations by their pair's key.
    pub directs: HashMap<String, Option<i64>>,
    /// A sender's message by client id, as `message_by_client_id` finds it.
    pub sent: HashMap<(i64, String), Option<Message>>,
    /// Each account's `log_head`, locked.
    pub heads: HashMap<i64, Option<Tracked<i64>>>,
    /// Idempotency keys' final answers, by (account, key).
    pub keys: HashMap<(i64, String), Option<StoredAnswer>>,
    /// Payment PINs, locked.
    pub pins: HashMap<i64, Option<PinRow>>,
    /// Ledger accounts, locked; `None`: not made yet.
    pub ledger: HashMap<LedgerAccountRef, Option<LedgerRow>>,
    /// Red packets, locked, with their claims.
    pub packets: HashMap<i64, Option<red_packets::PacketRow>>,
    /// The members of a packet's conversation, read with the packet but
    /// without locking the conversation: for a claim's visibility only.
    pub packet_audiences: HashMap<i64, Vec<AccountId>>,
    /// Whether (device, token hash) is a live session: a remembered
    /// session checked again (`piazza_core::accounts::Caller`).
    pub sessions: HashMap<(i64, [u8; 32]), bool>,
    /// Shops with their staff (not locked).
    pub shops: HashMap<i64, Option<ShopRow>>,
    /// Variants, read or locked (`VariantRow::locked`).
    pub variants: HashMap<i64, Option<VariantRow>>,
    /// Products (not locked).
    pub products: HashMap<i64, Option<piazza_core::shops::Product>>,
    /// Orders, locked (or placed by this batch).
    pub orders: HashMap<i64, Option<OrderRow>>,
    /// Ids at hand (kept across batches: they are the identities', not
    /// the transaction's).
    pub ids: Ids,
}

/// A payment PIN's row, locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PinRow {
    pub pin: StoredPin,
    /// Failures are counted or a lock set: a right PIN clears them.
    pub failing: bool,
}

/// A ledger account's row, locked (or made by this batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LedgerRow {
    pub id: i64,
    pub balance: Tracked<i64>,
    /// Made by this batch and not written yet.
    pub new: bool,
}

impl Cache {
    /// `account`'s membership of `conversation`, if the cache knows.
    pub fn membership(&self, conversation: i64, account: i64) -> Option<Option<Membership>> {
        let Some(member) = self.members.get(&(conversation, account))? else {
            return Some(None);
        };
        let found = self.conversations.get(&conversation)?;
        Some(Some(Membership {
            kind: found.kind,
            owner: found.owner,
            last_seq: Seq::from_store(found.last_seq.now),
            read_seq: Seq::from_store(member.read_seq.now),
            from_seq: Seq::from_store(member.from_seq),
        }))
    }
}

/// A message to insert.
pub(crate) struct NewMessageRow {
    pub id: i64,
    pub conversation: i64,
    pub seq: i64,
    pub sender: i64,
    pub client_msg_id: String,
    pub text: String,
    pub sent_at: i64,
    pub kind: Option<String>,
    pub reference: Option<String>,
    /// The JSON of its extra.
    pub extra: Option<String>,
}

/// A log entry to insert.
pub(crate) struct NewEntryRow {
    pub account: i64,
    pub log_seq: i64,
    pub at: i64,
    pub message: Option<i64>,
    pub data: Option<String>,
}

/// Rows waiting for the next flush; the changed values wait in the
/// cache (its dirty [`Tracked`]s).
#[derive(Default)]
pub(crate) struct Pending {
    pub messages: Vec<NewMessageRow>,
    pub entries: Vec<NewEntryRow>,
    pub pay: pay::PendingPay,
    pub claims: Vec<red_packets::NewClaim>,
    /// Cart lines to delete: (account, variant).
    pub carts: Vec<(i64, i64)>,
}

/// What the batch's jobs asked for and the cache did not hold.
#[derive(Default)]
pub(crate) struct Misses {
    pub sent: HashSet<(i64, String)>,
    pub memberships: HashSet<(i64, i64)>,
    pub member_lists: HashSet<i64>,
    pub contacts: HashSet<(i64, i64)>,
    pub blocks: HashSet<(i64, i64)>,
    pub directs: HashSet<String>,
    pub heads: HashSet<i64>,
    pub ids: HashSet<IdTable>,
    pub keys: HashSet<(i64, String)>,
    pub pins: HashSet<i64>,
    pub ledger: HashSet<LedgerAccountRef>,
    pub packets: HashSet<i64>,
    pub sessions: HashSet<(i64, [u8; 32])>,
    pub shops: HashSet<i64>,
    /// Variants to lock; `variant_reads`, to read.
    pub variants: HashSet<i64>,
    pub variant_reads: HashSet<i64>,
    pub products: HashSet<i64>,
    pub orders: HashSet<i64>,
    /// The job runs a statement of its own: run it again direct.
    pub direct: bool,
}

impl Misses {
    pub fn is_empty(&self) -> bool {
        self.sent.is_empty()
            && self.memberships.is_empty()
            && self.member_lists.is_empty()
            && self.contacts.is_empty()
            && self.blocks.is_empty()
            && self.directs.is_empty()
            && self.heads.is_empty()
            && self.ids.is_empty()
            && self.keys.is_empty()
            && self.pins.is_empty()
            && self.ledger.is_empty()
            && self.packets.is_empty()
            && self.sessions.is_empty()
            && self.shops.is_empty()
            && self.variants.is_empty()
            && self.variant_reads.is_empty()
            && self.products.is_empty()
            && self.orders.is_empty()
    }
}

/// Where a job (or a refusable part of one) started, to take it back.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    journal: usize,
    messages: usize,
    entries: usize,
    pay: pay::PayMark,
    claims: usize,
    carts: usize,
}

type Undo = Box<dyn FnOnce(&mut Cache) + Send>;

/// A writer's state for one batch (kept, emptied, for the next).
pub(crate) struct Batch {
    pub mode: Mode,
    pub cache: Cache,
    pub pending: Pending,
    pub misses: Misses,
    journal: Vec<Undo>,
    /// The running job's place in the batch, and the ids it took in this
    /// run, by table.
    job: usize,
    taken: HashMap<IdTable, usize>,
    /// The ids each job was handed, by (job, table): a job run again (in
    /// discovery, after a fetch) is handed the same ones, so that what it
    /// asks for the second time is what discovery fetched for it (a
    /// transfer's in-flight ledger account is named by the transfer's id).
    handed: HashMap<(usize, IdTable), Vec<i64>>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch {
            mode: Mode::Buffered,
            cache: Cache::default(),
            pending: Pending::default(),
            misses: Misses::default(),
            journal: Vec::new(),
            job: 0,
            taken: HashMap::new(),
            handed: HashMap::new(),
        }
    }

    /// Forgets everything but the ids at hand: a batch that rolled
    /// back, or a new one. Orders' ids are dropped too: lists page
    /// orders newest first by id, so a batch takes a block of its own
    /// rather than the rest of one a writer took minutes ago (which, with
    /// two writers, would number a later order below an earlier one).
    pub fn reset(&mut self) {
        let mut ids = std::mem::take(&mut self.cache.ids);
        ids.next.remove(&IdTable::Orders);
        *self = Batch::new();
        self.cache.ids = ids;
    }

    /// The `job`th job of the batch starts a run here: only its own
    /// changes are journaled from now.
    pub fn start_job(&mut self, mode: Mode, job: usize) -> Mark {
        self.mode = mode;
        self.journal.clear();
        self.job = job;
        self.taken.clear();
        self.mark()
    }

    pub fn mark(&self) -> Mark {
        Mark {
            journal: self.journal.len(),
            messages: self.pending.messages.len(),
            entries: self.pending.entries.len(),
            pay: self.pending.pay.mark(),
            claims: self.pending.claims.len(),
            carts: self.pending.carts.len(),
        }
    }

    /// Takes back what was cached and left pending since `mark`.
    pub fn undo(&mut self, mark: Mark) {
        while self.journal.len() > mark.journal {
            let undo = self.journal.pop().expect("journal longer than its mark");
            undo(&mut self.cache);
        }
        self.pending.messages.truncate(mark.messages);
        self.pending.entries.truncate(mark.entries);
        self.pending.pay.truncate(mark.pay);
        self.pending.claims.truncate(mark.claims);
        self.pending.carts.truncate(mark.carts);
    }

    /// A statement of the job's own is about to run (after a flush): from
    /// here the pending rows and the journal start again.
    pub fn flushed(&mut self) {
        debug_assert!(self.pending.messages.is_empty() && self.pending.entries.is_empty());
        debug_assert!(self.pending.pay.is_empty() && self.pending.claims.is_empty());
        debug_assert!(self.pending.carts.is_empty());
        for conversation in self.cache.conversations.values_mut() {
            conversation.last_seq.stored = conversation.last_seq.now;
        }
        for member in self.cache.members.values_mut().flatten() {
            member.read_seq.stored = member.read_seq.now;
        }
        for head in self.cache.heads.values_mut().flatten() {
            head.stored = head.now;
        }
        for row in self.cache.ledger.values_mut().flatten() {
            row.balance.stored = row.balance.now;
            row.new = false;
        }
        for row in self.cache.packets.values_mut().flatten() {
            row.stored = red_packets::PacketRow::pot(row);
        }
        for row in self.cache.variants.values_mut().flatten() {
            row.stored = row.stock();
        }
        for row in self.cache.orders.values_mut().flatten() {
            row.new = false;
            row.dirty = false;
        }
    }

    /// After a write of the job's own: what it wrote may be cached. Only
    /// once flushed (nothing dirty); the journal can still restore what
    /// the job changed, should its savepoint roll back.
    pub fn forget_reads(&mut self) {
        let ids = std::mem::take(&mut self.cache.ids);
        self.cache = Cache {
            ids,
            ..Cache::default()
        };
    }

    /// The next id of `table` for the running job: the one an earlier
    /// run of it was handed, else a new one.
    pub fn take_id(&mut self, table: IdTable) -> Option<i64> {
        let nth = self.taken.entry(table).or_default();
        let handed = self.handed.entry((self.job, table)).or_default();
        if let Some(id) = handed.get(*nth) {
            *nth += 1;
            return Some(*id);
        }
        let id = self.cache.ids.take(table)?;
        handed.push(id);
        *nth += 1;
        Some(id)
    }

    /// Ids at hand for the running job: those handed to it before and not
    /// taken yet in this run, and the pool's.
    pub fn ids_available(&self, table: IdTable) -> usize {
        let handed = self.handed.get(&(self.job, table)).map_or(0, Vec::len);
        let taken = self.taken.get(&table).copied().unwrap_or(0);
        handed.saturating_sub(taken) + self.cache.ids.available(table)
    }

    /// Sets `map[key]`, journaled.
    pub fn set<K, V>(&mut self, pick: fn(&mut Cache) -> &mut HashMap<K, V>, key: K, value: V)
    where
        K: Hash + Eq + Clone + Send + 'static,
        V: Send + 'static,
    {
        let old = pick(&mut self.cache).insert(key.clone(), value);
        self.journal.push(Box::new(move |cache| {
            let map = pick(cache);
            match old {
                Some(old) => map.insert(key, old),
                None => map.remove(&key),
            };
        }));
    }

    /// Caches what a fetch of `keys` found (`found`) and that the rest
    /// are not there. A key the cache already answers keeps its answer: it
    /// may be ahead of the database's (pending).
    pub fn answer<K, V>(
        &mut self,
        pick: fn(&mut Cache) -> &mut HashMap<K, Option<V>>,
        keys: impl IntoIterator<Item = K>,
        found: impl IntoIterator<Item = (K, V)>,
    ) where
        K: Hash + Eq + Clone + Send + 'static,
        V: Send + 'static,
    {
        for (key, value) in found {
            if matches!(pick(&mut self.cache).get(&key), None | Some(None)) {
                self.set(pick, key, Some(value));
            }
        }
        for key in keys {
            if !pick(&mut self.cache).contains_key(&key) {
                self.set(pick, key, None);
            }
        }
    }

    /// A miss: `Err(Fetching)` after noting it, unless the job runs
    /// direct (`Ok(true)`: fetch it now).
    pub fn missed(&mut self, note: impl FnOnce(&mut Misses)) -> Result<bool> {
        if self.mode == Mode::Direct {
            return Ok(true);
        }
        note(&mut self.misses);
        Err(Error::Fetching)
    }
}

/// A table whose ids the batch hands out before writing its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum IdTable {
    Messages,
    Transfers,
    LedgerTransactions,
    LedgerAccounts,
    Orders,
}

impl IdTable {
    pub fn name(self) -> &'static str {
        match self {
            IdTable::Messages => "messages",
            IdTable::Transfers => "transfers",
            IdTable::LedgerTransactions => "ledger_transactions",
            IdTable::LedgerAccounts => "ledger_accounts",
            IdTable::Orders => "orders",
        }
    }
}

/// Ids handed out ahead by each table's identity, so that a row's id is
/// known before the row is written. Ids are unique, not gapless: those a
/// rolled-back batch took are not used again.
#[derive(Default)]
pub(crate) struct Ids {
    next: HashMap<IdTable, Vec<i64>>,
}

impl Ids {
    /// How many to take at once.
    pub const BLOCK: i64 = 256;

    pub fn available(&self, table: IdTable) -> usize {
        self.next.get(&table).map_or(0, Vec::len)
    }

    pub fn take(&mut self, table: IdTable) -> Option<i64> {
        self.next.get_mut(&table)?.pop()
    }

    pub fn refill(&mut self, table: IdTable, mut ids: Vec<i64>) {
        ids.reverse();
        let pool = self.next.entry(table).or_default();
        ids.append(pool);
        *pool = ids;
    }
}

impl Conn {
    /// Fetches what the batch's jobs missed, one query per kind, and
    /// caches it. Between jobs the journal entries this leaves are
    /// dropped when the next job starts; a direct job's own fetches must
    /// stay journaled (`Batch::set`), since rolling back to its savepoint
    /// releases the locks they took.
    pub(crate) fn fetch_misses(&mut self) -> Result<()> {
        let misses = std::mem::take(&mut self.batch_mut().misses);
        fetch::all(self, misses)
    }

    pub(crate) fn batch_mut(&mut self) -> &mut Batch {
        self.batch
            .as_mut()
            .expect("a writer's connection has a batch")
    }
}

/// The hot paths' reads and writes, through the batch.
impl Conn {
    /// What `look` finds in the cache; on a miss, noted (the job stops)
    /// or, direct, fetched now.
    fn cached<T>(
        &mut self,
        look: impl Fn(&Cache) -> Option<T>,
        note: impl FnOnce(&mut Misses),
        fetch: impl FnOnce(&mut Conn) -> Result<()>,
    ) -> Result<T> {
        if let Some(found) = look(&self.batch_mut().cache) {
            return Ok(found);
        }
        if self.batch_mut().missed(note)? {
            fetch(self)?;
        }
        look(&self.batch_mut().cache)
            .ok_or_else(|| Error::Engine("a row just fetched is not in the batch".into()))
    }

    /// The message `sender` sent with `client_msg_id` (not one the server
    /// posted for money), pending or stored.
    pub(crate) fn sent_message(
        &mut self,
        sender: i64,
        client_msg_id: &str,
    ) -> Result<Option<Message>> {
        let key = (sender, client_msg_id.to_owned());
        let fetched = key.clone();
        self.cached(
            |cache| cache.sent.get(&key).cloned(),
            |misses| {
                misses.sent.insert(key.clone());
            },
            |conn| fetch::sent(conn, HashSet::from([fetched])),
        )
    }

    /// `account`'s membership of `conversation`, both rows locked.
    pub(crate) fn locked_membership(
        &mut self,
        conversation: i64,
        account: i64,
    ) -> Result<Option<Membership>> {
        let key = (conversation, account);
        self.cached(
            |cache| cache.membership(conversation, account),
            |misses| {
                misses.memberships.insert(key);
            },
            |conn| fetch::memberships(conn, HashSet::from([key])),
        )
    }

    pub(crate) fn member_list(&mut self, conversation: i64) -> Result<Vec<AccountId>> {
        self.cached(
            |cache| cache.member_lists.get(&conversation).cloned(),
            |misses| {
                misses.member_lists.insert(conversation);
            },
            |conn| fetch::member_lists(conn, HashSet::from([conversation])),
        )
    }

    /// Whether a remembered session stands. In discovery a miss is noted
    /// and answered "yes": the answer only refuses the job, so the job goes
    /// on to tell its other misses in the same round.
    pub(crate) fn session_stands(&mut self, device: i64, token_hash: [u8; 32]) -> Result<bool> {
        let key = (device, token_hash);
        let batch = self.batch_mut();
        if batch.mode == Mode::Discovery && !batch.cache.sessions.contains_key(&key) {
            batch.misses.sessions.insert(key);
            return Ok(true);
        }
        self.cached(
            |cache| cache.sessions.get(&key).copied(),
            |misses| {
                misses.sessions.insert(key);
            },
            |conn| fetch::sessions(conn, HashSet::from([key])),
        )
    }

    pub(crate) fn contact_of(&mut self, account: i64, contact: i64) -> Result<bool> {
        let key = (account, contact);
        self.cached(
            |cache| cache.contacts.get(&key).copied(),
            |misses| {
                misses.contacts.insert(key);
            },
            |conn| fetch::contacts(conn, HashSet::from([key])),
        )
    }

    /// Whether either of `one` and `other` blocked the other.
    pub(crate) fn blocked_between(&mut self, one: i64, other: i64) -> Result<bool> {
        let key = (one.min(other), one.max(other));
        self.cached(
            |cache| cache.blocks.get(&key).copied(),
            |misses| {
                misses.blocks.insert(key);
            },
            |conn| fetch::blocks(conn, HashSet::from([key])),
        )
    }

    /// The direct conversation keyed `key` (`chat::direct_key`).
    pub(crate) fn direct_cached(&mut self, key: String) -> Result<Option<i64>> {
        let fetched = key.clone();
        self.cached(
            |cache| cache.directs.get(&key).copied(),
            |misses| {
                misses.directs.insert(key.clone());
            },
            |conn| fetch::directs(conn, HashSet::from([fetched])),
        )
    }

    /// `account`'s log head, locked; `None`: no such account.
    pub(crate) fn log_head_locked(&mut self, account: i64) -> Result<Option<Tracked<i64>>> {
        self.cached(
            |cache| cache.heads.get(&account).copied(),
            |misses| {
                misses.heads.insert(account);
            },
            |conn| fetch::heads(conn, HashSet::from([account])),
        )
    }

    /// Fetches and locks every one of `accounts`' log heads the cache
    /// lacks, in one round: a miss names them all, so a message to a group
    /// of 500 stops once for its heads rather than once per member.
    pub(crate) fn log_heads_locked(&mut self, accounts: &[i64]) -> Result<()> {
        let cache = &self.batch_mut().cache;
        let missing: HashSet<i64> = accounts
            .iter()
            .copied()
            .filter(|account| !cache.heads.contains_key(account))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let noted = missing.clone();
        if self
            .batch_mut()
            .missed(|misses| misses.heads.extend(noted))?
        {
            fetch::heads(self, missing)?;
        }
        Ok(())
    }

    /// Makes sure `count` ids of `table` are at hand (a miss if not).
    pub(crate) fn ids_at_hand(&mut self, table: IdTable, count: usize) -> Result<()> {
        if self.batch_mut().ids_available(table) >= count {
            return Ok(());
        }
        if self.batch_mut().missed(|misses| {
            misses.ids.insert(table);
        })? {
            fetch::ids(self, table)?;
        }
        if self.batch_mut().ids_available(table) < count {
            let name = table.name();
            return Err(Error::Engine(format!("no {name} ids were handed out")));
        }
        Ok(())
    }

    /// The id the next row of `table` will have.
    pub(crate) fn next_id(&mut self, table: IdTable) -> Result<i64> {
        self.ids_at_hand(table, 1)?;
        Ok(self.batch_mut().take_id(table).expect("an id at hand"))
    }
}

/// The hot paths' writes, kept until the flush.
impl Conn {
    /// Moves a cached conversation's seq past `last_seq` (what its locked
    /// membership read); `None` if the batch does not hold the row.
    pub(crate) fn next_seq(
        &mut self,
        conversation: i64,
        last_seq: i64,
        at: Timestamp,
    ) -> Result<Option<i64>> {
        let batch = self.batch_mut();
        let Some(mut found) = batch.cache.conversations.get(&conversation).copied() else {
            return Ok(None);
        };
        if found.last_seq.now != last_seq {
            return Err(Error::Conflict(format!(
                "cnv_{conversation}'s last_seq moved from {last_seq} in this transaction"
            )));
        }
        found.last_seq.now += 1;
        found.active_at = at.unix_ms();
        batch.set(|cache| &mut cache.conversations, conversation, found);
        Ok(Some(found.last_seq.now))
    }

    /// Keeps `message` for the flush, with an id handed out now.
    pub(crate) fn insert_message(&mut self, message: &NewMessage<'_>) -> Result<i64> {
        let id = self.next_id(IdTable::Messages)?;
        let (kind, reference) = (message.kind, message.reference);
        let row = NewMessageRow {
            id,
            conversation: message.conversation.row(),
            seq: message.seq.get(),
            sender: message.sender.row(),
            client_msg_id: message.client_msg_id.as_str().to_owned(),
            text: message.text.as_str().to_owned(),
            sent_at: message.sent_at.unix_ms(),
            kind: kind.map(str::to_owned),
            reference: reference.map(str::to_owned),
            extra: stored::Extra::to_json(message.extra),
        };
        let batch = self.batch_mut();
        // As `message_by_client_id` will find it (money's are not found).
        if !matches!(kind, Some("transfer" | "red_packet")) {
            let found = Message {
                message_id: MessageId::from_row(id),
                conversation_id: message.conversation,
                seq: message.seq,
                sender: message.sender,
                client_msg_id: message.client_msg_id.clone(),
                text: message.text.clone(),
                sent_at: message.sent_at,
                kind: row.kind.clone(),
                reference: row.reference.clone(),
                recalled: None,
                extra: message.extra.cloned().and_then(Extra::boxed),
            };
            let key = (row.sender, row.client_msg_id.clone());
            batch.set(|cache| &mut cache.sent, key, Some(found));
        }
        batch.pending.messages.push(row);
        Ok(id)
    }

    /// Moves a cached member's read position; `false` if the batch does
    /// not hold the row.
    pub(crate) fn set_read_seq(&mut self, conversation: i64, account: i64, seq: i64) -> bool {
        let batch = self.batch_mut();
        let Some(Some(mut member)) = batch.cache.members.get(&(conversation, account)).copied()
        else {
            return false;
        };
        member.read_seq.now = seq;
        batch.set(
            |cache| &mut cache.members,
            (conversation, account),
            Some(member),
        );
        true
    }

    /// Appends an entry to `account`'s log at the next `log_seq` of its
    /// locked head, kept for the flush.
    pub(crate) fn append_entry(
        &mut self,
        account: AccountId,
        message: Option<i64>,
        data: Option<String>,
        at: Timestamp,
    ) -> Result<LogSeq> {
        let Some(mut head) = self.log_head_locked(account.row())? else {
            return Err(Error::missing(account));
        };
        head.now += 1;
        let batch = self.batch_mut();
        batch.set(|cache| &mut cache.heads, account.row(), Some(head));
        batch.pending.entries.push(NewEntryRow {
            account: account.row(),
            log_seq: head.now,
            at: at.unix_ms(),
            message,
            data,
        });
        Ok(LogSeq::from_stored(head.now))
    }
}
