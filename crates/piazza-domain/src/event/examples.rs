//! One or more examples of every event, each field set and left empty,
//! named, for the tests that pin the event's stored form (here) and its
//! wire form (the server's). Built only for tests (feature `examples`).

use std::sync::Arc;

use super::{
    AccountRef, ConversationKind, Event, Extra, GroupRole, Message, MessageRef, Named, OrderEvent,
    PaymentEvent, RedPacketEvent, TransferEvent, WalletMovement,
};
use crate::{
    AccountId, ArticleId, ChannelId, ClientMsgId, ContactRequestId, ConversationId, DeviceId,
    Emoji, Location, MediaId, MerchantId, MessageId, MessageText, MomentCommentId, MomentId,
    OrderId, PaymentId, ProductId, RedPacketId, RefundId, Seq, ShopId, Timestamp, TransactionId,
    TransferId, Username,
};

/// Every example, by a name unique among them. Every variant of [`Event`]
/// has at least one (`stored`'s tests count them with [`covers`]).
pub fn all() -> Vec<(&'static str, Event)> {
    let mut all = Vec::new();
    all.extend(chat());
    all.extend(contacts());
    all.extend(money());
    all.extend(moments());
    all.extend(channels());
    all
}

fn channels() -> Vec<(&'static str, Event)> {
    let published = |cover_media_id| Event::ArticlePublished {
        channel_id: ChannelId::from_row(5),
        handle: "piazza.news".into(),
        channel_name: "Piazza News".into(),
        article_id: ArticleId::from_row(9),
        title: "Hello, followers".into(),
        cover_media_id,
        published_at: Timestamp::from_unix_ms(1_700_000_000_000),
    };
    vec![
        ("article published", published(Some(MediaId::from_row(4)))),
        ("article published without a cover", published(None)),
    ]
}

/// Which variant `event` is, by a match that names them all: adding a
/// variant breaks it, which sends the author to [`all`] to add an example.
pub fn covers(event: &Event) -> &'static str {
    match event {
        Event::MessageNew(_)
        | Event::ConversationCreated { .. }
        | Event::ConversationUpdated { .. }
        | Event::MemberRoleChanged { .. }
        | Event::JoinRequested { .. }
        | Event::JoinDeclined { .. }
        | Event::MemberAdded { .. }
        | Event::MemberRemoved { .. }
        | Event::ContactRequest { .. }
        | Event::ContactRequestDeclined { .. }
        | Event::ContactAdded { .. }
        | Event::ContactRemoved { .. }
        | Event::ContactUpdated { .. }
        | Event::ContactBlocked { .. }
        | Event::AccountUpdated { .. }
        | Event::PasswordChanged { .. }
        | Event::ReadMarker { .. }
        | Event::ReadReceipt { .. }
        | Event::MessageRecalled { .. }
        | Event::MessageDeleted { .. }
        | Event::ConversationSettings { .. }
        | Event::MessageReaction { .. }
        | Event::WalletCredited(_)
        | Event::WalletDebited(_)
        | Event::TransferSent(_)
        | Event::TransferReceived(_)
        | Event::TransferAccepted(_)
        | Event::TransferDeclined(_)
        | Event::TransferReturned(_)
        | Event::RedPacketClaimed(_)
        | Event::RedPacketRefunded(_)
        | Event::PaymentSent(_)
        | Event::PaymentReceived(_)
        | Event::PaymentRefunded(_)
        | Event::PaymentConfirmationRequested(_)
        | Event::PaymentDeclined(_)
        | Event::PaymentExpired(_)
        | Event::OrderUpdated(_)
        | Event::PinReset { .. }
        | Event::PinChanged { .. }
        | Event::ArticlePublished { .. }
        | Event::MomentLiked { .. }
        | Event::MomentCommented { .. } => event.type_name(),
    }
}

fn account(row: i64) -> AccountId {
    AccountId::from_row(row)
}

fn conversation() -> ConversationId {
    ConversationId::from_row(3)
}

