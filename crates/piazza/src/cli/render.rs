//! Everything the CLI prints about people, conversations, messages and
//! money, as text a person reads: display names and usernames, not
//! `acct_1`; amounts with their currency; ids only in brackets where a
//! later command needs them (`trf_1` to accept a transfer). The watch
//! sentences are in `render/events.rs`, shops, products, the cart and
//! orders in `render/shops.rs`. Pure functions over API views and
//! a [`Directory`], so they are unit-tested here without a server.
//!
//! Whatever others wrote (messages, names, titles, greetings, bios,
//! merchant names) reaches the terminal only through [`shown`] or
//! [`shown_block`]: a `\r` or an escape sequence in a message would
//! otherwise let its sender overwrite the `#seq time sender:` prefix, or
//! the whole line, and pass their words off as someone else's. Control
//! characters (and the Unicode ones that reorder text) are shown as
//! escapes; a message's own line breaks start indented continuation lines,
//! which no line of the CLI's own starts with.

mod events;
mod shops;

use std::collections::HashMap;

use piazza_api::{
    AccountView, ContactRequestView, ConversationView, DeviceClient, DeviceView, MessageView,
    PaymentView, RedPacketView, StatementEntryView, TransferView,
};

pub use events::{accounts_named, event_line};
pub use shops::{
    OrderMove, cart_lines, my_shop_line, order_line, order_lines, order_moved, product_lines,
    shop_label, shop_lines, variant_line,
};

use super::money::{format_minor, minor_digits};

// ------------------------------------------------------------- terminal

/// What a continuation line of someone's text starts with.
pub const CONTINUATION: &str = "    ";

/// `text` as one line that is safe on a terminal: each control character
/// (C0, DEL, C1: `\r`, `\n`, ESC, ...) and each character that reorders
/// text (bidirectional overrides and isolates) is written as an escape,
/// `\r`, `\n`, `\t` or `\u{1b}`, so it is seen and does nothing.
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_shown(&mut out, c);
    }
    out
}

/// `text` over as many lines as it has: each line as [`shown`] makes it,
/// the lines after the first indented by [`CONTINUATION`] (a `\r\n` is a
/// line break too). What follows a `\n` can then never pass for a line of
/// the CLI's own.
pub fn shown_block(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.split('\n').peekable();
    let mut first = true;
    while let Some(line) = lines.next() {
        if !std::mem::take(&mut first) {
            out.push('\n');
            out.push_str(CONTINUATION);
        }
        let line = match lines.peek() {
            Some(_) => line.strip_suffix('\r').unwrap_or(line),
            None => line,
        };
        for c in line.chars() {
            push_shown(&mut out, c);
        }
    }
    out
}

fn push_shown(out: &mut String, c: char) {
    use std::fmt::Write as _;
    let reorders = matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    match c {
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() || reorders => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

/// A person as the CLI names them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Person {
    username: String,
    display_name: String,
}

/// A conversation as the CLI names it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Conversation {
    group: bool,
    title: String,
    /// The other member of a direct conversation, when known: its label
    /// follows their name.
    peer: Option<String>,
    /// How far the peer of a direct conversation has read it, when the
    /// conversation list said.
    peer_read_seq: Option<i64>,
}

/// The names the CLI knows: its own account's, its contacts', anyone an
/// event or a profile read named, and its conversations' titles.
#[derive(Debug, Default)]
pub struct Directory {
    me: String,
    people: HashMap<String, Person>,
    /// Display names of accounts known by nothing else (an event named
    /// them; their profile is not ours to read).
    called: HashMap<String, String>,
    conversations: HashMap<String, Conversation>,
    /// The seq of each message shown, to number what a reply answers.
    seqs: HashMap<String, i64>,
}

impl Directory {
    pub fn new(me: &AccountView, contacts: &[AccountView]) -> Directory {
        let mut directory = Directory {
            me: me.account_id.clone(),
            ..Directory::default()
        };
        directory.add_people(std::iter::once(me).chain(contacts));
        directory
    }

