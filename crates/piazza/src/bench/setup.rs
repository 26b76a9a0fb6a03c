//! Building the cast of a bench through the public API: accounts with a
//! logged-in device each, pairs of contacts with their direct conversation,
//! and open WebSockets.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use futures_util::{StreamExt, TryStreamExt, stream};
use piazza_client::{Client, Socket};

use super::progress;

/// Every bench account's password. Only cheap to hash because a spawned
/// server is configured so.
pub const PASSWORD: &str = "bench-password";
/// Account creations and log-ins in flight at once. Each costs the server a
/// password hash, which it runs a few at a time anyway.
const ACCOUNTS_IN_FLIGHT_MAX: usize = 16;
/// Contact pairings in flight at once (three cheap calls each).
const PAIRINGS_IN_FLIGHT_MAX: usize = 32;
/// WebSocket handshakes in flight at once.
pub const CONNECTS_IN_FLIGHT_MAX: usize = 200;

/// One account and a client acting as its first device.
pub struct Account {
    pub username: String,
    pub account_id: String,
    pub device: Client,
}

/// Creates `count` accounts, each logged in on one device. Usernames carry
/// a random tag so runs against the same `--attach` server never collide.
pub async fn create_accounts(anonymous: &Client, count: usize) -> anyhow::Result<Vec<Account>> {
    let tag = format!("{:08x}", rand::random::<u32>());
    let (status, done) = progress::counting(format!("creating {count} accounts"), count as u64);
    let accounts = stream::iter(0..count)
        .map(|index| {
            let username = format!("b{tag}_{index}");
            let done = Arc::clone(&done);
            async move {
                let account = create_account(anonymous, username).await;
                done.fetch_add(1, Ordering::Relaxed);
                account
            }
        })
        .buffered(ACCOUNTS_IN_FLIGHT_MAX)
        .try_collect()
        .await;
    status.finish();
    accounts
}

/// Logs `account` in again as a new device named `device_name`.
pub async fn new_device(
    anonymous: &Client,
    account: &Account,
    device_name: &str,
) -> anyhow::Result<Client> {
    let session = anonymous
        .login(&account.username, PASSWORD, device_name)
        .await
        .with_context(|| format!("cannot log {} in", account.username))?;
    Ok(anonymous.with_token(session.token))
}

/// Makes accounts `2k` and `2k + 1` contacts and opens their direct
/// conversation; returns the conversation of each pair, in pair order.
pub async fn pair_up(accounts: &[Account]) -> anyhow::Result<Vec<String>> {
    let pairs = accounts.len() / 2;
    let (status, done) = progress::counting(format!("pairing {pairs} contacts"), pairs as u64);
    let conversations = stream::iter(accounts.chunks_exact(2))
        .map(|pair| {
            let done = Arc::clone(&done);
            async move {
                let conversation = befriend(&pair[0], &pair[1]).await;
                done.fetch_add(1, Ordering::Relaxed);
                conversation
            }
        })
        .buffered(PAIRINGS_IN_FLIGHT_MAX)
        .try_collect()
        .await;
    status.finish();
    conversations
}

/// Makes `hub` a contact of every one of `others`, without opening
/// conversations: what a group's owner needs before adding them.
pub async fn befriend_all(hub: &Account, others: &[Account]) -> anyhow::Result<()> {
    let count = others.len();
    let (status, done) = progress::counting(format!("befriending {count} accounts"), count as u64);
    let befriended = stream::iter(others)
        .map(|other| {
            let done = Arc::clone(&done);
            async move {
                befriend_only(hub, other).await?;
                done.fetch_add(1, Ordering::Relaxed);
                anyhow::Ok(())
            }
        })
        .buffered(PAIRINGS_IN_FLIGHT_MAX)
        .try_collect::<Vec<()>>()
        .await;
    status.finish();
    befriended.map(drop)
}

