//! `piazza bench backup`: `admin backup` of a large SQLite server while
//! it takes messages. The store is filled with messages written straight
//! into it (`bench_seed`, as `bench search` does) and the media folder
//! with random files named by their hash, to the sizes asked; then
//! senders post messages over HTTP back to back, first for a quiet
//! window and then for as long as the backup runs. It reports the
//! backup's time and rate, and the messages per second and latencies in
//! both windows, with their ratio.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use piazza_client::Client;
use piazza_domain::{AccountId, ConversationId};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::progress::StatusLine;
use super::report::Report;
use super::server::Server;
use super::setup;

#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    /// Messages written into the store before the backup
    #[arg(long, default_value_t = 10_000_000)]
    pub messages: usize,
    /// GiB of media files beside the store
    #[arg(long, default_value_t = 8)]
    pub media_gib: u64,
    /// Concurrent HTTP senders during both windows (even)
    #[arg(long, default_value_t = 16)]
    pub senders: usize,
    /// The quiet window's length
    #[arg(long, default_value_t = 10)]
    pub quiet_s: u64,
    /// Back up once at each of these paces (MiB/s), as `admin backup
    /// --max-mib-s`; 0, flat out
    #[arg(long, value_delimiter = ',', default_value = "0,200")]
    pub max_mib_s: Vec<u64>,
}

/// One media file's size: a photo or a short video's worth.
const MEDIA_FILE_BYTES: usize = 4 * 1024 * 1024;

pub fn validate(args: &BackupArgs) -> anyhow::Result<()> {
    if args.senders < 2 || !args.senders.is_multiple_of(2) || args.quiet_s == 0 {
        bail!("--senders must be even and at least 2, and --quiet-s positive");
    }
    Ok(())
}

pub async fn run(server: &mut Server, args: &BackupArgs) -> anyhow::Result<Report> {
    let mut report = Report::new("backup");
    let anonymous = Client::new(server.base_url());
    let accounts = setup::create_accounts(&anonymous, args.senders).await?;
    let conversations = setup::pair_up(&accounts).await?;
    let data_dir = server
        .stop()
        .await?
        .context("the bench fills the store of a server it starts: it cannot run with --attach")?;
    fill(&data_dir, &accounts, &conversations, args)?;
    server.start_again().await?;
    let archive = data_dir.with_file_name("bench-backup.tar");
    // The server listens on a new port after its restart.
    let anonymous = Client::new(server.base_url());
    let mut senders = Vec::new();
    for (account, conversation) in accounts
        .iter()
        .zip(conversations.iter().flat_map(|c| [c, c]))
    {
        let device = setup::new_device(&anonymous, account, "bench").await?;
        senders.push((device, conversation.clone()));
    }
    let quiet = Window::measure(&senders, Duration::from_secs(args.quiet_s), async {
        anyhow::Ok(())
    })
    .await?;
    quiet.report(&mut report, "quiet", "no backup".to_owned());
    for &max_mib_s in &args.max_mib_s {
        let pace = match max_mib_s {
            0 => "flat out".to_owned(),
            rate => format!("at most {rate} MiB/s"),
        };
        let started = Instant::now();
        let backup = crate::admin::backup::backup(crate::admin::backup::BackupArgs {
            data_dir: data_dir.clone(),
            to: archive.clone(),
            max_mib_s,
        });
        let during = Window::measure(&senders, Duration::ZERO, backup).await?;
        let took = started.elapsed().as_secs_f64();
        let bytes = std::fs::metadata(&archive)?.len();
        std::fs::remove_file(&archive)?;
        report.text(
            leak(format!("backup_{max_mib_s}")),
            "backup",
            format!(
                "{pace}: {:.2} GiB in {took:.1} s ({:.0} MiB/s)",
                bytes as f64 / GIB,
                bytes as f64 / took / MIB
            ),
        );
        let during_key = leak(format!("during_{max_mib_s}"));
        during.report(&mut report, during_key, format!("during it ({pace})"));
        report.text(
            leak(format!("during_ratio_{max_mib_s}")),
            "messages/s during it ÷ quiet",
            format!("{:.2}", during.rate() / quiet.rate()),
        );
    }
    Ok(report)
}

/// A report's keys and labels live as long as the run: a few, once.
fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

