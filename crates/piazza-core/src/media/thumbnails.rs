//! Thumbnails of uploaded images: at most `THUMBNAIL_EDGE_PX_MAX` pixels
//! on the long side, made on first use from the original and kept beside
//! it (`<hex>.thumb`), so each content is decoded once however many
//! accounts or avatars show it.
//!
//! Decoding is the one place Piazza parses an image's insides (an upload
//! is checked only by its magic number), so it runs with the `image`
//! crate's limits: a small file may declare a huge picture (a
//! "decompression bomb"), and the decoder refuses one past
//! `DECODE_EDGE_PX_MAX` on a side or `DECODE_BYTES_MAX` of pixels before
//! allocating them. Only the formats uploads may have are compiled in.
//!
//! A thumbnail is a JPEG, or a PNG when the picture has transparency; what
//! a kept one is, is read from its magic number.
//!
//! Bytes the decoder refuses are remembered by a marker beside where their
//! thumbnail would be (`<hex>.thumb.undecodable`, holding the reason), so
//! an undecodable upload is refused from the marker, not decoded again on
//! every request. The refusal depends only on the bytes (and the limits
//! here), which the file's name fixes.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use piazza_domain::Rejection;
use piazza_domain::media::{Media, MediaType, THUMBNAIL_EDGE_PX_MAX, Thumbnail};

use super::files::{self, io};
use crate::engine::{Error, Result};

/// The longest side of a picture the decoder takes, in pixels.
pub const DECODE_EDGE_PX_MAX: u32 = 16_384;
/// The decoded pixels of one picture, in bytes, at most: a 40 MP photo
/// in RGB fits (120 MB), a bomb does not.
pub const DECODE_BYTES_MAX: u64 = 128 * 1024 * 1024;
/// Good enough for a small picture, a third of the bytes of quality 95.
const JPEG_QUALITY: u8 = 80;

/// Where the thumbnail of the bytes hashing to `sha256` is kept.
pub fn path(media_dir: &Path, sha256: &[u8; 32]) -> PathBuf {
    let mut path = files::file_path(media_dir, sha256).into_os_string();
    path.push(".thumb");
    PathBuf::from(path)
}

/// Where the refusal of the bytes hashing to `sha256` is remembered.
pub fn undecodable_path(media_dir: &Path, sha256: &[u8; 32]) -> PathBuf {
    let mut path = path(media_dir, sha256).into_os_string();
    path.push(".undecodable");
    PathBuf::from(path)
}

