//! `piazza bench channel`: what publishing costs, and who hears of it
//! when. Two parts:
//!
//! - **Fan-out.** A small channel (1,000 followers) and a big one
//!   (1,000,000), side by side. Followers beyond the online ones are
//!   written straight into the stopped server's store (`bench_seed` in
//!   each engine): they are real rows the fan-out must walk, but a million
//!   sign-ups through the API would take hours. Then the server starts
//!   again and the online followers sign up: they follow both channels,
//!   hold a socket, and come *last* in the fan-out's account order, so the
//!   time until every one of them is told is the time of the whole
//!   fan-out. Each round publishes to the small channel, then to the big
//!   one and, at once, to the small one again (a publish while a million-
//!   follower fan-out runs). Prints each publish's latency and the time
//!   until every online follower's socket had `article.published`.
//! - **Subscriptions feed.** One account follows 500 channels that have
//!   published 4 articles each, and reads the feed's first page again and
//!   again: p50, p99, max.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use hdrhistogram::Histogram;
use piazza_api::channels::{CreateChannel, PublishArticle};
use piazza_client::{Client, Incoming, SocketReceiver};
use piazza_domain::ChannelId;
use piazza_domain::channel::CHANNELS_PER_OWNER_MAX;
use reqwest::Method;

use super::progress::{self, StatusLine};
use super::report::Report;
use super::server::Server;
use super::setup::{self, Account};

#[derive(clap::Args, Debug)]
pub struct ChannelArgs {
    /// Followers of the small channel
    #[arg(long, default_value_t = 1_000)]
    pub small: u64,
    /// Followers of the big channel
    #[arg(long, default_value_t = 1_000_000)]
    pub big: u64,
    /// Followers of both that are online, each with a socket (counted in
    /// --small and --big)
    #[arg(long, default_value_t = 100)]
    pub online: usize,
    /// Publishes to each channel
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Channels the subscriptions feed's reader follows
    #[arg(long, default_value_t = 500)]
    pub channels: usize,
    /// Articles each of those channels publishes
    #[arg(long, default_value_t = 4)]
    pub articles: usize,
    /// Times the subscriptions feed's first page is read
    #[arg(long, default_value_t = 1000)]
    pub requests: u64,
}

/// Set-up calls in flight at once.
const IN_FLIGHT: usize = 32;
/// Followers a bench may seed: beyond, the disk, not the code, is tested.
const FOLLOWERS_MAX: u64 = 10_000_000;
/// How long every online follower may take to hear of one article: a
/// minute, and a second more per thousand followers (ten times the
/// slowest fan-out measured).
fn told_timeout(followers: u64) -> Duration {
    Duration::from_secs(60 + followers / 1000)
}
/// The subscriptions feed's target p99, from issue 15.
const TARGET_FEED_P99_MS: f64 = 20.0;
/// The pause before each round, so a round's publishes do not meet the
/// last round's big fan-out still being written back by the database.
const SETTLE: Duration = Duration::from_secs(1);
/// First pages read before measuring.
const WARM_UP: u64 = 100;

/// When each article (by id) reached each online socket, in µs since the
/// fan-out part began: the latest arrival so far, and how many arrived.
type Arrivals = Arc<Mutex<HashMap<String, (u64, u64)>>>;

pub fn validate(args: &ChannelArgs) -> anyhow::Result<()> {
    if args.online == 0 || args.online as u64 > args.small || args.small > args.big {
        bail!("need 0 < --online ≤ --small ≤ --big");
    }
    if args.big > FOLLOWERS_MAX || args.rounds == 0 || args.rounds > 100 {
        bail!("--big must be at most {FOLLOWERS_MAX} and --rounds from 1 to 100");
    }
    let channels_max = 100 * CHANNELS_PER_OWNER_MAX;
    if !(1..=channels_max).contains(&args.channels) || !(1..=100).contains(&args.articles) {
        bail!("--channels must be from 1 to {channels_max} and --articles from 1 to 100");
    }
    if args.requests == 0 {
        bail!("--requests must be positive");
    }
    Ok(())
}

