//! Images to PDF: one page per image (per frame for multi-page TIFF), EXIF orientation
//! honoured, fitted to the queue's paper with margins.
//!
//! Owns pixel decoding (in-process, with size limits against decompression bombs) and the PDF
//! page layout for images. A JPEG that needs no rotation is embedded as it came (no loss, no
//! re-encoding); everything else is decoded and embedded losslessly (Flate). HEIC/AVIF arrive
//! here already decoded to JPEG by libheif (`heif-convert`, which applies `irot`/`imir`).

use std::io::{Cursor, Write};

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, metadata::Orientation};
use lopdf::{Document, Object, Stream, dictionary};

use super::ConvertError;
use crate::config::Paper;
use crate::intake::DocumentType;

/// Page margin on every side: 10 mm in PDF points.
const MARGIN_PT: f32 = 10.0 * 72.0 / 25.4;
/// A multi-page TIFF with more frames than this is refused before any is decoded.
pub const MAX_FRAMES: usize = 1000;

/// Paper size in PDF points, portrait.
pub fn paper_points(paper: Paper) -> (f32, f32) {
    match paper {
        Paper::A4 => (595.276, 841.89),
        Paper::Letter => (612.0, 792.0),
    }
}

/// One image ready to be placed on a page.
struct PageImage {
    width: u32,
    height: u32,
    gray: bool,
    dct: bool,
    data: Vec<u8>,
}

/// Whether the EXIF orientation tag is applied: libheif's output is already upright but keeps
/// the original tag (an iPhone HEIC has both `irot` and EXIF Orientation 6), so it is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exif {
    Honour,
    Ignore,
}

/// Converts an image document to a PDF with one page per image, and says which pages have
/// colour (judged from the pixels at their printed size by [`super::colour`]'s rule, so no
/// page is rendered). Blocking (CPU-bound).
///
/// # Errors
/// [`ConvertError::BadImage`], [`ConvertError::ImageTooLarge`], [`ConvertError::TooManyPages`].
pub fn to_pdf(
    bytes: &[u8],
    kind: DocumentType,
    exif: Exif,
    paper: Paper,
    max_pixels: u64,
    max_pages: u32,
) -> Result<(Vec<u8>, Vec<bool>), ConvertError> {
    let format = match kind {
        DocumentType::Jpeg => ImageFormat::Jpeg,
        DocumentType::Png => ImageFormat::Png,
        DocumentType::Gif => ImageFormat::Gif,
        DocumentType::Bmp => ImageFormat::Bmp,
        DocumentType::Webp => ImageFormat::WebP,
        DocumentType::Tiff => ImageFormat::Tiff,
        other => return Err(ConvertError::Internal(format!("{} is not an image format", other.label()))),
    };
    let mut pages = Vec::new();
    if format == ImageFormat::Tiff {
        let frames = tiff_frames(bytes);
        if frames.len() > max_pages as usize {
            return Err(ConvertError::TooManyPages { pages: u32::try_from(frames.len()).unwrap_or(u32::MAX), limit: max_pages });
        }
        for frame in frames {
            pages.push(decode(&frame, format, exif, max_pixels)?);
        }
    } else {
        pages.push(page_image(bytes, format, exif, max_pixels)?);
    }
    layout(&pages, paper)
}

/// A JPEG that needs no rotation and is grey or RGB goes in untouched; others are decoded.
fn page_image(bytes: &[u8], format: ImageFormat, exif: Exif, max_pixels: u64) -> Result<PageImage, ConvertError> {
    if format == ImageFormat::Jpeg {
        let mut decoder = reader(bytes, format, max_pixels).into_decoder().map_err(bad_image)?;
        let (width, height) = decoder.dimensions();
        check_size(width, height, max_pixels)?;
        let upright = exif == Exif::Ignore || decoder.orientation().unwrap_or(Orientation::NoTransforms) == Orientation::NoTransforms;
        if let (true, Some(components @ (1 | 3))) = (upright, jpeg_components(bytes)) {
            return Ok(PageImage { width, height, gray: components == 1, dct: true, data: bytes.to_vec() });
        }
    }
    decode(bytes, format, exif, max_pixels)
}

