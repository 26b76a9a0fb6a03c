//! The zip of an export (`piazza_core::exports`), written as it is
//! downloaded: a thread of its own reads what the account
//! holds page by page and writes the zip into a bounded channel the
//! response streams from, so the server holds a few pages and a few
//! chunks of it, never the whole (zip's `new_stream`: entries end with
//! data descriptors, no seeking back). A download cut off stops the
//! thread at its next write.
//!
//! Inside: `README.txt` (this layout), `account.json` (the profile, as
//! `GET /api/v1/me`), `contacts.jsonl` (as `GET /api/v1/contacts`),
//! `events.jsonl` (the account's whole log, every event as `GET
//! /api/v1/sync` gives it: every conversation's messages it can see, its
//! moments, money, orders, …), `statement.jsonl` (the wallet statement,
//! newest first), `moments.jsonl` (its own posts with their likes and
//! comments), `channels.jsonl` and `articles.jsonl` (the channels it owns
//! and all their articles), `orders.jsonl` (the orders it placed),
//! `media.jsonl` and `media/<media_id>` (the bytes of its avatar, of its
//! moments' and its channels' pictures, and of every media its messages
//! show that it may still read).

use std::collections::HashSet;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use piazza_core::media::Reading;
use piazza_domain::{AccountId, LogSeq, MediaId, Rejection, StoreError};
use serde::Serialize;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;

use crate::App;

/// Chunks in flight between the writing thread and the response.
const CHUNKS_IN_FLIGHT: usize = 8;
const CHUNK_BYTES: usize = 64 * 1024;
/// Log entries read a page at a time.
const LOG_PAGE: u32 = 500;
const LIST_PAGE: u32 = 200;

const README: &str = "\
Your Piazza data, as the server held it when this file was made.

account.json     your profile, as GET /api/v1/me answers it
contacts.jsonl   your contacts, one per line, as GET /api/v1/contacts lists them
events.jsonl     everything your account saw, oldest first, one event per line,
                 exactly as GET /api/v1/sync gives it: every message of every
                 conversation you could see, transfers, red packets, what
                 happened to your orders, ... Each line has `type`, `at` and `cursor`,
                 and the fields the API documents for its type (docs/api.md).
statement.jsonl  your wallet statement, newest first
moments.jsonl    your own moments, newest first, with their likes and comments
channels.jsonl   the channels you own
articles.jsonl   every article of those channels, newest first, with its text
orders.jsonl     the orders you placed, newest first
media.jsonl      the media below: media_id, content_type and bytes
media/<id>       the bytes of your avatar, of your moments' and channels'
                 pictures, and of each picture, voice note, video and file
                 your messages show that you may still open (a picture
                 the server could not read, and so not clean of its
                 metadata, is left out)

All times are RFC 3339 (UTC); money is in minor units (cents, fen).
";

/// Exports written at once on a node: each holds a thread of its own
/// and reads the store without pause.
const EXPORTS_AT_ONCE: usize = 4;
/// A download that takes nothing for this long is given up.
const STALL_MAX: Duration = Duration::from_secs(120);

/// The accounts whose export this node is writing: one each, and
/// [`EXPORTS_AT_ONCE`] in all.
#[derive(Default)]
pub struct Running {
    accounts: Mutex<HashSet<AccountId>>,
}

/// A place among the exports being written, given back when dropped.
pub struct Slot {
    running: Arc<Running>,
    account: AccountId,
}

