//! What is served of a picture: the picture itself cleaned of its
//! metadata ([`super::clean`]), a preview (at most
//! `PREVIEW_EDGE_PX_MAX` pixels on the long side) and a thumbnail (at most
//! `THUMBNAIL_EDGE_PX_MAX`). Each is made once per content, on first use
//! (or right after the upload), and kept in the blob store beside the
//! original (`<key>.clean`, `<key>.preview`, `<key>.thumb`), so each content
//! is decoded once however many accounts or avatars show it.
//!
//! Decoding is the one place Piazza parses a picture's pixels, so it runs
//! with the `image` crate's limits: a small file may declare a huge
//! picture (a "decompression bomb"), and the decoder refuses one past
//! `DECODE_EDGE_PX_MAX` on a side or `DECODE_BYTES_MAX` of pixels before
//! allocating them. Only the formats uploads may have are compiled in.
//! The `image` crate is pure Rust (no C library to patch for the next
//! decoder CVE) and decodes every format uploads may have; libvips would
//! be faster on huge photos but brings a C dependency tree.
//!
//! A preview or thumbnail is a JPEG, or a PNG when the picture has
//! transparency; what a kept one is, is read from its magic number.
//!
//! Bytes the decoder refuses are remembered by a blob beside where their
//! variant would be (`<key>.<variant>.undecodable`, holding the reason), so
//! an undecodable upload is refused from the marker, not decoded again on
//! every request. The refusal depends only on the bytes (and the limits
//! here), which the key fixes.

use std::io::Cursor;
use std::sync::Arc;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use piazza_domain::Rejection;
use piazza_domain::media::{
    Media, MediaKind, MediaType, PREVIEW_EDGE_PX_MAX, THUMBNAIL_EDGE_PX_MAX,
};

use tokio::sync::Semaphore;

use super::blobs::{self, BlobStore};
use super::files::io;
use crate::engine::{Error, Result};

/// The longest side of a picture the decoder takes, in pixels.
pub const DECODE_EDGE_PX_MAX: u32 = 16_384;
/// The decoded pixels of one picture, in bytes, at most: a 40 MP photo
/// in RGB fits (120 MB), a bomb does not.
pub const DECODE_BYTES_MAX: u64 = 128 * 1024 * 1024;
/// Good enough for a small picture, a third of the bytes of quality 95.
const JPEG_QUALITY: u8 = 80;
/// A turned photo encoded again: close to what a camera writes.
const UPRIGHT_JPEG_QUALITY: u8 = 92;

/// What is served of a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The whole picture, cleaned of metadata and upright.
    Clean,
    Preview,
    Thumbnail,
}

impl Variant {
    pub const ALL: [Variant; 3] = [Variant::Clean, Variant::Preview, Variant::Thumbnail];

    fn suffix(self) -> &'static str {
        match self {
            Variant::Clean => "clean",
            Variant::Preview => "preview",
            Variant::Thumbnail => "thumb",
        }
    }
}

/// A made variant, kept in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    pub key: String,
    pub media_type: MediaType,
    pub size: u64,
}

/// The key of `variant` of the bytes hashing to `sha256`.
pub fn key(sha256: &[u8; 32], variant: Variant) -> String {
    format!("{}.{}", blobs::key(sha256), variant.suffix())
}

/// Every key the bytes hashing to `sha256` may be kept under: the
/// original, each variant, and each variant's mark of an undecodable
/// picture.
pub fn all_keys(sha256: &[u8; 32]) -> Vec<String> {
    let mut keys = vec![blobs::key(sha256)];
    for variant in Variant::ALL {
        keys.push(key(sha256, variant));
        keys.push(undecodable_key(sha256, variant));
    }
    keys
}

fn undecodable_key(sha256: &[u8; 32], variant: Variant) -> String {
    format!("{}.undecodable", key(sha256, variant))
}

