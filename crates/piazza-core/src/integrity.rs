//! What every engine's checker reports (`piazza admin check` and
//! `ledger-check`, the crash and chaos tests), and the ledger's rules over
//! what an engine reads back, so both engines judge alike.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use piazza_domain::ledger::{Balances, LedgerAccountKind, LedgerAccountRef, invariant_violations};
use piazza_domain::money::Currency;

/// Sequences: every conversation's `seq`s run 1..=last_seq and every
/// account's log 1..=log_head, with no gap; every reference resolves.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub accounts: u64,
    pub conversations: u64,
    pub messages: u64,
    pub log_entries: u64,
    /// Each broken invariant, in words. Empty means the store is sound.
    pub problems: Vec<String>,
}

impl Report {
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The ledger, re-verified from its postings alone.
#[derive(Debug, Default, Clone)]
pub struct LedgerReport {
    pub accounts: u64,
    pub transactions: u64,
    pub postings: u64,
    /// Each broken invariant, in words. Empty means the ledger is sound.
    pub problems: Vec<String>,
}

impl LedgerReport {
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A ledger account as stored, with the sum of its postings.
pub struct LedgerAccountRow {
    pub id: i64,
    pub kind: String,
    pub holder: i64,
    pub currency: String,
    pub stored_balance: i64,
    pub postings_sum: i64,
}

/// What is wrong with the ledger's accounts: a stored balance that is not
/// its postings' sum, an unknown kind or currency, and every broken
/// invariant of the ledger (`ledger::invariant_violations`: each currency
/// sums to zero, no account that must not go negative has).
pub fn ledger_account_findings(rows: impl IntoIterator<Item = LedgerAccountRow>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut balances = Balances::new();
    for row in rows {
        let LedgerAccountRow {
            id,
            kind,
            holder,
            currency,
            stored_balance,
            postings_sum,
        } = row;
        if stored_balance != postings_sum {
            problems.push(format!(
                "ledger account {id} ({kind}:{holder}:{currency}): balance {stored_balance} but its postings sum to {postings_sum}"
            ));
        }
        let (Some(kind), Ok(currency)) =
            (LedgerAccountKind::parse(&kind), Currency::parse(&currency))
        else {
            problems.push(format!(
                "ledger account {id}: unknown kind {kind:?} or currency {currency:?}"
            ));
            continue;
        };
        balances.insert(
            LedgerAccountRef::from_store(kind, holder, currency),
            postings_sum,
        );
    }
    problems.extend(
        invariant_violations(&balances)
            .into_iter()
            .map(|violation| violation.to_string()),
    );
    problems
}

/// The first few problems, for a log line or an error message (both
/// engines' verifiers).
pub fn summary(problems: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = problems
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if problems.len() > SHOWN {
        text.push_str(&format!("; and {} more", problems.len() - SHOWN));
    }
    text
}

/// What an engine's checks have found so far. Shared by its verifier
/// (which records damage), its writers (which halt money) and the engine
/// (`/healthz`); the same on every engine.
#[derive(Debug, Default)]
pub struct Health {
    /// Read by every money move, so a plain load rather than a lock.
    halted: AtomicBool,
    damage: Mutex<Option<String>>,
}

impl Health {
    /// The damage found, in words; `None` while the store is sound.
    pub fn damage(&self) -> Option<String> {
        self.damage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// True once damage was found: no money may move any more.
    pub fn money_halted(&self) -> bool {
        self.halted.load(Ordering::Acquire)
    }

    /// Damage was found (`summary` of the problems): the first words found
    /// stay, and money halts from now on.
    pub fn record(&self, found: String) {
        self.damage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(found);
        self.halted.store(true, Ordering::Release);
    }
}

/// The conversations whose kept member count is not their members': id,
/// kept, counted. The same SQL on both engines.
pub const MEMBER_COUNT_DRIFT: &str = "SELECT c.id, c.member_count, COUNT(m.account_id)
     FROM conversations c LEFT JOIN members m ON m.conversation_id = c.id
     GROUP BY c.id, c.member_count
     HAVING COUNT(m.account_id) <> c.member_count";

/// How [`MEMBER_COUNT_DRIFT`]'s row is reported.
pub fn member_count_drift(conversation: i64, kept: i64, counted: i64) -> String {
    format!("conversation conv_{conversation}: member_count {kept} but {counted} members")
}

/// A kept counter of Moments and Channels checked against the rows it
/// counts. `sql` answers `(id, kept, counted)` for each row whose counter
/// drifted; the same SQL on both engines.
pub struct CounterDrift {
    /// How a drifted row is named: its id follows.
    pub row: &'static str,
    pub counter: &'static str,
    /// What the counter counts.
    pub counted: &'static str,
    pub sql: &'static str,
}

impl CounterDrift {
    pub fn describe(&self, id: i64, kept: i64, counted: i64) -> String {
        format!(
            "{}{id}: {} {kept} but {counted} {}",
            self.row, self.counter, self.counted
        )
    }
}

/// Every kept counter of the channels (`schema_27_channels.sql`): a
/// channel's followers and articles, an article's readers and likes.
pub const COUNTER_DRIFTS: [CounterDrift; 4] = [
    CounterDrift {
        row: "channel chn_",
        counter: "follower_count",
        counted: "follows",
        sql: "SELECT id, kept, counted FROM
                (SELECT c.id, c.follower_count AS kept,
                        (SELECT COUNT(*) FROM channel_follows f WHERE f.channel_id = c.id) AS counted
                 FROM channels c) t
              WHERE kept <> counted",
    },
    CounterDrift {
        row: "channel chn_",
        counter: "article_count",
        counted: "articles",
        sql: "SELECT id, kept, counted FROM
                (SELECT c.id, c.article_count AS kept,
                        (SELECT COUNT(*) FROM articles a WHERE a.channel_id = c.id) AS counted
                 FROM channels c) t
              WHERE kept <> counted",
    },
    CounterDrift {
        row: "article art_",
        counter: "read_count",
        counted: "readers",
        sql: "SELECT id, kept, counted FROM
                (SELECT a.id, a.read_count AS kept,
                        (SELECT COUNT(*) FROM article_reads r WHERE r.article_id = a.id) AS counted
                 FROM articles a) t
              WHERE kept <> counted",
    },
    CounterDrift {
        row: "article art_",
        counter: "like_count",
        counted: "likes",
        sql: "SELECT id, kept, counted FROM
                (SELECT a.id, a.like_count AS kept,
                        (SELECT COUNT(*) FROM article_likes l WHERE l.article_id = a.id) AS counted
                 FROM articles a) t
              WHERE kept <> counted",
    },
];

/// The rules of Moments and Channels that the writers keep and a foreign
/// key cannot: each `(what, sql)`, where `sql` counts the rows breaking
/// it. The same SQL on both engines. (An inbox row may name a deleted
/// post: a deletion leaves the rows of its author's former contacts,
/// never joined again; see ARCHITECTURE.md, "Moments".)
pub fn area_rules() -> Vec<(&'static str, String)> {
    use piazza_domain::{channel, limits};
    vec![
        (
            "posts missing from their author's inbox",
            "SELECT COUNT(*) FROM moments m WHERE NOT EXISTS
                (SELECT 1 FROM moment_inbox i WHERE i.owner_id = m.author_id AND i.moment_id = m.id)"
                .to_owned(),
        ),
        (
            "posts over the comments cap",
            format!(
                "SELECT COUNT(*) FROM (SELECT moment_id FROM moment_comments GROUP BY moment_id
                                       HAVING COUNT(*) > {}) t",
                limits::MOMENT_COMMENTS_MAX
            ),
        ),
        (
            "replies to a post's comment without the account replied to, or the other way",
            "SELECT COUNT(*) FROM moment_comments
             WHERE (reply_to IS NULL) <> (reply_to_account IS NULL)"
                .to_owned(),
        ),
        (
            "accounts over the comments cap on one article",
            format!(
                "SELECT COUNT(*) FROM (SELECT article_id, author_id FROM article_comments
                                       GROUP BY article_id, author_id HAVING COUNT(*) > {}) t",
                channel::COMMENTS_PER_ACCOUNT_PER_ARTICLE_MAX
            ),
        ),
        (
            "channels over the editors cap",
            format!(
                "SELECT COUNT(*) FROM (SELECT channel_id FROM channel_editors GROUP BY channel_id
                                       HAVING COUNT(*) > {}) t",
                channel::EDITORS_PER_CHANNEL_MAX
            ),
        ),
        (
            "channel owners listed as their own channel's editors",
            "SELECT COUNT(*) FROM channel_editors e JOIN channels c ON c.id = e.channel_id
             WHERE e.account_id = c.owner_id"
                .to_owned(),
        ),
        (
            "fan-out tasks of a missing article or of another channel than their article's",
            "SELECT COUNT(*) FROM channel_fanouts f LEFT JOIN articles a ON a.id = f.article_id
             WHERE a.id IS NULL OR a.channel_id <> f.channel_id"
                .to_owned(),
        ),
    ]
}

