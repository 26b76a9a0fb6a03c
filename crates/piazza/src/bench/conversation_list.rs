//! `piazza bench conversation-list`: one account in thousands of
//! conversations (issue 14 names 2,000: a busy WeChat user) lists its
//! first page again and again, as a client does on every start. Each
//! conversation has a last message, some mention the account, a few are
//! pinned: everything the list shows is there to read. Prints the page's
//! latency (p50, p99, max) and the time to walk every page once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use hdrhistogram::Histogram;
use piazza_api::{ConversationList, ConversationSettingsChange, MessageContent};
use piazza_client::Client;
use reqwest::Method;

use super::progress;
use super::report::Report;
use super::server::Server;
use super::setup::{self, Account};

#[derive(clap::Args, Debug)]
pub struct ConversationListArgs {
    /// Conversations the account is in
    #[arg(long, default_value_t = 2000)]
    pub conversations: usize,
    /// Times the first page is listed
    #[arg(long, default_value_t = 1000)]
    pub requests: u64,
    /// Conversations per page (the server's default is 200)
    #[arg(long, default_value_t = 50)]
    pub page: u32,
}

const CONVERSATIONS_MAX: usize = 100_000;
/// Direct conversations among them: the rest are groups, each with one of
/// these contacts.
const CONTACTS: usize = 50;
/// Set-up calls in flight at once.
const IN_FLIGHT: usize = 32;
/// Every this many conversations, the message mentions the account.
const MENTION_EVERY: usize = 10;
/// Conversations the account pins.
const PINNED: usize = 5;
/// The target p99 of the first page, from issue 14.
const TARGET_P99_MS: f64 = 10.0;
/// First pages listed before measuring: a running server's list is warm,
/// and the database has settled after the set-up's bulk of writes.
const WARM_UP: u64 = 200;

pub async fn run(server: &mut Server, args: &ConversationListArgs) -> anyhow::Result<Report> {
    if args.conversations <= CONTACTS || args.conversations > CONVERSATIONS_MAX {
        bail!(
            "--conversations must be from {} to {CONVERSATIONS_MAX}",
            CONTACTS + 1
        );
    }
    if args.requests == 0 || args.page == 0 {
        bail!("--requests and --page must be positive");
    }
    let anonymous = Client::new(server.base_url());
    let accounts = setup::create_accounts(&anonymous, CONTACTS + 1).await?;
    let (me, contacts) = accounts.split_first().expect("created");
    setup::befriend_all(me, contacts).await?;
    let conversations = open_all(me, contacts, args.conversations).await?;
    fill(me, contacts, &conversations).await?;
    for pinned in &conversations[..PINNED] {
        let pin = ConversationSettingsChange {
            pinned: Some(true),
            ..ConversationSettingsChange::default()
        };
        me.device.change_conversation_settings(pinned, &pin).await?;
    }
    server.ensure_alive().await?;

    let latencies = list_first_page(&me.device, args).await?;
    let (pages, walk_ms) = walk_all(&me.device, args.page, args.conversations).await?;
    server.ensure_alive().await?;

    let ms = |quantile: f64| latencies.value_at_quantile(quantile) as f64 / 1000.0;
    let mut report = Report::new("conversation-list");
    report.count(
        "conversations",
        "conversations of the account",
        args.conversations as u64,
        "",
    );
    report.count("page", "conversations per page", u64::from(args.page), "");
    report.count("requests", "first pages listed", args.requests, "");
    report.measure("first_page_p50_ms", "first page p50", ms(0.5), 2, "ms");
    report.measure("first_page_p99_ms", "first page p99", ms(0.99), 2, "ms");
    report.measure("first_page_max_ms", "first page max", ms(1.0), 2, "ms");
    report.count("walk_pages", "pages to walk the whole list", pages, "");
    report.measure("walk_ms", "time to walk the whole list", walk_ms, 1, "ms");
    report.memory_mib("server_rss_end_mib", "server RSS at end", server.rss_kib());
    if ms(0.99) > TARGET_P99_MS {
        eprintln!("note: the first page's p99 is past the {TARGET_P99_MS} ms target");
    }
    Ok(report)
}