/// Writes `args.messages` messages into the stopped server's store and
/// `args.media_gib` of media files beside it.
fn fill(
    data_dir: &Path,
    accounts: &[setup::Account],
    conversations: &[String],
    args: &BackupArgs,
) -> anyhow::Result<()> {
    let senders: Vec<(ConversationId, AccountId)> = accounts
        .chunks_exact(2)
        .zip(conversations)
        .map(|(pair, conversation)| {
            Ok((
                ConversationId::parse(conversation)?,
                AccountId::parse(&pair[0].account_id)?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let corpus = super::search::Corpus::new();
    let written = Arc::new(AtomicU64::new(0));
    let total = args.messages;
    let status = StatusLine::start({
        let written = Arc::clone(&written);
        move || {
            format!(
                "writing messages… {}/{total}",
                written.load(Ordering::Relaxed)
            )
        }
    });
    // A few hundred thousand at a time: the texts are held in memory.
    for chunk in (0..total).step_by(250_000) {
        let texts = corpus.texts((total - chunk).min(250_000));
        let seeded = tokio::task::block_in_place(|| {
            piazza_sqlite::bench_seed::seed_messages(data_dir, &senders, &texts)
        })?;
        written.fetch_add(seeded, Ordering::Relaxed);
    }
    status.finish();
    let files = args.media_gib * 1024 * 1024 * 1024 / MEDIA_FILE_BYTES as u64;
    let written = Arc::new(AtomicU64::new(0));
    let status = StatusLine::start({
        let written = Arc::clone(&written);
        move || {
            format!(
                "writing media files… {}/{files}",
                written.load(Ordering::Relaxed)
            )
        }
    });
    let media = data_dir.join(piazza_core::media::files::MEDIA_DIR);
    tokio::task::block_in_place(|| -> anyhow::Result<()> {
        let mut bytes = vec![0; MEDIA_FILE_BYTES];
        for _ in 0..files {
            rand::rng().fill_bytes(&mut bytes);
            let hex = piazza_core::media::files::hex(&Sha256::digest(&bytes).into());
            let shard = media.join(&hex[..2]);
            std::fs::create_dir_all(&shard)?;
            std::fs::File::create(shard.join(&hex))?.write_all(&bytes)?;
            written.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    })?;
    status.finish();
    Ok(())
}

/// Messages sent in one window and their latencies.
struct Window {
    sent: u64,
    took: Duration,
    latencies: Histogram<u64>,
}

impl Window {
    /// Sends from every sender back to back until `until` is done and at
    /// least `length` has passed.
    async fn measure(
        senders: &[(Client, String)],
        length: Duration,
        until: impl Future<Output = anyhow::Result<()>>,
    ) -> anyhow::Result<Window> {
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let tasks: Vec<_> = senders
            .iter()
            .map(|(client, conversation)| {
                tokio::spawn(send_until(
                    client.clone(),
                    conversation.clone(),
                    Arc::clone(&stop),
                ))
            })
            .collect();
        until.await?;
        let left = length.saturating_sub(started.elapsed());
        tokio::time::sleep(left).await;
        stop.store(true, Ordering::Relaxed);
        let took = started.elapsed();
        let mut window = Window {
            sent: 0,
            took,
            latencies: Histogram::new(3)?,
        };
        for task in tasks {
            let latencies = task.await??;
            window.sent += latencies.len();
            window.latencies.add(&latencies)?;
        }
        Ok(window)
    }

    fn rate(&self) -> f64 {
        self.sent as f64 / self.took.as_secs_f64()
    }

    fn report(&self, report: &mut Report, key: &'static str, label: String) {
        let ms = |quantile: f64| self.latencies.value_at_quantile(quantile) as f64 / 1000.0;
        report.text(
            key,
            leak(label),
            format!(
                "{:.0} msg/s over {:.1} s · p50 {:.1} ms · p99 {:.1} ms",
                self.rate(),
                self.took.as_secs_f64(),
                ms(0.5),
                ms(0.99)
            ),
        );
    }
}

/// Posts messages to `conversation` back to back until `stop`; their
/// latencies in µs.
async fn send_until(
    client: Client,
    conversation: String,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Histogram<u64>> {
    let mut latencies = Histogram::new(3)?;
    let tag = rand::random::<u64>();
    for sent in 0u64.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let started = Instant::now();
        client
            .send_message(
                &conversation,
                &format!("{tag:x}-{sent}"),
                "during the backup",
            )
            .await?;
        latencies.record(started.elapsed().as_micros() as u64)?;
    }
    Ok(latencies)
}
