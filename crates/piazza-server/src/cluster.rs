//! Several nodes on one database: what became visible on one node is told
//! to the others over NATS, so a device connected anywhere hears it live.
//!
//! The database's logs stay the source of truth. The bus is a shortcut
//! and a wake-up, never the only path: core NATS delivers at most once,
//! so a node that receives an event past a gap, or whose bus is down, has
//! its sockets read what they missed from the store (`Hub::nudge`,
//! `socket.rs`'s catch-up). While the bus is down every socket here
//! catches up once a second; when it returns, once more, and pushes flow
//! again.
//!
//! One subject carries everything, each message one batch of what a
//! node's hub was told (a commit's notices, typing, presence), sent by one
//! task off the writer's thread. Every node hears every batch and keeps
//! what its sockets hold; see ARCHITECTURE.md, "Many nodes", for when that
//! stops being enough.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use futures_util::StreamExt;
use piazza_domain::event::Notice;
use piazza_domain::{AccountId, ConversationId, DeviceId, LogSeq};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

mod attempts;

use crate::App;
use crate::events;
use crate::hub::{
    ELSEWHERE_TTL, HOLDING_EVERY, Hub, NodeAbout, RELAY_QUEUE_LEN_MAX, Relayed, membership_changed,
};
use crate::password_attempts::PasswordAttempts;

/// The subject every node publishes to and listens on.
pub const SUBJECT: &str = "piazza.live";
/// How often the NATS client pings its server.
const PING_EVERY: Duration = Duration::from_secs(1);
/// A message is sent once its items' estimated bytes pass this (the
/// estimate counts each log entry's JSON twice, for its escaping inside
/// the message's): NATS refuses a message past its `max_payload`, 1 MiB
/// by default, and one log entry is far below it.
const BATCH_BYTES_MAX: usize = 256 * 1024;
/// Accounts in one `holding` item; a node holding more tells them in
/// several, the first marked `fresh`.
const HOLDING_CHUNK: usize = 16_384;
/// How often sockets catch up from the store while the bus is down.
const CATCH_UP_EVERY: Duration = Duration::from_secs(1);
/// Catch-ups after the bus returns: the first may run before the
/// subscription is renewed on the server, so a second follows it.
const CATCH_UPS_AFTER_RETURN: u32 = 2;

/// One message on the bus: what one node's hub was told.
#[derive(Debug, Serialize, Deserialize)]
struct Batch {
    /// The node that sent it (it ignores its own).
    node: u64,
    /// The sender's count of its messages, one more each time, and more
    /// when it failed to publish or dropped what it had to relay: a
    /// receiver that sees a jump has missed something, and its sockets
    /// read the store.
    n: u64,
    items: Vec<Item>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t")]
enum Item {
    /// A log entry, as the wire shows it; `members_of`, the conversation
    /// whose members it changed, if it did.
    #[serde(rename = "log")]
    Logged {
        account: i64,
        seq: i64,
        json: String,
        members_of: Option<i64>,
    },
    #[serde(rename = "revoked")]
    Revoked { account: i64, device: i64 },
    #[serde(rename = "ephemeral")]
    Ephemeral {
        accounts: Vec<i64>,
        except: i64,
        json: String,
    },
    /// The sending node's first socket of `account` opened, or its last
    /// closed (presence across nodes).
    #[serde(rename = "here")]
    Here { account: i64, here: bool },
    /// Every account the sending node holds a socket of, and the node's
    /// own account, every `HOLDING_EVERY` (`admin cluster-status` reads it).
    /// `fresh`: the first of the node's items of one snapshot, which
    /// replaces what it said before; the others add to it.
    #[serde(rename = "holding")]
    Holding {
        accounts: Vec<i64>,
        about: NodeAbout,
        fresh: bool,
    },
}

impl Item {
    /// Whether every id in it could be a row's: the bus is inside the
    /// deployment, but a malformed item must not reach a socket or panic.
    fn is_well_formed(&self) -> bool {
        match self {
            Item::Logged {
                account,
                seq,
                members_of,
                ..
            } => *account > 0 && *seq > 0 && members_of.is_none_or(|c| c > 0),
            Item::Revoked { account, device } => *account > 0 && *device > 0,
            Item::Ephemeral {
                accounts, except, ..
            } => *except > 0 && accounts.iter().all(|a| *a > 0),
            Item::Here { account, .. } => *account > 0,
            Item::Holding { accounts, .. } => accounts.iter().all(|a| *a > 0),
        }
    }
}

/// This node's part of the cluster: the task that publishes what it
/// commits, which outlives the rest of the node at shutdown.
pub struct Bus {
    link: Arc<Link>,
    /// Stops the publishing task, once the engine has stopped.
    leave: CancellationToken,
    sender: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Since when the bus has been connected, if it is, as the NATS client's
/// events tell.
#[derive(Default)]
struct Link(Mutex<Option<Instant>>);

impl Link {
    fn set(&self, connected: bool) {
        *self.0.lock().expect("link lock") = connected.then(Instant::now);
    }

