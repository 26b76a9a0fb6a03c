//! Pay on PostgreSQL, at the level of the rules (`piazza_core::Core`):
//! money moved through two engines on one database — two processes — at
//! once, where only the engine's row locks keep a wallet from going below
//! zero, a key from moving money twice, a packet from over-paying and a
//! PIN from being tried more than five times. The end-to-end suite runs
//! Pay's rules on PostgreSQL too (`ON_POSTGRES`), one process at a time.

use futures_util::future::join_all;
use piazza_core::Core;
use piazza_domain::money::{AmountMinor, Currency, Money};
use piazza_domain::red_packet::{ShareCount, SplitMode};
use piazza_domain::store::{
    IdempotencyKey, Idempotent, PinChange, PinCheck, RedPacketRequest, TransferDecision,
    TransferRequest, TransferStatus,
};
use piazza_domain::{
    AccountId, DisplayName, Greeting, GroupTitle, Rejection, StoreError, Timestamp, Username,
};
use piazza_postgres::integrity;
use piazza_postgres::testing::{TestDatabase, open_core as open};

const CNY: Currency = Currency::CNY;
const HOUR_MS: i64 = 3_600_000;

fn money(minor: i64) -> Money {
    Money::new(AmountMinor::positive(minor).unwrap(), CNY)
}

/// A request under key `key`; `hash` stands for what was asked.
fn keyed(key: &str, hash: u8) -> Idempotent {
    Idempotent {
        key: IdempotencyKey::parse(key).unwrap(),
        request_hash: [hash; 32],
    }
}

fn in_hours(hours: i64) -> Timestamp {
    Timestamp::from_unix_ms(Timestamp::now().unix_ms() + hours * HOUR_MS)
}

/// Two processes on one new database, and accounts named `names`: each a
/// contact of the first, each with a payment PIN.
struct TwoProcesses {
    database: TestDatabase,
    _dir: tempfile::TempDir,
    one: Core,
    two: Core,
    accounts: Vec<AccountId>,
}

impl TwoProcesses {
    async fn with(names: &[&str]) -> TwoProcesses {
        let database = TestDatabase::create();
        let dir = tempfile::tempdir().unwrap();
        let one = open(&database.url, dir.path()).await;
        let two = open(&database.url, dir.path()).await;
        let mut accounts = Vec::new();
        for name in names {
            let created = one.create_account(
                Username::parse(name).unwrap(),
                DisplayName::parse(name).unwrap(),
                "x".into(),
            );
            accounts.push(created.await.unwrap().account_id);
        }
        for (other, name) in accounts.iter().zip(names).skip(1) {
            let hi = Greeting::parse("hi").unwrap();
            let asked = one.request_contact(accounts[0], Username::parse(name).unwrap(), hi);
            one.accept_request(*other, asked.await.unwrap())
                .await
                .unwrap();
        }
        for account in &accounts {
            let first = PinChange::WithPassword {
                pin_hash: "unused".into(),
                reset_effective_at: Timestamp::now(),
            };
            one.set_pin(*account, first).await.unwrap();
        }
        TwoProcesses {
            database,
            _dir: dir,
            one,
            two,
            accounts,
        }
    }

    /// The process that serves the `n`th call of a race.
    fn either(&self, n: usize) -> &Core {
        if n.is_multiple_of(2) {
            &self.one
        } else {
            &self.two
        }
    }

    async fn top_up(&self, account: AccountId, minor: i64) {
        let key = format!("fund-{account}-{minor}");
        let request = keyed(&key, 1);
        let funded = self
            .one
            .top_up(account, request, money(minor), "test".into());
        funded.await.unwrap();
    }

    async fn balance(&self, account: AccountId) -> i64 {
        self.two.wallet_balance(account, CNY).await.unwrap()
    }

    /// The ledger, re-verified from its postings alone, is sound.
    fn assert_ledger_sound(&self) {
        let url = self.database.url.clone();
        let report = std::thread::spawn(move || integrity::check_ledger(&url).unwrap())
            .join()
            .unwrap();
        assert!(report.is_sound(), "{:?}", report.problems);
    }
}

fn refusal<T: std::fmt::Debug>(outcome: Result<T, StoreError>) -> Option<Rejection> {
    match outcome {
        Ok(_) => None,
        Err(StoreError::Rejected(rejection)) => Some(rejection),
        Err(other) => panic!("the engine failed: {other}"),
    }
}

