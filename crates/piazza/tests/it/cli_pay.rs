//! The Pay commands of the `piazza` binary, run as a user runs them
//! against a sandbox-payments server: amounts typed in major units, the
//! PIN from `PIAZZA_PIN`, ids read back from what the commands print.

use std::path::PathBuf;
use std::process::Output;

use tempfile::TempDir;

use crate::helpers::*;
use crate::wallet::{PIN, sandbox};

/// The binary with its own config file, pointed at one server (the shop
/// commands' test uses it too).
pub(crate) struct Terminal {
    server: String,
    config: PathBuf,
    dir: TempDir,
}

impl Terminal {
    pub(crate) fn new(app: &TestApp) -> Terminal {
        let dir = tempfile::tempdir().expect("temp dir");
        Terminal {
            server: app.base.clone(),
            config: dir.path().join("cli.toml"),
            dir,
        }
    }

    /// Runs `piazza <args>` as `account`, with the password and PIN in
    /// the environment and nothing on stdin.
    pub(crate) async fn run(&self, account: &str, args: &[&str]) -> Output {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_piazza"))
            .args(args)
            .env("PIAZZA_CONFIG", &self.config)
            .env("PIAZZA_SERVER", &self.server)
            .env("PIAZZA_ACCOUNT", account)
            .env("PIAZZA_PASSWORD", PASSWORD)
            .env("PIAZZA_PIN", PIN)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("the piazza binary runs")
    }

    /// Runs `piazza <args>` as `account` with neither the password nor the
    /// PIN in the environment, writing `input` to its standard input.
    async fn run_with_stdin(&self, account: &str, args: &[&str], input: &str) -> Output {
        use tokio::io::AsyncWriteExt;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_piazza"))
            .args(args)
            .env("PIAZZA_CONFIG", &self.config)
            .env("PIAZZA_SERVER", &self.server)
            .env("PIAZZA_ACCOUNT", account)
            .env_remove("PIAZZA_PASSWORD")
            .env_remove("PIAZZA_PIN")
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the piazza binary runs");
        let mut stdin = child.stdin.take().expect("a piped stdin");
        stdin
            .write_all(input.as_bytes())
            .await
            .expect("stdin written");
        drop(stdin);
        child
            .wait_with_output()
            .await
            .expect("the piazza binary ends")
    }