    fn is_up(&self) -> bool {
        self.0.lock().expect("link lock").is_some()
    }

    /// Whether the bus has been up long enough for a node not heard from
    /// to be silent, not merely unheard: longer than [`ELSEWHERE_TTL`].
    fn is_steady(&self) -> bool {
        let since = *self.0.lock().expect("link lock");
        since.is_some_and(|since| since.elapsed() > ELSEWHERE_TTL)
    }
}

/// How long a node leaving may take to publish what it committed last.
const LEAVE_WAIT: Duration = Duration::from_secs(5);

impl Bus {
    /// Publishes what is still queued and leaves. Called after the engine
    /// has stopped, so the last commits' entries reach the other nodes'
    /// sockets live instead of at their next catch-up.
    pub async fn leave(&self) {
        self.leave.cancel();
        let sender = self.sender.lock().expect("bus lock").take();
        if let Some(mut sender) = sender
            && tokio::time::timeout(LEAVE_WAIT, &mut sender).await.is_err()
        {
            sender.abort();
        }
    }

    fn is_steady(&self) -> bool {
        self.link.is_steady()
    }
}

/// Parses `--nats-url`: one or more `nats://host:port`, comma-separated.
pub fn parse_urls(text: &str) -> Result<Vec<async_nats::ServerAddr>, String> {
    let urls: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .collect();
    if urls.is_empty() {
        return Err("`--nats-url` names no server: give nats://host:4222[,nats://…]".into());
    }
    urls.iter()
        .map(|url| {
            url.parse::<async_nats::ServerAddr>().map_err(|error| {
                format!("{url:?} is not a NATS address ({error}): use nats://host:4222")
            })
        })
        .collect()
}

/// Joins the bus at `urls` in the background (a node starts, and serves,
/// while NATS is down), and starts relaying `hub`'s notices to it and the
/// others' to `hub`, and `attempts`' news both ways. Stops with
/// `shutdown`.
pub async fn join(
    urls: Vec<async_nats::ServerAddr>,
    hub: Arc<Hub>,
    attempts: Arc<PasswordAttempts>,
    node: u64,
    listen: String,
    shutdown: CancellationToken,
) -> Result<Bus, String> {
    let (relay, relayed) = mpsc::channel(RELAY_QUEUE_LEN_MAX);
    hub.relay_to(relay);
    let link = Arc::new(Link::default());
    let returned = Arc::new(tokio::sync::Notify::new());
    let client = async_nats::ConnectOptions::new()
        .name(format!("piazza node {node:016x}"))
        .retry_on_initial_connect()
        // A connection that went quiet (a partition sends no reset) is
        // given up after two unanswered pings: about 3 s, not 3 minutes.
        .ping_interval(PING_EVERY)
        .max_reconnects(None)
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis((attempts as u64 * 100).clamp(100, 1_000))
        })
        .event_callback({
            let (link, returned) = (Arc::clone(&link), Arc::clone(&returned));
            move |event| {
                let (link, returned) = (Arc::clone(&link), Arc::clone(&returned));
                async move { on_event(event, &link, &returned) }
            }
        })
        .connect(urls)
        .await
        .map_err(|error| format!("cannot set up the NATS client: {error}"))?;
    let subscriber = client
        .subscribe(SUBJECT)
        .await
        .map_err(|error| format!("cannot subscribe to {SUBJECT}: {error}"))?;
    attempts::relay(client.clone(), node, attempts, shutdown.clone()).await?;
    let leave = CancellationToken::new();
    let sender = tokio::spawn(send(
        client.clone(),
        node,
        Arc::clone(&hub),
        relayed,
        leave.clone(),
    ));
    tokio::spawn(receive(
        subscriber,
        node,
        Arc::clone(&hub),
        shutdown.clone(),
    ));
    let about = NodeAbout {
        listen,
        started_at_ms: piazza_domain::Timestamp::now().unix_ms(),
        sockets: 0,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    tokio::spawn(tell_holding(Arc::clone(&hub), about, shutdown.clone()));
    tokio::spawn(catch_up(hub, Arc::clone(&link), returned, shutdown));
    Ok(Bus {
        link,
        leave,
        sender: Mutex::new(Some(sender)),
    })
}

fn on_event(event: async_nats::Event, link: &Link, returned: &tokio::sync::Notify) {
    match event {
        async_nats::Event::Connected => {
            tracing::info!("the NATS bus is connected");
            link.set(true);
            returned.notify_one();
        }
        async_nats::Event::Disconnected => {
            tracing::warn!(
                "the NATS bus is down: sockets catch up from the store until it returns"
            );
            link.set(false);
        }
        // Messages were dropped for us: what they held is in the store.
        async_nats::Event::SlowConsumer(_) => returned.notify_one(),
        other => tracing::info!(event = %other, "NATS"),
    }
}

/// Sends what the hub relays, a batch per message, until `leave`; then
/// what is still queued (the engine has stopped: that is all there is).
async fn send(
    client: async_nats::Client,
    node: u64,
    hub: Arc<Hub>,
    mut relayed: mpsc::Receiver<Relayed>,
    leave: CancellationToken,
) {
    let mut n: u64 = 0;
    loop {
        let first = tokio::select! {
            first = relayed.recv() => match first {
                Some(first) => first,
                None => break,
            },
            () = leave.cancelled() => break,
        };
        publish(&client, node, &hub, &mut n, first, &mut relayed).await;
    }
    while let Ok(last) = relayed.try_recv() {
        publish(&client, node, &hub, &mut n, last, &mut relayed).await;
    }
    let _ = tokio::time::timeout(LEAVE_WAIT, client.flush()).await;
}

/// Publishes `first` with whatever else is queued, as numbered batches.
async fn publish(
    client: &async_nats::Client,
    node: u64,
    hub: &Hub,
    n: &mut u64,
    first: Relayed,
    relayed: &mut mpsc::Receiver<Relayed>,
) {
    let mut items = Vec::new();
    let mut bytes = encode(first, &mut items);
    while bytes < BATCH_BYTES_MAX {
        match relayed.try_recv() {
            Ok(next) => bytes += encode(next, &mut items),
            Err(_) => break,
        }
    }
    for chunk in chunks(items) {
        *n += 1 + hub.take_relay_drops();
        let batch = Batch {
            node,
            n: *n,
            items: chunk,
        };
        let payload = serde_json::to_vec(&batch).expect("a batch encodes");
        if let Err(error) = client.publish(SUBJECT, payload.into()).await {
            metrics::counter!("piazza_cluster_publish_failed_total").increment(1);
            tracing::debug!(%error, "a batch was not published; other nodes catch up from the store");
        }
    }
}

/// `items` cut into messages of at most about [`BATCH_BYTES_MAX`] each.
fn chunks(items: Vec<Item>) -> Vec<Vec<Item>> {
    let mut chunks: Vec<Vec<Item>> = Vec::new();
    let mut bytes = 0;
    for item in items {
        let size = item_bytes(&item);
        match chunks.last_mut() {
            Some(last) if bytes + size <= BATCH_BYTES_MAX => {
                last.push(item);
                bytes += size;
            }
            _ => {
                chunks.push(vec![item]);
                bytes = size;
            }
        }
    }
    chunks
}

/// Adds `relayed` to `items`, answering about how many bytes it takes.
fn encode(relayed: Relayed, items: &mut Vec<Item>) -> usize {
    let mut bytes = 0;
    match relayed {
        Relayed::Notices(notices) => {
            for notice in notices {
                let item = match notice {
                    Notice::Logged(entry) => Item::Logged {
                        account: entry.account.row(),
                        seq: entry.seq.get(),
                        json: events::to_json(&entry),
                        members_of: membership_changed(&entry.event).map(ConversationId::row),
                    },
                    Notice::DeviceRevoked { account, device } => Item::Revoked {
                        account: account.row(),
                        device: device.row(),
                    },
                };
                bytes += item_bytes(&item);
                items.push(item);
            }
        }
        Relayed::Ephemeral {
            accounts,
            except,
            json,
        } => {
            let item = Item::Ephemeral {
                accounts: accounts.into_iter().map(AccountId::row).collect(),
                except: except.row(),
                json: json.as_str().to_owned(),
            };
            bytes += item_bytes(&item);
            items.push(item);
        }
        Relayed::Here { account, here } => {
            bytes += 48;
            items.push(Item::Here {
                account: account.row(),
                here,
            });
        }
        Relayed::Holding {
            accounts,
            about,
            fresh,
        } => {
            let item = Item::Holding {
                accounts: accounts.into_iter().map(AccountId::row).collect(),
                about,
                fresh,
            };
            bytes += item_bytes(&item);
            items.push(item);
        }
    }
    bytes
}

fn item_bytes(item: &Item) -> usize {
    match item {
        Item::Logged { json, .. } => 2 * json.len() + 64,
        Item::Revoked { .. } => 48,
        Item::Ephemeral { accounts, json, .. } => 2 * json.len() + 24 * accounts.len() + 48,
        Item::Here { .. } => 48,
        Item::Holding { accounts, .. } => 24 * accounts.len() + 128,
    }
}

/// The subscription's next message, or `None` once it ends or `shutdown`
/// is cancelled.
pub(crate) async fn next_until(
    subscriber: &mut async_nats::Subscriber,
    shutdown: &CancellationToken,
) -> Option<async_nats::Message> {
    tokio::select! {
        message = subscriber.next() => message,
        () = shutdown.cancelled() => None,
    }
}

/// Hands the other nodes' batches to `hub`, until shutdown.
async fn receive(
    mut subscriber: async_nats::Subscriber,
    node: u64,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) {
    let mut last: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    while let Some(message) = next_until(&mut subscriber, &shutdown).await {
        let batch: Batch = match serde_json::from_slice(&message.payload) {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(%error, "a message on {SUBJECT} is not a batch; ignored");
                continue;
            }
        };
        if batch.node == node {
            continue;
        }
        // A jump in the sender's count: something of it was lost.
        let before = last.insert(batch.node, batch.n);
        if before.is_some_and(|before| batch.n != before + 1) {
            metrics::counter!("piazza_cluster_batches_missed_total").increment(1);
            hub.nudge();
        }
        deliver(&hub, batch.node, batch.items);
    }
}

