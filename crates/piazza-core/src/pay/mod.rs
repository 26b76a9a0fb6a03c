//! Piazza Pay: the wallet, chat transfers, red packets and merchants.
//!
//! Every money move is one write job that posts a balanced domain
//! `Transaction` through [`wallet::post`] (which refuses while money is
//! halted), stores its idempotency key's answer in the same transaction,
//! and checks the payment PIN with [`wallet::check_pin`] when money
//! leaves a wallet. Each submodule holds its area's data traits; the two
//! traits here gather them for [`crate::engine`].

pub mod merchants;
pub mod transfers;
pub mod wallet;

/// Every query of Pay, as an engine answers them.
pub trait Reads: wallet::Reads + transfers::Reads + merchants::Reads {}

impl<T: wallet::Reads + transfers::Reads + merchants::Reads + ?Sized> Reads for T {}

/// Every change of Pay, inside an engine's transaction.
pub trait Writes: wallet::Writes + transfers::Writes + merchants::Writes {}

impl<T: wallet::Writes + transfers::Writes + merchants::Writes + ?Sized> Writes for T {}