/// Transfers and withdrawals, each for more than half of what the wallet
/// holds, sent through two processes at once: exactly one succeeds, and
/// the wallet never goes below zero.
#[tokio::test]
async fn spends_racing_through_two_processes_for_the_last_balance_pay_once() {
    let race = &TwoProcesses::with(&["ann", "bob"]).await;
    let [ann, bob] = race.accounts[..] else {
        unreachable!()
    };
    race.top_up(ann, 100).await;
    let spends = (0..12).map(|n| async move {
        let request = keyed(&format!("spend-{n}"), 2);
        let core = race.either(n);
        if n % 3 == 0 {
            let out = core.withdraw(ann, request, money(60), PinCheck::Verified, "out".into());
            refusal(out.await)
        } else {
            let asked = TransferRequest {
                to: bob,
                money: money(60),
                note: None,
                expires_at: in_hours(1),
            };
            refusal(
                core.send_transfer(ann, request, asked, PinCheck::Verified)
                    .await,
            )
        }
    });
    let outcomes = join_all(spends).await;
    let paid = outcomes.iter().filter(|outcome| outcome.is_none()).count();
    assert_eq!(paid, 1, "{outcomes:?}");
    for refused in outcomes.iter().flatten() {
        assert_eq!(*refused, Rejection::InsufficientFunds);
    }
    assert_eq!(race.balance(ann).await, 40);
    race.assert_ledger_sound();
}

/// One key sent through both processes at once moves the money once, and
/// every call answers that one movement.
#[tokio::test]
async fn one_key_through_two_processes_moves_the_money_once() {
    let race = &TwoProcesses::with(&["ann", "bob"]).await;
    let [ann, bob] = race.accounts[..] else {
        unreachable!()
    };
    let top_ups = (0..8).map(|n| {
        let request = keyed("the-one", 3);
        race.either(n)
            .top_up(ann, request, money(500), "test".into())
    });
    let moved: Vec<_> = join_all(top_ups)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        moved
            .iter()
            .all(|one| one.transaction_id == moved[0].transaction_id)
    );
    assert_eq!(moved.iter().filter(|one| !one.replayed).count(), 1);
    assert_eq!(race.balance(ann).await, 500);
    let sends = (0..8).map(|n| {
        let asked = TransferRequest {
            to: bob,
            money: money(70),
            note: None,
            expires_at: in_hours(1),
        };
        let request = keyed("the-transfer", 4);
        race.either(n)
            .send_transfer(ann, request, asked, PinCheck::Verified)
    });
    let sent: Vec<_> = join_all(sends)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        sent.iter()
            .all(|one| one.transfer_id == sent[0].transfer_id)
    );
    assert_eq!(race.balance(ann).await, 430);
    race.assert_ledger_sound();
}

/// Every member of a group claiming one packet twice, once through each
/// process, all at once: one share each, and the shares add up to the
/// total exactly.
#[tokio::test]
async fn members_claiming_through_two_processes_share_the_total_exactly() {
    let names = ["ann", "bob", "cyd", "dee", "eve", "fay", "gus", "hal"];
    let race = &TwoProcesses::with(&names).await;
    let ann = race.accounts[0];
    let title = GroupTitle::parse("all").unwrap();
    let group = race
        .one
        .create_group(ann, title, race.accounts[1..].to_vec());
    let group = group.await.unwrap();
    race.top_up(ann, 1_000).await;
    let asked = RedPacketRequest {
        conversation: group,
        total: money(1_000),
        count: ShareCount::parse(names.len() as u32).unwrap(),
        mode: SplitMode::Lucky,
        greeting: None,
        expires_at: in_hours(1),
    };
    let request = keyed("packet", 5);
    let sent = race
        .one
        .send_red_packet(ann, request, asked, PinCheck::Verified);
    let packet = sent.await.unwrap().red_packet_id;
    let claims = (0..names.len() * 2).map(|n| {
        race.either(n)
            .claim_red_packet(race.accounts[n / 2], packet)
    });
    let claimed: Vec<_> = join_all(claims)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for pair in claimed.chunks(2) {
        assert_eq!(pair[0], pair[1], "a member's two claims are one");
    }
    let stored = race.two.red_packet(ann, packet).await.unwrap();
    assert_eq!(stored.claims.len(), names.len());
    let paid: i64 = stored.claims.iter().map(|claim| claim.amount_minor).sum();
    assert_eq!((paid, stored.remaining_minor), (1_000, 0));
    let mut held = 0;
    for account in &race.accounts {
        held += race.balance(*account).await;
    }
    assert_eq!(held, 1_000, "every share reached a wallet, nothing more");
    race.assert_ledger_sound();
}