fn message(kind: Option<&str>, reference: Option<&str>) -> Event {
    Event::MessageNew(Arc::new(Message {
        message_id: MessageId::from_row(40),
        conversation_id: conversation(),
        seq: Seq::from_store(7),
        sender: account(1),
        client_msg_id: ClientMsgId::from_store("c-1".into()),
        text: MessageText::from_store("hello \"you\"".into()),
        sent_at: Timestamp::from_unix_ms(1_700_000_000_123),
        kind: kind.map(str::to_owned),
        reference: reference.map(str::to_owned),
        recalled: None,
        extra: None,
    }))
}

/// A message with everything a message may carry besides its text.
fn message_with_extra() -> Event {
    let Event::MessageNew(plain) = message(Some("location"), None) else {
        unreachable!("message() makes a message.new")
    };
    let extra = Extra {
        reply_to: Some(MessageId::from_row(39)),
        mentions: vec![account(2), account(3)],
        mention_all: true,
        forward_of: Some(MessageRef {
            conversation_id: ConversationId::from_row(4),
            message_id: MessageId::from_row(12),
        }),
        location: Some(Location::parse(45.4340, 12.3388, Some("Piazza San Marco")).unwrap()),
        card: Some(account_ref(5, "Bea", Some(8))),
        article: None,
        product: None,
        attachment: Some(crate::event::Attachment {
            media_type: crate::media::MediaType::Ogg,
            bytes: 20_480,
            name: Some("note.ogg".to_owned()),
            facts: crate::media::MediaFacts {
                width: None,
                height: None,
                duration_ms: Some(4_200),
            },
        }),
    };
    Event::MessageNew(Arc::new(Message {
        extra: extra.boxed(),
        ..Arc::unwrap_or_clone(plain)
    }))
}

/// An article shared into a chat (`article_card`), with its cover.
fn article_card() -> Event {
    let Event::MessageNew(plain) = message(Some("article_card"), None) else {
        unreachable!("message() makes a message.new")
    };
    let extra = Extra {
        article: Some(super::ArticleCard {
            article_id: ArticleId::from_row(9),
            title: "Hello, followers".into(),
            channel_id: ChannelId::from_row(5),
            handle: "piazza.news".into(),
            channel_name: "Piazza News".into(),
            cover_media_id: Some(MediaId::from_row(4)),
        }),
        ..Extra::default()
    };
    Event::MessageNew(Arc::new(Message {
        text: MessageText::from_store(String::new()),
        extra: extra.boxed(),
        ..Arc::unwrap_or_clone(plain)
    }))
}

/// A shop's product shared into a chat (`product_card`), with its first
/// picture and a price range.
fn product_card() -> Event {
    let Event::MessageNew(plain) = message(Some("product_card"), None) else {
        unreachable!("message() makes a message.new")
    };
    let extra = Extra {
        product: Some(super::ProductCard {
            product_id: ProductId::from_row(6),
            title: "Tajarin".into(),
            picture_media_id: Some(MediaId::from_row(4)),
            min_price_minor: 1_250,
            max_price_minor: 2_200,
            currency: "CNY".into(),
            shop_id: ShopId::from_row(2),
            handle: "nonna.pasta".into(),
            shop_name: "Nonna's Pasta".into(),
        }),
        ..Extra::default()
    };
    Event::MessageNew(Arc::new(Message {
        text: MessageText::from_store(String::new()),
        extra: extra.boxed(),
        ..Arc::unwrap_or_clone(plain)
    }))
}

fn named(display_name: Option<&str>, avatar: Option<i64>) -> Named {
    Named {
        display_name: display_name.map(str::to_owned),
        avatar_media_id: avatar.map(MediaId::from_row),
    }
}

