//! The shop commands of the `piazza` binary, run as a shop owner and a
//! buyer run them against a sandbox-payments server: a shop and its
//! products, the cart, an order from placing to a refund after it was
//! confirmed, a cancelled one paid twice with one key, and staff. Ids are
//! read back from what the commands print; people and money are checked
//! as a person reads them (names, "12.50 CNY"), never as ids.

use crate::cli_pay::{Terminal, id_in};
use crate::helpers::*;
use crate::wallet::{assert_ledger_sound, sandbox};

/// An account with a display name of its own, and its balance reader.
async fn person(app: &TestApp, username: &str, display_name: &str) -> User {
    app.anonymous()
        .create_account(username, PASSWORD, Some(display_name))
        .await
        .expect("account created");
    app.login(username, "api").await
}

async fn balance_minor(user: &User) -> i64 {
    user.client.wallet().await.expect("wallet").balance_minor
}

/// The id in brackets at the end of the line that holds `marker`.
fn id_on_line(text: &str, marker: &str, prefix: &str) -> String {
    let line = text
        .lines()
        .find(|line| line.contains(marker))
        .unwrap_or_else(|| panic!("no line with {marker:?} in {text:?}"));
    id_in(line.rsplit("  ").next().unwrap_or(line), prefix)
}

const ADDRESS: [&str; 8] = [
    "--name",
    "Bea Rossi",
    "--line1",
    "Via Roma 1",
    "--city",
    "Torino",
    "--country",
    "IT",
];

/// Runs `order place` as bea with the address, and returns the order's id.
async fn place(cli: &Terminal, what: &[&str]) -> (String, String) {
    let args = [&["order", "place"], what, &ADDRESS[..]].concat();
    let placed = cli.ok("bea", &args).await;
    (id_in(&placed, "ord_"), placed)
}

