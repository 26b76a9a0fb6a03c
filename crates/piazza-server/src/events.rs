//! Log entries on the wire: the same JSON object over `/sync`, long-poll and
//! the WebSocket. `cursor`, `type` and `at` are always there; the rest
//! depends on the type.

use piazza_api::EventView;
use piazza_domain::Cursor;
use piazza_domain::MediaId;
use piazza_domain::event::{AccountRef, Event, LogEntry, Named};
use serde_json::{Map, Value, json};

fn account_ref(account: &AccountRef) -> Value {
    json!({
        "account_id": account.account_id.to_string(),
        "username": account.username.as_str(),
        "display_name": account.display_name,
        "avatar_media_id": media(account.avatar_media_id),
    })
}

fn media(media: Option<MediaId>) -> Option<String> {
    media.map(|media| media.to_string())
}

/// Adds an account's name and picture to an event that names it by id;
/// entries logged before profiles have neither, and say nothing of them.
fn with_named(mut fields: Value, named: &Named) -> Value {
    if let Some(display_name) = &named.display_name {
        fields["display_name"] = json!(display_name);
        fields["avatar_media_id"] = json!(media(named.avatar_media_id));
    }
    fields
}

pub fn to_view(entry: &LogEntry) -> EventView {
    let fields = match &entry.event {
        Event::MessageNew(message) => json!({
            "conversation_id": message.conversation_id.to_string(),
            "message_id": message.message_id.to_string(),
            "seq": message.seq.get(),
            "sender": message.sender.to_string(),
            "text": message.text.as_str(),
            "sent_at": message.sent_at.to_rfc3339(),
            "client_msg_id": message.client_msg_id.as_str(),
            "kind": message.kind.as_deref().unwrap_or("text"),
            "ref": message.reference,
        }),
        Event::ConversationCreated {
            conversation_id,
            kind,
            title,
            owner,
            members,
            avatar_media_id,
        } => json!({
            "conversation_id": conversation_id.to_string(),
            "kind": kind.as_str(),
            "title": title,
            "owner": owner.map(|owner| owner.to_string()),
            "members": members.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "avatar_media_id": media(*avatar_media_id),
        }),
        Event::ConversationUpdated {
            conversation_id,
            title,
            avatar_media_id,
            by,
        } => json!({
            "conversation_id": conversation_id.to_string(),
            "title": title,
            "avatar_media_id": media(*avatar_media_id),
            "by": by.to_string(),
        }),
        Event::MemberAdded {
            conversation_id,
            account_id,
            by,
            member,
        } => with_named(
            json!({
                "conversation_id": conversation_id.to_string(),
                "account_id": account_id.to_string(),
                "by": by.to_string(),
            }),
            member,
        ),
        Event::MemberRemoved {
            conversation_id,
            account_id,
            by,
            owner,
            member,
        } => with_named(
            json!({
                "conversation_id": conversation_id.to_string(),
                "account_id": account_id.to_string(),
                "by": by.to_string(),
                "owner": owner.map(|owner| owner.to_string()),
            }),
            member,
        ),
        Event::ContactRequest {
            request_id,
            from,
            to,
            greeting,
        } => json!({
            "request_id": request_id.to_string(),
            "from": account_ref(from),
            "to": account_ref(to),
            "greeting": greeting,
        }),
        Event::ContactAdded { contact } => json!({
            "account_id": contact.account_id.to_string(),
            "contact": account_ref(contact),
        }),
        Event::ContactRequestDeclined { request_id, from } => json!({
            "request_id": request_id.to_string(),
            "from": from.to_string(),
        }),
        Event::ContactRemoved {
            account_id,
            contact,
        } => with_named(json!({ "account_id": account_id.to_string() }), contact),
        Event::AccountUpdated {
            account_id,
            display_name,
            avatar_media_id,
            bio,
        } => json!({
            "account_id": account_id.to_string(),
            "display_name": display_name,
            "avatar_media_id": media(*avatar_media_id),
            "bio": bio,
        }),
        Event::PasswordChanged {
            by_device_id,
            signed_out_other_devices,
        } => json!({
            "by_device_id": by_device_id.to_string(),
            "signed_out_other_devices": signed_out_other_devices,
        }),
        Event::ReadMarker {
            conversation_id,
            seq,
            device_id,
        } => json!({
            "conversation_id": conversation_id.to_string(),
            "seq": seq.get(),
            "device_id": device_id.to_string(),
        }),
        Event::ReadReceipt {
            conversation_id,
            account_id,
            seq,
        } => json!({
            "conversation_id": conversation_id.to_string(),
            "account_id": account_id.to_string(),
            "seq": seq.get(),
        }),
        Event::WalletCredited(movement) | Event::WalletDebited(movement) => json!({
            "transaction_id": movement.transaction_id.to_string(),
            "kind": movement.kind,
            "amount_minor": movement.amount_minor,
            "currency": movement.currency,
            "balance_minor": movement.balance_minor,
        }),
        Event::TransferSent(transfer)
        | Event::TransferReceived(transfer)
        | Event::TransferAccepted(transfer)
        | Event::TransferDeclined(transfer)
        | Event::TransferReturned(transfer) => json!({
            "transfer_id": transfer.transfer_id.to_string(),
            "from": transfer.from.to_string(),
            "to": transfer.to.to_string(),
            "amount_minor": transfer.amount_minor,
            "currency": transfer.currency,
            "status": transfer.status,
        }),
        Event::RedPacketClaimed(packet) | Event::RedPacketRefunded(packet) => json!({
            "red_packet_id": packet.red_packet_id.to_string(),
            "conversation_id": packet.conversation_id.to_string(),
            "sender": packet.sender.to_string(),
            "claimer": packet.claimer.map(|claimer| claimer.to_string()),
            "amount_minor": packet.amount_minor,
            "currency": packet.currency,
        }),
        Event::PaymentSent(payment)
        | Event::PaymentReceived(payment)
        | Event::PaymentRefunded(payment)
        | Event::PaymentConfirmationRequested(payment)
        | Event::PaymentDeclined(payment)
        | Event::PaymentExpired(payment) => json!({
            "payment_id": payment.payment_id.to_string(),
            "merchant_id": payment.merchant_id.to_string(),
            "buyer": payment.buyer.to_string(),
            "amount_minor": payment.amount_minor,
            "currency": payment.currency,
            "refund_id": payment.refund_id.map(|refund| refund.to_string()),
            "merchant_name": payment.merchant_name,
            "collected": payment.collected,
        }),
        Event::PinReset { effective_at } => json!({ "effective_at": effective_at.to_rfc3339() }),
        Event::PinChanged { reset_cancelled } => json!({ "reset_cancelled": reset_cancelled }),
    };
    let Value::Object(mut fields) = fields else {
        unreachable!("every event encodes as an object")
    };
    // A message's `ref` is there only when it stands for something.
    if fields.get("ref").is_some_and(Value::is_null) {
        fields.remove("ref");
    }
    // Likewise a payment event's `refund_id`, only on `payment.refunded`,
    // and its `merchant_name`, absent from entries logged before it was.
    for optional in ["refund_id", "merchant_name"] {
        if fields.get(optional).is_some_and(Value::is_null) {
            fields.remove(optional);
        }
    }
    // `collected` is there only when true: a collection by the merchant.
    if fields.get("collected") == Some(&Value::Bool(false)) {
        fields.remove("collected");
    }
    EventView {
        cursor: Cursor::at(entry.seq).to_string(),
        type_: entry.event.type_name().to_owned(),
        at: entry.at.to_rfc3339(),
        fields: fields_without_reserved(fields),
    }
}

fn fields_without_reserved(mut fields: Map<String, Value>) -> Map<String, Value> {
    for reserved in ["cursor", "type", "at"] {
        debug_assert!(!fields.contains_key(reserved));
        fields.remove(reserved);
    }
    fields
}

pub fn to_json(entry: &LogEntry) -> String {
    serde_json::to_string(&to_view(entry)).expect("an event always encodes")
}