/// `a` asks, `b` accepts: contacts, with no conversation opened.
pub async fn befriend_only(a: &Account, b: &Account) -> anyhow::Result<()> {
    let request_id = a
        .device
        .request_contact(&b.username, None)
        .await
        .with_context(|| format!("{} cannot ask {} to be a contact", a.username, b.username))?;
    b.device
        .accept_request(&request_id)
        .await
        .with_context(|| format!("{} cannot accept {}'s request", b.username, a.username))?;
    Ok(())
}

/// Opens one WebSocket per client, in order, a bounded number at a time.
/// `done` counts the sockets opened so far, for a progress line.
pub async fn connect_sockets(
    clients: impl IntoIterator<Item = Client>,
    done: &AtomicU64,
) -> anyhow::Result<Vec<Socket>> {
    stream::iter(clients)
        .map(|client| async move {
            let socket = client
                .connect_socket()
                .await
                .context("cannot open a WebSocket");
            done.fetch_add(1, Ordering::Relaxed);
            socket
        })
        .buffered(CONNECTS_IN_FLIGHT_MAX)
        .try_collect()
        .await
}

async fn create_account(anonymous: &Client, username: String) -> anyhow::Result<Account> {
    let created = anonymous
        .create_account(&username, PASSWORD, None)
        .await
        .with_context(|| format!("cannot create account {username}"))?;
    let session = anonymous
        .login(&username, PASSWORD, "bench")
        .await
        .with_context(|| format!("cannot log {username} in"))?;
    Ok(Account {
        username,
        account_id: created.account_id,
        device: anonymous.with_token(session.token),
    })
}

/// `a` asks, `b` accepts, `a` opens their direct conversation.
async fn befriend(a: &Account, b: &Account) -> anyhow::Result<String> {
    befriend_only(a, b).await?;
    let conversation = a.device.open_direct(&b.account_id).await.with_context(|| {
        format!(
            "{} cannot open a conversation with {}",
            a.username, b.username
        )
    })?;
    Ok(conversation)
}

/// `count` new accounts in one group titled `title`, owned by the first:
/// answers the accounts (owner first) and the group's id.
pub async fn full_group(
    anonymous: &Client,
    count: usize,
    title: &str,
) -> anyhow::Result<(Vec<Account>, String)> {
    let accounts = create_accounts(anonymous, count).await?;
    let (owner, others) = accounts.split_first().context("a group has members")?;
    befriend_all(owner, others).await?;
    let ids: Vec<String> = others
        .iter()
        .map(|other| other.account_id.clone())
        .collect();
    let group = owner
        .device
        .create_group(title, &ids)
        .await
        .context("cannot create the group")?;
    Ok((accounts, group))
}

/// One WebSocket per account, in order, with a progress line.
pub async fn open_sockets(accounts: &[Account]) -> anyhow::Result<Vec<Socket>> {
    let count = accounts.len();
    let (status, done) = progress::counting(format!("opening {count} sockets"), count as u64);
    let sockets = connect_sockets(accounts.iter().map(|a| a.device.clone()), &done).await;
    status.finish();
    sockets
}

/// GETs `path` `requests` times, one after the other, after 100
/// unmeasured: each answer's latency. Anything but 200 is an error.
pub async fn time_reads(
    device: &Client,
    path: &str,
    requests: u64,
) -> anyhow::Result<hdrhistogram::Histogram<u64>> {
    const WARM_UP: u64 = 100;
    let mut latencies = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for _ in 0..WARM_UP {
        device.raw(reqwest::Method::GET, path, None, None).await?;
    }
    let (status, done) = progress::counting(format!("reading {path}"), requests);
    for _ in 0..requests {
        let started = std::time::Instant::now();
        let answer = device.raw(reqwest::Method::GET, path, None, None).await?;
        let took = started.elapsed();
        anyhow::ensure!(answer.status == 200, "{path} answered {}", answer.status);
        latencies.record((took.as_micros() as u64).max(1))?;
        done.fetch_add(1, Ordering::Relaxed);
    }
    status.finish();
    Ok(latencies)
}
