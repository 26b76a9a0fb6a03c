//! Piazza Pay under fire: transfers with their accepts and declines, red
//! packets with their claims, and merchant payments, each money-moving
//! call with an idempotency key. Every acknowledged operation must be in
//! the statements exactly once and nothing else may be; every retry of a
//! key answers as the first time; balances chain and end where the wallet
//! says; and the offline ledger check passes after every kill.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail, ensure};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use piazza_client::{Client, ClientError, IdempotencyKey, SplitMode};
use piazza_domain::ledger::OperationKind;
use rand::Rng;
use rand::rngs::StdRng;

use super::{
    Answer, Member, Outcome, PASSWORD, Recovered, Workload, answer, befriend_all,
    check_log_gapless, settled,
};

/// The paying accounts; all are contacts and in one group.
const MEMBERS: usize = 4;
/// What each is topped up with, in minor units: far more than a long run
/// spends, so no operation is refused for want of money.
const FUND_MINOR: i64 = 100_000_000;
const PIN: &str = "482916";
/// Shares of every red packet: one for each member but the sender.
const SHARES: u32 = (MEMBERS - 1) as u32;
const TRANSFER_MINOR_MAX: i64 = 500;
const PACKET_MINOR_MAX: i64 = 3_000;
const PAYMENT_MINOR_MAX: i64 = 800;
/// Statement pages followed at most per account (200 lines a page).
const STATEMENT_PAGES_MAX: usize = 10_000;

/// Workers: one transfer sender per member, then these.
const DECIDER: usize = MEMBERS;
const PACKETS: usize = MEMBERS + 1;
const CLAIMER: usize = MEMBERS + 2;
const PAYER: usize = MEMBERS + 3;
const WORKERS: usize = MEMBERS + 4;

pub struct Pay {
    members: Vec<Member>,
    shop: Member,
    merchant_id: String,
    /// The merchant's static code, paid with an amount.
    qr_payload: String,
    group: String,
    /// Numbers each new idempotency key, across rounds.
    next_key: AtomicU64,
    book: Mutex<Book>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Transfer { to: usize },
    Packet,
    Payment,
}

/// A keyed money movement: all it takes to send it again.
#[derive(Debug, Clone)]
struct MoneyOp {
    user: usize,
    kind: Kind,
    amount: i64,
    key: IdempotencyKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Accept,
    Decline,
}

impl Decision {
    /// Drawn from the amount (itself drawn from the seed), so a retried
    /// transfer is decided as its first attempt would have been.
    fn for_amount(amount: i64) -> Decision {
        if amount % 10 < 7 {
            Decision::Accept
        } else {
            Decision::Decline
        }
    }

    fn status(self) -> &'static str {
        match self {
            Decision::Accept => "accepted",
            Decision::Decline => "declined",
        }
    }
}

struct TransferRecord {
    op: MoneyOp,
    id: String,
    /// Set once the recipient's decision was answered.
    decided: Option<Decision>,
}

struct PacketRecord {
    op: MoneyOp,
    id: String,
    /// Claimer → acknowledged share.
    claims: BTreeMap<usize, i64>,
}

/// Everything the load was told, across all rounds.
#[derive(Default)]
struct Book {
    transfers: Vec<TransferRecord>,
    transfer_index: HashMap<String, usize>,
    packets: Vec<PacketRecord>,
    packet_index: HashMap<String, usize>,
    payments: Vec<(MoneyOp, String)>,
    /// Keyed sends the kill left without an answer.
    in_flight: Vec<MoneyOp>,
    /// Transfers waiting for their recipient's decision.
    to_decide: VecDeque<String>,
    /// Decisions the kill left without an answer.
    decisions_in_flight: Vec<String>,
    /// Claims to make: packet id, claimer.
    to_claim: VecDeque<(String, usize)>,
    /// Claims the kill left without an answer.
    claims_in_flight: Vec<(String, usize)>,
    /// How many transfers and payments were already checked one by one;
    /// the statements check all of them every time.
    transfers_checked: usize,
    payments_checked: usize,
    /// Packets with a claim or a creation since the last verification.
    packets_changed: HashSet<String>,
}

