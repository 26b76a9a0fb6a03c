//! Opaque ids. Inside, each is the row number its table gave it; outside it
//! is a short prefixed string, so an id of one kind is never mistaken for
//! another and a client has nothing to compute with.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id")]
pub struct IdError {
    pub kind: &'static str,
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// Wraps a row number the store handed out. Row numbers start at 1.
            pub fn from_row(row: i64) -> $name {
                debug_assert!(row > 0, "row ids start at 1");
                $name(row)
            }

            pub fn row(self) -> i64 {
                self.0
            }

            /// Parses the outside form, `<prefix><decimal row>`, rejecting
            /// anything else (signs, leading zeros, overflow, other prefixes).
            pub fn parse(text: &str) -> Result<$name, IdError> {
                let error = IdError { kind: $kind };
                let digits = text.strip_prefix($prefix).ok_or(error.clone())?;
                if digits.is_empty()
                    || digits.len() > 18
                    || digits.starts_with('0')
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(error);
                }
                digits.parse::<i64>().map($name).map_err(|_| error)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(text: &str) -> Result<$name, IdError> {
                $name::parse(text)
            }
        }
    };
}

id_type!(
    /// One account: a username, a password and everything it owns.
    AccountId, "acct_", "account"
);
id_type!(
    /// One logged-in device of an account, with its own session token.
    DeviceId, "dev_", "device"
);
id_type!(
    /// A direct or group conversation.
    ConversationId, "conv_", "conversation"
);
id_type!(
    /// One stored message.
    MessageId, "msg_", "message"
);
id_type!(
    /// An export of everything an account holds (`POST /api/v1/exports`).
    ExportId, "exp_", "export"
);
id_type!(
    /// A contact request from one account to another.
    ContactRequestId, "req_", "contact request"
);
id_type!(
    /// One ledger transaction: a top-up, a withdrawal, … (its `topup_id`).
    TransactionId, "txn_", "transaction"
);
id_type!(
    /// A chat transfer from one account to a contact.
    TransferId, "trf_", "transfer"
);
id_type!(
    /// A red packet posted into a conversation.
    RedPacketId, "rpk_", "red packet"
);
id_type!(
    /// A merchant: a shop owned by an account, paid by QR code.
    MerchantId, "mer_", "merchant"
);
id_type!(
    /// A payment from a buyer to a merchant.
    PaymentId, "pay_", "payment"
);
id_type!(
    /// A merchant's refund of (part of) a payment.
    RefundId, "rfd_", "refund"
);
id_type!(
    /// One line of a wallet statement (a posting to the wallet).
    EntryId, "ent_", "statement entry"
);
id_type!(
    /// An uploaded image, shown in chat by a `kind: "image"` message.
    MediaId, "med_", "media"
);
id_type!(
    /// An invitation into a group, by link or QR code (its token is
    /// separate and secret; this id only names it to revoke it).
    InviteId, "inv_", "invitation"
);
id_type!(
    /// A channel (an official account): a handle, a name, its articles.
    ChannelId, "chn_", "channel"
);
id_type!(
    /// An article a channel published.
    ArticleId, "art_", "article"
);
id_type!(
    /// A reader's comment on an article.
    CommentId, "cmt_", "comment"
);
id_type!(
    /// A post in Moments, the friends' feed.
    MomentId, "mom_", "moment"
);
id_type!(
    /// A comment (or a reply to one) on a post in Moments.
    MomentCommentId, "cmt_", "moment comment"
);
id_type!(
    /// A shop: its products, their variants and its orders.
    ShopId, "shop_", "shop"
);
id_type!(
    /// One product of a shop, sold in one or more variants.
    ProductId, "prd_", "product"
);
id_type!(
    /// One variant of a product (a size, a colour): what has a price and
    /// stock and what an order's items name.
    VariantId, "var_", "variant"
);
id_type!(
    /// One order placed with a shop.
    OrderId, "ord_", "order"
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_and_rejects_the_rest() {
        let id = AccountId::from_row(42);
        assert_eq!(id.to_string(), "acct_42");
        assert_eq!(AccountId::parse("acct_42"), Ok(id));
        for bad in [
            "",
            "acct_",
            "acct_0",
            "acct_042",
            "acct_-1",
            "acct_+1",
            "acct_1a",
            "conv_1",
            "ACCT_1",
            "acct_99999999999999999999",
            " acct_1",
        ] {
            assert!(AccountId::parse(bad).is_err(), "{bad:?} must not parse");
        }
    }

    proptest! {
        #[test]
        fn any_positive_row_round_trips(row in 1i64..=i64::MAX / 10) {
            let id = ConversationId::from_row(row);
            prop_assert_eq!(ConversationId::parse(&id.to_string()), Ok(id));
        }

        #[test]
        fn parsing_never_panics(text in ".{0,40}") {
            let _ = MessageId::parse(&text);
        }
    }
}
