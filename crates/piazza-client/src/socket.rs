//! The live connection: `GET /api/v1/ws`. Events and server frames arrive
//! as JSON text messages; ping/pong and the close handshake are handled by
//! tungstenite as long as someone keeps reading.

use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use piazza_api::{ClientFrame, EventView, ServerFrame};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::ClientError;

/// One thing read from the socket.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// An entry of the account's log (the JSON carries `type`).
    Event(EventView),
    /// An answer to something the client sent, or `synced` (carries `op`).
    Frame(ServerFrame),
    /// An event that is not in the log (`typing`): it carries `type` and no
    /// `cursor`, and moves no cursor. Its fields, `type` among them.
    Ephemeral(serde_json::Map<String, serde_json::Value>),
    /// The server closed the connection. Comes once; `next` then yields
    /// `None`. A close without a status is reported as code 1005, as
    /// RFC 6455 names that case.
    Closed { code: u16, reason: String },
}

impl Incoming {
    /// Sorts one text message into an event or a server frame. Events are
    /// recognised first because a future event may well carry a field
    /// called `op`, while server frames never carry `type`.
    pub fn parse(text: &str) -> Result<Incoming, ClientError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|error| ClientError::Decode(format!("socket message is not JSON: {error}")))?;
        let Some(object) = value.as_object() else {
            return Err(ClientError::Decode(
                "socket message is not a JSON object".to_owned(),
            ));
        };
        if object.contains_key("type") && !object.contains_key("cursor") {
            let serde_json::Value::Object(fields) = value else {
                unreachable!("checked to be an object")
            };
            Ok(Incoming::Ephemeral(fields))
        } else if object.contains_key("type") {
            serde_json::from_value(value)
                .map(Incoming::Event)
                .map_err(|error| ClientError::Decode(format!("malformed event: {error}")))
        } else if object.contains_key("op") {
            serde_json::from_value(value)
                .map(Incoming::Frame)
                .map_err(|error| ClientError::Decode(format!("malformed server frame: {error}")))
        } else {
            Err(ClientError::Decode(
                "socket message has neither `type` nor `op`".to_owned(),
            ))
        }
    }
}

/// An open WebSocket, used from one task. Use [`Socket::split`] to send
/// from one task while another reads.
pub struct Socket {
    stream: WebSocket,
    state: ReadState,
}

/// The sending half of a split [`Socket`].
pub struct SocketSender {
    sink: SplitSink<WebSocket, Message>,
}

/// The reading half of a split [`Socket`]. Keep reading it: pongs and the
/// close handshake only happen while it is polled.
pub struct SocketReceiver {
    stream: SplitStream<WebSocket>,
    state: ReadState,
}

impl Socket {
    /// Sends one frame as JSON text.
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), ClientError> {
        send_frame(&mut self.stream, frame).await
    }

    /// Sends any text, valid JSON or not, for tests of hostile input.
    pub async fn send_text(&mut self, text: &str) -> Result<(), ClientError> {
        send_message(&mut self.stream, Message::text(text)).await
    }

    /// The next event or frame; `None` once the connection is over. A
    /// `Decode` error leaves the connection usable; after a `Transport`
    /// error the stream ends.
    pub async fn next(&mut self) -> Option<Result<Incoming, ClientError>> {
        next_incoming(&mut self.stream, &mut self.state).await
    }

    /// Starts the close handshake; keep calling `next` to see it finish.
    pub async fn close(&mut self) -> Result<(), ClientError> {
        send_message(&mut self.stream, normal_close()).await
    }

    /// Splits the socket so one task can send flat out while another
    /// reads, as the load generator does.
    pub fn split(self) -> (SocketSender, SocketReceiver) {
        let (sink, stream) = self.stream.split();
        (
            SocketSender { sink },
            SocketReceiver {
                stream,
                state: self.state,
            },
        )
    }
}

