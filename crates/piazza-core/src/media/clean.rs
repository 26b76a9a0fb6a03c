//! A picture as Piazza serves it: with none of the metadata its camera or
//! editor put in it (EXIF with the place it was taken, XMP, IPTC,
//! comments, text chunks, whatever trails its end), and upright.
//!
//! Most pictures are upright already: their segments (JPEG), chunks (PNG,
//! WebP) or blocks (GIF) are walked and those that only carry metadata are
//! left out, so the pixels are the uploader's, bit for bit. A picture
//! whose EXIF turns it is decoded, turned and encoded again (the encoder
//! writes no metadata). Bytes that do not walk as their format are
//! refused (`ImageUndecodable`): what cannot be parsed cannot be cleaned.

use image::ImageDecoder;
use image::metadata::Orientation;
use piazza_domain::Rejection;
use piazza_domain::media::MediaType;

use super::pictures;
use crate::engine::{Error, Result};

/// `bytes` of a `media_type` picture without its metadata and upright, and
/// the type of what is answered (a turned WebP comes back as a PNG, the
/// `image` crate's WebP encoder being lossless only).
pub fn clean(bytes: &[u8], media_type: MediaType) -> Result<(MediaType, Vec<u8>)> {
    if orientation(bytes, media_type) != Orientation::NoTransforms {
        return pictures::upright(bytes, media_type);
    }
    let walked = match media_type {
        MediaType::Jpeg => jpeg(bytes),
        MediaType::Png => png(bytes),
        MediaType::Webp => webp(bytes),
        MediaType::Gif => gif(bytes),
        _ => None,
    };
    let cleaned = walked.ok_or_else(|| {
        Error::Rejected(Rejection::ImageUndecodable {
            reason: format!("not a well-formed {}", media_type.as_mime()),
        })
    })?;
    Ok((media_type, cleaned))
}

fn orientation(bytes: &[u8], media_type: MediaType) -> Orientation {
    let Some(format) = pictures::format_of(media_type) else {
        return Orientation::NoTransforms;
    };
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes));
    reader.set_format(format);
    reader
        .into_decoder()
        .and_then(|mut decoder| decoder.orientation())
        .unwrap_or(Orientation::NoTransforms)
}

/// JPEG segments kept: the image's own (frames, tables, scans, restart
/// intervals), JFIF's header (APP0, its thumbnail dropped), the colour
/// profile (APP2 `ICC_PROFILE`) and Adobe's colour transform (APP14). APP1
/// (EXIF, XMP), the other APPn, comments and any marker not known to
/// carry the image go, and so does everything after the end of the image.
fn jpeg(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 2;
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    out.extend_from_slice(&bytes[..2]);
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        match marker {
            0xFF => at += 1, // fill byte
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Some(out);
            }
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&bytes[at..at + 2]);
                at += 2;
            }
            _ => {
                let length = usize::from(u16::from_be_bytes([
                    *bytes.get(at + 2)?,
                    *bytes.get(at + 3)?,
                ]));
                let end = at
                    .checked_add(2 + length)
                    .filter(|end| *end <= bytes.len())?;
                if length < 2 {
                    return None;
                }
                let segment = &bytes[at..end];
                if marker == 0xE0 {
                    jfif_without_thumbnail(segment, &mut out);
                } else if keeps_jpeg_segment(marker, &segment[4..]) {
                    out.extend_from_slice(segment);
                }
                at = end;
                if marker == 0xDA {
                    let scan_end = entropy_end(bytes, at)?;
                    out.extend_from_slice(&bytes[at..scan_end]);
                    at = scan_end;
                }
            }
        }
    }
}

/// Whether a segment (its `payload` after the length) carries the image:
/// frames (SOF), Huffman and arithmetic tables, quantisation tables,
/// restart intervals, scans, line counts, the colour profile and Adobe's
/// transform.
fn keeps_jpeg_segment(marker: u8, payload: &[u8]) -> bool {
    match marker {
        0xC0..=0xCF | 0xDA..=0xDF => true,
        0xE2 => payload.starts_with(b"ICC_PROFILE\0"),
        0xEE => payload.starts_with(b"Adobe"),
        _ => false,
    }
}

