use super::*;
use crate::intake::Role;

fn doc(bytes: Vec<u8>) -> Document {
    let detected = DocumentType::detect(&bytes, "application/pdf");
    Document { name: "x.pdf".into(), bytes, declared_type: "application/pdf".into(), detected, hazard: None, role: Role::Attachment }
}

#[test]
fn counts_pages_of_a_valid_pdf() {
    let r = convert(&doc(sample::sample_pdf("hello", 3)), 100).unwrap();
    assert_eq!(r.pages, 3);
    assert!(r.pdf.starts_with(b"%PDF-"));
}

#[test]
fn refuses_damaged_pdfs_and_page_limits_with_reasons() {
    let mut broken = sample::sample_pdf("hello", 1);
    broken.truncate(40);
    assert!(matches!(convert(&doc(broken), 100), Err(ConvertError::BrokenPdf(_))));
    let err = convert(&doc(sample::sample_pdf("x", 5)), 4).unwrap_err();
    assert_eq!(err, ConvertError::TooManyPages { pages: 5, limit: 4 });
    assert!(err.to_string().contains("5 pages"));
}

#[test]
fn unsupported_types_say_what_they_are() {
    let err = convert(&doc(b"MZ\x90\x00".to_vec()), 10).unwrap_err();
    assert!(err.to_string().starts_with("executable program files cannot be printed yet"), "{err}");
}
