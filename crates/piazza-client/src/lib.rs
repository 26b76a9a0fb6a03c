//! A typed async client of Piazza's API (`api-v1.md`), shared by the CLI,
//! the integration tests and the load generator.
//!
//! One method per endpoint, taking and returning the wire types of
//! `piazza-api` as they are. Every failure is a [`ClientError`], whose `Api`
//! case carries the server's problem document, so callers can match on its
//! `code` instead of parsing messages.
//!
//! ```no_run
//! # async fn demo() -> Result<(), piazza_client::ClientError> {
//! let anonymous = piazza_client::Client::new("http://127.0.0.1:8080");
//! let session = anonymous.login("alice", "correct horse", "laptop").await?;
//! let alice = anonymous.with_token(session.token);
//! println!("{} conversations", alice.conversations().await?.conversations.len());
//! # Ok(())
//! # }
//! ```

mod channels;
mod contacts;
mod error;
mod exports;
mod groups;
mod media;
mod moments;
mod pay;
mod profiles;
mod search;
mod shops;
mod socket;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use piazza_api::{
    AccountView, AddMember, Block, BlockList, ContactList, ContactRequestCreated,
    ContactRequestList, ContactView, ConversationCreated, ConversationList,
    ConversationSettingsChange, ConversationSettingsView, CreateAccount, CreateContactRequest,
    CreateGroup, CreateSession, DeviceList, Health, MarkRead, MessageContent, MessagePage,
    MessageSent, MessageView, OpenDirect, React, SendMessage, SessionCreated, SyncPage,
};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::{AUTHORIZATION, USER_AGENT};

pub use error::{ClientError, UNEXPECTED_BODY};
pub use groups::JoinDecision;
pub use media::MediaBytes;
pub use pay::{IdempotencyKey, QrImageFormat, STATEMENT_PAGES_MAX, SplitMode};
pub use search::Search;
pub use shops::OrderFilter;
pub use socket::{Incoming, Socket, SocketReceiver, SocketSender};

/// Pages of contacts `all_contacts` follows at most: the server holds at
/// most 5,000 contacts an account, at 200 a page.
pub const CONTACT_PAGES_MAX: usize = 25;

/// A handle on one server, or on the nodes of one cluster, optionally
/// acting as one device (its token). Cloning is cheap and every clone
/// shares one connection pool, so a load generator can hold thousands of
/// clients with different tokens.
///
/// Given several addresses (`http://a:8080,http://b:8080`), the client
/// talks to one at a time and moves on to the next when it cannot reach
/// it: at once for a connection that was refused or timed out (the request
/// never left), and for a request that failed on the way only when
/// repeating it is harmless (a read, a call with an `Idempotency-Key`, a
/// message with its `client_msg_id`, an upload). Every clone moves
/// together: they share which address is in use. The typed calls fail
/// over; `raw` calls and media downloads go to the address in use as they
/// are; a socket's caller resumes from its cursor itself.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// Each without a trailing slash, so paths can be appended as they are;
    /// never empty.
    addresses: Arc<[Box<str>]>,
    /// Which of `addresses` is in use, shared by every clone.
    at: Arc<AtomicUsize>,
    token: Option<Arc<str>>,
}

/// Written by hand so that a token never ends up in a log line.
impl std::fmt::Debug for Client {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let token = self.token.as_ref().map(|_| "<redacted>");
        formatter
            .debug_struct("Client")
            .field("addresses", &self.addresses)
            .field("token", &token)
            .finish_non_exhaustive()
    }
}

/// An answer as it came, for tests that send hostile input and check the
/// exact status, headers and body.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub headers: HeaderMap,
}

/// How long to wait for a TCP connection (HTTP or WebSocket).
const CONNECT_TIMEOUT_S: u64 = 10;
/// How long any call may take, beyond what a long poll asks the server to
/// wait. Generous, because a server under load test is slow on purpose.
const REQUEST_TIMEOUT_S: u64 = 30;