pub async fn run(
    server: &mut Server,
    args: &ChannelArgs,
    database_url: Option<&str>,
) -> anyhow::Result<Report> {
    let mut report = Report::new("channel");
    let feed = feed_part(server, args).await?;
    let fanout = fanout_part(server, args, database_url).await?;
    server.ensure_alive().await?;
    report_fanout(&mut report, args, &fanout);
    report_feed(&mut report, args, &feed);
    report.memory_mib("server_rss_end_mib", "server RSS at end", server.rss_kib());
    Ok(report)
}

// ----------------------------------------------------------------- the feed

/// Owners make `args.channels` channels, the reader follows them all,
/// each publishes `args.articles` times; then the reader reads its first
/// page `args.requests` times.
async fn feed_part(server: &Server, args: &ChannelArgs) -> anyhow::Result<Histogram<u64>> {
    let anonymous = Client::new(server.base_url());
    let owners = args.channels.div_ceil(CHANNELS_PER_OWNER_MAX);
    let accounts = setup::create_accounts(&anonymous, owners + 1).await?;
    let (reader, owners) = accounts.split_first().expect("created");
    let channels = create_channels(owners, args.channels).await?;
    follow_all(std::slice::from_ref(reader), &channels).await?;
    publish_all(owners, &channels, args.articles).await?;
    read_feed(reader, args.requests).await
}

