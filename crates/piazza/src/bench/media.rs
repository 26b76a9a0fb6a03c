//! `piazza bench media`: one large file (200 MiB by default, issue 14's
//! figure) up to the server and back down, streamed both ways. Prints the
//! throughput of each and how much the server's peak resident memory grew
//! while they moved (the target: at most 16 MiB): an upload is written to
//! disk as it arrives and a download read from disk as it goes, so a
//! large file costs the server buffers, not its size. The bytes come back
//! hashed and compared with what was sent.

use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::progress;
use super::report::Report;
use super::server::Server;
use super::setup;

#[derive(clap::Args, Debug)]
pub struct MediaArgs {
    /// Size of the file moved, in MiB
    #[arg(long, default_value_t = 200)]
    pub mib: u64,
}

/// The target from issue 14: the server's peak RSS grows by at most this
/// while a 200 MiB file moves up and down.
const TARGET_RSS_GROWTH_MIB: f64 = 16.0;
/// Bytes the generated file is sent in: what a client reading a file in
/// chunks sends.
const CHUNK: usize = 256 * 1024;

pub async fn run(server: &mut Server, args: &MediaArgs) -> anyhow::Result<Report> {
    if args.mib == 0 || args.mib > 4096 {
        bail!("--mib must be from 1 to 4096");
    }
    let bytes = args.mib * 1024 * 1024;
    let anonymous = piazza_client::Client::new(server.base_url());
    let accounts = setup::create_accounts(&anonymous, 1).await?;
    let device = &accounts[0].device;
    // A small upload first, so the server's first-use allocations are in
    // the baseline, not in the growth.
    device
        .upload_file(vec![1; 64 * 1024], Some("warm.bin"))
        .await?;
    let before = server.peak_rss_kib();

    let status = progress::StatusLine::start(move || format!("moving {} MiB…", bytes >> 20));
    let started = Instant::now();
    let (sent_hash, uploaded) = upload(device, bytes).await?;
    let upload_s = started.elapsed().as_secs_f64();
    let after_upload = server.peak_rss_kib();
    let started = Instant::now();
    let (received, received_hash) = download(device, &uploaded.media_id).await?;
    let download_s = started.elapsed().as_secs_f64();
    drop(status);
    let after = server.peak_rss_kib();
    server.ensure_alive().await?;

    let mut report = Report::new("media");
    report.count("bytes", "bytes moved each way", bytes, "");
    let mib = bytes as f64 / (1024.0 * 1024.0);
    report.measure("upload_mib_s", "upload", mib / upload_s, 0, "MiB/s");
    report.measure("download_mib_s", "download", mib / download_s, 0, "MiB/s");
    report.memory_mib(
        "server_peak_rss_before_mib",
        "server peak RSS before",
        before,
    );
    report.memory_mib(
        "server_peak_rss_upload_mib",
        "server peak RSS after the upload",
        after_upload,
    );
    report.memory_mib(
        "server_peak_rss_after_mib",
        "server peak RSS after both",
        after,
    );
    if let (Some(before), Some(after)) = (before, after) {
        let growth = after.saturating_sub(before) as f64 / 1024.0;
        report.measure(
            "server_rss_growth_mib",
            "server peak RSS growth",
            growth,
            1,
            "MiB",
        );
        if growth > TARGET_RSS_GROWTH_MIB {
            report.fail(format!(
                "the server's peak RSS grew by {growth:.1} MiB, past the {TARGET_RSS_GROWTH_MIB} MiB target"
            ));
        }
    }
    if uploaded.bytes != bytes || received != bytes {
        report.fail(format!(
            "{bytes} bytes sent, {} kept, {received} received",
            uploaded.bytes
        ));
    }
    if sent_hash != received_hash || uploaded.sha256 != piazza_core::media::files::hex(&sent_hash) {
        report.fail("the bytes came back different".to_owned());
    }
    Ok(report)
}

/// Sends `bytes` generated as they go (the bench holds one chunk), hashing
/// them as it does.
async fn upload(
    device: &piazza_client::Client,
    bytes: u64,
) -> anyhow::Result<([u8; 32], piazza_api::MediaUploaded)> {
    let hasher = std::sync::Arc::new(std::sync::Mutex::new(Sha256::new()));
    let chunks = bytes.div_ceil(CHUNK as u64);
    let body = futures_util::stream::iter(0..chunks).map({
        let hasher = std::sync::Arc::clone(&hasher);
        move |index| {
            let start = index * CHUNK as u64;
            let length = (bytes - start).min(CHUNK as u64) as usize;
            let chunk: Vec<u8> = (0..length)
                .map(|i| ((start + i as u64) % 251) as u8)
                .collect();
            hasher.lock().expect("not poisoned").update(&chunk);
            Ok::<_, std::io::Error>(chunk)
        }
    });
    let (uploaded, _) = device
        .upload_stream(reqwest::Body::wrap_stream(body), bytes, Some("bench.bin"))
        .await
        .context("the upload")?;
    let hash = hasher
        .lock()
        .expect("not poisoned")
        .clone()
        .finalize()
        .into();
    Ok((hash, uploaded))
}

/// Reads the media back as it streams, counting and hashing it.
async fn download(
    device: &piazza_client::Client,
    media_id: &str,
) -> anyhow::Result<(u64, [u8; 32])> {
    let response = device
        .media_response(media_id)
        .await
        .context("the download")?;
    let mut stream = response.bytes_stream();
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.context("the download broke off")?;
        received += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((received, hasher.finalize().into()))
}