fn reader(bytes: &[u8], format: ImageFormat, max_pixels: u64) -> ImageReader<Cursor<&[u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    // RGBA at 16 bits per channel is the widest decoded form.
    limits.max_alloc = Some(max_pixels.saturating_mul(8).max(64 << 20));
    reader.limits(limits);
    reader
}

fn check_size(width: u32, height: u32, max_pixels: u64) -> Result<(), ConvertError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels || width == 0 || height == 0 {
        return Err(ConvertError::ImageTooLarge { width, height, max_megapixels: max_pixels / 1_000_000 });
    }
    Ok(())
}

fn decode(bytes: &[u8], format: ImageFormat, exif: Exif, max_pixels: u64) -> Result<PageImage, ConvertError> {
    let mut decoder = reader(bytes, format, max_pixels).into_decoder().map_err(bad_image)?;
    let (width, height) = decoder.dimensions();
    check_size(width, height, max_pixels)?;
    let orientation = match exif {
        Exif::Honour => decoder.orientation().unwrap_or(Orientation::NoTransforms),
        Exif::Ignore => Orientation::NoTransforms,
    };
    let mut img = DynamicImage::from_decoder(decoder).map_err(bad_image)?;
    img.apply_orientation(orientation);
    let (width, height) = (img.width(), img.height());
    let color = img.color();
    let gray = !color.has_color();
    let data = if color.has_alpha() {
        flatten_on_white(&img.into_rgba8(), gray)
    } else if gray {
        img.into_luma8().into_raw()
    } else {
        img.into_rgb8().into_raw()
    };
    Ok(PageImage { width, height, gray, dct: false, data })
}

fn flatten_on_white(rgba: &image::RgbaImage, gray: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgba.len() / 4 * if gray { 1 } else { 3 });
    for p in rgba.pixels() {
        let a = u16::from(p[3]);
        let blend = |c: u8| ((u16::from(c) * a + 255 * (255 - a)) / 255) as u8;
        if gray {
            out.push(blend(p[0]));
        } else {
            out.extend([blend(p[0]), blend(p[1]), blend(p[2])]);
        }
    }
    out
}

fn bad_image(e: image::ImageError) -> ConvertError {
    match e {
        image::ImageError::Limits(_) => ConvertError::ImageTooBig,
        other => ConvertError::BadImage(other.to_string()),
    }
}

/// Number of colour components in a JPEG's frame header (1 grey, 3 YCbCr/RGB, 4 CMYK).
fn jpeg_components(bytes: &[u8]) -> Option<u8> {
    let mut i = 2;
    while i + 9 < bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let is_sof = (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            return bytes.get(i + 9).copied();
        }
        i += 2 + len;
    }
    None
}

/// Each frame of a classic TIFF as a stand-alone TIFF (the header's first-IFD offset pointed
/// at that frame), so the image crate decodes every page with its full colour support. A file
/// that is not a classic multi-frame TIFF is returned as its single frame.
fn tiff_frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    let offsets = tiff_ifd_offsets(bytes);
    if offsets.len() <= 1 {
        return vec![bytes.to_vec()];
    }
    let little = bytes[0] == b'I';
    offsets
        .into_iter()
        .map(|offset| {
            let mut frame = bytes.to_vec();
            let value = u32::try_from(offset).unwrap_or(0);
            frame[4..8].copy_from_slice(&if little { value.to_le_bytes() } else { value.to_be_bytes() });
            frame
        })
        .collect()
}