impl Book {
    /// Writes down an acknowledged keyed operation and queues what follows
    /// from it.
    fn record(&mut self, op: MoneyOp, id: String) {
        match op.kind {
            Kind::Transfer { .. } => {
                self.transfer_index.insert(id.clone(), self.transfers.len());
                self.to_decide.push_back(id.clone());
                self.transfers.push(TransferRecord {
                    op,
                    id,
                    decided: None,
                });
            }
            Kind::Packet => {
                self.packet_index.insert(id.clone(), self.packets.len());
                for claimer in (0..MEMBERS).filter(|claimer| *claimer != op.user) {
                    self.to_claim.push_back((id.clone(), claimer));
                }
                self.packets_changed.insert(id.clone());
                self.packets.push(PacketRecord {
                    op,
                    id,
                    claims: BTreeMap::new(),
                });
            }
            Kind::Payment => self.payments.push((op, id)),
        }
    }

    fn decided(&mut self, transfer: &str, decision: Decision) {
        let index = self.transfer_index[transfer];
        self.transfers[index].decided = Some(decision);
    }

    fn claimed(&mut self, packet: &str, claimer: usize, share: i64) -> anyhow::Result<()> {
        let index = self.packet_index[packet];
        let claims = &mut self.packets[index].claims;
        if let Some(before) = claims.insert(claimer, share)
            && before != share
        {
            bail!("a claim of {packet} was {before}, then {share}");
        }
        self.packets_changed.insert(packet.to_owned());
        Ok(())
    }

    /// The statement lines each member must have, by kind, in any order.
    fn expected_statements(&self) -> Vec<BTreeMap<&'static str, Vec<i64>>> {
        let mut expected =
            vec![BTreeMap::from([(OperationKind::TopUp.as_str(), vec![FUND_MINOR])]); MEMBERS];
        let mut line = |member: usize, kind: OperationKind, amount: i64| {
            expected[member]
                .entry(kind.as_str())
                .or_default()
                .push(amount);
        };
        for transfer in &self.transfers {
            let Kind::Transfer { to } = transfer.op.kind else {
                continue;
            };
            let (from, amount) = (transfer.op.user, transfer.op.amount);
            line(from, OperationKind::TransferSent, -amount);
            match transfer.decided {
                Some(Decision::Accept) => line(to, OperationKind::TransferAccepted, amount),
                Some(Decision::Decline) => line(from, OperationKind::TransferDeclined, amount),
                None => {}
            }
        }
        for packet in &self.packets {
            line(
                packet.op.user,
                OperationKind::RedPacketCreated,
                -packet.op.amount,
            );
            for (claimer, share) in &packet.claims {
                line(*claimer, OperationKind::RedPacketClaimed, *share);
            }
        }
        for (op, _) in &self.payments {
            line(op.user, OperationKind::MerchantPayment, -op.amount);
        }
        for lines in &mut expected {
            for amounts in lines.values_mut() {
                amounts.sort_unstable();
            }
        }
        expected
    }

    fn acknowledged(&self) -> u64 {
        let decisions = self
            .transfers
            .iter()
            .filter(|t| t.decided.is_some())
            .count();
        let claims: usize = self.packets.iter().map(|packet| packet.claims.len()).sum();
        (self.transfers.len() + decisions + self.packets.len() + claims + self.payments.len())
            as u64
    }
}

