//! Media under fire: files uploaded while the server is killed. Every
//! acknowledged upload must come back whole, byte for byte, after any
//! number of restarts; an upload the kill cut off is sent again, and must
//! then be stored once (the same bytes again answer the same media).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::bail;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use piazza_client::Client;
use rand::rngs::StdRng;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

use super::{Answer, Member, Outcome, Recovered, Workload, answer, settled};

/// Uploaders, each one worker (uploads take one turn per account).
const UPLOADERS: usize = 2;
/// The sizes of the files, in bytes: from one 256 KiB staging buffer's
/// worth to a few of them, so a kill lands mid-stream too.
const SIZES: std::ops::Range<usize> = 1_024..640 * 1_024;

pub struct Media {
    uploaders: Vec<Member>,
    /// Numbers each file, across rounds.
    next: AtomicU64,
    book: Mutex<Book>,
}

/// A file as uploaded: all it takes to send it again.
#[derive(Debug, Clone)]
struct File {
    uploader: usize,
    name: String,
    bytes: Vec<u8>,
}

#[derive(Default)]
struct Book {
    /// media id → the file it was acknowledged for.
    acked: HashMap<String, File>,
    /// Uploads the kill left without an answer.
    in_flight: Vec<File>,
}

impl Media {
    pub async fn setup(server: &Client) -> anyhow::Result<Media> {
        let mut uploaders = Vec::new();
        for index in 0..UPLOADERS {
            uploaders.push(Member::create(server, &format!("chaos_media_{index}")).await?);
        }
        Ok(Media {
            uploaders,
            next: AtomicU64::new(0),
            book: Mutex::default(),
        })
    }

    async fn upload(
        &self,
        server: &Client,
        uploader: usize,
        rng: &mut StdRng,
    ) -> anyhow::Result<Outcome> {
        let number = self.next.fetch_add(1, Ordering::SeqCst);
        // The number first: no two files are the same bytes.
        let mut bytes = vec![0; rng.random_range(SIZES)];
        rng.fill_bytes(&mut bytes);
        bytes[..8].copy_from_slice(&number.to_be_bytes());
        let file = File {
            uploader,
            name: format!("chaos-{number}.bin"),
            bytes,
        };
        let client = self.uploaders[uploader].on(server);
        let result = client
            .upload_file(file.bytes.clone(), Some(&file.name))
            .await;
        match answer(result, "an upload")? {
            Answer::Ok((uploaded, replayed)) => {
                if replayed {
                    bail!(
                        "{} is new but was answered as one uploaded before",
                        file.name
                    );
                }
                check_answer(&file, &uploaded)?;
                let mut book = self.book.lock().expect("the media book");
                book.acked.insert(uploaded.media_id, file);
                Ok(Outcome::Acknowledged)
            }
            Answer::Lost => {
                self.book
                    .lock()
                    .expect("the media book")
                    .in_flight
                    .push(file);
                Ok(Outcome::InFlight)
            }
            Answer::Throttled => Ok(Outcome::Idle),
            Answer::Refused => Ok(Outcome::Refused),
        }
    }

    /// Sends each cut-off upload twice: the second must answer the first's
    /// media (stored once, whether or not the kill came after the commit).
    async fn recover_all(&self, server: &Client) -> anyhow::Result<Recovered> {
        let in_flight = std::mem::take(&mut self.book.lock().expect("the media book").in_flight);
        let mut already_stored = 0;
        for file in &in_flight {
            let client = self.uploaders[file.uploader].on(server);
            let what = format!("uploading {} again", file.name);
            let upload = || client.upload_file(file.bytes.clone(), Some(&file.name));
            let (first, first_replayed) = settled(&what, upload).await?;
            let (again, replayed) = settled(&what, upload).await?;
            if !replayed || again.media_id != first.media_id {
                bail!(
                    "{} was stored twice: {} then {}",
                    file.name,
                    first.media_id,
                    again.media_id
                );
            }
            check_answer(file, &first)?;
            already_stored += u64::from(first_replayed);
            let mut book = self.book.lock().expect("the media book");
            book.acked.insert(first.media_id, file.clone());
        }
        Ok(Recovered {
            retried: in_flight.len() as u64,
            already_stored,
        })
    }

    /// Every acknowledged upload, downloaded whole and compared.
    async fn verify_all(&self, server: &Client) -> anyhow::Result<u64> {
        let acked: Vec<(String, File)> = {
            let book = self.book.lock().expect("the media book");
            book.acked
                .iter()
                .map(|(id, file)| (id.clone(), file.clone()))
                .collect()
        };
        for (media_id, file) in &acked {
            let client = self.uploaders[file.uploader].on(server);
            let what = format!("downloading {media_id} ({})", file.name);
            let downloaded = settled(&what, || client.media(media_id)).await?;
            if downloaded.bytes != file.bytes {
                bail!(
                    "{media_id} ({}) came back as {} bytes unlike the {} uploaded",
                    file.name,
                    downloaded.bytes.len(),
                    file.bytes.len()
                );
            }
        }
        Ok(acked.len() as u64)
    }
}

/// The answer to an upload must name the bytes sent.
fn check_answer(file: &File, uploaded: &piazza_api::MediaUploaded) -> anyhow::Result<()> {
    let sha256 = piazza_core::media::files::hex(&Sha256::digest(&file.bytes).into());
    if uploaded.sha256 != sha256 || uploaded.bytes != file.bytes.len() as u64 {
        bail!(
            "{} was answered as {} bytes with SHA-256 {}, not {} bytes with {sha256}",
            file.name,
            uploaded.bytes,
            uploaded.sha256,
            file.bytes.len()
        );
    }
    Ok(())
}

impl Workload for Media {
    fn name(&self) -> &'static str {
        "media"
    }

    fn workers(&self) -> usize {
        UPLOADERS
    }

    fn step<'a>(
        &'a self,
        server: &'a Client,
        worker: usize,
        rng: &'a mut StdRng,
    ) -> BoxFuture<'a, anyhow::Result<Outcome>> {
        self.upload(server, worker, rng).boxed()
    }

    fn recover<'a>(&'a self, server: &'a Client) -> BoxFuture<'a, anyhow::Result<Recovered>> {
        self.recover_all(server).boxed()
    }

    fn verify<'a>(&'a self, server: &'a Client) -> BoxFuture<'a, anyhow::Result<u64>> {
        self.verify_all(server).boxed()
    }
}
