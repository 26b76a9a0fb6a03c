//! What the server needs to know to run, with every limit it enforces.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use piazza_domain::ledger::MONEY_INSIDE_MAX;
use piazza_domain::money::Currency;
use piazza_domain::store::{DailyCap, PinPolicy};
use serde::Deserialize;

use crate::gateway::PaymentGateway;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Where `/metrics` is served, on a listener of its own; `None`, not
    /// at all. Never on `listen`: metrics tell who uses what and how much,
    /// which is the operator's business, not the world's.
    pub metrics_listen: Option<SocketAddr>,
    pub data_dir: PathBuf,
    /// Where media bytes live: `None`, files in `data_dir/media`; or an
    /// S3-compatible bucket, `s3://bucket[/prefix]`, reached with the
    /// standard `AWS_*` environment (`AWS_ENDPOINT_URL`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`).
    /// Uploads are staged in `data_dir` either way.
    pub media_store: Option<String>,
    /// The PostgreSQL database to keep everything in
    /// (`postgres://user@host/db`); `None`, SQLite in `data_dir`. Media
    /// files live in `data_dir` either way. The binary reads it to choose
    /// the engine; the server itself knows no engine.
    pub database_url: Option<String>,
    /// The NATS servers that join this node to the others on the same
    /// database (`nats://host:4222`, comma-separated); `None`, a node
    /// alone (`cluster.rs`).
    pub nats_url: Option<String>,
    pub limits: Limits,
    pub password_hashing: PasswordHashing,
    /// The one currency this deployment's wallets hold.
    pub currency: Currency,
    /// Runs the built-in sandbox payment gateway, which credits top-ups and
    /// pays out withdrawals at once, with no real money. Off, top-ups and
    /// withdrawals answer 503 `no_payment_gateway`.
    pub sandbox_payments: bool,
    /// A payment gateway of the embedder's own (it wins over the sandbox).
    pub gateway: Option<Gateway>,
    /// Seconds a chat transfer waits to be accepted before it goes back
    /// to its sender.
    pub transfer_expiry_s: u64,
    /// Seconds a red packet may be claimed; the rest then goes back to
    /// its sender.
    pub red_packet_expiry_s: u64,
    /// The largest collection (a merchant scanning a buyer's payment code)
    /// that completes without the buyer confirming, in minor units.
    pub collect_without_pin_max_minor: i64,
    /// Runs the channels' background fan-out (`fanout.rs`), which tells
    /// followers' logs of new articles. Always on in a real server; a test
    /// turns it off to see what a publish does before the fan-out runs.
    pub channel_fanout: bool,
    /// Followers one fan-out job tells (`channel::FANOUT_CHUNK`; a test
    /// makes it small to cross many chunks with few followers).
    pub channel_fanout_chunk: usize,
    /// Runs search's indexer (`search_indexer.rs`) on this node, when it
    /// holds the indexer's lease. Off, messages sent meanwhile are found
    /// only once a node with it on has caught up (a benchmark's baseline).
    pub search_indexing: bool,
    /// Where the world reaches this server (`https://piazza.example`, no
    /// trailing slash), for the absolute links that Open Graph and feed
    /// readers want in the public pages; `None`, links relative to the
    /// page.
    pub public_url: Option<String>,
    /// The proxies and load balancers in front of this server: from
    /// them, the client's address is read from `X-Forwarded-For`
    /// (`forwarded.rs`); from anyone else the header is ignored.
    pub trusted_proxies: Vec<crate::forwarded::Network>,
}

