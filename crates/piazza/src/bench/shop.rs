//! `piazza bench shop`: orders placed and paid per second, on one hot
//! variant and on a wide catalog (10,000 variants by default), measured
//! in the store in-process (`engine`) and end to end over HTTP (`http`),
//! each followed by the checks that nothing was oversold and no money
//! appeared or vanished.
//!
//! One operation is an order of one unit placed (its stock reserved in
//! the order's transaction) and then paid (the total moved from the
//! buyer's wallet into the order's escrow), each a durable write: an
//! answer comes only after its commit. Afterwards every variant must hold
//! exactly its initial stock as available + reserved + sold, its reserved
//! units must be the orders placed on it, and the buyers' wallets plus
//! the escrows must equal the top-ups; then `admin ledger-check` re-adds
//! every posting.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use piazza_api::{CreateProduct, CreateShop, NewVariant, OrderItemRequest, PlaceOrder};
use piazza_client::{Client, IdempotencyKey};
use piazza_core::Core;
use piazza_core::shops::{
    NewProduct, NewShop, NewVariant as CoreVariant, OrderAction, PlaceOrder as CorePlace,
};
use piazza_domain::money::{AmountMinor, Currency};
use piazza_domain::order::OrderPolicy;
use piazza_domain::shop::{
    Description, Handle, ProductTitle, ShippingAddress, ShopName, Sku, VariantName,
};
use piazza_domain::store::{IdempotencyKey as StoreKey, Idempotent, PinCheck};
use piazza_domain::{AccountId, DisplayName, ProductId, ShopId, StoreError, Username, VariantId};

use super::drive::{Keys, Outcome, Plan, Tally, drive_all, report_phase};
use super::ledger::{TOP_UP_MINOR, check_ledger, engine_accounts, open_engines};
use super::money;
use super::report::Report;
use super::server::Server;
use super::setup;

#[derive(clap::Args, Debug)]
pub struct ShopArgs {
    /// Concurrent buyers in the store in-process (engine phase)
    #[arg(long, default_value_t = 256)]
    pub engine_tasks: usize,
    /// Concurrent buyers over HTTP, each with its own account
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Variants of the wide catalog (100 to a product)
    #[arg(long, default_value_t = 10_000)]
    pub variants: usize,
    /// How long to measure each phase and catalog, after its warm-up
    #[arg(long, default_value_t = 10)]
    pub duration_s: u64,
    /// Orders before measuring starts, in each phase and catalog
    #[arg(long, default_value_t = 2)]
    pub warmup_s: u64,
    /// Which measurements to make
    #[arg(long, value_enum, default_value_t = super::ledger::Phases::Both)]
    pub phases: super::ledger::Phases,
}

/// Every variant's price: the smallest, so a top-up lasts.
const PRICE_MINOR: i64 = 1;
/// Variants to a product in the wide catalog (the most a product has).
const VARIANTS_PER_PRODUCT: usize = 100;
/// Each variant's initial stock: more than any run orders.
const STOCK: i64 = 100_000_000;
const VARIANTS_MAX: usize = 1_000_000;
const BUYERS_MAX: usize = 20_000;

/// Which variants the orders go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Catalog {
    /// One variant, every order on its row.
    Hot,
    /// `--variants` variants, each order on one chosen by its number.
    Wide,
}

impl Catalog {
    fn name(self) -> &'static str {
        match self {
            Catalog::Hot => "hot",
            Catalog::Wide => "wide",
        }
    }

    fn variants(self, args: &ShopArgs) -> usize {
        match self {
            Catalog::Hot => 1,
            Catalog::Wide => args.variants,
        }
    }
}

/// The variant buyer `index`'s `number`th order goes to: spread so that
/// concurrent buyers hit different rows.
fn pick(variants: usize, index: usize, number: u64) -> usize {
    let spread = (index as u64)
        .wrapping_mul(7_919)
        .wrapping_add(number.wrapping_mul(104_729));
    (spread % variants as u64) as usize
}

