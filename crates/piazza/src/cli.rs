//! The client commands of the `piazza` binary (`piazza login`, `piazza
//! send`, `piazza watch`, ...): a thin layer over `piazza-client` that
//! remembers logins in a per-user config file (`cli/config.rs`) and prints
//! readable lines. What a line says about people, conversations, messages
//! and money is made in `cli/render.rs` (and `cli/render/events.rs` for
//! `watch`): display names and usernames, never a bare id. Pay is in
//! `cli/pay.rs`, shops, products, the cart and orders in `cli/shops.rs`,
//! `watch` and its reconnection in `cli/watch.rs`, a scanned code read
//! from an argument, a file or stdin in `cli/payload.rs`.

mod channels;
mod config;
mod contact_extras;
mod groups;
mod messaging;
mod moments;
mod money;
mod pay;
mod payload;
mod profile;
mod render;
mod search;
mod shops;
mod watch;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use piazza_api::{AccountView, ContactView};
use piazza_client::{Client, ClientError};

use config::{Config, SavedAccount};
use render::Directory;

// Where the client commands connect and whom they act as. (A plain comment:
// a doc comment here would become the `about` of whichever command
// flattens these options.)
#[derive(clap::Args, Debug)]
pub struct ClientOpts {
    /// Server base URL, or a cluster's nodes separated by commas (the next
    /// is tried when one cannot be reached)
    #[arg(long, env = "PIAZZA_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Which logged-in account to act as (default: the last one logged in)
    #[arg(long, env = "PIAZZA_ACCOUNT")]
    pub account: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
pub enum ClientCommand {
    /// Create an account on the server
    #[command(subcommand)]
    Account(AccountCommand),
    /// Log in as a new device of an account and remember its token
    Login {
        username: String,
        /// The password (else $PIAZZA_PASSWORD, else one line of stdin)
        #[arg(long, env = "PIAZZA_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// How this device is listed by `piazza devices list` (default: the hostname)
        #[arg(long)]
        device_name: Option<String>,
    },
    /// Revoke this device on the server and forget its login
    Logout,
    /// Show the account you act as
    Whoami,
    /// Ask for, accept, list and remove contacts
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Send a message to a contact (by username) or a group (by title or id)
    Send {
        /// Send this image (PNG, JPEG, WebP or GIF); the text is then its caption
        #[arg(long, value_name = "FILE", conflicts_with = "file")]
        image: Option<PathBuf>,
        /// Send this file, of any type and size, streamed from disk with
        /// progress: a picture as an image, audio as a voice note, video as
        /// a video, anything else as a file with its name
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        #[command(flatten)]
        extras: messaging::Extras,
        /// A contact's username, a group's title or a conversation id
        to: String,
        /// The message; several words are joined with spaces
        #[arg(
            required_unless_present_any = ["image", "file"],
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        text: Vec<String>,
    },
    /// Send a place (latitude and longitude in degrees)
    SendLocation {
        /// A contact's username, a group's title or a conversation id
        to: String,
        #[arg(allow_hyphen_values = true)]
        lat: f64,
        #[arg(allow_hyphen_values = true)]
        lon: f64,
        /// What the place is called
        #[arg(long)]
        name: Option<String>,
    },
    /// Send a contact's card (or your own) for others to add them
    SendCard {
        /// A contact's username, a group's title or a conversation id
        to: String,
        /// The username on the card: yours or a contact's
        username: String,
    },
    /// Forward a message you can see to another conversation
    Forward {
        /// Where the message is: a contact's username, a group's title or a conversation id
        from: String,
        /// The message's number, as `history` shows it (#3: 3)
        seq: i64,
        /// Where it goes
        #[arg(long)]
        to: String,
    },
    /// Mute a conversation on all your devices (`--off` unmutes)
    Mute {
        conversation: String,
        #[arg(long)]
        off: bool,
    },
    /// Pin a conversation to the top of your list (`--off` unpins)
    Pin {
        conversation: String,
        #[arg(long)]
        off: bool,
    },
    /// Archive a conversation out of your main list (`--off` brings it back)
    Archive {
        conversation: String,
        #[arg(long)]
        off: bool,
    },
    /// Create groups and manage their members
    #[command(subcommand)]
    Group(GroupCommand),
    /// Channels (official accounts): create, find, follow, publish, read the feed
    #[command(subcommand)]
    Channel(channels::ChannelCommand),
    /// Recall one of your messages (within two minutes of sending it), or,
    /// as a group's owner, anyone's in the group (within a day): every
    /// member then sees it as recalled
    Recall {
        /// A contact's username, a group's title or a conversation id
        conversation: String,
        /// The message's number, as `history` shows it (#3: 3)
        seq: i64,
    },
    /// Delete a message for yourself: it leaves your history on all your
    /// devices and stays for everyone else
    Delete {
        /// A contact's username, a group's title or a conversation id
        conversation: String,
        /// The message's number, as `history` shows it (#3: 3)
        seq: i64,
    },
    /// React to a message with an emoji (`--remove` takes it back)
    React {
        /// A contact's username, a group's title or a conversation id
        conversation: String,
        /// The message's number, as `history` shows it (#3: 3)
        seq: i64,
        /// One emoji, such as 👍
        emoji: String,
        /// Take the reaction back instead
        #[arg(long)]
        remove: bool,
    },
    /// List your conversations with their unread counts
    Conversations,
    /// Search your messages (or, with --contacts, your contacts); what
    /// matched is shown in «»
    Search(search::SearchArgs),
    /// Show the latest messages with a contact or in a group, oldest first, and mark them read
    History {
        /// A contact's username, a group's title or a conversation id
        with: String,
        /// How many messages to show (the server allows at most 200)
        #[arg(long, default_value_t = HISTORY_LIMIT_DEFAULT)]
        limit: u32,
    },
    /// Mark a conversation read up to a message's seq (`history` marks
    /// what it shows read by itself)
    Read {
        /// A contact's username, a group's title or a conversation id
        conversation: String,
        seq: i64,
    },
    /// Print events as they happen, resuming where the last watch stopped
    Watch,
    /// List or revoke the devices logged in to your account
    #[command(subcommand)]
    Devices(DevicesCommand),
    /// Approve a QR log-in shown by a browser: it becomes a new device of
    /// your account
    ApproveLogin {
        /// The text of the scanned QR code (`piazza-login:<id>:<code>`)
        #[command(flatten)]
        payload: payload::PayloadArgs,
        /// Approve without asking (the request's browser, address and time
        /// are still printed); else a line of standard input must say yes
        #[arg(long)]
        yes: bool,
    },
    /// Show a profile (yours, or someone's by username), or change yours
    Profile(profile::ProfileArgs),
    /// Change your password
    #[command(subcommand)]
    Password(profile::PasswordCommand),
    /// Take everything your account holds away as one zip: your profile,
    /// contacts, every event of your history (every conversation's
    /// messages you can see), your moments, orders, wallet statement and
    /// your messages' media; its README.txt explains the files
    Export {
        /// Where to write the zip (it must not exist)
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Delete your account: at once every device of yours is logged out
    /// and everyone sees "Deleted account"; log in with your password
    /// within the grace period (7 days) to get it all back, else it is
    /// erased. Your wallet must be empty.
    DeleteAccount {
        /// The password (else $PIAZZA_PASSWORD, else one line of stdin)
        #[arg(long, env = "PIAZZA_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Say you mean it (required)
        #[arg(long)]
        yes: bool,
    },
    /// Show your wallet's balance; set the payment PIN; list the statement
    Wallet(pay::WalletArgs),
    /// Add money to your wallet through the server's payment gateway
    Topup {
        /// In major units, such as 12.34
        #[arg(allow_hyphen_values = true, value_parser = money::TypedAmount::parse)]
        amount: money::TypedAmount,
        #[command(flatten)]
        key: pay::KeyOpts,
    },
    /// Take money out of your wallet (needs the payment PIN)
    Withdraw {
        /// In major units, such as 12.34
        #[arg(allow_hyphen_values = true, value_parser = money::TypedAmount::parse)]
        amount: money::TypedAmount,
        #[command(flatten)]
        key: pay::KeyOpts,
    },
    /// Send money to a contact, or accept, decline or show a transfer
    Transfer(pay::TransferArgs),
    /// Send, claim and show red packets
    #[command(subcommand)]
    RedPacket(pay::RedPacketCommand),
    /// Open merchants, show their QR codes, collect and refund payments
    #[command(subcommand)]
    Merchant(pay::MerchantCommand),
    /// Pay a merchant whose QR code you scanned (needs the payment PIN)
    Pay {
        /// The text of the scanned code: as an argument, `-` for standard
        /// input, or --from-file FILE (safe whatever quotes the shop's name has)
        #[command(flatten)]
        payload: payload::PayloadArgs,
        /// In major units; needed when the code carries no amount
        #[arg(long, allow_hyphen_values = true, value_parser = money::TypedAmount::parse)]
        amount: Option<money::TypedAmount>,
        #[command(flatten)]
        key: pay::KeyOpts,
    },
    /// Show a one-use code for a merchant to collect a payment with; needs
    /// the payment PIN (from $PIAZZA_PIN, else a line of stdin)
    PaymentCode {
        /// Leave the PIN out: works within a few minutes of this device
        /// entering it
        #[arg(long)]
        no_pin: bool,
    },
    /// Show a payment; confirm or decline a collection that waits for you
    #[command(subcommand)]
    Payment(pay::PaymentCommand),
    /// Post to Moments, read your feed, like and comment
    #[command(subcommand)]
    Moments(moments::MomentsCommand),
    /// Open a shop, show one, name its staff
    #[command(subcommand)]
    Shop(shops::ShopCommand),
    /// Add products with their variants, list and search them, change
    /// stock and prices
    #[command(subcommand)]
    Product(shops::ProductCommand),
    /// Show your cart; add and remove variants
    Cart(shops::CartArgs),
    /// Place, pay, ship, confirm, cancel and refund orders; list and show them
    #[command(subcommand)]
    Order(shops::OrderCommand),
}

#[derive(clap::Subcommand, Debug)]
pub enum AccountCommand {
    /// Create an account; then `piazza login` to use it
    Create {
        username: String,
        /// The name others see (default: the username)
        #[arg(long)]
        display_name: Option<String>,
        /// The password, at least 8 characters (else $PIAZZA_PASSWORD, else one line of stdin)
        #[arg(long, env = "PIAZZA_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum ContactsCommand {
    /// Ask someone to become a contact
    Add {
        username: String,
        /// A few words to go with the request
        #[arg(long)]
        greeting: Option<String>,
    },
    /// List the contact requests waiting for your answer, and yours
    /// waiting for others'
    Requests,
    /// Accept a contact request
    Accept {
        /// The request's id, or the username of who sent it
        request: String,
    },
    /// Decline a contact request (its sender is not told)
    Decline {
        /// The request's id, or the username of who sent it
        request: String,
    },
    /// List your contacts
    List,
    /// Remove a contact
    Remove {
        /// The contact's username or account id
        contact: String,
    },
    /// Block someone you know: no requests or direct messages between you
    /// either way, no presence; groups still flow
    Block {
        /// Their username (a contact, someone in your groups, or who asked you)
        username: String,
    },
    /// Unblock someone
    Unblock {
        /// Their username, as `contacts blocked` lists it
        username: String,
    },
    /// List whom you blocked
    Blocked,
    /// Which contacts are online now, and when the others were last seen
    Presence,
    /// Give a contact your own name for them, which only you see (an
    /// empty one clears it)
    Remark {
        /// The contact's username or account id
        contact: String,
        /// Your name for them, up to 64 characters
        remark: String,
    },
    /// Show your contact code: whoever scans it can ask to be your contact
    Code {
        /// Revoke the code you have and make a new one
        #[arg(long)]
        reset: bool,
    },
    /// Ask the owner of a contact code (`piazza-contact:…`) to be a contact
    AddByCode {
        /// The scanned or pasted code
        payload: String,
        /// A few words to go with the request
        #[arg(long)]
        greeting: Option<String>,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum GroupCommand {
    /// Create a group you own with some of your contacts
    Create {
        title: String,
        /// Contacts' usernames
        #[arg(required = true)]
        members: Vec<String>,
    },
    /// Add a contact to a group you own
    Add {
        conversation_id: String,
        username: String,
    },
    /// Remove a member (the owner; admins remove plain members), or leave with your own username
    Remove {
        conversation_id: String,
        /// A username, or the account id of a member who is not your contact
        username: String,
    },
    #[command(flatten)]
    Admin(groups::GroupAdminCommand),
}

#[derive(clap::Subcommand, Debug)]
pub enum DevicesCommand {
    /// List the devices logged in to your account
    List,
    /// Revoke a device: its token stops working at once
    Revoke {
        /// The device's id, or its name when no other device has it
        device: String,
    },
}

/// Runs one client command to completion.
pub async fn run(opts: ClientOpts, command: ClientCommand) -> anyhow::Result<()> {
    let cli = Cli {
        server: opts.server.trim_end_matches('/').to_owned(),
        account: opts.account,
        config_path: Config::default_path()?,
    };
    match command {
        ClientCommand::Account(AccountCommand::Create {
            username,
            display_name,
            password,
        }) => create_account(&cli, &username, display_name.as_deref(), password).await,
        ClientCommand::Login {
            username,
            password,
            device_name,
        } => login(&cli, &username, password, device_name).await,
        ClientCommand::Logout => logout(&cli).await,
        ClientCommand::Whoami => whoami(&cli).await,
        ClientCommand::Contacts(command) => contacts(&cli, command).await,
        ClientCommand::Send {
            to,
            text,
            image,
            file,
            extras,
        } => {
            let attached = match (image, file) {
                (Some(image), _) => Some(Attached::Image(image)),
                (None, Some(file)) => Some(Attached::File(file)),
                (None, None) => None,
            };
            send(&cli, &to, &text.join(" "), attached, &extras).await
        }
        ClientCommand::SendLocation { to, lat, lon, name } => {
            messaging::send_location(&cli, &to, (lat, lon), name).await
        }
        ClientCommand::SendCard { to, username } => {
            messaging::send_card(&cli, &to, &username).await
        }
        ClientCommand::Forward { from, seq, to } => messaging::forward(&cli, &from, seq, &to).await,
        ClientCommand::Mute { conversation, off } => {
            messaging::change(&cli, messaging::Setting::Mute, &conversation, off).await
        }
        ClientCommand::Pin { conversation, off } => {
            messaging::change(&cli, messaging::Setting::Pin, &conversation, off).await
        }
        ClientCommand::Archive { conversation, off } => {
            messaging::change(&cli, messaging::Setting::Archive, &conversation, off).await
        }
        ClientCommand::Group(command) => group(&cli, command).await,
        ClientCommand::Channel(command) => channels::run(&cli.session()?, command).await,
        ClientCommand::Conversations => conversations(&cli).await,
        ClientCommand::Search(args) => search::run(&cli.session()?, args).await,
        ClientCommand::History { with, limit } => history(&cli, &with, limit).await,
        ClientCommand::Read { conversation, seq } => read(&cli, &conversation, seq).await,
        ClientCommand::Recall { conversation, seq } => recall(&cli, &conversation, seq).await,
        ClientCommand::Delete { conversation, seq } => delete(&cli, &conversation, seq).await,
        ClientCommand::React {
            conversation,
            seq,
            emoji,
            remove,
        } => react(&cli, &conversation, seq, &emoji, remove).await,
        ClientCommand::Watch => watch::watch(&cli).await,
        ClientCommand::Devices(command) => devices(&cli, command).await,
        ClientCommand::ApproveLogin { payload, yes } => approve_login(&cli, &payload, yes).await,
        ClientCommand::Profile(args) => profile::profile(&cli, args).await,
        ClientCommand::Password(command) => profile::password(&cli, command).await,
        ClientCommand::Export { to } => profile::export(&cli, &to).await,
        ClientCommand::DeleteAccount { password, yes } => {
            profile::delete_account(&cli, password, yes).await
        }
        ClientCommand::Wallet(args) => pay::wallet(&cli, args).await,
        ClientCommand::Topup { amount, key } => pay::top_up(&cli, amount, key).await,
        ClientCommand::Withdraw { amount, key } => pay::withdraw(&cli, amount, key).await,
        ClientCommand::Transfer(args) => pay::transfer(&cli, args).await,
        ClientCommand::RedPacket(command) => pay::red_packet(&cli, command).await,
        ClientCommand::Merchant(command) => pay::merchant(&cli, command).await,
        ClientCommand::Pay {
            payload,
            amount,
            key,
        } => pay::pay(&cli, &payload, amount, key).await,
        ClientCommand::PaymentCode { no_pin } => pay::payment_code(&cli, no_pin).await,
        ClientCommand::Payment(command) => pay::payment(&cli, command).await,
        ClientCommand::Moments(command) => moments::moments(&cli, command).await,
        ClientCommand::Shop(command) => shops::shop(&cli, command).await,
        ClientCommand::Product(command) => shops::product(&cli, command).await,
        ClientCommand::Cart(args) => shops::cart(&cli, args).await,
        ClientCommand::Order(command) => shops::order(&cli, command).await,
    }
}

const HISTORY_LIMIT_DEFAULT: u32 = 20;

/// What every command needs: the server, the chosen login and the config.
struct Cli {
    server: String,
    account: Option<String>,
    config_path: PathBuf,
}

/// A saved login and a client that acts with its token.
struct Session {
    saved: SavedAccount,
    client: Client,
}

impl Cli {
    fn anonymous(&self) -> Client {
        Client::new(&self.server)
    }

    fn session(&self) -> anyhow::Result<Session> {
        let config = Config::load(&self.config_path)?;
        let saved = config
            .selected(&self.server, self.account.as_deref())?
            .clone();
        let client = self.anonymous().with_token(&saved.token);
        Ok(Session { saved, client })
    }

    /// Explains an error of a call made without a login.
    fn explain(&self, error: ClientError) -> anyhow::Error {
        explain(error, &self.server, None)
    }
}

impl Session {
    /// Explains an error of a call made with this login.
    fn explain(&self, error: ClientError) -> anyhow::Error {
        explain(error, &self.saved.server, Some(&self.saved.username))
    }

    /// The account's own entry and its contacts, for turning ids into
    /// usernames.
    async fn directory(&self) -> anyhow::Result<(AccountView, Vec<AccountView>)> {
        let me = self.client.me().await.map_err(|e| self.explain(e))?;
        let contacts = self.contacts().await?;
        let contacts = contacts
            .into_iter()
            .map(|contact| AccountView {
                account_id: contact.account_id,
                username: contact.username,
                display_name: contact.display_name,
                avatar_media_id: contact.avatar_media_id,
                bio: None,
            })
            .collect();
        Ok((me, contacts))
    }

    /// Everything the CLI can name without asking per person: the
    /// account, its contacts and its conversations.
    async fn names(&self) -> anyhow::Result<Directory> {
        let (me, contacts) = self.directory().await?;
        let mut directory = Directory::new(&me, &contacts);
        let list = self
            .client
            .conversations()
            .await
            .map_err(|e| self.explain(e))?;
        directory.add_conversations(&list.conversations);
        Ok(directory)
    }

    /// Reads the profiles of the accounts among `ids` that `directory`
    /// cannot name yet (a group member who is not a contact, a buyer), as
    /// far as the server shows them to this account; the others stay ids.
    async fn name_strangers<'a>(
        &self,
        directory: &mut Directory,
        ids: impl IntoIterator<Item = &'a str>,
    ) {
        let mut strangers: Vec<&str> = ids
            .into_iter()
            .filter(|id| id.starts_with("acct_") && !directory.knows(id))
            .collect();
        strangers.sort_unstable();
        strangers.dedup();
        for id in strangers {
            // A 404 (nothing of it is ours to see) leaves the id.
            if let Ok(profile) = self.client.profile(id).await {
                directory.add_person(
                    &profile.account_id,
                    &profile.username,
                    &profile.display_name,
                );
            }
        }
    }

    async fn contacts(&self) -> anyhow::Result<Vec<ContactView>> {
        self.client
            .all_contacts()
            .await
            .map_err(|e| self.explain(e))
    }

    /// A request waiting for this account's answer, named by its id or
    /// by its sender's username: its id and who sent it. An id that is not
    /// in the list is passed on as it is, for the server to judge.
    async fn incoming_request(&self, named: &str) -> anyhow::Result<(String, String)> {
        let list = self
            .client
            .contact_requests()
            .await
            .map_err(|e| self.explain(e))?;
        let found = list.requests.iter().find(|request| {
            request.request_id == named || request.from.username.eq_ignore_ascii_case(named)
        });
        match found {
            Some(request) => Ok((request.request_id.clone(), request.from.username.clone())),
            None if named.starts_with("req_") => Ok((named.to_owned(), named.to_owned())),
            None => bail!(
                "no contact request from {named} waits for you: see `piazza contacts requests`"
            ),
        }
    }

    /// A contact's username, a group's title or a conversation id, turned
    /// into the conversation to use. Usernames win: opening the direct conversation
    /// with a contact is idempotent, and a mistyped name should not fall
    /// through to a confusing "not a member".
    async fn conversation_for(&self, target: &str) -> anyhow::Result<String> {
        let contacts = self.contacts().await?;
        if let Some(contact) = find_by_username(&contacts, target) {
            return self
                .client
                .open_direct(&contact.account_id)
                .await
                .map_err(|e| self.explain(e));
        }
        let conversations = self
            .client
            .conversations()
            .await
            .map_err(|e| self.explain(e))?;
        if conversations
            .conversations
            .iter()
            .any(|conversation| conversation.conversation_id == target)
        {
            return Ok(target.to_owned());
        }
        // A group by its title, when no other group has it.
        let groups: Vec<_> = conversations
            .conversations
            .iter()
            .filter(|conversation| {
                conversation.kind == "group" && conversation.title.eq_ignore_ascii_case(target)
            })
            .collect();
        if let [group] = groups.as_slice() {
            return Ok(group.conversation_id.clone());
        }
        if groups.len() > 1 {
            bail!(
                "{} groups are called {target}: name one by its id (see `piazza conversations`)",
                groups.len()
            );
        }
        bail!(
            "{target} is neither a contact's username nor a group's title nor one of your \
             conversations' ids: see `piazza contacts list` and `piazza conversations`"
        )
    }
}

/// Turns a client error into what the user should read and do.
fn explain(error: ClientError, server: &str, acting_as: Option<&str>) -> anyhow::Error {
    match error {
        ClientError::Api { status: 401, .. } if acting_as.is_some() => {
            let username = acting_as.unwrap_or_default();
            anyhow!(
                "the server no longer accepts the saved login of {username} \
                 (was this device revoked?): run `piazza login {username}` again"
            )
        }
        ClientError::Api { problem, .. } => anyhow!("{} ({})", problem.detail, problem.code),
        ClientError::Transport(detail) => anyhow!(
            "cannot reach the server at {server}: {detail}\n\
             Is it running? Pass --server or set PIAZZA_SERVER to use another one."
        ),
        ClientError::Decode(detail) => anyhow!(
            "the server's answer was not understood ({detail}); \
             is {server} a Piazza server of a matching version?"
        ),
    }
}

// ------------------------------------------------------------- accounts

async fn create_account(
    cli: &Cli,
    username: &str,
    display_name: Option<&str>,
    password: Option<String>,
) -> anyhow::Result<()> {
    let password = password_or_stdin(password)?;
    let account = cli
        .anonymous()
        .create_account(username, &password, display_name)
        .await
        .map_err(|e| cli.explain(e))?;
    println!(
        "created account {} ({}) on {}; log in with `piazza login {}`",
        account.username, account.account_id, cli.server, account.username
    );
    Ok(())
}

async fn login(
    cli: &Cli,
    username: &str,
    password: Option<String>,
    device_name: Option<String>,
) -> anyhow::Result<()> {
    let password = password_or_stdin(password)?;
    let device_name = device_name.unwrap_or_else(default_device_name);
    let anonymous = cli.anonymous();
    let session = anonymous
        .login(username, &password, &device_name)
        .await
        .map_err(|e| cli.explain(e))?;
    let client = anonymous.with_token(&session.token);

    let mut replaced = None;
    config::update(&cli.config_path, |config| {
        let previous = config.find(&cli.server, username);
        // The cursor is a position in the account's log, not the device's,
        // so a new login of the same account can resume where `watch` was.
        let cursor = previous
            .filter(|previous| previous.account_id == session.account_id)
            .and_then(|previous| previous.cursor.clone());
        replaced = config.remember(SavedAccount {
            server: cli.server.clone(),
            username: username.to_owned(),
            account_id: session.account_id.clone(),
            device_id: session.device_id.clone(),
            token: session.token.clone(),
            cursor,
        });
    })?;
    println!(
        "logged in as {username} on {} (device {device_name}, {})",
        cli.server, session.device_id
    );

    // The earlier login's token is no longer kept anywhere, so nobody could
    // use it but someone who copied it: revoke it. If that fails it was
    // most likely revoked already.
    if let Some(old) = replaced.filter(|old| old.account_id == session.account_id)
        && client.revoke_device(&old.device_id).await.is_ok()
    {
        println!(
            "revoked the earlier login of this CLI (device {})",
            old.device_id
        );
    }
    Ok(())
}

async fn logout(cli: &Cli) -> anyhow::Result<()> {
    let session = cli.session()?;
    let saved = &session.saved;
    match session.client.revoke_device(&saved.device_id).await {
        // A 401 means the token is already dead: there is nothing left to
        // revoke, only the local copy to forget.
        Ok(()) | Err(ClientError::Api { status: 401, .. }) => {}
        Err(error) => {
            return Err(session.explain(error).context(format!(
                "could not revoke this device, so the login of {} is kept; try again",
                saved.username
            )));
        }
    }
    config::update(&cli.config_path, |config| {
        config.forget(&saved.server, &saved.username);
    })?;
    println!("logged out {} from {}", saved.username, saved.server);
    Ok(())
}

async fn whoami(cli: &Cli) -> anyhow::Result<()> {
    let session = cli.session()?;
    let me = session.client.me().await.map_err(|e| session.explain(e))?;
    println!(
        "{} on {}",
        render::person_label(&me.username, &me.display_name),
        cli.server
    );
    println!(
        "account {}, device {}",
        me.account_id, session.saved.device_id
    );
    Ok(())
}

async fn devices(cli: &Cli, command: DevicesCommand) -> anyhow::Result<()> {
    let session = cli.session()?;
    match command {
        DevicesCommand::List => {
            let list = session
                .client
                .devices()
                .await
                .map_err(|e| session.explain(e))?;
            for device in &list.devices {
                println!("{}", render::device_line(device));
            }
        }
        DevicesCommand::Revoke { device } => {
            let device_id = device_named(&session, &device).await?;
            session
                .client
                .revoke_device(&device_id)
                .await
                .map_err(|e| session.explain(e))?;
            if device_id == session.saved.device_id {
                config::update(&cli.config_path, |config| {
                    config.forget(&session.saved.server, &session.saved.username);
                })?;
                println!(
                    "revoked this device; {} is logged out here",
                    session.saved.username
                );
            } else {
                println!("revoked device {device_id}");
            }
        }
    }
    Ok(())
}

/// A device of the account by its id, or by its name if exactly one
/// device has it; an unknown id is passed on for the server to judge.
async fn device_named(session: &Session, named: &str) -> anyhow::Result<String> {
    let list = session
        .client
        .devices()
        .await
        .map_err(|e| session.explain(e))?;
    if list.devices.iter().any(|device| device.device_id == named) {
        return Ok(named.to_owned());
    }
    let by_name: Vec<_> = list
        .devices
        .iter()
        .filter(|device| device.device_name == named)
        .collect();
    match by_name.as_slice() {
        [device] => Ok(device.device_id.clone()),
        [] if named.starts_with("dev_") => Ok(named.to_owned()),
        [] => bail!("no device is called {named}: see `piazza devices list`"),
        several => bail!(
            "{} devices are called {named}; revoke one by its id: {}",
            several.len(),
            several
                .iter()
                .map(|device| device.device_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Shows what the server saw of the browser asking to log in and approves
/// only once the person says yes (or passed `--yes`): a QR code from a
/// phishing page looks like any other, its browser and address do not.
async fn approve_login(cli: &Cli, payload: &payload::PayloadArgs, yes: bool) -> anyhow::Result<()> {
    let (qr_payload, source) = payload.read()?;
    if source == payload::PayloadSource::Stdin && !yes {
        bail!("the code came from standard input, so the answer cannot: add --yes");
    }
    let qr_payload = qr_payload.as_str();
    let session = cli.session()?;
    let details = session
        .client
        .login_request_details(qr_payload)
        .await
        .map_err(|e| session.explain(e))?;
    println!(
        "a browser asks to log in as {}:\n  browser:    {}\n  address:    {}\n  asked at:   {}\n  expires at: {}",
        session.saved.username,
        details.browser,
        details.address,
        render::short_time(&details.requested_at),
        render::short_time(&details.expires_at)
    );
    if !yes && !confirmed("approve it? it becomes a device of your account [y/N]")? {
        bail!("not approved: nothing changed");
    }
    session
        .client
        .approve_login(qr_payload)
        .await
        .map_err(|e| session.explain(e))?;
    println!(
        "approved: the browser is now logged in as {} (see `piazza devices list`)",
        session.saved.username
    );
    Ok(())
}

// ------------------------------------------------------------- contacts

async fn contacts(cli: &Cli, command: ContactsCommand) -> anyhow::Result<()> {
    let session = cli.session()?;
    let client = &session.client;
    match command {
        ContactsCommand::Add { username, greeting } => {
            let request_id = client
                .request_contact(&username, greeting.as_deref())
                .await
                .map_err(|e| session.explain(e))?;
            println!("asked {username} to be a contact (request {request_id})");
        }
        ContactsCommand::Requests => profile::requests(&session).await?,
        ContactsCommand::Decline { request } => profile::decline(&session, &request).await?,
        ContactsCommand::Accept { request } => {
            let (request_id, from) = session.incoming_request(&request).await?;
            client
                .accept_request(&request_id)
                .await
                .map_err(|e| session.explain(e))?;
            let contacts = session.contacts().await?;
            let from = find_by_username(&contacts, &from).map_or(from, |contact| {
                render::person_label(&contact.username, &contact.display_name)
            });
            println!("{from} is now your contact (request {request_id} accepted)");
        }
        ContactsCommand::List => {
            let contacts = session.contacts().await?;
            if contacts.is_empty() {
                println!("no contacts yet: ask someone with `piazza contacts add <username>`");
            }
            for contact in contacts {
                let who = render::person_label(&contact.username, &contact.display_name);
                match contact.remark {
                    Some(remark) => println!("{remark}: {who}"),
                    None => println!("{who}"),
                }
            }
        }
        ContactsCommand::Block { username } => messaging::block(&session, &username).await?,
        ContactsCommand::Unblock { username } => messaging::unblock(&session, &username).await?,
        ContactsCommand::Blocked => messaging::blocked(&session).await?,
        ContactsCommand::Presence => messaging::presence(&session).await?,
        ContactsCommand::Remark { contact, remark } => {
            contact_extras::remark(&session, &contact, &remark).await?
        }
        ContactsCommand::Code { reset } => contact_extras::code(&session, reset).await?,
        ContactsCommand::AddByCode { payload, greeting } => {
            contact_extras::add_by_code(&session, &payload, greeting.as_deref()).await?
        }
        ContactsCommand::Remove { contact } => {
            let contacts = session.contacts().await?;
            let found = find_by_username(&contacts, &contact)
                .or_else(|| contacts.iter().find(|known| known.account_id == contact))
                .ok_or_else(|| {
                    anyhow!("{contact} is not one of your contacts: see `piazza contacts list`")
                })?;
            client
                .remove_contact(&found.account_id)
                .await
                .map_err(|e| session.explain(e))?;
            println!(
                "removed {} from your contacts",
                render::person_label(&found.username, &found.display_name)
            );
        }
    }
    Ok(())
}

// -------------------------------------------------------- conversations

/// What `piazza send` attaches.
enum Attached {
    Image(PathBuf),
    File(PathBuf),
}

async fn send(
    cli: &Cli,
    to: &str,
    text: &str,
    attached: Option<Attached>,
    extras: &messaging::Extras,
) -> anyhow::Result<()> {
    let session = cli.session()?;
    let conversation_id = session.conversation_for(to).await?;
    // Random, so that retrying this command sends a second message, while a
    // retry inside the client (had there been one) would not.
    let client_msg_id = format!("cli-{:032x}", rand::random::<u128>());
    let media_id = match attached {
        Some(Attached::File(path)) => Some(messaging::upload_file(&session, &path).await?),
        Some(Attached::Image(path)) => {
            let path = path.as_path();
            let bytes = read_image(path)?;
            // The type is what the bytes are, whatever the file is called.
            let media_type = piazza_domain::media::MediaType::ALL
                .into_iter()
                .find(|kind| kind.matches(&bytes))
                .ok_or_else(|| {
                    anyhow!("{} is not a PNG, JPEG, WebP or GIF image", path.display())
                })?;
            let (uploaded, _replayed) = session
                .client
                .upload_media(bytes, media_type.as_mime())
                .await
                .map_err(|e| session.explain(e))?;
            Some(uploaded.media_id)
        }
        None => None,
    };
    let content = piazza_api::MessageContent {
        media_id,
        ..piazza_api::MessageContent::text(text)
    };
    let content = messaging::with_extras(&session, &conversation_id, extras, content).await?;
    let sent = session
        .client
        .send(&conversation_id, &client_msg_id, content);
    let (sent, _replayed) = sent.await.map_err(|e| session.explain(e))?;
    let directory = session.names().await?;
    println!(
        "sent #{} to {} (message {})",
        sent.seq,
        directory.conversation(&conversation_id),
        sent.message_id
    );
    Ok(())
}

/// An image file's bytes, refusing (before reading it all) one past the
/// server's default cap.
fn read_image(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    let max = piazza_domain::limits::MEDIA_BYTES_MAX as u64;
    if size > max {
        bail!(
            "{} is {size} bytes; an image is at most {max}",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

async fn group(cli: &Cli, command: GroupCommand) -> anyhow::Result<()> {
    let session = cli.session()?;
    let client = &session.client;
    match command {
        GroupCommand::Create { title, members } => {
            let contacts = session.contacts().await?;
            let mut member_ids = Vec::with_capacity(members.len());
            let mut unknown = Vec::new();
            for username in &members {
                match find_by_username(&contacts, username) {
                    Some(contact) => member_ids.push(contact.account_id.clone()),
                    None => unknown.push(username.as_str()),
                }
            }
            if !unknown.is_empty() {
                bail!(
                    "not your contacts: {}; a group can only start with contacts \
                     (see `piazza contacts list`)",
                    unknown.join(", ")
                );
            }
            let conversation_id = client
                .create_group(&title, &member_ids)
                .await
                .map_err(|e| session.explain(e))?;
            println!("created group \"{title}\" ({conversation_id})");
        }
        GroupCommand::Add {
            conversation_id,
            username,
        } => {
            let contacts = session.contacts().await?;
            let contact = find_by_username(&contacts, &username).ok_or_else(|| {
                anyhow!("{username} is not one of your contacts: see `piazza contacts list`")
            })?;
            client
                .add_member(&conversation_id, &contact.account_id)
                .await
                .map_err(|e| session.explain(e))?;
            let directory = session.names().await?;
            println!(
                "added {} to {}",
                render::person_label(&contact.username, &contact.display_name),
                directory.conversation(&conversation_id)
            );
        }
        GroupCommand::Remove {
            conversation_id,
            username,
        } => {
            let (me, contacts) = session.directory().await?;
            let leaving = username.eq_ignore_ascii_case(&me.username);
            // A member who is no longer a contact can still be removed by
            // account id, as `piazza history` shows unknown senders.
            let account_id = if leaving {
                me.account_id.clone()
            } else {
                contacts
                    .iter()
                    .find(|contact| contact.username.eq_ignore_ascii_case(&username))
                    .map_or_else(|| username.clone(), |contact| contact.account_id.clone())
            };
            client
                .remove_member(&conversation_id, &account_id)
                .await
                .map_err(|e| session.explain(e))?;
            let mut directory = session.names().await?;
            session
                .name_strangers(&mut directory, [account_id.as_str()])
                .await;
            let group = directory.conversation(&conversation_id);
            if leaving {
                println!("left {group}");
            } else {
                println!("removed {} from {group}", directory.name(&account_id));
            }
        }
        GroupCommand::Admin(command) => groups::run(&session, command).await?,
    }
    Ok(())
}

async fn conversations(cli: &Cli) -> anyhow::Result<()> {
    let session = cli.session()?;
    let list = session
        .client
        .conversations()
        .await
        .map_err(|e| session.explain(e))?;
    let (me, contacts) = session.directory().await?;
    let mut directory = Directory::new(&me, &contacts);
    directory.add_conversations(&list.conversations);
    if list.conversations.is_empty() {
        println!("no conversations yet: `piazza send <contact> <text>` starts one");
    }
    for conversation in &list.conversations {
        println!("{}", render::conversation_line(conversation, &directory));
    }
    Ok(())
}

/// Shows the latest messages, oldest first, and marks the conversation
/// read up to the newest, as the web client does when it shows them.
async fn history(cli: &Cli, with: &str, limit: u32) -> anyhow::Result<()> {
    let session = cli.session()?;
    let conversation_id = session.conversation_for(with).await?;
    let page = session
        .client
        .history(&conversation_id, None, Some(limit))
        .await
        .map_err(|e| session.explain(e))?;
    let mut directory = session.names().await?;
    directory.add_messages(&page.messages);
    let senders = page.messages.iter().map(|message| message.sender.as_str());
    session.name_strangers(&mut directory, senders).await;
    if page.has_more {
        println!("(older messages not shown: raise --limit)");
    }
    if page.messages.is_empty() {
        println!(
            "no messages yet with {}",
            directory.conversation(&conversation_id)
        );
    }
    // The server pages newest first; a conversation reads oldest first.
    for message in page.messages.iter().rev() {
        println!(
            "{}",
            render::history_line(message, &conversation_id, &directory)
        );
    }
    if let Some(newest) = page.messages.first()
        && let Err(error) = session.client.mark_read(&conversation_id, newest.seq).await
    {
        eprintln!(
            "(not marked read: {})",
            session
                .explain(error)
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
        );
    }
    Ok(())
}

async fn read(cli: &Cli, conversation: &str, seq: i64) -> anyhow::Result<()> {
    let session = cli.session()?;
    let conversation_id = session.conversation_for(conversation).await?;
    session
        .client
        .mark_read(&conversation_id, seq)
        .await
        .map_err(|e| session.explain(e))?;
    let directory = session.names().await?;
    println!(
        "marked {} read up to #{seq}",
        directory.conversation(&conversation_id)
    );
    Ok(())
}

async fn recall(cli: &Cli, conversation: &str, seq: i64) -> anyhow::Result<()> {
    let (session, conversation_id, message_id) = message_at(cli, conversation, seq).await?;
    session
        .client
        .recall_message(&conversation_id, &message_id)
        .await
        .map_err(|e| session.explain(e))?;
    let place = session.names().await?.place(&conversation_id);
    println!("recalled #{seq} in {place}: every member now sees it as recalled");
    Ok(())
}

async fn delete(cli: &Cli, conversation: &str, seq: i64) -> anyhow::Result<()> {
    let (session, conversation_id, message_id) = message_at(cli, conversation, seq).await?;
    session
        .client
        .delete_for_me(&conversation_id, &message_id)
        .await
        .map_err(|e| session.explain(e))?;
    let place = session.names().await?.place(&conversation_id);
    println!("deleted #{seq} in {place} for you: the others still have it");
    Ok(())
}

async fn react(
    cli: &Cli,
    conversation: &str,
    seq: i64,
    emoji: &str,
    remove: bool,
) -> anyhow::Result<()> {
    let (session, conversation_id, message_id) = message_at(cli, conversation, seq).await?;
    let client = &session.client;
    let done = if remove {
        client.unreact(&conversation_id, &message_id, emoji).await
    } else {
        client.react(&conversation_id, &message_id, emoji).await
    };
    done.map_err(|e| session.explain(e))?;
    let place = session.names().await?.place(&conversation_id);
    if remove {
        println!("took back {emoji} from #{seq} in {place}");
    } else {
        println!("reacted {emoji} to #{seq} in {place}");
    }
    Ok(())
}

/// The session, the conversation's id and the id of its message `seq`,
/// as `history` numbers them.
async fn message_at(
    cli: &Cli,
    conversation: &str,
    seq: i64,
) -> anyhow::Result<(Session, String, String)> {
    let session = cli.session()?;
    let conversation_id = session.conversation_for(conversation).await?;
    let message_id = session.message_id_at(&conversation_id, seq).await?;
    Ok((session, conversation_id, message_id))
}

impl Session {
    /// The id of message `seq` of `conversation_id`, as `history` numbers
    /// them.
    async fn message_id_at(&self, conversation_id: &str, seq: i64) -> anyhow::Result<String> {
        let page = self
            .client
            .history(conversation_id, Some(seq.saturating_add(1)), Some(1))
            .await
            .map_err(|e| self.explain(e))?;
        match page.messages.into_iter().find(|message| message.seq == seq) {
            Some(message) => Ok(message.message_id),
            None => {
                let place = self.names().await?.place(conversation_id);
                bail!("{place} has no message #{seq} that you can see: `piazza history` lists them")
            }
        }
    }
}

// --------------------------------------------------------------- helpers

/// Usernames are lower-case on the server; accept them typed in any case.
fn find_by_username<'a>(contacts: &'a [ContactView], username: &str) -> Option<&'a ContactView> {
    contacts
        .iter()
        .find(|contact| contact.username.eq_ignore_ascii_case(username))
}

/// The password from the flag or `PIAZZA_PASSWORD` (clap reads both), or
/// else one line of standard input, so scripts can pipe it in; typed at a
/// terminal it is not echoed.
fn password_or_stdin(password: Option<String>) -> anyhow::Result<String> {
    if let Some(password) = password {
        return Ok(password);
    }
    let password = secret_line("password")?;
    if password.is_empty() {
        bail!(
            "no password given: pass --password, set PIAZZA_PASSWORD, or type it on standard input"
        );
    }
    Ok(password)
}

/// One line of standard input, without its line ending. At a terminal it
/// prompts for `what` and turns echo off while it is typed (where the
/// terminal allows; else it says the text is visible).
fn secret_line(what: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let hidden = if stdin.is_terminal() {
        let hidden = EchoOff::new();
        let visible = if hidden.is_some() {
            ""
        } else {
            " (visible as you type)"
        };
        eprint!("{what}{visible}: ");
        std::io::stderr().flush().ok();
        hidden
    } else {
        None
    };
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if hidden.is_some() {
        // The Enter the user typed was not echoed either.
        eprintln!();
    }
    drop(hidden);
    read.with_context(|| format!("cannot read the {what} from standard input"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Asks `question` (at a terminal) and reads one line of standard input:
/// `y` or `yes` is a yes; anything else, or nothing, is a no.
fn confirmed(question: &str) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{question} ");
        std::io::stderr().flush().ok();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the answer from standard input")?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// The terminal on standard input with echo turned off, until dropped.
/// (An interrupt while it is off leaves echo off; `stty echo` restores it.)
struct EchoOff {
    #[cfg(unix)]
    saved: rustix::termios::Termios,
}

impl EchoOff {
    #[cfg(unix)]
    fn new() -> Option<EchoOff> {
        use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
        let saved = tcgetattr(std::io::stdin()).ok()?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        tcsetattr(std::io::stdin(), OptionalActions::Now, &quiet).ok()?;
        Some(EchoOff { saved })
    }

    #[cfg(not(unix))]
    fn new() -> Option<EchoOff> {
        None
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            let restore = rustix::termios::OptionalActions::Now;
            // Nothing better to do if this fails: the process is about to
            // go on (or end) either way.
            let _ = rustix::termios::tcsetattr(std::io::stdin(), restore, &self.saved);
        }
    }
}

/// The machine's hostname, so `piazza devices list` tells devices apart;
/// "cli" where it cannot be found.
fn default_device_name() -> String {
    let from_file = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok());
    let from_env = || {
        std::env::var("HOSTNAME")
            .or_else(|_| std::env::var("COMPUTERNAME"))
            .ok()
    };
    from_file
        .or_else(from_env)
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "cli".to_owned())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    /// The shape `main.rs` is expected to give the commands.
    #[derive(Parser, Debug)]
    struct TestCli {
        #[command(flatten)]
        opts: ClientOpts,
        #[command(subcommand)]
        command: ClientCommand,
    }

    fn parse(args: &[&str]) -> TestCli {
        TestCli::try_parse_from(std::iter::once("piazza").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_command_tree_is_consistent() {
        TestCli::command().debug_assert();
    }

    #[test]
    fn send_takes_the_rest_of_the_line_as_text() {
        let cli = parse(&["send", "bob", "hello", "-", "there", "--server", "x"]);
        let ClientCommand::Send { to, text, .. } = cli.command else {
            panic!("expected send");
        };
        assert_eq!(to, "bob");
        assert_eq!(text, ["hello", "-", "there", "--server", "x"]);
    }

    #[test]
    fn server_and_account_come_before_the_command() {
        // Top-level only, so they do not clutter `serve` and `bench`.
        let cli = parse(&[
            "--server",
            "http://h:1",
            "--account",
            "al",
            "contacts",
            "list",
        ]);
        assert_eq!(cli.opts.server, "http://h:1");
        assert_eq!(cli.opts.account.as_deref(), Some("al"));
        assert!(matches!(
            cli.command,
            ClientCommand::Contacts(ContactsCommand::List)
        ));
        let after = TestCli::try_parse_from(["piazza", "contacts", "list", "--account", "al"]);
        assert!(
            after.is_err(),
            "an option after the command is refused, not ignored"
        );
    }

    #[test]
    fn history_has_a_default_limit() {
        let cli = parse(&["history", "bob"]);
        assert!(matches!(
            cli.command,
            ClientCommand::History {
                limit: HISTORY_LIMIT_DEFAULT,
                ..
            }
        ));
    }

    #[test]
    fn transfer_takes_a_recipient_and_amount_or_a_subcommand() {
        let cli = parse(&["transfer", "bob", "12.34", "--note", "lunch"]);
        let ClientCommand::Transfer(args) = cli.command else {
            panic!("expected transfer");
        };
        assert!(args.command.is_none());
        assert_eq!(args.to.as_deref(), Some("bob"));
        let amount = args.amount.expect("an amount");
        assert_eq!(amount.to_minor(2).unwrap(), 1234);
        assert_eq!(args.note.as_deref(), Some("lunch"));

        let cli = parse(&["transfer", "accept", "trf_1"]);
        let ClientCommand::Transfer(args) = cli.command else {
            panic!("expected transfer");
        };
        assert!(matches!(
            args.command,
            Some(pay::TransferCommand::Accept { transfer_id }) if transfer_id == "trf_1"
        ));

        for missing in [&["transfer"][..], &["transfer", "bob"]] {
            assert!(
                TestCli::try_parse_from(std::iter::once("piazza").chain(missing.iter().copied()))
                    .is_err()
            );
        }
    }

    #[test]
    fn a_bad_amount_is_refused_while_parsing() {
        // "1.234" is well formed: its decimals are checked against the
        // server's currency before anything is sent (see `cli_pay.rs`).
        for bad in ["-5", "abc", "1.", ""] {
            let error = TestCli::try_parse_from(["piazza", "topup", bad]).unwrap_err();
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{bad}"
            );
        }
        let cli = parse(&["red-packet", "send", "bob", "8.88", "3", "--equal"]);
        assert!(matches!(
            cli.command,
            ClientCommand::RedPacket(pay::RedPacketCommand::Send {
                equal: true,
                count: 3,
                ..
            })
        ));
    }

    #[test]
    fn a_payload_comes_as_an_argument_from_stdin_or_from_a_file() {
        let cli = parse(&["pay", "000201abc", "--amount", "1"]);
        let ClientCommand::Pay { payload, .. } = cli.command else {
            panic!("expected pay");
        };
        assert_eq!(payload.qr_payload.as_deref(), Some("000201abc"));
        let cli = parse(&["pay", "-"]);
        let ClientCommand::Pay { payload, .. } = cli.command else {
            panic!("expected pay");
        };
        assert_eq!(payload.qr_payload.as_deref(), Some("-"));
        let cli = parse(&["pay", "--from-file", "code.txt"]);
        let ClientCommand::Pay { payload, .. } = cli.command else {
            panic!("expected pay");
        };
        assert_eq!(payload.from_file, Some(PathBuf::from("code.txt")));
        let cli = parse(&["approve-login", "--from-file", "qr.txt", "--yes"]);
        assert!(matches!(
            cli.command,
            ClientCommand::ApproveLogin { yes: true, .. }
        ));
        for refused in [&["pay"][..], &["pay", "x", "--from-file", "f"]] {
            assert!(
                TestCli::try_parse_from(std::iter::once("piazza").chain(refused.iter().copied()))
                    .is_err(),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn a_revoked_login_is_explained_with_the_fix() {
        let problem = piazza_api::Problem {
            type_: "about:blank".to_owned(),
            title: "Unauthorized".to_owned(),
            status: 401,
            detail: "unknown token".to_owned(),
            code: "unauthorized".to_owned(),
        };
        let error = ClientError::Api {
            status: 401,
            problem: problem.clone(),
        };
        let explained = explain(error.clone(), "http://s", Some("alice")).to_string();
        assert!(explained.contains("`piazza login alice`"), "{explained}");
        // Without a login (a wrong password), the server's words are shown.
        assert_eq!(
            explain(error, "http://s", None).to_string(),
            "unknown token (unauthorized)"
        );
    }
}
