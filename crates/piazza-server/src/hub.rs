//! The live hub: which devices are online, and a bounded queue to each.
//!
//! After each commit the writer hands its notices here. Each log entry is
//! encoded to JSON once and `try_send`-ed to every live subscriber of its
//! account. A subscriber whose queue is full is dropped from the hub and
//! told to close ("queue overflow"); its device reconnects and replays from
//! its cursor. The log, not the hub, is the source of truth, so a dropped
//! push loses nothing, and no queue grows without bound.
//!
//! Beside the log's events the hub carries **ephemeral** ones (typing),
//! which are never stored: each socket has a second, small queue for them,
//! and one that is full drops them (an indicator that comes late is worth
//! nothing), so they can never close a socket nor hold back its log.
//!
//! On a cluster (`cluster.rs`) the hub also hands what it was told to the
//! **relay**, which tells the other nodes, and takes what they were told
//! (`deliver_*`). A socket that sees a gap, or is **nudged** (the bus was
//! down, or came back), reads what it missed from the store: the log, not
//! the bus, decides what a device gets.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use piazza_domain::event::{Event, LogEntry, Notice};
use piazza_domain::store::NoticeSink;
use piazza_domain::{AccountId, ConversationId, DeviceId, LogSeq};
use tokio::sync::{Notify, mpsc, watch};

use crate::config::Limits;
use crate::events;

/// An event ready to send: its position and its JSON, shared by every
/// device of the account.
#[derive(Debug)]
pub struct Pushed {
    pub seq: LogSeq,
    pub json: Utf8Bytes,
}

/// Why the hub ended a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    Overflow,
    Revoked,
    ShuttingDown,
}

impl CloseReason {
    /// WebSocket close code and reason text.
    pub fn close_frame(self) -> (u16, &'static str) {
        match self {
            CloseReason::Overflow => (4008, "queue overflow: reconnect and sync from your cursor"),
            CloseReason::Revoked => (4001, "device revoked"),
            CloseReason::ShuttingDown => (
                1001,
                "server shutting down: reconnect and sync from your cursor",
            ),
        }
    }
}

/// A socket's queue overflows into a disconnect; a long-poll waiter's only
/// needs to learn that something arrived, so a full queue is fine for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Socket,
    Waiter,
}

/// Ephemeral events one socket may hold unsent; past them, new ones drop.
const EPHEMERAL_QUEUE_LEN_MAX: usize = 64;
/// How long a conversation's members are remembered for ephemeral events
/// when no membership change of it passes through this hub (one made by
/// another process on the same database).
const AUDIENCE_TTL: Duration = Duration::from_secs(30);
/// Conversations whose members are remembered at once; past it, all are
/// forgotten.
const AUDIENCES_MAX: usize = 100_000;

/// Who a conversation's ephemeral events go to: its members, ordered by
/// id, and whether it is a direct conversation (where a block between the
/// two is checked on each event, as it changes no membership).
#[derive(Debug, Clone)]
pub struct Audience {
    pub direct: bool,
    pub members: Arc<[AccountId]>,
}

pub struct Subscriber {
    id: u64,
    device: DeviceId,
    kind: Kind,
    queue: mpsc::Sender<Arc<Pushed>>,
    /// Ephemeral events (a socket's only).
    ephemeral: mpsc::Sender<Utf8Bytes>,
    reason: OnceLock<CloseReason>,
    closed: Notify,
}

impl Subscriber {
    fn close(&self, reason: CloseReason) {
        let _ = self.reason.set(reason);
        self.closed.notify_one();
    }
}

/// The receiving end a connection holds. Dropping it unsubscribes.
pub struct Subscription {
    hub: Arc<Hub>,
    account: AccountId,
    subscriber: Arc<Subscriber>,
    pub queue: mpsc::Receiver<Arc<Pushed>>,
    pub ephemeral: mpsc::Receiver<Utf8Bytes>,
    /// Changes when what was pushed may have missed something (see
    /// [`Hub::nudge`]): the holder reads the log after its cursor.
    pub nudges: watch::Receiver<u64>,
    /// The account's first socket here: decided under the hub's lock, so
    /// of two sockets opening at once exactly one is first.
    pub first: bool,
}

impl Subscription {
    /// A handle that resolves once the hub ends this subscription.
    pub fn close_signal(&self) -> CloseSignal {
        CloseSignal(Arc::clone(&self.subscriber))
    }
}

pub struct CloseSignal(Arc<Subscriber>);

