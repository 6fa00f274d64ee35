//! Colour detection per page.
//!
//! Owns the definition of "a colour page": the page rasterised by pdftoppm at a low resolution
//! ([`DPI`]) has at least [`MIN_CHROMATIC_PIXELS`] pixels whose channels differ by more than
//! [`CHROMA_THRESHOLD`]. Greys (r = g = b, including anti-aliased black text) never count, and a
//! coloured logo of a few millimetres does. One rule for every source format, because it looks
//! at what will be printed.

use std::path::Path;

use super::tools;
use super::{ConvertError, Tools};

/// Rasterising resolution: an A4 page is 165 x 234 pixels, enough to see a 3 mm mark.
pub const DPI: u32 = 20;
/// max(r,g,b) - min(r,g,b) above this is a visible colour, not JPEG or scanner noise.
pub const CHROMA_THRESHOLD: u8 = 40;
/// About 6.5 mm² at [`DPI`] (a pixel is 1.27 mm wide): below this, a speck is not worth a
/// colour print.
pub const MIN_CHROMATIC_PIXELS: usize = 4;

/// Returns one flag per page from `first` to `last` (1-based, inclusive): `true` when the page
/// has colour.
///
/// # Errors
/// Infrastructure trouble (pdftoppm missing, time-out) or a PDF pdftoppm cannot render.
pub async fn page_colours(tools: &Tools, pdf: &Path, work: &Path, first: usize, last: usize) -> Result<Vec<bool>, ConvertError> {
    let prefix = work.join("page");
    let (dpi, first, last) = (DPI.to_string(), first.to_string(), last.to_string());
    let args: [&std::ffi::OsStr; 8] =
        ["-r".as_ref(), dpi.as_ref(), "-f".as_ref(), first.as_ref(), "-l".as_ref(), last.as_ref(), pdf.as_os_str(), prefix.as_os_str()];
    tools::run(&tools.pdftoppm, &args, tools.timeout, &[]).await.map_err(|e| match e {
        tools::ToolError::Failed { message, .. } => ConvertError::BrokenPdf(format!("it cannot be rendered ({message})")),
        other => other.into(),
    })?;
    let mut pages: Vec<_> = std::fs::read_dir(work)
        .map_err(|e| ConvertError::Internal(format!("cannot read the rendered pages: {e}")))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ppm"))
        .collect();
    // pdftoppm pads page numbers to the width of the document's last page number, so name
    // order is page order.
    pages.sort();
    let mut colours = Vec::with_capacity(pages.len());
    for page in pages {
        let bytes = std::fs::read(&page).map_err(|e| ConvertError::Internal(format!("cannot read a rendered page: {e}")))?;
        let _ = std::fs::remove_file(&page);
        colours.push(ppm_has_colour(&bytes).ok_or_else(|| ConvertError::Internal("pdftoppm wrote an unreadable page".into()))?);
    }
    Ok(colours)
}

/// Whether a binary PPM (P6, 8 bit) image has colour; `None` if it is not such a PPM.
pub fn ppm_has_colour(ppm: &[u8]) -> Option<bool> {
    let (width, height, pixels) = parse_ppm(ppm)?;
    Some(rgb_has_colour(pixels.get(..width * height * 3)?))
}

/// Whether packed 8-bit RGB pixels have colour by the rule above.
pub fn rgb_has_colour(rgb: &[u8]) -> bool {
    rgb.chunks_exact(3)
        .filter(|p| {
            let (max, min) = (p[0].max(p[1]).max(p[2]), p[0].min(p[1]).min(p[2]));
            max - min > CHROMA_THRESHOLD
        })
        .nth(MIN_CHROMATIC_PIXELS - 1)
        .is_some()
}

