//! `piazza watch`: every event of the account's log as one sentence, from
//! the account's side ("Bob Chen (@bob) accepted your transfer of 12.34 CNY
//! (trf_1)"). A kind this CLI does not know gets a short generic line,
//! never its JSON; a field it does not find reads as "?" rather than
//! failing, since a newer server may shape an event a little differently.

use piazza_api::EventView;
use serde_json::{Map, Value};

use super::{
    Conversation, Directory, RECALLED, article_card_label, message_body, money, short_time,
};

/// One line of `piazza watch`: the time, then what happened.
pub fn event_line(event: &EventView, directory: &Directory) -> String {
    // Everything in the sentence that others wrote (a message, a title, a
    // greeting) is made safe here, once, with the whole line.
    super::shown_block(&format!(
        "{}  {}",
        short_time(&event.at),
        event_sentence(event, directory)
    ))
}

/// What happened, as a sentence.
pub fn event_sentence(event: &EventView, directory: &Directory) -> String {
    let fields = Fields(&event.fields);
    let (area, what) = event.type_.split_once('.').unwrap_or((&event.type_, ""));
    let said = match area {
        "message" if what == "new" => Some(message(&fields, directory)),
        "message" if what == "reaction" => Some(format!(
            "{} {} {} {} #{} in {}",
            directory.who(fields.str("account_id")),
            if fields.0.get("added") == Some(&Value::Bool(false)) {
                "took back"
            } else {
                "reacted"
            },
            fields.str("emoji"),
            if fields.0.get("added") == Some(&Value::Bool(false)) {
                "from"
            } else {
                "to"
            },
            fields.text("seq"),
            directory.place(fields.str("conversation_id"))
        )),
        "message" if what == "deleted" => Some(format!(
            "you deleted message #{} in {} for yourself",
            fields.text("seq"),
            directory.place(fields.str("conversation_id"))
        )),
        "message" if what == "recalled" => Some(format!(
            "{} recalled message #{} in {}",
            directory.who(fields.str("recalled_by")),
            fields.text("seq"),
            directory.place(fields.str("conversation_id"))
        )),
        "conversation" => conversation(what, &fields, directory),
        "contact" => contact(what, &fields, directory),
        "read" if what == "marker" => Some(format!(
            "you read {} up to #{} (on device {})",
            directory.place(fields.str("conversation_id")),
            fields.text("seq"),
            fields.str("device_id")
        )),
        "read" if what == "receipt" => Some(format!(
            "{} read your messages up to #{}",
            directory.name(fields.str("account_id")),
            fields.text("seq")
        )),
        "wallet" => wallet(what, &fields),
        "transfer" => transfer(what, &fields, directory),
        "red_packet" => red_packet(what, &fields, directory),
        "payment" => payment(what, &fields, directory),
        "account" => account(what, &fields, directory),
        "moment" => moment(what, &fields, directory),
        "order" if what == "updated" => Some(order(&fields, directory)),
        "article" if what == "published" => Some(format!(
            "{} (@{}) published \"{}\" ({}, {})",
            fields.str("channel_name"),
            fields.str("handle"),
            fields.str("title"),
            fields.str("article_id"),
            fields.str("url")
        )),
        _ => None,
    };
    said.unwrap_or_else(|| {
        format!(
            "something this piazza cannot describe happened ({}); a newer piazza can",
            event.type_
        )
    })
}

/// The account ids an event names by id alone (not in an object that
/// carries their names), for the CLI to look up the ones it cannot name.
pub fn accounts_named(event: &EventView) -> Vec<String> {
    let mut ids = Vec::new();
    for (name, value) in &event.fields {
        let values = match value {
            Value::Array(items) if name == "members" => items.iter().collect(),
            Value::String(_) => vec![value],
            _ => Vec::new(),
        };
        ids.extend(
            values
                .into_iter()
                .filter_map(Value::as_str)
                .filter(|id| id.starts_with("acct_"))
                .map(str::to_owned),
        );
    }
    ids
}

/// An event's fields, read leniently.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    /// A string field; "?" when missing.
    fn str(&self, name: &str) -> &str {
        self.0.get(name).and_then(Value::as_str).unwrap_or("?")
    }

    /// A string or number field as text; "?" when missing.
    fn text(&self, name: &str) -> String {
        match self.0.get(name) {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Number(number)) => number.to_string(),
            _ => "?".to_owned(),
        }
    }

    fn opt(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
    }

    fn flag(&self, name: &str) -> bool {
        self.0.get(name).and_then(Value::as_bool).unwrap_or(false)
    }

    /// `amount_minor` in `currency`.
    fn money(&self) -> String {
        match (
            self.0.get("amount_minor").and_then(Value::as_i64),
            self.opt("currency"),
        ) {
            (Some(amount), Some(currency)) => money(amount, currency),
            _ => "an amount".to_owned(),
        }
    }

    /// An account named inside an object field (`{"account_id", "username",
    /// "display_name"}`), as the directory names it.
    fn account_in(&self, name: &str) -> Option<&str> {
        self.0.get(name)?.get("account_id")?.as_str()
    }
}

/// Learns the names an event carries, so that its sentence (and every
/// later one) names people: any object field shaped like an account
/// (`contact`, `from`, `to`, `account`), an account's own fields, and the
/// conversations it creates.
impl Directory {
    pub fn learn(&mut self, event: &EventView) {
        let fields = &event.fields;
        let accounts = fields
            .values()
            .filter_map(Value::as_object)
            .chain(std::iter::once(fields));
        for account in accounts {
            let text = |name: &str| account.get(name).and_then(Value::as_str);
            match (text("account_id"), text("username"), text("display_name")) {
                (Some(id), Some(username), display_name) => {
                    self.add_person(id, username, display_name.unwrap_or(username));
                }
                // An event that names an account by display name alone
                // (a member added, a profile updated).
                (Some(id), None, Some(display_name)) => self.rename(id, display_name),
                _ => {}
            }
        }
        match event.type_.as_str() {
            "conversation.created" => self.learn_conversation(&Fields(fields)),
            "conversation.updated" => {
                let fields = Fields(fields);
                if let Some(title) = fields.opt("title") {
                    self.retitle(fields.str("conversation_id"), title);
                }
            }
            _ => {}
        }
    }