impl CloseSignal {
    /// Why the subscription was ended, if it has been.
    pub fn reason(&self) -> Option<CloseReason> {
        self.0.reason.get().copied()
    }

    /// Resolves once the hub has ended the subscription, with why.
    pub async fn closed(&self) -> CloseReason {
        self.0.closed.notified().await;
        self.0
            .reason
            .get()
            .copied()
            .unwrap_or(CloseReason::ShuttingDown)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.remove(self.account, self.subscriber.id);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("the server holds its maximum of {0} sockets")]
    ServerFull(usize),
    #[error("this account holds its maximum of {0} sockets")]
    AccountFull(usize),
}

pub struct Hub {
    accounts: RwLock<HashMap<AccountId, Vec<Arc<Subscriber>>>>,
    next_id: AtomicU64,
    sockets: AtomicU64,
    sockets_max: usize,
    sockets_per_account_max: usize,
    socket_queue_len_max: usize,
    shutting_down: Mutex<bool>,
    /// Conversations' members as last read, for ephemeral events; each
    /// membership change this hub is notified of forgets its conversation.
    audiences: Mutex<HashMap<ConversationId, (Instant, Audience)>>,
    /// Moved by every membership change the hub is notified of.
    audience_epoch: AtomicU64,
    /// Where what this node was told goes for the other nodes; unset on a
    /// node alone.
    relay: OnceLock<mpsc::Sender<Relayed>>,
    /// What the relay could not take since the relay last asked.
    relay_drops: AtomicU64,
    nudges: watch::Sender<u64>,
    /// The accounts with a socket on each other node, as it last said.
    elsewhere: Mutex<HashMap<u64, Elsewhere>>,
    /// Nodes gone silent, and since when (`forget_silent_nodes`).
    departed: Mutex<HashMap<u64, Instant>>,
    /// Poked by each log entry committed here or told by another node:
    /// what search's indexer waits on once it has caught up.
    logged: tokio::sync::Notify,
}

/// What another node said of itself.
#[derive(Debug, Clone)]
pub struct Elsewhere {
    pub heard: Instant,
    pub accounts: HashSet<AccountId>,
    /// Its own account of itself (`None` until its first snapshot).
    pub about: Option<NodeAbout>,
}

/// A node as it describes itself to the others, every
/// [`HOLDING_EVERY`]: where it listens, since when, and its sockets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeAbout {
    pub listen: String,
    pub started_at_ms: i64,
    pub sockets: u64,
    pub version: String,
}

/// How often a node tells the others which accounts it holds sockets of.
pub const HOLDING_EVERY: Duration = Duration::from_secs(2);
/// A node not heard from for this long holds nothing (it died, or the bus
/// is down): its accounts are no longer online through it.
pub const ELSEWHERE_TTL: Duration = Duration::from_secs(6);
/// How long a node gone silent keeps this node's sockets reading the
/// store once a second (as while the bus is down).
pub const DEPARTED_WATCH: Duration = Duration::from_secs(60);
/// How long a node gone silent is remembered, to tell its accounts online
/// again if it is heard again (a partition healed).
pub const DEPARTED_REMEMBERED: Duration = Duration::from_secs(3600);

/// What this hub hands the relay for the other nodes: the notices of a
/// commit as the writer gave them (the relay encodes them off the
/// writer's thread), or an ephemeral event.
pub enum Relayed {
    Notices(Vec<Notice>),
    /// `account`'s first socket here opened, or its last closed.
    Here {
        account: AccountId,
        here: bool,
    },
    /// Accounts with a socket here, and this node's own account; `fresh`
    /// for the first part of one snapshot.
    Holding {
        accounts: Vec<AccountId>,
        about: NodeAbout,
        fresh: bool,
    },
    Ephemeral {
        accounts: Vec<AccountId>,
        except: AccountId,
        json: Utf8Bytes,
    },
}

/// Relayed items a node holds while the relay is behind; past them the
/// hub drops what it relays (the other nodes' sockets catch up from the
/// store at the next gap or nudge).
pub const RELAY_QUEUE_LEN_MAX: usize = 4096;

impl Hub {
    pub fn new(limits: &Limits) -> Arc<Hub> {
        assert!(
            limits.socket_queue_len_max > 0,
            "a socket queue holds at least one event"
        );
        Arc::new(Hub {
            accounts: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            sockets: AtomicU64::new(0),
            sockets_max: limits.sockets_max,
            sockets_per_account_max: limits.sockets_per_account_max,
            socket_queue_len_max: limits.socket_queue_len_max,
            shutting_down: Mutex::new(false),
            audiences: Mutex::new(HashMap::new()),
            audience_epoch: AtomicU64::new(0),
            relay: OnceLock::new(),
            relay_drops: AtomicU64::new(0),
            nudges: watch::Sender::new(0),
            elsewhere: Mutex::new(HashMap::new()),
            departed: Mutex::new(HashMap::new()),
            logged: tokio::sync::Notify::new(),
        })
    }

