//! Turning events and messages into one readable line each, with account
//! ids replaced by usernames wherever the CLI knows them.

use std::collections::HashMap;

use piazza_api::{AccountView, EventView, MessageView};
use serde_json::Value;

/// The usernames the CLI knows: its own and its contacts', learned along
/// the way from contact events.
#[derive(Debug, Default)]
pub struct Directory {
    me: String,
    usernames: HashMap<String, String>,
}

impl Directory {
    pub fn new(me: &AccountView, contacts: &[AccountView]) -> Directory {
        let usernames = std::iter::once(me)
            .chain(contacts)
            .map(|account| (account.account_id.clone(), account.username.clone()))
            .collect();
        Directory {
            me: me.account_id.clone(),
            usernames,
        }
    }

    /// The username for `account_id`, or the id itself when unknown (a
    /// group member who is not a contact).
    pub fn name<'a>(&'a self, account_id: &'a str) -> &'a str {
        self.usernames
            .get(account_id)
            .map_or(account_id, String::as_str)
    }

    pub fn is_me(&self, account_id: &str) -> bool {
        self.me == account_id
    }

    /// Picks up the names that contact events carry.
    pub fn learn(&mut self, event: &EventView) {
        let account = match event.type_.as_str() {
            "contact.added" => event.fields.get("contact"),
            "contact.request" => event.fields.get("from"),
            _ => None,
        };
        let id = account.and_then(|account| account.get("account_id")?.as_str());
        let username = account.and_then(|account| account.get("username")?.as_str());
        if let (Some(id), Some(username)) = (id, username) {
            self.usernames.insert(id.to_owned(), username.to_owned());
        }
    }
}

/// One line for a message of `piazza history`.
pub fn message_line(message: &MessageView, directory: &Directory) -> String {
    format!(
        "#{} {} {}: {}",
        message.seq,
        message.sent_at,
        directory.name(&message.sender),
        message.text
    )
}

/// One line for an event of `piazza watch`. Fields the CLI does not find
/// show as `?` rather than failing: a newer server may shape events a
/// little differently, and the line is only for reading.
pub fn event_line(event: &EventView, directory: &Directory) -> String {
    let field = |name: &str| plain(event.fields.get(name));
    let account = |name: &str| {
        let id = field(name);
        directory.name(&id).to_owned()
    };
    let conversation = field("conversation_id");
    let what = match event.type_.as_str() {
        "message.new" => format!(
            "[{conversation} #{}] {}: {}",
            field("seq"),
            account("sender"),
            field("text")
        ),
        "conversation.created" => {
            let title = match event.fields.get("title") {
                Some(Value::String(title)) => format!(" \"{title}\""),
                _ => String::new(),
            };
            format!("new {} conversation {conversation}{title}", field("kind"))
        }
        "conversation.member_added" => format!(
            "{} joined {conversation} (added by {})",
            account("account_id"),
            account("by")
        ),
        "conversation.member_removed" if field("account_id") == field("by") => {
            format!("{} left {conversation}", account("account_id"))
        }
        "conversation.member_removed" => format!(
            "{} was removed from {conversation} by {}",
            account("account_id"),
            account("by")
        ),
        "contact.request" => {
            let from = event.fields.get("from");
            let from_id = plain(from.and_then(|from| from.get("account_id")));
            let request = field("request_id");
            let greeting = field("greeting");
            if directory.is_me(&from_id) {
                let to = plain(event.fields.get("to").and_then(|to| to.get("username")));
                format!("you asked {to} to be a contact (request {request})")
            } else {
                let from = plain(from.and_then(|from| from.get("username")));
                format!(
                    "{from} asks to be a contact: \"{greeting}\"; \
                     accept with `piazza contacts accept {request}`"
                )
            }
        }
        "contact.added" => {
            let contact = event.fields.get("contact");
            let username = plain(contact.and_then(|contact| contact.get("username")));
            format!("{username} is now a contact")
        }
        "contact.removed" => format!("{} is no longer a contact", account("account_id")),
        "read.marker" => format!(
            "read {conversation} up to #{} on device {}",
            field("seq"),
            field("device_id")
        ),
        other => format!("{other} {}", Value::Object(event.fields.clone())),
    };
    format!("{} {what}", event.at)
}

