//! `piazza bench search`: one account's conversations hold a million
//! messages; how long the indexer takes to index them (an existing
//! server's history, after an upgrade), what the index weighs per
//! message, and how fast that account's searches answer, over HTTP:
//! one word (as typed: the last word also matches longer ones), two
//! words, and a two-character Chinese word, p50 and p99 of each.
//!
//! The messages are written straight into the stopped server's store
//! (`bench_seed` in each engine): a million sends through the API would
//! measure sending. Their text is made here, the same every run: words
//! drawn from a vocabulary of 5,000 with Zipf's law (as words in real
//! text are), and one message in six with a run of Chinese.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use hdrhistogram::Histogram;
use piazza_client::Search;
use piazza_domain::{AccountId, ConversationId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::progress::StatusLine;
use super::report::Report;
use super::server::Server;
use super::setup::{self, Account};

#[derive(clap::Args, Debug)]
pub struct SearchArgs {
    /// Messages in the searching account's conversations
    #[arg(long, default_value_t = 1_000_000)]
    pub messages: usize,
    /// Direct conversations they are spread over
    #[arg(long, default_value_t = 100)]
    pub conversations: usize,
    /// Searches timed of each kind
    #[arg(long, default_value_t = 300)]
    pub queries: usize,
}

/// The target for one- and two-word searches.
const TARGET_P99_MS: f64 = 50.0;
const VOCABULARY: usize = 5_000;
/// Common Chinese characters, the runs' alphabet.
const HANZI: &str = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持音容";

pub fn validate(args: &SearchArgs) -> anyhow::Result<()> {
    if !(1..=10_000_000).contains(&args.messages) || !(1..=1000).contains(&args.conversations) {
        bail!("--messages must be from 1 to 10,000,000 and --conversations from 1 to 1000");
    }
    if args.queries == 0 {
        bail!("--queries must be positive");
    }
    Ok(())
}

pub async fn run(
    server: &mut Server,
    args: &SearchArgs,
    database_url: Option<&str>,
) -> anyhow::Result<Report> {
    let mut report = Report::new("search");
    let corpus = Corpus::new();
    let anonymous = piazza_client::Client::new(server.base_url());
    let mut accounts = setup::create_accounts(&anonymous, args.conversations + 1).await?;
    let searcher = accounts.remove(0);
    let senders = conversations(&searcher, &accounts).await?;
    let texts = corpus.texts(args.messages);
    let data_dir = server
        .stop()
        .await?
        .context("the bench writes messages into the store: it cannot run with --attach")?;
    seed(&data_dir, database_url, &senders, &texts)?;
    let before = store_bytes(&data_dir, database_url)?;
    drop(texts);
    server.start_again().await?;
    let started = Instant::now();
    wait_indexed(&data_dir, database_url).await?;
    let took = started.elapsed().as_secs_f64();
    let index = store_bytes(&data_dir, database_url)?.saturating_sub(before);
    if let Some(url) = database_url {
        // As autovacuum leaves it once the burst is over (a fresh bulk
        // load's index-only probes would visit the heap each time).
        let status = StatusLine::start(|| "vacuuming, as autovacuum would…".to_owned());
        tokio::task::block_in_place(|| piazza_postgres::bench_seed::vacuum_search(url))?;
        status.finish();
    }
    report.count("messages", "messages searched", args.messages as u64, "");
    report.measure("index_s", "indexing them, from a restart", took, 1, "s");
    report.measure(
        "index_rate",
        "indexed per second",
        args.messages as f64 / took,
        0,
        "msg/s",
    );
    report.measure(
        "index_bytes_per_message",
        "index size per message",
        index as f64 / args.messages as f64,
        0,
        "B",
    );
    let anonymous = piazza_client::Client::new(server.base_url());
    let searcher = setup::new_device(&anonymous, &searcher, "bench").await?;
    for (kind, queries) in corpus.queries(args.queries) {
        let latencies = time_searches(&searcher, kind, &queries).await?;
        let ms = |quantile: f64| latencies.value_at_quantile(quantile) as f64 / 1000.0;
        report.text(
            kind.key,
            kind.label,
            format!(
                "p50 {:.1} ms · p99 {:.1} ms · max {:.1} ms",
                ms(0.5),
                ms(0.99),
                ms(1.0)
            ),
        );
        if kind.targeted && ms(0.99) > TARGET_P99_MS {
            report.fail(format!(
                "{}: p99 {:.1} ms, over the {TARGET_P99_MS} ms target",
                kind.label,
                ms(0.99)
            ));
        }
    }
    report.memory_mib("server_rss_end_mib", "server RSS at end", server.rss_kib());
    Ok(report)
}

/// Opens a direct conversation between `searcher` and each of `peers`;
/// answers each with the peer as its messages' sender.
async fn conversations(
    searcher: &Account,
    peers: &[Account],
) -> anyhow::Result<Vec<(ConversationId, AccountId)>> {
    setup::befriend_all(searcher, peers).await?;
    stream::iter(peers)
        .map(|peer| async move {
            let conversation = searcher.device.open_direct(&peer.account_id).await?;
            let conversation = ConversationId::parse(&conversation)?;
            anyhow::Ok((conversation, AccountId::parse(&peer.account_id)?))
        })
        .buffered(16)
        .try_collect()
        .await
}

fn seed(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    senders: &[(ConversationId, AccountId)],
    texts: &[String],
) -> anyhow::Result<()> {
    let count = texts.len();
    let status = StatusLine::start(move || format!("writing {count} messages…"));
    let seeded = match database_url {
        // The synchronous client runs its own runtime: not on this one's.
        Some(url) => tokio::task::block_in_place(|| {
            piazza_postgres::bench_seed::seed_messages(url, senders, texts)
        })
        .map_err(anyhow::Error::from),
        None => piazza_sqlite::bench_seed::seed_messages(data_dir, senders, texts)
            .map_err(anyhow::Error::from),
    };
    status.finish();
    seeded.context("cannot write the messages")?;
    Ok(())
}

/// The bytes the store takes (SQLite) or search's tables (PostgreSQL).
fn store_bytes(data_dir: &std::path::Path, database_url: Option<&str>) -> anyhow::Result<u64> {
    Ok(match database_url {
        Some(url) => {
            tokio::task::block_in_place(|| piazza_postgres::bench_seed::search_bytes(url))?
        }
        None => piazza_sqlite::bench_seed::store_bytes(data_dir)?,
    })
}

/// Waits for the indexer to have indexed every message, showing how far.
async fn wait_indexed(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
) -> anyhow::Result<()> {
    let waiting = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(-1));
    let shown = std::sync::Arc::clone(&waiting);
    let status = StatusLine::start(move || {
        format!(
            "indexing: {} messages to go…",
            shown.load(std::sync::atomic::Ordering::Relaxed)
        )
    });
    loop {
        let (_, _, left) = match database_url {
            Some(url) => {
                tokio::task::block_in_place(|| piazza_postgres::integrity::search_progress(url))?
            }
            None => piazza_sqlite::integrity::search_progress(data_dir)?,
        };
        waiting.store(left, std::sync::atomic::Ordering::Relaxed);
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    status.finish();
    Ok(())
}

/// A kind of query and how it is reported.
#[derive(Debug, Clone, Copy)]
struct Kind {
    key: &'static str,
    label: &'static str,
    /// Held to the p99 target.
    targeted: bool,
}

async fn time_searches(
    device: &piazza_client::Client,
    kind: Kind,
    queries: &[String],
) -> anyhow::Result<Histogram<u64>> {
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let status = StatusLine::start(move || format!("searching: {}…", kind.label));
    for q in queries {
        let started = Instant::now();
        device
            .search(&Search::messages(q))
            .await
            .with_context(|| format!("searching {q:?}"))?;
        latencies.record((started.elapsed().as_micros() as u64).max(1))?;
    }
    status.finish();
    Ok(latencies)
}

/// The bench's made-up language, the same every run.
pub(super) struct Corpus {
    words: Vec<String>,
    /// Zipf's weights, summed: word `r` is drawn with weight 1 / (r + 1).
    cumulative: Vec<f64>,
    hanzi: Vec<char>,
}

impl Corpus {
    pub(super) fn new() -> Corpus {
        let mut rng = StdRng::seed_from_u64(18);
        let syllables: Vec<String> = "bcdfglmnprstvz"
            .chars()
            .flat_map(|c| "aeiou".chars().map(move |v| format!("{c}{v}")))
            .collect();
        let mut words = Vec::with_capacity(VOCABULARY);
        let mut seen = std::collections::HashSet::new();
        while words.len() < VOCABULARY {
            let length = rng.random_range(1..=4);
            let word: String = (0..length)
                .map(|_| syllables[rng.random_range(0..syllables.len())].as_str())
                .collect();
            if seen.insert(word.clone()) {
                words.push(word);
            }
        }
        let mut sum = 0.0;
        let cumulative = (0..VOCABULARY)
            .map(|rank| {
                sum += 1.0 / (rank + 1) as f64;
                sum
            })
            .collect();
        Corpus {
            words,
            cumulative,
            hanzi: HANZI.chars().collect(),
        }
    }

    fn word(&self, rng: &mut StdRng) -> &str {
        let total = *self.cumulative.last().expect("a vocabulary");
        let at = rng.random::<f64>() * total;
        &self.words[self
            .cumulative
            .partition_point(|sum| *sum < at)
            .min(VOCABULARY - 1)]
    }

    fn hanzi_run(&self, rng: &mut StdRng, length: usize) -> String {
        (0..length)
            .map(|_| {
                let skewed = (rng.random::<f64>().powi(2) * self.hanzi.len() as f64) as usize;
                self.hanzi[skewed.min(self.hanzi.len() - 1)]
            })
            .collect()
    }

    pub(super) fn texts(&self, count: usize) -> Vec<String> {
        let mut rng = StdRng::seed_from_u64(7);
        (0..count)
            .map(|_| {
                let mut words: Vec<String> = (0..rng.random_range(4..=14))
                    .map(|_| self.word(&mut rng).to_owned())
                    .collect();
                if rng.random_range(0..6) == 0 {
                    let length = rng.random_range(4..=12);
                    words.insert(
                        rng.random_range(0..words.len()),
                        self.hanzi_run(&mut rng, length),
                    );
                }
                words.join(" ")
            })
            .collect()
    }

    /// `count` queries of each kind.
    fn queries(&self, count: usize) -> Vec<(Kind, Vec<String>)> {
        let mut rng = StdRng::seed_from_u64(42);
        let one = (0..count).map(|_| self.word(&mut rng).to_owned()).collect();
        let two = (0..count)
            .map(|_| format!("{} {}", self.word(&mut rng), self.word(&mut rng)))
            .collect();
        let cjk = (0..count).map(|_| self.hanzi_run(&mut rng, 2)).collect();
        vec![
            (
                Kind {
                    key: "one_word",
                    label: "one word, as typed",
                    targeted: true,
                },
                one,
            ),
            (
                Kind {
                    key: "two_words",
                    label: "two words",
                    targeted: true,
                },
                two,
            ),
            (
                Kind {
                    key: "chinese_word",
                    label: "a two-character Chinese word",
                    targeted: true,
                },
                cjk,
            ),
        ]
    }
}