    /// Until something is logged here or told by another node (once
    /// since the last call: a poke while no one waits is kept).
    pub async fn something_logged(&self) {
        self.logged.notified().await;
    }

    /// Wakes whoever waits on `something_logged`.
    pub(crate) fn note_logged(&self) {
        self.logged.notify_one();
    }

    /// From now on, what this hub is told is also handed to `relay` (set
    /// once, as the node joins the bus, before it serves a request).
    pub fn relay_to(&self, relay: mpsc::Sender<Relayed>) {
        assert!(self.relay.set(relay).is_ok(), "a hub relays to one place");
    }

    pub fn relay(&self, relayed: impl FnOnce() -> Relayed) {
        if let Some(relay) = self.relay.get()
            && relay.try_send(relayed()).is_err()
        {
            self.relay_drops.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("piazza_cluster_relay_dropped_total").increment(1);
        }
    }

    /// How many relayed items were dropped since this was last asked.
    pub fn take_relay_drops(&self) -> u64 {
        self.relay_drops.swap(0, Ordering::Relaxed)
    }

    /// Tells every socket and waiter here that pushes may have missed
    /// something: each reads its account's log after its cursor.
    pub fn nudge(&self) {
        self.nudges.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn subscribe(
        self: &Arc<Self>,
        account: AccountId,
        device: DeviceId,
        kind: Kind,
    ) -> Result<Subscription, SubscribeError> {
        let capacity = match kind {
            Kind::Socket => self.socket_queue_len_max,
            Kind::Waiter => 1,
        };
        let (sender, receiver) = mpsc::channel(capacity);
        let ephemeral_capacity = match kind {
            Kind::Socket => EPHEMERAL_QUEUE_LEN_MAX,
            Kind::Waiter => 1,
        };
        let (ephemeral, ephemeral_receiver) = mpsc::channel(ephemeral_capacity);
        let subscriber = Arc::new(Subscriber {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            device,
            kind,
            queue: sender,
            ephemeral,
            reason: OnceLock::new(),
            closed: Notify::new(),
        });
        let mut first = false;
        {
            let mut accounts = self.accounts.write().expect("hub lock");
            if kind == Kind::Socket {
                if self.sockets.load(Ordering::Relaxed) as usize >= self.sockets_max {
                    return Err(SubscribeError::ServerFull(self.sockets_max));
                }
                let held = accounts.get(&account).map_or(0, |list| {
                    list.iter().filter(|s| s.kind == Kind::Socket).count()
                });
                if held >= self.sockets_per_account_max {
                    return Err(SubscribeError::AccountFull(self.sockets_per_account_max));
                }
                first = held == 0;
                self.sockets.fetch_add(1, Ordering::Relaxed);
                metrics::gauge!("piazza_sockets_connected").increment(1.0);
            }
            accounts
                .entry(account)
                .or_default()
                .push(Arc::clone(&subscriber));
        }
        if *self.shutting_down.lock().expect("hub lock") {
            subscriber.close(CloseReason::ShuttingDown);
        }
        if first {
            self.relay(|| Relayed::Here {
                account,
                here: true,
            });
        }
        Ok(Subscription {
            hub: Arc::clone(self),
            account,
            subscriber,
            queue: receiver,
            ephemeral: ephemeral_receiver,
            nudges: self.nudges.subscribe(),
            first,
        })
    }

    fn remove(&self, account: AccountId, id: u64) {
        let mut last_socket = false;
        {
            let mut accounts = self.accounts.write().expect("hub lock");
            if let Some(list) = accounts.get_mut(&account) {
                if let Some(index) = list.iter().position(|s| s.id == id) {
                    let removed = list.swap_remove(index);
                    if removed.kind == Kind::Socket {
                        self.sockets.fetch_sub(1, Ordering::Relaxed);
                        metrics::gauge!("piazza_sockets_connected").decrement(1.0);
                        last_socket = !list.iter().any(|s| s.kind == Kind::Socket);
                    }
                }
                if list.is_empty() {
                    accounts.remove(&account);
                }
            }
        }
        if last_socket {
            self.relay(|| Relayed::Here {
                account,
                here: false,
            });
        }
    }

    /// Every account with a socket here.
    pub fn accounts_with_sockets(&self) -> Vec<AccountId> {
        let accounts = self.accounts.read().expect("hub lock");
        accounts
            .iter()
            .filter(|(_, list)| list.iter().any(|s| s.kind == Kind::Socket))
            .map(|(account, _)| *account)
            .collect()
    }

    /// Another node's first socket of `account` opened, or its last
    /// closed.
    pub fn held_elsewhere(&self, node: u64, account: AccountId, here: bool) {
        let mut elsewhere = self.elsewhere.lock().expect("hub lock");
        let held = elsewhere.entry(node).or_insert_with(|| Elsewhere {
            heard: Instant::now(),
            accounts: HashSet::new(),
            about: None,
        });
        held.heard = Instant::now();
        if here {
            held.accounts.insert(account);
        } else {
            held.accounts.remove(&account);
        }
    }

    /// Another node's list (its first part, `fresh`, replaces what it
    /// said before; the others add to it).
    pub fn holding_elsewhere(
        &self,
        node: u64,
        accounts: HashSet<AccountId>,
        about: NodeAbout,
        fresh: bool,
    ) {
        let mut elsewhere = self.elsewhere.lock().expect("hub lock");
        let held = elsewhere.entry(node).or_insert_with(|| Elsewhere {
            heard: Instant::now(),
            accounts: HashSet::new(),
            about: None,
        });
        held.heard = Instant::now();
        held.about = Some(about);
        if fresh {
            held.accounts = accounts;
        } else {
            held.accounts.extend(accounts);
        }
    }

    /// Forgets the nodes not heard from for [`ELSEWHERE_TTL`] (dead, or
    /// cut off from the bus), answering the accounts they held; `None`
    /// when no node went silent. Each is remembered as departed for
    /// [`DEPARTED_REMEMBERED`] (for `heard_again`), and keeps this node's
    /// sockets reading the store for [`DEPARTED_WATCH`].
    pub fn forget_silent_nodes(&self) -> Option<Vec<AccountId>> {
        let mut elsewhere = self.elsewhere.lock().expect("hub lock");
        let mut departed = self.departed.lock().expect("hub lock");
        let mut orphaned = None;
        elsewhere.retain(|node, held| {
            let alive = held.heard.elapsed() < ELSEWHERE_TTL;
            if !alive {
                departed.insert(*node, Instant::now());
                let accounts = orphaned.get_or_insert_with(Vec::new);
                accounts.extend(held.accounts.iter().copied());
            }
            alive
        });
        orphaned
    }

    /// Whether a node went silent within [`DEPARTED_WATCH`] and has not
    /// been heard since: one cut off from the bus but not from the
    /// database still commits, and what it commits reaches this node's
    /// sockets only from the store.
    pub fn has_departed_lately(&self) -> bool {
        let elsewhere = self.elsewhere.lock().expect("hub lock");
        let mut departed = self.departed.lock().expect("hub lock");
        // Kept past the watch, for `heard_again` after a long partition;
        // a node killed comes back under a new id, so not for ever.
        departed.retain(|_, at| at.elapsed() < DEPARTED_REMEMBERED);
        departed
            .iter()
            .any(|(node, at)| at.elapsed() < DEPARTED_WATCH && !elsewhere.contains_key(node))
    }

    /// The nodes that went silent and are heard again (a partition
    /// healed), no longer departed: the accounts they hold now.
    pub fn heard_again(&self) -> Vec<AccountId> {
        let elsewhere = self.elsewhere.lock().expect("hub lock");
        let mut departed = self.departed.lock().expect("hub lock");
        let mut back = Vec::new();
        // Only once its whole list came (`about` is set by it), not on a
        // lone `here` that would name one account of many.
        departed.retain(|node, _| match elsewhere.get(node) {
            Some(held) if held.heard.elapsed() < ELSEWHERE_TTL && held.about.is_some() => {
                back.extend(held.accounts.iter().copied());
                false
            }
            _ => true,
        });
        back
    }

    /// The other nodes heard from lately, by id.
    pub fn nodes_elsewhere(&self) -> Vec<(u64, Elsewhere)> {
        let elsewhere = self.elsewhere.lock().expect("hub lock");
        elsewhere
            .iter()
            .filter(|(_, held)| held.heard.elapsed() < ELSEWHERE_TTL)
            .map(|(node, held)| (*node, held.clone()))
            .collect()
    }

    pub fn sockets(&self) -> u64 {
        self.sockets.load(Ordering::Relaxed)
    }

    /// Tells every subscriber to close with "going away".
    pub fn shut_down(&self) {
        *self.shutting_down.lock().expect("hub lock") = true;
        let accounts = self.accounts.read().expect("hub lock");
        for subscriber in accounts.values().flatten() {
            subscriber.close(CloseReason::ShuttingDown);
        }
    }

    fn publish(&self, entry: &LogEntry) {
        if !self.holds(entry.account) {
            return;
        }
        let json = Utf8Bytes::from(events::to_json(entry));
        self.deliver_logged(entry.account, entry.seq, json);
    }

    fn holds(&self, account: AccountId) -> bool {
        self.accounts
            .read()
            .expect("hub lock")
            .contains_key(&account)
    }

    /// Pushes a log entry, encoded, to `account`'s subscribers here.
    pub fn deliver_logged(&self, account: AccountId, seq: LogSeq, json: Utf8Bytes) {
        let accounts = self.accounts.read().expect("hub lock");
        let Some(subscribers) = accounts.get(&account) else {
            return;
        };
        let pushed = Arc::new(Pushed { seq, json });
        for subscriber in subscribers {
            // A closed subscriber gets nothing more: once one event was
            // dropped for it, a later one must not reach it past the gap.
            if subscriber.reason.get().is_some() {
                continue;
            }
            match subscriber.queue.try_send(Arc::clone(&pushed)) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) if subscriber.kind == Kind::Socket => {
                    metrics::counter!("piazza_socket_queue_overflows_total").increment(1);
                    tracing::info!(%account, device = %subscriber.device, "socket queue overflowed; closing it");
                    subscriber.close(CloseReason::Overflow);
                }
                Err(_) => {}
            }
        }
    }

    /// Hands `json`, an ephemeral event, to every socket of each of
    /// `accounts` but `except`'s, here and on the other nodes; a socket
    /// whose ephemeral queue is full misses it. Answers how many sockets
    /// here took it.
    pub fn publish_ephemeral(
        &self,
        accounts: &[AccountId],
        except: AccountId,
        json: &Utf8Bytes,
    ) -> usize {
        self.relay(|| Relayed::Ephemeral {
            accounts: accounts.to_vec(),
            except,
            json: json.clone(),
        });
        self.deliver_ephemeral(accounts, except, json)
    }

    /// [`Hub::publish_ephemeral`] to the sockets here only (what another
    /// node relayed).
    pub fn deliver_ephemeral(
        &self,
        accounts: &[AccountId],
        except: AccountId,
        json: &Utf8Bytes,
    ) -> usize {
        let subscribed = self.accounts.read().expect("hub lock");
        let mut taken = 0;
        for account in accounts.iter().filter(|account| **account != except) {
            for subscriber in subscribed.get(account).into_iter().flatten() {
                if subscriber.kind == Kind::Socket && subscriber.reason.get().is_none() {
                    match subscriber.ephemeral.try_send(json.clone()) {
                        Ok(()) => taken += 1,
                        Err(_) => metrics::counter!("piazza_ephemeral_dropped_total").increment(1),
                    }
                }
            }
        }
        taken
    }

    /// Whether `account` has a socket open here, or on another node
    /// heard from lately.
    pub fn is_online(&self, account: AccountId) -> bool {
        if self.socket_count(account) > 0 {
            return true;
        }
        let elsewhere = self.elsewhere.lock().expect("hub lock");
        elsewhere
            .values()
            .any(|held| held.heard.elapsed() < ELSEWHERE_TTL && held.accounts.contains(&account))
    }

    /// How many sockets `account` has open here.
    pub fn socket_count(&self, account: AccountId) -> usize {
        let subscribed = self.accounts.read().expect("hub lock");
        subscribed.get(&account).map_or(0, |list| {
            list.iter().filter(|s| s.kind == Kind::Socket).count()
        })
    }

    /// `conversation`'s members as this hub last read them, if that was
    /// lately and no change of them has passed through it since.
    pub fn audience(&self, conversation: ConversationId) -> Option<Audience> {
        let audiences = self.audiences.lock().expect("hub lock");
        let (read_at, audience) = audiences.get(&conversation)?;
        (read_at.elapsed() < AUDIENCE_TTL).then(|| audience.clone())
    }

    /// Where membership changes stand: read it before reading members, and
    /// hand it to [`Hub::remember_audience`].
    pub fn audience_epoch(&self) -> u64 {
        self.audience_epoch.load(Ordering::Acquire)
    }

    /// Remembers `conversation`'s members, unless a membership change
    /// passed through the hub since `epoch` (read before the members were):
    /// then the read may predate it, and is not kept.
    pub fn remember_audience(&self, conversation: ConversationId, epoch: u64, audience: Audience) {
        let mut audiences = self.audiences.lock().expect("hub lock");
        if self.audience_epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        if audiences.len() >= AUDIENCES_MAX {
            audiences.clear();
        }
        audiences.insert(conversation, (Instant::now(), audience));
    }

    /// Forgets the members of `conversation`, whose membership changed,
    /// and moves the epoch so a read in flight is not kept.
    pub fn forget_audience(&self, conversation: ConversationId) {
        let mut audiences = self.audiences.lock().expect("hub lock");
        self.audience_epoch.fetch_add(1, Ordering::AcqRel);
        audiences.remove(&conversation);
    }

    /// Closes `device`'s sockets and waiters here.
    pub fn revoke(&self, account: AccountId, device: DeviceId) {
        let accounts = self.accounts.read().expect("hub lock");
        for subscriber in accounts.get(&account).into_iter().flatten() {
            if subscriber.device == device {
                subscriber.close(CloseReason::Revoked);
            }
        }
    }
}

