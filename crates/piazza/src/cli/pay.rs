//! The Piazza Pay commands: `piazza wallet`, `topup`, `withdraw`,
//! `transfer`, `red-packet`, `merchant`, `pay` and `payment-code`.
//!
//! Amounts are typed and shown in major units ("12.34") and converted to
//! the API's minor units with the server's currency, exactly. Every
//! command that moves money sends an `Idempotency-Key`, fresh unless
//! `--idempotency-key` repeats the one an interrupted attempt printed, so
//! retrying after a lost answer never moves the money twice.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use piazza_api::PaymentDone;
use piazza_client::{IdempotencyKey, QrImageFormat, SplitMode};
use piazza_domain::emvco;
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

use super::money::{TypedAmount, format_minor, minor_digits};
use super::payload::{PayloadArgs, PayloadSource};
use super::render::{self, About};
use super::{Cli, Session, find_by_username, password_or_stdin, secret_line};

/// The environment variable scripts pass the payment PIN in.
const PIN_ENV: &str = "PIAZZA_PIN";
/// The one `piazza wallet pin --change` reads the current PIN from.
const OLD_PIN_ENV: &str = "PIAZZA_OLD_PIN";
/// Statement entries `piazza wallet statement` shows by default.
const STATEMENT_LIMIT_DEFAULT: u32 = 20;

// ------------------------------------------------------------ commands

#[derive(clap::Args, Debug)]
pub struct WalletArgs {
    #[command(subcommand)]
    pub command: Option<WalletCommand>,
}

#[derive(clap::Subcommand, Debug)]
pub enum WalletCommand {
    /// Set the six-digit payment PIN (from $PIAZZA_PIN, else a line of
    /// stdin after the password's). With one set already, the password
    /// resets a forgotten PIN: it takes effect after a wait (24 h by
    /// default) during which no money leaves the wallet. --change changes
    /// it at once with the current PIN instead.
    Pin {
        /// The account password (else $PIAZZA_PASSWORD, else one line of stdin)
        #[arg(
            long,
            env = "PIAZZA_PASSWORD",
            hide_env_values = true,
            conflicts_with = "change"
        )]
        password: Option<String>,
        /// Change the PIN with the current one (from $PIAZZA_OLD_PIN, else
        /// a line of stdin before the new one's); also cancels a reset
        /// still waiting
        #[arg(long)]
        change: bool,
    },
    /// Show the latest wallet entries, newest first
    Statement {
        /// How many entries to show (the server allows at most 200)
        #[arg(long, default_value_t = STATEMENT_LIMIT_DEFAULT)]
        limit: u32,
    },
}

