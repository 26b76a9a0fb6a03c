//! Chat on PostgreSQL, at the level of the rules (`piazza_core::Core`):
//! races between two engines on one database — two processes — that only
//! the engine's row locks settle. The end-to-end suite runs chat's rules
//! on PostgreSQL too (`ON_POSTGRES`), one process at a time.

use futures_util::future::join_all;
use piazza_core::Core;
use piazza_domain::event::Event;
use piazza_domain::store::{DeviceSeen, TokenHash};
use piazza_domain::{
    AccountId, ClientMsgId, DeviceName, DisplayName, Greeting, GroupTitle, LogSeq, MessageText,
    Seq, Username,
};
use piazza_postgres::integrity;
use piazza_postgres::testing::{TestDatabase, open_core as open};

/// Two processes on one new database, and accounts named `names`, each
/// a contact of the first.
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

    /// Every entry of `account`'s log, read through the first process.
    async fn log(&self, account: AccountId) -> Vec<Event> {
        let page = self.one.log_after(account, LogSeq::START, 1_000).await;
        let page = page.unwrap();
        assert!(!page.has_more);
        page.entries.into_iter().map(|entry| entry.event).collect()
    }

    /// The database holds to the engine's promises: gapless seqs and logs.
    fn assert_sound(&self) {
        let url = self.database.url.clone();
        let report = std::thread::spawn(move || integrity::check(&url).unwrap())
            .join()
            .unwrap();
        assert!(report.is_sound(), "{:?}", report.problems);
    }
}

fn text(n: usize) -> MessageText {
    MessageText::parse(&format!("message {n}")).unwrap()
}

fn client_id(n: usize) -> ClientMsgId {
    ClientMsgId::parse(&format!("m{n}")).unwrap()
}

/// The seqs of the `message.new` entries in `log`, in log order.
fn message_seqs(log: &[Event]) -> Vec<i64> {
    log.iter()
        .filter_map(|event| match event {
            Event::MessageNew(message) => Some(message.seq.get()),
            _ => None,
        })
        .collect()
}

/// Members of one group sending through two processes at once: the
/// group's seqs run 1, 2, … with no gap or double, and every member's log
/// holds every message once, in seq order (the order they committed).
#[tokio::test]
async fn two_processes_sending_into_one_group_keep_its_seqs_gapless() {
    let race = TwoProcesses::with(&["ann", "bob", "cyd"]).await;
    let [ann, bob, cyd] = race.accounts[..] else {
        unreachable!()
    };
    let title = GroupTitle::parse("busy").unwrap();
    let group = race.one.create_group(ann, title, vec![bob, cyd]).await;
    let group = group.unwrap();
    const SENDS: usize = 60;
    let sends = (0..SENDS).map(|n| {
        let sender = race.accounts[n % 3];
        race.either(n)
            .send_message(sender, group, client_id(n), text(n))
    });
    for sent in join_all(sends).await {
        assert!(!sent.unwrap().replayed);
    }
    let page = race.two.history(cyd, group, None, 200).await.unwrap();
    let mut seqs: Vec<i64> = page.messages.iter().map(|m| m.seq.get()).collect();
    seqs.reverse();
    assert_eq!(seqs, (1..=SENDS as i64).collect::<Vec<_>>());
    for member in [ann, bob, cyd] {
        let logged = message_seqs(&race.log(member).await);
        assert_eq!(logged, seqs, "{member}'s log");
    }
    race.assert_sound();
}

/// Both sides opening their direct conversation at once, through two
/// processes, get the same one, and each is told of it once.
#[tokio::test]
async fn two_processes_opening_one_direct_conversation_make_one() {
    let race = TwoProcesses::with(&["ann", "bob"]).await;
    let [ann, bob] = race.accounts[..] else {
        unreachable!()
    };
    let (mine, theirs) = tokio::join!(
        race.one.open_direct(ann, bob),
        race.two.open_direct(bob, ann)
    );
    let conversation = mine.unwrap();
    assert_eq!(theirs.unwrap(), conversation);
    for account in [ann, bob] {
        let created = race.log(account).await.into_iter().filter(|event| {
            matches!(event, Event::ConversationCreated { conversation_id, .. } if *conversation_id == conversation)
        });
        assert_eq!(created.count(), 1, "{account}");
        let list = race.two.conversations(account, None, 10).await.unwrap();
        assert_eq!(list.items.len(), 1);
    }
    race.assert_sound();
}

