//! Piazza Pay: the wallet, chat transfers, red packets and merchants.
//!
//! Every money move is one write job that posts a balanced domain
//! `Transaction` through [`wallet::post`] (which refuses while money is
//! halted), stores its idempotency key's answer in the same transaction,
//! and checks the payment PIN with [`wallet::check_pin`] when money
//! leaves a wallet. Each submodule holds its area's data traits; the two
//! traits here gather them for [`crate::engine`].

pub mod merchants;
pub mod red_packets;
pub mod transfers;
pub mod wallet;

/// Every query of Pay, as an engine answers them.
pub trait Reads: wallet::Reads + transfers::Reads + red_packets::Reads + merchants::Reads {}

impl<T> Reads for T where
    T: wallet::Reads + transfers::Reads + red_packets::Reads + merchants::Reads + ?Sized
{
}

/// Every change of Pay, inside an engine's transaction.
pub trait Writes:
    wallet::Writes + transfers::Writes + red_packets::Writes + merchants::Writes
{
}

impl<T> Writes for T where
    T: wallet::Writes + transfers::Writes + red_packets::Writes + merchants::Writes + ?Sized
{
}
