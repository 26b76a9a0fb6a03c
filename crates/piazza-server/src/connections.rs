//! The accept loop: HTTP/1.1 connections served by hyper, with upgrades
//! (WebSockets), the client's address for the handlers, and a graceful
//! shutdown.
//!
//! It replaces `axum::serve` for one reason: slow clients. hyper closes a
//! connection whose request head has not fully arrived within
//! `header_read_timeout`, but only when it is given a timer, and
//! `axum::serve` gives it none, so a client sending one header byte a
//! minute (slowloris) would hold its connection, and a file descriptor,
//! forever. The same timer runs while a kept-alive connection waits for
//! its next request, so idle connections end too. Slow bodies are cut by
//! the request timeout (`TimeoutLayer`, 408), slow readers of WebSocket
//! pushes by the socket write timeout.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Serves `router` on every connection `listener` accepts until `stop` is
/// cancelled, then waits for the connections in flight to finish their
/// current request (kept-alive ones are told to close).
pub async fn serve<L>(
    mut listener: L,
    router: Router,
    stop: CancellationToken,
    header_read_timeout: Duration,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
{
    let connections = TaskTracker::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    loop {
        // `Listener::accept` retries on its own, pausing when the process
        // is out of file descriptors.
        let (io, remote) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => break,
        };
        let service = router
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(remote));
                request.map(Body::new)
            })
            .map_err(|never: Infallible| match never {});
        let connection = http
            .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
            .with_upgrades();
        let stop = stop.clone();
        connections.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = stop.cancelled() => {
                    // Finishes the request in flight, then closes.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = ended {
                tracing::trace!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    Ok(())
}