/// Wrong PINs through both processes at once: the first five are counted
/// and the fifth locks money-out; every one after finds the lock.
#[tokio::test]
async fn wrong_pins_through_two_processes_lock_after_exactly_five() {
    let race = &TwoProcesses::with(&["ann"]).await;
    let ann = race.accounts[0];
    race.top_up(ann, 100).await;
    let tries = (0..12).map(|n| {
        let request = keyed(&format!("guess-{n}"), 6);
        let out = race
            .either(n)
            .withdraw(ann, request, money(1), PinCheck::Wrong, "out".into());
        async move { refusal(out.await) }
    });
    let outcomes = join_all(tries).await;
    let wrong = outcomes
        .iter()
        .filter(|outcome| **outcome == Some(Rejection::WrongPin))
        .count();
    let locked = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Some(Rejection::PinLocked { .. })))
        .count();
    assert_eq!((wrong, locked), (5, 7), "{outcomes:?}");
    let pin = race.two.pin(ann).await.unwrap().unwrap();
    assert!(pin.locked_until.is_some());
    assert_eq!(race.balance(ann).await, 100);
}

/// A recipient accepting through one process while the other's sweeper
/// returns the same transfers: each is settled once, one way or the
/// other, and no money appears or vanishes.
#[tokio::test]
async fn accepts_racing_the_other_process_s_returns_settle_each_transfer_once() {
    let race = &TwoProcesses::with(&["ann", "bob"]).await;
    let [ann, bob] = race.accounts[..] else {
        unreachable!()
    };
    race.top_up(ann, 1_000).await;
    let mut transfers = Vec::new();
    for n in 0..10 {
        let asked = TransferRequest {
            to: bob,
            money: money(10),
            note: None,
            expires_at: in_hours(1),
        };
        let request = keyed(&format!("t{n}"), 7);
        let sent = race
            .one
            .send_transfer(ann, request, asked, PinCheck::Verified);
        transfers.push(sent.await.unwrap().transfer_id);
    }
    // The sweeper is told it is two hours later: every transfer is its to
    // return, while the recipient, on the wall clock, may still accept.
    let accepts = transfers.iter().map(|transfer| {
        let accepted = race
            .one
            .decide_transfer(bob, *transfer, TransferDecision::Accept);
        async move { refusal(accepted.await) }
    });
    let sweep = async {
        let mut returned = 0;
        for _ in 0..10 {
            returned += race
                .two
                .return_expired_transfers(in_hours(2), 3)
                .await
                .unwrap();
        }
        returned
    };
    let (accepted, returned) = tokio::join!(join_all(accepts), sweep);
    let accepted_count = accepted.iter().filter(|outcome| outcome.is_none()).count();
    assert_eq!(accepted_count + returned, transfers.len(), "{accepted:?}");
    for transfer in &transfers {
        let stored = race.two.transfer(ann, *transfer).await.unwrap();
        assert_ne!(stored.status, TransferStatus::Pending);
    }
    let (ann_holds, bob_holds) = (race.balance(ann).await, race.balance(bob).await);
    assert_eq!(bob_holds, 10 * accepted_count as i64);
    assert_eq!(ann_holds + bob_holds, 1_000);
    race.assert_ledger_sound();
}

/// A recipient accepting many transfers through both processes at once:
/// each credit reads the wallet's balance under its lock, so none is lost
/// to another written over it.
#[tokio::test]
async fn credits_to_one_wallet_through_two_processes_all_count() {
    let race = &TwoProcesses::with(&["ann", "bob"]).await;
    let [ann, bob] = race.accounts[..] else {
        unreachable!()
    };
    race.top_up(ann, 100_000).await;
    const TRANSFERS: i64 = 200;
    let mut transfers = Vec::new();
    for n in 0..TRANSFERS {
        let asked = TransferRequest {
            to: bob,
            money: money(10 + n),
            note: None,
            expires_at: in_hours(1),
        };
        let request = keyed(&format!("t{n}"), 8);
        let sent = race
            .one
            .send_transfer(ann, request, asked, PinCheck::Verified);
        transfers.push(sent.await.unwrap().transfer_id);
    }
    let accepts = transfers.iter().enumerate().map(|(n, transfer)| {
        race.either(n)
            .decide_transfer(bob, *transfer, TransferDecision::Accept)
    });
    for accepted in join_all(accepts).await {
        assert_eq!(accepted.unwrap().status, TransferStatus::Accepted);
    }
    let sent: i64 = (0..TRANSFERS).map(|n| 10 + n).sum();
    assert_eq!(race.balance(bob).await, sent);
    assert_eq!(race.balance(ann).await, 100_000 - sent);
    race.assert_ledger_sound();
}
