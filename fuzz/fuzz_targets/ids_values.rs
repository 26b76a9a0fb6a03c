//! Every id and every value parsed from outside text: ids in paths and
//! bodies, usernames, passwords, message texts, client message ids, names,
//! titles, greetings, currencies, red-packet modes, login-request ids and
//! idempotency keys. None panics; what is accepted keeps its rules and
//! parses again to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use piazza_domain::limits;
use piazza_domain::money::Currency;
use piazza_domain::red_packet::SplitMode;
use piazza_domain::store::{IdempotencyKey, LoginRequestId};
use piazza_domain::{
    AccountId, ClientMsgId, ContactRequestId, ConversationId, DeviceId, DeviceName, DisplayName,
    EntryId, Greeting, GroupTitle, MerchantId, MessageId, MessageText, Password, PaymentId,
    RedPacketId, RefundId, TransactionId, TransferId, Username,
};

/// An id is canonical: it parses only from the text it prints as.
macro_rules! check_ids {
    ($text:expr, $($id:ty),+ $(,)?) => {$(
        if let Ok(id) = <$id>::parse($text) {
            assert!(id.row() > 0, "{:?}", $text);
            assert_eq!(id.to_string(), $text);
            assert_eq!(<$id>::parse(&id.to_string()), Ok(id));
        }
    )+};
}

/// A bounded text is trimmed once, so parsing what it holds is a no-op.
macro_rules! check_texts {
    ($text:expr, $($value:ty),+ $(,)?) => {$(
        if let Ok(value) = <$value>::parse($text) {
            assert_eq!(value.as_str(), $text.trim());
            assert!(!value.as_str().chars().any(char::is_control), "{:?}", $text);
            assert_eq!(<$value>::parse(value.as_str()).as_ref(), Ok(&value));
        }
    )+};
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_ids!(
        text,
        AccountId,
        DeviceId,
        ConversationId,
        MessageId,
        ContactRequestId,
        TransactionId,
        TransferId,
        RedPacketId,
        MerchantId,
        PaymentId,
        RefundId,
        EntryId,
    );
    check_texts!(text, DisplayName, DeviceName, GroupTitle, Greeting);
    if let Ok(title) = GroupTitle::parse(text) {
        assert!(!title.as_str().is_empty());
    }

    if let Ok(username) = Username::parse(text) {
        assert_eq!(username.as_str(), text);
        let len = username.as_str().len();
        assert!((limits::USERNAME_CHARS_MIN..=limits::USERNAME_CHARS_MAX).contains(&len));
        assert_eq!(Username::parse(username.as_str()), Ok(username));
    }
    if let Ok(password) = Password::parse(text) {
        assert_eq!(password.expose(), text);
        assert!(password.expose().len() <= limits::PASSWORD_BYTES_MAX);
    }
    if let Ok(message) = MessageText::parse(text) {
        assert_eq!(message.as_str(), text);
        assert!(message.as_str().len() <= limits::MESSAGE_TEXT_BYTES_MAX);
        assert!(!message.as_str().trim().is_empty());
        assert_eq!(MessageText::parse(message.as_str()), Ok(message));
    }
    if let Ok(id) = ClientMsgId::parse(text) {
        assert_eq!(id.as_str(), text);
        assert!(!id.as_str().chars().any(char::is_whitespace));
        assert_eq!(ClientMsgId::parse(id.as_str()), Ok(id));
    }
    if let Ok(currency) = Currency::parse(text) {
        assert_eq!(currency.as_str(), text);
    }
    if let Ok(mode) = SplitMode::parse(text) {
        assert_eq!(mode.as_str(), text);
    }
    if let Some(request) = LoginRequestId::parse(text) {
        assert_eq!(request.as_str(), text);
        assert_eq!(request.to_string(), text);
    }
    if let Some(key) = IdempotencyKey::parse(text) {
        assert_eq!(key.as_str(), text);
        assert!(key.as_str().len() <= limits::IDEMPOTENCY_KEY_BYTES_MAX);
    }
});