pub async fn run(
    server: &mut Server,
    args: &ShopArgs,
    database_url: Option<String>,
) -> anyhow::Result<Report> {
    validate(args)?;
    let mut report = Report::new("shop");
    report.count(
        "variants",
        "variants of the wide catalog",
        args.variants as u64,
        "",
    );
    report.count(
        "duration_s",
        "measured for, per phase and catalog",
        args.duration_s,
        "s",
    );
    if args.phases.engine() {
        engine_phase(args, database_url.as_deref(), &mut report).await?;
    }
    if args.phases.http() {
        http_phase(server, args, database_url.as_deref(), &mut report).await?;
    }
    Ok(report)
}

fn validate(args: &ShopArgs) -> anyhow::Result<()> {
    if !(1..=BUYERS_MAX).contains(&args.engine_tasks)
        || !(1..=BUYERS_MAX).contains(&args.connections)
    {
        bail!("--engine-tasks and --connections must be from 1 to {BUYERS_MAX}");
    }
    if !(1..=VARIANTS_MAX).contains(&args.variants) {
        bail!("--variants must be from 1 to {VARIANTS_MAX}");
    }
    if args.duration_s == 0 {
        bail!("--duration-s must be at least 1");
    }
    Ok(())
}

fn keys(phase: &'static str, catalog: Catalog) -> Keys {
    // The report's keys are static: one set per phase and catalog.
    macro_rules! keyset {
        ($p:literal, $c:literal) => {
            Keys {
                unit: "orders",
                rate: "orders placed and paid/s",
                senders: (
                    concat!($p, "_", $c, "_buyers"),
                    concat!($p, " ", $c, ": buyers"),
                ),
                done: (
                    concat!($p, "_", $c, "_orders"),
                    concat!($p, " ", $c, ": orders placed and paid"),
                ),
                measured: (
                    concat!($p, "_", $c, "_measured"),
                    concat!($p, " ", $c, ": of those, measured"),
                ),
                window: (
                    concat!($p, "_", $c, "_window_s"),
                    concat!($p, " ", $c, ": measured window"),
                ),
                throughput: (
                    concat!($p, "_", $c, "_orders_per_s"),
                    concat!($p, " ", $c, ": orders placed and paid per second"),
                ),
                p50: (
                    concat!($p, "_", $c, "_p50_ms"),
                    concat!($p, " ", $c, ": place + pay p50"),
                ),
                p99: (
                    concat!($p, "_", $c, "_p99_ms"),
                    concat!($p, " ", $c, ": place + pay p99"),
                ),
                p999: (
                    concat!($p, "_", $c, "_p999_ms"),
                    concat!($p, " ", $c, ": place + pay p99.9"),
                ),
                max: (
                    concat!($p, "_", $c, "_max_ms"),
                    concat!($p, " ", $c, ": place + pay max"),
                ),
                refused: (
                    concat!($p, "_", $c, "_refused"),
                    concat!($p, " ", $c, ": refused"),
                ),
                unknown: (
                    concat!($p, "_", $c, "_unanswered"),
                    concat!($p, " ", $c, ": without a definite answer"),
                ),
            }
        };
    }
    match (phase, catalog) {
        ("engine", Catalog::Hot) => keyset!("engine", "hot"),
        ("engine", Catalog::Wide) => keyset!("engine", "wide"),
        (_, Catalog::Hot) => keyset!("http", "hot"),
        (_, Catalog::Wide) => keyset!("http", "wide"),
    }
}

// ------------------------------------------------------------------ engine

fn address() -> anyhow::Result<ShippingAddress> {
    Ok(ShippingAddress::parse(&ShippingAddress {
        name: "Bench Buyer".into(),
        line1: "Via Roma 1".into(),
        city: "Torino".into(),
        country: "IT".into(),
        ..ShippingAddress::default()
    })?)
}