    pub fn add_people<'a>(&mut self, accounts: impl IntoIterator<Item = &'a AccountView>) {
        for account in accounts {
            self.add_person(
                &account.account_id,
                &account.username,
                &account.display_name,
            );
        }
    }

    pub fn add_person(&mut self, account_id: &str, username: &str, display_name: &str) {
        if account_id.is_empty() || username.is_empty() {
            return;
        }
        self.people.insert(
            account_id.to_owned(),
            Person {
                username: shown(username),
                display_name: shown(display_name),
            },
        );
    }

    /// Remembers the seq of each message, so a reply to one of them is
    /// numbered as `history` numbers it.
    pub fn add_messages(&mut self, messages: &[MessageView]) {
        for message in messages {
            self.seqs.insert(message.message_id.clone(), message.seq);
        }
    }

    pub fn add_conversations(&mut self, list: &[ConversationView]) {
        for view in list {
            let known = self.conversations.remove(&view.conversation_id);
            self.conversations.insert(
                view.conversation_id.clone(),
                Conversation {
                    group: view.kind == "group",
                    title: shown(view.remark.as_ref().unwrap_or(&view.title)),
                    peer: view.peer.clone().or(known.and_then(|known| known.peer)),
                    peer_read_seq: view.peer_read_seq,
                },
            );
        }
    }

    /// A group's new title, as `conversation.updated` gives it.
    fn retitle(&mut self, id: &str, title: &str) {
        if let Some(conversation) = self.conversations.get_mut(id) {
            conversation.title = shown(title);
        }
    }

    fn add_conversation(&mut self, id: &str, mut conversation: Conversation) {
        conversation.title = shown(&conversation.title);
        self.conversations.insert(id.to_owned(), conversation);
    }

    pub fn is_me(&self, account_id: &str) -> bool {
        self.me == account_id
    }

    pub fn knows(&self, account_id: &str) -> bool {
        self.people.contains_key(account_id)
    }

    /// A new display name for someone known (an event that carries the
    /// name alone); someone unknown gets it as what to call them until
    /// their username is known.
    pub fn rename(&mut self, account_id: &str, display_name: &str) {
        match self.people.get_mut(account_id) {
            Some(person) => person.display_name = shown(display_name),
            None if !display_name.is_empty() => {
                self.called
                    .insert(account_id.to_owned(), shown(display_name));
            }
            None => {}
        }
    }

    /// "Bob Chen (@bob)", or "bob" when the display name is the username;
    /// for someone known by display name alone, that name; the id itself
    /// for someone the CLI cannot name.
    pub fn name(&self, account_id: &str) -> String {
        self.name_or(account_id, account_id)
    }

    /// [`Directory::name`], with `fallback` for someone the CLI cannot name.
    pub fn name_or(&self, account_id: &str, fallback: &str) -> String {
        match (self.people.get(account_id), self.called.get(account_id)) {
            (Some(person), _) => person_label(&person.username, &person.display_name),
            (None, Some(called)) => called.clone(),
            (None, None) => fallback.to_owned(),
        }
    }

    /// [`Directory::name`], or "you" for the CLI's own account.
    pub fn who(&self, account_id: &str) -> String {
        if self.is_me(account_id) {
            "you".to_owned()
        } else {
            self.name(account_id)
        }
    }

    /// The display name alone (a direct conversation's label).
    fn display_name(&self, account_id: &str) -> Option<&str> {
        let person = self.people.get(account_id)?;
        Some(if person.display_name.is_empty() {
            &person.username
        } else {
            &person.display_name
        })
    }

    /// A group's title, or a direct conversation's other member; the id
    /// for one the CLI has not seen.
    pub fn conversation(&self, conversation_id: &str) -> String {
        let Some(conversation) = self.conversations.get(conversation_id) else {
            return conversation_id.to_owned();
        };
        if let Some(name) = conversation
            .peer
            .as_deref()
            .and_then(|peer| self.display_name(peer))
        {
            return name.to_owned();
        }
        conversation.title.clone()
    }

    /// Where something happened: a group's title, or "your chat with
    /// Bob Chen" for a direct conversation.
    pub fn place(&self, conversation_id: &str) -> String {
        let label = self.conversation(conversation_id);
        match self.conversations.get(conversation_id) {
            Some(conversation) if !conversation.group => format!("your chat with {label}"),
            _ => label,
        }
    }

    /// Whether the conversation is a group (false when unknown).
    pub fn is_group(&self, conversation_id: &str) -> bool {
        self.conversations
            .get(conversation_id)
            .is_some_and(|conversation| conversation.group)
    }
}

/// "Bob Chen (@bob)", or "@bob" alone when the display name adds nothing
/// (as `piazza profile` names people too).
pub fn person_label(username: &str, display_name: &str) -> String {
    let display_name = display_name.trim();
    let username = shown(username);
    if display_name.is_empty() || display_name == username {
        format!("@{username}")
    } else {
        format!("{} (@{username})", shown(display_name))
    }
}

/// "12.34 CNY"; an amount in a currency the CLI does not know is shown
/// in minor units rather than guessed.
pub fn money(amount_minor: i64, currency: &str) -> String {
    match minor_digits(currency) {
        Ok(digits) => format!("{} {currency}", format_minor(amount_minor, digits)),
        Err(_) => format!("{amount_minor} minor units of {currency}"),
    }
}

/// An RFC 3339 time to the second, "2025-01-02 10:00:00" (UTC, as the
/// server gives it); anything else as it is.
pub fn short_time(rfc3339: &str) -> String {
    let bytes = rfc3339.as_bytes();
    if bytes.len() >= 19 && bytes[10] == b'T' && rfc3339.is_char_boundary(19) {
        format!("{} {}", &rfc3339[..10], &rfc3339[11..19])
    } else {
        rfc3339.to_owned()
    }
}

/// What a payment's status means to a person.
pub fn payment_status(status: &str) -> &str {
    match status {
        "needs_confirmation" => "waiting for confirmation",
        "expired" => "expired unconfirmed",
        other => other,
    }
}

// -------------------------------------------------------------- messages

/// What stands for a recalled message's content.
pub const RECALLED: &str = "[recalled]";

/// A message's content with its kind marked: "[picture] caption",
/// "[transfer 12.34 CNY] (trf_1)", "[red packet] happy new year (rpk_1)".
pub fn message_body(kind: &str, text: &str, reference: Option<&str>) -> String {
    let id = reference.map(|id| format!(" ({id})")).unwrap_or_default();
    match kind {
        "text" => text.to_owned(),
        "image" if text.is_empty() => "[picture]".to_owned(),
        "image" => format!("[picture] {text}"),
        "transfer" => {
            let amount = text.strip_prefix("Transfer of ").unwrap_or(text);
            format!("[transfer {amount}]{id}")
        }
        "red_packet" => {
            let greeting = text.strip_prefix("Red packet: ").unwrap_or(text);
            format!("[red packet] {greeting}{id}")
        }
        "article_card" => "[article]".to_owned(),
        other => format!("[{}] {text}{id}", other.replace('_', " ")),
    }
}

