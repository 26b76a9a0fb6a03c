//! Password attempts across nodes: each node publishes the news of the
//! attempts made to it on [`SUBJECT`] and applies the others'
//! ([`AttemptNews`]), so that the limits of `password_attempts.rs` are
//! the cluster's whichever node each attempt lands on. At most once, like
//! the rest of the bus: news lost (NATS down, a queue full) leaves the
//! counts per node meanwhile (`AttemptNews` says what that does).

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::password_attempts::{AttemptNews, PasswordAttempts};

/// The subject password-attempt news travels on.
pub const SUBJECT: &str = "piazza.attempts";
/// News waiting to be published; past it, news is dropped.
const QUEUE_LEN_MAX: usize = 4_096;
/// News in one message at most.
const BATCH_LEN_MAX: usize = 256;

#[derive(Serialize, Deserialize)]
struct Batch {
    node: u64,
    news: Vec<AttemptNews>,
}

/// Starts telling the other nodes of `attempts`' news, and applying
/// theirs to it, until shutdown.
pub async fn relay(
    client: async_nats::Client,
    node: u64,
    attempts: Arc<PasswordAttempts>,
    shutdown: CancellationToken,
) -> Result<(), String> {
    let subscriber = client
        .subscribe(SUBJECT)
        .await
        .map_err(|error| format!("cannot subscribe to {SUBJECT}: {error}"))?;
    let (sender, news) = mpsc::channel(QUEUE_LEN_MAX);
    attempts.tell_to(sender);
    tokio::spawn(publish(client, node, news, shutdown.clone()));
    tokio::spawn(apply(subscriber, node, attempts, shutdown));
    Ok(())
}

async fn publish(
    client: async_nats::Client,
    node: u64,
    mut news: mpsc::Receiver<AttemptNews>,
    shutdown: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            first = news.recv() => match first {
                Some(first) => first,
                None => return,
            },
            () = shutdown.cancelled() => return,
        };
        let mut batch = vec![first];
        while batch.len() < BATCH_LEN_MAX {
            match news.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let payload = serde_json::to_vec(&Batch { node, news: batch }).expect("news encodes");
        if let Err(error) = client.publish(SUBJECT, payload.into()).await {
            tracing::debug!(%error, "password-attempt news was not published");
        }
    }
}

async fn apply(
    mut subscriber: async_nats::Subscriber,
    node: u64,
    attempts: Arc<PasswordAttempts>,
    shutdown: CancellationToken,
) {
    while let Some(message) = super::next_until(&mut subscriber, &shutdown).await {
        let batch: Batch = match serde_json::from_slice(&message.payload) {
            Ok(batch) => batch,
            Err(error) => {
                tracing::debug!(%error, "a message on {SUBJECT} is not news; ignored");
                continue;
            }
        };
        if batch.node == node {
            continue;
        }
        let now = Instant::now();
        for news in batch.news {
            attempts.apply_remote(news, now);
        }
    }
}
