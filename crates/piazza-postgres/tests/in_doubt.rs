//! A writer's COMMIT that loses its connection is in doubt: PostgreSQL may
//! have committed and only the answer been lost, or never seen it. The
//! writer asks, once connected again, what became of the transaction, so
//! a job is answered as stored exactly when it was, and "unavailable"
//! (503 to a client) always means nothing was stored.
//!
//! The cut is made by a proxy between the engine and PostgreSQL that
//! watches the writers' connections (those whose transactions begin with
//! `txid_current()`) and, when armed, cuts one at its next COMMIT, either
//! after passing it on or instead of passing it on.

use std::sync::{Arc, Mutex};

use piazza_domain::{DisplayName, Rejection, StoreError, Username};
use piazza_postgres::testing::{TestDatabase, open_core};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does at the next COMMIT of a writer's connection.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cut {
    None,
    /// Passes the COMMIT on, then cuts the connection before the answer.
    AfterCommit,
    /// Cuts the connection instead of passing the COMMIT on.
    BeforeCommit,
}

/// Starts the proxy in front of `target`; answers its port and its switch.
async fn proxy(target: String) -> (u16, Arc<Mutex<Cut>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let cut = Arc::new(Mutex::new(Cut::None));
    let armed = Arc::clone(&cut);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = TcpStream::connect(&target).await.unwrap();
            tokio::spawn(pass(client, server, Arc::clone(&armed)));
        }
    });
    (port, cut)
}

/// Copies both ways until either side ends, or the armed cut.
async fn pass(client: TcpStream, server: TcpStream, cut: Arc<Mutex<Cut>>) {
    let (mut from_client, mut to_server) = (client, server);
    let (mut server_read, mut server_write) = to_server.split();
    let (mut client_read, mut client_write) = from_client.split();
    let upstream = async {
        let mut buffer = vec![0u8; 64 * 1024];
        let mut writer = false;
        loop {
            let n = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let chunk = &buffer[..n];
            writer |= contains(chunk, b"txid_current()");
            let mode = *cut.lock().unwrap();
            if writer && mode != Cut::None && contains(chunk, b"COMMIT\0") {
                *cut.lock().unwrap() = Cut::None;
                if mode == Cut::AfterCommit {
                    let _ = server_write.write_all(chunk).await;
                    let _ = server_write.flush().await;
                }
                return;
            }
            if server_write.write_all(chunk).await.is_err() {
                return;
            }
        }
    };
    let downstream = tokio::io::copy(&mut server_read, &mut client_write);
    tokio::select! {
        () = upstream => {}
        _ = downstream => {}
    }
    // Both halves are dropped here: the engine's connection is cut.
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn name(text: &str) -> Username {
    Username::parse(text).unwrap()
}

#[tokio::test]
async fn a_commit_cut_off_is_answered_as_what_became_of_it() {
    let database = TestDatabase::create();
    // postgres://user:password@host:port/database
    let (before, rest) = database.url.split_once('@').unwrap();
    let (target, after) = rest.split_once('/').unwrap();
    let (port, cut) = proxy(target.to_owned()).await;
    let url = format!("{before}@127.0.0.1:{port}/{after}");
    let dir = tempfile::tempdir().unwrap();
    let core = open_core(&url, dir.path()).await;
    let create = |username: &str| {
        let display_name = DisplayName::parse(username).unwrap();
        core.create_account(name(username), display_name, "x".into())
    };
    create("ann").await.unwrap();

    // Committed, answer lost: answered as stored, and stored once.
    *cut.lock().unwrap() = Cut::AfterCommit;
    let bob = create("bob")
        .await
        .expect("a commit whose answer was lost is answered as stored");
    assert_eq!(*cut.lock().unwrap(), Cut::None, "the cut came");
    match create("bob").await {
        Err(StoreError::Rejected(Rejection::UsernameTaken)) => {}
        other => panic!("bob is stored, once: {other:?}"),
    }
    let credentials = core.credentials(&name("bob")).await.unwrap().unwrap();
    assert_eq!(credentials.account_id, bob.account_id);

    // Never committed: answered unavailable, and nothing stored.
    *cut.lock().unwrap() = Cut::BeforeCommit;
    match create("cyd").await {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("a commit that never reached PostgreSQL is unavailable: {other:?}"),
    }
    assert_eq!(*cut.lock().unwrap(), Cut::None, "the cut came");
    assert!(core.credentials(&name("cyd")).await.unwrap().is_none());
    create("cyd")
        .await
        .expect("cyd was not stored, so can be made now");
}