/// An article card in one line: "[article] Title — Channel name".
pub fn article_card_label(title: &str, channel_name: &str) -> String {
    format!("[article] {title} — {channel_name}")
}

/// One line of `piazza history`: "#3 2025-01-02 10:00:00  Bob Chen (@bob): hi"
/// (and the message's further lines, indented).
pub fn message_line(message: &MessageView, directory: &Directory) -> String {
    let body = if message.recalled {
        RECALLED.to_owned()
    } else {
        content(message, directory)
    };
    shown_block(&format!(
        "#{} {}  {}: {body}{}{}",
        message.seq,
        short_time(&message.sent_at),
        directory.who(&message.sender),
        mentions(message, directory),
        reactions(&message.reactions)
    ))
}

/// What a message says: a reply's reference, "[forwarded]", a place, a
/// card, or its body.
fn content(message: &MessageView, directory: &Directory) -> String {
    let replying = match message.reply_to.as_deref() {
        Some(id) => match directory.seqs.get(id) {
            Some(seq) => format!("(re #{seq}) "),
            None => "(re an earlier message) ".to_owned(),
        },
        None => String::new(),
    };
    let forwarded = if message.forward_of.is_some() {
        "[forwarded] "
    } else {
        ""
    };
    let body = if let Some(place) = &message.location {
        let name = place
            .name
            .as_deref()
            .map(|name| format!(" {name}"))
            .unwrap_or_default();
        format!("[place]{name} ({}, {})", place.lat, place.lon)
    } else if let Some(card) = &message.card {
        format!(
            "[contact card] {}",
            person_label(&card.username, &card.display_name)
        )
    } else if let Some(article) = &message.article {
        article_card_label(&article.title, &article.channel_name)
    } else if let (Some(attachment), "file" | "voice" | "video") =
        (&message.attachment, message.kind.as_str())
    {
        let media = message.ref_.as_deref().unwrap_or("");
        format!("{} ({media})", attachment_label(&message.kind, attachment))
    } else {
        message_body(&message.kind, &message.text, message.ref_.as_deref())
    };
    format!("{replying}{forwarded}{body}")
}

/// "[file report.pdf, 20 KB]", "[voice 0:04]", "[video 64×48, 1:02]".
pub fn attachment_label(kind: &str, attachment: &piazza_api::AttachmentView) -> String {
    let mut parts = Vec::new();
    if kind == "file" {
        parts.push(
            attachment
                .name
                .clone()
                .unwrap_or_else(|| "unnamed".to_owned()),
        );
        parts.push(human_bytes(attachment.bytes));
    }
    if let (Some(width), Some(height)) = (attachment.width, attachment.height)
        && kind == "video"
    {
        parts.push(format!("{width}×{height}"));
    }
    if let Some(ms) = attachment.duration_ms {
        let seconds = ms.div_ceil(1000);
        parts.push(format!("{}:{:02}", seconds / 60, seconds % 60));
    }
    if parts.is_empty() {
        format!("[{kind}]")
    } else {
        format!("[{kind} {}]", parts.join(", "))
    }
}

/// A size as people read it: "512 B", "20 KB", "3.4 MB".
pub fn human_bytes(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let size = bytes as f64;
    if size < KB {
        format!("{bytes} B")
    } else if size < KB * KB {
        format!("{:.0} KB", size / KB)
    } else if size < KB * KB * KB {
        format!("{:.1} MB", size / (KB * KB))
    } else {
        format!("{:.1} GB", size / (KB * KB * KB))
    }
}

/// "  (mentions you)" or "  (@all)" where a message mentions the reader.
fn mentions(message: &MessageView, directory: &Directory) -> &'static str {
    if message.mention_all {
        "  (@all)"
    } else if message
        .mentions
        .iter()
        .any(|account| directory.is_me(account))
    {
        "  (mentions you)"
    } else {
        ""
    }
}

/// "  [👍 2 · ❤️ 1]" after a message with reactions; empty without.
fn reactions(reactions: &[piazza_api::ReactionView]) -> String {
    if reactions.is_empty() {
        return String::new();
    }
    let each: Vec<String> = reactions
        .iter()
        .map(|reaction| format!("{} {}", reaction.emoji, reaction.count))
        .collect();
    format!("  [{}]", each.join(" · "))
}

/// A line of `piazza history` in `conversation_id`: [`message_line`], and
/// "(read)" after my own messages the peer of a direct conversation has
/// read.
pub fn history_line(message: &MessageView, conversation_id: &str, directory: &Directory) -> String {
    let line = message_line(message, directory);
    let read_by_peer = directory
        .conversations
        .get(conversation_id)
        .and_then(|conversation| conversation.peer_read_seq)
        .is_some_and(|peer_read_seq| message.seq <= peer_read_seq);
    if directory.is_me(&message.sender) && read_by_peer {
        format!("{line}  (read)")
    } else {
        line
    }
}

// ----------------------------------------------------------------- lists

/// One line of `piazza conversations`, with the id `group add` needs.
pub fn conversation_line(view: &ConversationView, directory: &Directory) -> String {
    let kind = if view.kind == "group" {
        format!("group of {}", view.member_count)
    } else {
        "direct".to_owned()
    };
    let mut unread = match view.unread {
        0 => "all read".to_owned(),
        count => format!("{count} unread"),
    };
    if view.mention_count > 0 {
        unread.push_str(&format!(", {} mentioning you", view.mention_count));
    }
    let marks: String = [
        (view.pinned, "pinned "),
        (view.muted, "muted "),
        (view.archived, "archived "),
    ]
    .into_iter()
    .filter_map(|(on, mark)| on.then_some(mark))
    .collect();
    shown(&format!(
        "{}  ({marks}{kind}, {unread})  [{}]",
        directory.conversation(&view.conversation_id),
        view.conversation_id
    ))
}