impl Config {
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Config {
        Config {
            listen,
            metrics_listen: None,
            data_dir,
            media_store: None,
            database_url: None,
            nats_url: None,
            limits: Limits::default(),
            password_hashing: PasswordHashing::default(),
            currency: Currency::CNY,
            sandbox_payments: false,
            gateway: None,
            transfer_expiry_s: 24 * 60 * 60,
            red_packet_expiry_s: 24 * 60 * 60,
            collect_without_pin_max_minor: 50_000,
            channel_fanout: true,
            channel_fanout_chunk: piazza_domain::channel::FANOUT_CHUNK,
            search_indexing: true,
            public_url: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// A payment gateway handed to the server by whoever embeds it.
#[derive(Clone)]
pub struct Gateway(pub Arc<dyn PaymentGateway>);

impl std::fmt::Debug for Gateway {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Gateway(..)")
    }
}

/// Every limit the server applies to its clients. The file form is the
/// `[limits]` table of the TOML config; absent keys keep these defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// WebSocket connections the whole server holds at once.
    pub sockets_max: usize,
    /// WebSocket connections one account holds at once.
    pub sockets_per_account_max: usize,
    /// Events waiting for one socket; past it the socket is closed (4008)
    /// and its device catches up by sync.
    pub socket_queue_len_max: usize,
    /// A socket that takes no data for this long is dropped.
    pub socket_write_timeout_s: u64,
    /// Wrong passwords for one username from one client address (one
    /// IPv6 /64) within the window; past it that address gets 429 for that
    /// username until the window ends. Stops brute force from one address
    /// without touching the owner elsewhere.
    pub login_failures_per_username_address_max: u32,
    /// Wrong passwords from one client address within the window, for any
    /// usernames; past it 429 for every username until the window ends.
    pub login_failures_per_address_max: u32,
    /// Wrong passwords for one username within the window, from anywhere,
    /// after which every address without a right password for it lately
    /// (`login_known_address_s`) shares one pace: an attempt per pause
    /// (429 with a `Retry-After` of seconds otherwise). Never a lock: an
    /// address the owner logged in from is always checked. (Named `login_failures_per_username_max` before, when it
    /// was a lock; that name is still read.)
    #[serde(alias = "login_failures_per_username_max")]
    pub login_backoff_after_username_failures: u32,
    /// The first such pause; each further failure doubles it.
    pub login_backoff_first_ms: u64,
    /// The longest such pause.
    pub login_backoff_max_ms: u64,
    /// How long failed log-ins are remembered (each count's window).
    pub login_failure_window_s: u64,
    /// How long a right password keeps its address (an IPv4 address or
    /// IPv6 /56) exempt from a username's shared pace: 30 days, as an
    /// owner's home or office address usually lasts that long, while the
    /// pace only matters during an attack.
    pub login_known_address_s: u64,
    /// How long an address told to wait by a username's pace may come
    /// back and take its next slot; past it the address must be told to
    /// wait again. Only addresses that come back take slots, so guessers
    /// trying each address once cannot snatch every slot from an owner
    /// who retries.
    pub login_pace_return_s: u64,
    /// Usernames, addresses and (username, address) pairs whose failures
    /// are remembered, each; past it expired ones are forgotten first, then
    /// the oldest.
    pub login_limiter_keys_max: usize,
    /// Password hashes computed at once (each takes ~19 MiB and a core).
    pub password_hashes_in_flight_max: usize,
    /// Longest a plain HTTP request may take (long-polls included).
    pub request_timeout_s: u64,
    /// Seconds between server pings on an idle WebSocket.
    pub socket_ping_interval_s: u64,
    /// A socket that has said nothing for this long is closed.
    pub socket_idle_timeout_s: u64,
    /// Wrong payment PINs in a row that lock money-out.
    pub pin_attempts_max: u32,
    /// How long money-out stays locked after them.
    pub pin_lock_s: u64,
    /// The largest red packet, in minor units (WeChat's is 200.00).
    pub red_packet_total_max_minor: i64,
    /// How long an `Idempotency-Key` and its answer are kept; at least a
    /// day (Stripe's promise), after which the sweeper deletes them.
    pub idempotency_key_retention_s: u64,
    /// How long a buyer's payment code can be collected.
    pub payment_code_valid_s: u64,
    /// How long a deleted account can still be restored by logging in
    /// (7 days); then the sweeper erases it.
    pub account_deletion_grace_s: u64,
    /// How long a collection above the no-PIN limit waits for the buyer to
    /// confirm it before it lapses (nothing moved).
    pub collect_confirm_s: u64,
    /// A device that entered the right payment PIN this recently may show
    /// a payment code without typing it again (0: every code asks). The
    /// store remembers it per device, so every node of a cluster agrees.
    pub payment_code_pin_window_s: u64,
    /// Collections per buyer and UTC day that complete without the buyer
    /// confirming; past it, each one waits for their PIN.
    pub collect_without_pin_per_day_max: u32,
    /// The amount, in minor units, that collections may take from one
    /// buyer per UTC day without the buyer confirming; past it, likewise.
    pub collect_without_pin_per_day_max_minor: i64,
    /// How long a forgotten PIN's reset (with the password) waits before
    /// the new PIN takes effect; until then no money leaves the wallet.
    pub pin_reset_wait_s: u64,
    /// Seconds after sending that a message's sender may recall it
    /// (WeChat's two minutes).
    pub recall_window_s: u64,
    /// Seconds after sending that a group's owner may recall anyone's
    /// message in the group.
    pub group_recall_window_s: u64,
    /// Seconds a shop order waits for payment before the sweeper cancels
    /// it and releases its stock (15 minutes).
    pub order_pay_within_s: u64,
    /// Seconds after shipping that an order the buyer has not confirmed
    /// is confirmed by the sweeper, releasing its escrow to the shop (7
    /// days).
    pub order_auto_confirm_s: u64,
    /// Seconds after an order's completion during which its buyer may
    /// still ask for a refund (15 days).
    pub order_refund_window_s: u64,
    /// The most a wallet may hold after a top-up, in minor units (a top-up
    /// past it is 409 `wallet_balance_limit`, refused before the gateway
    /// charges anything). It keeps one account from filling the ledger's
    /// bound on all the money inside (`ledger::MONEY_INSIDE_MAX`).
    pub wallet_balance_max_minor: i64,
    /// Requests one account may make per second, all its devices together
    /// (WebSocket frames not included; see `socket_messages_per_s`). Past
    /// it: 429 `rate_limited` with `Retry-After`.
    pub requests_per_account_per_s: u32,
    /// Requests one account may make at once before that rate applies.
    pub requests_per_account_burst: u32,
    /// Requests per second from one client address (one IPv6 /64) that no
    /// account answers for: sign-ups, log-ins, web pages, bad tokens.
    pub anonymous_requests_per_address_per_s: u32,
    /// Such requests one address may make at once before that rate applies.
    pub anonymous_requests_per_address_burst: u32,
    /// Profile changes (`PATCH /api/v1/me`) one account may make per
    /// minute, all at once if it likes; each logs `account.updated` to up
    /// to 5,000 contacts, so the general request rate is far too loose for
    /// it. Group changes (`PATCH /api/v1/conversations/{id}`, logged to up
    /// to 500 members) have a bucket of their own at the same rate. Past
    /// it: 429 `rate_limited` with `Retry-After`.
    pub profile_changes_per_account_per_min: u32,
    /// Accounts, and addresses, whose request rate is remembered at once;
    /// past it the idle ones are forgotten first.
    pub rate_limit_keys_max: usize,
    /// Frames per second one WebSocket may send. A frame past it gets an
    /// error frame `rate_limited`; a sustained excess (see
    /// `socket_refusals_max`) closes the socket (1008).
    pub socket_messages_per_s: u32,
    /// Frames one WebSocket may send at once before that rate applies.
    pub socket_messages_burst: u32,
    /// Frames refused for the rate that one WebSocket may be answered
    /// within `socket_refusals_window_s`; the next one closes it (1008). A
    /// client that keeps sending past its rate is not reading its error
    /// frames, and answering each one costs the server a write.
    pub socket_refusals_max: u32,
    /// The window over which refusals are counted: they are forgiven at
    /// `socket_refusals_max` per window, so an occasional burst never adds
    /// up to a close.
    pub socket_refusals_window_s: u64,
    /// Connections one client address (one IPv6 /64) holds at once. Past
    /// it, that address's oldest idle connection is closed to make room;
    /// with none idle, the new one is.
    pub connections_per_address_max: usize,
    /// Connections the server holds at once, WebSockets included. At start
    /// it is lowered to what the open-file limit allows after
    /// `open_files_reserved`. Past it, the oldest idle connection is
    /// closed to make room; with none idle, the new one is.
    pub connections_max: usize,
    /// File descriptors kept out of `connections_max` for everything that
    /// is not a connection: the store's database and WAL files (each
    /// connection of the store holds two), media files being written or
    /// read, the listeners.
    pub open_files_reserved: u64,
    /// A connection whose request head (request line and headers) has not
    /// fully arrived this long after it began waiting for one is closed:
    /// slow clients (slowloris), and kept-alive connections left idle.
    pub header_read_timeout_s: u64,
    /// Writes waiting for the store's writer at once; past it callers wait
    /// for room (back-pressure), in the order they came.
    pub writer_queue_len_max: usize,
    /// PostgreSQL's writer threads, each with a connection of its own and
    /// its share of the queue (SQLite has one writer whatever this says).
    pub postgres_writers: usize,
    /// The store writer's SQLite page cache, in MiB: memory the server
    /// grows into as the data is written, and keeps.
    pub writer_cache_mib: u32,
    /// WAL the store's commits may write, in MiB, before a checkpoint
    /// copies it back into the database file (on a thread of its own).
    /// Larger: fewer writes of hot pages, a longer WAL to read through.
    pub wal_checkpoint_mib: u32,
    /// Entries each log-structured tail of the store (new log entries,
    /// statement lines, idempotency keys, history entries) keeps before the
    /// writer moves the rest into the big B-trees (`piazza-sqlite`'s
    /// `tails.rs`). Larger: each moved page
    /// gathers more entries, but every commit rewrites more tail pages.
    pub tail_keep: u64,
    /// Entries moved out of one tail after one batch, at most: bounds the
    /// time a batch spends moving.
    pub tail_move_max: u64,
    /// Seconds the start-up integrity check (SQLite's `quick_check` of
    /// every page, then the ledger's sums; on PostgreSQL the ledger's sums)
    /// may take; past it the server starts and the background verifier
    /// checks at once. 0 skips it.
    pub integrity_start_check_s: u64,
    /// Seconds from the end of one background integrity pass to the next
    /// (either engine).
    pub integrity_verify_interval_s: u64,
    /// Milliseconds SQLite's background verifier rests between two
    /// tables' page checks (PostgreSQL's has no page checks).
    pub integrity_verify_pause_ms: u64,
    /// Bytes in one uploaded picture (`POST /api/v1/media`); past it 413.
    /// Uploads are the only bodies allowed past the 64 KiB of JSON
    /// requests, and the only ones streamed to disk as they arrive.
    pub media_bytes_max: usize,
    /// Bytes in one uploaded audio file (a voice note); past it 413.
    pub audio_bytes_max: u64,
    /// Bytes in one uploaded video; past it 413.
    pub video_bytes_max: u64,
    /// Bytes in one uploaded file of any other type; past it 413.
    pub file_bytes_max: u64,
    /// Seconds one upload may take from its first byte to its answer (the
    /// rest of the API answers within `request_timeout_s`); past it 408.
    /// Downloads stream with no such bound.
    pub media_upload_timeout_s: u64,
    /// Bytes of media one account may keep, each distinct content counted
    /// once however often it was uploaded; past it 507
    /// `media_quota_exceeded`.
    pub media_quota_bytes_per_account: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            sockets_max: 50_000,
            sockets_per_account_max: 64,
            socket_queue_len_max: piazza_domain::limits::DEVICE_SEND_QUEUE_LEN_MAX,
            socket_write_timeout_s: 10,
            login_failures_per_username_address_max: 10,
            login_failures_per_address_max: 100,
            login_backoff_after_username_failures: 50,
            login_backoff_first_ms: 1000,
            login_backoff_max_ms: 5000,
            login_failure_window_s: 15 * 60,
            login_known_address_s: 30 * 24 * 3600,
            login_pace_return_s: 60,
            login_limiter_keys_max: 100_000,
            password_hashes_in_flight_max: 4,
            request_timeout_s: 45,
            socket_ping_interval_s: 30,
            socket_idle_timeout_s: 90,
            pin_attempts_max: piazza_domain::limits::PIN_ATTEMPTS_MAX,
            pin_lock_s: (piazza_domain::limits::PIN_LOCK_MS / 1000) as u64,
            red_packet_total_max_minor: 20_000,
            idempotency_key_retention_s: IDEMPOTENCY_KEY_RETENTION_MIN_S,
            payment_code_valid_s: 60,
            account_deletion_grace_s: 7 * 24 * 60 * 60,
            collect_confirm_s: 5 * 60,
            payment_code_pin_window_s: 5 * 60,
            collect_without_pin_per_day_max: 5,
            collect_without_pin_per_day_max_minor: 100_000,
            pin_reset_wait_s: 24 * 60 * 60,
            recall_window_s: 2 * 60,
            group_recall_window_s: 24 * 60 * 60,
            order_pay_within_s: 15 * 60,
            order_auto_confirm_s: 7 * 24 * 60 * 60,
            order_refund_window_s: 15 * 24 * 60 * 60,
            wallet_balance_max_minor: 100_000_000_000,
            requests_per_account_per_s: 200,
            requests_per_account_burst: 400,
            anonymous_requests_per_address_per_s: 50,
            anonymous_requests_per_address_burst: 500,
            profile_changes_per_account_per_min: 5,
            rate_limit_keys_max: 100_000,
            socket_messages_per_s: 1_000,
            socket_messages_burst: 2_000,
            socket_refusals_max: 100,
            socket_refusals_window_s: 10,
            connections_per_address_max: 256,
            connections_max: 100_000,
            open_files_reserved: 256,
            header_read_timeout_s: 30,
            // The SQLite engine's measured defaults (BENCHMARKS.md, "Tails").
            writer_queue_len_max: 16_384,
            // Both of a 2-core box's cores busy (BENCHMARKS.md, "Issue 13,
            // third sitting").
            postgres_writers: 2,
            writer_cache_mib: 64,
            wal_checkpoint_mib: 64,
            tail_keep: 4_096,
            tail_move_max: 8_192,
            integrity_start_check_s: 30,
            integrity_verify_interval_s: 10 * 60,
            integrity_verify_pause_ms: 50,
            media_bytes_max: piazza_domain::limits::MEDIA_BYTES_MAX,
            audio_bytes_max: 64 << 20,
            video_bytes_max: 512 << 20,
            file_bytes_max: 512 << 20,
            media_upload_timeout_s: 60 * 60,
            media_quota_bytes_per_account: 1 << 30,
        }
    }
}

