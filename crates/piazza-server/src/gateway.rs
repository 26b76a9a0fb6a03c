//! The payment gateway: where money enters and leaves Piazza Pay. Inside,
//! money only moves between ledger accounts; a top-up is the gateway
//! charging the user's card or bank and a withdrawal is it paying out to
//! them. A real deployment implements [`PaymentGateway`] for its provider;
//! `piazza serve --sandbox-payments` runs [`Sandbox`], which moves no real
//! money and always agrees.
//!
//! The order of effects is what keeps money from being created or lost when
//! a call fails half-way:
//! - top-up: the gateway charges *first*, then the store credits the
//!   wallet. A crash in between is healed by the client's retry with the
//!   same `Idempotency-Key`: the gateway sees the same key and does not
//!   charge twice (every provider worth using dedups on a key), and the
//!   store credits once.
//! - withdrawal: the store debits the wallet *first* (PIN checked, balance
//!   never below zero), then asks the gateway to pay out under the same
//!   key. If the gateway fails, the client gets 502 and retries with the
//!   same key: the debit replays and the payout is asked again, so money is
//!   paid out at most once. A payout that never succeeds stays in the
//!   gateway's ledger account for the operator to reconcile.

use async_trait::async_trait;
use piazza_domain::AccountId;
use piazza_domain::money::Money;
use sha2::{Digest, Sha256};

/// One money movement asked of the gateway.
#[derive(Debug, Clone)]
pub struct GatewayRequest {
    pub account: AccountId,
    pub money: Money,
    /// Unique per (account, Idempotency-Key, operation): the gateway must
    /// do a request with a key it has seen at most once.
    pub key: String,
}

impl GatewayRequest {
    /// A request whose key is derived from the caller's own idempotency
    /// key, scoped to the account and the operation so two accounts' keys
    /// never collide at the provider.
    pub fn new(account: AccountId, money: Money, operation: &str, client_key: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update(account.row().to_be_bytes());
        hash.update(operation.as_bytes());
        hash.update([0]);
        hash.update(client_key.as_bytes());
        let digest = hash.finalize();
        let key = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        GatewayRequest {
            account,
            money,
            key,
        }
    }
}

/// What went wrong at the gateway, for the log; the client hears 502.
#[derive(Debug, thiserror::Error)]
#[error("the payment gateway refused or failed: {0}")]
pub struct GatewayError(pub String);

#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Charges the account's funding source. Returns the provider's
    /// reference, kept with the ledger transaction.
    async fn charge(&self, request: &GatewayRequest) -> Result<String, GatewayError>;
    /// Pays out to the account's bank. Returns the provider's reference.
    async fn pay_out(&self, request: &GatewayRequest) -> Result<String, GatewayError>;
}

/// The built-in gateway for trying Piazza Pay: no real money, always ok.
pub struct Sandbox;

#[async_trait]
impl PaymentGateway for Sandbox {
    async fn charge(&self, request: &GatewayRequest) -> Result<String, GatewayError> {
        Ok(format!("sandbox:{}", &request.key[..16]))
    }

    async fn pay_out(&self, request: &GatewayRequest) -> Result<String, GatewayError> {
        Ok(format!("sandbox:{}", &request.key[..16]))
    }
}

#[cfg(test)]
mod tests {
    use piazza_domain::money::{AmountMinor, Currency};

    use super::*;

    fn money() -> Money {
        Money::new(AmountMinor::positive(100).unwrap(), Currency::CNY)
    }

    #[test]
    fn keys_are_scoped_to_account_and_operation() {
        let ann = AccountId::from_row(1);
        let bob = AccountId::from_row(2);
        let key = |account, operation| GatewayRequest::new(account, money(), operation, "k1").key;
        assert_eq!(key(ann, "topup"), key(ann, "topup"));
        assert_ne!(key(ann, "topup"), key(bob, "topup"));
        assert_ne!(key(ann, "topup"), key(ann, "withdrawal"));
        assert_eq!(key(ann, "topup").len(), 64);
    }
}
