//! Who holds a connection, and which one goes when there are too many.
//!
//! Every accepted connection is registered under its client's address
//! (one IPv6 /64 is one address, as for the rate limits). A connection is
//! *idle* while it has no request in flight: waiting for its first request
//! head (a client still sending it, or a slowloris), or kept alive after
//! an answer. When a new connection would pass the per-address cap or the
//! total cap, the oldest idle connection goes first, and the new one is
//! refused only when nothing is idle: those that never finished a head
//! before those that were served once (a kept-alive client is more likely
//! a real one), and among each, the one idle the longest. A connection
//! with a request in flight, its answer not yet written, or upgraded to a
//! WebSocket is never shed.
//!
//! The state is one map under one mutex, touched at accept, at each
//! request's start and end, and at close: O(log n) each.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// The caps of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections one client address holds at once.
    pub per_address_max: usize,
    /// Connections the listener holds at once.
    pub total_max: usize,
}

/// Why a new connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its address holds its cap of connections, none of them idle.
    PerAddress,
    /// The listener holds its cap, none idle.
    Total,
}

impl Refused {
    fn label(self) -> &'static str {
        match self {
            Refused::PerAddress => "per_address",
            Refused::Total => "total",
        }
    }
}

/// The connections of one listener.
pub struct Registry {
    limits: ConnectionLimits,
    /// The `listener` label of this registry's metrics.
    listener: &'static str,
    state: Mutex<State>,
}

/// A registered connection: its id, and the signal that it was shed.
#[derive(Debug)]
pub struct Admitted {
    pub id: u64,
    /// Cancelled when the registry sheds this connection: its task must
    /// then drop it, which closes it.
    pub shed: CancellationToken,
}

/// How often, at most, a cap being reached is logged as a warning.
const WARN_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Default)]
struct State {
    next_id: u64,
    /// Orders idle connections; bumped at each change.
    next_tick: u64,
    slots: HashMap<u64, Slot>,
    addresses: HashMap<IpAddr, Address>,
    /// Every idle connection, the first to shed first.
    idle: BTreeSet<IdleKey>,
    warned_at: Option<Instant>,
}

struct Slot {
    address: IpAddr,
    /// Requests whose answers are not yet written out.
    in_flight: u32,
    /// Whether any request head ever arrived.
    served: bool,
    upgraded: bool,
    /// Where the slot sits in the idle sets, while idle.
    idle: Option<IdleKey>,
    shed: CancellationToken,
}

#[derive(Default)]
struct Address {
    open: usize,
    idle: BTreeSet<IdleKey>,
}

/// Sorts those never served before those served once, then by age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct IdleKey {
    served: bool,
    tick: u64,
    id: u64,
}

impl Registry {
    pub fn new(limits: ConnectionLimits, listener: &'static str) -> Registry {
        Registry {
            limits: ConnectionLimits {
                per_address_max: limits.per_address_max.max(1),
                total_max: limits.total_max.max(1),
            },
            listener,
            state: Mutex::new(State::default()),
        }
    }

    /// Registers a connection from `address`, shedding the oldest idle
    /// connection of that address (when `per_address`: a trusted proxy's
    /// are spared that cap), or of the listener, if a cap is full.
    pub fn admit(&self, address: IpAddr, per_address: bool) -> Result<Admitted, Refused> {
        let address = crate::rate_limit::address_key(address);
        let mut state = self.lock();
        let open_here = state.addresses.get(&address).map_or(0, |a| a.open);
        if per_address && open_here >= self.limits.per_address_max {
            let victim = state
                .addresses
                .get(&address)
                .and_then(|a| a.idle.first().copied());
            self.shed_or_refuse(&mut state, victim, Refused::PerAddress)?;
        }
        if state.slots.len() >= self.limits.total_max {
            let victim = state.idle.first().copied();
            self.shed_or_refuse(&mut state, victim, Refused::Total)?;
        }
        let id = state.next_id;
        state.next_id += 1;
        let shed = CancellationToken::new();
        state.slots.insert(
            id,
            Slot {
                address,
                in_flight: 0,
                served: false,
                upgraded: false,
                idle: None,
                shed: shed.clone(),
            },
        );
        state.addresses.entry(address).or_default().open += 1;
        state.make_idle(id);
        metrics::gauge!("piazza_connections_open", "listener" => self.listener).increment(1.0);
        Ok(Admitted { id, shed })
    }

