//! Piazza's HTTP and WebSocket server: the only crate that knows HTTP.
//!
//! [`router`] builds the axum app over an [`App`]; [`spawn`] opens the
//! store, binds, and serves until [`Running::shut_down`].

pub mod auth;
pub mod cluster;
pub mod config;
pub mod connections;
pub mod error;
pub mod events;
pub mod export;
pub mod extract;
pub mod fanout;
pub mod forwarded;
pub mod gateway;
pub mod hub;
pub mod markdown;
pub mod openapi;
pub mod password_attempts;
pub mod pin_cache;
pub mod presence;
mod qr_image;
pub mod rate_limit;
pub mod routes;
pub mod search_indexer;
pub mod session_cache;
pub mod socket;
pub mod sweeper;

pub mod telemetry;
pub mod typing;
pub mod user_agent;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Router, middleware};
use piazza_core::{Core, Engine};
use piazza_domain::limits;
use piazza_domain::money::Currency;
use piazza_domain::store::NoticeSink;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{FailureLimiter, PasswordHasherPool};
use crate::config::{Config, Limits};
use crate::error::ApiError;
use crate::hub::Hub;
use crate::password_attempts::{AttemptPolicy, PasswordAttempts};
use crate::routes::{
    accounts, contacts, conversations, login_requests, media, merchants, profiles, red_packets,
    sync, transfers, wallet,
};

/// Everything a handler may reach. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub store: Arc<Core>,
    pub hub: Arc<Hub>,
    pub passwords: Arc<PasswordHasherPool>,
    /// Wrong passwords counted per (username, address), address and
    /// username; see `auth::check_password_attempt`.
    pub password_attempts: Arc<PasswordAttempts>,
    /// QR log-in requests created per address.
    pub login_request_creations: Arc<FailureLimiter>,
    /// Contact codes looked up that were nobody's, per account.
    pub contact_code_misses: Arc<FailureLimiter>,
    /// Requests per account and per anonymous address (see `rate_limit`).
    pub rate_limits: Arc<rate_limit::RateLimits>,
    /// Right payment PINs seen lately, so bursts skip Argon2.
    pub verified_pins: Arc<pin_cache::VerifiedPins>,
    /// Sessions remembered for writes that check them again, where the
    /// engine prefers it (`session_cache`); none: every request reads.
    pub sessions: Option<Arc<session_cache::RememberedSessions>>,
    pub limits: Arc<Limits>,
    /// The currency of every wallet on this server.
    pub currency: Currency,
    /// Where top-ups come from and withdrawals go; none answers 503
    /// `no_payment_gateway` (see `Config::sandbox_payments`).
    pub gateway: Option<Arc<dyn gateway::PaymentGateway>>,
    /// Seconds a transfer waits to be accepted (see `Config`).
    pub transfer_expiry_s: u64,
    /// Seconds a red packet may be claimed (see `Config`).
    pub red_packet_expiry_s: u64,
    /// The largest collection completed without confirmation (see `Config`).
    pub collect_without_pin_max_minor: i64,
    /// Cancelled when the server begins to shut down.
    pub shutdown: CancellationToken,
    /// The socket tasks, so shutdown can wait for their close frames.
    pub tasks: TaskTracker,
    /// Wakes the channels' fan-out (`fanout.rs`) after a publish.
    pub fanout_wake: Arc<tokio::sync::Notify>,
    /// What the public pages put before a path to make it absolute (see
    /// `Config::public_url`); empty, relative links.
    pub public_url: Arc<str>,
    /// The bus to the other nodes (`cluster.rs`); none on a node alone.
    pub bus: Option<Arc<cluster::Bus>>,
    /// The exports this node is writing (`export.rs`).
    pub exports: Arc<export::Running>,
    /// This process's id among a cluster's nodes (random at each start):
    /// the holder of the leases it takes, the sender of its bus messages.
    pub node: u64,
}

