//! `piazza bench feed`: one account with hundreds of contacts (issue 15
//! names 500), each of whom posted to Moments many times (20), reads the
//! first page of its feed again and again, as the Moments tab does on
//! every open. The contacts know their neighbours too, and like and
//! comment on each other's newest posts, so the page carries likes and
//! comments for the WeChat rule to sort. Prints the page's latency (p50,
//! p99, max) and the time to walk the whole feed once; then the account
//! posts, one post after the other, and prints what a post costs with
//! that many contacts (each post is written into every contact's inbox:
//! see ARCHITECTURE.md, "Moments: fan-out on write, rules at read").

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use hdrhistogram::Histogram;
use piazza_api::{MomentList, NewMoment};
use reqwest::Method;

use super::progress;
use super::report::Report;
use super::server::Server;
use super::setup::{self, Account};

#[derive(clap::Args, Debug)]
pub struct FeedArgs {
    /// Contacts of the account, each of whom posts
    #[arg(long, default_value_t = 500)]
    pub contacts: usize,
    /// Posts per contact
    #[arg(long, default_value_t = 20)]
    pub posts: usize,
    /// Times the first page is read
    #[arg(long, default_value_t = 1000)]
    pub requests: u64,
    /// Posts per page (the server's default is 20)
    #[arg(long, default_value_t = 20)]
    pub page: u32,
    /// Posts the account makes at the end, each timed
    #[arg(long, default_value_t = 50)]
    pub own_posts: u64,
}

const CONTACTS_MAX: usize = 5000;
const POSTS_MAX: usize = 1000;
/// Set-up calls in flight at once.
const IN_FLIGHT: usize = 32;
/// Each contact's newest posts that its two neighbours like and one
/// comments on.
const LIVELY_POSTS: usize = 5;
/// The target p99 of the first page, from issue 15.
const TARGET_P99_MS: f64 = 20.0;
/// First pages read before measuring.
const WARM_UP: u64 = 100;

pub async fn run(server: &mut Server, args: &FeedArgs) -> anyhow::Result<Report> {
    if !(3..=CONTACTS_MAX).contains(&args.contacts) || !(1..=POSTS_MAX).contains(&args.posts) {
        bail!("--contacts must be from 3 to {CONTACTS_MAX}, --posts from 1 to {POSTS_MAX}");
    }
    if args.requests == 0 || args.page == 0 {
        bail!("--requests and --page must be positive");
    }
    let anonymous = piazza_client::Client::new(server.base_url());
    let accounts = setup::create_accounts(&anonymous, args.contacts + 1).await?;
    let (me, contacts) = accounts.split_first().expect("created");
    setup::befriend_all(me, contacts).await?;
    befriend_neighbours(contacts).await?;
    let posts = post_all(contacts, args.posts).await?;
    liven(contacts, &posts).await?;
    server.ensure_alive().await?;

    let latencies = read_first_page(me, args).await?;
    let (pages, walk_ms) = walk_all(me, args.contacts * args.posts).await?;
    let posting = post_as_me(me, args.own_posts).await?;
    server.ensure_alive().await?;

    let ms = |quantile: f64| latencies.value_at_quantile(quantile) as f64 / 1000.0;
    let mut report = Report::new("feed");
    report.count("contacts", "contacts who post", args.contacts as u64, "");
    report.count(
        "posts",
        "posts in the feed",
        (args.contacts * args.posts) as u64,
        "",
    );
    report.count("page", "posts per page", u64::from(args.page), "");
    report.count("requests", "first pages read", args.requests, "");
    report.measure("first_page_p50_ms", "moments/feed p50", ms(0.5), 2, "ms");
    report.measure("first_page_p99_ms", "moments/feed p99", ms(0.99), 2, "ms");
    report.measure("first_page_max_ms", "moments/feed max", ms(1.0), 2, "ms");
    report.count("walk_pages", "pages to walk the whole feed", pages, "");
    report.measure("walk_ms", "time to walk the whole feed", walk_ms, 1, "ms");
    let post_ms = |quantile: f64| posting.value_at_quantile(quantile) as f64 / 1000.0;
    report.count("own_posts", "posts by the account", args.own_posts, "");
    report.measure("post_p50_ms", "its post, p50", post_ms(0.5), 2, "ms");
    report.measure("post_p99_ms", "its post, p99", post_ms(0.99), 2, "ms");
    report.memory_mib("server_rss_end_mib", "server RSS at end", server.rss_kib());
    if ms(0.99) > TARGET_P99_MS {
        eprintln!("note: the feed's p99 is past the {TARGET_P99_MS} ms target");
    }
    Ok(report)
}

