//! `GET /api/v1/ws`: one task per connected device. It pushes the account's
//! events as the hub hands them over, replays the log from a cursor when the
//! client sends `{"op":"sync"}`, and takes `{"op":"send"}` with an ack after
//! commit. Sends are pipelined: up to `SOCKET_SENDS_IN_FLIGHT_MAX` may wait
//! for their commit at once, acked in the order they arrived; past that the
//! socket is not read, which pushes back on the client. Each send enters
//! the store's queue only after the one before it (`Sends`), so a socket's
//! sends into a conversation are stored, and delivered, in the order it sent
//! them (into two conversations, on PostgreSQL's two writers, either may
//! commit first). Each socket may
//! send `socket_messages_per_s` frames a second (see `rate_limit`): a frame
//! past it is answered by an error frame `rate_limited` (status 429) and
//! dropped; a sustained excess of those (`socket_refusals_max` within
//! `socket_refusals_window_s`) closes the socket with 1008
//! once the sends already taken are acked.
//!
//! Gaplessness: the subscription is made before the upgrade, so every event
//! committed after it is queued; a replay reads the log after that, so an
//! event is either in the replay or in the queue (or both, and then the
//! queued copy is skipped because its seq is not past `delivered`).

mod reorder;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesOrdered;
use futures_util::{FutureExt, SinkExt, StreamExt};
use piazza_api::{ClientFrame, MessageContent, ServerFrame};
use piazza_core::chat::Outgoing;
use piazza_domain::store::{Sent, StoreResult};
use piazza_domain::{ClientMsgId, ConversationId, Cursor, LogSeq, Rejection, limits};
use tokio::sync::oneshot;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::{self, Auth};
use crate::error::ApiError;
use crate::events;
use crate::hub::{CloseReason, CloseSignal, Kind, Pushed, Subscription};
use crate::rate_limit::{Admission, SocketRate};
use crate::typing::TypingPace;
use reorder::Reorder;

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(upgrade))
}

/// The caller of a socket upgrade, by header or `?token=`.
pub struct SocketAuth {
    pub auth: Auth,
    token: String,
}

impl FromRequestParts<App> for SocketAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<SocketAuth, ApiError> {
        let token = auth::socket_token(parts).ok_or_else(ApiError::unauthorized)?;
        let auth = auth::authenticate(app, &token, Some(auth::Seen::of(parts))).await?;
        crate::rate_limit::charge_authenticated(app, parts, auth.account)?;
        Ok(SocketAuth { auth, token })
    }
}

/// Upgrade to the live event socket.
#[utoipa::path(get, path = "/api/v1/ws", tag = "sync", security(("bearer" = [])),
    params(("token" = Option<String>, Query, description = "the session token, for clients that cannot send a header")),
    responses(
        (status = 101, description = "switching to the WebSocket protocol"),
        (status = 400, description = "not a WebSocket upgrade request (axum's plain-text answer; checked after the token)", body = String, content_type = "text/plain"),
        (status = 401, body = piazza_api::Problem),
        (status = 503, description = "too many sockets", body = piazza_api::Problem),
    ))]
pub async fn upgrade(
    State(app): State<App>,
    SocketAuth { auth, token }: SocketAuth,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let subscription = app
        .hub
        .subscribe(auth.account, auth.device, Kind::Socket)
        .map_err(|error| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_sockets",
                error.to_string(),
            )
        })?;
    // A revocation committed between the first check and the subscription
    // would never reach this socket: check again now that it is subscribed.
    auth::authenticate(&app, &token, None).await?;
    // Where the log stood once subscribed: what lies at or below it is the
    // client's to sync, what comes after is pushed (or, past a gap — on a
    // cluster nodes' pushes for one account may arrive in either order —
    // filled from the store).
    let head = app.store.log_head(auth.account).await?;
    let tasks = app.tasks.clone();
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        // Frames of a burst are fed into this buffer and written with one
        // flush (one syscall) rather than one write each.
        .write_buffer_size(SOCKET_WRITE_BUFFER_BYTES)
        .max_write_buffer_size(4 * 1024 * 1024)
        .max_message_size(limits::WEBSOCKET_FRAME_BYTES_MAX)
        .max_frame_size(limits::WEBSOCKET_FRAME_BYTES_MAX)
        .on_upgrade(move |socket| tasks.track_future(live(app, auth, head, subscription, socket))))
}