/// Whether an image drawn `out_width` x `out_height` pixels large at [`DPI`] has colour: its
/// packed 8-bit RGB pixels (`width` x `height`) are averaged over boxes, as a renderer
/// downsamples them, and judged by the rule above. This is how images are judged in process,
/// without rendering the page they are laid out on.
pub fn drawn_image_has_colour(rgb: &[u8], width: usize, height: usize, out_width: usize, out_height: usize) -> bool {
    if width == 0 || height == 0 || rgb.len() < width * height * 3 {
        return false;
    }
    let (ow, oh) = (out_width.max(1), out_height.max(1));
    let span = |o: usize, out: usize, src: usize| {
        let start = o * src / out;
        (start, ((o + 1) * src / out).max(start + 1).min(src))
    };
    let mut out = Vec::with_capacity(ow * oh * 3);
    for oy in 0..oh {
        let (y0, y1) = span(oy, oh, height);
        for ox in 0..ow {
            let (x0, x1) = span(ox, ow, width);
            let mut sum = [0u64; 3];
            for y in y0..y1 {
                for px in rgb[(y * width + x0) * 3..(y * width + x1) * 3].chunks_exact(3) {
                    sum.iter_mut().zip(px).for_each(|(s, v)| *s += u64::from(*v));
                }
            }
            let n = ((y1 - y0) * (x1 - x0)) as u64;
            out.extend(sum.map(|s| u8::try_from(s / n).unwrap_or(u8::MAX)));
        }
    }
    rgb_has_colour(&out)
}

/// P6 header: magic, width, height, maxval (255), one whitespace, then the pixels.
fn parse_ppm(ppm: &[u8]) -> Option<(usize, usize, &[u8])> {
    let mut fields = Vec::with_capacity(4);
    let mut i = 0;
    while fields.len() < 4 {
        while ppm.get(i)?.is_ascii_whitespace() {
            i += 1;
        }
        if ppm[i] == b'#' {
            while *ppm.get(i)? != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while !ppm.get(i)?.is_ascii_whitespace() {
            i += 1;
        }
        fields.push(std::str::from_utf8(&ppm[start..i]).ok()?);
    }
    if fields[0] != "P6" || fields[3] != "255" {
        return None;
    }
    Some((fields[1].parse().ok()?, fields[2].parse().ok()?, &ppm[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ppm(pixels: &[[u8; 3]], width: usize) -> Vec<u8> {
        let mut out = format!("P6\n# comment\n{width} {}\n255\n", pixels.len() / width).into_bytes();
        out.extend(pixels.iter().flatten());
        out
    }

    #[test]
    fn greys_are_not_colour() {
        let page: Vec<[u8; 3]> = (0..100u8).map(|v| [v * 2, v * 2, v * 2]).collect();
        assert_eq!(ppm_has_colour(&ppm(&page, 10)), Some(false));
    }

    #[test]
    fn a_few_saturated_pixels_are_colour_but_a_speck_is_not() {
        let mut page = vec![[255u8; 3]; 100];
        page[5] = [200, 20, 20];
        page[6] = [20, 20, 200];
        page[7] = [20, 200, 20];
        assert_eq!(ppm_has_colour(&ppm(&page, 10)), Some(false), "three pixels are a speck");
        page[8] = [250, 200, 0];
        assert_eq!(ppm_has_colour(&ppm(&page, 10)), Some(true));
    }

    #[test]
    fn slight_tints_are_noise() {
        let page = vec![[128u8, 140, 120]; 100];
        assert_eq!(ppm_has_colour(&ppm(&page, 10)), Some(false));
    }

    #[test]
    fn drawn_images_are_judged_at_their_printed_size() {
        let mut rgb = vec![255u8; 100 * 100 * 3];
        // A red 10 x 10 square: 25 chromatic pixels at 50 x 50, a quarter-tinted pixel at 5 x 5.
        for y in 0..10 {
            for x in 0..10 {
                rgb[(y * 100 + x) * 3..(y * 100 + x) * 3 + 3].copy_from_slice(&[220, 0, 0]);
            }
        }
        assert!(drawn_image_has_colour(&rgb, 100, 100, 50, 50));
        assert!(!drawn_image_has_colour(&rgb, 100, 100, 5, 5), "one pixel is a speck");
        assert!(drawn_image_has_colour(&rgb, 100, 100, 300, 300), "enlarged");
        let grey = vec![90u8; 30 * 20 * 3];
        assert!(!drawn_image_has_colour(&grey, 30, 20, 200, 120));
    }

    #[test]
    fn not_a_ppm() {
        assert_eq!(ppm_has_colour(b"P5\n1 1\n255\n\0"), None);
        assert_eq!(ppm_has_colour(b"P6\n2 2\n255\n\0\0\0"), None, "short pixel data is refused");
    }
}
