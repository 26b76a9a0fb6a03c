//! The kind of browser a request comes from, read from its `User-Agent`,
//! for a person approving a QR log-in to check against the browser in
//! front of them ("Chrome on Linux"), and for the devices list, which
//! names each device by it (as codes, `chrome` and `linux`, that the
//! client words in its reader's language).
//!
//! A page can send any `User-Agent` it likes, so this is a hint, never
//! proof; what it buys is that the approver is shown one of a fixed few
//! names the server chose, never text the page wrote ("Your phone, safe to
//! approve"). A few substring checks cover the browsers people use; a
//! user-agent database would be a heavy dependency for a hint.

use std::fmt;

/// A browser family and an operating system, each possibly unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowserKind {
    pub family: Family,
    pub system: System,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Chrome,
    Edge,
    Firefox,
    Safari,
    /// The `piazza` command-line client (`piazza-cli/<version> (<os>)`).
    PiazzaCli,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    Windows,
    MacOs,
    Linux,
    Android,
    Ios,
    Unknown,
}

impl BrowserKind {
    /// Reads a `User-Agent` value; anything unrecognised is `Unknown`.
    pub fn from_user_agent(user_agent: &str) -> BrowserKind {
        BrowserKind {
            family: family(user_agent),
            system: system(user_agent),
        }
    }
}

/// Edge and Chrome both say "Chrome/" (and Chrome says "Safari/"), so the
/// more specific tokens are looked for first. iOS browsers other than
/// Safari name themselves with their own tokens (CriOS, FxiOS, EdgiOS).
fn family(user_agent: &str) -> Family {
    let has = |token: &str| user_agent.contains(token);
    if user_agent.starts_with(CLI_PRODUCT) {
        Family::PiazzaCli
    } else if has("Edg/") || has("EdgA/") || has("EdgiOS/") || has("Edge/") {
        Family::Edge
    } else if has("Firefox/") || has("FxiOS/") {
        Family::Firefox
    } else if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        Family::Chrome
    } else if has("Safari/") && has("Version/") {
        Family::Safari
    } else {
        Family::Unknown
    }
}

/// Android says "Linux" and iOS says "like Mac OS X": they come first.
/// The CLI names its system in lower case, as Rust's `std::env::consts::OS`.
fn system(user_agent: &str) -> System {
    let has = |token: &str| user_agent.contains(token);
    if user_agent.starts_with(CLI_PRODUCT) {
        cli_system(user_agent)
    } else if has("Android") {
        System::Android
    } else if has("iPhone") || has("iPad") || has("iPod") {
        System::Ios
    } else if has("Windows") {
        System::Windows
    } else if has("Macintosh") || has("Mac OS X") {
        System::MacOs
    } else if has("Linux") || has("X11") {
        System::Linux
    } else {
        System::Unknown
    }
}

/// The product token the `piazza` CLI's `User-Agent` starts with.
pub const CLI_PRODUCT: &str = "piazza-cli/";

fn cli_system(user_agent: &str) -> System {
    let has = |token: &str| user_agent.contains(token);
    if has("(linux") {
        System::Linux
    } else if has("(macos") {
        System::MacOs
    } else if has("(windows") {
        System::Windows
    } else if has("(android") {
        System::Android
    } else if has("(ios") {
        System::Ios
    } else {
        System::Unknown
    }
}

/// The `User-Agent` a `User-Agent` header is kept as: at most this many
/// bytes (real ones are under 200; the rest is someone's padding).
pub const STORED_BYTES_MAX: usize = 256;

/// A header value as kept for the devices list: visible ASCII only (what
/// `HeaderValue::to_str` accepts), cut to [`STORED_BYTES_MAX`]; none for
/// an empty one.
pub fn stored(value: Option<&axum::http::HeaderValue>) -> Option<String> {
    let text = value?.to_str().ok()?.trim();
    if text.is_empty() {
        return None;
    }
    // Visible ASCII: one byte per character, so any cut is on a boundary.
    Some(text[..text.len().min(STORED_BYTES_MAX)].to_owned())
}