/// Hands what another node (`from`) was told to the sockets here.
fn deliver(hub: &Hub, from: u64, items: Vec<Item>) {
    hub.note_logged();
    for item in items {
        if !item.is_well_formed() {
            tracing::warn!(from, "a malformed item on {SUBJECT}; ignored");
            continue;
        }
        match item {
            Item::Logged {
                account,
                seq,
                json,
                members_of,
            } => {
                if let Some(conversation) = members_of {
                    hub.forget_audience(ConversationId::from_row(conversation));
                }
                let seq = LogSeq::from_stored(seq);
                hub.deliver_logged(AccountId::from_row(account), seq, Utf8Bytes::from(json));
            }
            Item::Revoked { account, device } => {
                hub.revoke(AccountId::from_row(account), DeviceId::from_row(device));
            }
            Item::Ephemeral {
                accounts,
                except,
                json,
            } => {
                let accounts: Vec<AccountId> =
                    accounts.into_iter().map(AccountId::from_row).collect();
                hub.deliver_ephemeral(
                    &accounts,
                    AccountId::from_row(except),
                    &Utf8Bytes::from(json),
                );
            }
            Item::Here { account, here } => {
                hub.held_elsewhere(from, AccountId::from_row(account), here);
            }
            Item::Holding {
                accounts,
                about,
                fresh,
            } => {
                let accounts = accounts.into_iter().map(AccountId::from_row).collect();
                hub.holding_elsewhere(from, accounts, about, fresh);
            }
        }
    }
}