/// JFIF's APP0 header without the thumbnail it may carry (its last two
/// size bytes set to zero); any other APP0 (JFXX thumbnails) is left out.
fn jfif_without_thumbnail(segment: &[u8], out: &mut Vec<u8>) {
    const HEADER: usize = 2 + 2 + 14; // marker, length, "JFIF\0" … Ythumbnail
    if segment.len() < HEADER || !segment[4..].starts_with(b"JFIF\0") {
        return;
    }
    out.extend_from_slice(&[0xFF, 0xE0, 0, 16]);
    out.extend_from_slice(&segment[4..HEADER - 2]);
    out.extend_from_slice(&[0, 0]);
}

/// Where a scan's entropy-coded data ends: at the first marker that is
/// neither a stuffed byte (FF 00) nor a restart (FF D0–D7).
fn entropy_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let next = bytes.get(at..)?.iter().position(|byte| *byte == 0xFF)?;
        at += next;
        match *bytes.get(at + 1)? {
            0x00 | 0xD0..=0xD7 => at += 2,
            0xFF => at += 1,
            _ => return Some(at),
        }
    }
}

/// PNG chunks kept: the critical ones and those that change how pixels
/// look (transparency, colour, gamma, animation, density). Text, EXIF and
/// time chunks go, and whatever follows `IEND`.
fn png(bytes: &[u8]) -> Option<Vec<u8>> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    const KEPT: [&[u8; 4]; 16] = [
        b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
        b"pHYs", b"bKGD", b"acTL", b"fcTL", b"fdAT", b"cICP",
    ];
    if !bytes.starts_with(SIGNATURE) {
        return None;
    }
    let mut out = SIGNATURE.to_vec();
    let mut at = SIGNATURE.len();
    loop {
        let length = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
        let kind: [u8; 4] = bytes.get(at + 4..at + 8)?.try_into().ok()?;
        let end = at.checked_add(12)?.checked_add(length)?;
        let chunk = bytes.get(at..end)?;
        if KEPT.contains(&&kind) {
            out.extend_from_slice(chunk);
        }
        at = end;
        if &kind == b"IEND" {
            return Some(out);
        }
    }
}

/// WebP chunks kept: those that carry the image (`VP8 `, `VP8L`, `ALPH`,
/// `ANIM`, `ANMF`) and its colour profile (`ICCP`), with the extended
/// header's flags for EXIF and XMP cleared and the RIFF size made right;
/// `EXIF`, `XMP ` and any other chunk go.
fn webp(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < 12 || !bytes.starts_with(b"RIFF") || &bytes[8..12] != b"WEBP" {
        return None;
    }
    let declared = u32::from_le_bytes(bytes[4..8].try_into().ok()?) as usize;
    let end = declared.checked_add(8)?.min(bytes.len());
    let mut out = b"RIFF\0\0\0\0WEBP".to_vec();
    let mut at = 12;
    while at + 8 <= end {
        let kind: [u8; 4] = bytes[at..at + 4].try_into().ok()?;
        let length = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().ok()?) as usize;
        let padded = length.checked_add(length & 1)?;
        let chunk_end = at.checked_add(8)?.checked_add(padded)?.min(end);
        let chunk = bytes.get(at..chunk_end)?;
        if &kind == b"VP8X" {
            let mut header = chunk.to_vec();
            // Bits 3 (EXIF) and 2 (XMP) of the flags byte.
            *header.get_mut(8)? &= !0b0000_1100;
            out.extend_from_slice(&header);
        } else if [b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP"].contains(&&kind) {
            out.extend_from_slice(chunk);
        }
        at = chunk_end;
    }
    let size = u32::try_from(out.len() - 8).ok()?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Some(out)
}