    /// Runs a command that must succeed and returns its standard output.
    pub(crate) async fn ok(&self, account: &str, args: &[&str]) -> String {
        let output = self.run(account, args).await;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "piazza {args:?} as {account} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// Runs a command that must fail and returns its standard error.
    pub(crate) async fn fails(&self, account: &str, args: &[&str]) -> String {
        let output = self.run(account, args).await;
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            !output.status.success(),
            "piazza {args:?} as {account} succeeded: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        stderr
    }
}

/// The first word of `text` that starts with `prefix`, without the
/// brackets or punctuation around it.
pub(crate) fn id_in(text: &str, prefix: &str) -> String {
    text.split_whitespace()
        .find(|word| word.trim_start_matches(['(', '[']).starts_with(prefix))
        .map(|word| {
            word.trim_start_matches(['(', '['])
                .trim_end_matches([',', ')', ']', ':', ';'])
                .to_owned()
        })
        .unwrap_or_else(|| panic!("no {prefix}… in {text:?}"))
}

async fn balance_minor(user: &User) -> i64 {
    user.client.wallet().await.expect("wallet").balance_minor
}

#[tokio::test]
async fn the_pay_commands_move_money_end_to_end() {
    let app = sandbox().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    befriend(&alice, &bob).await;
    let cli = Terminal::new(&app);
    cli.ok("alice", &["login", "alice"]).await;
    cli.ok("bob", &["login", "bob"]).await;
    let set = cli.ok("alice", &["wallet", "pin"]).await;
    assert!(set.contains("payment PIN set"), "{set}");
    // Without the environment, the password and then the PIN are read
    // from standard input, a line each.
    let output = cli
        .run_with_stdin("bob", &["wallet", "pin"], &format!("{PASSWORD}\n{PIN}\n"))
        .await;
    assert!(output.status.success(), "{output:?}");
    let short = cli
        .run_with_stdin("bob", &["wallet", "pin"], &format!("{PASSWORD}\n12345\n"))
        .await;
    assert!(!short.status.success());
    let stderr = String::from_utf8_lossy(&short.stderr);
    assert!(stderr.contains("six digits"), "{stderr}");

    // Top-up, with the amount typed in major units.
    let topped = cli.ok("alice", &["topup", "100.50"]).await;
    assert!(topped.contains("balance 100.50 CNY"), "{topped}");
    assert_eq!(balance_minor(&alice).await, 10_050);

    // Bad amounts are refused before anything is sent.
    for (bad, reason) in [
        ("1.234", "too many decimals"),
        ("-5", "positive"),
        ("abc", "not an amount"),
        ("0", "zero"),
    ] {
        let stderr = cli.fails("alice", &["topup", bad]).await;
        assert!(stderr.contains(reason), "{bad}: {stderr}");
        let stderr = cli.fails("alice", &["transfer", "bob", bad]).await;
        assert!(stderr.contains(reason), "{bad}: {stderr}");
    }
    assert_eq!(balance_minor(&alice).await, 10_050);
    assert_eq!(balance_minor(&bob).await, 0);

    // A retry with the same key tops up once.
    for _ in 0..2 {
        cli.ok("alice", &["topup", "1", "--idempotency-key", "cli-test-1"])
            .await;
    }
    assert_eq!(balance_minor(&alice).await, 10_150);

    // Transfer, accepted by the recipient.
    let sent = cli
        .ok("alice", &["transfer", "bob", "12.34", "--note", "lunch"])
        .await;
    let transfer_id = id_in(&sent, "trf_");
    let accepted = cli.ok("bob", &["transfer", "accept", &transfer_id]).await;
    assert!(
        accepted.contains("accepted the transfer of 12.34 CNY from @alice"),
        "{accepted}"
    );
    let shown = cli.ok("alice", &["wallet"]).await;
    assert!(shown.contains("balance 89.16 CNY"), "{shown}");
    let shown = cli.ok("bob", &["wallet"]).await;
    assert!(shown.contains("balance 12.34 CNY"), "{shown}");
    let statement = cli.ok("bob", &["wallet", "statement"]).await;
    assert!(
        statement.contains("+12.34 CNY") && statement.contains("transfer from @alice"),
        "{statement}"
    );

    // A merchant's dynamic code, paid by scanning its payload.
    let created = cli
        .ok(
            "alice",
            &["merchant", "create", "Cafe", "--city", "Shanghai"],
        )
        .await;
    let merchant_id = id_in(&created, "mer_");
    let svg = cli.dir.path().join("code.svg");
    let qr = cli
        .ok(
            "alice",
            &[
                "merchant",
                "qr",
                &merchant_id,
                "--amount",
                "3.50",
                "--svg",
                svg.to_str().unwrap(),
            ],
        )
        .await;
    let payload = qr.lines().next().unwrap().to_owned();
    assert!(payload.starts_with("000201"), "{qr}");
    assert!(
        qr.contains('█') || qr.contains('▀'),
        "the code is drawn: {qr}"
    );
    let image = std::fs::read_to_string(&svg).expect("the svg is written");
    assert!(image.contains("<svg"), "{image}");
    let paid = cli.ok("bob", &["pay", &payload]).await;
    assert!(paid.contains("paid 3.50 CNY to Cafe"), "{paid}");
    assert!(paid.contains("completed"), "{paid}");
    let stderr = cli.fails("bob", &["pay", "not-a-code"]).await;
    assert!(stderr.contains("not a merchant's payment code"), "{stderr}");
    assert_eq!(balance_minor(&bob).await, 1234 - 350);

    // A static code needs the amount from the buyer.
    let qr = cli.ok("alice", &["merchant", "qr", &merchant_id]).await;
    let static_payload = qr.lines().next().unwrap().to_owned();
    let stderr = cli.fails("bob", &["pay", &static_payload]).await;
    assert!(stderr.contains("--amount"), "{stderr}");
    cli.ok("bob", &["pay", &static_payload, "--amount", "1"])
        .await;
    assert_eq!(balance_minor(&bob).await, 1234 - 350 - 100);

    // The buyer's payment code, collected by the merchant.
    let code = cli.ok("bob", &["payment-code"]).await;
    let digits = code.lines().next().unwrap().to_owned();
    assert_eq!(digits.len(), 18, "{code}");
    assert!(digits.bytes().all(|byte| byte.is_ascii_digit()), "{code}");
    let collected = cli
        .ok(
            "alice",
            &["merchant", "collect", &merchant_id, &digits, "2"],
        )
        .await;
    assert!(collected.contains("completed"), "{collected}");
    let payment_id = id_in(&collected, "pay_");
    assert_eq!(balance_minor(&bob).await, 1234 - 350 - 100 - 200);
    let refunded = cli
        .ok("alice", &["merchant", "refund", &payment_id, "0.50"])
        .await;
    assert!(refunded.contains("refunded 0.50 CNY"), "{refunded}");
    assert_eq!(balance_minor(&bob).await, 1234 - 350 - 100 - 200 + 50);
    let merchant = cli.ok("alice", &["merchant", "show", &merchant_id]).await;
    assert!(merchant.contains("balance 6.00 CNY"), "{merchant}");

    // A red packet in the direct conversation, claimed by the other side.
    let sent = cli
        .ok(
            "alice",
            &["red-packet", "send", "bob", "8.88", "1", "--greeting", "hi"],
        )
        .await;
    let packet_id = id_in(&sent, "rpk_");
    let claimed = cli.ok("bob", &["red-packet", "claim", &packet_id]).await;
    assert!(
        claimed.contains("claimed 8.88 CNY from the red packet of @alice"),
        "{claimed}"
    );
    let shown = cli.ok("alice", &["red-packet", "show", &packet_id]).await;
    assert!(shown.contains("@bob claimed 8.88 CNY"), "{shown}");
    assert!(!shown.contains(&bob.account_id), "names, not ids: {shown}");

    // Above the no-PIN limit (500.00) a collection waits for the buyer.
    cli.ok("bob", &["topup", "600"]).await;
    let code = cli.ok("bob", &["payment-code"]).await;
    let digits = code.lines().next().unwrap().to_owned();
    let collected = cli
        .ok(
            "alice",
            &["merchant", "collect", &merchant_id, &digits, "600"],
        )
        .await;
    assert!(
        collected.contains("waiting for confirmation") && !collected.contains("collected"),
        "{collected}"
    );
    let payment_id = id_in(&collected, "pay_");
    assert_eq!(balance_minor(&bob).await, 1234 - 650 + 50 + 888 + 60_000);
    let confirmed = cli.ok("bob", &["payment", "confirm", &payment_id]).await;
    assert!(confirmed.contains("completed"), "{confirmed}");
    let shown = cli.ok("alice", &["payment", "show", &payment_id]).await;
    assert!(
        shown.contains("completed  600.00 CNY to Cafe") && shown.contains("from @bob"),
        "{shown}"
    );

    assert_eq!(balance_minor(&alice).await, 10_150 - 1234 - 888);
    assert_eq!(balance_minor(&bob).await, 1234 - 650 + 50 + 888);
    app.shut_down().await;
}

/// `payment-code` asks for the PIN (or, with --no-pin, leans on one this
/// device entered lately); `wallet pin --change` takes the current PIN;
/// the password on a set PIN starts a reset and says when it ends.
#[tokio::test]
async fn the_cli_asks_for_the_pin_where_the_server_does() {
    let app = sandbox().await;
    app.signup("alice").await;
    let cli = Terminal::new(&app);
    cli.ok("alice", &["login", "alice"]).await;
    cli.ok("alice", &["wallet", "pin"]).await;
    let refused = cli.fails("alice", &["payment-code", "--no-pin"]).await;
    assert!(refused.contains("pin_required"), "{refused}");
    // From standard input when not in the environment.
    let shown = cli
        .run_with_stdin("alice", &["payment-code"], &format!("{PIN}\n"))
        .await;
    assert!(shown.status.success(), "{shown:?}");
    cli.ok("alice", &["payment-code", "--no-pin"]).await;

    let changed = cli
        .run_with_stdin(
            "alice",
            &["wallet", "pin", "--change"],
            &format!("{PIN}\n135791\n"),
        )
        .await;
    let stdout = String::from_utf8_lossy(&changed.stdout);
    assert!(stdout.contains("payment PIN changed"), "{changed:?}");
    let wrong = cli
        .run_with_stdin(
            "alice",
            &["wallet", "pin", "--change"],
            &format!("{PIN}\n{PIN}\n"),
        )
        .await;
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("wrong"),
        "{wrong:?}"
    );

    let reset = cli.ok("alice", &["wallet", "pin"]).await;
    assert!(reset.contains("takes effect at"), "{reset}");
    let held = cli.fails("alice", &["payment-code"]).await;
    assert!(
        held.contains("pin_reset_pending") || held.contains("reset"),
        "{held}"
    );
}