/// Channel `i` belongs to owner `i / CHANNELS_PER_OWNER_MAX`; answers
/// each channel's owner index and id.
async fn create_channels(owners: &[Account], count: usize) -> anyhow::Result<Vec<(usize, String)>> {
    let tag = format!("{:08x}", rand::random::<u32>());
    let (status, done) = progress::counting(format!("creating {count} channels"), count as u64);
    let created = stream::iter(0..count)
        .map(|index| {
            let (done, tag) = (Arc::clone(&done), &tag);
            async move {
                let owner = index / CHANNELS_PER_OWNER_MAX;
                let id = create_channel(&owners[owner].device, &format!("c{tag}_{index}")).await?;
                done.fetch_add(1, Ordering::Relaxed);
                anyhow::Ok((owner, id))
            }
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await;
    status.finish();
    created
}

async fn create_channel(owner: &Client, handle: &str) -> anyhow::Result<String> {
    let channel = CreateChannel {
        handle: handle.to_owned(),
        name: format!("Bench {handle}"),
        description: "A channel of the bench".to_owned(),
        avatar_media_id: None,
    };
    let created = owner
        .create_channel(&channel)
        .await
        .with_context(|| format!("cannot create channel {handle}"))?;
    Ok(created.channel_id)
}

/// Every one of `followers` follows every one of `channels`.
async fn follow_all(followers: &[Account], channels: &[(usize, String)]) -> anyhow::Result<()> {
    let work: Vec<(&Account, &String)> = followers
        .iter()
        .flat_map(|follower| channels.iter().map(move |(_, id)| (follower, id)))
        .collect();
    let (status, done) = progress::counting("following".to_owned(), work.len() as u64);
    let followed = stream::iter(work)
        .map(|(follower, channel)| {
            let done = Arc::clone(&done);
            async move {
                follower
                    .device
                    .follow_channel(channel)
                    .await
                    .with_context(|| format!("{} cannot follow", follower.username))?;
                done.fetch_add(1, Ordering::Relaxed);
                anyhow::Ok(())
            }
        })
        .buffered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await;
    status.finish();
    followed.map(drop)
}

/// Each channel publishes `articles` times, the channels taking turns so
/// the feed interleaves them.
async fn publish_all(
    owners: &[Account],
    channels: &[(usize, String)],
    articles: usize,
) -> anyhow::Result<()> {
    let total = (channels.len() * articles) as u64;
    let (status, done) = progress::counting(format!("publishing {total} articles"), total);
    for round in 0..articles {
        stream::iter(channels)
            .map(|(owner, channel)| {
                let done = Arc::clone(&done);
                async move {
                    publish(&owners[*owner].device, channel, round).await?;
                    done.fetch_add(1, Ordering::Relaxed);
                    anyhow::Ok(())
                }
            })
            .buffered(IN_FLIGHT)
            .try_collect::<Vec<()>>()
            .await?;
    }
    status.finish();
    Ok(())
}

/// One article to `channel`: answers its id.
async fn publish(owner: &Client, channel: &str, number: usize) -> anyhow::Result<String> {
    let article = PublishArticle {
        title: format!("News #{number}"),
        body_markdown: format!("Article **{number}** of the bench.\n\nA second paragraph."),
        cover_media_id: None,
    };
    let created = owner
        .publish_article(channel, &article)
        .await
        .with_context(|| format!("cannot publish to {channel}"))?;
    Ok(created.article_id)
}

/// Reads the subscriptions feed's first page `requests` times, one after
/// the other, after a warm-up.
async fn read_feed(reader: &Account, requests: u64) -> anyhow::Result<Histogram<u64>> {
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let path = "/api/v1/subscriptions/feed";
    for _ in 0..WARM_UP {
        reader.device.raw(Method::GET, path, None, None).await?;
    }
    let (status, done) = progress::counting("reading the subscriptions feed".to_owned(), requests);
    for _ in 0..requests {
        let started = Instant::now();
        let answer = reader.device.raw(Method::GET, path, None, None).await?;
        let took = started.elapsed();
        if answer.status != 200 {
            bail!("the subscriptions feed answered {}", answer.status);
        }
        latencies.record((took.as_micros() as u64).max(1))?;
        done.fetch_add(1, Ordering::Relaxed);
    }
    status.finish();
    Ok(latencies)
}

// ------------------------------------------------------------------ fan-out

/// Each round's figures, in ms.
#[derive(Default)]
struct Fanout {
    publish_small: Vec<f64>,
    publish_big: Vec<f64>,
    publish_during: Vec<f64>,
    told_small: Vec<f64>,
    told_big: Vec<f64>,
    told_during: Vec<f64>,
    failures: Vec<String>,
}

/// Two channels, seeded with followers while the server is stopped; then
/// the online followers, and the rounds.
async fn fanout_part(
    server: &mut Server,
    args: &ChannelArgs,
    database_url: Option<&str>,
) -> anyhow::Result<Fanout> {
    let anonymous = Client::new(server.base_url());
    let publisher = setup::create_accounts(&anonymous, 1).await?.remove(0);
    let tag = format!("{:08x}", rand::random::<u32>());
    let small = create_channel(&publisher.device, &format!("s{tag}")).await?;
    let big = create_channel(&publisher.device, &format!("b{tag}")).await?;
    let offline = |followers: u64| followers - args.online as u64;
    let data_dir = server
        .stop()
        .await?
        .context("the bench writes followers into the store: it cannot run with --attach")?;
    for (channel, count) in [(&small, offline(args.small)), (&big, offline(args.big))] {
        seed(&data_dir, database_url, channel, count)?;
    }
    server.start_again().await?;
    let anonymous = Client::new(server.base_url());
    let publisher = setup::new_device(&anonymous, &publisher, "bench").await?;
    let online = setup::create_accounts(&anonymous, args.online).await?;
    let both = [(0, small.clone()), (0, big.clone())];
    follow_all(&online, &both).await?;
    let started = Instant::now();
    let arrivals: Arrivals = Arc::default();
    for socket in setup::open_sockets(&online).await? {
        let (_sender, receiver) = socket.split();
        tokio::spawn(note_arrivals(receiver, started, Arc::clone(&arrivals)));
    }
    let rounds = Rounds {
        publisher: &publisher,
        small: &small,
        big: &big,
        online: args.online as u64,
        followers: args.big,
        started,
        arrivals: &arrivals,
    };
    let mut fanout = Fanout::default();
    // Unmeasured: the first publish after a start warms the server's caches.
    let (warm_up, at_us, _) = rounds.publish(&small, 0).await?;
    rounds.told(&warm_up, at_us, &mut fanout.failures).await?;
    for round in 1..=args.rounds {
        tokio::time::sleep(SETTLE).await;
        rounds.run(round, &mut fanout).await?;
    }
    Ok(fanout)
}

/// Writes `count` followers of `channel` into the stopped server's store.
fn seed(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    channel: &str,
    count: u64,
) -> anyhow::Result<()> {
    let channel = ChannelId::parse(channel).context("the server answered a bad channel id")?;
    let status = StatusLine::start(move || format!("writing {count} followers of {channel}…"));
    let seeded = match database_url {
        // The synchronous client runs its own runtime: not on this one's.
        Some(url) => tokio::task::block_in_place(|| {
            piazza_postgres::bench_seed::seed_followers(url, channel, count)
        })
        .map_err(anyhow::Error::from),
        None => piazza_sqlite::bench_seed::seed_followers(data_dir, channel, count)
            .map_err(anyhow::Error::from),
    };
    status.finish();
    seeded.with_context(|| format!("cannot write the followers of {channel}"))?;
    Ok(())
}

/// What one round needs.
struct Rounds<'a> {
    publisher: &'a Client,
    small: &'a str,
    big: &'a str,
    online: u64,
    /// Of the big channel, for how long to wait.
    followers: u64,
    started: Instant,
    arrivals: &'a Arrivals,
}

impl Rounds<'_> {
    /// Publishes to the small channel and waits for its online followers;
    /// then to the big one and at once to the small one again, and waits
    /// for both.
    async fn run(&self, round: usize, fanout: &mut Fanout) -> anyhow::Result<()> {
        let (article, at_us, took) = self.publish(self.small, round).await?;
        fanout.publish_small.push(took);
        let told = self.told(&article, at_us, &mut fanout.failures).await?;
        fanout.told_small.push(told);

        let (big, big_at_us, took) = self.publish(self.big, round).await?;
        fanout.publish_big.push(took);
        let (during, during_at_us, took) = self.publish(self.small, round).await?;
        fanout.publish_during.push(took);
        let told = self
            .told(&during, during_at_us, &mut fanout.failures)
            .await?;
        fanout.told_during.push(told);
        let told = self.told(&big, big_at_us, &mut fanout.failures).await?;
        fanout.told_big.push(told);
        Ok(())
    }

    /// Answers the article, when the publish began (µs since `started`),
    /// and how long it took in ms.
    async fn publish(&self, channel: &str, round: usize) -> anyhow::Result<(String, u64, f64)> {
        let at_us = self.started.elapsed().as_micros() as u64;
        let began = Instant::now();
        let article = publish(self.publisher, channel, round).await?;
        Ok((article, at_us, began.elapsed().as_secs_f64() * 1000.0))
    }

    /// Waits until every online follower was told of `article`; answers
    /// the ms from its publish to the last of them.
    async fn told(
        &self,
        article: &str,
        at_us: u64,
        failures: &mut Vec<String>,
    ) -> anyhow::Result<f64> {
        let (online, arrivals) = (self.online, Arc::clone(self.arrivals));
        let shown = article.to_owned();
        let status = StatusLine::start(move || {
            let told = arrivals
                .lock()
                .expect("arrivals")
                .get(&shown)
                .map_or(0, |a| a.1);
            format!("{told} of {online} online followers told of {shown}…")
        });
        let deadline = Instant::now() + told_timeout(self.followers);
        let (last_us, count) = loop {
            let seen = self
                .arrivals
                .lock()
                .expect("arrivals")
                .get(article)
                .copied();
            match seen {
                Some((last_us, count)) if count >= self.online => break (last_us, count),
                _ if Instant::now() > deadline => bail!("{article} did not reach every follower"),
                _ => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        };
        status.finish();
        if count > self.online {
            failures.push(format!(
                "{article} came {count} times to {} sockets",
                self.online
            ));
        }
        Ok(last_us.saturating_sub(at_us) as f64 / 1000.0)
    }
}

/// Notes when each `article.published` reaches this socket.
async fn note_arrivals(mut receiver: SocketReceiver, started: Instant, arrivals: Arrivals) {
    while let Some(incoming) = receiver.next().await {
        let Ok(Incoming::Event(event)) = incoming else {
            continue;
        };
        if event.type_ != "article.published" {
            continue;
        }
        let at_us = started.elapsed().as_micros() as u64;
        if let Some(article) = event.fields.get("article_id").and_then(|id| id.as_str()) {
            let mut arrivals = arrivals.lock().expect("arrivals");
            let entry = arrivals.entry(article.to_owned()).or_insert((0, 0));
            entry.0 = entry.0.max(at_us);
            entry.1 += 1;
        }
    }
}

// ------------------------------------------------------------------ figures

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}

