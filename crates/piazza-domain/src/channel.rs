//! Channels (official accounts): the values a channel, an article and a
//! comment are made of, each parsed once from outside input, and the
//! limits of the area. The rules that need data are in
//! `piazza_core::channels`.

use std::fmt;

use crate::values::ValueError;

/// Channels one account may own.
pub const CHANNELS_PER_OWNER_MAX: usize = 50;
/// Channels one account may follow.
pub const FOLLOWS_PER_ACCOUNT_MAX: usize = 2_000;
/// Editors (besides its owner) one channel may name.
pub const EDITORS_PER_CHANNEL_MAX: usize = 50;
/// A channel's name, in characters.
pub const CHANNEL_NAME_CHARS_MAX: usize = 64;
/// A channel's description, in characters.
pub const CHANNEL_DESCRIPTION_CHARS_MAX: usize = 500;
/// An article's title, in characters.
pub const ARTICLE_TITLE_CHARS_MAX: usize = 120;
/// An article's Markdown body, in bytes (its route takes a larger JSON
/// body than the default 64 KiB to carry it).
pub const ARTICLE_BODY_BYTES_MAX: usize = 100_000;
/// A request body that carries an article: the body above, escaped in
/// JSON (up to 6 bytes a byte for control characters, but prose is far
/// below), with its title.
pub const ARTICLE_REQUEST_BYTES_MAX: usize = 512 * 1024;
/// A comment, in characters (WeChat's comments: 600).
pub const COMMENT_CHARS_MAX: usize = 600;
/// Comments one account may leave on one article.
pub const COMMENTS_PER_ACCOUNT_PER_ARTICLE_MAX: usize = 50;
/// Comments an article's view lists, newest first.
pub const COMMENTS_SHOWN_MAX: usize = 200;
/// Followers one background fan-out job tells of a new article.
pub const FANOUT_CHUNK: usize = 1_000;
/// Channels a search answers at most.
pub const SEARCH_RESULTS_MAX: usize = 50;
/// Articles a channel's public page and Atom feed list.
pub const PUBLIC_ARTICLES_MAX: usize = 20;

/// A channel's handle: its public name in links (`/c/{handle}`), unique
/// among channels, with the rules of a username (3–32 of `a-z0-9_.`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Handle(String);