    fn learn_conversation(&mut self, fields: &Fields<'_>) {
        let group = fields.str("kind") == "group";
        let peer = members(fields)
            .into_iter()
            .find(|member| !self.is_me(member))
            .map(str::to_owned);
        let title = match (group, &peer) {
            (true, _) => fields.opt("title").unwrap_or("a group").to_owned(),
            (false, Some(peer)) => self.name(peer),
            (false, None) => "yourself".to_owned(),
        };
        let peer = peer.filter(|_| !group);
        self.add_conversation(
            fields.str("conversation_id"),
            Conversation {
                group,
                title,
                peer,
                peer_read_seq: None,
            },
        );
    }
}

fn members<'a>(fields: &Fields<'a>) -> Vec<&'a str> {
    fields
        .0
        .get("members")
        .and_then(Value::as_array)
        .map(|members| members.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// "Bob Chen (@bob): hi", "you to Bob Chen: hi", "Bob Chen (@bob) in Weekend: hi".
fn message(fields: &Fields<'_>, directory: &Directory) -> String {
    let sender = fields.str("sender");
    let conversation = fields.str("conversation_id");
    let article = fields.0.get("article").and_then(Value::as_object);
    let body = if fields.0.get("recalled") == Some(&Value::Bool(true)) {
        RECALLED.to_owned()
    } else if let Some(article) = article {
        let part = |key| article.get(key).and_then(Value::as_str).unwrap_or("?");
        article_card_label(part("title"), part("channel_name"))
    } else {
        message_body(
            fields.opt("kind").unwrap_or("text"),
            fields.opt("text").unwrap_or(""),
            fields.opt("ref"),
        )
    };
    let place = directory.conversation(conversation);
    match (directory.is_me(sender), directory.is_group(conversation)) {
        (false, false) => format!("{}: {body}", directory.name(sender)),
        (true, false) => format!("you to {place}: {body}"),
        (false, true) => format!("{} in {place}: {body}", directory.name(sender)),
        (true, true) => format!("you in {place}: {body}"),
    }
}

fn conversation(what: &str, fields: &Fields<'_>, directory: &Directory) -> Option<String> {
    let id = fields.str("conversation_id");
    let place = directory.conversation(id);
    let account = fields.str("account_id");
    let by = directory.who(fields.str("by"));
    Some(match what {
        "created" if fields.str("kind") == "group" => {
            let owner = fields.str("owner");
            if directory.is_me(owner) {
                let others: Vec<String> = members(fields)
                    .into_iter()
                    .filter(|member| !directory.is_me(member))
                    .map(|member| directory.name(member))
                    .collect();
                format!(
                    "you created the group {place} with {} [{id}]",
                    listed(&others)
                )
            } else {
                format!(
                    "{} added you to the group {place} [{id}]",
                    directory.who(owner)
                )
            }
        }
        "created" => match members(fields)
            .into_iter()
            .find(|member| !directory.is_me(member))
        {
            Some(peer) => format!("you can now chat with {}", directory.name(peer)),
            None => format!("you can now chat with {place}"),
        },
        "updated" => group_updated(&by, &place, id, fields),
        "join_requested" => format!(
            "{} asks to join {place} (piazza group approve {id} {account}, or decline)",
            directory.who(account)
        ),
        "join_declined" if directory.is_me(account) => format!(
            "{by} declined your request to join {}",
            super::shown(fields.str("title"))
        ),
        "join_declined" => format!(
            "{by} declined {}'s request to join {place}",
            directory.who(account)
        ),
        "role_changed" => {
            let who = directory.who(account);
            match fields.str("role") {
                "admin" => format!("{by} made {who} an admin of {place}"),
                _ => format!("{by} made {who} a member again (no longer an admin) of {place}"),
            }
        }
        "member_added" if directory.is_me(account) => format!("{by} added you to {place} [{id}]"),
        "member_added" => format!("{by} added {} to {place}", directory.name(account)),
        "member_removed" if account == fields.str("by") => {
            format!("{} left {place}", directory.who(account))
        }
        "member_removed" => format!("{by} removed {} from {place}", directory.who(account)),
        "settings" => {
            let flag = |name: &str| fields.0.get(name) == Some(&Value::Bool(true));
            let marks: Vec<&str> = [
                ("pinned", "pinned"),
                ("muted", "muted"),
                ("archived", "archived"),
            ]
            .into_iter()
            .filter(|(name, _)| flag(name))
            .map(|(_, mark)| mark)
            .collect();
            let place = directory.place(id);
            match marks.as_slice() {
                [] => format!("{place} is no longer pinned, muted or archived for you"),
                marks => format!("{place} is now {} for you", listed_words(marks)),
            }
        }
        _ => return None,
    })
}

/// `conversation.updated` carries the group's title, picture,
/// announcement and approval mode as they now are, not what changed: the
/// announcement and the approval mode are said when they are set.
fn group_updated(by: &str, place: &str, id: &str, fields: &Fields<'_>) -> String {
    let mut said = format!("{by} updated the group {place} (its name or picture) [{id}]");
    if let Some(announcement) = fields.opt("announcement").filter(|text| !text.is_empty()) {
        said = format!("{by} updated the group {place} [{id}]; its announcement: {announcement}");
    }
    if fields.0.get("join_approval") == Some(&Value::Bool(true)) {
        said.push_str("; joining by invitation waits for an admin's approval");
    }
    said
}

/// "Bob Chen (@bob)", "Bob and Carol", "Bob, Carol and 3 others".
fn listed(names: &[String]) -> String {
    match names {
        [] => "nobody else".to_owned(),
        [one] => one.clone(),
        [first, second] => format!("{first} and {second}"),
        [first, second, rest @ ..] => format!("{first}, {second} and {} others", rest.len()),
    }
}

/// "pinned", "pinned and muted", "pinned, muted and archived".
fn listed_words(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn contact(what: &str, fields: &Fields<'_>, directory: &Directory) -> Option<String> {
    // `from` is an account object on a request, an id on a decline.
    let from = fields
        .account_in("from")
        .or_else(|| fields.opt("from"))
        .unwrap_or("?");
    let to = fields.account_in("to").unwrap_or("?");
    let request = fields.str("request_id");
    Some(match what {
        "request" if directory.is_me(from) => {
            format!(
                "you asked {} to be your contact (request {request})",
                directory.name(to)
            )
        }
        "request" => {
            let greeting = fields
                .opt("greeting")
                .map(|greeting| format!(": \"{greeting}\""))
                .unwrap_or_default();
            let username = fields.0.get("from").and_then(|from| from.get("username"));
            let answer = username.and_then(Value::as_str).unwrap_or(request);
            format!(
                "{} asks to be your contact{greeting}; accept with `piazza contacts accept {answer}`",
                directory.name(from)
            )
        }
        "request_declined" if directory.is_me(from) => {
            format!(
                "{} declined your contact request (request {request})",
                directory.name(to)
            )
        }
        // Logged to the one who declined (the asker is not told).
        "request_declined" if !directory.is_me(from) => format!(
            "you declined the contact request of {} (request {request})",
            directory.name(from)
        ),
        "request_declined" => format!("a contact request was declined (request {request})"),
        "added" => {
            let contact = fields
                .account_in("contact")
                .unwrap_or(fields.str("account_id"));
            format!("{} is now your contact", directory.name(contact))
        }
        "removed" => format!(
            "{} is no longer your contact",
            directory.name(fields.str("account_id"))
        ),
        // Only ever in the account's own log: the contact never learns it.
        "updated" => match fields.opt("remark") {
            Some(remark) => format!(
                "you now call {} \"{remark}\" (a remark only you see)",
                directory.name(fields.str("account_id"))
            ),
            None => format!(
                "you cleared your remark for {}",
                directory.name(fields.str("account_id"))
            ),
        },
        // Only ever in the blocker's own log: the blocked are not told.
        "blocked" if fields.flag("blocked") => {
            format!("you blocked {}", directory.name(fields.str("account_id")))
        }
        "blocked" => format!("you unblocked {}", directory.name(fields.str("account_id"))),
        _ => return None,
    })
}

/// Moments' events reach the post's author and the one replied to.
fn moment(what: &str, fields: &Fields<'_>, directory: &Directory) -> Option<String> {
    let who = directory.name(fields.str("account_id"));
    let post = fields.str("moment_id");
    let whose = if directory.is_me(fields.str("author_id")) {
        "your".to_owned()
    } else {
        format!("{}'s", directory.name(fields.str("author_id")))
    };
    Some(match what {
        "liked" => format!("{who} liked your moment [{post}]"),
        "commented" if fields.opt("reply_to").is_some() => format!(
            "{who} replied to you on {whose} moment [{post}]: {}",
            fields.str("text")
        ),
        "commented" => format!(
            "{who} commented on {whose} moment [{post}]: {}",
            fields.str("text")
        ),
        _ => return None,
    })
}

fn wallet(what: &str, fields: &Fields<'_>) -> Option<String> {
    let amount = fields.money();
    let balance = match (
        fields.0.get("balance_minor").and_then(Value::as_i64),
        fields.opt("currency"),
    ) {
        (Some(balance), Some(currency)) => format!("; balance {}", money(balance, currency)),
        _ => String::new(),
    };
    let kind = fields.str("kind");
    Some(match (what, kind) {
        ("credited", "topup") => format!("you topped up {amount}{balance}"),
        ("debited", "withdrawal") => format!("you withdrew {amount}{balance}"),
        ("credited", _) => format!(
            "{amount} came into your wallet ({}){balance}",
            kind.replace('_', " ")
        ),
        ("debited", _) => format!(
            "{amount} left your wallet ({}){balance}",
            kind.replace('_', " ")
        ),
        ("pin_reset", _) => format!(
            "your payment PIN is being reset: the new PIN takes effect at {}, and no money \
             leaves your wallet until then (not you? `piazza wallet pin --change` cancels it)",
            short_time(fields.str("effective_at"))
        ),
        ("pin_changed", _) if fields.flag("reset_cancelled") => {
            "your payment PIN was changed, and the reset that was waiting is cancelled".to_owned()
        }
        ("pin_changed", _) => "your payment PIN was changed".to_owned(),
        _ => return None,
    })
}

fn transfer(what: &str, fields: &Fields<'_>, directory: &Directory) -> Option<String> {
    let id = fields.str("transfer_id");
    let amount = fields.money();
    let from = fields.str("from");
    let mine = directory.is_me(from);
    let sender = directory.name(from);
    let recipient = directory.name(fields.str("to"));
    Some(match what {
        "sent" => format!("you sent {recipient} {amount} ({id}); it waits for them to accept"),
        "received" => {
            format!("{sender} sent you {amount} ({id}): accept with `piazza transfer accept {id}`")
        }
        "accepted" if mine => format!("{recipient} accepted your transfer of {amount} ({id})"),
        "accepted" => format!("you accepted the transfer of {amount} from {sender} ({id})"),
        "declined" if mine => format!(
            "{recipient} declined your transfer of {amount}; it is back in your wallet ({id})"
        ),
        "declined" => format!("you declined the transfer of {amount} from {sender} ({id})"),
        "returned" if mine => format!(
            "your transfer of {amount} to {recipient} was not accepted in time and is back in \
             your wallet ({id})"
        ),
        "returned" => {
            format!("the transfer of {amount} from {sender} went back to them unaccepted ({id})")
        }
        _ => return None,
    })
}

fn red_packet(what: &str, fields: &Fields<'_>, directory: &Directory) -> Option<String> {
    let id = fields.str("red_packet_id");
    let amount = fields.money();
    let place = directory.place(fields.str("conversation_id"));
    let sender = fields.str("sender");
    let claimer = fields.str("claimer");
    Some(match what {
        "claimed" => match (directory.is_me(claimer), directory.is_me(sender)) {
            (true, true) => {
                format!("you claimed {amount} from your own red packet in {place} ({id})")
            }
            (true, false) => format!(
                "you claimed {amount} from the red packet of {} in {place} ({id})",
                directory.name(sender)
            ),
            (false, _) => format!(
                "{} claimed {amount} from your red packet in {place} ({id})",
                directory.name(claimer)
            ),
        },
        "refunded" => {
            format!("the unclaimed {amount} of your red packet in {place} came back ({id})")
        }
        _ => return None,
    })
}

fn payment(what: &str, fields: &Fields<'_>, directory: &Directory) -> Option<String> {
    let id = fields.str("payment_id");
    let amount = fields.money();
    let merchant = fields
        .opt("merchant_name")
        .unwrap_or(fields.str("merchant_id"));
    let buyer = fields.str("buyer");
    let who = directory.who(buyer);
    let collected = fields.flag("collected");
    Some(match what {
        "sent" if collected => format!("{merchant} collected {amount} from your wallet ({id})"),
        "sent" => format!("you paid {merchant} {amount} ({id})"),
        "received" if collected => format!("{merchant} collected {amount} from {who} ({id})"),
        "received" => format!("{who} paid {merchant} {amount} ({id})"),
        "refunded" => format!("{merchant} refunded {amount} to {who} ({id})"),
        "confirmation_requested" => format!(
            "{merchant} asks to collect {amount} from your wallet, waiting for confirmation: \
             `piazza payment confirm {id}` (or `decline`)"
        ),
        "declined" => format!("{who} declined the collection of {amount} by {merchant} ({id})"),
        "expired" => format!(
            "the collection of {amount} by {merchant} from {who} was not confirmed in time ({id})"
        ),
        _ => return None,
    })
}

/// An order's move, from the buyer's side or the shop's (the event goes
/// to both). The event does not say who of the shop's staff moved it, so
/// the shop's side reads it as the shop's.
fn order(fields: &Fields<'_>, directory: &Directory) -> String {
    let order = OrderEvent::read(fields, directory);
    let OrderEvent {
        id,
        shop,
        mine,
        buyer,
        ..
    } = &order;
    let total = order.amount("total_minor");
    match (fields.str("action"), *mine) {
        ("placed", true) => format!(
            "you placed order [{id}] with {shop} for {total}: pay it with `piazza order pay {id}`"
        ),
        ("placed", false) => format!(
            "{buyer} placed order [{id}] with {shop} for {total}; it waits for their payment"
        ),
        ("paid", true) => format!(
            "you paid {total} for order [{id}] with {shop}: it is held for the shop until you \
             confirm the order arrived"
        ),
        ("paid", false) => format!(
            "{buyer} paid {total} for order [{id}] with {shop}: ship it with \
             `piazza order ship {id} --carrier … --tracking …`"
        ),
        ("shipped", true) => format!(
            "{shop} shipped your order [{id}]: once it arrives, `piazza order confirm {id}`"
        ),
        ("shipped", false) => format!("{shop} shipped order [{id}] to {buyer}"),
        ("confirmed", _) => format!(
            "{} confirmed order [{id}] arrived: the money held went to {shop}",
            if *mine { "you" } else { buyer.as_str() }
        ),
        ("auto_confirmed", _) => format!(
            "order [{id}] with {shop} was confirmed by itself, long enough after shipping: \
             the money held went to {shop}"
        ),
        ("cancelled", _) => format!(
            "order [{id}] of {} with {shop} was cancelled: what was paid went back and its \
             stock was released",
            if *mine { "yours" } else { buyer.as_str() }
        ),
        ("expired", _) => format!(
            "order [{id}] with {shop} was not paid in time and is cancelled; its stock was \
             released"
        ),
        (action, _) => order_refund(action, &order).unwrap_or_else(|| {
            format!(
                "order [{id}] with {shop}: {}, now {}",
                action.replace('_', " "),
                fields.str("status").replace('_', " ")
            )
        }),
    }
}

/// What every sentence of an `order.updated` needs.
struct OrderEvent<'a> {
    fields: &'a Fields<'a>,
    id: &'a str,
    shop: &'a str,
    /// Whether the reader is the buyer.
    mine: bool,
    buyer: String,
}

impl<'a> OrderEvent<'a> {
    fn read(fields: &'a Fields<'a>, directory: &Directory) -> OrderEvent<'a> {
        let buyer = fields.str("buyer");
        OrderEvent {
            fields,
            id: fields.str("order_id"),
            shop: fields.str("shop_name"),
            mine: directory.is_me(buyer),
            buyer: directory.name(buyer),
        }
    }

    /// The field `name`, in minor units of the event's currency, as money.
    fn amount(&self, name: &str) -> String {
        let minor = self.fields.0.get(name).and_then(Value::as_i64);
        match (minor, self.fields.opt("currency")) {
            (Some(minor), Some(currency)) => money(minor, currency),
            _ => "an amount".to_owned(),
        }
    }
}