fn chat() -> Vec<(&'static str, Event)> {
    vec![
        ("message text", message(None, None)),
        ("message transfer", message(Some("transfer"), Some("trf_5"))),
        ("message with extra", message_with_extra()),
        ("message article card", article_card()),
        ("message product card", product_card()),
        (
            "direct conversation",
            Event::ConversationCreated {
                conversation_id: conversation(),
                kind: ConversationKind::Direct,
                title: None,
                owner: None,
                members: vec![account(1), account(2)],
                avatar_media_id: None,
                admins: Vec::new(),
                announcement: String::new(),
            },
        ),
        (
            "group conversation",
            Event::ConversationCreated {
                conversation_id: conversation(),
                kind: ConversationKind::Group,
                title: Some("Team".into()),
                owner: Some(account(1)),
                members: vec![account(1), account(2), account(3)],
                avatar_media_id: Some(MediaId::from_row(9)),
                admins: Vec::new(),
                announcement: String::new(),
            },
        ),
        (
            "order conversation",
            Event::ConversationCreated {
                conversation_id: conversation(),
                kind: ConversationKind::Order,
                title: Some("Nonna's Pasta · ord_7".into()),
                owner: None,
                members: vec![account(1), account(2), account(3)],
                avatar_media_id: None,
                admins: Vec::new(),
                announcement: String::new(),
            },
        ),
        (
            "group snapshot with admins and an announcement",
            Event::ConversationCreated {
                conversation_id: conversation(),
                kind: ConversationKind::Group,
                title: Some("Team".into()),
                owner: Some(account(1)),
                members: vec![account(1), account(2), account(3)],
                avatar_media_id: None,
                admins: vec![account(2)],
                announcement: "Standup at 9:30\nBring \"notes\"".into(),
            },
        ),
        (
            "group updated",
            Event::ConversationUpdated {
                conversation_id: conversation(),
                title: "Team 2".into(),
                avatar_media_id: Some(MediaId::from_row(9)),
                by: account(1),
                announcement: String::new(),
                join_approval: false,
            },
        ),
        (
            "group picture removed",
            Event::ConversationUpdated {
                conversation_id: conversation(),
                title: "Team".into(),
                avatar_media_id: None,
                by: account(1),
                announcement: String::new(),
                join_approval: false,
            },
        ),
        (
            "group announcement and approval",
            Event::ConversationUpdated {
                conversation_id: conversation(),
                title: "Team".into(),
                avatar_media_id: None,
                by: account(2),
                announcement: "Standup at 9:30".into(),
                join_approval: true,
            },
        ),
        (
            "member made admin",
            Event::MemberRoleChanged {
                conversation_id: conversation(),
                account_id: account(2),
                role: GroupRole::Admin,
                by: account(1),
            },
        ),
        (
            "join requested",
            Event::JoinRequested {
                conversation_id: conversation(),
                account_id: account(4),
                member: named(Some("Dan"), None),
            },
        ),
        (
            "join declined",
            Event::JoinDeclined {
                conversation_id: conversation(),
                account_id: account(4),
                by: account(1),
                title: "Weekend".into(),
            },
        ),
        (
            "admin made member",
            Event::MemberRoleChanged {
                conversation_id: conversation(),
                account_id: account(2),
                role: GroupRole::Member,
                by: account(1),
            },
        ),
        (
            "member added",
            Event::MemberAdded {
                conversation_id: conversation(),
                account_id: account(2),
                by: account(1),
                member: named(Some("Bob"), Some(8)),
            },
        ),
        (
            "member added without a picture",
            Event::MemberAdded {
                conversation_id: conversation(),
                account_id: account(2),
                by: account(1),
                member: named(Some("Bob"), None),
            },
        ),
        (
            "member added before profiles",
            Event::MemberAdded {
                conversation_id: conversation(),
                account_id: account(2),
                by: account(1),
                member: named(None, None),
            },
        ),
        (
            "member removed",
            Event::MemberRemoved {
                conversation_id: conversation(),
                account_id: account(1),
                by: account(1),
                owner: Some(account(2)),
                member: named(Some("Ann"), Some(8)),
            },
        ),
        (
            "member removed before profiles",
            Event::MemberRemoved {
                conversation_id: conversation(),
                account_id: account(2),
                by: account(1),
                owner: None,
                member: named(None, None),
            },
        ),
        (
            "read marker",
            Event::ReadMarker {
                conversation_id: conversation(),
                seq: Seq::from_store(7),
                device_id: DeviceId::from_row(4),
            },
        ),
        (
            "read receipt",
            Event::ReadReceipt {
                conversation_id: conversation(),
                account_id: account(2),
                seq: Seq::from_store(7),
            },
        ),
        (
            "message recalled",
            Event::MessageRecalled {
                conversation_id: conversation(),
                message_id: MessageId::from_row(40),
                seq: Seq::from_store(7),
                by: account(1),
            },
        ),
        (
            "message reaction",
            Event::MessageReaction {
                conversation_id: conversation(),
                message_id: MessageId::from_row(40),
                seq: Seq::from_store(7),
                account_id: account(2),
                emoji: Emoji::from_store("👍".into()),
                added: true,
            },
        ),
        (
            "message deleted",
            Event::MessageDeleted {
                conversation_id: conversation(),
                message_id: MessageId::from_row(40),
                seq: Seq::from_store(7),
            },
        ),
        (
            "conversation settings",
            Event::ConversationSettings {
                conversation_id: conversation(),
                muted: true,
                pinned: false,
                archived: true,
            },
        ),
    ]
}