/// A JSON scalar as a person would write it: strings without quotes.
fn plain(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => "?".to_owned(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn account(id: &str, username: &str) -> AccountView {
        AccountView {
            account_id: id.to_owned(),
            username: username.to_owned(),
            display_name: username.to_uppercase(),
            ..AccountView::default()
        }
    }

    fn directory() -> Directory {
        Directory::new(&account("a1", "alice"), &[account("a2", "bob")])
    }

    fn event(value: serde_json::Value) -> EventView {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_message_names_its_sender() {
        let message = event(json!({
            "cursor": "v1.1", "type": "message.new", "at": "2025-01-01T10:00:00Z",
            "conversation_id": "c1", "message_id": "m1", "seq": 7, "sender": "a2",
            "text": "hello", "sent_at": "2025-01-01T10:00:00Z", "client_msg_id": "x"
        }));
        assert_eq!(
            event_line(&message, &directory()),
            "2025-01-01T10:00:00Z [c1 #7] bob: hello"
        );
    }

    #[test]
    fn an_unknown_sender_shows_as_its_id() {
        let message = MessageView {
            message_id: "m".to_owned(),
            seq: 2,
            sender: "a9".to_owned(),
            text: "hi".to_owned(),
            sent_at: "t".to_owned(),
            client_msg_id: "x".to_owned(),
            kind: "text".to_owned(),
            ref_: None,
        };
        assert_eq!(message_line(&message, &directory()), "#2 t a9: hi");
    }

    #[test]
    fn membership_events_read_as_sentences() {
        let directory = directory();
        let left = event(json!({"cursor": "c", "type": "conversation.member_removed",
            "at": "t", "conversation_id": "g", "account_id": "a2", "by": "a2"}));
        assert_eq!(event_line(&left, &directory), "t bob left g");
        let removed = event(json!({"cursor": "c", "type": "conversation.member_removed",
            "at": "t", "conversation_id": "g", "account_id": "a2", "by": "a1"}));
        assert_eq!(
            event_line(&removed, &directory),
            "t bob was removed from g by alice"
        );
        let created = event(json!({"cursor": "c", "type": "conversation.created",
            "at": "t", "conversation_id": "g", "kind": "group", "title": "Team"}));
        assert_eq!(
            event_line(&created, &directory),
            "t new group conversation g \"Team\""
        );
    }

    #[test]
    fn contact_events_teach_the_directory_new_names() {
        let mut directory = directory();
        let request = event(json!({"cursor": "c", "type": "contact.request", "at": "t",
            "request_id": "r1", "greeting": "hi!",
            "from": {"account_id": "a3", "username": "carol", "display_name": "C"},
            "to": {"account_id": "a1", "username": "alice", "display_name": "A"}}));
        directory.learn(&request);
        assert_eq!(directory.name("a3"), "carol");
        assert_eq!(
            event_line(&request, &directory),
            "t carol asks to be a contact: \"hi!\"; accept with `piazza contacts accept r1`"
        );
        let mine = event(json!({"cursor": "c", "type": "contact.request", "at": "t",
            "request_id": "r2", "greeting": "",
            "from": {"account_id": "a1", "username": "alice"},
            "to": {"account_id": "a4", "username": "dave"}}));
        assert_eq!(
            event_line(&mine, &directory),
            "t you asked dave to be a contact (request r2)"
        );
    }

    #[test]
    fn unknown_events_and_missing_fields_still_print() {
        let directory = directory();
        let future = event(json!({"cursor": "c", "type": "wallet.credited", "at": "t",
            "amount_minor": 100}));
        assert_eq!(
            event_line(&future, &directory),
            "t wallet.credited {\"amount_minor\":100}"
        );
        let sparse = event(json!({"cursor": "c", "type": "message.new", "at": "t"}));
        assert_eq!(event_line(&sparse, &directory), "t [? #?] ?: ?");
    }
}