#[tokio::test]
async fn a_shop_sells_through_the_cli_from_cart_to_refund() {
    let app = sandbox().await;
    let ann = person(&app, "ann", "Ann Lee").await;
    let bea = person(&app, "bea", "Bea Rossi").await;
    let cat = person(&app, "cat", "Cat Wu").await;
    befriend(&ann, &cat).await;
    let cli = Terminal::new(&app);
    for who in ["ann", "bea", "cat"] {
        cli.ok(who, &["login", who]).await;
    }

    // Ann opens a shop and adds a product of two variants, priced as typed.
    let opened = cli
        .ok(
            "ann",
            &[
                "shop",
                "create",
                "nonna.pasta",
                "Nonna's Pasta",
                "--description",
                "Fresh pasta from Torino",
            ],
        )
        .await;
    assert!(
        opened.contains("opened Nonna's Pasta (@nonna.pasta) [shop_"),
        "{opened}"
    );
    let shop = id_in(&opened, "shop_");
    let added = cli
        .ok(
            "ann",
            &[
                "product",
                "add",
                &shop,
                "--title",
                "Tajarin",
                "--description",
                "Egg pasta, cut by hand",
                "--variant",
                "PASTA-500:500 g:12.50:10",
                "--variant",
                "PASTA-1K:1 kg:22:5",
            ],
        )
        .await;
    assert!(
        added.contains("500 g (PASTA-500)  12.50 CNY  10 available, 0 reserved, 0 sold  [var_"),
        "{added}"
    );
    assert!(
        added.contains("1 kg (PASTA-1K)  22.00 CNY  5 available"),
        "{added}"
    );
    let product = id_in(&added, "prd_");
    let small = id_on_line(&added, "PASTA-500", "var_");
    let large = id_on_line(&added, "PASTA-1K", "var_");
    let stocked = cli
        .ok("ann", &["product", "stock", &small, "--add", "2"])
        .await;
    assert!(stocked.contains("12 available"), "{stocked}");
    let refused = cli
        .fails("bea", &["product", "stock", &small, "--set", "99"])
        .await;
    assert!(refused.contains("variant_not_found"), "{refused}");
    let shown = cli.ok("ann", &["shop", "show", &shop]).await;
    assert!(
        shown.contains("owned by you  (you own it)") && shown.contains("staff: none yet"),
        "{shown}"
    );

    // Bea finds it, without the shop's stock counts.
    let listed = cli.ok("bea", &["product", "list"]).await;
    assert!(
        listed.contains(&format!(
            "Tajarin [{product}] — Nonna's Pasta (@nonna.pasta) [{shop}]"
        )),
        "{listed}"
    );
    assert!(!listed.contains("reserved"), "{listed}");
    let found = cli.ok("bea", &["product", "search", "egg", "PASTA"]).await;
    assert!(found.contains(&format!("Tajarin [{product}]")), "{found}");
    let none = cli.ok("bea", &["product", "search", "risotto"]).await;
    assert_eq!(none.trim(), "no products found");
    let handle = cli
        .fails("bea", &["product", "list", "--shop", "nonna.pasta"])
        .await;
    assert!(handle.contains("by its id"), "{handle}");

    // The cart: quantities add up, a price change is shown, a line comes out.
    cli.ok("bea", &["cart", "add", &small, "2"]).await;
    cli.ok("bea", &["cart", "add", &large]).await;
    let repriced = cli.ok("ann", &["product", "price", &small, "13.00"]).await;
    assert!(repriced.contains("13.00 CNY"), "{repriced}");
    let cart = cli.ok("bea", &["cart", "add", &small]).await;
    assert!(
        cart.contains("3 × Tajarin (500 g) — Nonna's Pasta (@nonna.pasta)  13.00 CNY each = 39.00 CNY  (was 12.50 CNY when added)"),
        "{cart}"
    );
    let cart = cli.ok("bea", &["cart", "remove", &large]).await;
    assert!(
        !cart.contains("1 kg") && cart.contains("total 39.00 CNY"),
        "{cart}"
    );
    assert!(cart.contains(&format!("--from-cart {shop}")), "{cart}");

    // The order: placed from the cart, paid with the PIN into escrow.
    cli.ok("bea", &["wallet", "pin"]).await;
    cli.ok("bea", &["topup", "100"]).await;
    let (order, placed) = place(&cli, &["--from-cart", &shop]).await;
    assert!(
        placed.contains(&format!(
            "placed order [{order}] with Nonna's Pasta (@nonna.pasta): 3 × Tajarin (500 g) = 39.00 CNY"
        )),
        "{placed}"
    );
    let cart = cli.ok("bea", &["cart"]).await;
    assert!(cart.starts_with("your cart is empty"), "{cart}");
    let paid = cli.run("bea", &["order", "pay", &order]).await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&paid.stdout),
        String::from_utf8_lossy(&paid.stderr),
    );
    assert!(paid.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("idempotency key cli-"), "{stderr}");
    assert!(
        stdout.contains(&format!("paid 39.00 CNY for order [{order}]")),
        "{stdout}"
    );
    assert_eq!(balance_minor(&bea).await, 10_000 - 3_900);

    // The shop's side: the buyer named from the address, never by id
    // (no conversation has made them known to each other).
    let incoming = cli.ok("ann", &["order", "list", "--shop"]).await;
    assert!(
        incoming.contains("paid, not shipped  39.00 CNY  for Bea Rossi, Nonna's Pasta"),
        "{incoming}"
    );
    assert!(!incoming.contains("acct_"), "{incoming}");
    let wrong_side = cli
        .fails(
            "bea",
            &["order", "ship", &order, "--carrier", "X", "--tracking", "1"],
        )
        .await;
    assert!(wrong_side.contains("not_shop_staff"), "{wrong_side}");
    let shipped = cli
        .ok(
            "ann",
            &[
                "order",
                "ship",
                &order,
                "--carrier",
                "Poste",
                "--tracking",
                "RR123IT",
            ],
        )
        .await;
    assert!(
        shipped.contains(&format!(
            "shipped order [{order}] to Bea Rossi by Poste, tracking RR123IT"
        )),
        "{shipped}"
    );
    let confirmed = cli.ok("bea", &["order", "confirm", &order]).await;
    assert!(
        confirmed.contains("arrived: 39.00 CNY went to Nonna's Pasta (@nonna.pasta)"),
        "{confirmed}"
    );

    // A refund after the release: asked by the buyer, approved by the shop.
    let asked = cli
        .ok(
            "bea",
            &[
                "order",
                "refund",
                &order,
                "5",
                "--reason",
                "one box was open",
            ],
        )
        .await;
    assert!(
        asked.contains(&format!("asked Nonna's Pasta (@nonna.pasta) for 5.00 CNY back on order [{order}] (refund request 0)")),
        "{asked}"
    );
    let approved = cli
        .ok("ann", &["order", "refund", "approve", &order, "0"])
        .await;
    assert!(
        approved.contains("5.00 CNY went back to Bea Rossi; refunded in all 5.00 CNY"),
        "{approved}"
    );
    assert_eq!(balance_minor(&bea).await, 10_000 - 3_900 + 500);
    let detail = cli.ok("bea", &["order", "show", &order]).await;
    for expected in [
        "completed  39.00 CNY",
        "placed by you",
        "3 × Tajarin (500 g, PASTA-500) at 13.00 CNY = 39.00 CNY",
        "ship to: Bea Rossi, Via Roma 1, Torino, IT",
        "by Poste, tracking RR123IT",
        "(confirmed by the buyer)",
        "refunded in all: 5.00 CNY",
        "refund request 0: 5.00 CNY \"one box was open\"",
    ] {
        assert!(detail.contains(expected), "{expected}: {detail}");
    }
    // The order's conversation, opened from either side: one conversation,
    // where they talk as anywhere.
    let opened = cli.ok("bea", &["order", "chat", &order]).await;
    let chat = opened
        .split('[')
        .nth(2)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| panic!("a conversation id: {opened}"))
        .to_owned();
    assert!(
        cli.ok("ann", &["order", "chat", &order])
            .await
            .contains(&format!("[{chat}]"))
    );
    cli.ok("ann", &["send", &chat, "Sorry about the box"]).await;
    let talk = cli.ok("bea", &["history", &chat]).await;
    assert!(talk.contains("Sorry about the box"), "{talk}");
    let mine = cli.ok("bea", &["order", "list"]).await;
    assert!(
        mine.contains("completed  39.00 CNY, 5.00 CNY refunded  from Nonna's Pasta"),
        "{mine}"
    );

    // A second order, paid twice with one key (once is taken), then
    // cancelled: everything comes back.
    let (second, _) = place(&cli, &[&shop, &format!("{large}:2")]).await;
    for _ in 0..2 {
        cli.ok(
            "bea",
            &[
                "order",
                "pay",
                &second,
                "--idempotency-key",
                "cli-shop-pay-1",
            ],
        )
        .await;
    }
    assert_eq!(balance_minor(&bea).await, 10_000 - 3_900 + 500 - 4_400);
    let waiting = cli.ok("bea", &["order", "list", "--status", "paid"]).await;
    assert!(waiting.contains(&format!("[{second}]")) && !waiting.contains(&format!("[{order}]")));
    let cancelled = cli.ok("bea", &["order", "cancel", &second]).await;
    assert!(
        cancelled.contains("44.00 CNY went back to you and its stock was released"),
        "{cancelled}"
    );
    assert_eq!(balance_minor(&bea).await, 10_000 - 3_900 + 500);

    // Staff: a contact of the owner's, who then sees the shop's orders.
    let named = cli.ok("ann", &["shop", "staff", "add", &shop, "cat"]).await;
    assert!(
        named.contains("Cat Wu (@cat) is now staff of Nonna's Pasta"),
        "{named}"
    );
    let staff_view = cli
        .ok(
            "cat",
            &["order", "list", "--shop", &shop, "--status", "completed"],
        )
        .await;
    assert!(staff_view.contains(&format!("[{order}]")), "{staff_view}");
    let shown = cli.ok("ann", &["shop", "show", &shop]).await;
    assert!(shown.contains("staff: Cat Wu (@cat)"), "{shown}");
    let mine = cli.ok("cat", &["shop", "list"]).await;
    assert!(
        mine.contains(&format!("Nonna's Pasta (@nonna.pasta) [{shop}]  staff")),
        "{mine}"
    );
    let owned = cli.ok("ann", &["shop", "list"]).await;
    assert!(owned.contains(&format!("[{shop}]  owner")), "{owned}");
    let removed = cli
        .ok("ann", &["shop", "staff", "remove", &shop, "cat"])
        .await;
    assert!(
        removed.contains("Cat Wu (@cat) is no longer staff"),
        "{removed}"
    );
    let gone = cli.fails("cat", &["order", "list", "--shop", &shop]).await;
    assert!(gone.contains("shop_not_found"), "{gone}");
    let none = cli.ok("cat", &["shop", "list"]).await;
    assert!(none.contains("You own no shop"), "{none}");

    assert_ledger_sound(&app);
    app.shut_down().await;
}
