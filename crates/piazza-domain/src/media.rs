//! Uploaded images: which types are taken, and the check that the bytes
//! are what their declared type says (a browser given `nosniff` trusts the
//! type, so a file declared `image/png` must start like a PNG).

use crate::{AccountId, MediaId, Timestamp};

/// The image types Piazza keeps. Anything else is refused at the edge
/// (415 `unsupported_media_type`): no SVG (it can carry script), no HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    Png,
    Jpeg,
    Webp,
    Gif,
}

impl MediaType {
    pub const ALL: [MediaType; 4] = [
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
        }
    }

    /// Whether `bytes` begin with this type's magic number.
    pub fn matches(self, bytes: &[u8]) -> bool {
        match self {
            MediaType::Png => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            MediaType::Jpeg => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
            MediaType::Webp => {
                bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP"
            }
            MediaType::Gif => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
        }
    }
}

/// The long side of a thumbnail, at most, in pixels.
pub const THUMBNAIL_EDGE_PX_MAX: u32 = 320;

/// A media's thumbnail: a PNG (when the picture has transparency) or a
/// JPEG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub media_type: MediaType,
    pub bytes: Vec<u8>,
}

/// An upload to keep: its type and magic number are checked and its
/// SHA-256 computed before it reaches the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMedia {
    pub media_type: MediaType,
    pub sha256: [u8; 32],
    pub bytes: Vec<u8>,
}

/// A kept image, as its uploader and those shown it see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub media_id: MediaId,
    pub uploader: AccountId,
    pub media_type: MediaType,
    pub sha256: [u8; 32],
    pub bytes: u64,
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