/// What this client calls itself (`User-Agent`): the server names the
/// device in its devices list by it ("Piazza CLI on Linux").
pub fn user_agent() -> String {
    format!(
        "piazza-cli/{} ({}; {})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

impl Client {
    /// A client of the server at `base_url`, such as `http://127.0.0.1:8080`,
    /// or of a cluster's nodes given as a comma-separated list, tried in
    /// that order. The URLs are not checked here: a bad one fails every
    /// call with a `Transport` error that names it.
    pub fn new(base_url: &str) -> Client {
        Client::connecting_from(base_url, None)
    }

    /// A client whose connections leave from `local_address` (one of this
    /// host's addresses, such as `127.0.0.2` on Linux's loopback): a host
    /// with several addresses picks which one the server sees, and a test
    /// plays several clients at different addresses.
    pub fn from_address(base_url: &str, local_address: std::net::IpAddr) -> Client {
        Client::connecting_from(base_url, Some(local_address))
    }

    fn connecting_from(base_url: &str, local_address: Option<std::net::IpAddr>) -> Client {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(CONNECT_TIMEOUT_S))
            .timeout(Duration::from_secs(REQUEST_TIMEOUT_S))
            .tcp_nodelay(true)
            .user_agent(user_agent())
            .local_address(local_address)
            .build()
            // Without TLS features there is no backend to initialise, and
            // the builder fails only on such initialisation.
            .expect("a plain-HTTP reqwest client always builds");
        let mut addresses: Vec<Box<str>> = base_url
            .split(',')
            .map(|address| address.trim().trim_end_matches('/'))
            .filter(|address| !address.is_empty())
            .map(Box::from)
            .collect();
        if addresses.is_empty() {
            // Every call then fails with a transport error naming it.
            addresses.push(base_url.into());
        }
        Client {
            http,
            addresses: addresses.into(),
            at: Arc::new(AtomicUsize::new(0)),
            token: None,
        }
    }

    /// The same server and connection pool, acting with `token`.
    pub fn with_token(&self, token: impl Into<String>) -> Client {
        Client {
            token: Some(token.into().into()),
            ..self.clone()
        }
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The address in use: the first given, until it could not be reached.
    pub fn base_url(&self) -> &str {
        &self.addresses[self.at.load(Ordering::Relaxed) % self.addresses.len()]
    }

    /// Every address this client may use, in the order they are tried.
    pub fn addresses(&self) -> impl Iterator<Item = &str> {
        self.addresses.iter().map(|address| &**address)
    }

    /// Moves every clone on from `address` to the next one (unless another
    /// call already moved on from it), answering the address now in use.
    fn fail_over(&self, address: &str) -> &str {
        let count = self.addresses.len();
        if let Some(index) = self.addresses.iter().position(|a| &**a == address) {
            let _ = self.at.compare_exchange(
                index,
                (index + 1) % count,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        self.base_url()
    }

    // ------------------------------------------------------------ accounts

    /// `POST /api/v1/accounts`.
    pub async fn create_account(
        &self,
        username: &str,
        password: &str,
        display_name: Option<&str>,
    ) -> Result<AccountView, ClientError> {
        let body = CreateAccount {
            username: username.to_owned(),
            password: password.to_owned(),
            display_name: display_name.map(str::to_owned),
        };
        let answer = self
            .call(self.request(Method::POST, "/api/v1/accounts").json(&body))
            .await?;
        decode(&answer)
    }

    /// `POST /api/v1/sessions`: a new device of the account, with its token.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> Result<SessionCreated, ClientError> {
        let body = CreateSession {
            username: username.to_owned(),
            password: password.to_owned(),
            device_name: device_name.to_owned(),
        };
        let answer = self
            .call(self.request(Method::POST, "/api/v1/sessions").json(&body))
            .await?;
        decode(&answer)
    }

    /// `GET /api/v1/me`.
    pub async fn me(&self) -> Result<AccountView, ClientError> {
        let answer = self.call(self.request(Method::GET, "/api/v1/me")).await?;
        decode(&answer)
    }

    /// `GET /api/v1/devices`.
    pub async fn devices(&self) -> Result<DeviceList, ClientError> {
        let answer = self
            .call(self.request(Method::GET, "/api/v1/devices"))
            .await?;
        decode(&answer)
    }

    /// `DELETE /api/v1/devices/{device_id}`.
    pub async fn revoke_device(&self, device_id: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/devices/{}", encode_segment(device_id));
        self.call(self.request(Method::DELETE, &path)).await?;
        Ok(())
    }

    // ------------------------------------------------------------ contacts

    /// `POST /api/v1/contacts/requests`; returns the `request_id`.
    pub async fn request_contact(
        &self,
        to_username: &str,
        greeting: Option<&str>,
    ) -> Result<String, ClientError> {
        let body = CreateContactRequest {
            to: to_username.to_owned(),
            greeting: greeting.map(str::to_owned),
        };
        let request = self.request(Method::POST, "/api/v1/contacts/requests");
        let answer = self.call(request.json(&body)).await?;
        let created: ContactRequestCreated = decode(&answer)?;
        Ok(created.request_id)
    }

    /// `GET /api/v1/contacts/requests`: incoming requests still pending.
    pub async fn contact_requests(&self) -> Result<ContactRequestList, ClientError> {
        let answer = self
            .call(self.request(Method::GET, "/api/v1/contacts/requests"))
            .await?;
        decode(&answer)
    }

    /// `POST /api/v1/contacts/requests/{request_id}/accept`.
    pub async fn accept_request(&self, request_id: &str) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/contacts/requests/{}/accept",
            encode_segment(request_id)
        );
        self.call(self.request(Method::POST, &path)).await?;
        Ok(())
    }

    /// `GET /api/v1/contacts`.
    pub async fn contacts(&self) -> Result<ContactList, ClientError> {
        self.contacts_page(None).await
    }

    /// One page of `GET /api/v1/contacts`: the first without a cursor, the
    /// next with the `next_cursor` of the one before.
    pub async fn contacts_page(&self, cursor: Option<&str>) -> Result<ContactList, ClientError> {
        let mut request = self.request(Method::GET, "/api/v1/contacts");
        if let Some(cursor) = cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        decode(&self.call(request).await?)
    }

    /// Every contact, following the pages (at most `CONTACT_PAGES_MAX`).
    pub async fn all_contacts(&self) -> Result<Vec<ContactView>, ClientError> {
        let mut contacts = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..CONTACT_PAGES_MAX {
            let page = self.contacts_page(cursor.as_deref()).await?;
            contacts.extend(page.contacts);
            match page.next_cursor {
                Some(next) if page.has_more => cursor = Some(next),
                _ => break,
            }
        }
        Ok(contacts)
    }

    /// `DELETE /api/v1/contacts/{account_id}`.
    pub async fn remove_contact(&self, account_id: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/contacts/{}", encode_segment(account_id));
        self.call(self.request(Method::DELETE, &path)).await?;
        Ok(())
    }

    // ------------------------------------------------------- conversations

    /// `POST /api/v1/conversations/direct`; returns the `conversation_id`,
    /// the same one every time for the same pair.
    pub async fn open_direct(&self, peer_account_id: &str) -> Result<String, ClientError> {
        let body = OpenDirect {
            peer: peer_account_id.to_owned(),
        };
        let request = self.request(Method::POST, "/api/v1/conversations/direct");
        let answer = self.call(request.json(&body)).await?;
        let created: ConversationCreated = decode(&answer)?;
        Ok(created.conversation_id)
    }

    /// `POST /api/v1/conversations`: a group owned by the caller, with
    /// `member_account_ids` (the caller's contacts); returns its id.
    pub async fn create_group(
        &self,
        title: &str,
        member_account_ids: &[String],
    ) -> Result<String, ClientError> {
        let body = CreateGroup {
            title: title.to_owned(),
            members: member_account_ids.to_vec(),
        };
        let request = self.request(Method::POST, "/api/v1/conversations");
        let answer = self.call(request.json(&body)).await?;
        let created: ConversationCreated = decode(&answer)?;
        Ok(created.conversation_id)
    }

    /// `GET /api/v1/conversations`.
    pub async fn conversations(&self) -> Result<ConversationList, ClientError> {
        let answer = self
            .call(self.request(Method::GET, "/api/v1/conversations"))
            .await?;
        decode(&answer)
    }

    /// `POST /api/v1/conversations/{id}/members` (owner only).
    pub async fn add_member(
        &self,
        conversation_id: &str,
        account_id: &str,
    ) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/conversations/{}/members",
            encode_segment(conversation_id)
        );
        let body = AddMember {
            account_id: account_id.to_owned(),
        };
        self.call(self.request(Method::POST, &path).json(&body))
            .await?;
        Ok(())
    }

    /// `DELETE /api/v1/conversations/{id}/members/{account_id}`: the owner
    /// removes someone, or a member leaves.
    pub async fn remove_member(
        &self,
        conversation_id: &str,
        account_id: &str,
    ) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/conversations/{}/members/{}",
            encode_segment(conversation_id),
            encode_segment(account_id)
        );
        self.call(self.request(Method::DELETE, &path)).await?;
        Ok(())
    }

    /// `POST /api/v1/conversations/{id}/messages`. The `bool` is true when
    /// the server answered 200, meaning it had already stored a message
    /// with this `client_msg_id` and this is that message, not a new one.
    pub async fn send_message(
        &self,
        conversation_id: &str,
        client_msg_id: &str,
        text: &str,
    ) -> Result<(MessageSent, bool), ClientError> {
        let body = SendMessage {
            client_msg_id: client_msg_id.to_owned(),
            message: MessageContent::text(text),
        };
        self.post_message(conversation_id, &body).await
    }

    /// Sends any message (a reply, mentions, a place, a card, a forward:
    /// `message` says which), idempotent by `client_msg_id` as
    /// [`Client::send_message`] (the `bool`: replayed).
    pub async fn send(
        &self,
        conversation_id: &str,
        client_msg_id: &str,
        message: MessageContent,
    ) -> Result<(MessageSent, bool), ClientError> {
        let body = SendMessage {
            client_msg_id: client_msg_id.to_owned(),
            message,
        };
        self.post_message(conversation_id, &body).await
    }

    /// The one `POST …/messages` behind [`Client::send_message`] and
    /// [`Client::send_image`]: 200 is a replay of a stored message.
    pub(crate) async fn post_message(
        &self,
        conversation_id: &str,
        body: &SendMessage,
    ) -> Result<(MessageSent, bool), ClientError> {
        let path = format!(
            "/api/v1/conversations/{}/messages",
            encode_segment(conversation_id)
        );
        let request = self.request(Method::POST, &path).json(body);
        let answer = self.call_repeatable(request).await?;
        let replayed = answer.status == StatusCode::OK;
        Ok((decode(&answer)?, replayed))
    }

    /// `GET /api/v1/conversations/{id}/messages`: newest first, strictly
    /// older than `before` when given.
    pub async fn history(
        &self,
        conversation_id: &str,
        before: Option<i64>,
        limit: Option<u32>,
    ) -> Result<MessagePage, ClientError> {
        let path = format!(
            "/api/v1/conversations/{}/messages",
            encode_segment(conversation_id)
        );
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(before) = before {
            query.push(("before", before.to_string()));
        }
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        let answer = self
            .call(self.request(Method::GET, &path).query(&query))
            .await?;
        decode(&answer)
    }

    /// `POST /api/v1/conversations/{id}/read`: read up to `seq`.
    pub async fn mark_read(&self, conversation_id: &str, seq: i64) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/conversations/{}/read",
            encode_segment(conversation_id)
        );
        self.call(self.request(Method::POST, &path).json(&MarkRead { seq }))
            .await?;
        Ok(())
    }

    /// `POST /api/v1/conversations/{id}/messages/{message_id}/recall`:
    /// takes a message back from every member; answers it as it now is.
    pub async fn recall_message(
        &self,
        conversation_id: &str,
        message_id: &str,
    ) -> Result<MessageView, ClientError> {
        let path = format!(
            "/api/v1/conversations/{}/messages/{}/recall",
            encode_segment(conversation_id),
            encode_segment(message_id)
        );
        decode(&self.call(self.request(Method::POST, &path)).await?)
    }

    /// `GET /api/v1/conversations/{id}/messages/{message_id}`: one message
    /// as the history shows it (what a reply quotes).
    pub async fn message(
        &self,
        conversation_id: &str,
        message_id: &str,
    ) -> Result<MessageView, ClientError> {
        let path = format!(
            "/api/v1/conversations/{}/messages/{}",
            encode_segment(conversation_id),
            encode_segment(message_id)
        );
        decode(&self.call(self.request(Method::GET, &path)).await?)
    }

    /// `POST /api/v1/blocks`: blocks an account.
    pub async fn block(&self, account_id: &str) -> Result<(), ClientError> {
        let body = Block {
            account_id: account_id.to_owned(),
        };
        self.call(self.request(Method::POST, "/api/v1/blocks").json(&body))
            .await?;
        Ok(())
    }

    /// `DELETE /api/v1/blocks/{account_id}`.
    pub async fn unblock(&self, account_id: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/blocks/{}", encode_segment(account_id));
        self.call(self.request(Method::DELETE, &path)).await?;
        Ok(())
    }

    /// `GET /api/v1/blocks`: whom this account blocked, the latest first.
    pub async fn blocks(&self) -> Result<BlockList, ClientError> {
        decode(
            &self
                .call(self.request(Method::GET, "/api/v1/blocks"))
                .await?,
        )
    }

    /// `GET /api/v1/contacts/presence`: which contacts are online, and
    /// when the others were last seen (as each lets the caller see).
    pub async fn presence(&self) -> Result<piazza_api::PresenceList, ClientError> {
        decode(
            &self
                .call(self.request(Method::GET, "/api/v1/contacts/presence"))
                .await?,
        )
    }

    /// `GET /api/v1/me/privacy`: who sees this account's presence and its
    /// moments.
    pub async fn privacy(&self) -> Result<piazza_api::Privacy, ClientError> {
        decode(
            &self
                .call(self.request(Method::GET, "/api/v1/me/privacy"))
                .await?,
        )
    }

    /// `PATCH /api/v1/me/privacy`: who sees this account's presence and
    /// its moments.
    pub async fn set_privacy(
        &self,
        privacy: &piazza_api::Privacy,
    ) -> Result<piazza_api::Privacy, ClientError> {
        let request = self.request(Method::PATCH, "/api/v1/me/privacy");
        decode(&self.call(request.json(privacy)).await?)
    }

    /// `PATCH /api/v1/conversations/{id}/settings`: mute, pin or archive
    /// a conversation on all this account's devices.
    pub async fn change_conversation_settings(
        &self,
        conversation_id: &str,
        change: &ConversationSettingsChange,
    ) -> Result<ConversationSettingsView, ClientError> {
        let path = format!(
            "/api/v1/conversations/{}/settings",
            encode_segment(conversation_id)
        );
        decode(
            &self
                .call(self.request(Method::PATCH, &path).json(change))
                .await?,
        )
    }

    /// `POST /api/v1/conversations/{id}/messages/{message_id}/reactions`.
    pub async fn react(
        &self,
        conversation_id: &str,
        message_id: &str,
        emoji: &str,
    ) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/conversations/{}/messages/{}/reactions",
            encode_segment(conversation_id),
            encode_segment(message_id)
        );
        let body = React {
            emoji: emoji.to_owned(),
        };
        self.call(self.request(Method::POST, &path).json(&body))
            .await?;
        Ok(())
    }

    /// `DELETE /api/v1/conversations/{id}/messages/{message_id}/reactions/{emoji}`.
    pub async fn unreact(
        &self,
        conversation_id: &str,
        message_id: &str,
        emoji: &str,
    ) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/conversations/{}/messages/{}/reactions/{}",
            encode_segment(conversation_id),
            encode_segment(message_id),
            encode_segment(emoji)
        );
        self.call(self.request(Method::DELETE, &path)).await?;
        Ok(())
    }

    /// `DELETE /api/v1/conversations/{id}/messages/{message_id}`: hides a
    /// message from the caller's own history, on all its devices.
    pub async fn delete_for_me(
        &self,
        conversation_id: &str,
        message_id: &str,
    ) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/conversations/{}/messages/{}",
            encode_segment(conversation_id),
            encode_segment(message_id)
        );
        self.call(self.request(Method::DELETE, &path)).await?;
        Ok(())
    }

    // ---------------------------------------------------------------- sync

    /// `GET /api/v1/sync`: the account's log after `since` (from the very
    /// beginning without it). With `wait_ms` the server holds the request
    /// until something happens or the wait ends, so this call's own timeout
    /// is stretched by that much.
    pub async fn sync(
        &self,
        since: Option<&str>,
        limit: Option<u32>,
        wait_ms: Option<u64>,
    ) -> Result<SyncPage, ClientError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(since) = since {
            query.push(("since", since.to_owned()));
        }
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        let mut request = self.request(Method::GET, "/api/v1/sync");
        if let Some(wait_ms) = wait_ms {
            query.push(("wait_ms", wait_ms.to_string()));
            let timeout = Duration::from_millis(wait_ms) + Duration::from_secs(REQUEST_TIMEOUT_S);
            request = request.timeout(timeout);
        }
        let answer = self.call(request.query(&query)).await?;
        decode(&answer)
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Result<Health, ClientError> {
        let answer = self.call(self.request(Method::GET, "/healthz")).await?;
        decode(&answer)
    }

    // ------------------------------------------------------------ live

    /// Opens `GET /api/v1/ws`, sending the token in the `Authorization`
    /// header. A refused upgrade (such as a 401 for a revoked token) is an
    /// `Api` error like any other.
    /// With several addresses, one that cannot be reached is left for the
    /// next (each is tried once); the caller then resumes from its cursor
    /// with a `sync` frame, as after any reconnection.
    pub async fn connect_socket(&self) -> Result<Socket, ClientError> {
        let mut address = self.base_url().to_owned();
        let mut tries = 1;
        loop {
            match self.connect_socket_to(&address).await {
                Err(ClientError::Transport(_)) if tries < self.addresses.len() => {
                    address = self.fail_over(&address).to_owned();
                    tries += 1;
                }
                answer => return answer,
            }
        }
    }

    async fn connect_socket_to(&self, base_url: &str) -> Result<Socket, ClientError> {
        let url = socket::websocket_url(base_url)?;
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|error| ClientError::transport(&error))?;
        if let Some(token) = &self.token {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                ClientError::Transport("the token is not a valid header value".to_owned())
            })?;
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        if let Ok(value) = HeaderValue::from_str(&user_agent()) {
            request.headers_mut().insert(USER_AGENT, value);
        }
        // Nagle's algorithm would hold back the small frames a chat sends,
        // adding tens of milliseconds to every message.
        let disable_nagle = true;
        let connecting = tokio_tungstenite::connect_async_with_config(request, None, disable_nagle);
        let (stream, _response) =
            tokio::time::timeout(Duration::from_secs(CONNECT_TIMEOUT_S), connecting)
                .await
                .map_err(|_| {
                    ClientError::Transport(format!(
                        "WebSocket handshake with {url} took more than {CONNECT_TIMEOUT_S} s"
                    ))
                })?
                .map_err(socket::handshake_error)?;
        Ok(Socket::new(stream))
    }

    // ------------------------------------------------------------- raw

    /// Sends exactly what it is given to `path` (appended to the base URL
    /// unchanged, query included), with the bearer token if there is one.
    /// Any status is a success here; only transport failures are errors.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
    ) -> Result<RawResponse, ClientError> {
        self.raw_with_headers(method, path, body, content_type, &[])
            .await
    }

    /// [`Client::raw`] with extra request headers, such as an
    /// `Idempotency-Key`.
    pub async fn raw_with_headers(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<RawResponse, ClientError> {
        let mut request = self.request(method, path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|error| ClientError::transport(&error))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .map_err(|error| ClientError::transport(&error))?;
        Ok(RawResponse {
            status,
            content_type,
            body: body.to_vec(),
            headers,
        })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self
            .http
            .request(method, format!("{}{path}", self.base_url()));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    // ------------------------------------------------------------ QR log-in

    /// `POST /api/v1/login-requests` (no token needed): a QR log-in for a
    /// new device named `device_name`.
    pub async fn create_login_request(
        &self,
        device_name: Option<&str>,
    ) -> Result<piazza_api::LoginRequestCreated, ClientError> {
        let body = piazza_api::CreateLoginRequest {
            device_name: device_name.map(str::to_owned),
        };
        let answer = self
            .call(
                self.request(Method::POST, "/api/v1/login-requests")
                    .json(&body),
            )
            .await?;
        decode(&answer)
    }

    /// `GET /api/v1/login-requests/{id}/details` for a scanned payload
    /// (`piazza-login:<request_id>:<code>`; the prefix may be left off):
    /// the browser, address and time the server saw, to show the person
    /// before they approve.
    pub async fn login_request_details(
        &self,
        qr_payload: &str,
    ) -> Result<piazza_api::LoginRequestDetails, ClientError> {
        let (request_id, code) = split_login_payload(qr_payload);
        let path = format!(
            "/api/v1/login-requests/{}/details",
            encode_segment(request_id)
        );
        let answer = self
            .call(
                self.request(Method::GET, &path)
                    .header("x-login-code", code),
            )
            .await?;
        decode(&answer)
    }

    /// `POST /api/v1/login-requests/{id}/approve` with the scanned payload:
    /// this account gets the new device. This is the confirmation itself
    /// (`confirm: true`): call it only after the person saw
    /// [`Self::login_request_details`] and said yes.
    pub async fn approve_login(&self, qr_payload: &str) -> Result<(), ClientError> {
        let (request_id, code) = split_login_payload(qr_payload);
        let path = format!(
            "/api/v1/login-requests/{}/approve",
            encode_segment(request_id)
        );
        let body = piazza_api::ApproveLogin {
            code: None,
            qr_payload: Some(format!("{LOGIN_PAYLOAD_PREFIX}{request_id}:{code}")),
            confirm: Some(true),
        };
        self.call(self.request(Method::POST, &path).json(&body))
            .await?;
        Ok(())
    }

    /// `GET /api/v1/login-requests/{id}` with the page's secret (sent in
    /// the `X-Login-Secret` header, not the URL). Once approved, the first
    /// answer carries the new device's token.
    pub async fn login_request_status(
        &self,
        request_id: &str,
        secret: &str,
    ) -> Result<piazza_api::LoginRequestView, ClientError> {
        let path = format!("/api/v1/login-requests/{}", encode_segment(request_id));
        let answer = self
            .call(
                self.request(Method::GET, &path)
                    .header("x-login-secret", secret),
            )
            .await?;
        decode(&answer)
    }
}

const LOGIN_PAYLOAD_PREFIX: &str = "piazza-login:";

/// A QR log-in payload's request id and code (empty when missing: the
/// server then answers 404, as for any unknown request).
fn split_login_payload(qr_payload: &str) -> (&str, &str) {
    let payload = qr_payload.trim();
    let rest = payload
        .strip_prefix(LOGIN_PAYLOAD_PREFIX)
        .unwrap_or(payload);
    rest.split_once(':').unwrap_or((rest, ""))
}

/// A 2xx answer, read in full.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

/// Whether a request that failed on its way (not at connecting) may be
/// sent again to another node.
#[derive(Clone, Copy)]
enum Repeat {
    /// When it only reads, or carries an `Idempotency-Key`. (A `PUT`
    /// may not be harmless twice: a PIN change repeated sends an old PIN
    /// that is no longer right.)
    IfSafe,
    /// Always: the body carries what makes it idempotent (a message's
    /// `client_msg_id`, an upload's bytes).
    Always,
}

impl Repeat {
    fn allows(self, request: &reqwest::Request) -> bool {
        match self {
            Repeat::Always => true,
            Repeat::IfSafe => {
                matches!(*request.method(), Method::GET | Method::HEAD)
                    || request.headers().contains_key(pay::IDEMPOTENCY_HEADER)
            }
        }
    }
}

impl Client {
    /// Sends `request`, moving on to the next address when this one cannot
    /// be reached (see [`Client`]); a 2xx answer read in full, or the error.
    async fn call(&self, request: RequestBuilder) -> Result<Answer, ClientError> {
        self.exchange(request, Repeat::IfSafe).await
    }

    /// [`Client::call`] for a request that is idempotent by its body.
    async fn call_repeatable(&self, request: RequestBuilder) -> Result<Answer, ClientError> {
        self.exchange(request, Repeat::Always).await
    }

    async fn exchange(
        &self,
        builder: RequestBuilder,
        repeat: Repeat,
    ) -> Result<Answer, ClientError> {
        let (http, request) = builder.build_split();
        let mut request = request.map_err(|error| ClientError::transport(&error))?;
        let mut tries = 1;
        loop {
            // A streamed body cannot be cloned, so it is never sent twice.
            let spare = (tries < self.addresses.len())
                .then(|| request.try_clone())
                .flatten();
            let error = match http.execute(request).await {
                Ok(response) => return read_answer(response).await,
                Err(error) => error,
            };
            match spare {
                Some(mut next) if error.is_connect() || repeat.allows(&next) => {
                    *next.url_mut() = self.rebased(next.url())?;
                    request = next;
                    tries += 1;
                }
                _ => return Err(ClientError::transport(&error)),
            }
        }
    }

    /// `url`, built on an address that failed, on the next address; an
    /// error if it was built on none of them.
    fn rebased(&self, url: &reqwest::Url) -> Result<reqwest::Url, ClientError> {
        let unknown = || ClientError::Transport(format!("{url} is on none of the addresses"));
        let (from, prefix) = self
            .addresses
            .iter()
            .find_map(|address| Some((address, on_address(url, address)?)))
            .ok_or_else(unknown)?;
        let next = reqwest::Url::parse(self.fail_over(from)).map_err(|_| unknown())?;
        let mut rebased = next.clone();
        let base_path = next.path().trim_end_matches('/');
        rebased.set_path(&format!("{base_path}{}", &url.path()[prefix..]));
        rebased.set_query(url.query());
        Ok(rebased)
    }
}

/// Whether `url` was built on `address` (same scheme, host and port, its
/// path under the address's): how many bytes of the path the address's
/// path takes.
fn on_address(url: &reqwest::Url, address: &str) -> Option<usize> {
    let base = reqwest::Url::parse(address).ok()?;
    let same_origin = base.scheme() == url.scheme()
        && base.host_str() == url.host_str()
        && base.port_or_known_default() == url.port_or_known_default();
    let prefix = base.path().trim_end_matches('/');
    let rest = url.path().strip_prefix(prefix)?;
    (same_origin && (rest.is_empty() || rest.starts_with('/'))).then_some(prefix.len())
}

async fn read_answer(response: reqwest::Response) -> Result<Answer, ClientError> {
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|error| ClientError::transport(&error))?;
    if !status.is_success() {
        return Err(ClientError::from_answer(status.as_u16(), &body));
    }
    Ok(Answer {
        status,
        body: body.to_vec(),
    })
}

fn decode<T: DeserializeOwned>(answer: &Answer) -> Result<T, ClientError> {
    serde_json::from_slice(&answer.body).map_err(|error| {
        ClientError::Decode(format!(
            "unexpected body in a {} answer: {error}",
            answer.status.as_u16()
        ))
    })
}

/// Percent-encodes an id for use as one path segment. Ids are opaque, and
/// a test may pass `a/b` or `x?y` on purpose: it must reach the server as
/// one segment, not change which endpoint is called. (A bare `.` or `..`
/// is still resolved as a step by URL parsing, encoded or not; no
/// percent-encoding can send those as ids.)
fn encode_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests;