impl Running {
    /// A place for `account`'s export, unless it has one already or the
    /// node writes as many as it may.
    pub fn take(self: &Arc<Self>, account: AccountId) -> Option<Slot> {
        let mut accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        if accounts.len() >= EXPORTS_AT_ONCE || !accounts.insert(account) {
            return None;
        }
        Some(Slot {
            running: Arc::clone(self),
            account,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut accounts = self
            .running
            .accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        accounts.remove(&self.account);
    }
}

/// The zip of `account`'s export, as a stream of chunks, written by a
/// thread of its own (not the runtime's blocking pool, whose threads its
/// store reads need) holding `slot`. An export that fails (or panics)
/// ends the stream with an error, never as a zip that looks whole.
pub fn stream(app: App, account: AccountId, slot: Slot) -> mpsc::Receiver<io::Result<Bytes>> {
    let (sender, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let handle = Handle::current();
    let spawned = std::thread::Builder::new()
        .name("piazza-export".into())
        .spawn({
            let sender = sender.clone();
            move || {
                let _slot = slot;
                let sink = ChannelWriter {
                    sender: sender.clone(),
                    buffer: Vec::with_capacity(CHUNK_BYTES),
                };
                let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    write_zip(&handle, &app, account, sink)
                }));
                let failed = match written {
                    Ok(Ok(())) => return,
                    Ok(Err(error)) => error.to_string(),
                    Err(_) => "the export's writer panicked".to_owned(),
                };
                tracing::warn!(error = failed, %account, "an export stopped");
                let _ = sender.try_send(Err(io::Error::other(failed)));
            }
        });
    if let Err(error) = spawned {
        let _ = sender.try_send(Err(error));
    }
    receiver
}

fn write_zip(
    handle: &Handle,
    app: &App,
    account: AccountId,
    sink: ChannelWriter,
) -> anyhow::Result<()> {
    let mut zip = zip::ZipWriter::new_stream(sink);
    let text = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    zip.start_file("README.txt", text)?;
    zip.write_all(README.as_bytes())?;
    let me = handle.block_on(app.store.account(account))?;
    zip.start_file("account.json", text)?;
    serde_json::to_writer_pretty(&mut zip, &crate::routes::profiles::me_view(&me))?;
    zip.start_file("contacts.jsonl", text)?;
    write_contacts(handle, app, account, &mut zip)?;
    let mut media = Shown::default();
    media.add(me.avatar_media_id);
    zip.start_file("events.jsonl", text)?;
    let hidden = deleted_for_me(handle, app, account)?;
    write_events(handle, app, account, &hidden, &mut zip, &mut media)?;
    zip.start_file("statement.jsonl", text)?;
    write_statement(handle, app, account, &mut zip)?;
    zip.start_file("moments.jsonl", text)?;
    write_moments(handle, app, account, &mut zip, &mut media)?;
    write_channels(handle, app, account, &mut zip, text, &mut media)?;
    zip.start_file("orders.jsonl", text)?;
    write_orders(handle, app, account, &mut zip)?;
    write_media(handle, app, account, &media.order, &mut zip, text)?;
    zip.finish()?.into_inner().flush()?;
    Ok(())
}

/// The media the export holds the bytes of, each once, in the order met.
#[derive(Default)]
struct Shown {
    order: Vec<MediaId>,
    seen: HashSet<MediaId>,
}

impl Shown {
    fn add(&mut self, media: Option<MediaId>) {
        if let Some(media) = media
            && self.seen.insert(media)
        {
            self.order.push(media);
        }
    }
}

fn line(out: &mut impl Write, value: &impl Serialize) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn write_contacts(
    handle: &Handle,
    app: &App,
    account: AccountId,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut after = None;
    loop {
        let page = handle.block_on(app.store.contacts(account, after.clone(), LIST_PAGE))?;
        for contact in &page.items {
            line(out, &crate::routes::contacts::contact_view(contact))?;
        }
        match page.items.last() {
            Some(last) if page.has_more => after = Some(last.account.username.clone()),
            _ => return Ok(()),
        }
    }
}

/// Calls `each` with every event of `account`'s log, oldest first, a
/// page at a time.
fn each_event(
    handle: &Handle,
    app: &App,
    account: AccountId,
    mut each: impl FnMut(piazza_api::EventView) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut after = LogSeq::START;
    loop {
        let page = handle.block_on(app.store.log_after(account, after, LOG_PAGE))?;
        for entry in &page.entries {
            each(crate::events::to_view(entry))?;
        }
        if !page.has_more || page.end <= after {
            return Ok(());
        }
        after = page.end;
    }
}

