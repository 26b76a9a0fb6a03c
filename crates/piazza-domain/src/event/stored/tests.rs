//! The stored form of every event, pinned byte for byte: engines hold
//! entries in exactly these shapes, written by every release so far, so a
//! change here breaks reading them back (and needs a migration). Each line
//! is what `Event`'s own serde wrote before the stored form had types of
//! its own.

use std::collections::BTreeSet;

use super::Event;
use crate::event::{self as domain, Named, examples};

/// `examples::all()`'s events as engines keep them, in order.
const GOLDEN: &[(&str, &str)] = &[
    (
        "message text",
        r#"{"type":"message.new","message_id":40,"conversation_id":3,"seq":7,"sender":1,"client_msg_id":"c-1","text":"hello \"you\"","sent_at":1700000000123,"kind":null,"reference":null}"#,
    ),
    (
        "message transfer",
        r#"{"type":"message.new","message_id":40,"conversation_id":3,"seq":7,"sender":1,"client_msg_id":"c-1","text":"hello \"you\"","sent_at":1700000000123,"kind":"transfer","reference":"trf_5"}"#,
    ),
    (
        "message with extra",
        r#"{"type":"message.new","message_id":40,"conversation_id":3,"seq":7,"sender":1,"client_msg_id":"c-1","text":"hello \"you\"","sent_at":1700000000123,"kind":"location","reference":null,"extra":{"reply_to":39,"mentions":[2,3],"mention_all":true,"forward_of":{"conversation_id":4,"message_id":12},"location":{"lat_e7":454340000,"lon_e7":123388000,"name":"Piazza San Marco"},"card":{"account_id":5,"username":"bea","display_name":"Bea","avatar_media_id":8},"attachment":{"content_type":"audio/ogg","bytes":20480,"name":"note.ogg","duration_ms":4200}}}"#,
    ),
    (
        "message article card",
        r#"{"type":"message.new","message_id":40,"conversation_id":3,"seq":7,"sender":1,"client_msg_id":"c-1","text":"","sent_at":1700000000123,"kind":"article_card","reference":null,"extra":{"article":{"article_id":9,"title":"Hello, followers","channel_id":5,"handle":"piazza.news","channel_name":"Piazza News","cover_media_id":4}}}"#,
    ),
    (
        "message product card",
        r#"{"type":"message.new","message_id":40,"conversation_id":3,"seq":7,"sender":1,"client_msg_id":"c-1","text":"","sent_at":1700000000123,"kind":"product_card","reference":null,"extra":{"product":{"product_id":6,"title":"Tajarin","picture_media_id":4,"min_price_minor":1250,"max_price_minor":2200,"currency":"CNY","shop_id":2,"handle":"nonna.pasta","shop_name":"Nonna's Pasta"}}}"#,
    ),
    (
        "direct conversation",
        r#"{"type":"conversation.created","conversation_id":3,"kind":"direct","title":null,"owner":null,"members":[1,2]}"#,
    ),
    (
        "group conversation",
        r#"{"type":"conversation.created","conversation_id":3,"kind":"group","title":"Team","owner":1,"members":[1,2,3],"avatar_media_id":9}"#,
    ),
    (
        "order conversation",
        r#"{"type":"conversation.created","conversation_id":3,"kind":"order","title":"Nonna's Pasta · ord_7","owner":null,"members":[1,2,3]}"#,
    ),
    (
        "group snapshot with admins and an announcement",
        r#"{"type":"conversation.created","conversation_id":3,"kind":"group","title":"Team","owner":1,"members":[1,2,3],"admins":[2],"announcement":"Standup at 9:30\nBring \"notes\""}"#,
    ),
    (
        "group updated",
        r#"{"type":"conversation.updated","conversation_id":3,"title":"Team 2","avatar_media_id":9,"by":1}"#,
    ),
    (
        "group picture removed",
        r#"{"type":"conversation.updated","conversation_id":3,"title":"Team","avatar_media_id":null,"by":1}"#,
    ),
    (
        "group announcement and approval",
        r#"{"type":"conversation.updated","conversation_id":3,"title":"Team","avatar_media_id":null,"by":2,"announcement":"Standup at 9:30","join_approval":true}"#,
    ),
    (
        "member made admin",
        r#"{"type":"conversation.role_changed","conversation_id":3,"account_id":2,"role":"admin","by":1}"#,
    ),
    (
        "join requested",
        r#"{"type":"conversation.join_requested","conversation_id":3,"account_id":4,"display_name":"Dan"}"#,
    ),
    (
        "join declined",
        r#"{"type":"conversation.join_declined","conversation_id":3,"account_id":4,"by":1,"title":"Weekend"}"#,
    ),
    (
        "admin made member",
        r#"{"type":"conversation.role_changed","conversation_id":3,"account_id":2,"role":"member","by":1}"#,
    ),
    (
        "member added",
        r#"{"type":"conversation.member_added","conversation_id":3,"account_id":2,"by":1,"display_name":"Bob","avatar_media_id":8}"#,
    ),
    (
        "member added without a picture",
        r#"{"type":"conversation.member_added","conversation_id":3,"account_id":2,"by":1,"display_name":"Bob"}"#,
    ),
    (
        "member added before profiles",
        r#"{"type":"conversation.member_added","conversation_id":3,"account_id":2,"by":1}"#,
    ),
    (
        "member removed",
        r#"{"type":"conversation.member_removed","conversation_id":3,"account_id":1,"by":1,"owner":2,"display_name":"Ann","avatar_media_id":8}"#,
    ),
    (
        "member removed before profiles",
        r#"{"type":"conversation.member_removed","conversation_id":3,"account_id":2,"by":1,"owner":null}"#,
    ),
    (
        "read marker",
        r#"{"type":"read.marker","conversation_id":3,"seq":7,"device_id":4}"#,
    ),
    (
        "read receipt",
        r#"{"type":"read.receipt","conversation_id":3,"account_id":2,"seq":7}"#,
    ),
    (
        "message recalled",
        r#"{"type":"message.recalled","conversation_id":3,"message_id":40,"seq":7,"by":1}"#,
    ),
    (
        "message reaction",
        r#"{"type":"message.reaction","conversation_id":3,"message_id":40,"seq":7,"account_id":2,"emoji":"👍","added":true}"#,
    ),
    (
        "message deleted",
        r#"{"type":"message.deleted","conversation_id":3,"message_id":40,"seq":7}"#,
    ),
    (
        "conversation settings",
        r#"{"type":"conversation.settings","conversation_id":3,"muted":true,"pinned":false,"archived":true}"#,
    ),
    (
        "contact request",
        r#"{"type":"contact.request","request_id":6,"from":{"account_id":1,"username":"ann","display_name":"Ann","avatar_media_id":8},"to":{"account_id":2,"username":"bob","display_name":"Bob"},"greeting":"hi"}"#,
    ),
    (
        "contact request declined",
        r#"{"type":"contact.request_declined","request_id":6,"from":1}"#,
    ),
    (
        "contact added",
        r#"{"type":"contact.added","contact":{"account_id":2,"username":"bob","display_name":"Bob"}}"#,
    ),
    (
        "contact removed",
        r#"{"type":"contact.removed","account_id":2,"display_name":"Bob","avatar_media_id":8}"#,
    ),
    (
        "contact removed before profiles",
        r#"{"type":"contact.removed","account_id":2}"#,
    ),
    (
        "contact remark set",
        r#"{"type":"contact.updated","account_id":2,"remark":"Bobby"}"#,
    ),
    (
        "contact remark cleared",
        r#"{"type":"contact.updated","account_id":2,"remark":null}"#,
    ),
    (
        "contact blocked",
        r#"{"type":"contact.blocked","account_id":3,"blocked":true}"#,
    ),
    (
        "account updated",
        r#"{"type":"account.updated","account_id":1,"display_name":"Ann","avatar_media_id":8,"bio":""}"#,
    ),
    (
        "account updated without a picture",
        r#"{"type":"account.updated","account_id":1,"display_name":"Ann","avatar_media_id":null,"bio":"Here."}"#,
    ),
    (
        "password changed",
        r#"{"type":"account.password_changed","by_device_id":4,"signed_out_other_devices":true}"#,
    ),
    (
        "wallet credited",
        r#"{"type":"wallet.credited","transaction_id":21,"kind":"topup","amount_minor":10000,"currency":"CNY","balance_minor":12000}"#,
    ),
    (
        "wallet debited",
        r#"{"type":"wallet.debited","transaction_id":21,"kind":"topup","amount_minor":10000,"currency":"CNY","balance_minor":12000}"#,
    ),
    (
        "transfer sent",
        r#"{"type":"transfer.sent","transfer_id":5,"from":1,"to":2,"amount_minor":1234,"currency":"CNY","status":"pending"}"#,
    ),
    (
        "transfer received",
        r#"{"type":"transfer.received","transfer_id":5,"from":1,"to":2,"amount_minor":1234,"currency":"CNY","status":"pending"}"#,
    ),
    (
        "transfer accepted",
        r#"{"type":"transfer.accepted","transfer_id":5,"from":1,"to":2,"amount_minor":1234,"currency":"CNY","status":"accepted"}"#,
    ),
    (
        "transfer declined",
        r#"{"type":"transfer.declined","transfer_id":5,"from":1,"to":2,"amount_minor":1234,"currency":"CNY","status":"declined"}"#,
    ),
    (
        "transfer returned",
        r#"{"type":"transfer.returned","transfer_id":5,"from":1,"to":2,"amount_minor":1234,"currency":"CNY","status":"returned"}"#,
    ),
    (
        "red packet claimed",
        r#"{"type":"red_packet.claimed","red_packet_id":2,"conversation_id":3,"sender":1,"claimer":2,"amount_minor":99,"currency":"CNY"}"#,
    ),
    (
        "red packet refunded",
        r#"{"type":"red_packet.refunded","red_packet_id":2,"conversation_id":3,"sender":1,"claimer":null,"amount_minor":99,"currency":"CNY"}"#,
    ),
    (
        "payment sent",
        r#"{"type":"payment.sent","payment_id":11,"merchant_id":12,"buyer":1,"amount_minor":500,"currency":"CNY","refund_id":null,"merchant_name":"Noodle Bar"}"#,
    ),
    (
        "payment sent before names",
        r#"{"type":"payment.sent","payment_id":11,"merchant_id":12,"buyer":1,"amount_minor":500,"currency":"CNY","refund_id":null,"merchant_name":null}"#,
    ),
    (
        "payment received",
        r#"{"type":"payment.received","payment_id":11,"merchant_id":12,"buyer":1,"amount_minor":500,"currency":"CNY","refund_id":null,"merchant_name":"Noodle Bar","collected":true}"#,
    ),
    (
        "payment refunded",
        r#"{"type":"payment.refunded","payment_id":11,"merchant_id":12,"buyer":1,"amount_minor":500,"currency":"CNY","refund_id":13,"merchant_name":"Noodle Bar"}"#,
    ),
    (
        "payment confirmation requested",
        r#"{"type":"payment.confirmation_requested","payment_id":11,"merchant_id":12,"buyer":1,"amount_minor":500,"currency":"CNY","refund_id":null,"merchant_name":"Noodle Bar","collected":true}"#,
    ),
    (
        "payment declined",
        r#"{"type":"payment.declined","payment_id":11,"merchant_id":12,"buyer":1,"amount_minor":500,"currency":"CNY","refund_id":null,"merchant_name":"Noodle Bar","collected":true}"#,
    ),
    (
        "payment expired",
        r#"{"type":"payment.expired","payment_id":11,"merchant_id":12,"buyer":1,"amount_minor":500,"currency":"CNY","refund_id":null,"merchant_name":"Noodle Bar","collected":true}"#,
    ),
    (
        "order placed",
        r#"{"type":"order.updated","order_id":14,"shop_id":15,"shop_name":"Nonna's Pasta","buyer":1,"action":"placed","status":"pending_payment","total_minor":1250,"currency":"CNY","refunded_minor":0}"#,
    ),
    (
        "order refund approved",
        r#"{"type":"order.updated","order_id":14,"shop_id":15,"shop_name":"Nonna's Pasta","buyer":1,"action":"refund_approved","status":"shipped","total_minor":1250,"currency":"CNY","refunded_minor":300,"refund_index":0,"refund_minor":300}"#,
    ),
    (
        "pin reset",
        r#"{"type":"wallet.pin_reset","effective_at":1700086400000}"#,
    ),
    (
        "pin changed",
        r#"{"type":"wallet.pin_changed","reset_cancelled":false}"#,
    ),
    (
        "moment liked",
        r#"{"type":"moment.liked","moment_id":12,"author_id":1,"account_id":2,"display_name":"Bea","avatar_media_id":8}"#,
    ),
    (
        "moment commented",
        r#"{"type":"moment.commented","moment_id":12,"author_id":1,"comment_id":3,"account_id":2,"display_name":"Bea","text":"what a view"}"#,
    ),
    (
        "moment reply",
        r#"{"type":"moment.commented","moment_id":12,"author_id":1,"comment_id":4,"account_id":3,"display_name":"Cy","text":"agreed","reply_to":3,"reply_to_account":2}"#,
    ),
    (
        "article published",
        r#"{"type":"article.published","channel_id":5,"handle":"piazza.news","channel_name":"Piazza News","article_id":9,"title":"Hello, followers","cover_media_id":4,"published_at":1700000000000}"#,
    ),
    (
        "article published without a cover",
        r#"{"type":"article.published","channel_id":5,"handle":"piazza.news","channel_name":"Piazza News","article_id":9,"title":"Hello, followers","cover_media_id":null,"published_at":1700000000000}"#,
    ),
];