fn report_fanout(report: &mut Report, args: &ChannelArgs, fanout: &Fanout) {
    report.count(
        "small_followers",
        "small channel: followers",
        args.small,
        "",
    );
    report.count("big_followers", "big channel: followers", args.big, "");
    report.count("online", "online followers of both", args.online as u64, "");
    report.count("rounds", "publishes to each", args.rounds as u64, "");
    for (key, label, value) in [
        (
            "publish_small_ms",
            "publish, small: median",
            median(&fanout.publish_small),
        ),
        (
            "publish_small_max_ms",
            "publish, small: max",
            max(&fanout.publish_small),
        ),
        (
            "publish_big_ms",
            "publish, big: median",
            median(&fanout.publish_big),
        ),
        (
            "publish_big_max_ms",
            "publish, big: max",
            max(&fanout.publish_big),
        ),
        (
            "publish_during_ms",
            "publish, small during big's fan-out: median",
            median(&fanout.publish_during),
        ),
        (
            "told_small_ms",
            "every online told, small: median",
            median(&fanout.told_small),
        ),
        (
            "told_big_ms",
            "every online told, big: median",
            median(&fanout.told_big),
        ),
        (
            "told_during_ms",
            "every online told, small during big's: median",
            median(&fanout.told_during),
        ),
    ] {
        report.measure(key, label, value, 1, "ms");
    }
    let ratio = median(&fanout.publish_big) / median(&fanout.publish_small);
    report.measure(
        "publish_ratio",
        "publish latency, big / small",
        ratio,
        2,
        "×",
    );
    let per_s = args.big as f64 / (median(&fanout.told_big) / 1000.0);
    report.measure(
        "fanout_per_s",
        "big fan-out: followers told/s",
        per_s,
        0,
        "/s",
    );
    for failure in &fanout.failures {
        report.fail(failure.clone());
    }
}

fn report_feed(report: &mut Report, args: &ChannelArgs, latencies: &Histogram<u64>) {
    let ms = |quantile: f64| latencies.value_at_quantile(quantile) as f64 / 1000.0;
    report.count(
        "feed_channels",
        "feed: channels followed",
        args.channels as u64,
        "",
    );
    let articles = (args.channels * args.articles) as u64;
    report.count("feed_articles", "feed: articles in it", articles, "");
    report.count("feed_requests", "feed: first pages read", args.requests, "");
    report.measure("feed_p50_ms", "subscriptions/feed p50", ms(0.5), 2, "ms");
    report.measure("feed_p99_ms", "subscriptions/feed p99", ms(0.99), 2, "ms");
    report.measure("feed_max_ms", "subscriptions/feed max", ms(1.0), 2, "ms");
    if ms(0.99) > TARGET_FEED_P99_MS {
        eprintln!("note: the subscriptions feed's p99 is past the {TARGET_FEED_P99_MS} ms target");
    }
}