impl Pay {
    /// Four accounts with a PIN and money, all contacts, in one group; and
    /// a fifth who owns the merchant they pay.
    pub async fn setup(server: &Client) -> anyhow::Result<Pay> {
        let mut members = Vec::new();
        for index in 0..MEMBERS {
            let member = Member::create(server, &format!("chaos_pay_{index}")).await?;
            let client = member.on(server);
            let reset = client
                .set_pin(PIN, PASSWORD)
                .await
                .context("cannot set a PIN")?;
            anyhow::ensure!(
                reset.is_none(),
                "the account had a PIN already: setting it started a reset"
            );
            let key = IdempotencyKey::parse("chaos-fund").context("a valid key")?;
            client
                .top_up(&key, FUND_MINOR)
                .await
                .context("cannot top up (is the sandbox gateway on?)")?;
            members.push(member);
        }
        befriend_all(server, &members).await?;
        let others: Vec<String> = members[1..]
            .iter()
            .map(|member| member.account_id.clone())
            .collect();
        let group = members[0]
            .on(server)
            .create_group("chaos pay", &others)
            .await
            .context("cannot create the group")?;
        let shop = Member::create(server, "chaos_shop").await?;
        let merchant_id = shop
            .on(server)
            .create_merchant("Chaos Market", Some("Taipei"))
            .await
            .context("cannot create the merchant")?;
        let qr_payload = shop
            .on(server)
            .merchant_qr(&merchant_id, None)
            .await
            .context("cannot read the merchant's code")?;
        Ok(Pay {
            members,
            shop,
            merchant_id,
            qr_payload,
            group,
            next_key: AtomicU64::new(0),
            book: Mutex::new(Book::default()),
        })
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().expect("the pay book")
    }

    fn new_op(&self, user: usize, kind: Kind, amount: i64) -> anyhow::Result<MoneyOp> {
        let number = self.next_key.fetch_add(1, Ordering::SeqCst);
        let key = IdempotencyKey::parse(&format!("chaos-{number}")).context("a valid key")?;
        Ok(MoneyOp {
            user,
            kind,
            amount,
            key,
        })
    }

    /// Sends `op` with its key; answers the id of what it made.
    async fn submit(&self, server: &Client, op: &MoneyOp) -> Result<String, ClientError> {
        let client = self.members[op.user].on(server);
        match op.kind {
            Kind::Transfer { to } => {
                let to = &self.members[to].account_id;
                let sent = client
                    .send_transfer(&op.key, to, op.amount, PIN, Some("chaos"))
                    .await?;
                Ok(sent.transfer_id)
            }
            Kind::Packet => {
                let sent = client
                    .send_red_packet(
                        &op.key,
                        &self.group,
                        op.amount,
                        SHARES,
                        SplitMode::Lucky,
                        PIN,
                        Some("chaos"),
                    )
                    .await?;
                Ok(sent.red_packet_id)
            }
            Kind::Payment => {
                let done = client
                    .pay(&op.key, &self.qr_payload, Some(op.amount), PIN)
                    .await?;
                Ok(done.payment_id)
            }
        }
    }

    /// One keyed send during the load.
    async fn send(&self, server: &Client, op: MoneyOp) -> anyhow::Result<Outcome> {
        let result = self.submit(server, &op).await;
        let what = format!("{:?} {}", op.kind, op.key);
        match answer(result, &what)? {
            Answer::Ok(id) => {
                self.book().record(op, id);
                Ok(Outcome::Acknowledged)
            }
            Answer::Lost => {
                self.book().in_flight.push(op);
                Ok(Outcome::InFlight)
            }
            Answer::Throttled => Ok(Outcome::Idle),
            // Never written down: the statements must show nothing of it.
            Answer::Refused => Ok(Outcome::Refused),
        }
    }

    async fn decide(&self, server: &Client, transfer: &str) -> Result<Decision, ClientError> {
        let (to, amount) = {
            let book = self.book();
            let record = &book.transfers[book.transfer_index[transfer]];
            let Kind::Transfer { to } = record.op.kind else {
                unreachable!("only transfers are indexed as transfers");
            };
            (to, record.op.amount)
        };
        let decision = Decision::for_amount(amount);
        let client = self.members[to].on(server);
        let answer = match decision {
            Decision::Accept => client.accept_transfer(transfer).await?,
            Decision::Decline => client.decline_transfer(transfer).await?,
        };
        if answer.status != decision.status() {
            return Err(ClientError::Decode(format!(
                "{transfer} was decided {} but answered {}",
                decision.status(),
                answer.status
            )));
        }
        Ok(decision)
    }