/// Idempotency keys are kept at least this long (24 h).
pub const IDEMPOTENCY_KEY_RETENTION_MIN_S: u64 = 24 * 60 * 60;

impl Limits {
    /// What one upload of each kind may hold.
    pub fn upload_caps(&self) -> piazza_core::media::upload::UploadCaps {
        piazza_core::media::upload::UploadCaps {
            picture: self.media_bytes_max as u64,
            audio: self.audio_bytes_max,
            video: self.video_bytes_max,
            file: self.file_bytes_max,
        }
    }

    /// The connection caps of the public listener.
    pub fn connection_limits(&self) -> crate::connections::ConnectionLimits {
        crate::connections::ConnectionLimits {
            per_address_max: self.connections_per_address_max,
            total_max: self.connections_max,
        }
    }

    pub fn login_failure_window(&self) -> Duration {
        Duration::from_secs(self.login_failure_window_s)
    }

    /// The times that govern a shop order's life.
    pub fn order_policy(&self) -> piazza_domain::order::OrderPolicy {
        piazza_domain::order::OrderPolicy {
            pay_within_ms: ms(self.order_pay_within_s),
            auto_confirm_after_ms: ms(self.order_auto_confirm_s),
            refund_window_ms: ms(self.order_refund_window_s),
        }
    }

