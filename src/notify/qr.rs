//! The release code as a QR code (PNG), for the reply's HTML part: a station with a camera or a
//! phone can read it instead of the patron typing the digits.
//!
//! The matrix comes from the `qrcode` crate, the PNG from `image` (already a dependency for
//! conversion); nothing leaves the process. The text part never depends on it.
//!
//! One fixed mask: the QR standard lets an encoder use any of its 8 masks (a reader learns
//! which from the format bits), and scoring all 8 to pick the one with the lowest penalty, as
//! `QrCode::new` does, was a tenth of printgate's own CPU per mail in a profile of the
//! screening benchmark. Checkerboard breaks long runs of one colour everywhere; the test decodes
//! the PNG with an independent reader.

use image::GrayImage;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{Color, EcLevel};

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
    #[error("the QR image does not add up to its size")]
    Size,
}

/// A PNG of a QR code holding `digits` (the code without spaces).
///
/// # Errors
/// [`QrError`] if the data does not fit (never for a release code) or PNG encoding fails.
pub fn png(digits: &str) -> Result<Vec<u8>, QrError> {
    let (colors, width) = matrix(digits.as_bytes())?;
    let side = (width + 2 * QUIET) * SCALE;
    // Row by row: each module row becomes one pixel row, repeated SCALE times.
    let mut pixels = Vec::with_capacity((side * side) as usize);
    let quiet_rows = (QUIET * SCALE * side) as usize;
    pixels.resize(quiet_rows, 255u8);
    for modules in colors.chunks(width as usize) {
        let mut row = vec![255u8; side as usize];
        for (i, module) in modules.iter().enumerate() {
            if *module == Color::Dark {
                let start = ((QUIET + i as u32) * SCALE) as usize;
                row[start..start + SCALE as usize].fill(0);
            }
        }
        for _ in 0..SCALE {
            pixels.extend_from_slice(&row);
        }
    }
    pixels.resize((side * side) as usize, 255u8);
    let image = GrayImage::from_raw(side, side, pixels).ok_or(QrError::Size)?;
    let mut out = Vec::new();
    // Two colours in large blocks: the fast setting compresses them as well as the default.
    image.write_with_encoder(PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Sub))?;
    Ok(out)
}

/// The modules of the QR code of `data` (EC level M, the checkerboard mask), row by row, and
/// the number of modules per side.
fn matrix(data: &[u8]) -> Result<(Vec<Color>, u32), QrError> {
    let bits = qrcode::bits::encode_auto(data, EcLevel::M)?;
    let version = bits.version();
    let (codewords, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M)?;
    let mut canvas = Canvas::new(version, EcLevel::M);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&codewords, &ec);
    canvas.apply_mask(MaskPattern::Checkerboard);
    Ok((canvas.into_colors(), u32::from(version.width().unsigned_abs())))
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

    /// An independent reader (rqrr) gets the digits back, for codes of every length a site
    /// may configure.
    #[test]
    fn a_reader_decodes_the_digits() {
        for digits in ["48210937", "000000", "9999999999", "123456789012"] {
            let image = image::load_from_memory(&super::png(digits).unwrap()).unwrap().to_luma8();
            let mut prepared = rqrr::PreparedImage::prepare(image);
            let grids = prepared.detect_grids();
            assert_eq!(grids.len(), 1, "{digits}");
            let (_meta, content) = grids[0].decode().unwrap();
            assert_eq!(content, digits);
        }
    }
}