    async fn decide_next(&self, server: &Client) -> anyhow::Result<Outcome> {
        let Some(transfer) = self.book().to_decide.pop_front() else {
            return Ok(Outcome::Idle);
        };
        let result = self.decide(server, &transfer).await;
        let mut book = self.book();
        match answer(result, &format!("deciding {transfer}"))? {
            Answer::Ok(decision) => {
                book.decided(&transfer, decision);
                Ok(Outcome::Acknowledged)
            }
            Answer::Lost => {
                book.decisions_in_flight.push(transfer);
                Ok(Outcome::InFlight)
            }
            Answer::Throttled => {
                book.to_decide.push_front(transfer);
                Ok(Outcome::Idle)
            }
            Answer::Refused => {
                book.to_decide.push_front(transfer);
                Ok(Outcome::Refused)
            }
        }
    }

    async fn claim_next(&self, server: &Client) -> anyhow::Result<Outcome> {
        let Some((packet, claimer)) = self.book().to_claim.pop_front() else {
            return Ok(Outcome::Idle);
        };
        let result = self.members[claimer]
            .on(server)
            .claim_red_packet(&packet)
            .await;
        let mut book = self.book();
        match answer(result, &format!("claiming {packet}"))? {
            Answer::Ok(claimed) => {
                ensure!(
                    claimed.amount_minor >= 1,
                    "{packet} gave a share of {}",
                    claimed.amount_minor
                );
                book.claimed(&packet, claimer, claimed.amount_minor)?;
                Ok(Outcome::Acknowledged)
            }
            Answer::Lost => {
                book.claims_in_flight.push((packet, claimer));
                Ok(Outcome::InFlight)
            }
            Answer::Throttled => {
                book.to_claim.push_front((packet, claimer));
                Ok(Outcome::Idle)
            }
            Answer::Refused => {
                book.to_claim.push_front((packet, claimer));
                Ok(Outcome::Refused)
            }
        }
    }

    async fn step_as(
        &self,
        server: &Client,
        worker: usize,
        rng: &mut StdRng,
    ) -> anyhow::Result<Outcome> {
        match worker {
            DECIDER => self.decide_next(server).await,
            CLAIMER => self.claim_next(server).await,
            PACKETS => {
                let user = rng.random_range(0..MEMBERS);
                let total = rng.random_range(i64::from(SHARES)..=PACKET_MINOR_MAX);
                let op = self.new_op(user, Kind::Packet, total)?;
                self.send(server, op).await
            }
            PAYER => {
                let user = rng.random_range(0..MEMBERS);
                let amount = rng.random_range(1..=PAYMENT_MINOR_MAX);
                let op = self.new_op(user, Kind::Payment, amount)?;
                self.send(server, op).await
            }
            user => {
                let to = (user + rng.random_range(1..MEMBERS)) % MEMBERS;
                let amount = rng.random_range(1..=TRANSFER_MINOR_MAX);
                let op = self.new_op(user, Kind::Transfer { to }, amount)?;
                self.send(server, op).await
            }
        }
    }

    async fn recover_all(&self, server: &Client) -> anyhow::Result<Recovered> {
        let (in_flight, decisions, claims) = {
            let mut book = self.book();
            (
                std::mem::take(&mut book.in_flight),
                std::mem::take(&mut book.decisions_in_flight),
                std::mem::take(&mut book.claims_in_flight),
            )
        };
        // Keyed sends first: a transfer or packet retried here may be what
        // a decision or claim below is about. The sender's wallet tells
        // whether the retry found the send stored (nothing moves) or
        // stored it now (its amount moves): nothing in between, nothing
        // twice. Nobody else moves money while this runs.
        let mut already_stored = 0;
        for op in &in_flight {
            let what = format!("retrying {:?} {}", op.kind, op.key);
            let sender = self.members[op.user].on(server);
            let before = settled("a wallet", || sender.wallet()).await?.balance_minor;
            let first = settled(&what, || self.submit(server, op)).await?;
            let again = settled(&what, || self.submit(server, op)).await?;
            ensure!(
                first == again,
                "{what}: a second retry made {again}, not {first}"
            );
            let after = settled("a wallet", || sender.wallet()).await?.balance_minor;
            match before - after {
                0 => already_stored += 1,
                moved => ensure!(
                    moved == op.amount,
                    "{what} moved {moved}, not {} or nothing",
                    op.amount
                ),
            }
            self.book().record(op.clone(), first);
        }
        for transfer in &decisions {
            let what = format!("deciding {transfer} again");
            let decision = settled(&what, || self.decide(server, transfer)).await?;
            self.book().decided(transfer, decision);
        }
        // A decision still queued may be one whose transfer was retried
        // above; it stays queued for the next round.
        for (packet, claimer) in &claims {
            let client = self.members[*claimer].on(server);
            let what = format!("claiming {packet} again");
            let claimed = settled(&what, || client.claim_red_packet(packet)).await?;
            self.book()
                .claimed(packet, *claimer, claimed.amount_minor)?;
        }
        Ok(Recovered {
            retried: (in_flight.len() + decisions.len() + claims.len()) as u64,
            already_stored,
        })
    }

