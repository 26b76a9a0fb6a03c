//! JSON request bodies into the wire types of `piazza-api`, then the domain
//! parsing the routes do with their fields (ids, values, amounts, counts,
//! modes, PINs, QR payloads, payment codes). The input is tried as every
//! body type, so one corpus serves them all. Never panics, and a red packet
//! the route would accept pays out exactly its total.

#![no_main]

use libfuzzer_sys::fuzz_target;
use piazza_api::{
    AddMember, ApproveLogin, Collect, ConfirmPayment, CreateAccount, CreateContactRequest,
    CreateGroup, CreateLoginRequest, CreateMerchant, CreateSession, MarkRead, OpenDirect, Pay,
    PaymentCodeRequest, RefundPayment, SendMessage, SendRedPacket, SendTransfer, SetPin, TopUp,
    UpdateGroup, Withdraw,
};
use piazza_domain::money::AmountMinor;
use piazza_domain::red_packet::{RedPacketPot, ShareCount, SplitMode};
use piazza_domain::values::Seq;
use piazza_domain::{
    AccountId, Announcement, ClientMsgId, ConversationId, DeviceName, DisplayName, Greeting,
    GroupTitle, MerchantId, MessageText, Password, Username, emvco, limits,
};
use piazza_fuzz::{amount, is_pin, parse_login_qr, payment_code, share_count};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn body<'a, T: serde::Deserialize<'a>>(data: &'a [u8]) -> Option<T> {
    serde_json::from_slice(data).ok()
}

/// `routes::red_packets::send` up to the store, then every share claimed.
fn red_packet(body: &SendRedPacket, seed: u64) {
    let Some(total) = amount(&body.total_minor) else {
        return;
    };
    let _ = ConversationId::parse(&body.conversation_id);
    let _ = is_pin(&body.pin);
    let Some(Ok(count)) = share_count(&body.count).map(ShareCount::parse) else {
        return;
    };
    let Ok(mode) = SplitMode::parse(&body.mode) else {
        return;
    };
    let Ok(mut pot) = RedPacketPot::new(mode, total, count) else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut paid = 0_i64;
    let mut shares = Vec::new();
    while !pot.is_empty() {
        let share = pot
            .claim(&mut rng)
            .expect("a pot with shares left pays one");
        shares.push(share.get());
        paid += share.get();
    }
    assert!(pot.claim(&mut rng).is_err());
    assert_eq!(paid, total.get(), "{body:?}");
    assert_eq!(shares.len(), count.get() as usize);
    if mode == SplitMode::Equal {
        assert!(shares.iter().all(|share| *share == shares[0]), "{shares:?}");
    }
}

