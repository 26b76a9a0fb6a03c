//! `piazza bench typing`: every member of a full group (500, all online)
//! types at once, each socket as often as the server passes typing on
//! (one a conversation every two seconds), for a while. Prints the typing
//! events the members' sockets received per second: work for the hub and
//! the sockets alone, with nothing written to the store (the log head of
//! an account, read before and after, must not move).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use piazza_api::ClientFrame;
use piazza_client::{Incoming, SocketReceiver, SocketSender};

use super::progress;
use super::report::Report;
use super::server::Server;
use super::setup;

#[derive(clap::Args, Debug)]
pub struct TypingArgs {
    /// Members of the group, all typing
    #[arg(long, default_value_t = 500)]
    pub members: usize,
    /// Seconds they type for
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
}

/// A member types again this long after it last did: just past the
/// server's pace, so none is dropped for it.
const TYPING_EVERY: Duration = Duration::from_millis(2050);
/// How long the sockets are read after the last typing.
const DRAIN: Duration = Duration::from_secs(1);

pub async fn run(server: &mut Server, args: &TypingArgs) -> anyhow::Result<Report> {
    let max = piazza_domain::limits::GROUP_MEMBERS_MAX;
    if args.members < 2 || args.members > max {
        bail!("--members must be from 2 to {max}");
    }
    if args.seconds == 0 || args.seconds > 3600 {
        bail!("--seconds must be from 1 to 3600");
    }
    let anonymous = piazza_client::Client::new(server.base_url());
    let (accounts, group) = setup::full_group(&anonymous, args.members, "Bench typing").await?;
    let owner = &accounts[0];
    let head_before = log_head(&owner.device).await?;
    let sockets = setup::open_sockets(&accounts).await;

    let received = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    let mut senders = Vec::new();
    for socket in sockets? {
        let (sender, receiver) = socket.split();
        readers.push(tokio::spawn(count_typing(receiver, Arc::clone(&received))));
        senders.push(sender);
    }
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let typists: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(index, sender)| {
            // Spread over the interval, as people do not all type at once.
            let offset = TYPING_EVERY.mul_f64(index as f64 / args.members as f64);
            tokio::spawn(type_until(
                sender,
                group.clone(),
                offset,
                until,
                Arc::clone(&sent),
            ))
        })
        .collect();
    let status = progress::StatusLine::start({
        let received = Arc::clone(&received);
        move || format!("typing… {} received", received.load(Ordering::Relaxed))
    });
    for typist in typists {
        typist.await.context("a typist panicked")??;
    }
    let typed_for = started.elapsed();
    tokio::time::sleep(DRAIN).await;
    status.finish();
    let received = received.load(Ordering::Relaxed);
    for reader in readers {
        reader.abort();
    }
    server.ensure_alive().await?;
    let log_moved = log_head(&owner.device).await? != head_before;

    let sent = sent.load(Ordering::Relaxed);
    let expected = sent * (args.members as u64 - 1);
    let mut report = Report::new("typing");
    report.count("members", "members, all online", args.members as u64, "");
    report.count("typed", "typing frames sent", sent, "");
    report.count("expected", "deliveries expected", expected, "");
    report.count("received", "deliveries received", received, "");
    let per_s = received as f64 / typed_for.as_secs_f64();
    report.measure(
        "received_per_s",
        "typing events delivered per second",
        per_s,
        0,
        "events/s",
    );
    report.memory_mib("server_rss_end_mib", "server RSS at end", server.rss_kib());
    if log_moved {
        report.fail("typing wrote to the log".to_owned());
    }
    if received < expected * 99 / 100 {
        report.fail(format!(
            "only {received} of {expected} typing events arrived"
        ));
    }
    Ok(report)
}

/// Sends a typing every [`TYPING_EVERY`], after `offset`, until `until`.
async fn type_until(
    mut sender: SocketSender,
    conversation: String,
    offset: Duration,
    until: Instant,
    sent: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    tokio::time::sleep(offset).await;
    let frame = ClientFrame::Typing {
        conversation_id: conversation,
    };
    while Instant::now() < until {
        sender
            .send(&frame)
            .await
            .context("a typing could not be sent")?;
        sent.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(TYPING_EVERY).await;
    }
    Ok(())
}

/// Counts the typing events a socket receives until it ends.
async fn count_typing(mut receiver: SocketReceiver, received: Arc<AtomicU64>) {
    while let Some(incoming) = receiver.next().await {
        if let Ok(Incoming::Ephemeral(fields)) = incoming
            && fields.get("type").and_then(|kind| kind.as_str()) == Some("typing")
        {
            received.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Where an account's log stands, from an empty sync page's cursor.
async fn log_head(client: &piazza_client::Client) -> anyhow::Result<String> {
    let mut cursor: Option<String> = None;
    loop {
        let page = client.sync(cursor.as_deref(), Some(200), None).await?;
        cursor = Some(page.cursor);
        if !page.has_more {
            return Ok(cursor.expect("set"));
        }
    }
}
