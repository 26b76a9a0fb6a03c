//! What an upload is, from its bytes alone: the `infer` crate reads the
//! magic number of the first bytes, and the container's own header (read
//! from the staged file, [`super::probe`]) tells audio from video where
//! one container holds either, and gives the sizes and lengths the answer
//! carries. What the uploader declared is only checked against this,
//! never believed.

use std::io::{BufReader, Seek};
use std::path::Path;

use image::ImageDecoder;
use piazza_domain::media::{MediaFacts, MediaKind, MediaType};

use super::probe::{self, Container};

/// Bytes of an upload's start the sniffer reads: every magic number it
/// knows, and an MP4's `ftyp` or a WebM's doctype, lie within them.
pub const SNIFF_BYTES: usize = 8 * 1024;

/// What `head` (an upload's first [`SNIFF_BYTES`], or all of it) starts
/// as, before its container is read: a picture, an ISO BMFF or Matroska
/// container (audio or video), Ogg, MP3 or any other file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Picture(MediaType),
    Container(Container, bool),
    Audio(MediaType),
    File,
}

pub fn sniff(head: &[u8]) -> Sniffed {
    if let Some(picture) = MediaType::PICTURES
        .into_iter()
        .find(|picture| picture.matches(head))
    {
        return Sniffed::Picture(picture);
    }
    let Some(found) = infer::get(head) else {
        return Sniffed::File;
    };
    match found.mime_type() {
        "video/mp4" | "video/x-m4v" | "audio/m4a" => Sniffed::Container(Container::Mp4, false),
        "video/quicktime" => Sniffed::Container(Container::Mp4, true),
        "video/webm" | "video/x-matroska" => Sniffed::Container(Container::WebM, false),
        "audio/ogg" | "audio/opus" => Sniffed::Audio(MediaType::Ogg),
        "audio/mpeg" => Sniffed::Audio(MediaType::Mp3),
        _ => Sniffed::File,
    }
}

/// The upload's type and facts, `sniffed` from its head and read from its
/// staged file. Blocking I/O; a container that cannot be read is still
/// kept, with no facts.
pub fn identify(sniffed: Sniffed, staged: &Path) -> std::io::Result<(MediaType, MediaFacts)> {
    let mut file = BufReader::new(std::fs::File::open(staged)?);
    let (media_type, facts) = read_container(sniffed, &mut file);
    Ok((media_type, facts.normalized()))
}

fn read_container(
    sniffed: Sniffed,
    file: &mut BufReader<std::fs::File>,
) -> (MediaType, MediaFacts) {
    match sniffed {
        Sniffed::Picture(picture) => (picture, picture_facts(picture, file)),
        Sniffed::Audio(audio) => {
            let container = match audio {
                MediaType::Ogg => Container::Ogg,
                _ => Container::Mp3,
            };
            (audio, audio_facts(probe::probe(container, file)))
        }
        Sniffed::Container(container, quicktime) => {
            let found = probe::probe(container, file);
            let video = found.width.is_some() && found.height.is_some();
            let media_type = match (container, video) {
                (Container::Mp4, true) if quicktime => MediaType::Mov,
                (Container::Mp4, true) => MediaType::Mp4,
                (Container::Mp4, false) => MediaType::M4a,
                (_, true) => MediaType::Webm,
                (_, false) => MediaType::WebmAudio,
            };
            let facts = if video {
                MediaFacts {
                    width: found.width,
                    height: found.height,
                    duration_ms: found.duration_ms,
                }
            } else {
                audio_facts(found)
            };
            (media_type, facts)
        }
        Sniffed::File => (MediaType::Binary, MediaFacts::default()),
    }
}

fn audio_facts(found: probe::Probe) -> MediaFacts {
    MediaFacts {
        width: None,
        height: None,
        duration_ms: found.duration_ms,
    }
}

/// A picture's size as it is shown (turned upright as its EXIF says),
/// from its header alone.
fn picture_facts<R: std::io::BufRead + Seek>(picture: MediaType, file: &mut R) -> MediaFacts {
    let format = match picture {
        MediaType::Png => image::ImageFormat::Png,
        MediaType::Jpeg => image::ImageFormat::Jpeg,
        MediaType::Webp => image::ImageFormat::WebP,
        _ => image::ImageFormat::Gif,
    };
    let mut reader = image::ImageReader::new(file);
    reader.set_format(format);
    let Ok(mut decoder) = reader.into_decoder() else {
        return MediaFacts::default();
    };
    let (width, height) = decoder.dimensions();
    let turned = decoder.orientation().is_ok_and(|orientation| {
        use image::metadata::Orientation::*;
        matches!(
            orientation,
            Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH
        )
    });
    let (width, height) = if turned {
        (height, width)
    } else {
        (width, height)
    };
    MediaFacts {
        width: Some(width),
        height: Some(height),
        duration_ms: None,
    }
}

/// Whether an upload found to be `found` may have been declared as
/// `declared`: a picture exactly as its bytes say, audio and video as
/// their kind (a browser's `audio/webm` recording may be MP4 audio on
/// another browser), anything as a plain file.
pub fn declared_fits(declared: MediaType, found: MediaType) -> bool {
    match declared.kind() {
        MediaKind::File => true,
        MediaKind::Picture => declared == found,
        kind => kind == found.kind(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_and_files_are_told_by_their_bytes() {
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n...."),
            Sniffed::Picture(MediaType::Png)
        );
        assert_eq!(sniff(b"<html><script>alert(1)</script>"), Sniffed::File);
        assert_eq!(sniff(b"%PDF-1.7\n"), Sniffed::File);
        assert_eq!(sniff(b""), Sniffed::File);
        assert_eq!(sniff(b"OggS\0\x02"), Sniffed::Audio(MediaType::Ogg));
        assert_eq!(
            sniff(b"ID3\x04\0\0\0\0\0\0"),
            Sniffed::Audio(MediaType::Mp3)
        );
    }

    #[test]
    fn a_declared_type_must_fit_what_the_bytes_are() {
        assert!(declared_fits(MediaType::Png, MediaType::Png));
        assert!(!declared_fits(MediaType::Png, MediaType::Binary));
        assert!(!declared_fits(MediaType::Png, MediaType::Gif));
        assert!(declared_fits(MediaType::WebmAudio, MediaType::M4a));
        assert!(!declared_fits(MediaType::Mp4, MediaType::Ogg));
        assert!(declared_fits(MediaType::Binary, MediaType::Png));
    }
}
