//! A code to scan (a merchant's, an account's contact code) drawn as an
//! image: SVG through the `qrcode` crate, and a 1-bit PNG through the `png`
//! crate (no general image library needed for black squares on white);
//! and the `format=payload|png|svg` choice the routes that show one share.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use qrcode::{Color, EcLevel, QrCode};

use crate::error::ApiError;

/// What a route showing a code answers, by its `format` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The payload as JSON (the default).
    Payload,
    Image(ImageFormat),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
}

impl Format {
    /// `payload` (or nothing), `png` or `svg`; anything else is 400
    /// `unsupported_format`.
    pub fn parse(format: Option<&str>) -> Result<Format, ApiError> {
        match format {
            None | Some("payload") => Ok(Format::Payload),
            Some("png") => Ok(Format::Image(ImageFormat::Png)),
            Some("svg") => Ok(Format::Image(ImageFormat::Svg)),
            Some(_) => Err(ApiError::invalid(
                "unsupported_format",
                "`format` is `payload`, `png` or `svg`",
            )),
        }
    }
}

/// `payload` drawn as `format`, with its content type; a payload too long
/// for a code is 503 (every payload the server makes fits).
pub fn response(payload: &str, format: ImageFormat) -> Result<Response, ApiError> {
    fn cannot_draw(error: impl std::fmt::Display) -> ApiError {
        ApiError::unavailable(format!("cannot draw the code: {error}"))
    }
    Ok(match format {
        ImageFormat::Svg => (
            [(header::CONTENT_TYPE, "image/svg+xml")],
            svg(payload).map_err(cannot_draw)?,
        )
            .into_response(),
        ImageFormat::Png => (
            [(header::CONTENT_TYPE, "image/png")],
            png(payload).map_err(cannot_draw)?,
        )
            .into_response(),
    })
}

/// Pixels per module of the PNG.
const PNG_SCALE: usize = 8;
/// The quiet zone around the code, in modules (the standard's minimum).
const QUIET_MODULES: usize = 4;

fn code(payload: &str) -> Result<QrCode, qrcode::types::QrError> {
    QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
}

pub fn svg(payload: &str) -> Result<String, qrcode::types::QrError> {
    Ok(code(payload)?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .build())
}

/// Why an image could not be drawn (a payload too long for a QR code).
#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    #[error(transparent)]
    Qr(#[from] qrcode::types::QrError),
    #[error(transparent)]
    Png(#[from] png::EncodingError),
}

/// The code as a 1-bit grayscale PNG, `PNG_SCALE` pixels per module, with
/// the standard quiet zone.
pub fn png(payload: &str) -> Result<Vec<u8>, DrawError> {
    let code = code(payload)?;
    let width = code.width();
    let colors = code.to_colors();
    let side = (width + 2 * QUIET_MODULES) * PNG_SCALE;
    let row_bytes = side.div_ceil(8);
    let mut pixels = vec![0u8; row_bytes * side];
    for y in 0..side {
        let module_y = y / PNG_SCALE;
        for x in 0..side {
            let module_x = x / PNG_SCALE;
            let dark = module_x >= QUIET_MODULES
                && module_y >= QUIET_MODULES
                && module_x < QUIET_MODULES + width
                && module_y < QUIET_MODULES + width
                && colors[(module_y - QUIET_MODULES) * width + (module_x - QUIET_MODULES)]
                    == Color::Dark;
            // 1 is white in 1-bit grayscale.
            if !dark {
                pixels[y * row_bytes + x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    let side = u32::try_from(side).unwrap_or(u32::MAX);
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_and_svg_are_drawn() {
        let png = png("000201010211").unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(&png[12..16], b"IHDR");
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]), "IEND's CRC");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().expect("a PNG the png crate reads back");
        let info = reader.info();
        assert_eq!(info.width, info.height);
        assert_eq!(info.bit_depth, png::BitDepth::One);
        let svg = svg("000201010211").unwrap();
        assert!(svg.contains("<svg"), "{svg}");
    }
}