impl Handle {
    pub fn parse(text: &str) -> Result<Handle, ValueError> {
        let chars = text.chars().count();
        if !(crate::limits::USERNAME_CHARS_MIN..=crate::limits::USERNAME_CHARS_MAX).contains(&chars)
        {
            return Err(ValueError::new(
                "handle",
                "invalid_handle",
                format!(
                    "must be {} to {} characters",
                    crate::limits::USERNAME_CHARS_MIN,
                    crate::limits::USERNAME_CHARS_MAX
                ),
            ));
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
        {
            return Err(ValueError::new(
                "handle",
                "invalid_handle",
                "may hold only a-z, 0-9, '_' and '.'",
            ));
        }
        Ok(Handle(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a value the store wrote after parsing it; not for outside input.
    pub fn from_store(text: String) -> Handle {
        Handle(text)
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Text trimmed, within `max` characters, not empty unless `allow_empty`,
/// with no control character (or none but line breaks and tabs, for
/// `prose`).
pub(crate) fn text(
    field: &'static str,
    code: &'static str,
    raw: &str,
    max: usize,
    allow_empty: bool,
    prose: bool,
) -> Result<String, ValueError> {
    let trimmed = raw.trim();
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
    let allowed = |c: char| prose && matches!(c, '\n' | '\t' | '\r');
    if trimmed.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(ValueError::new(
            field,
            code,
            "must not hold control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

macro_rules! channel_text {
    ($(#[$doc:meta])* $name:ident, $field:literal, $code:literal, $max:expr,
     allow_empty = $empty:literal, prose = $prose:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<$name, ValueError> {
                text($field, $code, raw, $max, $empty, $prose).map($name)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Wraps a value the store wrote after parsing it.
            pub fn from_store(text: String) -> $name {
                $name(text)
            }
        }
    };
}
pub(crate) use channel_text;

channel_text!(
    /// A channel's name ("Piazza News"); one line.
    ChannelName, "name", "invalid_name", CHANNEL_NAME_CHARS_MAX,
    allow_empty = false, prose = false
);
channel_text!(
    /// What a channel is about; prose, may be empty.
    ChannelDescription, "description", "invalid_description", CHANNEL_DESCRIPTION_CHARS_MAX,
    allow_empty = true, prose = true
);
channel_text!(
    /// An article's title; one line.
    ArticleTitle, "title", "invalid_title", ARTICLE_TITLE_CHARS_MAX,
    allow_empty = false, prose = false
);
channel_text!(
    /// A reader's comment on an article; prose.
    CommentText, "text", "invalid_text", COMMENT_CHARS_MAX,
    allow_empty = false, prose = true
);

/// An article's body as its author wrote it, in Markdown: not empty, at
/// most [`ARTICLE_BODY_BYTES_MAX`] bytes, no control characters but line
/// breaks and tabs. It is kept as written; what reaches a page is
/// rendered and sanitized there (`piazza-server`'s public pages).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArticleBody(String);

impl ArticleBody {
    pub fn parse(raw: &str) -> Result<ArticleBody, ValueError> {
        if raw.trim().is_empty() {
            return Err(ValueError::new(
                "body_markdown",
                "invalid_body_markdown",
                "must not be empty",
            ));
        }
        if raw.len() > ARTICLE_BODY_BYTES_MAX {
            return Err(ValueError::new(
                "body_markdown",
                "article_too_long",
                format!("must be at most {ARTICLE_BODY_BYTES_MAX} bytes"),
            ));
        }
        if raw
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        {
            return Err(ValueError::new(
                "body_markdown",
                "invalid_body_markdown",
                "must not hold control characters other than line breaks and tabs",
            ));
        }
        Ok(ArticleBody(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a value the store wrote after parsing it.
    pub fn from_store(text: String) -> ArticleBody {
        ArticleBody(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_follow_the_username_rules() {
        assert!(Handle::parse("piazza.news").is_ok());
        for bad in ["ab", "Piazza", "a b", "news!", "<script>", &"a".repeat(33)] {
            let error = Handle::parse(bad).unwrap_err();
            assert_eq!(error.code, "invalid_handle", "{bad}");
        }
    }

    #[test]
    fn texts_are_trimmed_capped_and_single_line_where_they_must_be() {
        assert_eq!(ChannelName::parse("  News ").unwrap().as_str(), "News");
        assert!(ChannelName::parse(" ").is_err());
        assert!(ChannelName::parse("a\nb").is_err());
        assert!(ChannelName::parse(&"n".repeat(CHANNEL_NAME_CHARS_MAX + 1)).is_err());
        assert!(ChannelDescription::parse("").is_ok());
        assert!(ChannelDescription::parse("two\nlines").is_ok());
        assert!(CommentText::parse("nice\npiece").is_ok());
        assert!(CommentText::parse("\u{1b}[2J").is_err());
        assert!(ArticleTitle::parse(&"t".repeat(ARTICLE_TITLE_CHARS_MAX)).is_ok());
    }

    #[test]
    fn an_article_body_is_capped_in_bytes() {
        assert!(ArticleBody::parse("# Hello\n\nworld").is_ok());
        assert!(ArticleBody::parse("  \n").is_err());
        let long = "é".repeat(ARTICLE_BODY_BYTES_MAX / 2 + 1);
        assert_eq!(
            ArticleBody::parse(&long).unwrap_err().code,
            "article_too_long"
        );
        assert!(ArticleBody::parse("a\u{0}b").is_err());
    }
}