/// A socket's life, with its account's presence told around it: online
/// when it is the account's first socket here, offline when its last.
async fn live(app: App, auth: Auth, head: LogSeq, subscription: Subscription, socket: WebSocket) {
    let account = auth.account;
    if subscription.first {
        let app = app.clone();
        tokio::spawn(async move { crate::presence::announce(&app, account, true).await });
    }
    run(app.clone(), auth, head, subscription, socket).await;
    if app.shutdown.is_cancelled() {
        return;
    }
    if let Err(error) = app.store.device_seen_now(auth.device).await {
        tracing::warn!(%account, %error, "a closed socket's last seen not kept");
    }
    if !app.hub.is_online(account) {
        crate::presence::announce(&app, account, false).await;
    }
}

type PendingAck = BoxFuture<'static, ServerFrame>;

/// A socket's sends waiting for their commit, acked in the order they
/// came. Each send enters the store's queue only once the one before it
/// is in (its `turn`), so the order of a socket's frames is the order of
/// their `seq` whatever the pressure: left to the futures' polling order,
/// a send that found its task's budget spent could be overtaken by a
/// later one.
struct Sends {
    acks: FuturesOrdered<PendingAck>,
    /// Resolves once the last send taken is in the store's queue (or has
    /// failed before it).
    turn: oneshot::Receiver<()>,
}

impl Sends {
    fn new() -> Sends {
        let (_, turn) = oneshot::channel();
        Sends {
            acks: FuturesOrdered::new(),
            turn,
        }
    }

    /// Takes the next send's place in line: its turn comes once the
    /// previous send is queued, and dropping the sender hands the turn on.
    fn next_turn(&mut self) -> (oneshot::Receiver<()>, oneshot::Sender<()>) {
        let (queued, next) = oneshot::channel();
        (std::mem::replace(&mut self.turn, next), queued)
    }
}

/// Bytes a socket gathers before it writes without waiting for the flush.
const SOCKET_WRITE_BUFFER_BYTES: usize = 16 * 1024;
/// Frames sent in one burst before the loop looks at its other work.
const BURST_LEN_MAX: usize = 256;

