//! `piazza bench export`: the export of an account with a long history
//! and a gigabyte of media (issue 18: 100,000 messages and 1 GiB), made
//! as it downloads. Two contacts fill their conversation through the API
//! (messages, then files of a few MiB each, half the media from each, so
//! neither passes its quota); the second exports once to warm the server,
//! then the first exports three times. Each run's time and rate are
//! printed, with the median, and how far the server's resident memory rose
//! above where it stood before the runs: sampled every 10 ms during each
//! download, and the kernel's own high-water mark over all of them. The
//! target: at most 64 MiB of growth. Every zip is read through and its
//! central directory counted, so a run that broke off cannot pass.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use piazza_client::Client;
use rand::RngCore;

use super::progress;
use super::report::Report;
use super::server::{Server, read_status_kib};
use super::setup;

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Messages in the exported account's conversation
    #[arg(long, default_value_t = 100_000)]
    pub messages: usize,
    /// MiB of media its messages show (4 MiB files, half sent by each side)
    #[arg(long, default_value_t = 1024)]
    pub media_mib: u64,
}

/// Issue 18's target: the server's memory grows by at most this while an
/// export downloads.
const TARGET_GROWTH_MIB: f64 = 64.0;
const FILE_MIB: u64 = 4;
/// Message sends in flight at once.
const SENDS_IN_FLIGHT: usize = 64;
/// Measured runs: an account may export three times a day.
const RUNS: usize = piazza_core::exports::EXPORTS_PER_DAY;

pub fn validate(args: &ExportArgs) -> anyhow::Result<()> {
    if args.media_mib > 2 * 1024 - 2 * FILE_MIB {
        bail!("--media-mib is split between two accounts of 1 GiB quota each: at most 2040");
    }
    Ok(())
}

pub async fn run(server: &mut Server, args: &ExportArgs) -> anyhow::Result<Report> {
    let anonymous = Client::new(server.base_url());
    let accounts = setup::create_accounts(&anonymous, 2).await?;
    let conversation = setup::pair_up(&accounts).await?.remove(0);
    send_messages(&accounts, &conversation, args.messages).await?;
    send_media(&accounts, &conversation, args.media_mib / FILE_MIB).await?;

    let mut report = Report::new("export");
    report.count(
        "messages",
        "messages in its conversation",
        args.messages as u64,
        "",
    );
    report.count(
        "media_mib",
        "media its messages show",
        args.media_mib,
        "MiB",
    );
    let warm = export_once(server, &accounts[1].device).await?;
    report.measure(
        "warm_s",
        "the other side's export (warm-up)",
        warm.seconds,
        2,
        "s",
    );
    let before = server.rss_kib();
    let mut runs = Vec::new();
    for run in 0..RUNS {
        let done = export_once(server, &accounts[0].device).await?;
        eprintln!(
            "run {}: {:.2} s, {:.0} MiB, {} files, RSS peak {:.1} MiB",
            run + 1,
            done.seconds,
            done.bytes as f64 / MIB,
            done.files,
            done.rss_peak_kib as f64 / 1024.0
        );
        runs.push(done);
    }
    let high_water = server.peak_rss_kib();
    server.ensure_alive().await?;
    write_report(&mut report, &runs, before, high_water, args);
    Ok(report)
}

const MIB: f64 = 1024.0 * 1024.0;