/// A retry that reaches two processes at once is stored once: one call
/// stores it, the other answers it as a replay.
#[tokio::test]
async fn a_retry_through_two_processes_at_once_is_stored_once() {
    let race = TwoProcesses::with(&["ann", "bob"]).await;
    let [ann, bob] = race.accounts[..] else {
        unreachable!()
    };
    let conversation = race.one.open_direct(ann, bob).await.unwrap();
    for round in 0..10 {
        let (first, second) = tokio::join!(
            race.one
                .send_message(ann, conversation, client_id(round), text(round)),
            race.two
                .send_message(ann, conversation, client_id(round), text(round)),
        );
        let (first, second) = (first.unwrap(), second.unwrap());
        assert_eq!(first.message.message_id, second.message.message_id);
        assert!(first.replayed != second.replayed, "round {round}");
    }
    let page = race
        .one
        .history(bob, conversation, None, 100)
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 10);
    assert_eq!(
        message_seqs(&race.log(bob).await),
        (1..=10).collect::<Vec<_>>()
    );
    race.assert_sound();
}

/// The owner adding the same member through two processes at once adds
/// them once: one snapshot of the group and one `member_added` each.
#[tokio::test]
async fn adding_one_member_through_two_processes_at_once_adds_them_once() {
    let race = TwoProcesses::with(&["ann", "bob", "cyd"]).await;
    let [ann, bob, cyd] = race.accounts[..] else {
        unreachable!()
    };
    let title = GroupTitle::parse("pair").unwrap();
    let group = race.one.create_group(ann, title, vec![bob]).await.unwrap();
    let (x, y) = tokio::join!(
        race.one.add_member(ann, group, cyd),
        race.two.add_member(ann, group, cyd),
    );
    x.unwrap();
    y.unwrap();
    let added = |log: Vec<Event>| {
        log.into_iter()
            .filter(|event| matches!(event, Event::MemberAdded { account_id, .. } if *account_id == cyd))
            .count()
    };
    for member in [ann, bob, cyd] {
        assert_eq!(added(race.log(member).await), 1, "{member}");
    }
    let snapshots = race.log(cyd).await.into_iter().filter(
        |event| matches!(event, Event::ConversationCreated { members, .. } if members.len() == 3),
    );
    assert_eq!(snapshots.count(), 1);
    let list = race.two.conversations(ann, None, 10).await.unwrap();
    assert_eq!(list.items[0].member_count, 3);
}

/// Two devices marking a direct conversation read at once, through two
/// processes: the position only moves forward, and the peer's receipts
/// climb with it.
#[tokio::test]
async fn read_markers_through_two_processes_only_move_forward() {
    let race = TwoProcesses::with(&["ann", "bob"]).await;
    let [ann, bob] = race.accounts[..] else {
        unreachable!()
    };
    let conversation = race.one.open_direct(ann, bob).await.unwrap();
    for n in 0..6 {
        let sent = race
            .one
            .send_message(ann, conversation, client_id(n), text(n));
        sent.await.unwrap();
    }
    let name = DeviceName::parse("phone").unwrap();
    let device =
        race.one
            .create_session(bob, name, TokenHash([1; 32]), DeviceSeen::default(), None);
    let device = device.await.unwrap();
    let marks = (1..=6).map(|seq| {
        let seq = Seq::new(seq).unwrap();
        race.either(seq.get() as usize)
            .mark_read(bob, device, conversation, seq)
    });
    for marked in join_all(marks).await {
        marked.unwrap();
    }
    let list = race.one.conversations(ann, None, 10).await.unwrap();
    assert_eq!(list.items[0].peer_read_seq, Some(Seq::new(6).unwrap()));
    let receipts: Vec<i64> = race
        .log(ann)
        .await
        .into_iter()
        .filter_map(|event| match event {
            Event::ReadReceipt { seq, .. } => Some(seq.get()),
            _ => None,
        })
        .collect();
    assert!(
        receipts.windows(2).all(|pair| pair[0] < pair[1]),
        "{receipts:?}"
    );
    assert_eq!(receipts.last(), Some(&6));
    race.assert_sound();
}