/// A shop of a new account with `variants` variants, 100 to a product.
async fn engine_shop(
    store: &Arc<Core>,
    tag: &str,
    variants: usize,
) -> anyhow::Result<(ShopId, Vec<(ProductId, Vec<VariantId>)>)> {
    let username = Username::parse(&format!("shop{tag}"))?;
    let owner = store
        .create_account(
            username.clone(),
            DisplayName::from_username(&username),
            "unused".into(),
        )
        .await?
        .account_id;
    let shop = store
        .create_shop(
            owner,
            NewShop {
                handle: Handle::parse(&format!("bench.{tag}"))?,
                name: ShopName::parse("Bench shop")?,
                description: Description::parse("")?,
                logo: None,
            },
        )
        .await?;
    let mut products = Vec::new();
    for first in (0..variants).step_by(VARIANTS_PER_PRODUCT) {
        let count = VARIANTS_PER_PRODUCT.min(variants - first);
        let new = NewProduct {
            title: ProductTitle::parse(&format!("Product {first}"))?,
            description: Description::parse("")?,
            media: Vec::new(),
            variants: (first..first + count)
                .map(|number| {
                    Ok(CoreVariant {
                        sku: Sku::parse(&format!("SKU-{number}"))?,
                        name: VariantName::parse(&format!("Variant {number}"))?,
                        price: AmountMinor::positive(PRICE_MINOR)?,
                        stock: STOCK,
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        };
        let (product, made) = store.add_product(owner, shop, new).await?;
        products.push((product, made.iter().map(|v| v.variant_id).collect()));
    }
    Ok((shop, products))
}

/// Both catalogs in one store, by the same buyers; then the money and
/// the ledger over both.
async fn engine_phase(
    args: &ShopArgs,
    database_url: Option<&str>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let directory = tempfile::Builder::new()
        .prefix("piazza-bench-shop-")
        .tempdir()
        .context("cannot create a temporary directory for the store")?;
    let stores = open_engines(1, database_url, directory.path()).await?;
    let store = Arc::clone(&stores[0]);
    let buyers = Arc::new(engine_accounts(&store, args.engine_tasks).await?);
    let mut done = Tally::new();
    for catalog in [Catalog::Hot, Catalog::Wide] {
        let tally = engine_catalog(args, catalog, &store, &buyers, report).await?;
        done.add(&tally);
    }
    check_money(report, &store, &buyers, &done).await?;
    for store in &stores {
        store.shut_down();
    }
    drop((store, stores));
    let key = ("engine_ledger_check", "engine, both catalogs: ledger-check");
    check_ledger(report, key, directory.path(), database_url);
    Ok(())
}

/// One catalog's orders in the store, and its stock checked.
async fn engine_catalog(
    args: &ShopArgs,
    catalog: Catalog,
    store: &Arc<Core>,
    buyers: &Arc<Vec<AccountId>>,
    report: &mut Report,
) -> anyhow::Result<Tally> {
    let tag = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
    let (shop, products) = engine_shop(store, &tag, catalog.variants(args)).await?;
    let variants: Arc<Vec<VariantId>> =
        Arc::new(products.iter().flat_map(|(_, v)| v.clone()).collect());
    let placed = Arc::new(AtomicU64::new(0));

    let plan = Arc::new(Plan::new(args.warmup_s, args.duration_s, 0));
    let (driven, shipping) = (Arc::clone(store), address()?);
    let (chosen, counted) = (Arc::clone(&variants), Arc::clone(&placed));
    let buyers_of = Arc::clone(buyers);
    let tally = drive_all(
        "orders in the store",
        &plan,
        args.engine_tasks,
        move |index, number| {
            let (store, variants, placed) = (
                Arc::clone(&driven),
                Arc::clone(&chosen),
                Arc::clone(&counted),
            );
            let (buyer, shipping) = (buyers_of[index], shipping.clone());
            async move {
                let variant = variants[pick(variants.len(), index, number)];
                let outcome = engine_order(
                    &store,
                    buyer,
                    shop,
                    variant,
                    shipping,
                    (catalog, index, number),
                )
                .await;
                if !matches!(outcome, Outcome::Refused(ref code) if code.starts_with("place")) {
                    placed.fetch_add(1, Ordering::Relaxed);
                }
                outcome
            }
        },
    )
    .await?;
    let keys = keys("engine", catalog);
    report_phase(report, &keys, args.engine_tasks, &plan, &tally);
    check_stock(
        report,
        store,
        catalog,
        &products,
        placed.load(Ordering::Relaxed),
        "engine",
    )
    .await?;
    Ok(tally)
}

/// One order placed and paid in the store; a refusal says which step.
async fn engine_order(
    store: &Core,
    buyer: AccountId,
    shop: ShopId,
    variant: VariantId,
    shipping: ShippingAddress,
    (catalog, index, number): (Catalog, usize, u64),
) -> Outcome {
    // The same buyers order from both catalogs: a key of the first would
    // replay its answer in the second.
    let key = |step: &str| {
        let key = format!("{step}-{}-{index}-{number}", catalog.name());
        StoreKey::parse(&key).map(|key| Idempotent {
            key,
            request_hash: [0; 32],
        })
    };
    let (Some(place_key), Some(pay_key)) = (key("place"), key("pay")) else {
        return Outcome::Refused("place: bad idempotency key".into());
    };
    let order = CorePlace {
        shop,
        items: vec![(variant, 1)],
        shipping,
        currency: Currency::CNY,
    };
    let policy = OrderPolicy::default();
    let placed = match store.place_order(buyer, place_key, order, policy).await {
        Ok(answer) => answer.view.stored.order_id,
        Err(error) => return failed("place", error),
    };
    let pay = OrderAction::Pay(PinCheck::Verified);
    match store
        .act_on_order(buyer, Some(pay_key), placed, pay, policy)
        .await
    {
        Ok(_) => Outcome::Done,
        Err(error) => failed("pay", error),
    }
}

fn failed(step: &str, error: StoreError) -> Outcome {
    match error {
        StoreError::Rejected(rejection) => Outcome::Refused(format!("{step}: {rejection:?}")),
        other => Outcome::Unknown(format!("{step}: {other}")),
    }
}

/// Every variant holds its initial stock as available + reserved + sold,
/// and the units reserved are the orders placed: 0 oversold.
async fn check_stock(
    report: &mut Report,
    store: &Core,
    catalog: Catalog,
    products: &[(ProductId, Vec<VariantId>)],
    placed: u64,
    phase: &'static str,
) -> anyhow::Result<()> {
    let (mut reserved, mut broken) = (0i64, 0u64);
    for (product, _) in products {
        let view = store.product_view(None, *product).await?;
        for variant in &view.variants {
            reserved += variant.reserved;
            let whole = variant.available + variant.reserved + variant.sold == STOCK;
            if !whole || variant.available < 0 {
                broken += 1;
            }
        }
    }
    let verdict = if broken == 0 && u64::try_from(reserved) == Ok(placed) {
        format!("ok: 0 oversold; {reserved} units reserved by {placed} orders")
    } else {
        let text = format!(
            "OVERSOLD OR LOST: {broken} variants off, {reserved} reserved for {placed} orders"
        );
        report.fail(format!("{phase} {}: {text}", catalog.name()));
        text
    };
    let key = match (phase, catalog) {
        ("engine", Catalog::Hot) => ("engine_hot_stock", "engine hot: stock"),
        ("engine", Catalog::Wide) => ("engine_wide_stock", "engine wide: stock"),
        (_, Catalog::Hot) => ("http_hot_stock", "HTTP hot: stock"),
        (_, Catalog::Wide) => ("http_wide_stock", "HTTP wide: stock"),
    };
    report.text(key.0, key.1, verdict);
    Ok(())
}

/// The buyers' wallets plus what the paid orders hold in escrow, against
/// the top-ups.
async fn check_money(
    report: &mut Report,
    store: &Core,
    buyers: &[AccountId],
    tally: &Tally,
) -> anyhow::Result<()> {
    let mut wallets = 0i64;
    for buyer in buyers {
        wallets += store.wallet_balance(*buyer, Currency::CNY).await?;
    }
    let key = ("engine_money", "engine, both catalogs: money conserved");
    conserved(report, wallets, buyers.len(), tally, key);
    Ok(())
}

/// The buyers' wallets plus one price per order paid against the
/// top-ups: exact when every call had a definite answer.
fn conserved(
    report: &mut Report,
    wallets: i64,
    buyers: usize,
    tally: &Tally,
    (key, label): (&'static str, &'static str),
) {
    let topped_up = TOP_UP_MINOR.saturating_mul(buyers as i64);
    let held = wallets.saturating_add(PRICE_MINOR.saturating_mul(tally.done as i64));
    let verdict = if held == topped_up {
        "ok: wallets + escrows = top-ups".to_owned()
    } else if tally.unknown > 0 || tally.refused > 0 {
        format!(
            "inexact: {} calls refused or without an answer",
            tally.unknown + tally.refused
        )
    } else {
        let text = format!("MISMATCH: wallets + escrows {held} ≠ top-ups {topped_up}");
        report.fail(format!("{key}: {text}"));
        text
    };
    report.text(key, label, verdict);
}

// -------------------------------------------------------------------- HTTP

/// A shop of a new account over HTTP, with `variants` variants.
async fn http_shop(
    anonymous: &Client,
    variants: usize,
) -> anyhow::Result<(setup::Account, String, Vec<(String, Vec<String>)>)> {
    let owner = setup::create_accounts(anonymous, 1).await?.remove(0);
    let tag = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
    let shop = owner
        .device
        .create_shop(&CreateShop {
            handle: format!("bench.{tag}"),
            name: "Bench shop".into(),
            description: String::new(),
            logo_media_id: None,
        })
        .await?
        .shop_id;
    let mut products = Vec::new();
    for first in (0..variants).step_by(VARIANTS_PER_PRODUCT) {
        let count = VARIANTS_PER_PRODUCT.min(variants - first);
        let product = CreateProduct {
            title: format!("Product {first}"),
            description: String::new(),
            media_ids: Vec::new(),
            variants: (first..first + count)
                .map(|number| NewVariant {
                    sku: format!("SKU-{number}"),
                    name: format!("Variant {number}"),
                    price_minor: PRICE_MINOR,
                    stock: STOCK,
                })
                .collect(),
        };
        let made = owner.device.add_product(&shop, &product).await?;
        products.push((
            made.product_id,
            made.variants.into_iter().map(|v| v.variant_id).collect(),
        ));
    }
    Ok((owner, shop, products))
}

async fn http_phase(
    server: &mut Server,
    args: &ShopArgs,
    database_url: Option<&str>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let anonymous = Client::new(server.base_url());
    let buyers = Arc::new(setup::create_accounts(&anonymous, args.connections).await?);
    stream::iter(buyers.iter())
        .map(|buyer| money::fund(buyer, TOP_UP_MINOR))
        .buffered(32)
        .try_collect::<Vec<()>>()
        .await?;
    let run_tag = format!("{:08x}", rand::random::<u32>());
    let mut done = Tally::new();
    for catalog in [Catalog::Hot, Catalog::Wide] {
        let (owner, shop, products) = http_shop(&anonymous, catalog.variants(args)).await?;
        let variants: Arc<Vec<String>> =
            Arc::new(products.iter().flat_map(|(_, v)| v.clone()).collect());
        let placed = Arc::new(AtomicU64::new(0));
        let plan = Arc::new(Plan::new(args.warmup_s, args.duration_s, 0));
        let (senders, counted, tag) = (
            Arc::clone(&buyers),
            Arc::clone(&placed),
            format!("{run_tag}-{}", catalog.name()),
        );
        let shop_id = shop.clone();
        let tally = drive_all(
            "orders over HTTP",
            &plan,
            args.connections,
            move |index, number| {
                let (senders, variants, placed) = (
                    Arc::clone(&senders),
                    Arc::clone(&variants),
                    Arc::clone(&counted),
                );
                let (tag, shop) = (tag.clone(), shop_id.clone());
                async move {
                    let variant = variants[pick(variants.len(), index, number)].clone();
                    let client = &senders[index].device;
                    let outcome =
                        http_order(client, &shop, variant, &format!("{tag}-{index}-{number}"))
                            .await;
                    if !matches!(outcome, Outcome::Refused(ref code) if code.starts_with("place")) {
                        placed.fetch_add(1, Ordering::Relaxed);
                    }
                    outcome
                }
            },
        )
        .await?;
        server.ensure_alive().await?;
        report_phase(
            report,
            &keys("http", catalog),
            args.connections,
            &plan,
            &tally,
        );
        http_check_stock(
            report,
            &owner,
            catalog,
            &products,
            placed.load(Ordering::Relaxed),
        )
        .await?;
        done.add(&tally);
    }
    let mut wallets = 0i64;
    for buyer in buyers.iter() {
        wallets += money::balance(&buyer.device).await?;
    }
    let key = ("http_money", "HTTP, both catalogs: money conserved");
    conserved(report, wallets, buyers.len(), &done, key);
    match server.stop().await? {
        Some(data_dir) => check_ledger(
            report,
            ("http_ledger_check", "HTTP: ledger-check"),
            &data_dir,
            database_url,
        ),
        None => report.text(
            "http_ledger_check",
            "HTTP: ledger-check",
            "not run: the server is not this run's".to_owned(),
        ),
    }
    Ok(())
}

async fn http_order(client: &Client, shop: &str, variant: String, key: &str) -> Outcome {
    let order = PlaceOrder {
        shop_id: shop.to_owned(),
        items: vec![OrderItemRequest {
            variant_id: variant,
            quantity: 1,
        }],
        shipping_address: piazza_api::ShippingAddress {
            name: "Bench Buyer".into(),
            line1: "Via Roma 1".into(),
            city: "Torino".into(),
            country: "IT".into(),
            ..piazza_api::ShippingAddress::default()
        },
    };
    let (Some(place_key), Some(pay_key)) = (
        IdempotencyKey::parse(&format!("place-{key}")),
        IdempotencyKey::parse(&format!("pay-{key}")),
    ) else {
        return Outcome::Refused("place: bad idempotency key".into());
    };
    let placed = match client.place_order(&order, &place_key).await {
        Ok(placed) => placed.order_id,
        Err(error) => return client_failed("place", &error),
    };
    match client.pay_order(&placed, money::PIN, &pay_key).await {
        Ok(_) => Outcome::Done,
        Err(error) => client_failed("pay", &error),
    }
}

fn client_failed(step: &str, error: &piazza_client::ClientError) -> Outcome {
    match error {
        piazza_client::ClientError::Api { status, problem } if *status < 500 => {
            Outcome::Refused(format!("{step}: {}", problem.code))
        }
        other => Outcome::Unknown(format!("{step}: {other}")),
    }
}

async fn http_check_stock(
    report: &mut Report,
    owner: &setup::Account,
    catalog: Catalog,
    products: &[(String, Vec<String>)],
    placed: u64,
) -> anyhow::Result<()> {
    let (mut reserved, mut broken) = (0i64, 0u64);
    for (product, _) in products {
        for variant in owner.device.product(product).await?.variants {
            let (held, sold) = (variant.reserved.unwrap_or(0), variant.sold.unwrap_or(0));
            reserved += held;
            if variant.available + held + sold != STOCK || variant.available < 0 {
                broken += 1;
            }
        }
    }
    let key = match catalog {
        Catalog::Hot => ("http_hot_stock", "HTTP hot: stock"),
        Catalog::Wide => ("http_wide_stock", "HTTP wide: stock"),
    };
    let verdict = if broken == 0 && u64::try_from(reserved) == Ok(placed) {
        format!("ok: 0 oversold; {reserved} units reserved by {placed} orders")
    } else {
        let text = format!(
            "OVERSOLD OR LOST: {broken} variants off, {reserved} reserved for {placed} orders"
        );
        report.fail(format!("http {}: {text}", catalog.name()));
        text
    };
    report.text(key.0, key.1, verdict);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_stay_inside_the_catalog_and_spread() {
        let picked: std::collections::BTreeSet<usize> =
            (0..64).map(|index| pick(10_000, index, 0)).collect();
        assert!(picked.iter().all(|&variant| variant < 10_000));
        assert!(
            picked.len() > 60,
            "concurrent buyers hit different variants"
        );
        assert_eq!(pick(1, 5, 9), 0);
    }
}