fn write_report(
    report: &mut Report,
    runs: &[Done],
    before: Option<u64>,
    high_water: Option<u64>,
    args: &ExportArgs,
) {
    let mut seconds: Vec<f64> = runs.iter().map(|run| run.seconds).collect();
    seconds.sort_by(f64::total_cmp);
    let median = seconds[seconds.len() / 2];
    let bytes = runs[0].bytes;
    report.measure("zip_mib", "zip size", bytes as f64 / MIB, 0, "MiB");
    report.count("zip_files", "files in the zip", runs[0].files, "");
    report.text(
        "runs_s",
        "each run",
        seconds
            .iter()
            .map(|s| format!("{s:.2} s"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    report.measure("median_s", "median time", median, 2, "s");
    report.measure(
        "median_mib_s",
        "median rate",
        bytes as f64 / MIB / median,
        0,
        "MiB/s",
    );
    report.memory_mib("rss_before_mib", "server RSS before the runs", before);
    let sampled = runs.iter().map(|run| run.rss_peak_kib).max();
    report.memory_mib("rss_peak_sampled_mib", "server RSS peak, sampled", sampled);
    report.memory_mib(
        "rss_high_water_mib",
        "server RSS high-water mark",
        high_water,
    );
    if let (Some(before), Some(sampled)) = (before, sampled) {
        let growth = sampled.saturating_sub(before) as f64 / 1024.0;
        report.measure(
            "growth_mib",
            "growth (sampled peak - before)",
            growth,
            1,
            "MiB",
        );
        if growth > TARGET_GROWTH_MIB {
            report.fail(format!(
                "the server's memory grew by {growth:.1} MiB during an export, past the \
                 {TARGET_GROWTH_MIB} MiB target"
            ));
        }
    }
    if runs.iter().any(|run| run.bytes < args.media_mib << 20) {
        report.fail("a zip is smaller than the media it must hold".to_owned());
    }
}

/// Sends `total` messages into `conversation`, alternating sides.
async fn send_messages(
    accounts: &[setup::Account],
    conversation: &str,
    total: usize,
) -> anyhow::Result<()> {
    let (status, done) = progress::counting(format!("sending {total} messages"), total as u64);
    let run = format!("{:08x}", rand::random::<u32>());
    stream::iter(0..total)
        .map(|index| {
            let (device, done) = (&accounts[index % 2].device, Arc::clone(&done));
            let (id, text) = (format!("{run}-{index}"), message_text(index));
            async move {
                device.send_message(conversation, &id, &text).await?;
                done.fetch_add(1, Ordering::Relaxed);
                anyhow::Ok(())
            }
        })
        .buffer_unordered(SENDS_IN_FLIGHT)
        .try_collect::<()>()
        .await?;
    status.finish();
    Ok(())
}

/// A chat line of a plausible length, different for each message.
fn message_text(index: usize) -> String {
    const WORDS: [&str; 12] = [
        "harbour", "tomorrow", "dinner", "train", "photos", "meeting", "weekend", "coffee",
        "delayed", "lovely", "tickets", "raining",
    ];
    let words = 4 + index % 9;
    (0..words)
        .map(|word| WORDS[(index * 7 + word * 5) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Uploads `files` files of random bytes, half from each side (each side
/// one at a time, as the server takes an account's uploads), and sends
/// each as a `file` message.
async fn send_media(
    accounts: &[setup::Account],
    conversation: &str,
    files: u64,
) -> anyhow::Result<()> {
    let (status, done) = progress::counting(format!("sending {files} files"), files);
    let sides = accounts.iter().enumerate().map(|(side, account)| {
        let done = Arc::clone(&done);
        async move {
            let mut bytes = vec![0u8; (FILE_MIB << 20) as usize];
            for index in (side as u64..files).step_by(2) {
                rand::rng().fill_bytes(&mut bytes);
                let device = &account.device;
                let name = format!("file-{index}.bin");
                let (uploaded, _) = device.upload_file(bytes.clone(), Some(&name)).await?;
                let id = format!("media-{index}-{}", uploaded.media_id);
                device
                    .send_media(conversation, &id, &uploaded.media_id, Some("file"), None)
                    .await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }
    });
    futures_util::future::try_join_all(sides).await?;
    status.finish();
    Ok(())
}

/// One export, downloaded and read through.
struct Done {
    seconds: f64,
    bytes: u64,
    files: u64,
    rss_peak_kib: u64,
}

async fn export_once(server: &Server, device: &Client) -> anyhow::Result<Done> {
    let pid = server.pid();
    let (sampling, peak) = (Arc::new(AtomicBool::new(true)), Arc::new(AtomicU64::new(0)));
    let sampler = tokio::spawn({
        let (sampling, peak) = (Arc::clone(&sampling), Arc::clone(&peak));
        async move {
            while sampling.load(Ordering::Relaxed) {
                if let Some(kib) = pid.and_then(|pid| read_status_kib(pid, "VmRSS:")) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });
    let received = Arc::new(AtomicU64::new(0));
    let status = progress::StatusLine::start({
        let received = Arc::clone(&received);
        move || {
            let mib = received.load(Ordering::Relaxed) as f64 / MIB;
            format!("exporting… {mib:.0} MiB")
        }
    });
    let started = Instant::now();
    let asked = device
        .start_export()
        .await
        .context("asking for an export")?;
    let response = device
        .export_download(&asked.export_id)
        .await
        .context("the export's download")?;
    let mut body = response.bytes_stream();
    let mut tail = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.context("the export broke off")?;
        received.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        keep_tail(&mut tail, &chunk);
    }
    let seconds = started.elapsed().as_secs_f64();
    status.finish();
    sampling.store(false, Ordering::Relaxed);
    sampler.await?;
    Ok(Done {
        seconds,
        bytes: received.load(Ordering::Relaxed),
        files: zip_entries(&tail)?,
        rss_peak_kib: peak.load(Ordering::Relaxed),
    })
}

/// The last bytes of a zip hold its end-of-central-directory record.
const TAIL_BYTES: usize = 64 * 1024;

fn keep_tail(tail: &mut Vec<u8>, chunk: &[u8]) {
    tail.extend_from_slice(chunk);
    if tail.len() > 2 * TAIL_BYTES {
        tail.drain(..tail.len() - TAIL_BYTES);
    }
}

/// The entry count of the zip ending in `tail`: its ZIP64 end record if
/// it has one (a zip past 4 GiB or 65,535 entries), else its classic one.
fn zip_entries(tail: &[u8]) -> anyhow::Result<u64> {
    let find = |signature: &[u8]| tail.windows(4).rposition(|window| window == signature);
    let le = |at: usize, len: usize| {
        tail[at..at + len]
            .iter()
            .rev()
            .fold(0u64, |sum, &byte| sum << 8 | u64::from(byte))
    };
    if let Some(at) = find(b"PK\x06\x06").filter(|&at| at + 40 <= tail.len()) {
        return Ok(le(at + 32, 8));
    }
    let at = find(b"PK\x05\x06")
        .filter(|&at| at + 22 <= tail.len())
        .context("the export is not a whole zip: no end of central directory")?;
    Ok(le(at + 10, 2))
}