/// `variant` of the picture `found`: the kept one, or one made now (from
/// its original, read whole: a picture is capped at `picture_bytes_max`)
/// and kept. At most as many are made at once as `turns` has permits, and
/// a turn is taken before the original is read, so waiting requests hold
/// no picture in memory; once it has its turn, a request looks again, and
/// finds the variant another request made meanwhile. A turn moves into
/// the blocking decode, so a request dropped meanwhile does not free it
/// while the decode goes on.
pub async fn get_or_make(
    blobs: &dyn BlobStore,
    found: &Media,
    variant: Variant,
    picture_bytes_max: u64,
    turns: &Arc<Semaphore>,
) -> Result<Derived> {
    if found.media_type.kind() != MediaKind::Picture {
        return Err(not_a_picture());
    }
    if let Some(kept) = kept(blobs, found, variant).await? {
        return Ok(kept);
    }
    let turn = Arc::clone(turns)
        .acquire_owned()
        .await
        .map_err(|error| Error::Engine(error.to_string()))?;
    if let Some(kept) = kept(blobs, found, variant).await? {
        return Ok(kept);
    }
    let original = blobs
        .read_all(
            &blobs::key(&found.sha256),
            picture_bytes_max.max(found.bytes),
        )
        .await
        .map_err(io)?
        .ok_or_else(|| Error::Corrupt(format!("{} has no bytes in the store", found.media_id)))?;
    let media_type = found.media_type;
    let made = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        derive(&original, media_type, variant)
    })
    .await
    .map_err(|error| Error::Engine(error.to_string()))?;
    let refused = undecodable_key(&found.sha256, variant);
    let (media_type, bytes) = match made {
        Err(Error::Rejected(Rejection::ImageUndecodable { reason })) => {
            // Not remembering costs only a decode more; the refusal stands.
            if let Err(error) = blobs
                .keep_bytes(&refused, reason.clone().into_bytes())
                .await
            {
                tracing::warn!(%error, key = %refused, "cannot remember an undecodable image");
            }
            return Err(Error::Rejected(Rejection::ImageUndecodable { reason }));
        }
        made => made?,
    };
    let size = bytes.len() as u64;
    let key = key(&found.sha256, variant);
    blobs.keep_bytes(&key, bytes).await.map_err(io)?;
    Ok(Derived {
        key,
        media_type,
        size,
    })
}

/// `variant` of `found` if it was made already; its refusal if the
/// picture was found undecodable.
async fn kept(blobs: &dyn BlobStore, found: &Media, variant: Variant) -> Result<Option<Derived>> {
    let refused = undecodable_key(&found.sha256, variant);
    if let Some(reason) = blobs.read_all(&refused, 4096).await.map_err(io)? {
        let reason = String::from_utf8_lossy(&reason).into_owned();
        return Err(Error::Rejected(Rejection::ImageUndecodable { reason }));
    }
    let key = key(&found.sha256, variant);
    if let Some(size) = blobs.size(&key).await.map_err(io)?
        && let Some(media_type) = recognise(blobs, &key).await?
    {
        return Ok(Some(Derived {
            key,
            media_type,
            size,
        }));
    }
    Ok(None)
}

fn not_a_picture() -> Error {
    Error::Rejected(Rejection::ImageUndecodable {
        reason: "the media is not a picture".to_owned(),
    })
}

/// The picture type of a kept variant, from its first bytes.
async fn recognise(blobs: &dyn BlobStore, key: &str) -> Result<Option<MediaType>> {
    use futures_util::StreamExt;
    let mut stream = blobs.read(key, 0..16).await.map_err(io)?;
    let mut head = Vec::new();
    while let Some(chunk) = stream.next().await {
        head.extend_from_slice(&chunk.map_err(io)?);
    }
    let found = MediaType::PICTURES
        .into_iter()
        .find(|kind| kind.matches(&head));
    if found.is_none() {
        tracing::warn!(key, "a kept picture is not a picture; making it again");
    }
    Ok(found)
}

/// Makes `variant` of `bytes`. Blocking CPU work.
pub fn derive(
    bytes: &[u8],
    media_type: MediaType,
    variant: Variant,
) -> Result<(MediaType, Vec<u8>)> {
    match variant {
        Variant::Clean => super::clean::clean(bytes, media_type),
        Variant::Preview => make(bytes, media_type, PREVIEW_EDGE_PX_MAX),
        Variant::Thumbnail => make(bytes, media_type, THUMBNAIL_EDGE_PX_MAX),
    }
}

