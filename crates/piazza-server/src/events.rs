//! Log entries on the wire: the same JSON object over `/sync`, long-poll and
//! the WebSocket. `cursor`, `type` and `at` are always there; the rest is
//! the event's wire form, `piazza_api::events`, which [`wire`] builds from
//! the domain's event. That conversion is the only place the two meet, so
//! the wire form and the stored form (`piazza_domain::event::stored`) can
//! each change without the other.

use piazza_api::events as api;
use piazza_api::{AccountBrief, EventView};
use piazza_domain::Cursor;
use piazza_domain::MediaId;
use piazza_domain::event::{
    AccountRef, Event, LogEntry, Named, OrderEvent, PaymentEvent, RedPacketEvent, TransferEvent,
    WalletMovement,
};

use crate::routes::conversations::message_view;

pub fn to_view(entry: &LogEntry) -> EventView {
    EventView::new(
        Cursor::at(entry.seq).to_string(),
        entry.at.to_rfc3339(),
        &wire(&entry.event),
    )
}

pub fn to_json(entry: &LogEntry) -> String {
    serde_json::to_string(&to_view(entry)).expect("an event always encodes")
}

/// The wire form of `event`.
pub fn wire(event: &Event) -> api::Event {
    match event {
        Event::MessageNew(message) => api::Event::MessageNew(api::MessageEvent {
            conversation_id: message.conversation_id.to_string(),
            message: message_view(message),
        }),
        Event::ConversationCreated { .. }
        | Event::ConversationUpdated { .. }
        | Event::MemberRoleChanged { .. }
        | Event::JoinRequested { .. }
        | Event::JoinDeclined { .. }
        | Event::MemberAdded { .. }
        | Event::MemberRemoved { .. }
        | Event::ReadMarker { .. }
        | Event::ReadReceipt { .. }
        | Event::MessageRecalled { .. }
        | Event::MessageDeleted { .. }
        | Event::ConversationSettings { .. }
        | Event::MessageReaction { .. } => conversation_event(event),
        Event::ContactRequest { .. }
        | Event::ContactRequestDeclined { .. }
        | Event::ContactAdded { .. }
        | Event::ContactRemoved { .. }
        | Event::ContactUpdated { .. }
        | Event::ContactBlocked { .. }
        | Event::AccountUpdated { .. }
        | Event::PasswordChanged { .. } => account_event(event),
        Event::WalletCredited(movement) => api::Event::WalletCredited(wallet_movement(movement)),
        Event::WalletDebited(movement) => api::Event::WalletDebited(wallet_movement(movement)),
        Event::TransferSent(sent) => api::Event::TransferSent(transfer(sent)),
        Event::TransferReceived(sent) => api::Event::TransferReceived(transfer(sent)),
        Event::TransferAccepted(sent) => api::Event::TransferAccepted(transfer(sent)),
        Event::TransferDeclined(sent) => api::Event::TransferDeclined(transfer(sent)),
        Event::TransferReturned(sent) => api::Event::TransferReturned(transfer(sent)),
        Event::RedPacketClaimed(packet) => api::Event::RedPacketClaimed(red_packet(packet)),
        Event::RedPacketRefunded(packet) => api::Event::RedPacketRefunded(red_packet(packet)),
        Event::PaymentSent(paid) => api::Event::PaymentSent(payment(paid)),
        Event::PaymentReceived(paid) => api::Event::PaymentReceived(payment(paid)),
        Event::PaymentRefunded(paid) => api::Event::PaymentRefunded(payment(paid)),
        Event::PaymentConfirmationRequested(paid) => {
            api::Event::PaymentConfirmationRequested(payment(paid))
        }
        Event::PaymentDeclined(paid) => api::Event::PaymentDeclined(payment(paid)),
        Event::PaymentExpired(paid) => api::Event::PaymentExpired(payment(paid)),
        Event::PinReset { effective_at } => api::Event::PinReset(api::PinResetEvent {
            effective_at: effective_at.to_rfc3339(),
        }),
        Event::PinChanged { reset_cancelled } => api::Event::PinChanged(api::PinChangedEvent {
            reset_cancelled: *reset_cancelled,
        }),
        Event::ArticlePublished {
            channel_id,
            handle,
            channel_name,
            article_id,
            title,
            cover_media_id,
            published_at,
        } => api::Event::ArticlePublished(api::ArticlePublishedEvent {
            channel_id: channel_id.to_string(),
            handle: handle.clone(),
            channel_name: channel_name.clone(),
            article_id: article_id.to_string(),
            title: title.clone(),
            cover_media_id: cover_media_id.map(|media| media.to_string()),
            published_at: published_at.to_rfc3339(),
            url: format!("/c/{handle}/{article_id}"),
        }),
        Event::MomentLiked { .. } | Event::MomentCommented { .. } => moment_event(event),
        Event::OrderUpdated(order) => api::Event::OrderUpdated(order_event(order)),
    }
}