/// The messages the account deleted for itself: a first pass over the
/// log, since its `message.deleted` comes after the message.
fn deleted_for_me(
    handle: &Handle,
    app: &App,
    account: AccountId,
) -> anyhow::Result<HashSet<String>> {
    let mut hidden = HashSet::new();
    each_event(handle, app, account, |view| {
        if view.type_ == "message.deleted"
            && let Some(id) = view.fields.get("message_id").and_then(|id| id.as_str())
        {
            hidden.insert(id.to_owned());
        }
        Ok(())
    })?;
    Ok(hidden)
}

/// Writes the whole log but what the account deleted for itself; adds
/// the media its messages show to `media`.
fn write_events(
    handle: &Handle,
    app: &App,
    account: AccountId,
    hidden: &HashSet<String>,
    out: &mut impl Write,
    media: &mut Shown,
) -> anyhow::Result<()> {
    each_event(handle, app, account, |view| {
        let message = view.fields.get("message_id").and_then(|id| id.as_str());
        if message.is_some_and(|id| hidden.contains(id)) {
            return Ok(());
        }
        media.add(shown_media(&view));
        line(out, &view)
    })
}

/// The media a message event shows: its `ref`, for the kinds that are a
/// media (`image`, `voice`, `video`, `file`).
fn shown_media(view: &piazza_api::EventView) -> Option<MediaId> {
    let kind = view.fields.get("kind")?.as_str()?;
    if !matches!(kind, "image" | "voice" | "video" | "file") {
        return None;
    }
    MediaId::parse(view.fields.get("ref")?.as_str()?).ok()
}

fn write_statement(
    handle: &Handle,
    app: &App,
    account: AccountId,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut before = None;
    loop {
        let page =
            handle.block_on(
                app.store
                    .statement(account, app.currency, before, LIST_PAGE),
            )?;
        for entry in &page.items {
            line(
                out,
                &crate::routes::wallet::statement_entry_view(entry.clone()),
            )?;
        }
        match page.items.last() {
            Some(last) if page.has_more => before = Some(last.entry_id),
            _ => return Ok(()),
        }
    }
}

/// The account's own posts, newest first, with their likes and comments;
/// adds their pictures to `media`.
fn write_moments(
    handle: &Handle,
    app: &App,
    account: AccountId,
    out: &mut impl Write,
    media: &mut Shown,
) -> anyhow::Result<()> {
    let mut before = None;
    loop {
        let source = piazza_core::moments::Source::Author(account);
        let page = handle.block_on(app.store.moments(account, source, before, LIST_PAGE))?;
        for moment in &page.items {
            line(out, &crate::routes::moments::moment_view(moment))?;
            for shown in &moment.media {
                media.add(Some(shown.media_id));
            }
        }
        match page.next_before {
            Some(next) if Some(next) != before => before = Some(next),
            _ => return Ok(()),
        }
    }
}

#[derive(Serialize)]
struct ArticleLine<'a> {
    article_id: String,
    channel_id: String,
    author: String,
    title: &'a str,
    body_markdown: &'a str,
    cover_media_id: Option<String>,
    published_at: String,
    read_count: u64,
    like_count: u64,
    url: String,
}

/// The channels the account owns, and every article of theirs, newest
/// first; adds their avatars and covers to `media`.
fn write_channels<W: Write>(
    handle: &Handle,
    app: &App,
    account: AccountId,
    zip: &mut zip::ZipWriter<zip::write::StreamWriter<W>>,
    text: SimpleFileOptions,
    media: &mut Shown,
) -> anyhow::Result<()> {
    let channels = handle.block_on(app.store.owned_channels(account))?;
    zip.start_file("channels.jsonl", text)?;
    for channel in &channels {
        line(zip, &crate::routes::channels::summary(channel))?;
        media.add(channel.avatar);
    }
    zip.start_file("articles.jsonl", text)?;
    for channel in &channels {
        let mut before = None;
        loop {
            let asked = app
                .store
                .channel_articles(channel.channel_id, before, LIST_PAGE);
            let page = handle.block_on(asked)?;
            for article in &page.items {
                media.add(article.cover);
                line(zip, &article_line(&channel.handle, article))?;
            }
            match page.items.last() {
                Some(last) if page.has_more => before = Some(last.article_id),
                _ => break,
            }
        }
    }
    Ok(())
}