/// How a money-moving command names its operation to the server.
#[derive(clap::Args, Debug)]
pub struct KeyOpts {
    /// Retry an interrupted attempt with the key it printed: the server
    /// then moves the money at most once
    #[arg(long, value_parser = parse_key)]
    pub idempotency_key: Option<IdempotencyKey>,
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct TransferArgs {
    #[command(subcommand)]
    pub command: Option<TransferCommand>,
    /// A contact's username or account id
    #[arg(required = true)]
    pub to: Option<String>,
    /// In major units, such as 12.34
    #[arg(required = true, allow_hyphen_values = true, value_parser = TypedAmount::parse)]
    pub amount: Option<TypedAmount>,
    /// A few words the recipient sees
    #[arg(long)]
    pub note: Option<String>,
    #[command(flatten)]
    pub key: KeyOpts,
}

#[derive(clap::Subcommand, Debug)]
pub enum TransferCommand {
    /// Take the money of a transfer sent to you
    Accept { transfer_id: String },
    /// Send a transfer back to its sender
    Decline { transfer_id: String },
    /// Show a transfer you sent or received
    Show { transfer_id: String },
}

#[derive(clap::Subcommand, Debug)]
pub enum RedPacketCommand {
    /// Put a red packet in a conversation for its members to claim
    Send {
        /// A contact's username, a group's title or a conversation id
        conversation: String,
        /// The total, in major units, such as 8.88
        #[arg(allow_hyphen_values = true, value_parser = TypedAmount::parse)]
        total: TypedAmount,
        /// How many shares (1 to 100)
        count: u32,
        /// Every share the same (the total must divide evenly)
        #[arg(long, conflicts_with = "lucky")]
        equal: bool,
        /// Random shares (the default)
        #[arg(long)]
        lucky: bool,
        /// A line the members see with the packet
        #[arg(long)]
        greeting: Option<String>,
        #[command(flatten)]
        key: KeyOpts,
    },
    /// Claim your share of a red packet
    Claim { red_packet_id: String },
    /// Show a red packet and who claimed what
    Show { red_packet_id: String },
}

#[derive(clap::Subcommand, Debug)]
pub enum MerchantCommand {
    /// Open a merchant you own, to be paid by QR code
    Create {
        /// At most 25 characters
        name: String,
        /// At most 15 characters
        #[arg(long)]
        city: Option<String>,
    },
    /// Show a merchant you own and its balance
    Show { merchant_id: String },
    /// Print a merchant's code and draw it; with --amount the code asks
    /// for that amount
    Qr {
        merchant_id: String,
        /// In major units; without it the buyer enters the amount
        #[arg(long, allow_hyphen_values = true, value_parser = TypedAmount::parse)]
        amount: Option<TypedAmount>,
        /// Also write the code as an SVG image to this file
        #[arg(long)]
        svg: Option<PathBuf>,
        /// Also write the code as a PNG image to this file
        #[arg(long)]
        png: Option<PathBuf>,
        /// Also write the payload's text to this file, for
        /// `piazza pay --from-file FILE`: no shell quoting to get wrong
        #[arg(long, value_name = "FILE")]
        payload_file: Option<PathBuf>,
    },
    /// Charge a buyer's payment code (from `piazza payment-code`)
    Collect {
        merchant_id: String,
        payment_code: String,
        /// In major units, such as 12.34
        #[arg(allow_hyphen_values = true, value_parser = TypedAmount::parse)]
        amount: TypedAmount,
        #[command(flatten)]
        key: KeyOpts,
    },
    /// Give (part of) a payment back to the buyer
    Refund {
        payment_id: String,
        /// In major units, such as 12.34
        #[arg(allow_hyphen_values = true, value_parser = TypedAmount::parse)]
        amount: TypedAmount,
        #[command(flatten)]
        key: KeyOpts,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum PaymentCommand {
    /// Show a payment you made or your merchant received
    Show { payment_id: String },
    /// Confirm, with your PIN, a collection above the no-PIN limit
    Confirm { payment_id: String },
    /// Refuse a collection that waits for your confirmation
    Decline { payment_id: String },
}

fn parse_key(text: &str) -> Result<IdempotencyKey, String> {
    IdempotencyKey::parse(text)
        .ok_or_else(|| "an idempotency key is 1 to 255 visible ASCII characters".to_owned())
}

// ------------------------------------------------------------ handlers

/// The server's currency and its decimals, asked once per command: an
/// amount cannot be converted without them.
pub(super) struct Currency {
    pub(super) code: String,
    pub(super) digits: u32,
}

impl Currency {
    pub(super) fn show(&self, minor: i64) -> String {
        format!("{} {}", format_minor(minor, self.digits), self.code)
    }

    pub(super) fn minor(&self, amount: &TypedAmount) -> anyhow::Result<i64> {
        amount.to_minor(self.digits)
    }
}

pub(super) async fn currency(session: &Session) -> anyhow::Result<Currency> {
    let wallet = session
        .client
        .wallet()
        .await
        .map_err(|e| session.explain(e))?;
    let digits = minor_digits(&wallet.currency)?;
    Ok(Currency {
        code: wallet.currency,
        digits,
    })
}

/// The key to send: the one given to retry, else a fresh one. It is
/// printed before the call, so it is known even if the answer never comes.
pub(super) fn key_for(opts: KeyOpts) -> IdempotencyKey {
    let key = opts.idempotency_key.unwrap_or_else(|| {
        IdempotencyKey::parse(&format!("cli-{:032x}", rand::random::<u128>()))
            .expect("a hex key is a valid key")
    });
    eprintln!("idempotency key {key} (if no answer arrives, retry with --idempotency-key {key})");
    key
}

/// The payment PIN from `PIAZZA_PIN`, else one line of standard input
/// (not echoed at a terminal, like the password).
pub(super) fn pin() -> anyhow::Result<String> {
    pin_from(PIN_ENV, "payment PIN")
}

/// A PIN from the environment variable `env`, else one line of standard
/// input prompted as `what`.
fn pin_from(env: &str, what: &str) -> anyhow::Result<String> {
    let pin = match non_empty_env(env) {
        Some(pin) => pin,
        None => secret_line(what)?,
    };
    if pin.len() != 6 || !pin.bytes().all(|byte| byte.is_ascii_digit()) {
        bail!("a payment PIN is exactly six digits: set {env} or type it on standard input");
    }
    Ok(pin)
}

/// The payment PIN from `PIAZZA_PIN`, if it is set.
fn pin_in_env() -> Option<String> {
    non_empty_env(PIN_ENV)
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// Draws `text` as a QR code with two modules per character cell, light
/// on dark so that it scans from a terminal with a dark background.
pub(super) fn draw_qr(text: &str) -> anyhow::Result<String> {
    let code = QrCode::new(text.as_bytes()).context("cannot draw this code")?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .build())
}

pub(super) async fn wallet(cli: &Cli, args: WalletArgs) -> anyhow::Result<()> {
    let session = cli.session()?;
    let client = &session.client;
    match args.command {
        None => {
            let wallet = client.wallet().await.map_err(|e| session.explain(e))?;
            let me = client.me().await.map_err(|e| session.explain(e))?;
            println!(
                "{}: balance {}",
                render::person_label(&me.username, &me.display_name),
                render::money(wallet.balance_minor, &wallet.currency)
            );
        }
        Some(WalletCommand::Pin { password, change }) => {
            set_pin(&session, password, change).await?;
        }
        Some(WalletCommand::Statement { limit }) => statement(&session, limit).await?,
    }
    Ok(())
}

/// `piazza wallet statement`: each entry with whom the money moved, read
/// from the transfer, red packet or payment it belongs to.
async fn statement(session: &Session, limit: u32) -> anyhow::Result<()> {
    let currency = currency(session).await?;
    let page = session
        .client
        .statement_page(None, Some(limit))
        .await
        .map_err(|e| session.explain(e))?;
    if page.entries.is_empty() {
        println!("no wallet entries yet: `piazza topup <amount>` adds money");
    }
    let mut abouts: HashMap<String, About> = HashMap::new();
    for id in page
        .entries
        .iter()
        .filter_map(|entry| entry.about.as_deref())
    {
        if !abouts.contains_key(id)
            && let Some(about) = read_about(session, id).await
        {
            abouts.insert(id.to_owned(), about);
        }
    }
    let mut directory = session.names().await?;
    let people = abouts.values().flat_map(|about| match about {
        About::Transfer(transfer) => vec![transfer.from.as_str(), transfer.to.as_str()],
        About::RedPacket(packet) => vec![packet.sender.as_str()],
        About::Payment(payment) => vec![payment.buyer.as_str()],
    });
    let people: Vec<&str> = people.collect();
    session.name_strangers(&mut directory, people).await;
    for entry in &page.entries {
        let about = entry.about.as_deref().and_then(|id| abouts.get(id));
        println!(
            "{}",
            render::statement_line(entry, about, &currency.code, &directory)
        );
    }
    if page.cursor.is_some() {
        println!("(older entries not shown: raise --limit)");
    }
    Ok(())
}

/// The record a statement entry belongs to, if this account may read it
/// (a refund, say, has no record of its own to read).
async fn read_about(session: &Session, id: &str) -> Option<About> {
    let client = &session.client;
    let (kind, _) = id.split_once('_')?;
    match kind {
        "trf" => client.transfer(id).await.ok().map(About::Transfer),
        "rpk" => client.red_packet(id).await.ok().map(About::RedPacket),
        "pay" => client.payment(id).await.ok().map(About::Payment),
        _ => None,
    }
}

/// `piazza wallet pin`: the first PIN or a reset with the password, or a
/// change with the current PIN.
async fn set_pin(session: &Session, password: Option<String>, change: bool) -> anyhow::Result<()> {
    let client = &session.client;
    let username = &session.saved.username;
    if change {
        let old = pin_from(OLD_PIN_ENV, "current payment PIN")?;
        let new = pin()?;
        client
            .change_pin(&old, &new)
            .await
            .map_err(|e| session.explain(e))?;
        println!(
            "payment PIN changed for {username}; a reset that may have been waiting is cancelled"
        );
        return Ok(());
    }
    let password = password_or_stdin(password)?;
    let pin = pin()?;
    let reset = client
        .set_pin(&pin, &password)
        .await
        .map_err(|e| session.explain(e))?;
    match reset {
        None => println!("payment PIN set for {username}; pass it in {PIN_ENV} to script payments"),
        Some(reset) => println!(
            "payment PIN reset for {username}: the new PIN takes effect at {}, and no money can leave the wallet until then (every device of the account is told; the current PIN cancels it: wallet pin --change)",
            reset.effective_at
        ),
    }
    Ok(())
}

pub(super) async fn top_up(cli: &Cli, amount: TypedAmount, key: KeyOpts) -> anyhow::Result<()> {
    let session = cli.session()?;
    let currency = currency(&session).await?;
    let minor = currency.minor(&amount)?;
    let key = key_for(key);
    let done = session
        .client
        .top_up(&key, minor)
        .await
        .map_err(|e| session.explain(e))?;
    println!(
        "topped up {} ({}); balance {}",
        currency.show(minor),
        done.topup_id,
        currency.show(done.balance_minor)
    );
    Ok(())
}

pub(super) async fn withdraw(cli: &Cli, amount: TypedAmount, key: KeyOpts) -> anyhow::Result<()> {
    let session = cli.session()?;
    let currency = currency(&session).await?;
    let minor = currency.minor(&amount)?;
    let pin = pin()?;
    let key = key_for(key);
    let done = session
        .client
        .withdraw(&key, minor, &pin)
        .await
        .map_err(|e| session.explain(e))?;
    println!(
        "withdrew {} ({}); balance {}",
        currency.show(minor),
        done.withdrawal_id,
        currency.show(done.balance_minor)
    );
    Ok(())
}

pub(super) async fn transfer(cli: &Cli, args: TransferArgs) -> anyhow::Result<()> {
    let session = cli.session()?;
    let client = &session.client;
    let (to, amount) = match (args.command, args.to, args.amount) {
        (Some(TransferCommand::Accept { transfer_id }), ..) => {
            let decided = client
                .accept_transfer(&transfer_id)
                .await
                .map_err(|e| session.explain(e))?;
            let shown = client
                .transfer(&transfer_id)
                .await
                .map_err(|e| session.explain(e))?;
            let mut directory = session.names().await?;
            session
                .name_strangers(&mut directory, [shown.from.as_str()])
                .await;
            println!(
                "{} the transfer of {} from {} ({transfer_id}): it is in your wallet",
                if decided.status == "accepted" {
                    "accepted"
                } else {
                    decided.status.as_str()
                },
                render::money(shown.amount_minor, &shown.currency),
                directory.name(&shown.from)
            );
            return Ok(());
        }
        (Some(TransferCommand::Decline { transfer_id }), ..) => {
            let decided = client
                .decline_transfer(&transfer_id)
                .await
                .map_err(|e| session.explain(e))?;
            let shown = client
                .transfer(&transfer_id)
                .await
                .map_err(|e| session.explain(e))?;
            let mut directory = session.names().await?;
            session
                .name_strangers(&mut directory, [shown.from.as_str()])
                .await;
            println!(
                "{} the transfer of {} from {} ({transfer_id}): the money went back to them",
                decided.status,
                render::money(shown.amount_minor, &shown.currency),
                directory.name(&shown.from)
            );
            return Ok(());
        }
        (Some(TransferCommand::Show { transfer_id }), ..) => {
            let shown = client
                .transfer(&transfer_id)
                .await
                .map_err(|e| session.explain(e))?;
            let mut directory = session.names().await?;
            session
                .name_strangers(&mut directory, [shown.from.as_str(), shown.to.as_str()])
                .await;
            for line in render::transfer_lines(&shown, &directory) {
                println!("{line}");
            }
            return Ok(());
        }
        (None, Some(to), Some(amount)) => (to, amount),
        // clap requires both when there is no subcommand.
        (None, _, _) => bail!("give a recipient and an amount: piazza transfer <to> <amount>"),
    };
    let currency = currency(&session).await?;
    let minor = currency.minor(&amount)?;
    let contacts = session.contacts().await?;
    let contact = find_by_username(&contacts, &to)
        .or_else(|| contacts.iter().find(|contact| contact.account_id == to))
        .ok_or_else(|| anyhow!("{to} is not one of your contacts: see `piazza contacts list`"))?;
    let account_id = contact.account_id.clone();
    let name = render::person_label(&contact.username, &contact.display_name);
    let pin = pin()?;
    let key = key_for(args.key);
    let sent = client
        .send_transfer(&key, &account_id, minor, &pin, args.note.as_deref())
        .await
        .map_err(|e| session.explain(e))?;
    println!(
        "sent {} to {name} (transfer {}): it waits for them to accept",
        currency.show(minor),
        sent.transfer_id
    );
    Ok(())
}

pub(super) async fn red_packet(cli: &Cli, command: RedPacketCommand) -> anyhow::Result<()> {
    let session = cli.session()?;
    let client = &session.client;
    match command {
        RedPacketCommand::Send {
            conversation,
            total,
            count,
            equal,
            lucky: _,
            greeting,
            key,
        } => {
            let currency = currency(&session).await?;
            let minor = currency.minor(&total)?;
            let conversation_id = session.conversation_for(&conversation).await?;
            let mode = if equal {
                SplitMode::Equal
            } else {
                SplitMode::Lucky
            };
            let pin = pin()?;
            let key = key_for(key);
            let sent = client
                .send_red_packet(
                    &key,
                    &conversation_id,
                    minor,
                    count,
                    mode,
                    &pin,
                    greeting.as_deref(),
                )
                .await
                .map_err(|e| session.explain(e))?;
            let directory = session.names().await?;
            println!(
                "sent red packet {} to {}: {} in {count} {} share(s)",
                sent.red_packet_id,
                directory.conversation(&conversation_id),
                currency.show(minor),
                mode.as_str()
            );
        }
        RedPacketCommand::Claim { red_packet_id } => {
            let claimed = client
                .claim_red_packet(&red_packet_id)
                .await
                .map_err(|e| session.explain(e))?;
            let packet = client
                .red_packet(&red_packet_id)
                .await
                .map_err(|e| session.explain(e))?;
            let mut directory = session.names().await?;
            session
                .name_strangers(&mut directory, [packet.sender.as_str()])
                .await;
            println!(
                "claimed {} from the red packet of {} in {} ({red_packet_id})",
                render::money(claimed.amount_minor, &packet.currency),
                directory.who(&packet.sender),
                directory.place(&packet.conversation_id)
            );
        }
        RedPacketCommand::Show { red_packet_id } => {
            let packet = client
                .red_packet(&red_packet_id)
                .await
                .map_err(|e| session.explain(e))?;
            let mut directory = session.names().await?;
            let people = std::iter::once(packet.sender.as_str())
                .chain(packet.claims.iter().map(|claim| claim.account_id.as_str()));
            session.name_strangers(&mut directory, people).await;
            for line in render::red_packet_lines(&packet, &directory) {
                println!("{line}");
            }
        }
    }
    Ok(())
}

pub(super) async fn merchant(cli: &Cli, command: MerchantCommand) -> anyhow::Result<()> {
    let session = cli.session()?;
    let client = &session.client;
    match command {
        MerchantCommand::Create { name, city } => {
            let merchant_id = client
                .create_merchant(&name, city.as_deref())
                .await
                .map_err(|e| session.explain(e))?;
            println!(
                "created merchant \"{}\" ({merchant_id}); \
                 `piazza merchant qr {merchant_id}` shows its code",
                render::shown(&name)
            );
        }
        MerchantCommand::Show { merchant_id } => {
            let merchant = client
                .merchant(&merchant_id)
                .await
                .map_err(|e| session.explain(e))?;
            let currency = currency(&session).await?;
            let city = merchant.city.as_deref().unwrap_or("-");
            println!(
                "merchant {}  \"{}\"  {city}  balance {}",
                merchant.merchant_id,
                render::shown(&merchant.name),
                currency.show(merchant.balance_minor)
            );
        }
        MerchantCommand::Qr {
            merchant_id,
            amount,
            svg,
            png,
            payload_file,
        } => {
            let amount_minor = match &amount {
                Some(amount) => Some(currency(&session).await?.minor(amount)?),
                None => None,
            };
            let payload = client
                .merchant_qr(&merchant_id, amount_minor)
                .await
                .map_err(|e| session.explain(e))?;
            println!("{payload}");
            println!("{}", draw_qr(&payload)?);
            if let Some(path) = payload_file {
                std::fs::write(&path, format!("{payload}\n"))
                    .with_context(|| format!("cannot write {}", path.display()))?;
                println!(
                    "wrote the payload to {0}: `piazza pay --from-file {0}` pays it",
                    path.display()
                );
            }
            for (path, format) in [(svg, QrImageFormat::Svg), (png, QrImageFormat::Png)] {
                let Some(path) = path else { continue };
                let image = client
                    .merchant_qr_image(&merchant_id, amount_minor, format)
                    .await
                    .map_err(|e| session.explain(e))?;
                std::fs::write(&path, image)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                println!("wrote the code to {}", path.display());
            }
        }
        MerchantCommand::Collect {
            merchant_id,
            payment_code,
            amount,
            key,
        } => {
            let currency = currency(&session).await?;
            let minor = currency.minor(&amount)?;
            let key = key_for(key);
            let done = client
                .collect(&key, &merchant_id, &payment_code, minor)
                .await
                .map_err(|e| session.explain(e))?;
            println!("{}", collected_line(&done, &currency.show(minor)));
        }
        MerchantCommand::Refund {
            payment_id,
            amount,
            key,
        } => {
            let currency = currency(&session).await?;
            let minor = currency.minor(&amount)?;
            let key = key_for(key);
            let done = client
                .refund(&key, &payment_id, minor)
                .await
                .map_err(|e| session.explain(e))?;
            println!(
                "refunded {} of payment {payment_id} ({}); refunded in all {}",
                currency.show(minor),
                done.refund_id,
                currency.show(done.refunded_minor)
            );
        }
    }
    Ok(())
}

/// What a collection did: collected, or (above the no-PIN limit, or past
/// the day's count) nothing yet, waiting for the buyer.
fn collected_line(done: &PaymentDone, amount: &str) -> String {
    match done.status.as_str() {
        "completed" => format!(
            "collected {amount} (payment {}, completed)",
            done.payment_id
        ),
        "needs_confirmation" => format!(
            "waiting for confirmation: {amount} (payment {}) moves once the buyer confirms \
             with `piazza payment confirm {}`",
            done.payment_id, done.payment_id
        ),
        other => format!(
            "not collected: {amount} (payment {}, {})",
            done.payment_id,
            render::payment_status(other)
        ),
    }
}

pub(super) async fn pay(
    cli: &Cli,
    payload: &PayloadArgs,
    amount: Option<TypedAmount>,
    key: KeyOpts,
) -> anyhow::Result<()> {
    let (qr_payload, source) = payload.read()?;
    let qr_payload = qr_payload.as_str();
    if source == PayloadSource::Stdin && pin_in_env().is_none() {
        bail!("the code came from standard input, so the PIN cannot: set {PIN_ENV}");
    }
    // Read here only to say whom and how much is paid, and to catch a
    // mistyped code before the PIN is asked; the server checks it again.
    let scanned = emvco::parse(qr_payload.trim())
        .map_err(|error| anyhow!("this is not a merchant's payment code: {error}"))?;
    let session = cli.session()?;
    let currency = currency(&session).await?;
    let asked = amount
        .as_ref()
        .map(|amount| currency.minor(amount))
        .transpose()?;
    let Some(paying) = scanned.amount_minor.or(asked) else {
        bail!("this code carries no amount: pass --amount, such as --amount 12.34");
    };
    let pin = pin()?;
    let key = key_for(key);
    let done = session
        .client
        .pay(&key, qr_payload, asked, &pin)
        .await
        .map_err(|e| session.explain(e))?;
    println!(
        "paid {} to {} (payment {}, {})",
        currency.show(paying),
        render::shown(&scanned.name),
        done.payment_id,
        done.status
    );
    Ok(())
}

pub(super) async fn payment(cli: &Cli, command: PaymentCommand) -> anyhow::Result<()> {
    let session = cli.session()?;
    let client = &session.client;
    let done = match command {
        PaymentCommand::Show { payment_id } => {
            let payment = client
                .payment(&payment_id)
                .await
                .map_err(|e| session.explain(e))?;
            let mut directory = session.names().await?;
            session
                .name_strangers(&mut directory, [payment.buyer.as_str()])
                .await;
            for line in render::payment_lines(&payment, &directory) {
                println!("{line}");
            }
            return Ok(());
        }
        PaymentCommand::Confirm { payment_id } => {
            let pin = pin()?;
            client.confirm_payment(&payment_id, &pin).await
        }
        PaymentCommand::Decline { payment_id } => client.decline_payment(&payment_id).await,
    }
    .map_err(|e| session.explain(e))?;
    println!(
        "payment {}: {}",
        done.payment_id,
        render::payment_status(&done.status)
    );
    Ok(())
}

pub(super) async fn payment_code(cli: &Cli, without_pin: bool) -> anyhow::Result<()> {
    let session = cli.session()?;
    let pin = if without_pin { None } else { Some(pin()?) };
    let issued = session
        .client
        .payment_code(pin.as_deref())
        .await
        .map_err(|e| session.explain(e))?;
    println!("{}", issued.code);
    println!(
        "valid once, until {} (UTC); a merchant collects with it",
        render::short_time(&issued.expires_at)
    );
    println!(
        "{}",
        draw_qr(&issued.code).map_err(|e| anyhow!("cannot draw the payment code: {e}"))?
    );
    Ok(())
}