    /// The daily cap on collections without the buyer's confirmation.
    pub fn collect_without_pin_per_day(&self) -> DailyCap {
        DailyCap {
            count_max: self.collect_without_pin_per_day_max,
            amount_max_minor: self.collect_without_pin_per_day_max_minor,
        }
    }

    /// The store's side of the PIN rules.
    pub fn pin_policy(&self) -> PinPolicy {
        PinPolicy {
            attempts_max: self.pin_attempts_max,
            lock_ms: ms(self.pin_lock_s),
        }
    }

    /// Lowers the connection caps to what `open_files_max` file
    /// descriptors hold: `open_files_reserved` of them stay for the store
    /// and media files (half the limit, if it is that small), the rest may
    /// be connections, and WebSockets, which are never closed to make
    /// room, may take at most 7/8 of those, so plain requests (log-ins,
    /// syncs, uploads) always find a place.
    pub fn fit_to_open_files(&mut self, open_files_max: u64) {
        let for_connections = open_files_max
            .saturating_sub(self.open_files_reserved)
            .max(open_files_max / 2)
            .max(1);
        let for_connections = usize::try_from(for_connections).unwrap_or(usize::MAX);
        self.connections_max = self.connections_max.min(for_connections);
        let for_sockets = (self.connections_max - self.connections_max / 8).max(1);
        self.sockets_max = self.sockets_max.min(for_sockets);
    }