/// Tells the other nodes, every [`HOLDING_EVERY`], which accounts this
/// one holds sockets of (a node not heard from for a while holds none).
async fn tell_holding(hub: Arc<Hub>, mut about: NodeAbout, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(HOLDING_EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {
                about.sockets = hub.sockets();
                let accounts = hub.accounts_with_sockets();
                for (part, chunk) in accounts.chunks(HOLDING_CHUNK).enumerate() {
                    let fresh = part == 0;
                    hub.relay(|| Relayed::Holding { accounts: chunk.to_vec(), about: about.clone(), fresh });
                }
                if accounts.is_empty() {
                    hub.relay(|| Relayed::Holding { accounts: Vec::new(), about: about.clone(), fresh: true });
                }
            }
        }
    }
}

/// Nudges the hub's sockets to read the store while the bus is down, and
/// after it returns.
async fn catch_up(
    hub: Arc<Hub>,
    link: Arc<Link>,
    returned: Arc<tokio::sync::Notify>,
    shutdown: CancellationToken,
) {
    let mut after_return = 0;
    let mut tick = tokio::time::interval(CATCH_UP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = returned.notified() => {
                after_return = CATCH_UPS_AFTER_RETURN;
                hub.nudge();
            }
            _ = tick.tick() => {
                if !link.is_up() || hub.has_departed_lately() {
                    hub.nudge();
                } else if after_return > 0 {
                    after_return -= 1;
                    hub.nudge();
                }
            }
        }
    }
}