/// A conversation's events other than its messages. Called only with the
/// variants [`wire`] sends here (its match names every variant).
fn conversation_event(event: &Event) -> api::Event {
    match event {
        Event::ConversationCreated {
            conversation_id,
            kind,
            title,
            owner,
            members,
            avatar_media_id,
            admins,
            announcement,
        } => api::Event::ConversationCreated(api::ConversationCreatedEvent {
            conversation_id: conversation_id.to_string(),
            kind: kind.as_str().to_owned(),
            title: title.clone(),
            owner: owner.map(|owner| owner.to_string()),
            members: members.iter().map(ToString::to_string).collect(),
            avatar_media_id: media(*avatar_media_id),
            admins: admins.iter().map(ToString::to_string).collect(),
            announcement: announcement.clone(),
        }),
        Event::ConversationUpdated {
            conversation_id,
            title,
            avatar_media_id,
            by,
            announcement,
            join_approval,
        } => api::Event::ConversationUpdated(api::ConversationUpdatedEvent {
            conversation_id: conversation_id.to_string(),
            title: title.clone(),
            avatar_media_id: media(*avatar_media_id),
            by: by.to_string(),
            announcement: announcement.clone(),
            join_approval: *join_approval,
        }),
        Event::MemberRoleChanged {
            conversation_id,
            account_id,
            role,
            by,
        } => api::Event::RoleChanged(api::RoleChangedEvent {
            conversation_id: conversation_id.to_string(),
            account_id: account_id.to_string(),
            role: role.as_str().to_owned(),
            by: by.to_string(),
        }),
        Event::JoinRequested {
            conversation_id,
            account_id,
            member,
        } => api::Event::JoinRequested(api::JoinRequestedEvent {
            conversation_id: conversation_id.to_string(),
            account_id: account_id.to_string(),
            member: account_name(member),
        }),
        Event::JoinDeclined {
            conversation_id,
            account_id,
            by,
            title,
        } => api::Event::JoinDeclined(api::JoinDeclinedEvent {
            conversation_id: conversation_id.to_string(),
            account_id: account_id.to_string(),
            by: by.to_string(),
            title: title.clone(),
        }),
        Event::MemberAdded {
            conversation_id,
            account_id,
            by,
            member,
        } => api::Event::MemberAdded(api::MemberAddedEvent {
            conversation_id: conversation_id.to_string(),
            account_id: account_id.to_string(),
            by: by.to_string(),
            member: account_name(member),
        }),
        Event::MemberRemoved {
            conversation_id,
            account_id,
            by,
            owner,
            member,
        } => api::Event::MemberRemoved(api::MemberRemovedEvent {
            conversation_id: conversation_id.to_string(),
            account_id: account_id.to_string(),
            by: by.to_string(),
            owner: owner.map(|owner| owner.to_string()),
            member: account_name(member),
        }),
        Event::ReadMarker {
            conversation_id,
            seq,
            device_id,
        } => api::Event::ReadMarker(api::ReadMarkerEvent {
            conversation_id: conversation_id.to_string(),
            seq: seq.get(),
            device_id: device_id.to_string(),
        }),
        Event::ReadReceipt {
            conversation_id,
            account_id,
            seq,
        } => api::Event::ReadReceipt(api::ReadReceiptEvent {
            conversation_id: conversation_id.to_string(),
            account_id: account_id.to_string(),
            seq: seq.get(),
        }),
        Event::MessageRecalled {
            conversation_id,
            message_id,
            seq,
            by,
        } => api::Event::MessageRecalled(api::MessageRecalledEvent {
            conversation_id: conversation_id.to_string(),
            message_id: message_id.to_string(),
            seq: seq.get(),
            recalled_by: by.to_string(),
        }),
        Event::MessageReaction {
            conversation_id,
            message_id,
            seq,
            account_id,
            emoji,
            added,
        } => api::Event::MessageReaction(api::MessageReactionEvent {
            conversation_id: conversation_id.to_string(),
            message_id: message_id.to_string(),
            seq: seq.get(),
            account_id: account_id.to_string(),
            emoji: emoji.as_str().to_owned(),
            added: *added,
        }),
        Event::MessageDeleted {
            conversation_id,
            message_id,
            seq,
        } => api::Event::MessageDeleted(api::MessageDeletedEvent {
            conversation_id: conversation_id.to_string(),
            message_id: message_id.to_string(),
            seq: seq.get(),
        }),
        Event::ConversationSettings {
            conversation_id,
            muted,
            pinned,
            archived,
        } => api::Event::ConversationSettings(piazza_api::ConversationSettingsView {
            conversation_id: conversation_id.to_string(),
            muted: *muted,
            pinned: *pinned,
            archived: *archived,
        }),
        other => unreachable!("{} is not a conversation event", other.type_name()),
    }
}