impl SocketSender {
    /// Sends one frame as JSON text.
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), ClientError> {
        send_frame(&mut self.sink, frame).await
    }

    /// Sends any text, valid JSON or not, for tests of hostile input.
    pub async fn send_text(&mut self, text: &str) -> Result<(), ClientError> {
        send_message(&mut self.sink, Message::text(text)).await
    }

    /// Starts the close handshake; the receiver sees it finish.
    pub async fn close(&mut self) -> Result<(), ClientError> {
        send_message(&mut self.sink, normal_close()).await
    }
}

impl SocketReceiver {
    /// The next event or frame; `None` once the connection is over. A
    /// `Decode` error leaves the connection usable; after a `Transport`
    /// error the stream ends.
    pub async fn next(&mut self) -> Option<Result<Incoming, ClientError>> {
        next_incoming(&mut self.stream, &mut self.state).await
    }
}

pub(crate) type WebSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

impl Socket {
    pub(crate) fn new(stream: WebSocket) -> Socket {
        Socket {
            stream,
            state: ReadState::Open,
        }
    }
}

/// Turns an `http://` or `https://` server base into the WebSocket URL.
pub(crate) fn websocket_url(base_url: &str) -> Result<String, ClientError> {
    let (scheme, rest) = base_url
        .split_once("://")
        .ok_or_else(|| ClientError::Transport(format!("server URL {base_url:?} has no scheme")))?;
    let websocket_scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        _ => {
            return Err(ClientError::Transport(format!(
                "server URL {base_url:?} is neither http:// nor https://"
            )));
        }
    };
    Ok(format!(
        "{websocket_scheme}://{}/api/v1/ws",
        rest.trim_end_matches('/')
    ))
}

/// Maps a failed handshake: a refused upgrade is the server's answer (a
/// 401 for a bad token), anything else is transport.
pub(crate) fn handshake_error(error: tungstenite::Error) -> ClientError {
    match error {
        tungstenite::Error::Http(response) => {
            let body = response.body().as_deref().unwrap_or_default();
            ClientError::from_answer(response.status().as_u16(), body)
        }
        other => ClientError::transport(&other),
    }
}

fn normal_close() -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }))
}

async fn send_frame<S>(sink: &mut S, frame: &ClientFrame) -> Result<(), ClientError>
where
    S: Sink<Message, Error = tungstenite::Error> + Unpin,
{
    let text = serde_json::to_string(frame)
        .map_err(|error| ClientError::Decode(format!("cannot encode frame: {error}")))?;
    send_message(sink, Message::text(text)).await
}

async fn send_message<S>(sink: &mut S, message: Message) -> Result<(), ClientError>
where
    S: Sink<Message, Error = tungstenite::Error> + Unpin,
{
    sink.send(message)
        .await
        .map_err(|error| ClientError::transport(&error))
}

/// Where reading stands. After the peer's Close the stream is polled once
/// more, because that poll is what sends our half of the close handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    Open,
    CloseReceived,
    Finished,
}

/// How long the last poll after a Close may take to send the reply.
const CLOSE_REPLY_TIMEOUT_MS: u64 = 1000;

