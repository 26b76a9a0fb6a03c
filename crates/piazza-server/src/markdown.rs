//! An article's Markdown as HTML that is safe to put in any page:
//! rendered by `pulldown-cmark` (CommonMark with tables, strikethrough and
//! task lists; raw HTML in the Markdown passes into the output), then
//! cleaned by `ammonia`, an allow-list HTML sanitizer built on html5ever,
//! which parses the result as a browser would. What survives is a fixed
//! set of harmless tags and attributes: no `<script>`, `<style>`,
//! `<iframe>` or form, no `on…` handler or `style`, and only `http`,
//! `https` and `mailto` links (so no `javascript:` or `data:` URL);
//! links get `rel="noopener noreferrer nofollow"`. Relative links stay
//! relative (this origin's pages and the channels' public media).

use std::sync::LazyLock;

use ammonia::Builder;
use pulldown_cmark::{Event, Options, Parser, TagEnd};

static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut builder = Builder::default();
    builder
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"));
    builder
});

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// `markdown` rendered and sanitized.
pub fn to_html(markdown: &str) -> String {
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut raw, Parser::new_ext(markdown, options()));
    SANITIZER.clean(&raw).to_string()
}

/// The words of `markdown` without its markup, at most `max_chars`
/// characters (cut with `…`), for a list's excerpt.
pub fn plain_text(markdown: &str, max_chars: usize) -> String {
    let mut text = String::new();
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(words) | Event::Code(words) => text.push_str(&words),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item) => text.push(' '),
            _ => {}
        }
        if text.chars().count() > max_chars {
            break;
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max_chars {
        return text;
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped, for HTML text and
/// attribute values and for XML.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Markdown that tries every way we know of to run script.
    pub const XSS: &[&str] = &[
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](  javascript:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "<a href=\"javascript:alert(1)\">a</a>",
        "<svg onload=alert(1)>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<div style=\"background:url(javascript:alert(1))\">x</div>",
        "<body onload=alert(1)>",
        "![x](javascript:alert(1))",
        "<a href=\"data:text/html,<script>alert(1)</script>\">d</a>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<form action=\"javascript:alert(1)\"><button>go</button></form>",
        "<object data=\"javascript:alert(1)\"></object>",
        "<details open ontoggle=alert(1)>",
        "`<script>alert(1)</script>`",
        "<scr<script>ipt>alert(1)</script>",
        "<<script>script>alert(1)<</script>/script>",
    ];

    #[test]
    fn nothing_in_the_corpus_survives_as_script() {
        for markdown in XSS {
            let html = to_html(markdown).to_lowercase();
            assert!(!html.contains("<script"), "{markdown} → {html}");
            assert!(!html.contains("javascript:"), "{markdown} → {html}");
            assert!(!html.contains("<iframe"), "{markdown} → {html}");
            assert!(!html.contains("<svg"), "{markdown} → {html}");
            assert!(!html.contains(" style="), "{markdown} → {html}");
            let handler = html
                .split(|c: char| c.is_whitespace() || c == '<' || c == '/')
                .any(|word| word.starts_with("on") && word.contains('='));
            assert!(!handler, "{markdown} → {html}");
        }
    }

    #[test]
    fn ordinary_markdown_keeps_its_shape() {
        let html = to_html("# Title\n\nSome *words* and [a link](https://example.com).");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<em>words</em>"), "{html}");
        assert!(html.contains("href=\"https://example.com\""), "{html}");
        assert!(
            html.contains("rel=\"noopener noreferrer nofollow\""),
            "{html}"
        );
    }

    #[test]
    fn plain_text_drops_markup_and_cuts() {
        assert_eq!(plain_text("# Hi\n\nthere *you*", 100), "Hi there you");
        assert_eq!(plain_text("abcdef", 4), "abc…");
    }

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&'"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;"
        );
    }
}