/// The events of an account's contacts and profile. Called only with the
/// variants [`wire`] sends here.
fn account_event(event: &Event) -> api::Event {
    match event {
        Event::ContactRequest {
            request_id,
            from,
            to,
            greeting,
        } => api::Event::ContactRequest(api::ContactRequestEvent {
            request_id: request_id.to_string(),
            from: account_brief(from),
            to: account_brief(to),
            greeting: greeting.clone(),
        }),
        Event::ContactRequestDeclined { request_id, from } => {
            api::Event::ContactRequestDeclined(api::ContactRequestDeclinedEvent {
                request_id: request_id.to_string(),
                from: from.to_string(),
            })
        }
        Event::ContactAdded { contact } => api::Event::ContactAdded(api::ContactAddedEvent {
            account_id: contact.account_id.to_string(),
            contact: account_brief(contact),
        }),
        Event::ContactRemoved {
            account_id,
            contact,
        } => api::Event::ContactRemoved(api::ContactRemovedEvent {
            account_id: account_id.to_string(),
            contact: account_name(contact),
        }),
        Event::ContactUpdated { account_id, remark } => {
            api::Event::ContactUpdated(api::ContactUpdatedEvent {
                account_id: account_id.to_string(),
                remark: remark.clone(),
            })
        }
        Event::ContactBlocked {
            account_id,
            blocked,
        } => api::Event::ContactBlocked(api::ContactBlockedEvent {
            account_id: account_id.to_string(),
            blocked: *blocked,
        }),
        Event::AccountUpdated {
            account_id,
            display_name,
            avatar_media_id,
            bio,
        } => api::Event::AccountUpdated(api::AccountUpdatedEvent {
            account_id: account_id.to_string(),
            display_name: display_name.clone(),
            avatar_media_id: media(*avatar_media_id),
            bio: bio.clone(),
        }),
        Event::PasswordChanged {
            by_device_id,
            signed_out_other_devices,
        } => api::Event::PasswordChanged(api::PasswordChangedEvent {
            by_device_id: by_device_id.to_string(),
            signed_out_other_devices: *signed_out_other_devices,
        }),
        other => unreachable!("{} is not an account event", other.type_name()),
    }
}

fn media(media: Option<MediaId>) -> Option<String> {
    media.map(|media| media.to_string())
}