/// The thumbnail of a stored media: the kept one, or one made now and
/// kept. Blocking I/O and CPU work; run it off the async threads.
pub fn get_or_make(media_dir: &Path, found: &Media) -> Result<Thumbnail> {
    let kept = path(media_dir, &found.sha256);
    let refused = undecodable_path(media_dir, &found.sha256);
    match std::fs::read_to_string(&refused) {
        Ok(reason) => return Err(Error::Rejected(Rejection::ImageUndecodable { reason })),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(io(error)),
    }
    match std::fs::read(&kept) {
        Ok(bytes) => {
            if let Some(thumbnail) = recognise(bytes) {
                return Ok(thumbnail);
            }
            tracing::warn!(path = %kept.display(), "a kept thumbnail is not a picture; making it again");
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(io(error)),
    }
    let original = files::read_file(media_dir, found)?;
    let made = match make(&original, found.media_type) {
        Ok(made) => made,
        Err(Error::Rejected(Rejection::ImageUndecodable { reason })) => {
            // Not remembering costs only a decode more; the refusal stands.
            if let Err(error) = files::write_durably(&refused, reason.as_bytes()) {
                tracing::warn!(%error, path = %refused.display(), "cannot remember an undecodable image");
            }
            return Err(Error::Rejected(Rejection::ImageUndecodable { reason }));
        }
        Err(error) => return Err(error),
    };
    files::write_durably(&kept, &made.bytes).map_err(io)?;
    Ok(made)
}

fn recognise(bytes: Vec<u8>) -> Option<Thumbnail> {
    let media_type = [MediaType::Jpeg, MediaType::Png]
        .into_iter()
        .find(|kind| kind.matches(&bytes))?;
    Some(Thumbnail { media_type, bytes })
}

/// Decodes `bytes` (within the limits), shrinks it to fit
/// `THUMBNAIL_EDGE_PX_MAX`, turns the small picture upright as its EXIF
/// orientation says (turning the full one would copy all its pixels) and
/// encodes it. `ImageUndecodable` when the decoder refuses the bytes.
pub fn make(bytes: &[u8], media_type: MediaType) -> Result<Thumbnail> {
    let undecodable = |error: image::ImageError| {
        Error::Rejected(Rejection::ImageUndecodable {
            reason: error.to_string(),
        })
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(DECODE_EDGE_PX_MAX);
    limits.max_image_height = Some(DECODE_EDGE_PX_MAX);
    limits.max_alloc = Some(DECODE_BYTES_MAX);
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format_of(media_type));
    reader.limits(limits.clone());
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    // The decoder checks the sides; the pixels' bytes are checked here,
    // before `from_decoder` allocates them.
    limits.reserve(decoder.total_bytes()).map_err(undecodable)?;
    let orientation = decoder.orientation().map_err(undecodable)?;
    let mut picture = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    let edge = THUMBNAIL_EDGE_PX_MAX;
    if picture.width() > edge || picture.height() > edge {
        picture = picture.thumbnail(edge, edge);
    }
    // The bound is a square, so a quarter turn keeps the picture inside.
    picture.apply_orientation(orientation);
    assert!(picture.width() <= edge && picture.height() <= edge);
    let mut out = Vec::new();
    let media_type = if picture.color().has_alpha() {
        picture
            .to_rgba8()
            .write_with_encoder(PngEncoder::new(&mut out))
            .map_err(undecodable)?;
        MediaType::Png
    } else {
        picture
            .to_rgb8()
            .write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
            .map_err(undecodable)?;
        MediaType::Jpeg
    };
    Ok(Thumbnail {
        media_type,
        bytes: out,
    })
}

fn format_of(media_type: MediaType) -> ImageFormat {
    match media_type {
        MediaType::Png => ImageFormat::Png,
        MediaType::Jpeg => ImageFormat::Jpeg,
        MediaType::Webp => ImageFormat::WebP,
        MediaType::Gif => ImageFormat::Gif,
    }
}

#[cfg(test)]
mod tests {
    use image::{ImageBuffer, Rgb, Rgba};

    use super::*;

    fn png(width: u32, height: u32, alpha: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if alpha {
            ImageBuffer::from_pixel(width, height, Rgba([10u8, 20, 30, 128]))
                .write_with_encoder(PngEncoder::new(&mut out))
                .unwrap();
        } else {
            ImageBuffer::from_pixel(width, height, Rgb([10u8, 20, 30]))
                .write_with_encoder(PngEncoder::new(&mut out))
                .unwrap();
        }
        out
    }

    /// A PNG whose header says `width` × `height`, with the header's CRC
    /// right (so only the size can refuse it) and a 1 × 1 body.
    fn declaring(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = png(1, 1, false);
        bytes[16..20].copy_from_slice(&width.to_be_bytes());
        bytes[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        bytes
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for byte in data {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn dimensions(thumbnail: &Thumbnail) -> (u32, u32) {
        let picture = image::load_from_memory(&thumbnail.bytes).unwrap();
        (picture.width(), picture.height())
    }

    #[test]
    fn a_large_picture_shrinks_to_fit_keeping_its_shape() {
        let thumbnail = make(&png(1000, 500, false), MediaType::Png).unwrap();
        assert_eq!(thumbnail.media_type, MediaType::Jpeg);
        assert_eq!(dimensions(&thumbnail), (320, 160));
        let tall = make(&png(100, 640, true), MediaType::Png).unwrap();
        assert_eq!(tall.media_type, MediaType::Png, "transparency kept");
        assert_eq!(dimensions(&tall), (50, 320));
    }

    #[test]
    fn a_turned_picture_is_shrunk_then_turned_upright() {
        use image::ImageEncoder;
        // EXIF saying "turn a quarter clockwise" (orientation 6).
        let exif = [
            b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0,
            0,
        ];
        let picture = ImageBuffer::from_pixel(640, 320, Rgb([10u8, 20, 30]));
        let mut bytes = Vec::new();
        let mut encoder = PngEncoder::new(&mut bytes);
        encoder.set_exif_metadata(exif.to_vec()).unwrap();
        encoder
            .write_image(&picture, 640, 320, image::ExtendedColorType::Rgb8)
            .unwrap();
        let thumbnail = make(&bytes, MediaType::Png).unwrap();
        assert_eq!(
            dimensions(&thumbnail),
            (160, 320),
            "upright and within the bound"
        );
    }

    fn stored(media_dir: &Path, bytes: &[u8]) -> Media {
        let sha256 = [7u8; 32];
        let file = files::file_path(media_dir, &sha256);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, bytes).unwrap();
        Media {
            media_id: piazza_domain::MediaId::from_row(1),
            uploader: piazza_domain::AccountId::from_row(1),
            media_type: MediaType::Png,
            sha256,
            bytes: bytes.len() as u64,
            created_at: piazza_domain::Timestamp::from_unix_ms(0),
        }
    }

    #[test]
    fn undecodable_bytes_are_refused_from_memory_not_decoded_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut garbage = b"\x89PNG\r\n\x1a\n".to_vec();
        garbage.extend_from_slice(&[0; 64]);
        let found = stored(dir.path(), &garbage);
        let refused = |result: Result<Thumbnail>| {
            matches!(
                result,
                Err(Error::Rejected(Rejection::ImageUndecodable { .. }))
            )
        };
        assert!(refused(get_or_make(dir.path(), &found)));
        assert!(undecodable_path(dir.path(), &found.sha256).is_file());
        // Without its original, a second request could only fail to read
        // it; it is refused from the marker without reading it.
        std::fs::remove_file(files::file_path(dir.path(), &found.sha256)).unwrap();
        assert!(refused(get_or_make(dir.path(), &found)));
    }

    #[test]
    fn a_thumbnail_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let found = stored(dir.path(), &png(400, 100, false));
        let made = get_or_make(dir.path(), &found).unwrap();
        assert_eq!(dimensions(&made), (320, 80));
        std::fs::remove_file(files::file_path(dir.path(), &found.sha256)).unwrap();
        assert_eq!(get_or_make(dir.path(), &found).unwrap(), made);
    }

    #[test]
    fn a_small_picture_keeps_its_size() {
        let thumbnail = make(&png(40, 30, false), MediaType::Png).unwrap();
        assert_eq!(dimensions(&thumbnail), (40, 30));
    }

    #[test]
    fn garbage_and_bombs_are_refused_before_decoding() {
        let mut garbage = b"\x89PNG\r\n\x1a\n".to_vec();
        garbage.extend_from_slice(&[0; 64]);
        assert!(matches!(
            make(&garbage, MediaType::Png),
            Err(Error::Rejected(Rejection::ImageUndecodable { .. }))
        ));
        // A PNG whose header declares 20,000 × 20,000 pixels: a few bytes
        // that would decode into 1.2 GB; then one within the sides but past
        // the bytes (12,000 × 12,000 RGB).
        for (width, height) in [(20_000, 20_000), (12_000, 12_000)] {
            assert!(
                matches!(
                    make(&declaring(width, height), MediaType::Png),
                    Err(Error::Rejected(Rejection::ImageUndecodable { ref reason }))
                        if reason.contains("limit")
                ),
                "{width} × {height}"
            );
        }
    }
}