/// One line of `piazza contacts requests`: who asks, their greeting, the
/// request's id.
pub fn request_line(request: &ContactRequestView, directory: &Directory) -> String {
    let from = if request.from.display_name.is_empty() {
        directory.name_or(
            &request.from.account_id,
            &format!("@{}", request.from.username),
        )
    } else {
        person_label(&request.from.username, &request.from.display_name)
    };
    let greeting = if request.greeting.is_empty() {
        String::new()
    } else {
        format!(": \"{}\"", request.greeting)
    };
    shown_block(&format!(
        "{from} asks to be your contact{greeting}  {}  (request {})",
        short_time(&request.created_at),
        request.request_id
    ))
}

/// What a device is, from the codes the server read off its User-Agent:
/// "Firefox on Linux", "the Piazza CLI on macOS".
pub fn device_kind(client: &DeviceClient) -> Option<String> {
    let app = match client.app.as_str() {
        "chrome" => "Chrome",
        "edge" => "Edge",
        "firefox" => "Firefox",
        "safari" => "Safari",
        "piazza_cli" => "the Piazza CLI",
        _ => return None,
    };
    let system = match client.system.as_str() {
        "windows" => "Windows",
        "macos" => "macOS",
        "linux" => "Linux",
        "android" => "Android",
        "ios" => "iOS",
        _ => return Some(app.to_owned()),
    };
    Some(format!("{app} on {system}"))
}

/// One line of `piazza devices list`, with the id `devices revoke` takes
/// (it takes the name too).
pub fn device_line(device: &DeviceView) -> String {
    let this = if device.current { " (this device)" } else { "" };
    let kind = device
        .client
        .as_ref()
        .and_then(device_kind)
        .map(|kind| format!(", {kind}"))
        .unwrap_or_default();
    let from = device
        .last_seen_address
        .as_deref()
        .map(|address| format!(" from {address}"))
        .unwrap_or_default();
    shown(&format!(
        "{}{this}{kind}  logged in {}, last used {}{from}  [{}]",
        device.device_name,
        short_time(&device.created_at),
        short_time(&device.last_seen_at),
        device.device_id
    ))
}

// ------------------------------------------------------------------ money

/// What a statement entry's `about` turned out to be, read from the server.
#[derive(Debug, Clone)]
pub enum About {
    Transfer(TransferView),
    RedPacket(RedPacketView),
    Payment(PaymentView),
}

/// One line of `piazza wallet statement`.
pub fn statement_line(
    entry: &StatementEntryView,
    about: Option<&About>,
    currency: &str,
    directory: &Directory,
) -> String {
    let sign = if entry.amount_minor > 0 { "+" } else { "" };
    let id = entry
        .about
        .as_deref()
        .map(|id| format!("  [{id}]"))
        .unwrap_or_default();
    shown(&format!(
        "{}  {sign}{}  balance {}  {}{id}",
        short_time(&entry.at),
        money(entry.amount_minor, currency),
        money(entry.balance_after_minor, currency),
        statement_what(&entry.kind, about, directory)
    ))
}

/// What a statement entry was, with whom.
fn statement_what(kind: &str, about: Option<&About>, directory: &Directory) -> String {
    let transfer = match about {
        Some(About::Transfer(transfer)) => Some(transfer),
        _ => None,
    };
    let packet = match about {
        Some(About::RedPacket(packet)) => Some(packet),
        _ => None,
    };
    let to = transfer.map(|transfer| format!(" to {}", directory.name(&transfer.to)));
    let from = transfer.map(|transfer| format!(" from {}", directory.name(&transfer.from)));
    let packet_in =
        packet.map(|packet| format!(" in {}", directory.place(&packet.conversation_id)));
    let packet_from = packet.map(|packet| format!(" from {}", directory.name(&packet.sender)));
    match (kind, about) {
        ("topup", _) => "top-up".to_owned(),
        ("withdrawal", _) => "withdrawal".to_owned(),
        ("transfer_sent", _) => format!("transfer{}", to.unwrap_or_default()),
        ("transfer_accepted", _) => format!("transfer{}", from.unwrap_or_default()),
        ("transfer_declined", _) => {
            format!("transfer{} came back: declined", to.unwrap_or_default())
        }
        ("transfer_expired", _) => {
            format!(
                "transfer{} came back: not accepted in time",
                to.unwrap_or_default()
            )
        }
        ("red_packet_created", _) => format!("red packet{}", packet_in.unwrap_or_default()),
        ("red_packet_claimed", _) => format!("red packet{}", packet_from.unwrap_or_default()),
        ("red_packet_refunded", _) => format!(
            "the unclaimed rest of your red packet{}",
            packet_in.unwrap_or_default()
        ),
        ("merchant_payment", Some(About::Payment(payment))) => {
            format!("paid {}", merchant(payment))
        }
        ("merchant_payment", _) => "paid a merchant".to_owned(),
        ("merchant_refund", _) => "refund from a merchant".to_owned(),
        (other, _) => other.replace('_', " "),
    }
}

