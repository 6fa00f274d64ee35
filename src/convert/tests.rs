//! Unit tests of the in-process parts (the tools-backed paths are tested in tests/convert.rs).
use super::*;

#[test]
fn colour_pages_are_listed_by_number() {
    let r = Rendered { pdf: Vec::new(), pages: 4, page_colors: vec![false, true, false, true] };
    assert!(r.color());
    assert_eq!(r.color_pages(), "2, 4");
    assert_eq!(r.color_page_count(), 2);
    let many = Rendered { pdf: Vec::new(), pages: 12, page_colors: vec![true; 12] };
    assert_eq!(many.color_pages(), "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, …");
    assert!(!Rendered { pdf: Vec::new(), pages: 1, page_colors: vec![false] }.color());
}

#[test]
fn only_infrastructure_trouble_is_retried() {
    assert!(ConvertError::Unavailable("x".into()).is_retryable());
    assert!(ConvertError::Internal("x".into()).is_retryable());
    assert!(!ConvertError::Timeout(Duration::from_secs(1)).is_retryable());
    assert!(!ConvertError::PasswordProtected.is_retryable());
    assert!(!ConvertError::OfficeCrashed.is_retryable());
}

#[test]
fn images_become_one_fitted_page_each() {
    let mut png = Vec::new();
    let img = ::image::RgbImage::from_fn(300, 100, |x, _| if x < 150 { ::image::Rgb([255, 0, 0]) } else { ::image::Rgb([255, 255, 255]) });
    img.write_to(&mut std::io::Cursor::new(&mut png), ::image::ImageFormat::Png).unwrap();
    let (pdf, _) = image::to_pdf(&png, DocumentType::Png, image::Exif::Honour, Paper::A4, 1_000_000, 10).unwrap();
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let pages = doc.get_pages();
    assert_eq!(pages.len(), 1);
    let page = doc.get_object(pages[&1]).unwrap().as_dict().unwrap();
    let media: Vec<f32> = page.get(b"MediaBox").unwrap().as_array().unwrap().iter().map(|o| o.as_float().unwrap()).collect();
    assert!(media[2] > media[3], "a landscape image gets a landscape page: {media:?}");
}

#[test]
fn decompression_bombs_are_refused_before_decoding() {
    let mut png = Vec::new();
    ::image::GrayImage::new(2000, 2000).write_to(&mut std::io::Cursor::new(&mut png), ::image::ImageFormat::Png).unwrap();
    let err = image::to_pdf(&png, DocumentType::Png, image::Exif::Honour, Paper::A4, 1_000_000, 10).unwrap_err();
    assert!(matches!(err, ConvertError::ImageTooLarge { width: 2000, height: 2000, .. }), "{err:?}");
}