/// The conversation whose members an event changes, if any.
pub fn membership_changed(event: &Event) -> Option<ConversationId> {
    match event {
        Event::MemberAdded {
            conversation_id, ..
        }
        | Event::MemberRemoved {
            conversation_id, ..
        } => Some(*conversation_id),
        _ => None,
    }
}

impl NoticeSink for Hub {
    fn notify(&self, notices: Vec<Notice>) {
        self.note_logged();
        for notice in &notices {
            match notice {
                Notice::Logged(entry) => {
                    if let Some(conversation) = membership_changed(&entry.event) {
                        self.forget_audience(conversation);
                    }
                    self.publish(entry);
                }
                Notice::DeviceRevoked { account, device } => self.revoke(*account, *device),
            }
        }
        self.relay(|| Relayed::Notices(notices));
    }
}

#[cfg(test)]
mod tests {
    use piazza_domain::event::{Event, LogEntry, Notice};
    use piazza_domain::{AccountId, ConversationId, DeviceId, LogSeq, Seq, Timestamp};

    use super::*;

    fn entry(account: AccountId, seq: i64) -> Notice {
        Notice::Logged(Arc::new(LogEntry {
            account,
            seq: LogSeq::from_stored(seq),
            at: Timestamp::from_unix_ms(0),
            event: Event::ReadMarker {
                conversation_id: ConversationId::from_row(1),
                seq: Seq::ZERO,
                device_id: DeviceId::from_row(1),
            },
        }))
    }