    async fn verify_all(&self, server: &Client) -> anyhow::Result<u64> {
        self.verify_new_operations(server).await?;
        self.verify_statements(server).await?;
        let paid: i64 = self.book().payments.iter().map(|(op, _)| op.amount).sum();
        let shop = self.shop.on(server);
        let merchant = settled("the merchant", || shop.merchant(&self.merchant_id)).await?;
        ensure!(
            merchant.balance_minor == paid,
            "the merchant holds {} but was paid {paid}",
            merchant.balance_minor
        );
        for member in self.members.iter().chain([&self.shop]) {
            check_log_gapless(server, member).await?;
        }
        Ok(self.book().acknowledged())
    }

    /// Each transfer and payment acknowledged since the last verification,
    /// and each packet claimed since, read back one by one.
    async fn verify_new_operations(&self, server: &Client) -> anyhow::Result<()> {
        let (transfers, payments, packets) = {
            let mut book = self.book();
            let transfers: Vec<_> = book.transfers[book.transfers_checked..]
                .iter()
                .map(|t| (t.op.clone(), t.id.clone(), t.decided))
                .collect();
            let payments: Vec<_> = book.payments[book.payments_checked..].to_vec();
            let changed = std::mem::take(&mut book.packets_changed);
            let packets: Vec<_> = changed
                .iter()
                .map(|id| {
                    let packet = &book.packets[book.packet_index[id]];
                    (packet.op.clone(), packet.id.clone(), packet.claims.clone())
                })
                .collect();
            book.transfers_checked = book.transfers.len();
            book.payments_checked = book.payments.len();
            (transfers, payments, packets)
        };
        for (op, id, decided) in &transfers {
            let Kind::Transfer { to } = op.kind else {
                continue;
            };
            let sender = self.members[op.user].on(server);
            let seen = settled("a transfer", || sender.transfer(id)).await?;
            ensure!(
                seen.amount_minor == op.amount
                    && seen.from == self.members[op.user].account_id
                    && seen.to == self.members[to].account_id,
                "transfer {id} is not what was sent: {seen:?}"
            );
            let status = decided.map_or("pending", Decision::status);
            ensure!(
                seen.status == status,
                "transfer {id} is {}, not {status}",
                seen.status
            );
        }
        for (op, id) in &payments {
            let buyer = self.members[op.user].on(server);
            let seen = settled("a payment", || buyer.payment(id)).await?;
            ensure!(
                seen.amount_minor == op.amount
                    && seen.buyer == self.members[op.user].account_id
                    && seen.merchant_id == self.merchant_id,
                "payment {id} is not what was paid: {seen:?}"
            );
        }
        for (op, id, claims) in &packets {
            let sender = self.members[op.user].on(server);
            let seen = settled("a red packet", || sender.red_packet(id)).await?;
            ensure!(
                seen.total_minor == op.amount,
                "{id} holds {} not {}",
                seen.total_minor,
                op.amount
            );
            let mut found = BTreeMap::new();
            for claim in &seen.claims {
                let claimer = self
                    .members
                    .iter()
                    .position(|member| member.account_id == claim.account_id)
                    .with_context(|| format!("{id} was claimed by a stranger"))?;
                ensure!(
                    found.insert(claimer, claim.amount_minor).is_none(),
                    "{id} was claimed twice by {claimer}"
                );
            }
            ensure!(
                &found == claims,
                "{id}'s claims are {found:?}, acknowledged {claims:?}"
            );
            let paid_out: i64 = found.values().sum();
            let remaining = SHARES as usize - found.len();
            ensure!(
                seen.remaining_shares as usize == remaining,
                "{id} has {} shares left, not {remaining}",
                seen.remaining_shares
            );
            ensure!(
                paid_out <= op.amount && (remaining > 0 || paid_out == op.amount),
                "{id} paid out {paid_out} of {}",
                op.amount
            );
        }
        Ok(())
    }

