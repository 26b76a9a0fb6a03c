//! What the server needs to know to run, with every limit it enforces.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use piazza_domain::money::Currency;
use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub limits: Limits,
    pub password_hashing: PasswordHashing,
    /// The one currency this deployment's wallets hold.
    pub currency: Currency,
    /// Runs the built-in sandbox payment gateway, which credits top-ups and
    /// pays out withdrawals at once, with no real money. Off, top-ups and
    /// withdrawals answer 503 `no_payment_gateway`.
    pub sandbox_payments: bool,
    /// Seconds a chat transfer waits to be accepted before it goes back
    /// to its sender.
    pub transfer_expiry_s: u64,
    /// Seconds a red packet may be claimed; the rest then goes back to
    /// its sender.
    pub red_packet_expiry_s: u64,
    /// The largest collection (a merchant scanning a buyer's payment code)
    /// that completes without the buyer confirming, in minor units.
    pub collect_without_pin_max_minor: i64,
}

impl Config {
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Config {
        Config {
            listen,
            data_dir,
            limits: Limits::default(),
            password_hashing: PasswordHashing::default(),
            currency: Currency::CNY,
            sandbox_payments: false,
            transfer_expiry_s: 24 * 60 * 60,
            red_packet_expiry_s: 24 * 60 * 60,
            collect_without_pin_max_minor: 50_000,
        }
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
    /// Failed log-ins per username within the window before 429.
    pub login_failures_per_username_max: u32,
    /// Failed log-ins per client address within the window before 429.
    pub login_failures_per_address_max: u32,
    /// How long failed log-ins are remembered.
    pub login_failure_window_s: u64,
    /// Password hashes computed at once (each takes ~19 MiB and a core).
    pub password_hashes_in_flight_max: usize,
    /// Longest a plain HTTP request may take (long-polls included).
    pub request_timeout_s: u64,
    /// Seconds between server pings on an idle WebSocket.
    pub socket_ping_interval_s: u64,
    /// A socket that has said nothing for this long is closed.
    pub socket_idle_timeout_s: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            sockets_max: 50_000,
            sockets_per_account_max: 64,
            socket_queue_len_max: piazza_domain::limits::DEVICE_SEND_QUEUE_LEN_MAX,
            socket_write_timeout_s: 10,
            login_failures_per_username_max: 10,
            login_failures_per_address_max: 50,
            login_failure_window_s: 15 * 60,
            password_hashes_in_flight_max: 4,
            request_timeout_s: 45,
            socket_ping_interval_s: 30,
            socket_idle_timeout_s: 90,
        }
    }
}

impl Limits {
    pub fn login_failure_window(&self) -> Duration {
        Duration::from_secs(self.login_failure_window_s)
    }
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