impl App {
    pub fn new(store: Arc<Core>, hub: Arc<Hub>, config: &Config) -> App {
        let sessions = store.engine().remembers_sessions().then(Arc::default);
        App {
            store,
            hub,
            passwords: Arc::new(PasswordHasherPool::new(
                config.password_hashing,
                config.limits.password_hashes_in_flight_max,
            )),
            password_attempts: Arc::new(PasswordAttempts::new(AttemptPolicy::from_limits(
                &config.limits,
            ))),
            login_request_creations: Arc::new(FailureLimiter::new(
                config.limits.login_failure_window(),
                config.limits.login_limiter_keys_max,
            )),
            contact_code_misses: Arc::new(FailureLimiter::new(
                config.limits.login_failure_window(),
                config.limits.login_limiter_keys_max,
            )),
            rate_limits: Arc::new(rate_limit::RateLimits::new(&config.limits)),
            verified_pins: Arc::new(pin_cache::VerifiedPins::default()),
            sessions,
            limits: Arc::new(config.limits.clone()),
            currency: config.currency,
            gateway: match &config.gateway {
                Some(embedded) => Some(Arc::clone(&embedded.0)),
                None => config
                    .sandbox_payments
                    .then(|| Arc::new(gateway::Sandbox) as Arc<dyn gateway::PaymentGateway>),
            },
            transfer_expiry_s: config.transfer_expiry_s,
            red_packet_expiry_s: config.red_packet_expiry_s,
            collect_without_pin_max_minor: config.collect_without_pin_max_minor,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            fanout_wake: Arc::new(tokio::sync::Notify::new()),
            public_url: Arc::from(config.public_url.as_deref().unwrap_or_default()),
            bus: None,
            exports: Arc::default(),
            node: rand::random(),
        }
    }
}

/// Every route of the public API, each with its OpenAPI entry: an area
/// registers its own in a `routes()` function of its file, and is merged
/// here once.
pub fn api_routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .merge(accounts::routes())
        .merge(profiles::routes())
        .merge(contacts::routes())
        .merge(routes::presence::routes())
        .merge(routes::blocks::routes())
        .merge(routes::contact_codes::routes())
        .merge(routes::moments::routes())
        .merge(conversations::routes())
        .merge(routes::groups::routes())
        .merge(routes::channels::routes())
        .merge(routes::channel_pages::routes())
        .merge(wallet::routes())
        .merge(transfers::routes())
        .merge(red_packets::routes())
        .merge(merchants::routes())
        .merge(routes::shops::routes())
        .merge(routes::shop_pages::routes())
        .merge(routes::orders::routes())
        .merge(login_requests::routes())
        .merge(media::routes())
        .merge(routes::search::routes())
        .merge(routes::exports::routes())
        .merge(sync::routes())
        .merge(socket::routes())
        .routes(routes!(healthz))
        .routes(routes!(openapi_json))
}

/// The public listener's app: [`api_routes`], the web client's pages for
/// the rest, and the layers every request passes.
pub fn router(app: App) -> Router {
    let (api, _) = api_routes().split_for_parts();
    let timeout = Duration::from_secs(app.limits.request_timeout_s);
    // The method-not-allowed answer is set on the routes there are when it
    // is called, so after every route; the layers wrap every route too.
    api.fallback(web_or_not_found)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(limits::REQUEST_BODY_BYTES_MAX))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            rate_limit::middleware,
        ))
        .layer(middleware::from_fn(telemetry::track))
        .layer(middleware::from_fn_with_state(
            Deadlines {
                request: timeout,
                upload: Duration::from_secs(app.limits.media_upload_timeout_s),
            },
            deadline,
        ))
        .with_state(app)
}

/// How long a request may take to be answered: an upload, its own while
/// its body arrives; everything else, `limits.request_timeout_s`.
#[derive(Clone, Copy)]
struct Deadlines {
    request: Duration,
    upload: Duration,
}

/// Answers 408 to a request not answered by its deadline. A download's
/// body streams after its answer began, so only reaching the answer is
/// timed.
async fn deadline(
    State(deadlines): State<Deadlines>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let upload =
        request.method() == axum::http::Method::POST && request.uri().path() == media::UPLOAD_PATH;
    let limit = if upload {
        deadlines.upload
    } else {
        deadlines.request
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request took too long to arrive or to answer; retry it",
        )
        .into_response(),
    }
}

/// Unmatched requests: the web client's GETs get its pages and assets
/// (see `piazza_web`); anything else, including every unknown API path,
/// stays a problem+json 404.
async fn web_or_not_found(
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    if piazza_web::serves(&method, uri.path()) {
        piazza_web::respond(uri.path(), &headers)
    } else {
        ApiError::not_found().into_response()
    }
}

/// Liveness: the server answers, its store reads, its writer runs, and the
/// store's integrity checks have found no damage.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = piazza_api::Health), (status = 503, body = piazza_api::Problem)))]
pub async fn healthz(
    State(app): State<App>,
) -> Result<extract::Json<piazza_api::Health>, ApiError> {
    app.store.check_health().await?;
    Ok(extract::Json(piazza_api::Health {
        status: "ok".into(),
    }))
}