fn merchant(payment: &PaymentView) -> String {
    if payment.merchant_name.is_empty() {
        shown(&payment.merchant_id)
    } else {
        shown(&payment.merchant_name)
    }
}

/// `piazza transfer show`.
pub fn transfer_lines(transfer: &TransferView, directory: &Directory) -> Vec<String> {
    let mut lines = vec![format!(
        "transfer {}  {}  {} from {} to {}  sent {}, expires {}",
        transfer.transfer_id,
        transfer.status,
        money(transfer.amount_minor, &transfer.currency),
        directory.who(&transfer.from),
        directory.who(&transfer.to),
        short_time(&transfer.created_at),
        short_time(&transfer.expires_at)
    )];
    if let Some(note) = &transfer.note {
        lines.push(format!("note: {note}"));
    }
    lines.iter().map(|line| shown_block(line)).collect()
}

/// `piazza red-packet show`: the packet, then one line per claim.
pub fn red_packet_lines(packet: &RedPacketView, directory: &Directory) -> Vec<String> {
    let amount = |minor| money(minor, &packet.currency);
    let mut lines = vec![format!(
        "red packet {}  {}  {} in {} {} share(s), {} left  from {} in {}  expires {}",
        packet.red_packet_id,
        packet.status,
        amount(packet.total_minor),
        packet.count,
        packet.mode,
        packet.remaining_shares,
        directory.who(&packet.sender),
        directory.place(&packet.conversation_id),
        short_time(&packet.expires_at)
    )];
    if let Some(greeting) = &packet.greeting {
        lines.push(format!("greeting: {greeting}"));
    }
    for claim in &packet.claims {
        lines.push(format!(
            "  {} claimed {}  {}",
            directory.who(&claim.account_id),
            amount(claim.amount_minor),
            short_time(&claim.claimed_at)
        ));
    }
    lines.iter().map(|line| shown_block(line)).collect()
}