async fn run(
    app: App,
    auth: Auth,
    head: LogSeq,
    mut subscription: Subscription,
    mut socket: WebSocket,
) {
    let close_signal = subscription.close_signal();
    // Everything up to the head is the client's to sync; pushes follow it.
    let mut delivered = head;
    let mut reorder = Reorder::default();
    let mut sends = Sends::new();
    let ping_every = Duration::from_secs(app.limits.socket_ping_interval_s.max(1));
    let idle_timeout = Duration::from_secs(app.limits.socket_idle_timeout_s.max(1));
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let mut last_heard = Instant::now();
    // A client that stops reading fills the kernel's buffers and then
    // blocks our writes; past this it is dropped (its queue is bounded
    // meanwhile, and its device catches up by sync).
    let write_timeout = Duration::from_secs(app.limits.socket_write_timeout_s.max(1));
    // Every frame the client sends costs a token, pings included.
    let mut frame_rate = SocketRate::new(&app.limits);
    let mut typing = TypingPace::default();

    let (code, reason): (u16, &str) = loop {
        // Closing wins over anything else that is ready; among the rest the
        // select stays fair, so neither pushes nor the client's own sends
        // can starve the other.
        if let Some(reason) = close_signal.reason() {
            break reason.close_frame();
        }
        if app.shutdown.is_cancelled() {
            break CloseReason::ShuttingDown.close_frame();
        }
        tokio::select! {
            reason = close_signal.closed() => break reason.close_frame(),
            _ = app.shutdown.cancelled() => break CloseReason::ShuttingDown.close_frame(),
            Some(frame) = sends.acks.next(), if !sends.acks.is_empty() => {
                if !within(write_timeout, write_acks(&mut socket, frame, &mut sends.acks)).await {
                    return;
                }
            }
            Some(pushed) = subscription.queue.recv() => {
                let write = write_pushes(&mut socket, pushed, &mut subscription, &mut delivered, &mut reorder);
                if !within(write_timeout, write).await {
                    return;
                }
                if reorder.overfull() {
                    let link = Link { app: &app, auth, write_timeout, close_signal: &close_signal };
                    if catch_up(&link, &mut socket, &mut delivered, &mut reorder).await.is_err() {
                        return;
                    }
                }
            }
            // A push past a gap waited long enough, or a nudge's moment
            // came (the bus may have missed something): the store fills
            // what is missing.
            _ = sleep_until_some(reorder.deadline()), if reorder.deadline().is_some() => {
                let link = Link { app: &app, auth, write_timeout, close_signal: &close_signal };
                if catch_up(&link, &mut socket, &mut delivered, &mut reorder).await.is_err() {
                    return;
                }
            }
            Ok(()) = subscription.nudges.changed() => reorder.nudge(),
            Some(json) = subscription.ephemeral.recv() => {
                let write = write_ephemeral(&mut socket, json, &mut subscription);
                if !within(write_timeout, write).await {
                    return;
                }
            }
            received = socket.recv(), if sends.acks.len() < limits::SOCKET_SENDS_IN_FLIGHT_MAX => {
                last_heard = Instant::now();
                if let Some(Ok(Message::Text(_) | Message::Binary(_) | Message::Ping(_))) = received {
                    match frame_rate.admit() {
                        Admission::Accept => {}
                        Admission::Refuse { retry_after_s } => {
                            let frame = error_frame(
                                refused_client_msg_id(&received),
                                ApiError::too_many(
                                    "rate_limited",
                                    format!("too many frames on this socket; retry in {retry_after_s} s"),
                                    retry_after_s,
                                ),
                            );
                            if send_frame(&mut socket, &frame, write_timeout).await.is_err() {
                                return;
                            }
                            continue;
                        }
                        Admission::Close => {
                            // Answer the sends already taken first, so the
                            // client is left in doubt about none of them.
                            while let Some(frame) = sends.acks.next().await {
                                if !within(write_timeout, write_acks(&mut socket, frame, &mut sends.acks)).await {
                                    return;
                                }
                            }
                            break (1008, "too many frames");
                        }
                    }
                }
                match received {
                    Some(Ok(Message::Text(text))) => {
                        let link = Link { app: &app, auth, write_timeout, close_signal: &close_signal };
                        let outcome = handle_text(&link, &text, &mut socket, &mut delivered, &mut sends, &mut typing).await;
                        if outcome.is_err() {
                            return;
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let frame = error_frame(None, ApiError::invalid("binary_not_supported", "send JSON text frames"));
                        if send_frame(&mut socket, &frame, write_timeout).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > idle_timeout {
                    break (1001, "idle for too long");
                }
                let ping = async { socket.send(Message::Ping(Default::default())).await.map_err(|_| Gone) };
                if !within(write_timeout, ping).await {
                    return;
                }
            }
        }
    };
    // A revoked device still gets what was committed before its revocation
    // and already waits in its queue: a password change that logs the
    // other devices out tells them why (`account.password_changed` is
    // logged, and pushed, before the revocation). The queue is bounded,
    // and so is the time each write may take.
    if code == CloseReason::Revoked.close_frame().0 {
        while let Ok(pushed) = subscription.queue.try_recv() {
            let write = write_pushes(
                &mut socket,
                pushed,
                &mut subscription,
                &mut delivered,
                &mut reorder,
            );
            if !within(write_timeout, write).await {
                return;
            }
        }
    }
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from(reason),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        socket.send(Message::Close(Some(frame))),
    )
    .await;
}

struct Gone;

/// The `client_msg_id` of a refused send, so the client knows which one
/// to retry; `None` for anything else.
fn refused_client_msg_id(received: &Option<Result<Message, axum::Error>>) -> Option<String> {
    let Some(Ok(Message::Text(text))) = received else {
        return None;
    };
    match serde_json::from_str::<ClientFrame>(text) {
        Ok(ClientFrame::Send { client_msg_id, .. }) => Some(client_msg_id),
        _ => None,
    }
}

/// True when `write` finished in time and the socket took it.
async fn within(limit: Duration, write: impl Future<Output = Result<(), Gone>>) -> bool {
    matches!(tokio::time::timeout(limit, write).await, Ok(Ok(())))
}

/// Writes this ack and any others already answered, with one flush.
async fn write_acks(
    socket: &mut WebSocket,
    first: ServerFrame,
    pending: &mut FuturesOrdered<PendingAck>,
) -> Result<(), Gone> {
    let mut next = Some(first);
    let mut burst = 0;
    while let Some(frame) = next {
        feed_frame(socket, &frame).await?;
        burst += 1;
        next = if burst < BURST_LEN_MAX {
            pending.next().now_or_never().flatten()
        } else {
            None
        };
    }
    socket.flush().await.map_err(|_| Gone)
}

/// Writes this event and any others already queued, with one flush, in
/// the log's order: those a replay has already sent are skipped, and one
/// past a gap is held by `reorder` until the ones before it come (or the
/// store fills the gap: the device is never handed one).
async fn write_pushes(
    socket: &mut WebSocket,
    first: Arc<Pushed>,
    subscription: &mut Subscription,
    delivered: &mut LogSeq,
    reorder: &mut Reorder,
) -> Result<(), Gone> {
    let mut next = Some(first);
    let mut burst = 0;
    while let Some(pushed) = next {
        if pushed.seq.get() > delivered.get() + 1 {
            metrics::counter!("piazza_socket_push_gaps_total").increment(1);
            reorder.hold(pushed);
        } else if pushed.seq > *delivered {
            *delivered = pushed.seq;
            socket
                .feed(Message::Text(pushed.json.clone()))
                .await
                .map_err(|_| Gone)?;
        }
        while let Some(held) = reorder.next_after(*delivered) {
            *delivered = held.seq;
            socket
                .feed(Message::Text(held.json.clone()))
                .await
                .map_err(|_| Gone)?;
        }
        burst += 1;
        next = if burst < BURST_LEN_MAX {
            subscription.queue.try_recv().ok()
        } else {
            None
        };
    }
    socket.flush().await.map_err(|_| Gone)
}

/// Sends what the log holds after what this socket delivered (or, before
/// it delivered anything, after the head it opened at).
async fn catch_up(
    link: &Link<'_>,
    socket: &mut WebSocket,
    delivered: &mut LogSeq,
    reorder: &mut Reorder,
) -> Result<(), Gone> {
    metrics::counter!("piazza_socket_catch_ups_total").increment(1);
    send_log_after(link, *delivered, socket, delivered).await?;
    reorder.settle();
    Ok(())
}

/// Resolves at `deadline`; never, without one.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Writes this ephemeral event and any others already queued, with one
/// flush.
async fn write_ephemeral(
    socket: &mut WebSocket,
    first: Utf8Bytes,
    subscription: &mut Subscription,
) -> Result<(), Gone> {
    let mut next = Some(first);
    let mut burst = 0;
    while let Some(json) = next {
        socket.feed(Message::Text(json)).await.map_err(|_| Gone)?;
        burst += 1;
        next = if burst < BURST_LEN_MAX {
            subscription.ephemeral.try_recv().ok()
        } else {
            None
        };
    }
    socket.flush().await.map_err(|_| Gone)
}

/// Sends one frame, giving up after `limit` (a client that stopped reading).
async fn send_frame(
    socket: &mut WebSocket,
    frame: &ServerFrame,
    limit: Duration,
) -> Result<(), Gone> {
    let json = serde_json::to_string(frame).expect("a server frame always encodes");
    within(limit, async {
        socket
            .send(Message::Text(json.into()))
            .await
            .map_err(|_| Gone)
    })
    .await
    .then_some(())
    .ok_or(Gone)
}

/// Queues a frame in the socket's write buffer; the caller flushes.
async fn feed_frame(socket: &mut WebSocket, frame: &ServerFrame) -> Result<(), Gone> {
    let json = serde_json::to_string(frame).expect("a server frame always encodes");
    socket
        .feed(Message::Text(json.into()))
        .await
        .map_err(|_| Gone)
}

fn error_frame(client_msg_id: Option<String>, error: ApiError) -> ServerFrame {
    ServerFrame::Error {
        client_msg_id,
        code: error.code.to_owned(),
        status: error.status.as_u16(),
        detail: error.detail,
    }
}

/// What a frame handler needs from its connection.
struct Link<'a> {
    app: &'a App,
    auth: Auth,
    write_timeout: Duration,
    close_signal: &'a CloseSignal,
}

async fn handle_text(
    link: &Link<'_>,
    text: &str,
    socket: &mut WebSocket,
    delivered: &mut LogSeq,
    sends: &mut Sends,
    typing: &mut TypingPace,
) -> Result<(), Gone> {
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => frame,
        Err(error) => {
            let frame = error_frame(
                None,
                ApiError::invalid("malformed_frame", format!("not a client frame: {error}")),
            );
            return send_frame(socket, &frame, link.write_timeout).await;
        }
    };
    let (app, auth, limit) = (link.app, link.auth, link.write_timeout);
    match frame {
        ClientFrame::Ping => send_frame(socket, &ServerFrame::Pong, limit).await,
        ClientFrame::Typing { conversation_id } => {
            match crate::typing::relay(app, auth.account, &conversation_id, typing).await {
                Ok(()) => Ok(()),
                Err(error) => send_frame(socket, &error_frame(None, error), limit).await,
            }
        }
        ClientFrame::Sync { since } => {
            let since = match since.as_deref().map(Cursor::parse).transpose() {
                Ok(since) => since.unwrap_or(Cursor::START),
                Err(error) => {
                    return send_frame(socket, &error_frame(None, error.into()), limit).await;
                }
            };
            replay(link, since.log_seq(), socket, delivered).await
        }
        ClientFrame::Send {
            conversation_id,
            client_msg_id,
            message,
        } => {
            let parsed = parse_send(&conversation_id, &client_msg_id, &message, app.currency);
            let (conversation, id, outgoing) = match parsed {
                Ok(parsed) => parsed,
                Err(error) => {
                    return send_frame(socket, &error_frame(Some(client_msg_id), error), limit)
                        .await;
                }
            };
            let store = app.store.clone();
            let account = auth.account;
            let (turn, queued) = sends.next_turn();
            sends.acks.push_back(
                async move {
                    let _ = turn.await;
                    let answer = store.queue_send(account, conversation, id, outgoing).await;
                    drop(queued);
                    match answer {
                        Ok(answer) => ack_or_error(answer.await, client_msg_id),
                        Err(error) => error_frame(Some(client_msg_id), error.into()),
                    }
                }
                .boxed(),
            );
            Ok(())
        }
    }
}

