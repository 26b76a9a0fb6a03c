//! Uploaded media: the types Piazza tells apart (from the bytes, never
//! from what the uploader declares), what kind of message each may be, and
//! the facts an upload carries.

use crate::{AccountId, MediaId, Timestamp};

/// What an upload is, as its bytes say. Pictures, audio and video are
/// served as themselves; anything else is a [`MediaType::Binary`] file,
/// served only as an attachment (`application/octet-stream`), so nothing
/// uploaded is ever rendered as a page of Piazza's origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    Png,
    Jpeg,
    Webp,
    Gif,
    /// Ogg (Opus or Vorbis).
    Ogg,
    /// AAC in an MP4 container (`.m4a`).
    M4a,
    Mp3,
    /// WebM with no video track: what browsers record voice notes as.
    WebmAudio,
    Mp4,
    Webm,
    /// QuickTime, as phones record video.
    Mov,
    /// Any other bytes.
    Binary,
}

/// What a media may be shown as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Picture,
    Audio,
    Video,
    File,
}

impl MediaType {
    pub const ALL: [MediaType; 12] = [
        MediaType::Png,
        MediaType::Jpeg,
        MediaType::Webp,
        MediaType::Gif,
        MediaType::Ogg,
        MediaType::M4a,
        MediaType::Mp3,
        MediaType::WebmAudio,
        MediaType::Mp4,
        MediaType::Webm,
        MediaType::Mov,
        MediaType::Binary,
    ];

    /// The pictures, whose magic numbers [`MediaType::matches`] knows.
    pub const PICTURES: [MediaType; 4] = [
        MediaType::Png,
        MediaType::Jpeg,
        MediaType::Webp,
        MediaType::Gif,
    ];

    /// The type named by a `Content-Type` value; parameters (`; charset=…`)
    /// and case are ignored.
    pub fn from_content_type(value: &str) -> Option<MediaType> {
        let essence = value.split(';').next().unwrap_or("").trim();
        MediaType::ALL
            .into_iter()
            .find(|kind| kind.as_mime().eq_ignore_ascii_case(essence))
    }

    pub fn as_mime(self) -> &'static str {
        match self {
            MediaType::Png => "image/png",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Webp => "image/webp",
            MediaType::Gif => "image/gif",
            MediaType::Ogg => "audio/ogg",
            MediaType::M4a => "audio/mp4",
            MediaType::Mp3 => "audio/mpeg",
            MediaType::WebmAudio => "audio/webm",
            MediaType::Mp4 => "video/mp4",
            MediaType::Webm => "video/webm",
            MediaType::Mov => "video/quicktime",
            MediaType::Binary => "application/octet-stream",
        }
    }

    pub fn kind(self) -> MediaKind {
        match self {
            MediaType::Png | MediaType::Jpeg | MediaType::Webp | MediaType::Gif => {
                MediaKind::Picture
            }
            MediaType::Ogg | MediaType::M4a | MediaType::Mp3 | MediaType::WebmAudio => {
                MediaKind::Audio
            }
            MediaType::Mp4 | MediaType::Webm | MediaType::Mov => MediaKind::Video,
            MediaType::Binary => MediaKind::File,
        }
    }

    /// Whether `bytes` begin with this picture type's magic number (the
    /// other types are told by the sniffer, not by this).
    pub fn matches(self, bytes: &[u8]) -> bool {
        match self {
            MediaType::Png => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            MediaType::Jpeg => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
            MediaType::Webp => {
                bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP"
            }
            MediaType::Gif => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
            _ => false,
        }
    }
}

/// The long side of a thumbnail, at most, in pixels.
pub const THUMBNAIL_EDGE_PX_MAX: u32 = 320;
/// The long side of a preview, at most, in pixels.
pub const PREVIEW_EDGE_PX_MAX: u32 = 1280;
/// A file's name, at most, in bytes (as most file systems keep them).
pub const FILE_NAME_BYTES_MAX: usize = 255;
/// A voice note's or a video's length, at most: a day.
pub const DURATION_MS_MAX: u64 = 24 * 60 * 60 * 1000;

/// What a container says of its picture or its length, where it says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MediaFacts {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
}

