//! Leases (`piazza_core::leases`): one holder at a time until its
//! deadline, renewed by its holder, taken by another once it lapses; on
//! either engine, with no server running (whose sweeper would hold it).

use std::sync::Arc;
use std::time::Duration;

use piazza_core::leases::LeaseName;

use crate::helpers::{cheap_hashing, process_database};

struct Nobody;

impl piazza_domain::store::NoticeSink for Nobody {
    fn notify(&self, _: Vec<piazza_domain::Notice>) {}
}

#[tokio::test]
async fn a_lease_has_one_holder_until_it_lapses() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = piazza_server::config::Config::new(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().to_path_buf(),
    );
    config.password_hashing = cheap_hashing();
    config.database_url = process_database(dir.path());
    let open = piazza::engines::opener(&config);
    let engine = tokio::task::spawn_blocking(move || open(Arc::new(Nobody)))
        .await
        .unwrap()
        .expect("the store opens");
    let core = Arc::new(piazza_core::Core::new(Arc::clone(&engine), dir.path()));
    let take = |holder: &str, ttl_ms: u64| {
        let (core, holder) = (Arc::clone(&core), holder.to_owned());
        async move {
            core.take_lease(LeaseName::Sweeper, holder, Duration::from_millis(ttl_ms))
                .await
                .unwrap()
        }
    };
    assert!(take("node-a", 60_000).await, "a lease no one held is taken");
    assert!(!take("node-b", 60_000).await, "held by another");
    assert!(
        take("node-a", 200).await,
        "renewed by its holder (until 200 ms from now)"
    );
    assert!(!take("node-b", 60_000).await, "still held");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(take("node-b", 60_000).await, "taken once lapsed");
    assert!(
        !take("node-a", 60_000).await,
        "and then its first holder is refused"
    );
    let release = |holder: &str| {
        let (core, holder) = (Arc::clone(&core), holder.to_owned());
        async move {
            core.release_lease(LeaseName::Sweeper, holder)
                .await
                .unwrap()
        }
    };
    release("node-a").await;
    assert!(
        !take("node-a", 60_000).await,
        "only its holder gives a lease up"
    );
    release("node-b").await;
    assert!(
        take("node-a", 60_000).await,
        "a lease given up is taken at once"
    );
    tokio::task::spawn_blocking(move || engine.shut_down())
        .await
        .unwrap();
}