fn undecodable(error: image::ImageError) -> Error {
    Error::Rejected(Rejection::ImageUndecodable {
        reason: error.to_string(),
    })
}

/// Decodes `bytes` within the limits, and answers the picture and its
/// EXIF orientation.
fn decode(
    bytes: &[u8],
    media_type: MediaType,
) -> Result<(DynamicImage, image::metadata::Orientation)> {
    let format = format_of(media_type).ok_or_else(not_a_picture)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(DECODE_EDGE_PX_MAX);
    limits.max_image_height = Some(DECODE_EDGE_PX_MAX);
    limits.max_alloc = Some(DECODE_BYTES_MAX);
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format);
    reader.limits(limits.clone());
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    // The decoder checks the sides; the pixels' bytes are checked here,
    // before `from_decoder` allocates them.
    limits.reserve(decoder.total_bytes()).map_err(undecodable)?;
    let orientation = decoder.orientation().map_err(undecodable)?;
    let picture = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    Ok((picture, orientation))
}

/// A picture whose EXIF turns it, turned upright and encoded again with
/// no metadata: a JPEG stays a JPEG, anything else becomes a PNG.
pub fn upright(bytes: &[u8], media_type: MediaType) -> Result<(MediaType, Vec<u8>)> {
    let (mut picture, orientation) = decode(bytes, media_type)?;
    picture.apply_orientation(orientation);
    let mut out = Vec::new();
    if media_type == MediaType::Jpeg {
        picture
            .to_rgb8()
            .write_with_encoder(JpegEncoder::new_with_quality(
                &mut out,
                UPRIGHT_JPEG_QUALITY,
            ))
            .map_err(undecodable)?;
        return Ok((MediaType::Jpeg, out));
    }
    picture
        .write_with_encoder(PngEncoder::new(&mut out))
        .map_err(undecodable)?;
    Ok((MediaType::Png, out))
}

/// Decodes `bytes` (within the limits), shrinks it to fit `edge`, turns
/// the small picture upright as its EXIF orientation says (turning the
/// full one would copy all its pixels) and encodes it. `ImageUndecodable`
/// when the decoder refuses the bytes.
pub fn make(bytes: &[u8], media_type: MediaType, edge: u32) -> Result<(MediaType, Vec<u8>)> {
    let (mut picture, orientation) = decode(bytes, media_type)?;
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
    Ok((media_type, out))
}