async fn next_incoming<S>(
    stream: &mut S,
    state: &mut ReadState,
) -> Option<Result<Incoming, ClientError>>
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    match *state {
        ReadState::Open => {}
        ReadState::CloseReceived => {
            *state = ReadState::Finished;
            let drain = async { while let Some(Ok(_)) = stream.next().await {} };
            let timeout = Duration::from_millis(CLOSE_REPLY_TIMEOUT_MS);
            // A peer that does not finish the handshake in time loses
            // nothing: the connection is over either way.
            let _ = tokio::time::timeout(timeout, drain).await;
            return None;
        }
        ReadState::Finished => return None,
    }
    loop {
        let Some(message) = stream.next().await else {
            *state = ReadState::Finished;
            return None;
        };
        match message {
            Ok(Message::Text(text)) => return Some(Incoming::parse(&text)),
            Ok(Message::Binary(_)) => {
                return Some(Err(ClientError::Decode(
                    "unexpected binary message".to_owned(),
                )));
            }
            // tungstenite queues the pong itself and sends it on the next
            // read or write; there is nothing to hand to the caller.
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
            Ok(Message::Close(frame)) => {
                *state = ReadState::CloseReceived;
                let (code, reason) = match frame {
                    Some(frame) => (u16::from(frame.code), frame.reason.to_string()),
                    None => (u16::from(CloseCode::Status), String::new()),
                };
                return Some(Ok(Incoming::Closed { code, reason }));
            }
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                *state = ReadState::Finished;
                return None;
            }
            Err(error) => {
                *state = ReadState::Finished;
                return Some(Err(ClientError::transport(&error)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use piazza_api::ServerFrame;

    use super::*;

    #[test]
    fn a_message_with_type_is_an_event() {
        let text = r#"{"cursor":"v1.7","type":"message.new","at":"2025-01-01T00:00:00Z",
            "conversation_id":"c1","seq":3,"text":"hi"}"#;
        let Incoming::Event(event) = Incoming::parse(text).unwrap() else {
            panic!("expected an event");
        };
        assert_eq!(event.cursor, "v1.7");
        assert_eq!(event.type_, "message.new");
        assert_eq!(event.fields["seq"], 3);
        assert_eq!(event.fields["conversation_id"], "c1");
    }

    #[test]
    fn a_message_with_op_is_a_server_frame() {
        let synced = Incoming::parse(r#"{"op":"synced","cursor":"v1.a"}"#).unwrap();
        assert_eq!(
            synced,
            Incoming::Frame(ServerFrame::Synced {
                cursor: "v1.a".to_owned()
            })
        );
        let error =
            Incoming::parse(r#"{"op":"error","code":"not_a_member","status":403,"detail":"no"}"#)
                .unwrap();
        assert!(matches!(
            error,
            Incoming::Frame(ServerFrame::Error {
                client_msg_id: None,
                status: 403,
                ..
            })
        ));
    }

    #[test]
    fn an_event_with_an_op_field_is_still_an_event() {
        let text = r#"{"cursor":"v1.8","type":"order.updated","at":"t","op":"paid"}"#;
        assert!(matches!(Incoming::parse(text), Ok(Incoming::Event(_))));
    }

    #[test]
    fn a_type_without_a_cursor_is_ephemeral() {
        let text = r#"{"type":"typing","conversation_id":"conv_1","account_id":"acct_2"}"#;
        match Incoming::parse(text) {
            Ok(Incoming::Ephemeral(fields)) => assert_eq!(fields["type"], "typing"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn anything_else_is_a_decode_error() {
        for text in [
            "not json",
            "[1,2]",
            r#"{"neither":1}"#,
            r#"{"op":"unknown_op"}"#,
            r#"{"type":"message.new","cursor":"v1.8"}"#,
        ] {
            assert!(
                matches!(Incoming::parse(text), Err(ClientError::Decode(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn the_websocket_url_follows_the_http_scheme() {
        assert_eq!(
            websocket_url("http://127.0.0.1:8080").unwrap(),
            "ws://127.0.0.1:8080/api/v1/ws"
        );
        assert_eq!(
            websocket_url("https://chat.example.org/").unwrap(),
            "wss://chat.example.org/api/v1/ws"
        );
        assert_eq!(
            websocket_url("HTTP://host:1/prefix").unwrap(),
            "ws://host:1/prefix/api/v1/ws"
        );
        assert!(websocket_url("127.0.0.1:8080").is_err());
        assert!(websocket_url("ftp://host").is_err());
    }

    #[test]
    fn client_frames_are_encoded_as_the_spec_shows() {
        let sync = serde_json::to_value(ClientFrame::Sync {
            since: Some("v1.3".to_owned()),
        })
        .unwrap();
        assert_eq!(sync, serde_json::json!({"op": "sync", "since": "v1.3"}));
    }
}
