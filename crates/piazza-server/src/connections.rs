//! The accept loop: HTTP/1.1 connections served by hyper, with upgrades
//! (WebSockets), the client's address for the handlers, caps on how many
//! connections one address and the whole listener hold, and a graceful
//! shutdown.
//!
//! It replaces `axum::serve` for two reasons, both slow or idle clients:
//!
//! - hyper closes a connection whose request head has not fully arrived
//!   within `header_read_timeout`, but only when it is given a timer, and
//!   `axum::serve` gives it none, so a client sending one header byte a
//!   minute (slowloris) would hold its connection, and a file descriptor,
//!   forever. The same timer runs while a kept-alive connection waits for
//!   its next request, so idle connections end too. Slow bodies are cut by
//!   the request timeout (`TimeoutLayer`, 408), slow readers of WebSocket
//!   pushes by the socket write timeout.
//! - Within that timeout, 1,100 half-sent heads still took every file
//!   descriptor of a server and no new client was accepted for ~30 s. Every
//!   connection is now registered (`registry.rs`): past the cap of its
//!   address or of the listener (derived from the open-file limit, see
//!   `Limits::fit_to_open_files`), the oldest idle connection is closed to
//!   make room, and a connection with a request in flight or a WebSocket
//!   never is. The listener never runs out of descriptors, so it keeps
//!   accepting.
//!
//! `io.rs` wraps each socket to keep its place in the registry and to turn
//! hyper's bare answers to unparseable requests into problem+json.

mod io;
mod registry;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use axum::serve::Listener;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

pub use registry::{ConnectionLimits, Refused, Registry};

use io::{Connection, TrackedIo};

use crate::forwarded::Network;

/// How one listener serves its connections.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub header_read_timeout: Duration,
    pub limits: ConnectionLimits,
    /// Peers whose `X-Forwarded-For` names the client (`forwarded.rs`),
    /// and which the per-address cap on connections spares.
    pub trusted_proxies: Arc<[Network]>,
    /// The `listener` label of this listener's metrics.
    pub name: &'static str,
}

/// Serves `router` on every connection `listener` accepts until `stop` is
/// cancelled, then waits for the connections in flight to finish their
/// current request (kept-alive ones are told to close).
pub async fn serve<L>(
    mut listener: L,
    router: Router,
    stop: CancellationToken,
    options: ServeOptions,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
    L::Io: Unpin,
{
    let registry = Arc::new(Registry::new(options.limits, options.name));
    let connections = TaskTracker::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    loop {
        // `Listener::accept` retries on its own, pausing when the process
        // is out of file descriptors (which the caps are there to prevent).
        let (io, remote) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => break,
        };
        // Refused: dropped at once, which closes it.
        let trusted = Arc::clone(&options.trusted_proxies);
        let from_proxy = trusted.iter().any(|proxy| proxy.contains(remote.ip()));
        let Ok(admitted) = registry.admit(remote.ip(), !from_proxy) else {
            continue;
        };
        let connection = Arc::new(Connection::new(Arc::clone(&registry), admitted.id));
        let service = service(router.clone(), Arc::clone(&connection), remote, trusted);
        let served = http
            .serve_connection(
                TokioIo::new(TrackedIo::new(io, connection)),
                TowerToHyperService::new(service),
            )
            .with_upgrades();
        let stop = stop.clone();
        connections.spawn(async move {
            let mut served = std::pin::pin!(served);
            let ended = tokio::select! {
                ended = served.as_mut() => ended,
                // Only an idle connection is shed: dropping it closes it
                // with nothing in flight.
                () = admitted.shed.cancelled() => return,
                () = stop.cancelled() => {
                    // Finishes the request in flight, then closes.
                    served.as_mut().graceful_shutdown();
                    served.await
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

/// The router as one connection's service: each request is marked in
/// flight from its head until its answer is written out, and carries the
/// client's address (behind a trusted proxy, the one it forwards for).
fn service(
    router: Router,
    connection: Arc<Connection>,
    remote: SocketAddr,
    trusted_proxies: Arc<[Network]>,
) -> impl tower::Service<
    Request<Incoming>,
    Response = Response,
    Error = Infallible,
    Future = impl Future<Output = Result<Response, Infallible>> + Send,
> + Clone
+ Send
+ 'static {
    tower::service_fn(move |request: Request<Incoming>| {
        let turn = Turn::start(Arc::clone(&connection));
        let mut request = request.map(Body::new);
        let client = crate::forwarded::client_address(remote, request.headers(), &trusted_proxies);
        request.extensions_mut().insert(ConnectInfo(client));
        let answered = router.clone().oneshot(request);
        async move {
            let response = answered.await?;
            Ok(turn.follow(response))
        }
    })
}

/// One request on a connection, from its head to the end of its answer's
/// body (or to the upgrade, for a WebSocket).
struct Turn {
    connection: Arc<Connection>,
    upgraded: bool,
}

impl Turn {
    fn start(connection: Arc<Connection>) -> Turn {
        connection.registry.request_started(connection.id);
        Turn {
            connection,
            upgraded: false,
        }
    }

    /// Keeps the turn alive in the answer's body.
    fn follow(mut self, response: Response) -> Response {
        self.upgraded = response.status() == StatusCode::SWITCHING_PROTOCOLS;
        response.map(|body| Body::new(TurnBody { body, _turn: self }))
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.upgraded {
            self.connection.registry.upgraded(self.connection.id);
        } else {
            self.connection.answer_done();
        }
    }
}

/// An answer's body that ends its request's turn when hyper drops it.
struct TurnBody {
    body: Body,
    _turn: Turn,
}

impl HttpBody for TurnBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
