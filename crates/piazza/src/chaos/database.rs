//! The database's fault (`--restart-database`): the run's own PostgreSQL
//! server, stopped under the load at each round's kill point and started
//! again. While it is down every process still up must answer a write
//! with 503 and `Retry-After`, acknowledging nothing; once it is back
//! they carry on by themselves, and the round's checks and verification
//! judge what the restart left.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use piazza_client::Client;
use piazza_postgres::testing::PrivateServer;
use reqwest::Method;

/// How long the database stays down each round.
const DOWN_FOR: Duration = Duration::from_secs(1);

/// What one restart measured.
pub struct Restarted {
    /// Processes that answered the probe 503 with `Retry-After`.
    pub probed: usize,
    /// From the stop's start to the server accepting connections again.
    pub down: Duration,
}

/// Starts the run's PostgreSQL server.
pub async fn start() -> anyhow::Result<Arc<PrivateServer>> {
    let server = tokio::task::spawn_blocking(PrivateServer::start)
        .await
        .context("starting PostgreSQL panicked")?
        .map_err(anyhow::Error::msg)
        .context("--restart-database starts a PostgreSQL server of its own")?;
    Ok(Arc::new(server))
}

/// Stops `postgres` (fast: open transactions rolled back, connections
/// cut), probes each of `alive` while it is down, and starts it again.
pub async fn restart(postgres: &Arc<PrivateServer>, alive: &[String]) -> anyhow::Result<Restarted> {
    let began = Instant::now();
    blocking(postgres, |server| server.stop("fast")).await?;
    for (n, base_url) in alive.iter().enumerate() {
        probe(base_url, n).await?;
    }
    tokio::time::sleep(DOWN_FOR.saturating_sub(began.elapsed())).await;
    blocking(postgres, PrivateServer::start_again).await?;
    Ok(Restarted {
        probed: alive.len(),
        down: began.elapsed(),
    })
}

async fn blocking(
    postgres: &Arc<PrivateServer>,
    act: fn(&PrivateServer) -> Result<(), String>,
) -> anyhow::Result<()> {
    let postgres = Arc::clone(postgres);
    tokio::task::spawn_blocking(move || act(&postgres))
        .await
        .context("pg_ctl panicked")?
        .map_err(anyhow::Error::msg)
}

/// A write to the process at `base_url` while the database is down (an
/// account made): it must be answered 503, as problem+json, with
/// `Retry-After`.
async fn probe(base_url: &str, n: usize) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "username": format!("chaos_probe_{n}"),
        "password": super::PASSWORD,
    });
    let answer = Client::new(base_url)
        .raw(
            Method::POST,
            "/api/v1/accounts",
            Some(body.to_string().into_bytes()),
            Some("application/json"),
        )
        .await
        .with_context(|| format!("{base_url} went away while the database was down"))?;
    let retry_after = answer.headers.get("retry-after");
    let problem = answer.content_type.as_deref() == Some("application/problem+json");
    if answer.status != 503 || retry_after.is_none() || !problem {
        bail!(
            "{base_url} answered a write {} (Retry-After {retry_after:?}) while the database \
             was down, not 503 with Retry-After: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
    Ok(())
}