fn ack_or_error(answer: StoreResult<Sent>, client_msg_id: String) -> ServerFrame {
    match answer {
        Ok(sent) => ServerFrame::Ack {
            client_msg_id: sent.message.client_msg_id.as_str().to_owned(),
            message_id: sent.message.message_id.to_string(),
            seq: sent.message.seq.get(),
            conversation_id: sent.message.conversation_id.to_string(),
            sent_at: sent.message.sent_at.to_rfc3339(),
        },
        Err(error) => error_frame(Some(client_msg_id), error.into()),
    }
}

fn parse_send(
    conversation: &str,
    client_msg_id: &str,
    message: &MessageContent,
    currency: piazza_domain::money::Currency,
) -> Result<(ConversationId, ClientMsgId, Outgoing), ApiError> {
    let conversation =
        ConversationId::parse(conversation).map_err(|_| ApiError::from(Rejection::NotAMember))?;
    Ok((
        conversation,
        ClientMsgId::parse(client_msg_id)?,
        crate::routes::compose::outgoing(message, currency)?,
    ))
}

/// Sends every entry after `after`, page by page, then `synced`. Each page
/// must be taken by the client within the write timeout, and a close (a
/// revocation, an overflow, shutdown) stops the replay between pages. A
/// store error ends the connection: going live past a missing page would
/// leave the client a gap.
async fn replay(
    link: &Link<'_>,
    after: LogSeq,
    socket: &mut WebSocket,
    delivered: &mut LogSeq,
) -> Result<(), Gone> {
    let Some(after) = send_log_after(link, after, socket, delivered).await? else {
        return Ok(());
    };
    let cursor = Cursor::at(after.max(*delivered));
    send_frame(
        socket,
        &ServerFrame::Synced {
            cursor: cursor.to_string(),
        },
        link.write_timeout,
    )
    .await
}

/// Sends every entry after `after`, page by page, and answers the last
/// position read; `None` if a close stopped it between pages.
async fn send_log_after(
    link: &Link<'_>,
    after: LogSeq,
    socket: &mut WebSocket,
    delivered: &mut LogSeq,
) -> Result<Option<LogSeq>, Gone> {
    let mut after = after;
    loop {
        if link.close_signal.reason().is_some() {
            return Ok(None);
        }
        let page = match link
            .app
            .store
            .log_after(link.auth.account, after, limits::REPLAY_PAGE_LEN_MAX)
            .await
        {
            Ok(page) => page,
            Err(error) => {
                let _ =
                    send_frame(socket, &error_frame(None, error.into()), link.write_timeout).await;
                return Err(Gone);
            }
        };
        let write = async {
            for entry in &page.entries {
                socket
                    .feed(Message::Text(events::to_json(entry).into()))
                    .await
                    .map_err(|_| Gone)?;
            }
            socket.flush().await.map_err(|_| Gone)
        };
        if !within(link.write_timeout, write).await {
            return Err(Gone);
        }
        after = page.end;
        *delivered = (*delivered).max(page.end);
        if !page.has_more {
            return Ok(Some(after));
        }
    }
}