    /// Every rule a limit must keep, so a bad config file is refused at
    /// start with what to change instead of misbehaving later.
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            ("sockets_max", self.sockets_max as u64),
            (
                "sockets_per_account_max",
                self.sockets_per_account_max as u64,
            ),
            ("socket_queue_len_max", self.socket_queue_len_max as u64),
            (
                "password_hashes_in_flight_max",
                self.password_hashes_in_flight_max as u64,
            ),
            ("request_timeout_s", self.request_timeout_s),
            (
                "login_failures_per_username_address_max",
                u64::from(self.login_failures_per_username_address_max),
            ),
            (
                "login_failures_per_address_max",
                u64::from(self.login_failures_per_address_max),
            ),
            ("login_failure_window_s", self.login_failure_window_s),
            ("login_known_address_s", self.login_known_address_s),
            ("login_pace_return_s", self.login_pace_return_s),
            ("login_limiter_keys_max", self.login_limiter_keys_max as u64),
            ("pin_attempts_max", u64::from(self.pin_attempts_max)),
            ("payment_code_valid_s", self.payment_code_valid_s),
            ("account_deletion_grace_s", self.account_deletion_grace_s),
            ("collect_confirm_s", self.collect_confirm_s),
            ("pin_reset_wait_s", self.pin_reset_wait_s),
            ("recall_window_s", self.recall_window_s),
            ("group_recall_window_s", self.group_recall_window_s),
            ("order_pay_within_s", self.order_pay_within_s),
            ("order_auto_confirm_s", self.order_auto_confirm_s),
            ("order_refund_window_s", self.order_refund_window_s),
            (
                "requests_per_account_per_s",
                u64::from(self.requests_per_account_per_s),
            ),
            (
                "requests_per_account_burst",
                u64::from(self.requests_per_account_burst),
            ),
            (
                "anonymous_requests_per_address_per_s",
                u64::from(self.anonymous_requests_per_address_per_s),
            ),
            (
                "anonymous_requests_per_address_burst",
                u64::from(self.anonymous_requests_per_address_burst),
            ),
            ("rate_limit_keys_max", self.rate_limit_keys_max as u64),
            (
                "profile_changes_per_account_per_min",
                u64::from(self.profile_changes_per_account_per_min),
            ),
            (
                "socket_messages_per_s",
                u64::from(self.socket_messages_per_s),
            ),
            (
                "socket_messages_burst",
                u64::from(self.socket_messages_burst),
            ),
            ("header_read_timeout_s", self.header_read_timeout_s),
            ("writer_queue_len_max", self.writer_queue_len_max as u64),
            ("postgres_writers", self.postgres_writers as u64),
            ("writer_cache_mib", u64::from(self.writer_cache_mib)),
            ("wal_checkpoint_mib", u64::from(self.wal_checkpoint_mib)),
            ("tail_move_max", self.tail_move_max),
            ("media_bytes_max", self.media_bytes_max as u64),
            ("audio_bytes_max", self.audio_bytes_max),
            ("video_bytes_max", self.video_bytes_max),
            ("file_bytes_max", self.file_bytes_max),
            ("media_upload_timeout_s", self.media_upload_timeout_s),
            (
                "integrity_verify_interval_s",
                self.integrity_verify_interval_s,
            ),
            ("socket_refusals_max", u64::from(self.socket_refusals_max)),
            ("socket_refusals_window_s", self.socket_refusals_window_s),
            (
                "connections_per_address_max",
                self.connections_per_address_max as u64,
            ),
            ("connections_max", self.connections_max as u64),
            (
                "media_quota_bytes_per_account",
                self.media_quota_bytes_per_account,
            ),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!("`limits.{name}` must be at least 1"));
        }
        if self.login_backoff_first_ms > self.login_backoff_max_ms {
            return Err(
                "`limits.login_backoff_first_ms` must be at most `limits.login_backoff_max_ms`"
                    .into(),
            );
        }
        if self.red_packet_total_max_minor < 1 {
            return Err("`limits.red_packet_total_max_minor` must be at least 1".into());
        }
        if self.collect_without_pin_per_day_max_minor < 0 {
            return Err(
                "`limits.collect_without_pin_per_day_max_minor` must not be negative".into(),
            );
        }
        if !(1..=MONEY_INSIDE_MAX).contains(&self.wallet_balance_max_minor) {
            return Err(format!(
                "`limits.wallet_balance_max_minor` must be from 1 to {MONEY_INSIDE_MAX}"
            ));
        }
        if self.idempotency_key_retention_s < IDEMPOTENCY_KEY_RETENTION_MIN_S {
            return Err(format!(
                "`limits.idempotency_key_retention_s` must be at least {IDEMPOTENCY_KEY_RETENTION_MIN_S} (24 h): clients may retry a payment for a day"
            ));
        }
        Ok(())
    }
}

/// Seconds as milliseconds, saturating.
pub fn ms(seconds: u64) -> i64 {
    i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Argon2id cost. The defaults are OWASP's recommendation (19 MiB, two
/// passes); tests may lower them to keep the suite fast.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordHashing {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for PasswordHashing {
    fn default() -> PasswordHashing {
        PasswordHashing {
            memory_kib: 19 * 1024,
            iterations: 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_fit_the_open_file_limit() {
        let mut limits = Limits::default();
        limits.fit_to_open_files(20_000);
        assert_eq!(limits.connections_max, 20_000 - 256);
        assert_eq!(limits.sockets_max, 19_744 - 19_744 / 8);
        // A small limit keeps half for connections.
        let mut limits = Limits::default();
        limits.fit_to_open_files(400);
        assert_eq!(limits.connections_max, 200);
        assert_eq!(limits.sockets_max, 175);
        // A large one leaves the configured caps alone.
        let mut limits = Limits::default();
        limits.fit_to_open_files(1 << 20);
        assert_eq!(
            (limits.connections_max, limits.sockets_max),
            (100_000, 50_000)
        );
    }
}