/// GIF blocks kept: the header, colour tables, images and graphic
/// controls, and the looping extension. Comments and other applications'
/// extensions (XMP among them) go, and whatever follows the trailer.
fn gif(bytes: &[u8]) -> Option<Vec<u8>> {
    let flags = *bytes.get(10)?;
    let mut at = 13 + colour_table(flags);
    let mut out = bytes.get(..at)?.to_vec();
    loop {
        match *bytes.get(at)? {
            0x3B => {
                out.push(0x3B);
                return Some(out);
            }
            0x2C => {
                let local = colour_table(*bytes.get(at + 9)?);
                let data = at.checked_add(10 + local + 1)?;
                let end = sub_blocks_end(bytes, data)?;
                out.extend_from_slice(bytes.get(at..end)?);
                at = end;
            }
            0x21 => {
                let label = *bytes.get(at + 1)?;
                let end = sub_blocks_end(bytes, at + 2)?;
                let keep = match label {
                    0xF9 | 0x01 => true,
                    0xFF => {
                        let name = bytes.get(at + 3..at + 14)?;
                        name == b"NETSCAPE2.0" || name == b"ANIMEXTS1.0"
                    }
                    _ => false,
                };
                if keep {
                    out.extend_from_slice(bytes.get(at..end)?);
                }
                at = end;
            }
            _ => return None,
        }
    }
}

/// The bytes of a colour table that a GIF's packed flags announce.
fn colour_table(flags: u8) -> usize {
    if flags & 0x80 == 0 {
        0
    } else {
        3 << ((flags & 0x07) + 1)
    }
}