    /// A request head arrived on `id`: it is busy until its answer is out.
    pub fn request_started(&self, id: u64) {
        let mut state = self.lock();
        state.leave_idle(id);
        if let Some(slot) = state.slots.get_mut(&id) {
            slot.in_flight += 1;
            slot.served = true;
        }
    }

    /// `count` answers on `id` are written out; with none left in flight
    /// the connection is idle again (kept alive, waiting for a request).
    pub fn requests_finished(&self, id: u64, count: u32) {
        let mut state = self.lock();
        let Some(slot) = state.slots.get_mut(&id) else {
            return;
        };
        slot.in_flight = slot.in_flight.saturating_sub(count);
        if slot.in_flight == 0 && !slot.upgraded {
            state.make_idle(id);
        }
    }

    /// `id` became a WebSocket: never idle again, never shed.
    pub fn upgraded(&self, id: u64) {
        let mut state = self.lock();
        state.leave_idle(id);
        if let Some(slot) = state.slots.get_mut(&id) {
            slot.upgraded = true;
        }
    }

    /// Whether `id` is registered and idle (nothing in flight, not a
    /// WebSocket): what it writes then is none of the app's answers.
    pub fn is_idle(&self, id: u64) -> bool {
        self.lock()
            .slots
            .get(&id)
            .is_some_and(|slot| slot.idle.is_some())
    }

    /// The connection `id` is closed: its place is free.
    pub fn release(&self, id: u64) {
        let mut state = self.lock();
        if state.remove(id) {
            metrics::gauge!("piazza_connections_open", "listener" => self.listener).decrement(1.0);
        }
    }

    /// Connections registered now.
    pub fn open(&self) -> usize {
        self.lock().slots.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn shed_or_refuse(
        &self,
        state: &mut State,
        victim: Option<IdleKey>,
        reason: Refused,
    ) -> Result<(), Refused> {
        self.warn_once_a_while(state, reason);
        let Some(victim) = victim else {
            metrics::counter!("piazza_connections_refused_total", "listener" => self.listener, "reason" => reason.label())
                .increment(1);
            return Err(reason);
        };
        if let Some(slot) = state.slots.get(&victim.id) {
            slot.shed.cancel();
        }
        state.remove(victim.id);
        metrics::gauge!("piazza_connections_open", "listener" => self.listener).decrement(1.0);
        metrics::counter!("piazza_connections_shed_total", "listener" => self.listener, "reason" => reason.label())
            .increment(1);
        Ok(())
    }

    fn warn_once_a_while(&self, state: &mut State, reason: Refused) {
        let now = Instant::now();
        if state
            .warned_at
            .is_some_and(|then| now.duration_since(then) < WARN_INTERVAL)
        {
            return;
        }
        state.warned_at = Some(now);
        tracing::warn!(
            listener = self.listener,
            cap = reason.label(),
            per_address_max = self.limits.per_address_max,
            total_max = self.limits.total_max,
            "a connection cap is full: closing the oldest idle connections (logged once a minute)"
        );
    }
}

impl State {
    fn make_idle(&mut self, id: u64) {
        self.leave_idle(id);
        let tick = self.next_tick;
        self.next_tick += 1;
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        let key = IdleKey {
            served: slot.served,
            tick,
            id,
        };
        slot.idle = Some(key);
        let address = slot.address;
        self.idle.insert(key);
        self.addresses.entry(address).or_default().idle.insert(key);
    }

    fn leave_idle(&mut self, id: u64) {
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        let Some(key) = slot.idle.take() else {
            return;
        };
        let address = slot.address;
        self.idle.remove(&key);
        if let Some(entry) = self.addresses.get_mut(&address) {
            entry.idle.remove(&key);
        }
    }