/// The account's conversations: a direct one with each contact, then
/// groups with one contact each, up to `count`.
async fn open_all(me: &Account, contacts: &[Account], count: usize) -> anyhow::Result<Vec<String>> {
    let (status, done) = progress::counting(format!("opening {count} conversations"), count as u64);
    let opened = stream::iter(0..count)
        .map(|index| {
            let done = Arc::clone(&done);
            async move {
                let contact = &contacts[index % contacts.len()];
                let opened = if index < contacts.len() {
                    me.device.open_direct(&contact.account_id).await
                } else {
                    let members = [contact.account_id.clone()];
                    me.device
                        .create_group(&format!("group {index}"), &members)
                        .await
                };
                done.fetch_add(1, Ordering::Relaxed);
                opened.with_context(|| format!("cannot open conversation {index}"))
            }
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await;
    status.finish();
    opened
}

/// One message from the contact in each conversation, every tenth
/// mentioning the account.
async fn fill(me: &Account, contacts: &[Account], conversations: &[String]) -> anyhow::Result<()> {
    let count = conversations.len() as u64;
    let (status, done): (_, Arc<AtomicU64>) =
        progress::counting(format!("sending into {count} conversations"), count);
    let sent = stream::iter(conversations.iter().enumerate())
        .map(|(index, conversation)| {
            let done = Arc::clone(&done);
            async move {
                let contact = &contacts[index % contacts.len()];
                let mut content = MessageContent::text(format!("news {index}"));
                if index % MENTION_EVERY == 0 {
                    content.mentions = vec![me.account_id.clone()];
                }
                let client_msg_id = format!("list-{index}");
                let sent = contact
                    .device
                    .send(conversation, &client_msg_id, content)
                    .await;
                done.fetch_add(1, Ordering::Relaxed);
                sent.with_context(|| format!("cannot send into {conversation}"))
            }
        })
        .buffered(IN_FLIGHT)
        .try_collect::<Vec<_>>()
        .await;
    status.finish();
    sent.map(drop)
}

/// Lists the first page `args.requests` times, one after the other.
async fn list_first_page(
    client: &Client,
    args: &ConversationListArgs,
) -> anyhow::Result<Histogram<u64>> {
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let path = format!("/api/v1/conversations?limit={}", args.page);
    for _ in 0..WARM_UP {
        client.raw(Method::GET, &path, None, None).await?;
    }
    let (status, done) = progress::counting("listing the first page".to_owned(), args.requests);
    for _ in 0..args.requests {
        let started = Instant::now();
        let answer = client.raw(Method::GET, &path, None, None).await?;
        let took = started.elapsed();
        if answer.status != 200 {
            bail!("the list answered {}", answer.status);
        }
        latencies.record((took.as_micros() as u64).max(1))?;
        done.fetch_add(1, Ordering::Relaxed);
    }
    status.finish();
    Ok(latencies)
}

/// Walks every page once; checks that each conversation came once.
async fn walk_all(client: &Client, page: u32, expected: usize) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let (mut pages, mut seen) = (0, std::collections::HashSet::new());
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/conversations?limit={page}&cursor={cursor}"),
            None => format!("/api/v1/conversations?limit={page}"),
        };
        let answer = client.raw(Method::GET, &path, None, None).await?;
        let list: ConversationList = serde_json::from_slice(&answer.body)?;
        pages += 1;
        for conversation in list.conversations {
            if !seen.insert(conversation.conversation_id.clone()) {
                bail!("{} came twice", conversation.conversation_id);
            }
        }
        match list.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if seen.len() != expected {
        bail!("the pages held {} of {expected} conversations", seen.len());
    }
    Ok((pages, started.elapsed().as_secs_f64() * 1000.0))
}