    /// Each member's statement holds each acknowledged operation once and
    /// nothing else; its balances chain, never go negative, and end at
    /// the wallet's balance.
    async fn verify_statements(&self, server: &Client) -> anyhow::Result<()> {
        let expected = self.book().expected_statements();
        for (member, expected) in self.members.iter().zip(expected) {
            let client = member.on(server);
            let mut entries = Vec::new();
            let mut cursor: Option<String> = None;
            for page_number in 0.. {
                ensure!(
                    page_number < STATEMENT_PAGES_MAX,
                    "{}'s statement does not end",
                    member.name
                );
                let page = settled("a statement page", || {
                    client.statement_page(
                        cursor.as_deref(),
                        Some(piazza_domain::limits::PAGE_LEN_MAX),
                    )
                })
                .await?;
                entries.extend(page.entries);
                match page.cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            let mut found: BTreeMap<&'static str, Vec<i64>> = BTreeMap::new();
            let mut balance = 0;
            for entry in entries.iter().rev() {
                let kind = OperationKind::ALL
                    .into_iter()
                    .map(OperationKind::as_str)
                    .find(|kind| entry.kind == *kind)
                    .with_context(|| format!("a statement line of no known kind: {entry:?}"))?;
                found.entry(kind).or_default().push(entry.amount_minor);
                balance += entry.amount_minor;
                ensure!(
                    entry.balance_after_minor == balance && balance >= 0,
                    "{}'s statement does not chain at {entry:?} (running {balance})",
                    member.name
                );
            }
            for amounts in found.values_mut() {
                amounts.sort_unstable();
            }
            if found != expected {
                bail!(
                    "{}'s statement is not exactly the acknowledged operations: {}",
                    member.name,
                    describe_difference(&expected, &found)
                );
            }
            let wallet = settled("a wallet", || client.wallet()).await?;
            ensure!(
                wallet.balance_minor == balance,
                "{}'s wallet says {} but the statement {balance}",
                member.name,
                wallet.balance_minor
            );
        }
        Ok(())
    }
}

/// Which kinds have lines missing or extra, briefly.
fn describe_difference(
    expected: &BTreeMap<&'static str, Vec<i64>>,
    found: &BTreeMap<&'static str, Vec<i64>>,
) -> String {
    let kinds: std::collections::BTreeSet<_> = expected.keys().chain(found.keys()).collect();
    let mut parts = Vec::new();
    for kind in kinds {
        let (want, have) = (expected.get(kind), found.get(kind));
        if want != have {
            let count = |lines: Option<&Vec<i64>>| lines.map_or(0, Vec::len);
            parts.push(format!(
                "{kind}: {} expected, {} found",
                count(want),
                count(have)
            ));
        }
    }
    parts.join("; ")
}

impl Workload for Pay {
    fn name(&self) -> &'static str {
        "pay"
    }

    /// A transfer sender per member, a decider, a packet sender, a
    /// claimer and a payer.
    fn workers(&self) -> usize {
        WORKERS
    }

    fn step<'a>(
        &'a self,
        server: &'a Client,
        worker: usize,
        rng: &'a mut StdRng,
    ) -> BoxFuture<'a, anyhow::Result<Outcome>> {
        self.step_as(server, worker, rng).boxed()
    }

    fn recover<'a>(&'a self, server: &'a Client) -> BoxFuture<'a, anyhow::Result<Recovered>> {
        self.recover_all(server).boxed()
    }

    fn verify<'a>(&'a self, server: &'a Client) -> BoxFuture<'a, anyhow::Result<u64>> {
        self.verify_all(server).boxed()
    }
}