/// The references schema 3 stopped guarding with foreign keys are the
/// checker's list, and a dangling one is found.
#[test]
fn the_checker_finds_a_reference_no_foreign_key_guards() {
    let database = TestDatabase::create();
    let mut client = postgres::Client::connect(&database.url, postgres::NoTls).unwrap();
    let guarded: Vec<(String, String)> = client
        .query(
            "SELECT c.conrelid::regclass::text, a.attname::text
             FROM pg_constraint c
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
             WHERE c.contype = 'f'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    for (table, column, _) in integrity::UNGUARDED {
        let pair = (table.to_owned(), column.to_owned());
        assert!(!guarded.contains(&pair), "{table}.{column} keeps its key");
    }
    assert!(integrity::check(&database.url).unwrap().is_sound());
    client
        .execute(
            "INSERT INTO account_log (account_id, log_seq, at, data) VALUES (424242, 1, 0, '{}')",
            &[],
        )
        .unwrap();
    let report = integrity::check(&database.url).unwrap();
    assert_eq!(
        report.problems,
        ["1 rows of account_log name a missing accounts row (account_id)"]
    );
}

/// What a process's live hub would be told, in the order it is told.
#[derive(Default)]
struct Recorded(std::sync::Mutex<Vec<(AccountId, LogSeq)>>);

impl piazza_domain::store::NoticeSink for Recorded {
    fn notify(&self, notices: Vec<piazza_domain::event::Notice>) {
        let mut seen = self.0.lock().unwrap();
        for notice in notices {
            if let piazza_domain::event::Notice::Logged(entry) = notice {
                seen.push((entry.account, entry.seq));
            }
        }
    }
}

/// The writers take conversations in lanes, so one account's log entries
/// are made by both writers at once (her head row passed between them);
/// every one must reach the hub, in `log_seq` order (a socket drops at a
/// gap). The writers' commit turn keeps the order when a thread is
/// preempted between its COMMIT and the hub, which a test cannot arrange.
#[tokio::test]
async fn an_account_s_entries_reach_the_hub_in_order_from_both_writers() {
    let database = TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let recorded = std::sync::Arc::new(Recorded::default());
    let core =
        piazza_postgres::testing::open_core_telling(&database.url, dir.path(), recorded.clone())
            .await;
    let names = ["ann", "bob", "cyd", "dee", "eve", "fay"];
    let mut accounts = Vec::new();
    for name in names {
        let created = core.create_account(
            Username::parse(name).unwrap(),
            DisplayName::parse(name).unwrap(),
            "x".into(),
        );
        accounts.push(created.await.unwrap().account_id);
    }
    let ann = accounts[0];
    let mut conversations = Vec::new();
    for (peer, name) in accounts.iter().zip(names).skip(1) {
        let hi = Greeting::parse("hi").unwrap();
        let asked = core.request_contact(ann, Username::parse(name).unwrap(), hi);
        core.accept_request(*peer, asked.await.unwrap())
            .await
            .unwrap();
        conversations.push(core.open_direct(*peer, ann).await.unwrap());
    }
    let sends = (0..400).map(|n| {
        let sender = accounts[1 + n % conversations.len()];
        let conversation = conversations[n % conversations.len()];
        core.send_message(sender, conversation, client_id(n), text(n))
    });
    for sent in join_all(sends).await {
        sent.unwrap();
    }
    let page = core.log_after(ann, LogSeq::START, 1_000).await.unwrap();
    assert!(!page.has_more);
    let logged = page.entries.len();
    // A job is answered just before its batch's notices go out.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let ann_seqs = loop {
        let seen = recorded.0.lock().unwrap().clone();
        let ann_seqs: Vec<i64> = seen
            .iter()
            .filter(|(account, _)| *account == ann)
            .map(|(_, seq)| seq.get())
            .collect();
        if ann_seqs.len() >= logged || std::time::Instant::now() > deadline {
            break ann_seqs;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(
        ann_seqs.len(),
        logged,
        "every entry of ann's log reached the hub"
    );
    // Every entry of ann's log since her account was made: the setup's,
    // then one per message.
    assert_eq!(ann_seqs.first(), Some(&1));
    assert!(
        ann_seqs.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "ann's entries reached the hub out of order: {ann_seqs:?}"
    );
}