/// `routes::merchants::pay` up to the store.
fn pay(body: &Pay) {
    let asked = body.amount_minor.as_ref().map(amount);
    let _ = is_pin(&body.pin);
    let Ok(scanned) = emvco::parse(body.qr_payload.trim()) else {
        return;
    };
    let _ = MerchantId::parse(&scanned.merchant_id);
    if let (Some(fixed), Some(Some(asked))) = (scanned.amount_minor, asked) {
        let _ = asked.get() == fixed;
    }
    if let Some(fixed) = scanned.amount_minor {
        assert!(AmountMinor::positive(fixed).is_ok(), "{scanned:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    // The server refuses bigger bodies before parsing them.
    if data.len() > limits::REQUEST_BODY_BYTES_MAX {
        return;
    }
    let seed = data
        .iter()
        .fold(0_u64, |hash, byte| hash.rotate_left(5) ^ u64::from(*byte));

    if let Some(body) = body::<CreateAccount>(data) {
        let _ = Username::parse(&body.username);
        let _ = Password::parse(&body.password);
        let _ = body.display_name.as_deref().map(DisplayName::parse);
    }
    if let Some(body) = body::<CreateSession>(data) {
        let _ = DeviceName::parse(&body.device_name);
        let _ = Username::parse(&body.username);
    }
    if let Some(body) = body::<CreateContactRequest>(data) {
        let _ = Username::parse(&body.to);
        let _ = Greeting::parse(body.greeting.as_deref().unwrap_or(""));
    }
    if let Some(body) = body::<OpenDirect>(data) {
        let _ = AccountId::parse(&body.peer);
    }
    if let Some(body) = body::<CreateGroup>(data) {
        let _ = GroupTitle::parse(&body.title);
        if body.members.len() <= limits::GROUP_MEMBERS_MAX {
            for member in &body.members {
                let _ = AccountId::parse(member);
            }
        }
    }
    if let Some(body) = body::<UpdateGroup>(data) {
        let _ = body.title.as_deref().map(GroupTitle::parse);
        if let Some(text) = body.announcement.as_deref() {
            if let Ok(announcement) = Announcement::parse(text) {
                let kept = announcement.as_str();
                assert!(kept.chars().count() <= limits::ANNOUNCEMENT_CHARS_MAX);
                assert_eq!(kept, kept.trim(), "kept trimmed");
            }
        }
        if let Some(Some(media)) = &body.avatar_media_id {
            let _ = piazza_domain::MediaId::parse(media);
        }
    }
    if let Some(body) = body::<AddMember>(data) {
        let _ = AccountId::parse(&body.account_id);
    }
    if let Some(body) = body::<SendMessage>(data) {
        let _ = ClientMsgId::parse(&body.client_msg_id);
        let message = &body.message;
        let _ = MessageText::parse(&message.text);
        if let Some(place) = &message.location {
            let _ = piazza_domain::Location::parse(place.lat, place.lon, place.name.as_deref());
        }
        for mention in &message.mentions {
            let _ = AccountId::parse(mention);
        }
    }
    if let Some(body) = body::<MarkRead>(data) {
        let seq = Seq::new(body.seq);
        assert_eq!(seq.is_ok(), body.seq >= 0);
    }
    if let Some(body) = body::<SetPin>(data) {
        let _ = is_pin(&body.pin);
        if let Some(old_pin) = &body.old_pin {
            let _ = is_pin(old_pin);
        }
    }
    if let Some(body) = body::<PaymentCodeRequest>(data) {
        if let Some(pin) = &body.pin {
            let _ = is_pin(pin);
        }
    }
    if let Some(body) = body::<TopUp>(data) {
        let _ = amount(&body.amount_minor);
    }
    if let Some(body) = body::<Withdraw>(data) {
        let _ = amount(&body.amount_minor);
        let _ = is_pin(&body.pin);
    }
    if let Some(body) = body::<SendTransfer>(data) {
        let _ = amount(&body.amount_minor);
        let _ = AccountId::parse(&body.to);
    }
    if let Some(body) = body::<SendRedPacket>(data) {
        red_packet(&body, seed);
    }
    if let Some(body) = body::<CreateMerchant>(data) {
        let _ = emvco::valid_name(body.name.trim());
        let _ = emvco::valid_city(body.city.unwrap_or_default().trim());
    }
    if let Some(body) = body::<Pay>(data) {
        pay(&body);
    }
    if let Some(body) = body::<ConfirmPayment>(data) {
        let _ = is_pin(&body.pin);
    }
    if let Some(body) = body::<RefundPayment>(data) {
        let _ = amount(&body.amount_minor);
    }
    if let Some(body) = body::<Collect>(data) {
        let _ = amount(&body.amount_minor);
        if let Some(code) = payment_code(&body.payment_code) {
            assert_eq!(code.len(), 18);
        }
    }
    if let Some(body) = body::<CreateLoginRequest>(data) {
        let _ = body.device_name.as_deref().map(DeviceName::parse);
    }
    if let Some(body) = body::<ApproveLogin>(data) {
        let _ = body.qr_payload.as_deref().map(parse_login_qr);
    }
});
