//! Values parsed from outside input. Each has private fields and one
//! constructor that checks it, so holding one is proof it is valid.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::limits;

/// Why a value from outside was refused. The `field` names the input so the
/// client can point at it; `code` is the stable machine-readable reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValueError {
    pub field: &'static str,
    pub code: &'static str,
    pub reason: String,
}

impl ValueError {
    pub(crate) fn new(
        field: &'static str,
        code: &'static str,
        reason: impl Into<String>,
    ) -> ValueError {
        ValueError {
            field,
            code,
            reason: reason.into(),
        }
    }
}

fn has_control_chars(text: &str) -> bool {
    text.chars().any(|c| c.is_control())
}

/// 3–32 characters of `a-z0-9_.`; the account's public handle.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(text: &str) -> Result<Username, ValueError> {
        let chars = text.chars().count();
        if !(limits::USERNAME_CHARS_MIN..=limits::USERNAME_CHARS_MAX).contains(&chars) {
            return Err(ValueError::new(
                "username",
                "invalid_username",
                format!(
                    "must be {} to {} characters",
                    limits::USERNAME_CHARS_MIN,
                    limits::USERNAME_CHARS_MAX
                ),
            ));
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
        {
            return Err(ValueError::new(
                "username",
                "invalid_username",
                "may hold only a-z, 0-9, '_' and '.'",
            ));
        }
        Ok(Username(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a value the store wrote after parsing it; not for outside input.
    pub fn from_store(text: String) -> Username {
        Username(text)
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed: at least 8 characters. Never stored, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(text: &str) -> Result<Password, ValueError> {
        if text.chars().count() < limits::PASSWORD_CHARS_MIN {
            return Err(ValueError::new(
                "password",
                "invalid_password",
                format!("must be at least {} characters", limits::PASSWORD_CHARS_MIN),
            ));
        }
        if text.len() > limits::PASSWORD_BYTES_MAX {
            return Err(ValueError::new(
                "password",
                "invalid_password",
                format!("must be at most {} bytes", limits::PASSWORD_BYTES_MAX),
            ));
        }
        Ok(Password(text.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $field:literal, $code:literal, $max:expr, allow_empty = $empty:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const FIELD: &'static str = $field;

            pub fn parse(text: &str) -> Result<$name, ValueError> {
                let trimmed = text.trim();
                if !$empty && trimmed.is_empty() {
                    return Err(ValueError::new($field, $code, "must not be empty"));
                }
                if trimmed.chars().count() > $max {
                    return Err(ValueError::new(
                        $field,
                        $code,
                        format!("must be at most {} characters", $max),
                    ));
                }
                if has_control_chars(trimmed) {
                    return Err(ValueError::new($field, $code, "must not hold control characters"));
                }
                Ok($name(trimmed.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

bounded_text!(
    /// The name shown for an account; defaults to the username.
    DisplayName, "display_name", "invalid_display_name", limits::DISPLAY_NAME_CHARS_MAX,
    allow_empty = false
);
bounded_text!(
    /// What the person calls a logged-in device ("Anna's phone").
    DeviceName, "device_name", "invalid_device_name", limits::DEVICE_NAME_CHARS_MAX,
    allow_empty = false
);
bounded_text!(
    /// A group conversation's title.
    GroupTitle, "title", "invalid_title", limits::GROUP_TITLE_CHARS_MAX, allow_empty = false
);
bounded_text!(
    /// The note sent with a contact request; may be empty.
    Greeting, "greeting", "invalid_greeting", limits::GREETING_CHARS_MAX, allow_empty = true
);
bounded_text!(
    /// A few words an account says about itself, shown on its profile; one
    /// line, and empty means none.
    Bio, "bio", "invalid_bio", limits::BIO_CHARS_MAX, allow_empty = true
);

bounded_text!(
    /// An account's own name for one of its contacts, which only it sees;
    /// one line, and empty means none (`contacts::set_remark` takes an
    /// empty one as clearing it).
    Remark, "remark", "invalid_remark", limits::REMARK_CHARS_MAX, allow_empty = true
);

bounded_text!(
    /// The name of a shared location's place ("Piazza San Marco").
    PlaceName, "location.name", "invalid_location", limits::PLACE_NAME_CHARS_MAX,
    allow_empty = false
);

/// A group's announcement: what its owner or admins pin for every member
/// to read. Up to [`limits::ANNOUNCEMENT_CHARS_MAX`] characters; line
/// breaks and tabs are kept (it is prose, unlike a title), other control
/// characters refused; blank becomes empty, which means none.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Announcement(String);

impl Announcement {
    pub const FIELD: &'static str = "announcement";

    pub fn parse(text: &str) -> Result<Announcement, ValueError> {
        let trimmed = text.trim();
        if trimmed.chars().count() > limits::ANNOUNCEMENT_CHARS_MAX {
            return Err(ValueError::new(
                Self::FIELD,
                "announcement_too_long",
                format!(
                    "must be at most {} characters",
                    limits::ANNOUNCEMENT_CHARS_MAX
                ),
            ));
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            return Err(ValueError::new(
                Self::FIELD,
                "invalid_announcement",
                "must not hold control characters other than line breaks and tabs",
            ));
        }
        Ok(Announcement(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Prose: trimmed, at most `max` characters, line breaks and tabs kept
/// and other control characters refused; empty only where `allow_empty`.
fn prose(
    field: &'static str,
    code: &'static str,
    max: usize,
    allow_empty: bool,
    text: &str,
) -> Result<String, ValueError> {
    let trimmed = text.trim();
    if !allow_empty && trimmed.is_empty() {
        return Err(ValueError::new(field, code, "must not be empty"));
    }
    if trimmed.chars().count() > max {
        return Err(ValueError::new(
            field,
            code,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(ValueError::new(
            field,
            code,
            "must not hold control characters other than line breaks and tabs",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A Moments post's text: up to [`limits::MOMENT_TEXT_CHARS_MAX`]
/// characters of prose; empty when the pictures are the post.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MomentText(String);

impl MomentText {
    pub const FIELD: &'static str = "text";

    pub fn parse(text: &str) -> Result<MomentText, ValueError> {
        let text = prose(
            Self::FIELD,
            "invalid_moment_text",
            limits::MOMENT_TEXT_CHARS_MAX,
            true,
            text,
        )?;
        Ok(MomentText(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Wraps a value the store wrote after parsing it; not for outside input.
    pub fn from_store(text: String) -> MomentText {
        MomentText(text)
    }
}

/// A comment on a Moments post (or a reply to one): 1 to
/// [`limits::MOMENT_COMMENT_CHARS_MAX`] characters of prose.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommentText(String);

impl CommentText {
    pub const FIELD: &'static str = "text";

    pub fn parse(text: &str) -> Result<CommentText, ValueError> {
        let text = prose(
            Self::FIELD,
            "invalid_comment_text",
            limits::MOMENT_COMMENT_CHARS_MAX,
            false,
            text,
        )?;
        Ok(CommentText(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a value the store wrote after parsing it; not for outside input.
    pub fn from_store(text: String) -> CommentText {
        CommentText(text)
    }
}

/// A point on Earth, kept as whole 1e-7 degrees (about a centimetre, as
/// OpenStreetMap keeps them), so it compares exactly and stores as two
/// integers; built only from a latitude in -90..=90 and a longitude in
/// -180..=180.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    #[serde(rename = "lat_e7")]
    lat_e7: i32,
    #[serde(rename = "lon_e7")]
    lon_e7: i32,
    #[serde(rename = "name", default, skip_serializing_if = "Option::is_none")]
    name: Option<PlaceName>,
}

impl Location {
    pub fn parse(lat: f64, lon: f64, name: Option<&str>) -> Result<Location, ValueError> {
        let invalid = |reason| ValueError::new("location", "invalid_location", reason);
        if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
            return Err(invalid("lat must be a number from -90 to 90"));
        }
        if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
            return Err(invalid("lon must be a number from -180 to 180"));
        }
        let name = match name.map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(PlaceName::parse(name)?),
        };
        // In range, so each fits an i32 (180e7 < 2^31).
        Ok(Location {
            lat_e7: (lat * 1e7).round() as i32,
            lon_e7: (lon * 1e7).round() as i32,
            name,
        })
    }

    pub fn lat(&self) -> f64 {
        f64::from(self.lat_e7) / 1e7
    }

    pub fn lon(&self) -> f64 {
        f64::from(self.lon_e7) / 1e7
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_ref().map(PlaceName::as_str)
    }
}

impl DisplayName {
    pub fn from_username(username: &Username) -> DisplayName {
        DisplayName(username.as_str().to_owned())
    }
}

/// The client's own id for a message it sends, which makes sending
/// idempotent: 1–64 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientMsgId(String);

impl ClientMsgId {
    pub fn parse(text: &str) -> Result<ClientMsgId, ValueError> {
        let chars = text.chars().count();
        if chars == 0 || chars > limits::CLIENT_MSG_ID_CHARS_MAX {
            return Err(ValueError::new(
                "client_msg_id",
                "invalid_client_msg_id",
                format!(
                    "must be 1 to {} characters",
                    limits::CLIENT_MSG_ID_CHARS_MAX
                ),
            ));
        }
        if has_control_chars(text) || text.chars().any(char::is_whitespace) {
            return Err(ValueError::new(
                "client_msg_id",
                "invalid_client_msg_id",
                "must not hold white space or control characters",
            ));
        }
        Ok(ClientMsgId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a value the store wrote after parsing it; not for outside input.
    pub fn from_store(text: String) -> ClientMsgId {
        ClientMsgId(text)
    }
}

/// A message's text: not blank, at most 16 KiB of UTF-8. Line breaks and
/// tabs are kept; other control characters are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageText(String);

impl MessageText {
    pub fn parse(text: &str) -> Result<MessageText, ValueError> {
        if text.trim().is_empty() {
            return Err(ValueError::new("text", "invalid_text", "must not be empty"));
        }
        if text.len() > limits::MESSAGE_TEXT_BYTES_MAX {
            return Err(ValueError::new(
                "text",
                "message_too_long",
                format!("must be at most {} bytes", limits::MESSAGE_TEXT_BYTES_MAX),
            ));
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            return Err(ValueError::new(
                "text",
                "invalid_text",
                "must not hold control characters",
            ));
        }
        Ok(MessageText(text.to_owned()))
    }

    /// An image's caption: the rules of a text, except that it may be
    /// empty (the image is the message). Blank becomes empty.
    pub fn parse_caption(text: &str) -> Result<MessageText, ValueError> {
        if text.trim().is_empty() {
            return Ok(MessageText(String::new()));
        }
        MessageText::parse(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a value the store wrote after parsing it; not for outside input.
    pub fn from_store(text: String) -> MessageText {
        MessageText(text)
    }
}

/// A reaction: exactly one emoji, as Unicode lists them (skin tones
/// included), kept in its fully qualified form, so "❤" and "❤️" count as
/// one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Emoji(String);

impl Emoji {
    pub fn parse(text: &str) -> Result<Emoji, ValueError> {
        match emojis::get(text) {
            Some(emoji) => Ok(Emoji(emoji.as_str().to_owned())),
            None => Err(ValueError::new(
                "emoji",
                "invalid_emoji",
                "must be exactly one emoji",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a value the store wrote after parsing it; not for outside input.
    pub fn from_store(text: String) -> Emoji {
        Emoji(text)
    }
}

/// A position in one conversation: message `seq`s start at 1, and 0 means
/// "before the first message".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seq(i64);

impl Seq {
    pub const ZERO: Seq = Seq(0);

    pub fn new(value: i64) -> Result<Seq, ValueError> {
        if value < 0 {
            return Err(ValueError::new(
                "seq",
                "invalid_seq",
                "must not be negative",
            ));
        }
        Ok(Seq(value))
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// Wraps a value the store wrote; stored seqs are never negative.
    pub fn from_store(value: i64) -> Seq {
        debug_assert!(value >= 0);
        Seq(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn username_boundaries() {
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(32)).is_ok());
        assert!(Username::parse("a.b_c9").is_ok());
        for bad in ["ab", &"a".repeat(33), "Abc", "ab-c", "ab c", "abç", ""] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn password_boundaries() {
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse("1234567").is_err());
        assert!(
            Password::parse("ééééééé").is_err(),
            "counts characters, not bytes"
        );
        assert!(Password::parse(&"x".repeat(1025)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret-123").unwrap()),
            "Password(..)"
        );
    }

    #[test]
    fn captions_may_be_empty_but_keep_the_other_rules() {
        assert_eq!(MessageText::parse_caption("").unwrap().as_str(), "");
        assert_eq!(MessageText::parse_caption(" \n ").unwrap().as_str(), "");
        assert_eq!(
            MessageText::parse_caption("a cat").unwrap().as_str(),
            "a cat"
        );
        assert!(MessageText::parse_caption("bell\u{7}").is_err());
        assert!(MessageText::parse_caption(&"x".repeat(16 * 1024 + 1)).is_err());
        assert!(
            MessageText::parse("").is_err(),
            "a text message still needs text"
        );
    }

    #[test]
    fn message_text_boundaries() {
        assert!(MessageText::parse("hi").is_ok());
        assert!(MessageText::parse("line\nbreak\ttab").is_ok());
        assert!(MessageText::parse(&"x".repeat(16 * 1024)).is_ok());
        assert_eq!(
            MessageText::parse(&"x".repeat(16 * 1024 + 1))
                .unwrap_err()
                .code,
            "message_too_long"
        );
        assert!(MessageText::parse("   ").is_err());
        assert!(MessageText::parse("bell\u{7}").is_err());
    }

    #[test]
    fn client_msg_id_boundaries() {
        assert!(ClientMsgId::parse("m-1").is_ok());
        assert!(ClientMsgId::parse(&"x".repeat(64)).is_ok());
        assert!(ClientMsgId::parse(&"x".repeat(65)).is_err());
        assert!(ClientMsgId::parse("").is_err());
        assert!(ClientMsgId::parse("a b").is_err());
    }

    #[test]
    fn bounded_texts_trim_and_cap() {
        assert_eq!(GroupTitle::parse("  Team  ").unwrap().as_str(), "Team");
        assert!(GroupTitle::parse("   ").is_err());
        assert!(GroupTitle::parse(&"t".repeat(101)).is_err());
        assert_eq!(Greeting::parse("").unwrap().as_str(), "");
        assert!(DeviceName::parse("phone\u{0}").is_err());
    }

    #[test]
    fn announcement_boundaries() {
        assert_eq!(Announcement::parse("  ").unwrap().as_str(), "");
        assert_eq!(Announcement::parse("a\nb").unwrap().as_str(), "a\nb");
        assert!(
            Announcement::parse(&"é".repeat(2_000)).is_ok(),
            "counts characters"
        );
        let long = Announcement::parse(&"a".repeat(2_001)).unwrap_err();
        assert_eq!(long.code, "announcement_too_long");
        assert!(Announcement::parse("bell\u{7}").is_err());
    }

    #[test]
    fn bio_boundaries() {
        assert_eq!(Bio::parse("").unwrap().as_str(), "");
        assert_eq!(Bio::parse("  likes tea  ").unwrap().as_str(), "likes tea");
        assert!(Bio::parse(&"é".repeat(300)).is_ok(), "counts characters");
        assert_eq!(
            Bio::parse(&"b".repeat(301)).unwrap_err().code,
            "invalid_bio"
        );
        assert!(Bio::parse("two\nlines").is_err());
        assert_eq!(Remark::parse("  Mum ").unwrap().as_str(), "Mum");
        assert_eq!(Remark::parse("   ").unwrap().as_str(), "", "empty clears");
        assert!(Remark::parse(&"é".repeat(64)).is_ok());
        assert_eq!(
            Remark::parse(&"r".repeat(65)).unwrap_err().code,
            "invalid_remark"
        );
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in "\\PC{0,80}") {
            let _ = Username::parse(&text);
            let _ = Password::parse(&text);
            let _ = MessageText::parse(&text);
            let _ = ClientMsgId::parse(&text);
            let _ = DisplayName::parse(&text);
        }

        #[test]
        fn a_parsed_username_is_always_within_rules(text in "[a-z0-9_.]{0,40}") {
            if let Ok(name) = Username::parse(&text) {
                prop_assert!((3..=32).contains(&name.as_str().len()));
            }
        }
    }

    #[test]
    fn an_emoji_is_one_emoji_in_its_fully_qualified_form() {
        for (sent, kept) in [
            ("👍", "👍"),
            ("👍🏽", "👍🏽"),
            ("❤", "❤️"),
            ("❤️", "❤️"),
            ("🇮🇹", "🇮🇹"),
            ("👨‍👩‍👧", "👨‍👩‍👧"),
        ] {
            assert_eq!(Emoji::parse(sent).unwrap().as_str(), kept, "{sent}");
        }
        for refused in ["", "a", "👍👍", "👍 ", " 👍", "ok", "<script>", "\u{200d}"] {
            assert!(Emoji::parse(refused).is_err(), "{refused:?}");
        }
    }
}