fn account_ref(row: i64, name: &str, avatar: Option<i64>) -> AccountRef {
    AccountRef {
        account_id: account(row),
        username: Username::from_store(name.to_lowercase()),
        display_name: name.into(),
        avatar_media_id: avatar.map(MediaId::from_row),
    }
}

fn contacts() -> Vec<(&'static str, Event)> {
    vec![
        (
            "contact request",
            Event::ContactRequest {
                request_id: ContactRequestId::from_row(6),
                from: account_ref(1, "Ann", Some(8)),
                to: account_ref(2, "Bob", None),
                greeting: "hi".into(),
            },
        ),
        (
            "contact request declined",
            Event::ContactRequestDeclined {
                request_id: ContactRequestId::from_row(6),
                from: account(1),
            },
        ),
        (
            "contact added",
            Event::ContactAdded {
                contact: account_ref(2, "Bob", None),
            },
        ),
        (
            "contact removed",
            Event::ContactRemoved {
                account_id: account(2),
                contact: named(Some("Bob"), Some(8)),
            },
        ),
        (
            "contact removed before profiles",
            Event::ContactRemoved {
                account_id: account(2),
                contact: named(None, None),
            },
        ),
        (
            "contact remark set",
            Event::ContactUpdated {
                account_id: account(2),
                remark: Some("Bobby".into()),
            },
        ),
        (
            "contact remark cleared",
            Event::ContactUpdated {
                account_id: account(2),
                remark: None,
            },
        ),
        (
            "contact blocked",
            Event::ContactBlocked {
                account_id: account(3),
                blocked: true,
            },
        ),
        (
            "account updated",
            Event::AccountUpdated {
                account_id: account(1),
                display_name: "Ann".into(),
                avatar_media_id: Some(MediaId::from_row(8)),
                bio: "".into(),
            },
        ),
        (
            "account updated without a picture",
            Event::AccountUpdated {
                account_id: account(1),
                display_name: "Ann".into(),
                avatar_media_id: None,
                bio: "Here.".into(),
            },
        ),
        (
            "password changed",
            Event::PasswordChanged {
                by_device_id: DeviceId::from_row(4),
                signed_out_other_devices: true,
            },
        ),
    ]
}

fn transfer(status: &str) -> TransferEvent {
    TransferEvent {
        transfer_id: TransferId::from_row(5),
        from: account(1),
        to: account(2),
        amount_minor: 1_234,
        currency: "CNY".into(),
        status: status.into(),
    }
}

fn red_packet(claimer: Option<AccountId>) -> RedPacketEvent {
    RedPacketEvent {
        red_packet_id: RedPacketId::from_row(2),
        conversation_id: conversation(),
        sender: account(1),
        claimer,
        amount_minor: 99,
        currency: "CNY".into(),
    }
}

fn payment(refund: Option<i64>, merchant_name: Option<&str>, collected: bool) -> PaymentEvent {
    PaymentEvent {
        payment_id: PaymentId::from_row(11),
        merchant_id: MerchantId::from_row(12),
        buyer: account(1),
        amount_minor: 500,
        currency: "CNY".into(),
        refund_id: refund.map(RefundId::from_row),
        merchant_name: merchant_name.map(str::to_owned),
        collected,
    }
}