    /// Forgets `id`; false if it was not registered (already shed).
    fn remove(&mut self, id: u64) -> bool {
        self.leave_idle(id);
        let Some(slot) = self.slots.remove(&id) else {
            return false;
        };
        if let Some(entry) = self.addresses.get_mut(&slot.address) {
            entry.open -= 1;
            if entry.open == 0 {
                self.addresses.remove(&slot.address);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(per_address_max: usize, total_max: usize) -> Registry {
        Registry::new(
            ConnectionLimits {
                per_address_max,
                total_max,
            },
            "test",
        )
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn an_address_past_its_cap_loses_its_own_oldest_idle_connection() {
        let registry = registry(2, 100);
        let first = registry.admit(ip(1), true).unwrap();
        let other = registry.admit(ip(2), true).unwrap();
        let second = registry.admit(ip(1), true).unwrap();
        let third = registry.admit(ip(1), true).unwrap();
        assert!(first.shed.is_cancelled(), "the oldest of that address");
        assert!(!second.shed.is_cancelled() && !third.shed.is_cancelled());
        assert!(!other.shed.is_cancelled(), "another address is untouched");
        assert_eq!(registry.open(), 3);
        // Released after being shed: counted once.
        registry.release(first.id);
        assert_eq!(registry.open(), 3);
    }

    #[test]
    fn a_trusted_proxy_is_spared_the_per_address_cap_not_the_total() {
        let registry = registry(2, 4);
        let held: Vec<_> = (0..4)
            .map(|_| registry.admit(ip(1), false).unwrap())
            .collect();
        for admitted in &held {
            registry.request_started(admitted.id);
        }
        assert_eq!(registry.admit(ip(1), false).unwrap_err(), Refused::Total);
    }

    #[test]
    fn busy_and_upgraded_connections_are_never_shed() {
        let registry = registry(2, 100);
        let busy = registry.admit(ip(1), true).unwrap();
        let socket = registry.admit(ip(1), true).unwrap();
        registry.request_started(busy.id);
        registry.request_started(socket.id);
        registry.upgraded(socket.id);
        assert_eq!(
            registry.admit(ip(1), true).unwrap_err(),
            Refused::PerAddress
        );
        // Once its answer is out, the busy one is idle and may go.
        registry.requests_finished(busy.id, 1);
        let newcomer = registry.admit(ip(1), true).unwrap();
        assert!(busy.shed.is_cancelled());
        assert!(!socket.shed.is_cancelled() && !newcomer.shed.is_cancelled());
        // A WebSocket's answer (the 101) being written changes nothing.
        registry.requests_finished(socket.id, 1);
        assert!(!registry.is_idle(socket.id));
    }

    #[test]
    fn past_the_total_cap_the_never_served_go_before_the_kept_alive() {
        let registry = registry(10, 3);
        let kept_alive = registry.admit(ip(1), true).unwrap();
        registry.request_started(kept_alive.id);
        registry.requests_finished(kept_alive.id, 1);
        let half_sent = registry.admit(ip(2), true).unwrap();
        let later = registry.admit(ip(3), true).unwrap();
        let newcomer = registry.admit(ip(4), true).unwrap();
        assert!(half_sent.shed.is_cancelled(), "never served, oldest");
        assert!(!kept_alive.shed.is_cancelled());
        let fifth = registry.admit(ip(5), true).unwrap();
        assert!(later.shed.is_cancelled());
        // With every never-served one busy, the kept-alive one goes.
        registry.request_started(newcomer.id);
        registry.request_started(fifth.id);
        let _ = registry.admit(ip(6), true).unwrap();
        assert!(kept_alive.shed.is_cancelled(), "then the kept-alive one");
        assert!(!newcomer.shed.is_cancelled() && !fifth.shed.is_cancelled());
        assert_eq!(registry.open(), 3);
    }

    #[test]
    fn released_connections_free_their_place() {
        let registry = registry(1, 1);
        let first = registry.admit(ip(1), true).unwrap();
        registry.request_started(first.id);
        assert_eq!(registry.admit(ip(2), true).unwrap_err(), Refused::Total);
        registry.release(first.id);
        let second = registry.admit(ip(2), true).unwrap();
        assert!(registry.is_idle(second.id));
        assert_eq!(registry.open(), 1);
    }
}