/// Offsets of the IFD chain of a classic (32-bit) TIFF, at most [`MAX_FRAMES`] + 1, loop-safe.
fn tiff_ifd_offsets(bytes: &[u8]) -> Vec<usize> {
    let little = match bytes.get(..4) {
        Some(b"II*\0") => true,
        Some(b"MM\0*") => false,
        _ => return Vec::new(),
    };
    let u16_at =
        |i: usize| bytes.get(i..i + 2).map(|b| if little { u16::from_le_bytes([b[0], b[1]]) } else { u16::from_be_bytes([b[0], b[1]]) });
    let u32_at = |i: usize| {
        bytes.get(i..i + 4).map(|b| {
            let a = [b[0], b[1], b[2], b[3]];
            if little { u32::from_le_bytes(a) } else { u32::from_be_bytes(a) }
        })
    };
    let mut offsets = Vec::new();
    let mut next = u32_at(4).unwrap_or(0) as usize;
    while next != 0 && offsets.len() <= MAX_FRAMES && !offsets.contains(&next) {
        let Some(entries) = u16_at(next) else { break };
        offsets.push(next);
        next = u32_at(next + 2 + usize::from(entries) * 12).unwrap_or(0) as usize;
    }
    offsets
}

/// Places each image on its own page: landscape paper for a landscape image, scaled to fit
/// inside the margins, centred.
fn layout(images: &[PageImage], paper: Paper) -> Result<(Vec<u8>, Vec<bool>), ConvertError> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::with_capacity(images.len());
    let mut colours = Vec::with_capacity(images.len());
    for img in images {
        let (short, long) = paper_points(paper);
        let (page_w, page_h) = if img.width > img.height { (long, short) } else { (short, long) };
        let scale = ((page_w - 2.0 * MARGIN_PT) / img.width as f32).min((page_h - 2.0 * MARGIN_PT) / img.height as f32);
        let (draw_w, draw_h) = (img.width as f32 * scale, img.height as f32 * scale);
        let (x, y) = ((page_w - draw_w) / 2.0, (page_h - draw_h) / 2.0);
        colours.push(has_colour(img, draw_w, draw_h)?);
        let (filter, data) = if img.dct {
            ("DCTDecode", img.data.clone())
        } else {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(&img.data).map_err(|e| ConvertError::Internal(e.to_string()))?;
            ("FlateDecode", z.finish().map_err(|e| ConvertError::Internal(e.to_string()))?)
        };
        let image = Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image",
                "Width" => i64::from(img.width), "Height" => i64::from(img.height),
                "ColorSpace" => if img.gray { "DeviceGray" } else { "DeviceRGB" },
                "BitsPerComponent" => 8, "Filter" => filter,
            },
            data,
        )
        .with_compression(false);
        let image_id = doc.add_object(image);
        let content = format!("q {draw_w:.3} 0 0 {draw_h:.3} {x:.3} {y:.3} cm /Im0 Do Q\n");
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(page_w), Object::Real(page_h)],
            "Contents" => content_id,
            "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image_id } },
        });
        kids.push(Object::Reference(page_id));
    }
    let count = i64::try_from(kids.len()).unwrap_or(i64::MAX);
    doc.objects.insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }));
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(|e| ConvertError::Internal(format!("cannot write the PDF: {e}")))?;
    Ok((out, colours))
}

/// Whether an image drawn `draw_w` x `draw_h` points large has colour on the printed page. A
/// JPEG embedded as it came is decoded here for the purpose (its size was checked before).
fn has_colour(img: &PageImage, draw_w: f32, draw_h: f32) -> Result<bool, ConvertError> {
    if img.gray {
        return Ok(false);
    }
    let at_dpi = |points: f32| (points * super::colour::DPI as f32 / 72.0).round() as usize;
    let decoded;
    let rgb = if img.dct {
        decoded = image::load_from_memory_with_format(&img.data, ImageFormat::Jpeg).map_err(bad_image)?.into_rgb8().into_raw();
        &decoded
    } else {
        &img.data
    };
    let (w, h) = (img.width as usize, img.height as usize);
    Ok(super::colour::drawn_image_has_colour(rgb, w, h, at_dpi(draw_w), at_dpi(draw_h)))
}