fn account_brief(account: &AccountRef) -> AccountBrief {
    AccountBrief {
        account_id: account.account_id.to_string(),
        username: account.username.as_str().to_owned(),
        display_name: account.display_name.clone(),
        avatar_media_id: media(account.avatar_media_id),
    }
}

/// An account's name and picture for an event that names it by id;
/// entries logged before profiles have neither, and say nothing of them.
/// Moments' events. Called only with the variants [`wire`] sends here.
fn moment_event(event: &Event) -> api::Event {
    match event {
        Event::MomentLiked {
            moment_id,
            author_id,
            account_id,
            liker,
        } => api::Event::MomentLiked(api::MomentLikedEvent {
            moment_id: moment_id.to_string(),
            author_id: author_id.to_string(),
            account_id: account_id.to_string(),
            liker: account_name(liker),
        }),
        Event::MomentCommented {
            moment_id,
            author_id,
            comment_id,
            account_id,
            commenter,
            text,
            reply_to,
            reply_to_account,
        } => api::Event::MomentCommented(api::MomentCommentedEvent {
            moment_id: moment_id.to_string(),
            author_id: author_id.to_string(),
            comment_id: comment_id.to_string(),
            account_id: account_id.to_string(),
            commenter: account_name(commenter),
            text: text.clone(),
            reply_to: reply_to.map(|id| id.to_string()),
            reply_to_account: reply_to_account.map(|id| id.to_string()),
        }),
        other => unreachable!("{} is not a moment event", other.type_name()),
    }
}

fn account_name(named: &Named) -> Option<api::AccountName> {
    let display_name = named.display_name.clone()?;
    Some(api::AccountName {
        display_name,
        avatar_media_id: media(named.avatar_media_id),
    })
}

fn wallet_movement(movement: &WalletMovement) -> api::WalletMovementEvent {
    api::WalletMovementEvent {
        transaction_id: movement.transaction_id.to_string(),
        kind: movement.kind.clone(),
        amount_minor: movement.amount_minor,
        currency: movement.currency.clone(),
        balance_minor: movement.balance_minor,
    }
}

fn transfer(transfer: &TransferEvent) -> api::TransferEvent {
    api::TransferEvent {
        transfer_id: transfer.transfer_id.to_string(),
        from: transfer.from.to_string(),
        to: transfer.to.to_string(),
        amount_minor: transfer.amount_minor,
        currency: transfer.currency.clone(),
        status: transfer.status.clone(),
    }
}

fn red_packet(packet: &RedPacketEvent) -> api::RedPacketEvent {
    api::RedPacketEvent {
        red_packet_id: packet.red_packet_id.to_string(),
        conversation_id: packet.conversation_id.to_string(),
        sender: packet.sender.to_string(),
        claimer: packet.claimer.map(|claimer| claimer.to_string()),
        amount_minor: packet.amount_minor,
        currency: packet.currency.clone(),
    }
}

fn order_event(order: &OrderEvent) -> api::OrderUpdatedEvent {
    api::OrderUpdatedEvent {
        order_id: order.order_id.to_string(),
        shop_id: order.shop_id.to_string(),
        shop_name: order.shop_name.clone(),
        buyer: order.buyer.to_string(),
        action: order.action.clone(),
        status: order.status.clone(),
        total_minor: order.total_minor,
        currency: order.currency.clone(),
        refunded_minor: order.refunded_minor,
        refund_index: order.refund_index,
        refund_minor: order.refund_minor,
    }
}

fn payment(payment: &PaymentEvent) -> api::PaymentEvent {
    api::PaymentEvent {
        payment_id: payment.payment_id.to_string(),
        merchant_id: payment.merchant_id.to_string(),
        buyer: payment.buyer.to_string(),
        amount_minor: payment.amount_minor,
        currency: payment.currency.clone(),
        refund_id: payment.refund_id.map(|refund| refund.to_string()),
        merchant_name: payment.merchant_name.clone(),
        collected: payment.collected,
    }
}

#[cfg(test)]
mod tests;
