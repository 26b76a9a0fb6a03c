//! Media kept in an S3-compatible bucket (`--media-store s3://…`) instead
//! of the data dir: the same uploads, downloads, ranges and pictures,
//! against a real S3-compatible server started here (moto's server, from
//! PyPI; `.ci/run` installs it), through `piazza serve` run as an operator
//! runs it, its keys in the standard `AWS_*` environment. Without
//! `moto_server` on the PATH the test says so and passes, except in CI
//! (`CI` set), where it must run.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use tokio::io::AsyncBufReadExt;

use crate::helpers::*;

/// A moto server on a free port of loopback, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_moto() -> Option<Moto> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let spawned = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match spawned {
        Ok(child) => child,
        Err(error) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: no moto_server ({error}); `pip install 'moto[server]'` runs it");
            return None;
        }
        Err(error) => panic!("CI runs this against moto_server: {error}"),
    };
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    for _ in 0..100 {
        let bucket = http
            .put(format!("{}/piazza-media", moto.endpoint))
            .send()
            .await;
        if bucket.is_ok_and(|answer| answer.status().is_success()) {
            return Some(moto);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto_server did not answer on {}", moto.endpoint);
}

#[tokio::test]
async fn media_live_in_an_s3_bucket_when_the_config_says_so() {
    let Some(moto) = start_moto().await else {
        return;
    };
    let store = format!(
        "s3://piazza-media/chat?endpoint={}&allow_http=true",
        moto.endpoint
    );
    let (app, _server) = serve_with_media_store(&store).await;
    let (ann, bob) = (app.signup("ann").await, app.signup("bob").await);
    let direct = befriend(&ann, &bob).await;

    // A file of 9 MiB goes up in parts; the data dir keeps none of it.
    let bytes: Vec<u8> = (0..9 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let (file, _) = ann
        .client
        .upload_file(bytes.clone(), Some("big.bin"))
        .await
        .unwrap();
    ann.client
        .send_media(&direct, "f-1", &file.media_id, None, None)
        .await
        .unwrap();
    let fetched = bob.client.media(&file.media_id).await.unwrap();
    assert!(
        fetched.bytes == bytes,
        "the same bytes back from the bucket"
    );
    let part = bob
        .client
        .raw_with_headers(
            Method::GET,
            &format!("/api/v1/media/{}", file.media_id),
            None,
            None,
            &[("range", "bytes=5000000-5000009")],
        )
        .await
        .unwrap();
    assert_eq!(
        (part.status, part.body.as_slice()),
        (206, &bytes[5_000_000..5_000_010])
    );
    let in_data_dir = walk(&app.data_dir().join("media"));
    assert_eq!(in_data_dir, 0, "no media bytes in the data dir");

    // A picture's thumbnail is made from the bucket and kept there.
    let (picture, _) = ann
        .client
        .upload_media(crate::media::TINY_PNG.to_vec(), "image/png")
        .await
        .unwrap();
    ann.client
        .send_image(&direct, "p-1", &picture.media_id, "")
        .await
        .unwrap();
    let thumbnail = bob.client.media_thumbnail(&picture.media_id).await.unwrap();
    assert!(image::load_from_memory(&thumbnail.bytes).is_ok());
    let listing = reqwest::get(format!("{}/piazza-media?list-type=2", moto.endpoint))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listing.contains(&format!("chat/{}", &file.sha256[..2])),
        "{listing}"
    );
    assert!(listing.contains(".thumb"), "{listing}");
}

/// `piazza serve` on SQLite with its media in `store`, its keys (any do
/// for moto) in the environment; stopped when the child is dropped.
async fn serve_with_media_store(store: &str) -> (TestApp, tokio::process::Child) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_piazza"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--media-store",
            store,
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("PIAZZA_DATABASE_URL")
        .env("AWS_ACCESS_KEY_ID", "piazza-test")
        .env("AWS_SECRET_ACCESS_KEY", "piazza-test")
        .env("AWS_REGION", "us-east-1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("piazza serve starts");
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut first))
        .await
        .expect("the first line in time")
        .unwrap();
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the first line is {first:?}"))
        .trim_end()
        .to_owned();
    (TestApp::elsewhere(addr, dir), child)
}

/// Files under `dir`, staged ones aside (they are gone once kept).
fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .map(|entry| entry.unwrap().path())
            .map(|path| if path.is_dir() { walk(&path) } else { 1 })
            .sum()
    })
}