    #[test]
    fn after_an_overflow_a_socket_gets_nothing_more() {
        let limits = Limits {
            socket_queue_len_max: 2,
            ..Limits::default()
        };
        let hub = Hub::new(&limits);
        let account = AccountId::from_row(7);
        let mut subscription = hub
            .subscribe(account, DeviceId::from_row(1), Kind::Socket)
            .unwrap();
        hub.notify(vec![
            entry(account, 1),
            entry(account, 2),
            entry(account, 3),
        ]);
        assert_eq!(
            subscription.close_signal().reason(),
            Some(CloseReason::Overflow)
        );
        // The device drains one event, making room; what comes next must
        // not be queued behind the dropped one.
        assert_eq!(subscription.queue.try_recv().unwrap().seq.get(), 1);
        hub.notify(vec![entry(account, 4)]);
        assert_eq!(subscription.queue.try_recv().unwrap().seq.get(), 2);
        assert!(
            subscription.queue.try_recv().is_err(),
            "nothing past the gap"
        );
    }

    #[test]
    fn refused_subscriptions_leave_nothing_behind() {
        let limits = Limits {
            sockets_max: 1,
            ..Limits::default()
        };
        let hub = Hub::new(&limits);
        let _held = hub
            .subscribe(AccountId::from_row(1), DeviceId::from_row(1), Kind::Socket)
            .unwrap();
        for row in 2..50 {
            assert!(
                hub.subscribe(
                    AccountId::from_row(row),
                    DeviceId::from_row(row),
                    Kind::Socket
                )
                .is_err()
            );
        }
        assert_eq!(hub.accounts.read().unwrap().len(), 1);
        assert_eq!(hub.sockets(), 1);
    }
}