/// What `piazza admin cluster-status` heard on the bus.
#[derive(Debug)]
pub struct Survey {
    /// The NATS server it reached (name, version), if any.
    pub server: Option<(String, String)>,
    /// The nodes that told their holdings while it listened, by id.
    pub nodes: Vec<SurveyedNode>,
}

#[derive(Debug)]
pub struct SurveyedNode {
    pub node: u64,
    pub about: NodeAbout,
    /// Accounts with a socket on it.
    pub accounts: usize,
}

/// Listens on the bus at `urls` for `listen_for` (at least one
/// [`HOLDING_EVERY`] and a bit), gathering every node's own account.
pub async fn survey(
    urls: Vec<async_nats::ServerAddr>,
    listen_for: Duration,
) -> Result<Survey, String> {
    let client = async_nats::ConnectOptions::new()
        .name("piazza admin cluster-status")
        .connection_timeout(Duration::from_secs(3))
        .connect(urls)
        .await
        .map_err(|error| format!("cannot reach NATS: {error}"))?;
    let info = client.server_info();
    let mut subscriber = client
        .subscribe(SUBJECT)
        .await
        .map_err(|error| format!("cannot subscribe to {SUBJECT}: {error}"))?;
    let mut nodes = std::collections::BTreeMap::new();
    let deadline = tokio::time::Instant::now() + listen_for;
    while let Ok(Some(message)) = tokio::time::timeout_at(deadline, subscriber.next()).await {
        let Ok(batch) = serde_json::from_slice::<Batch>(&message.payload) else {
            continue;
        };
        for item in batch.items {
            if let Item::Holding {
                accounts,
                about,
                fresh,
            } = item
            {
                let node = nodes.entry(batch.node).or_insert(SurveyedNode {
                    node: batch.node,
                    about: about.clone(),
                    accounts: 0,
                });
                if fresh {
                    node.accounts = 0;
                }
                node.about = about;
                node.accounts += accounts.len();
            }
        }
    }
    Ok(Survey {
        server: Some((info.server_name, info.version)),
        nodes: nodes.into_values().collect(),
    })
}