fn article_line<'a>(
    handle: &piazza_domain::channel::Handle,
    article: &'a piazza_core::channels::Article,
) -> ArticleLine<'a> {
    ArticleLine {
        article_id: article.article_id.to_string(),
        channel_id: article.channel_id.to_string(),
        author: article.author.to_string(),
        title: &article.title,
        body_markdown: &article.body_markdown,
        cover_media_id: article.cover.map(|cover| cover.to_string()),
        published_at: article.published_at.to_rfc3339(),
        read_count: article.read_count,
        like_count: article.like_count,
        url: crate::routes::channels::article_url(handle, article.article_id),
    }
}

/// The orders the account placed, newest first.
fn write_orders(
    handle: &Handle,
    app: &App,
    account: AccountId,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (side, policy) = (
        piazza_core::shops::OrderSide::Buyer(account),
        app.limits.order_policy(),
    );
    let mut before = None;
    loop {
        let page = handle.block_on(app.store.orders(side, None, before, 50))?;
        for order in &page.items {
            line(out, &crate::routes::orders::view(order, account, &policy))?;
        }
        match page.items.last() {
            Some(last) if page.has_more => before = Some(last.stored.order_id),
            _ => return Ok(()),
        }
    }
}

#[derive(Serialize)]
struct MediaLine {
    media_id: String,
    content_type: &'static str,
    bytes: u64,
    file: String,
}

/// The bytes of each of `media` the account may still read, streamed.
fn write_media<W: Write>(
    handle: &Handle,
    app: &App,
    account: AccountId,
    media: &[MediaId],
    zip: &mut zip::ZipWriter<zip::write::StreamWriter<W>>,
    text: SimpleFileOptions,
) -> anyhow::Result<()> {
    let picture_max = app.limits.media_bytes_max as u64;
    let mut kept = Vec::new();
    let stored = text.compression_method(zip::CompressionMethod::Stored);
    for &id in media {
        // Recalled, or no longer shown to it: not its to take. A picture
        // the decoder refuses has no cleaned copy to give (its original
        // may carry the sender's metadata): left out, and said so in
        // media.jsonl's absence. Any other failure fails the export.
        let asked = app
            .store
            .media_served(account, id, Reading::Original, picture_max);
        let served = match handle.block_on(asked) {
            Ok(served) => served,
            Err(StoreError::Rejected(
                Rejection::MediaNotFound | Rejection::ImageUndecodable { .. },
            )) => continue,
            Err(error) => return Err(error.into()),
        };
        let file = format!("media/{id}");
        zip.start_file(file.as_str(), stored)?;
        let mut bytes = handle.block_on(app.store.media_bytes(&served, 0..served.size))?;
        while let Some(chunk) = handle.block_on(bytes.next()) {
            zip.write_all(&chunk?)?;
        }
        kept.push(MediaLine {
            media_id: id.to_string(),
            content_type: served.media_type.as_mime(),
            bytes: served.size,
            file,
        });
    }
    zip.start_file("media.jsonl", text)?;
    for media in &kept {
        line(zip, media)?;
    }
    Ok(())
}

/// Bytes written, sent on in chunks; a closed channel (the download went
/// away) fails the write, which ends the export.
struct ChannelWriter {
    sender: mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut chunk = Ok(Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_BYTES),
        )));
        let started = Instant::now();
        loop {
            match self.sender.try_send(chunk) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Full(back)) if started.elapsed() < STALL_MAX => {
                    chunk = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the download stalled",
                    ));
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "the download went away",
                    ));
                }
            }
        }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}