/// A refund request's moves, each with the request's number.
fn order_refund(action: &str, order: &OrderEvent<'_>) -> Option<String> {
    let OrderEvent {
        id, shop, buyer, ..
    } = order;
    let refund = order.amount("refund_minor");
    let index = order.fields.text("refund_index");
    Some(match (action, order.mine) {
        ("refund_requested", true) => {
            format!("you asked {shop} for {refund} back on order [{id}] (refund request {index})")
        }
        ("refund_requested", false) => format!(
            "{buyer} asks for {refund} back on order [{id}] with {shop}: \
             `piazza order refund approve {id} {index}` (or reject)"
        ),
        ("refund_approved", true) => {
            format!("{shop} refunded you {refund} on order [{id}] (refund request {index})")
        }
        ("refund_approved", false) => format!(
            "the refund of {refund} to {buyer} on order [{id}] was approved (request {index})"
        ),
        ("refund_rejected", true) => format!(
            "{shop} turned down your request for {refund} back on order [{id}] (refund \
             request {index})"
        ),
        ("refund_rejected", false) => format!(
            "the refund of {refund} to {buyer} on order [{id}] was rejected (request {index})"
        ),
        _ => return None,
    })
}

fn account(what: &str, fields: &Fields<'_>, directory: &Directory) -> Option<String> {
    let id = fields
        .account_in("account")
        .or_else(|| fields.opt("account_id"))
        .unwrap_or("?");
    Some(match what {
        "updated" if directory.is_me(id) => "your profile was updated".to_owned(),
        "updated" => format!("{} updated their profile", directory.name(id)),
        "password_changed" => {
            let others_out = fields.flag("signed_out_other_devices");
            if others_out {
                "your password was changed, and your other devices were signed out".to_owned()
            } else {
                "your password was changed".to_owned()
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::directory;
    use super::*;

    fn event(type_: &str, fields: Value) -> EventView {
        let mut value = json!({"cursor": "v1.1", "type": type_, "at": "2025-01-02T10:00:00.5Z"});
        value
            .as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        serde_json::from_value(value).unwrap()
    }

    /// The sentence `watch` prints for an event of Ann's log.
    fn said(type_: &str, fields: Value) -> String {
        let mut directory = directory();
        let event = event(type_, fields);
        directory.learn(&event);
        event_sentence(&event, &directory)
    }

    /// `watch` prints others' words as safely as `history` does.
    #[test]
    fn a_watched_message_cannot_pass_for_another() {
        let directory = directory();
        let forged = event(
            "message.new",
            json!({"conversation_id": "conv_1", "seq": 5, "sender": "acct_2",
                   "text": "hi\r10:00:01  Ann Lee (@ann): sure\nnext", "kind": "text"}),
        );
        assert_eq!(
            event_line(&forged, &directory),
            "2025-01-02 10:00:00  Bob Chen (@bob): hi\\r10:00:01  Ann Lee (@ann): sure\n    next"
        );
        let renamed = event(
            "conversation.updated",
            json!({"conversation_id": "conv_9", "by": "acct_2", "title": "\u{1b}]0;pwned\u{7}"}),
        );
        let mut directory = directory;
        directory.learn(&renamed);
        assert!(
            !event_line(&renamed, &directory)
                .chars()
                .any(char::is_control)
        );
    }

    #[test]
    fn a_shared_article_reads_as_its_card() {
        let shared = event(
            "message.new",
            json!({"conversation_id": "conv_1", "seq": 6, "sender": "acct_2", "text": "",
                   "kind": "article_card",
                   "article": {"article_id": "art_3", "title": "Rain\r10:00:01  Ann Lee (@ann): sure",
                               "channel_id": "chn_1", "handle": "piazza.news",
                               "channel_name": "Piazza News", "url": "/c/piazza.news/art_3"}}),
        );
        assert_eq!(
            event_line(&shared, &directory()),
            "2025-01-02 10:00:00  Bob Chen (@bob): [article] Rain\\r10:00:01  Ann Lee (@ann): sure — Piazza News"
        );
    }

    #[test]
    fn the_accounts_an_event_names_by_id_are_found() {
        let created = event(
            "conversation.created",
            json!({"conversation_id": "conv_5",
            "kind": "group", "owner": "acct_1", "members": ["acct_1", "acct_7"]}),
        );
        assert_eq!(accounts_named(&created), ["acct_1", "acct_7", "acct_1"]);
        let request = event(
            "contact.request",
            json!({"request_id": "req_1",
            "from": {"account_id": "acct_3", "username": "carol"}}),
        );
        assert!(accounts_named(&request).is_empty());
    }

    #[test]
    fn the_profile_events_read_as_the_server_logs_them() {
        // To the one who declined; the asker by id.
        assert_eq!(
            said(
                "contact.request_declined",
                json!({"request_id": "req_4", "from": "acct_2"})
            ),
            "you declined the contact request of Bob Chen (@bob) (request req_4)"
        );
        assert_eq!(
            said(
                "conversation.updated",
                json!({"conversation_id": "conv_2", "title": "Trip",
                "avatar_media_id": null, "by": "acct_2"})
            ),
            "Bob Chen (@bob) updated the group Trip (its name or picture) [conv_2]"
        );
        assert_eq!(
            said(
                "conversation.updated",
                json!({"conversation_id": "conv_2", "title": "Trip", "avatar_media_id": null,
                "by": "acct_2", "announcement": "Meet at 9", "join_approval": true})
            ),
            "Bob Chen (@bob) updated the group Trip [conv_2]; its announcement: Meet at 9; \
             joining by invitation waits for an admin's approval"
        );
        assert_eq!(
            said(
                "conversation.role_changed",
                json!({"conversation_id": "conv_2", "account_id": "acct_2", "role": "admin",
                "by": "acct_1"})
            ),
            "you made Bob Chen (@bob) an admin of Weekend"
        );
        assert_eq!(
            said(
                "conversation.join_requested",
                json!({"conversation_id": "conv_2", "account_id": "acct_9",
                "display_name": "Eve Wu", "avatar_media_id": null})
            ),
            "Eve Wu asks to join Weekend (piazza group approve conv_2 acct_9, or decline)"
        );
        assert_eq!(
            said(
                "conversation.join_declined",
                json!({"conversation_id": "conv_7", "account_id": "acct_1", "by": "acct_2",
                "title": "Book club"})
            ),
            "Bob Chen (@bob) declined your request to join Book club"
        );
        // A member named by display name alone, not otherwise known.
        assert_eq!(
            said(
                "conversation.member_added",
                json!({"conversation_id": "conv_2",
                "account_id": "acct_8", "by": "acct_1", "display_name": "Dan Ho"})
            ),
            "you added Dan Ho to Weekend"
        );
        // A new name, without the username, for someone known.
        assert_eq!(
            said(
                "account.updated",
                json!({"account_id": "acct_2", "display_name": "Bobby",
                "avatar_media_id": null, "bio": ""})
            ),
            "Bobby (@bob) updated their profile"
        );
    }

    /// Every kind of event the server logs (the `rename`s of the wire
    /// form's `Event`, `piazza-api/src/events.rs`) has a sentence of its
    /// own: a new kind fails here until it gets one.
    #[test]
    fn every_kind_the_server_logs_has_a_sentence() {
        let source = include_str!("../../../../piazza-api/src/events.rs");
        let kinds: Vec<&str> = source
            .split("#[serde(rename = \"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(kinds.len() >= 29, "{kinds:?}");
        let generic = said("no.such_kind", json!({}));
        for kind in kinds {
            let sentence = said(kind, json!({}));
            assert_ne!(
                sentence,
                generic.replace("no.such_kind", kind),
                "{kind} has no sentence"
            );
        }
    }

    #[test]
    fn a_line_starts_with_the_time() {
        let line = event_line(
            &event("contact.removed", json!({"account_id": "acct_2"})),
            &directory(),
        );
        assert_eq!(
            line,
            "2025-01-02 10:00:00  Bob Chen (@bob) is no longer your contact"
        );
    }

    #[test]
    fn messages_name_their_sender_and_place_and_mark_their_kind() {
        let text = |sender, conversation, kind, text, reference: Option<&str>| {
            said(
                "message.new",
                json!({"conversation_id": conversation, "seq": 7, "sender": sender, "text": text,
                       "kind": kind, "ref": reference, "message_id": "msg_7",
                       "sent_at": "2025-01-02T10:00:00Z", "client_msg_id": "x"}),
            )
        };
        assert_eq!(
            text("acct_2", "conv_1", "text", "hello", None),
            "Bob Chen (@bob): hello"
        );
        assert_eq!(
            text("acct_1", "conv_1", "text", "hi", None),
            "you to Bob Chen: hi"
        );
        assert_eq!(
            text("acct_2", "conv_2", "text", "sat?", None),
            "Bob Chen (@bob) in Weekend: sat?"
        );
        assert_eq!(
            text("acct_1", "conv_2", "image", "", Some("med_1")),
            "you in Weekend: [picture]"
        );
        assert_eq!(
            text(
                "acct_2",
                "conv_1",
                "transfer",
                "Transfer of 12.34 CNY",
                Some("trf_1")
            ),
            "Bob Chen (@bob): [transfer 12.34 CNY] (trf_1)"
        );
    }

    #[test]
    fn conversations_and_contacts_read_as_sentences() {
        assert_eq!(
            said(
                "conversation.created",
                json!({"conversation_id": "conv_5", "kind": "group",
                "title": "Trip", "owner": "acct_1", "members": ["acct_1", "acct_2"]})
            ),
            "you created the group Trip with Bob Chen (@bob) [conv_5]"
        );
        assert_eq!(
            said(
                "conversation.created",
                json!({"conversation_id": "conv_6", "kind": "group",
                "title": "Work", "owner": "acct_2", "members": ["acct_1", "acct_2"]})
            ),
            "Bob Chen (@bob) added you to the group Work [conv_6]"
        );
        assert_eq!(
            said(
                "conversation.created",
                json!({"conversation_id": "conv_7", "kind": "direct",
                "title": null, "owner": null, "members": ["acct_1", "acct_2"]})
            ),
            "you can now chat with Bob Chen (@bob)"
        );
        assert_eq!(
            said(
                "conversation.member_removed",
                json!({"conversation_id": "conv_2", "account_id": "acct_2", "by": "acct_2"})
            ),
            "Bob Chen (@bob) left Weekend"
        );
        assert_eq!(
            said(
                "conversation.member_removed",
                json!({"conversation_id": "conv_2", "account_id": "acct_2", "by": "acct_1"})
            ),
            "you removed Bob Chen (@bob) from Weekend"
        );
        assert_eq!(
            said(
                "conversation.member_added",
                json!({"conversation_id": "conv_2", "account_id": "acct_1", "by": "acct_2"})
            ),
            "Bob Chen (@bob) added you to Weekend [conv_2]"
        );
        let carol =
            json!({"account_id": "acct_3", "username": "carol", "display_name": "Carol Wu"});
        let ann = json!({"account_id": "acct_1", "username": "ann", "display_name": "Ann Lee"});
        assert_eq!(
            said(
                "contact.request",
                json!({"request_id": "req_2", "from": carol, "to": ann,
                "greeting": "hi, it's Carol"})
            ),
            "Carol Wu (@carol) asks to be your contact: \"hi, it's Carol\"; accept with \
             `piazza contacts accept carol`"
        );
        assert_eq!(
            said(
                "contact.request",
                json!({"request_id": "req_3", "from": ann, "to": carol, "greeting": ""})
            ),
            "you asked Carol Wu (@carol) to be your contact (request req_3)"
        );
        assert_eq!(
            said(
                "contact.request_declined",
                json!({"request_id": "req_3", "from": ann, "to": carol})
            ),
            "Carol Wu (@carol) declined your contact request (request req_3)"
        );
        assert_eq!(
            said(
                "contact.added",
                json!({"account_id": "acct_3", "contact": carol})
            ),
            "Carol Wu (@carol) is now your contact"
        );
        assert_eq!(
            said(
                "contact.updated",
                json!({"account_id": "acct_2", "remark": "Bobby"})
            ),
            "you now call Bob Chen (@bob) \"Bobby\" (a remark only you see)"
        );
        assert_eq!(
            said(
                "contact.updated",
                json!({"account_id": "acct_2", "remark": null})
            ),
            "you cleared your remark for Bob Chen (@bob)"
        );
        assert_eq!(
            said(
                "contact.blocked",
                json!({"account_id": "acct_2", "blocked": true})
            ),
            "you blocked Bob Chen (@bob)"
        );
        assert_eq!(
            said(
                "contact.blocked",
                json!({"account_id": "acct_2", "blocked": false})
            ),
            "you unblocked Bob Chen (@bob)"
        );
        assert_eq!(
            said(
                "read.marker",
                json!({"conversation_id": "conv_1", "seq": 4, "device_id": "dev_2"})
            ),
            "you read your chat with Bob Chen up to #4 (on device dev_2)"
        );
        assert_eq!(
            said(
                "read.receipt",
                json!({"conversation_id": "conv_1", "account_id": "acct_2", "seq": 12})
            ),
            "Bob Chen (@bob) read your messages up to #12"
        );
        assert_eq!(
            said(
                "message.recalled",
                json!({"conversation_id": "conv_1", "message_id": "msg_4", "seq": 4,
                "recalled_by": "acct_2"})
            ),
            "Bob Chen (@bob) recalled message #4 in your chat with Bob Chen"
        );
        assert_eq!(
            said(
                "message.reaction",
                json!({"conversation_id": "conv_1", "message_id": "msg_4", "seq": 4,
                "account_id": "acct_2", "emoji": "👍", "added": true})
            ),
            "Bob Chen (@bob) reacted 👍 to #4 in your chat with Bob Chen"
        );
        assert_eq!(
            said(
                "message.reaction",
                json!({"conversation_id": "conv_1", "message_id": "msg_4", "seq": 4,
                "account_id": "acct_1", "emoji": "👍", "added": false})
            ),
            "you took back 👍 from #4 in your chat with Bob Chen"
        );
        assert_eq!(
            said(
                "message.deleted",
                json!({"conversation_id": "conv_1", "message_id": "msg_4", "seq": 4})
            ),
            "you deleted message #4 in your chat with Bob Chen for yourself"
        );
        assert_eq!(
            said(
                "conversation.settings",
                json!({"conversation_id": "conv_1", "muted": true, "pinned": true, "archived": false})
            ),
            "your chat with Bob Chen is now pinned and muted for you"
        );
        assert_eq!(
            said(
                "message.new",
                json!({"conversation_id": "conv_1", "message_id": "msg_4", "seq": 4,
                "sender": "acct_2", "text": "", "kind": "text", "recalled": true,
                "sent_at": "2025-01-02T10:00:00Z", "client_msg_id": "x"})
            ),
            "Bob Chen (@bob): [recalled]"
        );
    }

    #[test]
    fn transfers_read_from_each_side() {
        let transfer = |type_: &str, from: &str, to: &str| {
            said(
                type_,
                json!({"transfer_id": "trf_1", "from": from, "to": to,
                "amount_minor": 1234, "currency": "CNY", "status": "pending"}),
            )
        };
        assert_eq!(
            transfer("transfer.sent", "acct_1", "acct_2"),
            "you sent Bob Chen (@bob) 12.34 CNY (trf_1); it waits for them to accept"
        );
        assert_eq!(
            transfer("transfer.received", "acct_2", "acct_1"),
            "Bob Chen (@bob) sent you 12.34 CNY (trf_1): accept with `piazza transfer accept trf_1`"
        );
        assert_eq!(
            transfer("transfer.accepted", "acct_1", "acct_2"),
            "Bob Chen (@bob) accepted your transfer of 12.34 CNY (trf_1)"
        );
        assert_eq!(
            transfer("transfer.accepted", "acct_2", "acct_1"),
            "you accepted the transfer of 12.34 CNY from Bob Chen (@bob) (trf_1)"
        );
        assert!(
            transfer("transfer.declined", "acct_1", "acct_2").contains("declined your transfer")
        );
        assert!(transfer("transfer.returned", "acct_1", "acct_2").contains("back in your wallet"));
        assert!(
            transfer("transfer.returned", "acct_2", "acct_1")
                .contains("from Bob Chen (@bob) went back")
        );
    }

    #[test]
    fn payments_and_collections_read_as_sentences() {
        let payment = |type_: &str, collected: bool| {
            said(
                type_,
                json!({"payment_id": "pay_2", "merchant_id": "mer_1", "buyer": "acct_1",
                "amount_minor": 200, "currency": "CNY", "merchant_name": "Ann's Noodles",
                "collected": collected}),
            )
        };
        assert_eq!(
            payment("payment.sent", true),
            "Ann's Noodles collected 2.00 CNY from your wallet (pay_2)"
        );
        assert_eq!(
            payment("payment.sent", false),
            "you paid Ann's Noodles 2.00 CNY (pay_2)"
        );
        assert_eq!(
            payment("payment.received", true),
            "Ann's Noodles collected 2.00 CNY from you (pay_2)"
        );
        assert_eq!(
            payment("payment.refunded", false),
            "Ann's Noodles refunded 2.00 CNY to you (pay_2)"
        );
        let waiting = payment("payment.confirmation_requested", true);
        assert!(waiting.contains("waiting for confirmation"), "{waiting}");
        assert!(!waiting.contains("collected"), "{waiting}");
        assert!(
            waiting.contains("`piazza payment confirm pay_2`"),
            "{waiting}"
        );
        assert_eq!(
            payment("payment.declined", true),
            "you declined the collection of 2.00 CNY by Ann's Noodles (pay_2)"
        );
        assert!(payment("payment.expired", true).contains("not confirmed in time"));
        // An entry logged before merchant names were kept names the merchant by id.
        let old = said(
            "payment.sent",
            json!({"payment_id": "pay_1", "merchant_id": "mer_1",
            "buyer": "acct_1", "amount_minor": 350, "currency": "CNY"}),
        );
        assert_eq!(old, "you paid mer_1 3.50 CNY (pay_1)");
    }

    #[test]
    fn wallets_and_red_packets_read_as_sentences() {
        assert_eq!(
            said(
                "wallet.credited",
                json!({"transaction_id": "txn_1", "kind": "topup",
                "amount_minor": 10000, "currency": "CNY", "balance_minor": 10000})
            ),
            "you topped up 100.00 CNY; balance 100.00 CNY"
        );
        assert_eq!(
            said(
                "wallet.debited",
                json!({"transaction_id": "txn_2", "kind": "withdrawal",
                "amount_minor": 1000, "currency": "CNY", "balance_minor": 9000})
            ),
            "you withdrew 10.00 CNY; balance 90.00 CNY"
        );
        assert_eq!(
            said("wallet.pin_changed", json!({"reset_cancelled": false})),
            "your payment PIN was changed"
        );
        assert_eq!(
            said(
                "article.published",
                json!({"channel_id": "chn_5", "handle": "piazza.news",
                       "channel_name": "Piazza News", "article_id": "art_9",
                       "title": "Hello", "url": "/c/piazza.news/art_9"}),
            ),
            "Piazza News (@piazza.news) published \"Hello\" (art_9, /c/piazza.news/art_9)"
        );
        let reset = said(
            "wallet.pin_reset",
            json!({"effective_at": "2025-01-03T10:00:00Z"}),
        );
        assert!(
            reset.contains("2025-01-03 10:00:00") && reset.contains("--change"),
            "{reset}"
        );
        let packet = |claimer: &str, sender: &str| {
            said(
                "red_packet.claimed",
                json!({"red_packet_id": "rpk_1", "conversation_id": "conv_2",
                "sender": sender, "claimer": claimer, "amount_minor": 300, "currency": "CNY"}),
            )
        };
        assert_eq!(
            packet("acct_2", "acct_1"),
            "Bob Chen (@bob) claimed 3.00 CNY from your red packet in Weekend (rpk_1)"
        );
        assert_eq!(
            packet("acct_1", "acct_2"),
            "you claimed 3.00 CNY from the red packet of Bob Chen (@bob) in Weekend (rpk_1)"
        );
        assert!(
            said(
                "red_packet.refunded",
                json!({"red_packet_id": "rpk_1", "conversation_id": "conv_2",
            "sender": "acct_1", "amount_minor": 300, "currency": "CNY"})
            )
            .contains("came back")
        );
    }

    #[test]
    fn each_move_of_an_order_reads_from_the_buyer_and_from_the_shop() {
        let moved = |action: &str, buyer: &str| {
            said(
                "order.updated",
                json!({"order_id": "ord_1", "shop_id": "shop_1", "shop_name": "Nonna's Pasta",
                       "buyer": buyer, "action": action, "status": "paid", "total_minor": 3750,
                       "currency": "CNY", "refunded_minor": 0, "refund_index": 0,
                       "refund_minor": 500}),
            )
        };
        // Ann (acct_1) buys; Bob (acct_2) buys from Ann's shop.
        assert_eq!(
            moved("placed", "acct_1"),
            "you placed order [ord_1] with Nonna's Pasta for 37.50 CNY: pay it with \
             `piazza order pay ord_1`"
        );
        assert_eq!(
            moved("placed", "acct_2"),
            "Bob Chen (@bob) placed order [ord_1] with Nonna's Pasta for 37.50 CNY; it waits \
             for their payment"
        );
        assert!(moved("paid", "acct_1").starts_with("you paid 37.50 CNY for order [ord_1]"));
        assert!(
            moved("paid", "acct_2").contains("`piazza order ship ord_1 --carrier"),
            "the shop is told what to do next"
        );
        assert_eq!(
            moved("shipped", "acct_1"),
            "Nonna's Pasta shipped your order [ord_1]: once it arrives, \
             `piazza order confirm ord_1`"
        );
        assert_eq!(
            moved("shipped", "acct_2"),
            "Nonna's Pasta shipped order [ord_1] to Bob Chen (@bob)"
        );
        assert!(moved("confirmed", "acct_2").starts_with("Bob Chen (@bob) confirmed order"));
        assert!(moved("confirmed", "acct_1").starts_with("you confirmed order [ord_1]"));
        assert!(moved("auto_confirmed", "acct_1").contains("confirmed by itself"));
        assert!(moved("cancelled", "acct_1").contains("order [ord_1] of yours"));
        assert!(moved("cancelled", "acct_2").contains("of Bob Chen (@bob)"));
        assert!(moved("expired", "acct_1").contains("not paid in time"));
        assert_eq!(
            moved("refund_requested", "acct_1"),
            "you asked Nonna's Pasta for 5.00 CNY back on order [ord_1] (refund request 0)"
        );
        assert_eq!(
            moved("refund_requested", "acct_2"),
            "Bob Chen (@bob) asks for 5.00 CNY back on order [ord_1] with Nonna's Pasta: \
             `piazza order refund approve ord_1 0` (or reject)"
        );
        assert_eq!(
            moved("refund_approved", "acct_1"),
            "Nonna's Pasta refunded you 5.00 CNY on order [ord_1] (refund request 0)"
        );
        assert!(moved("refund_approved", "acct_2").contains("to Bob Chen (@bob)"));
        assert!(moved("refund_rejected", "acct_1").contains("turned down your request"));
        assert!(moved("refund_rejected", "acct_2").contains("was rejected (request 0)"));
        assert_eq!(
            moved("relabelled", "acct_1"),
            "order [ord_1] with Nonna's Pasta: relabelled, now paid"
        );
        // The shop's name is the shop's words: it cannot forge a line.
        let forged = event(
            "order.updated",
            json!({"order_id": "ord_1", "shop_name": "Shop\r10:00:01  you paid", "buyer": "acct_1",
                   "action": "shipped"}),
        );
        assert!(
            !event_line(&forged, &directory())
                .chars()
                .any(char::is_control)
        );
    }

    #[test]
    fn account_events_and_unknown_kinds_never_print_json() {
        assert_eq!(
            said(
                "account.updated",
                json!({"account": {"account_id": "acct_2", "username": "bob",
                "display_name": "Bobby"}})
            ),
            "Bobby (@bob) updated their profile"
        );
        assert_eq!(
            said(
                "account.updated",
                json!({"account_id": "acct_1", "username": "ann", "display_name": "Ann"})
            ),
            "your profile was updated"
        );
        assert_eq!(
            said(
                "account.password_changed",
                json!({"by_device_id": "dev_1", "signed_out_other_devices": true})
            ),
            "your password was changed, and your other devices were signed out"
        );
        assert_eq!(
            said("account.password_changed", json!({})),
            "your password was changed"
        );
        let future = said("moment.posted", json!({"moment_id": "mom_1", "text": "{}"}));
        assert_eq!(
            future,
            "something this piazza cannot describe happened (moment.posted); a newer piazza can"
        );
        let sparse = said("message.new", json!({}));
        assert_eq!(sparse, "?: ");
        let odd = said("transfer.reversed", json!({"transfer_id": "trf_1"}));
        assert!(
            odd.contains("transfer.reversed") && !odd.contains('{'),
            "{odd}"
        );
    }
}
