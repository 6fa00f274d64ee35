//! The release code as a QR code (PNG), for the reply's HTML part: a station with a camera or a
//! phone can read it instead of the patron typing the digits.
//!
//! The matrix comes from the `qrcode` crate, the PNG from `image` (already a dependency for
//! conversion); nothing leaves the process. The text part never depends on it.

use image::{GrayImage, Luma};
use qrcode::{Color, EcLevel, QrCode};

/// Pixels per module: 6 px makes a 8-digit code (21x21 modules + quiet zone) ~200 px wide,
/// readable from a screen at arm's length.
const SCALE: u32 = 6;
/// The quiet zone the QR standard asks for, in modules on every side.
const QUIET: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("QR encoding: {0}")]
    Encode(#[from] qrcode::types::QrError),
    #[error("PNG encoding: {0}")]
    Png(#[from] image::ImageError),
}

/// A PNG of a QR code holding `digits` (the code without spaces).
///
/// # Errors
/// [`QrError`] if the data does not fit (never for a release code) or PNG encoding fails.
pub fn png(digits: &str) -> Result<Vec<u8>, QrError> {
    let code = QrCode::with_error_correction_level(digits.as_bytes(), EcLevel::M)?;
    let width = u32::try_from(code.width()).unwrap_or(u32::MAX / 2);
    let colors = code.to_colors();
    let side = (width + 2 * QUIET) * SCALE;
    let image = GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = ((x / SCALE).wrapping_sub(QUIET), (y / SCALE).wrapping_sub(QUIET));
        let dark = mx < width && my < width && colors.get((my * width + mx) as usize) == Some(&Color::Dark);
        Luma([if dark { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_png_with_a_quiet_zone() {
        let png = super::png("48210937").unwrap();
        let image = image::load_from_memory(&png).unwrap().to_luma8();
        assert_eq!(image.width(), image.height());
        assert_eq!(image.get_pixel(0, 0).0, [255], "quiet zone is white");
        let (start, module) = (super::QUIET * super::SCALE, super::SCALE);
        assert_eq!(image.get_pixel(start + module / 2, start + module / 2).0, [0], "finder pattern corner is dark");
    }
}