/// How many variants `domain::Event` has: `examples::covers` names them
/// all, so adding one sends its author there, and here.
const EVENT_VARIANTS: usize = 43;

fn store(event: &domain::Event) -> String {
    serde_json::to_string(&Event::from(event)).unwrap()
}

fn read(text: &str) -> domain::Event {
    let stored: Event = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    stored.into()
}

#[test]
fn every_variant_has_an_example() {
    let examples = examples::all();
    let types: BTreeSet<&str> = examples
        .iter()
        .map(|(_, event)| examples::covers(event))
        .collect();
    assert_eq!(types.len(), EVENT_VARIANTS, "{types:?}");
    let names: BTreeSet<&str> = examples.iter().map(|(name, _)| *name).collect();
    assert_eq!(names.len(), examples.len(), "example names are unique");
}

#[test]
fn every_event_is_stored_exactly_as_before() {
    let examples = examples::all();
    let names: Vec<&str> = examples.iter().map(|(name, _)| *name).collect();
    let golden: Vec<&str> = GOLDEN.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, golden, "one golden line per example, in order");
    for ((name, event), (_, expected)) in examples.iter().zip(GOLDEN) {
        assert_eq!(store(event), *expected, "{name}");
    }
}

#[test]
fn every_stored_event_reads_back_whole() {
    for ((name, event), (_, stored)) in examples::all().into_iter().zip(GOLDEN) {
        assert_eq!(read(stored), event, "{name}");
    }
}