/// `piazza payment show`.
pub fn payment_lines(payment: &PaymentView, directory: &Directory) -> Vec<String> {
    let amount = |minor| money(minor, &payment.currency);
    let mut lines = vec![format!(
        "payment {}  {}  {} to {} ({}) from {}  refunded {}  at {}",
        payment.payment_id,
        payment_status(&payment.status),
        amount(payment.amount_minor),
        merchant(payment),
        payment.merchant_id,
        directory.who(&payment.buyer),
        amount(payment.refunded_minor),
        short_time(&payment.created_at)
    )];
    if let Some(confirm_by) = &payment.confirm_by {
        lines.push(format!(
            "waits for the buyer's confirmation until {}: `piazza payment confirm {}`",
            short_time(confirm_by),
            payment.payment_id
        ));
    }
    lines.iter().map(|line| shown_block(line)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn account(id: &str, username: &str, display_name: &str) -> AccountView {
        AccountView {
            account_id: id.to_owned(),
            username: username.to_owned(),
            display_name: display_name.to_owned(),
            ..AccountView::default()
        }
    }

    /// Ann (the CLI's account), her contact Bob, a direct conversation
    /// with him and a group.
    pub(super) fn directory() -> Directory {
        let mut directory = Directory::new(
            &account("acct_1", "ann", "Ann Lee"),
            &[account("acct_2", "bob", "Bob Chen")],
        );
        directory.add_conversations(&[
            conversation("conv_1", "direct", "Bob Chen"),
            conversation("conv_2", "group", "Weekend"),
        ]);
        directory
    }

    fn conversation(id: &str, kind: &str, title: &str) -> ConversationView {
        ConversationView {
            conversation_id: id.to_owned(),
            kind: kind.to_owned(),
            title: title.to_owned(),
            last_seq: 4,
            unread: 2,
            read_seq: 2,
            member_count: 3,
            owner: None,
            avatar_media_id: None,
            peer: (kind == "direct").then(|| "acct_2".to_owned()),
            peer_read_seq: (kind == "direct").then_some(3),
            remark: None,
            unread_count: 2,
            mention_count: 0,
            last_message: None,
            last_activity_at: "2025-01-02T10:00:00.123Z".to_owned(),
            muted: false,
            pinned: false,
            archived: false,
        }
    }

    fn message(sender: &str, kind: &str, text: &str, reference: Option<&str>) -> MessageView {
        MessageView {
            message_id: "msg_9".to_owned(),
            seq: 3,
            sender: sender.to_owned(),
            text: text.to_owned(),
            sent_at: "2025-01-02T10:00:00.123Z".to_owned(),
            client_msg_id: "x".to_owned(),
            kind: kind.to_owned(),
            ref_: reference.map(str::to_owned),
            recalled: false,
            recalled_at: None,
            recalled_by: None,
            reactions: Vec::new(),
            reply_to: None,
            mentions: Vec::new(),
            mention_all: false,
            forward_of: None,
            location: None,
            card: None,
            article: None,
            product: None,
            attachment: None,
        }
    }

    #[test]
    fn files_voice_notes_and_videos_say_what_they_are() {
        let attachment =
            |name: Option<&str>, bytes, size: Option<(u32, u32)>, ms| piazza_api::AttachmentView {
                content_type: "application/octet-stream".to_owned(),
                bytes,
                name: name.map(str::to_owned),
                width: size.map(|(width, _)| width),
                height: size.map(|(_, height)| height),
                duration_ms: ms,
            };
        let file = attachment(Some("report.pdf"), 20_480, None, None);
        assert_eq!(attachment_label("file", &file), "[file report.pdf, 20 KB]");
        let voice = attachment(None, 9_000, None, Some(3_200));
        assert_eq!(attachment_label("voice", &voice), "[voice 0:04]");
        let video = attachment(None, 5 << 20, Some((640, 360)), Some(62_000));
        assert_eq!(attachment_label("video", &video), "[video 640×360, 1:02]");
        assert_eq!(human_bytes(3_565_158), "3.4 MB");
    }

    #[test]
    fn people_are_named_by_display_name_and_username() {
        let directory = directory();
        assert_eq!(directory.name("acct_2"), "Bob Chen (@bob)");
        assert_eq!(directory.who("acct_2"), "Bob Chen (@bob)");
        assert_eq!(directory.who("acct_1"), "you");
        assert_eq!(directory.name("acct_1"), "Ann Lee (@ann)");
        assert_eq!(person_label("carol", "carol"), "@carol");
        assert_eq!(person_label("carol", " "), "@carol");
        // Someone the CLI cannot name keeps their id, rather than a guess.
        assert_eq!(directory.who("acct_9"), "acct_9");
    }

    #[test]
    fn conversations_are_named_by_title_or_peer() {
        let mut directory = directory();
        assert_eq!(directory.conversation("conv_1"), "Bob Chen");
        assert_eq!(directory.conversation("conv_2"), "Weekend");
        assert_eq!(directory.conversation("conv_7"), "conv_7");
        assert!(directory.is_group("conv_2") && !directory.is_group("conv_1"));
        assert_eq!(directory.place("conv_1"), "your chat with Bob Chen");
        assert_eq!(directory.place("conv_2"), "Weekend");
        // A peer who renames themselves renames the conversation.
        directory.rename("acct_2", "Bobby");
        assert_eq!(directory.conversation("conv_1"), "Bobby");
        assert_eq!(
            conversation_line(&conversation("conv_2", "group", "Weekend"), &directory),
            "Weekend  (group of 3, 2 unread)  [conv_2]"
        );
    }

    #[test]
    fn history_marks_each_kind_of_message() {
        let directory = directory();
        let line = |sender, kind, text, reference| {
            message_line(&message(sender, kind, text, reference), &directory)
        };
        assert_eq!(
            line("acct_2", "text", "hi", None),
            "#3 2025-01-02 10:00:00  Bob Chen (@bob): hi"
        );
        assert_eq!(
            line("acct_1", "image", "the view", Some("med_1")),
            "#3 2025-01-02 10:00:00  you: [picture] the view"
        );
        assert_eq!(
            line("acct_1", "image", "", Some("med_1")),
            "#3 2025-01-02 10:00:00  you: [picture]"
        );
        assert_eq!(
            line("acct_1", "transfer", "Transfer of 12.34 CNY", Some("trf_1")),
            "#3 2025-01-02 10:00:00  you: [transfer 12.34 CNY] (trf_1)"
        );
        assert_eq!(
            line(
                "acct_2",
                "red_packet",
                "Red packet: happy new year",
                Some("rpk_1")
            ),
            "#3 2025-01-02 10:00:00  Bob Chen (@bob): [red packet] happy new year (rpk_1)"
        );
        assert_eq!(
            line("acct_2", "sticker", "a cat", Some("stk_1")),
            "#3 2025-01-02 10:00:00  Bob Chen (@bob): [sticker] a cat (stk_1)"
        );
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(shown("a\rb\nc\td"), r"a\rb\nc\td");
        assert_eq!(shown("\u{1b}[2K\u{7f}\u{9b}"), r"\u{1b}[2K\u{7f}\u{9b}");
        // Text that reorders what follows it (an RTL override) is seen too.
        assert_eq!(shown("evil\u{202e}gnp.exe"), r"evil\u{202e}gnp.exe");
        assert_eq!(shown("你好, Grüße 👋"), "你好, Grüße 👋");
        assert_eq!(shown_block("one\r\ntwo\nthree"), "one\n    two\n    three");
        assert_eq!(shown_block("a\rb"), r"a\rb");
    }

    /// A sender cannot overwrite the `#seq time sender:` prefix with a
    /// `\r`, clear the line with an escape sequence, or start a line that
    /// looks like another message with a `\n`.
    #[test]
    fn a_message_cannot_pass_for_another() {
        let directory = directory();
        let forged = "hi\r#4 2025-01-02 10:00:01  Ann Lee (@ann): pay bob\u{1b}[2K";
        let line = message_line(&message("acct_2", "text", forged, None), &directory);
        assert_eq!(
            line,
            r"#3 2025-01-02 10:00:00  Bob Chen (@bob): hi\r#4 2025-01-02 10:00:01  Ann Lee (@ann): pay bob\u{1b}[2K"
        );
        assert!(!line.chars().any(char::is_control));
        let two_lines = "see you\n#4 2025-01-02 10:00:01  you: ok";
        assert_eq!(
            message_line(&message("acct_2", "text", two_lines, None), &directory),
            "#3 2025-01-02 10:00:00  Bob Chen (@bob): see you\n    #4 2025-01-02 10:00:01  you: ok"
        );
    }

    #[test]
    fn names_titles_and_greetings_are_shown_safely() {
        let mut directory = directory();
        directory.add_person("acct_5", "eve", "Eve\r\u{1b}[31mBob Chen");
        assert_eq!(directory.name("acct_5"), r"Eve\r\u{1b}[31mBob Chen (@eve)");
        directory.rename("acct_6", "Mallory\nacct_1");
        assert_eq!(directory.name("acct_6"), r"Mallory\nacct_1");
        directory.add_conversations(&[conversation("conv_3", "group", "Tea\rParty")]);
        assert_eq!(directory.conversation("conv_3"), r"Tea\rParty");
        assert_eq!(person_label("eve", "E\u{7}ve"), r"E\u{7}ve (@eve)");
        let request = ContactRequestView {
            request_id: "req_1".to_owned(),
            from: piazza_api::AccountBrief {
                account_id: "acct_5".to_owned(),
                username: "eve".to_owned(),
                display_name: "Eve".to_owned(),
                avatar_media_id: None,
            },
            greeting: "hello\r\u{1b}[1Ahi\nsecond line".to_owned(),
            created_at: "2025-01-02T10:00:00Z".to_owned(),
        };
        assert_eq!(
            request_line(&request, &directory),
            "Eve (@eve) asks to be your contact: \"hello\\r\\u{1b}[1Ahi\n    second line\"  \
             2025-01-02 10:00:00  (request req_1)"
        );
        let payment = PaymentView {
            merchant_name: "Bob's\r\u{1b}[2KShop".to_owned(),
            ..payment("completed")
        };
        assert_eq!(merchant(&payment), r"Bob's\r\u{1b}[2KShop");
    }

    #[test]
    fn an_article_card_shows_its_title_and_channel() {
        let directory = directory();
        let shared = MessageView {
            article: Some(piazza_api::ArticleCardView {
                article_id: "art_3".to_owned(),
                title: "Rain\x1b[2K in Rome".to_owned(),
                channel_id: "chn_1".to_owned(),
                handle: "piazza.news".to_owned(),
                channel_name: "Piazza News".to_owned(),
                cover_media_id: None,
                url: "/c/piazza.news/art_3".to_owned(),
            }),
            ..message("acct_2", "article_card", "", None)
        };
        assert_eq!(
            message_line(&shared, &directory),
            "#3 2025-01-02 10:00:00  Bob Chen (@bob): [article] Rain\\u{1b}[2K in Rome — Piazza News"
        );
        assert_eq!(message_body("article_card", "", None), "[article]");
    }

    #[test]
    fn history_marks_my_messages_the_peer_has_read() {
        // The peer of conv_1 has read up to #3; conv_2 is a group.
        let directory = directory();
        let mine = message("acct_1", "text", "hi", None);
        assert_eq!(
            history_line(&mine, "conv_1", &directory),
            "#3 2025-01-02 10:00:00  you: hi  (read)"
        );
        let later = MessageView {
            seq: 4,
            ..mine.clone()
        };
        assert!(!history_line(&later, "conv_1", &directory).ends_with("(read)"));
        let theirs = message("acct_2", "text", "hi", None);
        assert!(!history_line(&theirs, "conv_1", &directory).ends_with("(read)"));
        assert!(!history_line(&mine, "conv_2", &directory).ends_with("(read)"));
    }

    #[test]
    fn a_device_says_what_it_is_and_where_it_was_used() {
        let mut device = DeviceView {
            device_id: "dev_3".to_owned(),
            device_name: "phone".to_owned(),
            created_at: "2025-01-02T10:00:00Z".to_owned(),
            last_seen_at: "2025-01-03T11:00:00Z".to_owned(),
            current: true,
            user_agent: Some("Mozilla/5.0 …".to_owned()),
            last_seen_address: Some("192.0.2.7".to_owned()),
            client: Some(DeviceClient {
                app: "firefox".to_owned(),
                system: "android".to_owned(),
            }),
        };
        assert_eq!(
            device_line(&device),
            "phone (this device), Firefox on Android  logged in 2025-01-02 10:00:00, last used \
             2025-01-03 11:00:00 from 192.0.2.7  [dev_3]"
        );
        device.current = false;
        device.client = None;
        device.last_seen_address = None;
        assert_eq!(
            device_line(&device),
            "phone  logged in 2025-01-02 10:00:00, last used 2025-01-03 11:00:00  [dev_3]"
        );
        let cli = DeviceClient {
            app: "piazza_cli".to_owned(),
            system: "unknown".to_owned(),
        };
        assert_eq!(device_kind(&cli).as_deref(), Some("the Piazza CLI"));
    }

    #[test]
    fn a_request_names_who_asks_and_says_which_it_is() {
        let mut directory = directory();
        let request = ContactRequestView {
            request_id: "req_4".to_owned(),
            from: piazza_api::AccountBrief {
                account_id: "acct_3".to_owned(),
                username: "carol".to_owned(),
                display_name: String::new(),
                avatar_media_id: None,
            },
            greeting: "hi, it's Carol".to_owned(),
            created_at: "2025-01-02T10:00:00Z".to_owned(),
        };
        assert_eq!(
            request_line(&request, &directory),
            "@carol asks to be your contact: \"hi, it's Carol\"  2025-01-02 10:00:00  (request req_4)"
        );
        directory.add_person("acct_3", "carol", "Carol Wu");
        assert!(request_line(&request, &directory).starts_with("Carol Wu (@carol) asks"));
        // The request itself carries the name (servers since profiles).
        let mut named = request.clone();
        named.from.display_name = "Carol W.".to_owned();
        assert!(request_line(&named, &directory).starts_with("Carol W. (@carol) asks"));
    }

    #[test]
    fn money_and_times_read_as_a_person_writes_them() {
        assert_eq!(money(1234, "CNY"), "12.34 CNY");
        assert_eq!(money(-888, "CNY"), "-8.88 CNY");
        assert_eq!(money(500, "JPY"), "500 JPY");
        assert_eq!(money(5, "XXZ"), "5 minor units of XXZ");
        assert_eq!(
            short_time("2025-01-02T10:00:00.123Z"),
            "2025-01-02 10:00:00"
        );
        assert_eq!(short_time("later"), "later");
        assert_eq!(
            payment_status("needs_confirmation"),
            "waiting for confirmation"
        );
    }

    fn entry(kind: &str, amount_minor: i64, about: Option<&str>) -> StatementEntryView {
        StatementEntryView {
            entry_id: "ent_1".to_owned(),
            amount_minor,
            balance_after_minor: 5000,
            kind: kind.to_owned(),
            ref_: "txn_1".to_owned(),
            about: about.map(str::to_owned),
            at: "2025-01-02T10:00:00Z".to_owned(),
        }
    }

    fn transfer(from: &str, to: &str, status: &str) -> TransferView {
        TransferView {
            transfer_id: "trf_1".to_owned(),
            status: status.to_owned(),
            amount_minor: 1234,
            currency: "CNY".to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            note: Some("lunch".to_owned()),
            created_at: "2025-01-02T10:00:00Z".to_owned(),
            expires_at: "2025-01-03T10:00:00Z".to_owned(),
        }
    }

    #[test]
    fn a_statement_says_with_whom_money_moved() {
        let directory = directory();
        let line = |kind, amount, about: Option<&About>, id| {
            statement_line(&entry(kind, amount, id), about, "CNY", &directory)
        };
        assert_eq!(
            line("topup", 10000, None, None),
            "2025-01-02 10:00:00  +100.00 CNY  balance 50.00 CNY  top-up"
        );
        let sent = About::Transfer(transfer("acct_1", "acct_2", "accepted"));
        assert_eq!(
            line("transfer_sent", -1234, Some(&sent), Some("trf_1")),
            "2025-01-02 10:00:00  -12.34 CNY  balance 50.00 CNY  transfer to Bob Chen (@bob)  [trf_1]"
        );
        let received = About::Transfer(transfer("acct_2", "acct_1", "accepted"));
        assert!(
            line("transfer_accepted", 1234, Some(&received), Some("trf_1"))
                .ends_with("transfer from Bob Chen (@bob)  [trf_1]")
        );
        // A record the CLI could not read still says what kind it was.
        assert!(
            line("transfer_declined", 1234, None, Some("trf_2"))
                .ends_with("transfer came back: declined  [trf_2]")
        );
        let paid = About::Payment(payment("needs_confirmation"));
        assert!(
            line("merchant_payment", -350, Some(&paid), Some("pay_1"))
                .ends_with("paid Ann's Noodles  [pay_1]")
        );
    }

    fn payment(status: &str) -> PaymentView {
        PaymentView {
            payment_id: "pay_3".to_owned(),
            merchant_id: "mer_1".to_owned(),
            merchant_name: "Ann's Noodles".to_owned(),
            buyer: "acct_2".to_owned(),
            amount_minor: 60000,
            currency: "CNY".to_owned(),
            refunded_minor: 0,
            status: status.to_owned(),
            created_at: "2025-01-02T10:00:00Z".to_owned(),
            confirm_by: (status == "needs_confirmation").then(|| "2025-01-02T10:05:00Z".to_owned()),
        }
    }

    #[test]
    fn a_payment_waiting_for_the_buyer_is_not_collected() {
        let lines = payment_lines(&payment("needs_confirmation"), &directory());
        assert_eq!(
            lines[0],
            "payment pay_3  waiting for confirmation  600.00 CNY to Ann's Noodles (mer_1) from \
             Bob Chen (@bob)  refunded 0.00 CNY  at 2025-01-02 10:00:00"
        );
        assert!(
            lines[1].contains("`piazza payment confirm pay_3`"),
            "{lines:?}"
        );
        assert!(!lines.join("\n").contains("collected"));
    }

    #[test]
    fn transfers_and_red_packets_name_their_people() {
        let directory = directory();
        let lines = transfer_lines(&transfer("acct_1", "acct_2", "pending"), &directory);
        assert_eq!(
            lines,
            [
                "transfer trf_1  pending  12.34 CNY from you to Bob Chen (@bob)  sent 2025-01-02 \
                 10:00:00, expires 2025-01-03 10:00:00",
                "note: lunch"
            ]
        );
        let packet = RedPacketView {
            red_packet_id: "rpk_1".to_owned(),
            conversation_id: "conv_2".to_owned(),
            sender: "acct_1".to_owned(),
            mode: "lucky".to_owned(),
            total_minor: 888,
            currency: "CNY".to_owned(),
            count: 2,
            greeting: None,
            status: "open".to_owned(),
            remaining_shares: 1,
            created_at: "2025-01-02T10:00:00Z".to_owned(),
            expires_at: "2025-01-03T10:00:00Z".to_owned(),
            claims: vec![piazza_api::RedPacketClaimView {
                account_id: "acct_2".to_owned(),
                amount_minor: 300,
                claimed_at: "2025-01-02T10:01:00Z".to_owned(),
            }],
        };
        assert_eq!(
            red_packet_lines(&packet, &directory),
            [
                "red packet rpk_1  open  8.88 CNY in 2 lucky share(s), 1 left  from you in Weekend  \
                 expires 2025-01-03 10:00:00",
                "  Bob Chen (@bob) claimed 3.00 CNY  2025-01-02 10:01:00"
            ]
        );
    }
}