impl Family {
    /// The code the API gives for it (`DeviceClient::app`).
    pub fn code(self) -> &'static str {
        match self {
            Family::Chrome => "chrome",
            Family::Edge => "edge",
            Family::Firefox => "firefox",
            Family::Safari => "safari",
            Family::PiazzaCli => "piazza_cli",
            Family::Unknown => "unknown",
        }
    }
}

impl System {
    /// The code the API gives for it (`DeviceClient::system`).
    pub fn code(self) -> &'static str {
        match self {
            System::Windows => "windows",
            System::MacOs => "macos",
            System::Linux => "linux",
            System::Android => "android",
            System::Ios => "ios",
            System::Unknown => "unknown",
        }
    }
}

impl fmt::Display for BrowserKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = match self.family {
            Family::Chrome => "Chrome",
            Family::Edge => "Edge",
            Family::Firefox => "Firefox",
            Family::Safari => "Safari",
            Family::PiazzaCli => "Piazza CLI",
            Family::Unknown => "Unknown browser",
        };
        let system = match self.system {
            System::Windows => "Windows",
            System::MacOs => "macOS",
            System::Linux => "Linux",
            System::Android => "Android",
            System::Ios => "iOS",
            System::Unknown => return formatter.write_str(family),
        };
        write!(formatter, "{family} on {system}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_browsers_are_named() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                "Chrome on Linux",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.224 Safari/537.36",
                "Chrome on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:124.0) Gecko/20100101 Firefox/124.0",
                "Firefox on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                "Safari on iOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
                "Chrome on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
                "Firefox on Android",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
                "Firefox on macOS",
            ),
        ];
        for (user_agent, expected) in cases {
            assert_eq!(
                BrowserKind::from_user_agent(user_agent).to_string(),
                expected,
                "{user_agent}"
            );
        }
    }

    #[test]
    fn anything_else_is_unknown_and_never_echoed() {
        for (user_agent, expected) in [
            ("", "Unknown browser"),
            ("curl/8.5.0", "Unknown browser"),
            ("Your phone, safe to approve", "Unknown browser"),
            ("piazza-cli (Linux)", "Unknown browser on Linux"),
            ("piazza-cli/0.1.0 (linux; x86_64)", "Piazza CLI on Linux"),
            ("piazza-cli/0.1.0 (macos; aarch64)", "Piazza CLI on macOS"),
            ("piazza-cli/0.1.0", "Piazza CLI"),
            ("Mozilla/5.0 piazza-cli/0.1.0 (linux)", "Unknown browser"),
            (
                "Mozilla/5.0 (X11; CrOS x86_64) Chrome/124.0",
                "Chrome on Linux",
            ),
        ] {
            assert_eq!(
                BrowserKind::from_user_agent(user_agent).to_string(),
                expected,
                "{user_agent}"
            );
        }
    }

    #[test]
    fn a_stored_user_agent_is_visible_ascii_and_short() {
        use axum::http::HeaderValue;
        assert_eq!(stored(None), None);
        assert_eq!(stored(Some(&HeaderValue::from_static("  "))), None);
        assert_eq!(
            stored(Some(&HeaderValue::from_static(" curl/8.5.0 "))).as_deref(),
            Some("curl/8.5.0")
        );
        let long = "x".repeat(STORED_BYTES_MAX * 4);
        let kept = stored(Some(&HeaderValue::from_str(&long).unwrap())).unwrap();
        assert_eq!(kept.len(), STORED_BYTES_MAX);
        // Bytes past ASCII are refused by `to_str`: nothing is kept.
        let latin1 = HeaderValue::from_bytes(b"caf\xe9").unwrap();
        assert_eq!(stored(Some(&latin1)), None);
    }

    #[test]
    fn codes_name_every_kind() {
        let kind = BrowserKind::from_user_agent("piazza-cli/0.1.0 (windows; x86_64)");
        assert_eq!(
            (kind.family.code(), kind.system.code()),
            ("piazza_cli", "windows")
        );
        let kind = BrowserKind::from_user_agent("");
        assert_eq!(
            (kind.family.code(), kind.system.code()),
            ("unknown", "unknown")
        );
    }
}