fn order(action: &str, status: &str, refund: Option<(u32, i64)>) -> OrderEvent {
    OrderEvent {
        order_id: OrderId::from_row(14),
        shop_id: ShopId::from_row(15),
        shop_name: "Nonna's Pasta".into(),
        buyer: account(1),
        action: action.into(),
        status: status.into(),
        total_minor: 1_250,
        currency: "CNY".into(),
        refunded_minor: refund.map_or(0, |(_, amount)| amount),
        refund_index: refund.map(|(index, _)| index),
        refund_minor: refund.map(|(_, amount)| amount),
    }
}

fn money() -> Vec<(&'static str, Event)> {
    let movement = WalletMovement {
        transaction_id: TransactionId::from_row(21),
        kind: "topup".into(),
        amount_minor: 10_000,
        currency: "CNY".into(),
        balance_minor: 12_000,
    };
    let shop = Some("Noodle Bar");
    vec![
        ("wallet credited", Event::WalletCredited(movement.clone())),
        ("wallet debited", Event::WalletDebited(movement)),
        ("transfer sent", Event::TransferSent(transfer("pending"))),
        (
            "transfer received",
            Event::TransferReceived(transfer("pending")),
        ),
        (
            "transfer accepted",
            Event::TransferAccepted(transfer("accepted")),
        ),
        (
            "transfer declined",
            Event::TransferDeclined(transfer("declined")),
        ),
        (
            "transfer returned",
            Event::TransferReturned(transfer("returned")),
        ),
        (
            "red packet claimed",
            Event::RedPacketClaimed(red_packet(Some(account(2)))),
        ),
        (
            "red packet refunded",
            Event::RedPacketRefunded(red_packet(None)),
        ),
        (
            "payment sent",
            Event::PaymentSent(payment(None, shop, false)),
        ),
        (
            "payment sent before names",
            Event::PaymentSent(payment(None, None, false)),
        ),
        (
            "payment received",
            Event::PaymentReceived(payment(None, shop, true)),
        ),
        (
            "payment refunded",
            Event::PaymentRefunded(payment(Some(13), shop, false)),
        ),
        (
            "payment confirmation requested",
            Event::PaymentConfirmationRequested(payment(None, shop, true)),
        ),
        (
            "payment declined",
            Event::PaymentDeclined(payment(None, shop, true)),
        ),
        (
            "payment expired",
            Event::PaymentExpired(payment(None, shop, true)),
        ),
        (
            "order placed",
            Event::OrderUpdated(order("placed", "pending_payment", None)),
        ),
        (
            "order refund approved",
            Event::OrderUpdated(order("refund_approved", "shipped", Some((0, 300)))),
        ),
        (
            "pin reset",
            Event::PinReset {
                effective_at: Timestamp::from_unix_ms(1_700_086_400_000),
            },
        ),
        (
            "pin changed",
            Event::PinChanged {
                reset_cancelled: false,
            },
        ),
    ]
}

fn moments() -> Vec<(&'static str, Event)> {
    vec![
        (
            "moment liked",
            Event::MomentLiked {
                moment_id: MomentId::from_row(12),
                author_id: account(1),
                account_id: account(2),
                liker: named(Some("Bea"), Some(8)),
            },
        ),
        (
            "moment commented",
            Event::MomentCommented {
                moment_id: MomentId::from_row(12),
                author_id: account(1),
                comment_id: MomentCommentId::from_row(3),
                account_id: account(2),
                commenter: named(Some("Bea"), None),
                text: "what a view".to_owned(),
                reply_to: None,
                reply_to_account: None,
            },
        ),
        (
            "moment reply",
            Event::MomentCommented {
                moment_id: MomentId::from_row(12),
                author_id: account(1),
                comment_id: MomentCommentId::from_row(4),
                account_id: account(3),
                commenter: named(Some("Cy"), None),
                text: "agreed".to_owned(),
                reply_to: Some(MomentCommentId::from_row(3)),
                reply_to_account: Some(account(2)),
            },
        ),
    ]
}