/// A rule of Shops checked row by row: `sql` answers `(id, found,
/// wanted)`, three BIGINTs, for each row that breaks it, and
/// [`RowRule::describe`] says what is wrong with that row. The same SQL
/// on both engines (`shop_rules`).
pub struct RowRule {
    pub sql: String,
    describe: fn(i64, i64, i64) -> String,
}

impl RowRule {
    pub fn describe(&self, id: i64, found: i64, wanted: i64) -> String {
        (self.describe)(id, found, wanted)
    }
}

/// The statuses whose orders hold their items as `held` in their
/// variants' stock (`OrderStatus::stock_held`), as an SQL list.
fn statuses_holding(held: piazza_domain::order::StockHeld) -> String {
    use piazza_domain::order::OrderStatus;
    OrderStatus::ALL
        .into_iter()
        .filter(|status| status.stock_held() == Some(held))
        .map(|status| format!("'{}'", status.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What an order has paid, in SQL over `orders o`: its total once paid
/// (`Order::paid_minor`).
const PAID_SQL: &str = "(CASE WHEN o.paid_at IS NULL THEN 0 ELSE o.total_minor END)";

/// The rules of Shops that the writers keep in one transaction and no
/// constraint can: each variant's reserved and sold units are what its
/// orders hold (`Order::stock_held`) and no count is below zero; each
/// order's escrow account holds the order's escrow (`Order::escrow_minor`:
/// paid − refunded from escrow − released), it never refunded more than
/// it was paid, and what it refunded is what its approved refund requests
/// and its cancellation gave back; every escrow account is an order's;
/// every item is a variant of its order's shop; and every shop settles
/// into a merchant of its owner's. The order's own invariants are
/// [`order_findings`], over the order as the engine rebuilds it.
pub fn shop_rules() -> Vec<RowRule> {
    let mut rules = stock_rules();
    rules.extend(money_rules());
    rules.extend(reference_rules());
    rules
}

fn stock_rules() -> Vec<RowRule> {
    use piazza_domain::VariantId;
    use piazza_domain::order::StockHeld;
    let held = |column: &str, held: StockHeld| {
        format!(
            "SELECT id, kept, counted FROM
               (SELECT v.id, v.{column} AS kept,
                       CAST(COALESCE((SELECT SUM(i.quantity)
                                      FROM order_items i JOIN orders o ON o.id = i.order_id
                                      WHERE i.variant_id = v.id AND o.status IN ({})), 0)
                            AS BIGINT) AS counted
                FROM variants v) t
             WHERE kept <> counted",
            statuses_holding(held)
        )
    };
    let below_zero = |column: &str| {
        format!("SELECT id, {column}, CAST(0 AS BIGINT) FROM variants WHERE {column} < 0")
    };
    vec![
        RowRule {
            sql: held("reserved", StockHeld::Reserved),
            describe: |id, kept, counted| {
                let variant = VariantId::from_row(id);
                format!(
                    "variant {variant}: reserved {kept} but its orders placed or paid hold {counted}"
                )
            },
        },
        RowRule {
            sql: held("sold", StockHeld::Sold),
            describe: |id, kept, counted| {
                let variant = VariantId::from_row(id);
                format!(
                    "variant {variant}: sold {kept} but its orders shipped or completed hold {counted}"
                )
            },
        },
        RowRule {
            sql: below_zero("available"),
            describe: |id, count, _| {
                format!(
                    "variant {}: available {count}, below zero",
                    VariantId::from_row(id)
                )
            },
        },
        RowRule {
            sql: below_zero("reserved"),
            describe: |id, count, _| {
                format!(
                    "variant {}: reserved {count}, below zero",
                    VariantId::from_row(id)
                )
            },
        },
        RowRule {
            sql: below_zero("sold"),
            describe: |id, count, _| {
                format!(
                    "variant {}: sold {count}, below zero",
                    VariantId::from_row(id)
                )
            },
        },
    ]
}

fn money_rules() -> Vec<RowRule> {
    use piazza_domain::OrderId;
    use piazza_domain::ledger::LedgerAccountKind;
    use piazza_domain::order::RefundStatus;
    let escrow = LedgerAccountKind::OrderEscrow.as_str();
    vec![
        RowRule {
            sql: format!(
                "SELECT id, held, escrow FROM
                   (SELECT o.id,
                           COALESCE((SELECT a.balance_minor FROM ledger_accounts a
                                     WHERE a.kind = '{escrow}' AND a.holder = o.id
                                       AND a.currency = o.currency), 0) AS held,
                           {PAID_SQL} - o.refunded_from_escrow_minor - o.released_minor AS escrow
                    FROM orders o) t
                 WHERE held <> escrow"
            ),
            describe: |id, held, escrow| {
                let order = OrderId::from_row(id);
                format!(
                    "order {order}: its escrow account holds {held} but the order's escrow is {escrow} (paid − refunded from escrow − released)"
                )
            },
        },
        RowRule {
            sql: format!(
                "SELECT id, refunded, paid FROM
                   (SELECT o.id, o.refunded_from_escrow_minor + o.refunded_from_settlement_minor
                                 AS refunded,
                           {PAID_SQL} AS paid
                    FROM orders o) t
                 WHERE refunded > paid"
            ),
            describe: |id, refunded, paid| {
                format!(
                    "order {}: refunded {refunded} of {paid} paid",
                    OrderId::from_row(id)
                )
            },
        },
        RowRule {
            sql: format!(
                "SELECT id, refunded, given FROM
                   (SELECT o.id, o.refunded_from_escrow_minor + o.refunded_from_settlement_minor
                                 AS refunded,
                           CAST(COALESCE((SELECT SUM(r.amount_minor) FROM order_refund_requests r
                                          WHERE r.order_id = o.id AND r.status = '{}'), 0)
                                AS BIGINT)
                             + COALESCE(o.cancel_refund_minor, 0) AS given
                    FROM orders o) t
                 WHERE refunded <> given",
                RefundStatus::Approved.as_str()
            ),
            describe: |id, refunded, given| {
                let order = OrderId::from_row(id);
                format!(
                    "order {order}: refunded {refunded} but its approved refund requests and its cancellation gave back {given}"
                )
            },
        },
        RowRule {
            sql: format!(
                "SELECT a.id, a.holder, CAST(0 AS BIGINT) FROM ledger_accounts a
                 WHERE a.kind = '{escrow}' AND NOT EXISTS
                   (SELECT 1 FROM orders o WHERE o.id = a.holder AND o.currency = a.currency)"
            ),
            describe: |id, holder, _| {
                let order = OrderId::from_row(holder);
                format!(
                    "ledger account {id}: the escrow of {order}, which is no order in its currency"
                )
            },
        },
    ]
}

fn reference_rules() -> Vec<RowRule> {
    use piazza_domain::{AccountId, MerchantId, OrderId, ShopId, VariantId};
    vec![
        RowRule {
            sql: "SELECT o.id, i.variant_id, v.shop_id
                  FROM order_items i JOIN orders o ON o.id = i.order_id
                                     JOIN variants v ON v.id = i.variant_id
                  WHERE v.shop_id <> o.shop_id"
                .to_owned(),
            describe: |id, variant, shop| {
                format!(
                    "order {}: it holds {}, a variant of another shop ({})",
                    OrderId::from_row(id),
                    VariantId::from_row(variant),
                    ShopId::from_row(shop)
                )
            },
        },
        RowRule {
            sql: "SELECT s.id, s.merchant_id, CAST(0 AS BIGINT) FROM shops s
                  WHERE NOT EXISTS (SELECT 1 FROM merchants m WHERE m.id = s.merchant_id)"
                .to_owned(),
            describe: |id, merchant, _| {
                format!(
                    "shop {}: its merchant {} does not exist",
                    ShopId::from_row(id),
                    MerchantId::from_row(merchant)
                )
            },
        },
        RowRule {
            sql: "SELECT s.id, s.owner_id, m.owner_id FROM shops s
                  JOIN merchants m ON m.id = s.merchant_id
                  WHERE m.owner_id <> s.owner_id"
                .to_owned(),
            describe: |id, owner, merchant_owner| {
                format!(
                    "shop {}: owned by {} but settling into a merchant of {}",
                    ShopId::from_row(id),
                    AccountId::from_row(owner),
                    AccountId::from_row(merchant_owner)
                )
            },
        },
    ]
}

/// Each invariant of the state machine (`Order::check_invariants`) that
/// `order`, as the engine rebuilt it, breaks: one finding each.
pub fn order_findings(
    order: piazza_domain::OrderId,
    state: &piazza_domain::order::Order,
) -> Vec<String> {
    state
        .check_invariants()
        .into_iter()
        .map(|violation| format!("order {order} breaks the order's rule: {violation}"))
        .collect()
}

/// An order the engine refuses to rebuild (`Error::Corrupt`): what it
/// said, which names the order.
pub fn unreadable_order(what: &str) -> String {
    format!("an order cannot be read back: {what}")
}
