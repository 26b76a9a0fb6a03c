//! Piazza's rules, written once above the storage engines.
//!
//! [`Core`] is what the server calls: one method per use case, defined in
//! the module of its area (`accounts.rs`, …). A use case is a plain
//! function over [`engine::Tx`] (a write, run inside one transaction of
//! the engine) or [`engine::Read`]; it checks the rules and asks the
//! engine for data, never for SQL. Engines (`piazza-sqlite`,
//! `piazza-postgres`) implement [`engine::Engine`] and the data traits;
//! the binary picks one. See ARCHITECTURE.md, "Rules and engines".

pub mod account_deletion;
pub mod accounts;
pub mod blocks;
pub mod channels;
pub mod chat;
pub mod contact_codes;
pub mod contacts;
pub mod engine;
pub mod exports;
pub mod groups;
pub mod integrity;
pub mod leases;
pub mod login_requests;
pub mod media;
pub mod moments;
pub mod pay;
pub mod presence;
pub mod profiles;
pub mod search;
pub mod shops;

use std::path::Path;
use std::sync::Arc;

use piazza_domain::store::{Answer, StoreResult};

pub use engine::{Engine, Error, Lane, Read, Result, Tx};

/// The rules over one engine.
#[derive(Clone)]
pub struct Core {
    engine: Arc<dyn Engine>,
    /// Uploaded media's bytes, in the data directory or the blob store
    /// the config names, whatever the engine (`media.rs`).
    media: Arc<media::MediaFiles>,
}

impl Core {
    /// The rules over `engine`, with media files under `data_dir`.
    pub fn new(engine: Arc<dyn Engine>, data_dir: &Path) -> Core {
        Core::with_blobs(engine, data_dir, None)
    }

    /// The rules over `engine`, with media bytes in `blobs` (the data dir's
    /// files when `None`) and uploads staged under `data_dir`.
    pub fn with_blobs(
        engine: Arc<dyn Engine>,
        data_dir: &Path,
        blobs: Option<Arc<dyn media::blobs::BlobStore>>,
    ) -> Core {
        Core {
            engine,
            media: Arc::new(media::MediaFiles::new(data_dir, blobs)),
        }
    }

    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    /// Runs `job` in a transaction of the engine and answers after COMMIT.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        job: impl FnMut(&mut dyn Tx) -> Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.write_in(Lane::Any, job).await
    }

    /// As [`Core::write`], in `lane` ([`Lane`]: a hot path's).
    pub(crate) async fn write_in<T: Send + 'static>(
        &self,
        lane: Lane,
        job: impl FnMut(&mut dyn Tx) -> Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.queue(lane, job).await?.await
    }

    /// Queues `job` in `lane`; the answer resolves after its COMMIT.
    pub(crate) async fn queue<T: Send + 'static>(
        &self,
        lane: Lane,
        mut job: impl FnMut(&mut dyn Tx) -> Result<T> + Send + 'static,
    ) -> StoreResult<Answer<T>> {
        let committed = self
            .engine
            .queue(
                lane,
                Box::new(move |tx| Ok(Box::new(job(tx)?) as engine::Done)),
            )
            .await?;
        Ok(Box::pin(async move {
            let done = committed.await?;
            Ok(*done.downcast::<T>().expect("a job answers its own type"))
        }))
    }

    /// As [`Core::write`], for a job that makes every refusal before its
    /// first change, which an engine may run without a savepoint of its
    /// own ([`Engine::queue_refusing_first`]).
    pub(crate) async fn write_refusing_first<T: Send + 'static>(
        &self,
        lane: Lane,
        mut job: impl FnMut(&mut dyn Tx) -> Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let committed = self
            .engine
            .queue_refusing_first(
                lane,
                Box::new(move |tx| Ok(Box::new(job(tx)?) as engine::Done)),
            )
            .await?;
        let done = committed.await?;
        Ok(*done.downcast::<T>().expect("a job answers its own type"))
    }

    /// Runs `job` on a read connection of the engine.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut dyn Read) -> Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let done = self
            .engine
            .read(Box::new(move |read| {
                Ok(Box::new(job(read)?) as engine::Done)
            }))
            .await?;
        Ok(*done.downcast::<T>().expect("a job answers its own type"))
    }

    /// The store can serve: its writer runs, its database answers, no
    /// damage was found.
    pub async fn check_health(&self) -> StoreResult<()> {
        Ok(self.engine.check_health().await?)
    }

    /// Damage was found in the store: no money may move.
    pub fn money_halted(&self) -> bool {
        self.engine.money_halted()
    }

    /// Finishes the writes already queued, then stops the engine. Blocks.
    pub fn shut_down(&self) {
        self.engine.shut_down();
    }
}