/// Each contact befriends the next one round the ring, so neighbours see
/// (and like) each other's posts.
async fn befriend_neighbours(contacts: &[Account]) -> anyhow::Result<()> {
    let count = contacts.len();
    let (status, done) = progress::counting("befriending neighbours".to_owned(), count as u64);
    let paired = stream::iter(0..count)
        .map(|index| {
            let done = Arc::clone(&done);
            async move {
                let next = &contacts[(index + 1) % count];
                setup::befriend_only(&contacts[index], next).await?;
                done.fetch_add(1, Ordering::Relaxed);
                anyhow::Ok(())
            }
        })
        .buffered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await;
    status.finish();
    paired.map(drop)
}

/// Every contact posts `posts` times, the contacts taking turns so the
/// feed interleaves them; answers each contact's post ids, oldest first.
async fn post_all(contacts: &[Account], posts: usize) -> anyhow::Result<Vec<Vec<String>>> {
    let total = (contacts.len() * posts) as u64;
    let (status, done) = progress::counting(format!("posting {total} moments"), total);
    let mut ids = vec![Vec::with_capacity(posts); contacts.len()];
    for round in 0..posts {
        let posted: Vec<String> = stream::iter(contacts)
            .map(|contact| {
                let done = Arc::clone(&done);
                async move {
                    let moment = NewMoment {
                        text: format!("{} says hello #{round}", contact.username),
                        ..NewMoment::default()
                    };
                    let posted = contact.device.post_moment(&moment).await;
                    done.fetch_add(1, Ordering::Relaxed);
                    posted
                        .map(|created| created.moment_id)
                        .with_context(|| format!("{} cannot post", contact.username))
                }
            })
            .buffered(IN_FLIGHT)
            .try_collect()
            .await?;
        for (index, id) in posted.into_iter().enumerate() {
            ids[index].push(id);
        }
    }
    status.finish();
    Ok(ids)
}

/// On each contact's newest posts, both neighbours like it and the next
/// one comments.
async fn liven(contacts: &[Account], posts: &[Vec<String>]) -> anyhow::Result<()> {
    let count = contacts.len();
    let work: Vec<(usize, &String)> = posts
        .iter()
        .enumerate()
        .flat_map(|(index, ids)| {
            ids.iter()
                .rev()
                .take(LIVELY_POSTS)
                .map(move |id| (index, id))
        })
        .collect();
    let (status, done) = progress::counting("liking and commenting".to_owned(), work.len() as u64);
    let livened = stream::iter(work)
        .map(|(index, moment)| {
            let done = Arc::clone(&done);
            async move {
                let next = &contacts[(index + 1) % count].device;
                let before = &contacts[(index + count - 1) % count].device;
                next.like_moment(moment).await?;
                before.like_moment(moment).await?;
                next.comment_moment(moment, "lovely", None).await?;
                done.fetch_add(1, Ordering::Relaxed);
                anyhow::Ok(())
            }
        })
        .buffered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await;
    status.finish();
    livened.map(drop)
}

/// Reads the first page `args.requests` times, one after the other.
async fn read_first_page(me: &Account, args: &FeedArgs) -> anyhow::Result<Histogram<u64>> {
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let path = format!("/api/v1/moments/feed?limit={}", args.page);
    for _ in 0..WARM_UP {
        me.device.raw(Method::GET, &path, None, None).await?;
    }
    let (status, done) = progress::counting("reading the first page".to_owned(), args.requests);
    for _ in 0..args.requests {
        let started = Instant::now();
        let answer = me.device.raw(Method::GET, &path, None, None).await?;
        let took = started.elapsed();
        if answer.status != 200 {
            bail!("the feed answered {}", answer.status);
        }
        latencies.record((took.as_micros() as u64).max(1))?;
        done.fetch_add(1, Ordering::Relaxed);
    }
    status.finish();
    Ok(latencies)
}

/// `me` posts `count` times, one after the other: each post's latency.
async fn post_as_me(me: &Account, count: u64) -> anyhow::Result<Histogram<u64>> {
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (status, done) = progress::counting("posting as the account".to_owned(), count);
    for number in 0..count {
        let moment = NewMoment {
            text: format!("my news #{number}"),
            ..NewMoment::default()
        };
        let started = Instant::now();
        me.device
            .post_moment(&moment)
            .await
            .context("the account cannot post")?;
        latencies.record((started.elapsed().as_micros() as u64).max(1))?;
        done.fetch_add(1, Ordering::Relaxed);
    }
    status.finish();
    Ok(latencies)
}

/// Walks the whole feed once; checks that each post came once.
async fn walk_all(me: &Account, expected: usize) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let (mut pages, mut seen) = (0, std::collections::HashSet::new());
    let mut cursor: Option<String> = None;
    loop {
        let list: MomentList = me.device.moments_feed(cursor.as_deref(), Some(50)).await?;
        pages += 1;
        for moment in list.moments {
            if !seen.insert(moment.moment_id.clone()) {
                bail!("{} came twice", moment.moment_id);
            }
        }
        match list.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if seen.len() != expected {
        bail!("the pages held {} of {expected} posts", seen.len());
    }
    Ok((pages, started.elapsed().as_secs_f64() * 1000.0))
}