/// The metrics listener's routes: `/metrics` and nothing else. It is not
/// part of the public API (and not in its OpenAPI document).
pub fn metrics_router(app: App) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .fallback(|| async { ApiError::not_found() })
        .with_state(app)
}

/// Prometheus metrics, in its text format.
pub async fn metrics_text(State(app): State<App>) -> impl IntoResponse {
    metrics::gauge!("piazza_sockets_open").set(app.hub.sockets() as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        telemetry::handle().render(),
    )
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "the OpenAPI 3.1 document", body = Object)))]
pub async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi::json(),
    )
}

/// How often the sweeper looks for expired transfers and red packets.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// A server that is running; dropping it does not stop it.
pub struct Running {
    pub addr: SocketAddr,
    app: App,
    engine: Arc<dyn Engine>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The metrics listener, if the config asked for one.
    metrics: Option<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)>,
    /// Returns expired transfers; stopped with the server.
    sweeper: tokio::task::JoinHandle<()>,
    /// Tells channels' followers of new articles; stopped with the server.
    fanout: tokio::task::JoinHandle<()>,
    indexer: tokio::task::JoinHandle<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The engine could not open: the message says where and why.
    #[error("cannot open the store {0}")]
    Store(String),
    /// The media store named by the config cannot be set up.
    #[error("{0}")]
    MediaStore(String),
    /// The NATS bus named by the config cannot be set up.
    #[error("{0}")]
    Bus(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot listen for metrics on {addr}: {source}")]
    MetricsListen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Connections waiting to be accepted that the kernel holds for a
/// listener. Linux's default for Rust programs is 128, which a burst of
/// connects (or a flood being shed) fills within a millisecond; further
/// SYNs are then dropped and the client retries only after a second.
const LISTEN_BACKLOG: u32 = 1024;

/// The metrics listener's caps: it serves one scraper, or a few.
const METRICS_CONNECTION_LIMITS: connections::ConnectionLimits = connections::ConnectionLimits {
    per_address_max: 16,
    total_max: 64,
};

/// Binds `addr` with [`LISTEN_BACKLOG`].
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted server may bind again at
    // once, while the old connections linger in TIME_WAIT.
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The process's soft open-file limit, where there is one.
fn open_files_max() -> Option<u64> {
    #[cfg(unix)]
    {
        rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// How the binary gives the server its storage engine, which the server
/// knows only as a [`piazza_core::Engine`]: called once, on a blocking
/// thread, with the hub that is told what each commit made visible. An
/// error says where and why the store could not open ("in <dir>: …").
pub type OpenEngine =
    Box<dyn FnOnce(Arc<dyn NoticeSink>) -> Result<Arc<dyn Engine>, String> + Send>;

/// Opens (and migrates) the store through `open_engine`, binds the
/// listener and starts serving.
pub async fn spawn(mut config: Config, open_engine: OpenEngine) -> Result<Running, StartError> {
    telemetry::handle();
    if let Some(open_files) = open_files_max() {
        config.limits.fit_to_open_files(open_files);
        // `piazza serve` warns when this leaves too few (see `serve.rs`).
        tracing::debug!(
            open_files,
            connections_max = config.limits.connections_max,
            sockets_max = config.limits.sockets_max,
            "connection caps fitted to the open-file limit"
        );
    }
    // The listener first: a port in use is the commonest failure, and it
    // should not first create (and migrate) a data directory.
    let listener = bind(config.listen).map_err(|source| StartError::Listen {
        addr: config.listen,
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.listen,
        source,
    })?;
    let hub = Hub::new(&config.limits);
    let bus_urls = match &config.nats_url {
        Some(urls) => Some(cluster::parse_urls(urls).map_err(StartError::Bus)?),
        None => None,
    };
    let sink = Arc::clone(&hub) as Arc<dyn NoticeSink>;
    let engine = tokio::task::spawn_blocking(move || open_engine(sink))
        .await
        .expect("opening the store does not panic")
        .map_err(StartError::Store)?;
    let blobs = match &config.media_store {
        Some(url) => Some(Arc::new(
            piazza_core::media::blobs::S3Blobs::from_url(url).map_err(StartError::MediaStore)?,
        ) as Arc<dyn piazza_core::media::blobs::BlobStore>),
        None => None,
    };
    let store = Arc::new(Core::with_blobs(
        Arc::clone(&engine),
        &config.data_dir,
        blobs,
    ));
    // Chat frames are small and latency-bound: Nagle's algorithm would hold
    // each ack and push back up to ~40 ms waiting for more bytes.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    let mut app = App::new(store, Arc::clone(&hub), &config);
    if let Some(urls) = bus_urls {
        let attempts = Arc::clone(&app.password_attempts);
        let (node, shutdown) = (app.node, app.shutdown.clone());
        let bus = cluster::join(urls, hub, attempts, node, addr.to_string(), shutdown)
            .await
            .map_err(StartError::Bus)?;
        app.bus = Some(Arc::new(bus));
        tokio::spawn(cluster::announce_departures(app.clone()));
    }
    let service = router(app.clone());
    let header_read_timeout = Duration::from_secs(config.limits.header_read_timeout_s);
    let metrics = match config.metrics_listen {
        Some(addr) => Some(spawn_metrics(addr, &app, header_read_timeout)?),
        None => None,
    };
    // Returns expired transfers and refunds expired red packets; stops
    // with `app.shutdown`.
    let sweeper = tokio::spawn(sweeper::run(app.clone(), SWEEP_INTERVAL));
    let fanout = match config.channel_fanout {
        true => tokio::spawn(fanout::run(app.clone(), config.channel_fanout_chunk.max(1))),
        false => tokio::spawn(async {}),
    };
    let indexer = match config.search_indexing {
        true => tokio::spawn(search_indexer::run(app.clone())),
        false => tokio::spawn(async {}),
    };
    let stop = app.shutdown.clone();
    let served = tokio::spawn(connections::serve(
        listener,
        service,
        stop,
        connections::ServeOptions {
            header_read_timeout,
            limits: config.limits.connection_limits(),
            trusted_proxies: config.trusted_proxies.clone().into(),
            name: "public",
        },
    ));
    Ok(Running {
        addr,
        app,
        engine,
        served,
        metrics,
        sweeper,
        fanout,
        indexer,
    })
}

/// Binds the metrics listener and serves `/metrics` on it until the app
/// shuts down.
fn spawn_metrics(
    addr: SocketAddr,
    app: &App,
    header_read_timeout: Duration,
) -> Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>), StartError> {
    let failed = |source| StartError::MetricsListen { addr, source };
    let listener = bind(addr).map_err(failed)?;
    let bound = listener.local_addr().map_err(failed)?;
    let served = tokio::spawn(connections::serve(
        listener,
        metrics_router(app.clone()),
        app.shutdown.clone(),
        connections::ServeOptions {
            header_read_timeout,
            limits: METRICS_CONNECTION_LIMITS,
            trusted_proxies: Arc::new([]),
            name: "metrics",
        },
    ));
    tracing::info!(addr = %bound, "serving metrics");
    Ok((bound, served))
}

impl Running {
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Where `/metrics` is served, if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(addr, _)| *addr)
    }

    /// Stops accepting, closes every socket with "going away", lets
    /// in-flight requests and queued commits finish, then stops the writer.
    pub async fn shut_down(self) {
        self.app.hub.shut_down();
        self.app.shutdown.cancel();
        self.app.tasks.close();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.app.tasks.wait()).await;
        // Cancelled above, it ends after its current store job.
        let _ = tokio::time::timeout(Duration::from_secs(10), self.sweeper).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.fanout).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.indexer).await;
        match tokio::time::timeout(Duration::from_secs(30), self.served).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::warn!(%error, "the listener stopped with an error"),
            Ok(Err(error)) => tracing::warn!(%error, "the server task failed"),
            Err(_) => tracing::warn!("in-flight requests did not finish within 30 s"),
        }
        if let Some((_, metrics)) = self.metrics {
            let _ = tokio::time::timeout(Duration::from_secs(5), metrics).await;
        }
        let engine = self.engine;
        let _ = tokio::task::spawn_blocking(move || engine.shut_down()).await;
        if let Some(bus) = &self.app.bus {
            bus.leave().await;
        }
    }

    /// Simulates a crash for tests: stops serving without a graceful close.
    pub fn abort(self) {
        self.sweeper.abort();
        self.fanout.abort();
        self.indexer.abort();
        self.served.abort();
        if let Some((_, metrics)) = self.metrics {
            metrics.abort();
        }
    }
}