/// Entries logged before profiles had avatars read as they were, with
/// the new fields empty.
#[test]
fn entries_logged_before_profiles_still_read() {
    let old = [
        r#"{"type":"contact.request","request_id":1,"from":{"account_id":1,"username":"ann","display_name":"Ann"},"to":{"account_id":2,"username":"bob","display_name":"bob"},"greeting":"hi"}"#,
        r#"{"type":"contact.added","contact":{"account_id":1,"username":"ann","display_name":"Ann"}}"#,
        r#"{"type":"contact.removed","account_id":1}"#,
        r#"{"type":"conversation.member_added","conversation_id":3,"account_id":2,"by":1}"#,
        r#"{"type":"conversation.member_removed","conversation_id":3,"account_id":2,"by":1}"#,
        r#"{"type":"conversation.created","conversation_id":3,"kind":"group","title":"T","owner":1,"members":[1,2]}"#,
    ];
    for text in old {
        match read(text) {
            domain::Event::ContactRequest { from, .. } => assert_eq!(from.avatar_media_id, None),
            domain::Event::ContactAdded { contact } => assert_eq!(contact.display_name, "Ann"),
            domain::Event::ContactRemoved { contact, .. }
            | domain::Event::MemberAdded {
                member: contact, ..
            }
            | domain::Event::MemberRemoved {
                member: contact, ..
            } => assert_eq!(contact, Named::default()),
            domain::Event::ConversationCreated {
                avatar_media_id, ..
            } => assert_eq!(avatar_media_id, None),
            other => panic!("{other:?}"),
        }
    }
}

/// Fields added to money events after their first release read as empty
/// from entries that lack them.
#[test]
fn money_entries_from_before_their_newer_fields_still_read() {
    let payment = read(
        r#"{"type":"payment.sent","payment_id":11,"merchant_id":12,"buyer":1,"amount_minor":500,"currency":"CNY"}"#,
    );
    let domain::Event::PaymentSent(payment) = payment else {
        panic!("{payment:?}")
    };
    assert_eq!(
        (payment.refund_id, payment.merchant_name, payment.collected),
        (None, None, false)
    );
    let refunded = read(
        r#"{"type":"red_packet.refunded","red_packet_id":2,"conversation_id":3,"sender":1,"amount_minor":99,"currency":"CNY"}"#,
    );
    let domain::Event::RedPacketRefunded(packet) = refunded else {
        panic!("{refunded:?}")
    };
    assert_eq!(packet.claimer, None);
}