/// Every [`HOLDING_EVERY`], forgets the nodes gone silent, has every
/// socket here read the store, and tells the contacts of each account they
/// held, online nowhere now, that it went offline: a node killed says no
/// goodbye. A node heard again (a partition healed) has its accounts told
/// online again, by every node that had forgotten it. Only while the bus has been up for longer than a node may be
/// silent: with the bus down every other node is unheard, not gone. One
/// node tells, the one with the lowest id among those alive (a node that
/// has not heard the others yet may tell too: a repeated offline is
/// harmless).
pub async fn announce_departures(app: App) {
    let Some(bus) = app.bus.clone() else { return };
    let mut tick = tokio::time::interval(HOLDING_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = app.shutdown.cancelled() => return,
        }
        if !bus.is_steady() {
            continue;
        }
        let back = app.hub.heard_again();
        let orphaned = app.hub.forget_silent_nodes();
        if orphaned.is_some() {
            // What the silent node committed lately never came: read it.
            app.hub.nudge();
        }
        // Every node that forgot the one heard again tells (the others
        // may not have: a node whose own bus was down forgot no one).
        let online = back.into_iter().map(|account| (account, true));
        // Every node alive forgot the silent one: the lowest-id tells.
        let alive = app.hub.nodes_elsewhere().into_iter().map(|(node, _)| node);
        let lowest = alive.chain([app.node]).min() == Some(app.node);
        let offline = orphaned
            .filter(|_| lowest)
            .into_iter()
            .flatten()
            .map(|account| (account, false));
        for (account, is_online) in online.chain(offline) {
            if app.shutdown.is_cancelled() {
                return;
            }
            crate::presence::announce(&app, account, is_online).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_or_refused_with_advice() {
        assert_eq!(
            parse_urls("nats://127.0.0.1:4222, nats://10.0.0.2:4222")
                .unwrap()
                .len(),
            2
        );
        assert!(parse_urls(" , ").unwrap_err().contains("names no server"));
        assert!(
            parse_urls("http://[::1")
                .unwrap_err()
                .contains("nats://host:4222")
        );
    }

    #[test]
    fn a_batch_reads_back_as_it_was_sent() {
        let batch = Batch {
            node: 7,
            n: 1,
            items: vec![
                Item::Logged {
                    account: 1,
                    seq: 2,
                    json: "{\"type\":\"x\"}".into(),
                    members_of: Some(3),
                },
                Item::Revoked {
                    account: 1,
                    device: 4,
                },
                Item::Ephemeral {
                    accounts: vec![1, 5],
                    except: 1,
                    json: "{}".into(),
                },
            ],
        };
        let bytes = serde_json::to_vec(&batch).unwrap();
        let back: Batch = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(format!("{back:?}"), format!("{batch:?}"));
    }
}