/// Where a run of GIF sub-blocks starting at `at` ends (after its empty
/// terminator).
fn sub_blocks_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let length = usize::from(*bytes.get(at)?);
        at = at.checked_add(1 + length)?;
        if length == 0 {
            return (at <= bytes.len()).then_some(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use image::codecs::png::PngEncoder;
    use image::{ImageBuffer, ImageEncoder, Rgb};

    use super::*;

    fn png_with_exif(exif: &[u8], width: u32, height: u32) -> Vec<u8> {
        let picture = ImageBuffer::from_pixel(width, height, Rgb([200u8, 20, 30]));
        let mut bytes = Vec::new();
        let mut encoder = PngEncoder::new(&mut bytes);
        encoder.set_exif_metadata(exif.to_vec()).unwrap();
        encoder
            .write_image(&picture, width, height, image::ExtendedColorType::Rgb8)
            .unwrap();
        bytes
    }

    /// EXIF (big-endian) with one entry: orientation.
    fn exif_orientation(value: u8) -> Vec<u8> {
        vec![
            b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, value, 0, 0, 0,
            0, 0, 0,
        ]
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack
            .windows(needle.len())
            .any(|window| window == needle)
    }

    #[test]
    fn a_png_loses_its_exif_and_text_and_keeps_its_pixels() {
        let mut bytes = png_with_exif(&exif_orientation(1), 3, 2);
        // A text chunk after IHDR would do too; trailing bytes after IEND
        // are what some tools hide things in.
        bytes.extend_from_slice(b"GPS 45.1 N, 9.2 E");
        let (kind, cleaned) = clean(&bytes, MediaType::Png).unwrap();
        assert_eq!(kind, MediaType::Png);
        assert!(!contains(&cleaned, b"eXIf"));
        assert!(!contains(&cleaned, b"GPS"));
        let before = image::load_from_memory(&bytes).unwrap().to_rgb8();
        let after = image::load_from_memory(&cleaned).unwrap().to_rgb8();
        assert_eq!(before, after, "the same pixels");
    }

    #[test]
    fn a_turned_picture_comes_back_upright() {
        let bytes = png_with_exif(&exif_orientation(6), 4, 2);
        let (kind, cleaned) = clean(&bytes, MediaType::Png).unwrap();
        assert_eq!(kind, MediaType::Png);
        assert!(!contains(&cleaned, b"eXIf"));
        let upright = image::load_from_memory(&cleaned).unwrap();
        assert_eq!((upright.width(), upright.height()), (2, 4));
    }

    #[test]
    fn a_jpeg_loses_app1_and_comments_but_keeps_its_scan() {
        let picture = ImageBuffer::from_pixel(8, 8, Rgb([10u8, 200, 30]));
        let mut plain = Vec::new();
        picture
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new(&mut plain))
            .unwrap();
        // SOI, then an APP1 "Exif" with a GPS-looking payload and a
        // comment, then the rest of the encoder's segments.
        let mut bytes = vec![0xFF, 0xD8];
        let payload = b"Exif\0\0GPS 45.1N";
        bytes.extend_from_slice(&[0xFF, 0xE1, 0, (payload.len() + 2) as u8]);
        bytes.extend_from_slice(payload);
        bytes.extend_from_slice(&[0xFF, 0xFE, 0, 7, b'h', b'e', b'l', b'l', b'o']);
        bytes.extend_from_slice(&plain[2..]);
        bytes.extend_from_slice(b"trailing motion photo");
        let (_, cleaned) = clean(&bytes, MediaType::Jpeg).unwrap();
        assert!(!contains(&cleaned, b"GPS"));
        assert!(!contains(&cleaned, b"hello"));
        assert!(!contains(&cleaned, b"trailing"));
        assert_eq!(cleaned, plain, "exactly the encoder's own segments");
    }

    #[test]
    fn a_gif_loses_comments_and_keeps_its_loop() {
        let mut bytes = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff".to_vec();
        bytes.extend_from_slice(b"\x21\xfe\x05hello\x00");
        bytes.extend_from_slice(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00");
        bytes
            .extend_from_slice(b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b");
        let (_, cleaned) = clean(&bytes, MediaType::Gif).unwrap();
        assert!(!contains(&cleaned, b"hello"));
        assert!(contains(&cleaned, b"NETSCAPE2.0"));
        assert!(image::load_from_memory(&cleaned).is_ok());
    }

    #[test]
    fn a_webp_loses_its_exif_chunk_and_flag() {
        let mut bytes = b"RIFF\0\0\0\0WEBP".to_vec();
        bytes.extend_from_slice(b"VP8X\x0a\0\0\0\x08\0\0\0\0\0\0\0\0\0");
        bytes.extend_from_slice(b"EXIF\x04\0\0\0GPS!");
        bytes.extend_from_slice(b"C2PA\x04\0\0\0who!");
        let size = (bytes.len() - 8) as u32;
        bytes[4..8].copy_from_slice(&size.to_le_bytes());
        let cleaned = webp(&bytes).unwrap();
        assert!(!contains(&cleaned, b"GPS"));
        assert!(!contains(&cleaned, b"who!"), "an unknown chunk goes too");
        assert_eq!(cleaned[20], 0, "the EXIF flag is cleared");
        assert_eq!(
            u32::from_le_bytes(cleaned[4..8].try_into().unwrap()) as usize,
            cleaned.len() - 8
        );
    }

    #[test]
    fn hostile_bytes_are_refused_never_a_panic() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for round in 0..2_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let length = (seed % 96) as usize;
            let mut bytes: Vec<u8> = (0..length).map(|i| (seed >> (i % 56)) as u8).collect();
            let media_type = MediaType::PICTURES[round % 4];
            let prefix: &[u8] = match media_type {
                MediaType::Png => b"\x89PNG\r\n\x1a\n",
                MediaType::Jpeg => &[0xFF, 0xD8, 0xFF],
                MediaType::Webp => b"RIFF\xff\xff\xff\xffWEBP",
                _ => b"GIF89a",
            };
            bytes.splice(0..0, prefix.iter().copied());
            let _ = clean(&bytes, media_type);
        }
    }
}