pub fn format_of(media_type: MediaType) -> Option<ImageFormat> {
    Some(match media_type {
        MediaType::Png => ImageFormat::Png,
        MediaType::Jpeg => ImageFormat::Jpeg,
        MediaType::Webp => ImageFormat::WebP,
        MediaType::Gif => ImageFormat::Gif,
        _ => return None,
    })
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

    fn dimensions(made: &(MediaType, Vec<u8>)) -> (u32, u32) {
        let picture = image::load_from_memory(&made.1).unwrap();
        (picture.width(), picture.height())
    }

    #[test]
    fn a_large_picture_shrinks_to_fit_keeping_its_shape() {
        let thumbnail = make(&png(1000, 500, false), MediaType::Png, 320).unwrap();
        assert_eq!(thumbnail.0, MediaType::Jpeg);
        assert_eq!(dimensions(&thumbnail), (320, 160));
        let tall = make(&png(100, 640, true), MediaType::Png, 320).unwrap();
        assert_eq!(tall.0, MediaType::Png, "transparency kept");
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
        let thumbnail = make(&bytes, MediaType::Png, 320).unwrap();
        assert_eq!(
            dimensions(&thumbnail),
            (160, 320),
            "upright and within the bound"
        );
    }

    async fn stored(blobs: &dyn BlobStore, staging: &std::path::Path, bytes: &[u8]) -> Media {
        let sha256 = [7u8; 32];
        std::fs::write(staging, bytes).unwrap();
        blobs.keep(&blobs::key(&sha256), staging).await.unwrap();
        Media {
            media_id: piazza_domain::MediaId::from_row(1),
            uploader: piazza_domain::AccountId::from_row(1),
            media_type: MediaType::Png,
            sha256,
            bytes: bytes.len() as u64,
            name: None,
            facts: Default::default(),
            created_at: piazza_domain::Timestamp::from_unix_ms(0),
        }
    }

    fn turns() -> Arc<Semaphore> {
        Arc::new(Semaphore::new(1))
    }

    #[tokio::test]
    async fn undecodable_bytes_are_refused_from_memory_not_decoded_again() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = blobs::FsBlobs::new(dir.path().join("media"));
        let mut garbage = b"\x89PNG\r\n\x1a\n".to_vec();
        garbage.extend_from_slice(&[0; 64]);
        let found = stored(&blobs, &dir.path().join("staged"), &garbage).await;
        let refused = |result: Result<Derived>| {
            matches!(
                result,
                Err(Error::Rejected(Rejection::ImageUndecodable { .. }))
            )
        };
        let thumbnail = Variant::Thumbnail;
        assert!(refused(
            get_or_make(&blobs, &found, thumbnail, 1 << 20, &turns()).await
        ));
        let marker = undecodable_key(&found.sha256, thumbnail);
        assert!(blobs.size(&marker).await.unwrap().is_some());
        // Without its original, a second request could only fail to read
        // it; it is refused from the marker without reading it.
        std::fs::remove_file(dir.path().join("media").join(blobs::key(&found.sha256))).unwrap();
        assert!(refused(
            get_or_make(&blobs, &found, thumbnail, 1 << 20, &turns()).await
        ));
    }

    #[tokio::test]
    async fn each_variant_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = blobs::FsBlobs::new(dir.path().join("media"));
        let found = stored(&blobs, &dir.path().join("staged"), &png(2000, 100, false)).await;
        let mut made = Vec::new();
        for variant in Variant::ALL {
            let derived = get_or_make(&blobs, &found, variant, 1 << 24, &turns())
                .await
                .unwrap();
            let bytes = blobs
                .read_all(&derived.key, 1 << 24)
                .await
                .unwrap()
                .unwrap();
            made.push((derived, image::load_from_memory(&bytes).unwrap().width()));
        }
        let widths: Vec<u32> = made.iter().map(|(_, width)| *width).collect();
        assert_eq!(widths, [2000, 1280, 320]);
        std::fs::remove_file(dir.path().join("media").join(blobs::key(&found.sha256))).unwrap();
        for (variant, (derived, _)) in Variant::ALL.into_iter().zip(&made) {
            let again = get_or_make(&blobs, &found, variant, 1 << 24, &turns())
                .await
                .unwrap();
            assert_eq!(&again, derived, "kept, not made again");
        }
    }

    #[test]
    fn a_small_picture_keeps_its_size() {
        let thumbnail = make(&png(40, 30, false), MediaType::Png, 320).unwrap();
        assert_eq!(dimensions(&thumbnail), (40, 30));
    }

    #[test]
    fn garbage_and_bombs_are_refused_before_decoding() {
        let mut garbage = b"\x89PNG\r\n\x1a\n".to_vec();
        garbage.extend_from_slice(&[0; 64]);
        assert!(matches!(
            make(&garbage, MediaType::Png, 320),
            Err(Error::Rejected(Rejection::ImageUndecodable { .. }))
        ));
        // A PNG whose header declares 20,000 × 20,000 pixels: a few bytes
        // that would decode into 1.2 GB; then one within the sides but past
        // the bytes (12,000 × 12,000 RGB).
        for (width, height) in [(20_000, 20_000), (12_000, 12_000)] {
            assert!(
                matches!(
                    make(&declaring(width, height), MediaType::Png, 320),
                    Err(Error::Rejected(Rejection::ImageUndecodable { ref reason }))
                        if reason.contains("limit")
                ),
                "{width} × {height}"
            );
        }
    }
}