impl MediaFacts {
    /// Only what may be kept: sizes of at least a pixel (and that a
    /// database's 32-bit integer holds), lengths of at most
    /// [`DURATION_MS_MAX`].
    pub fn normalized(self) -> MediaFacts {
        let side = |px: Option<u32>| px.filter(|px| (1..=i32::MAX as u32).contains(px));
        MediaFacts {
            width: side(self.width),
            height: side(self.height),
            duration_ms: self.duration_ms.filter(|ms| *ms <= DURATION_MS_MAX),
        }
    }
}

/// Invisible characters that change how the text around them reads: the
/// bidirectional overrides and isolates ("invoice\u{202E}fdp.exe" shows as
/// "invoiceexe.pdf"), zero-width ones, the byte-order mark.
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// A file's name as its uploader gave it, made safe to show and to offer
/// as a download's name: no folders, no control characters, no quotes,
/// at most [`FILE_NAME_BYTES_MAX`] bytes. `None` when nothing is left.
pub fn file_name(given: &str) -> Option<String> {
    let base = given.rsplit(['/', '\\']).next().unwrap_or("");
    let mut name = String::new();
    let shown = |c: &char| !c.is_control() && !is_format(*c) && !matches!(c, '"' | '\\');
    for c in base.chars().filter(shown) {
        if name.len() + c.len_utf8() > FILE_NAME_BYTES_MAX {
            break;
        }
        name.push(c);
    }
    let name = name.trim();
    (!name.is_empty() && name != "." && name != "..").then(|| name.to_owned())
}

/// An upload to keep, its file already durable: its type sniffed from its
/// bytes, their SHA-256 and length computed as they arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMedia {
    pub media_type: MediaType,
    pub sha256: [u8; 32],
    pub bytes: u64,
    /// The file's name as its uploader gave it ([`file_name`]).
    pub name: Option<String>,
    pub facts: MediaFacts,
}

/// A kept media, as its uploader and those shown it see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub media_id: MediaId,
    pub uploader: AccountId,
    pub media_type: MediaType,
    pub sha256: [u8; 32],
    pub bytes: u64,
    pub name: Option<String>,
    pub facts: MediaFacts,
    pub created_at: Timestamp,
}

/// The answer to an upload: the media, and whether the same account had
/// uploaded the same bytes before (then nothing new was kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaStored {
    pub media: Media,
    pub replayed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_parse_with_parameters_and_case() {
        assert_eq!(
            MediaType::from_content_type("image/png"),
            Some(MediaType::Png)
        );
        assert_eq!(
            MediaType::from_content_type("Image/JPEG; charset=binary"),
            Some(MediaType::Jpeg)
        );
        assert_eq!(
            MediaType::from_content_type("audio/webm"),
            Some(MediaType::WebmAudio)
        );
        for refused in ["image/svg+xml", "text/html", "", "image/png2", "image"] {
            assert_eq!(MediaType::from_content_type(refused), None, "{refused}");
        }
    }

    #[test]
    fn magic_numbers_are_checked() {
        assert!(MediaType::Png.matches(b"\x89PNG\r\n\x1a\n rest"));
        assert!(!MediaType::Png.matches(b"\x89PNG"));
        assert!(!MediaType::Png.matches(b"GIF89a"));
        assert!(MediaType::Jpeg.matches(&[0xFF, 0xD8, 0xFF, 0xE0]));
        assert!(MediaType::Webp.matches(b"RIFF\x10\0\0\0WEBPVP8 "));
        assert!(!MediaType::Webp.matches(b"RIFF\x10\0\0\0WAVE"));
        assert!(MediaType::Gif.matches(b"GIF87a.."));
        assert!(!MediaType::Gif.matches(b""));
    }
}

#[cfg(test)]
mod file_name_tests {
    use super::*;

    #[test]
    fn file_names_lose_folders_controls_and_quotes() {
        assert_eq!(file_name("report.pdf").as_deref(), Some("report.pdf"));
        assert_eq!(file_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(file_name("C:\\x\\a\"b.txt").as_deref(), Some("ab.txt"));
        assert_eq!(file_name("a\r\nb").as_deref(), Some("ab"));
        assert_eq!(
            file_name("invoice\u{202E}fdp.exe").as_deref(),
            Some("invoicefdp.exe")
        );
        assert_eq!(file_name("  "), None);
        assert_eq!(file_name(".."), None);
        assert_eq!(file_name("dir/"), None);
        let long = "é".repeat(300);
        assert!(file_name(&long).unwrap().len() <= FILE_NAME_BYTES_MAX);
    }
}
