use std::io::{Cursor, Write};

use super::*;

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn ole_of(clsid: Option<&str>, streams: &[&str]) -> Vec<u8> {
    let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    if let Some(id) = clsid {
        cf.set_storage_clsid("/", uuid::Uuid::parse_str(id).unwrap()).unwrap();
    }
    for path in streams {
        if let Some((dir, _)) = path.rsplit_once('/').filter(|(d, _)| !d.is_empty()) {
            let _ = cf.create_storage_all(dir);
        }
        cf.create_stream(path).unwrap().write_all(&[0u8; 64]).unwrap();
    }
    cf.flush().unwrap();
    cf.into_inner().into_inner()
}

const DOCX: &[(&str, &[u8])] = &[("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>")];

#[test]
fn ooxml_clean_macro_and_renamed() {
    assert_eq!(classify(&zip_of(DOCX), "", "a.docx"), Detection { kind: DocumentType::Docx, hazard: None });
    let mut docm = DOCX.to_vec();
    docm.push(("word/vbaProject.bin", b"\xd0\xcf"));
    let found = classify(&zip_of(&docm), "", "renamed.docx");
    assert_eq!(found, Detection { kind: DocumentType::Docx, hazard: Some(Hazard::Macros) });
    let xlm = classify(&zip_of(&[("[Content_Types].xml", b"<Types/>"), ("xl/macrosheets/sheet1.xml", b"<x/>")]), "", "a.xlsx");
    assert_eq!(xlm.hazard, Some(Hazard::Macros));
}

#[test]
fn odf_by_mimetype_with_macros_and_encryption() {
    let odt = [("mimetype", &b"application/vnd.oasis.opendocument.text"[..]), ("content.xml", b"<office/>")];
    assert_eq!(classify(&zip_of(&odt), "", "a.odt").kind, DocumentType::Odt);
    let mut with_basic = odt.to_vec();
    with_basic.push(("Basic/Standard/Module1.xml", b"<script/>"));
    assert_eq!(classify(&zip_of(&with_basic), "", "a.odt").hazard, Some(Hazard::Macros));
    let mut encrypted = odt.to_vec();
    encrypted.push(("META-INF/manifest.xml", b"<manifest:encryption-data/>"));
    assert_eq!(classify(&zip_of(&encrypted), "", "a.odt").hazard, Some(Hazard::Encrypted));
}

#[test]
fn plain_zips_are_archives_and_bombs_are_caught_before_inflating() {
    assert_eq!(classify(&zip_of(&[("a.txt", b"hi")]), "", "photos.zip").kind, DocumentType::Archive);
    // 64 MiB of zeros deflates to ~64 KiB: ratio ~1000.
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("[Content_Types].xml", zip::write::SimpleFileOptions::default()).unwrap();
    w.start_file("word/document.xml", zip::write::SimpleFileOptions::default()).unwrap();
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..64 {
        w.write_all(&zeros).unwrap();
    }
    let bomb = w.finish().unwrap().into_inner();
    assert!(bomb.len() < 200 * 1024);
    assert_eq!(classify(&bomb, "", "report.docx").hazard, Some(Hazard::Bomb));
}

#[test]
fn ole_installers_office_and_macros() {
    let msi = ole_of(Some("000C1084-0000-0000-C000-000000000046"), &["/SummaryInformation"]);
    assert_eq!(classify(&msi, "application/msword", "letter.doc").kind, DocumentType::Installer);
    assert_eq!(classify(&ole_of(None, &["/WordDocument"]), "", "a.doc"), Detection { kind: DocumentType::Doc, hazard: None });
    let word_macros = classify(&ole_of(None, &["/WordDocument", "/Macros/VBA/dir"]), "", "a.doc");
    assert_eq!(word_macros.hazard, Some(Hazard::Macros));
    let xls_vba = classify(&ole_of(None, &["/Workbook", "/_VBA_PROJECT_CUR/VBA/dir"]), "", "a.xls");
    assert_eq!(xls_vba, Detection { kind: DocumentType::Xls, hazard: Some(Hazard::Macros) });
    let encrypted = classify(&ole_of(None, &["/EncryptionInfo", "/EncryptedPackage"]), "", "pay.xlsx");
    assert_eq!(encrypted.kind, DocumentType::OfficeEncrypted);
    assert!(refusal_reason(encrypted, &[]).unwrap().contains("password protected"));
}

#[test]
fn executables_scripts_archives_and_images_by_content() {
    let cases: &[(&[u8], &str, DocumentType)] = &[
        (b"MZ\x90\x00\x03\x00", "report.pdf", DocumentType::Executable),
        (b"\x7fELF\x02\x01", "report.pdf", DocumentType::Executable),
        (&[0xCF, 0xFA, 0xED, 0xFE, 7, 0], "report.pdf", DocumentType::Executable),
        (&[0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0], "Document.lnk", DocumentType::Script),
        (b"WScript.Echo 1", "invoice.vbs", DocumentType::Script),
        (b"#!/bin/sh\necho", "notes.txt", DocumentType::Script),
        (b"Rar!\x1a\x07\x00", "docs.rar", DocumentType::Archive),
        (b"7z\xbc\xaf\x27\x1c\x00", "a.7z", DocumentType::Archive),
        (&[0x1F, 0x8B, 8, 0], "a.gz", DocumentType::Archive),
        (b"\x89PNG\r\n\x1a\n....", "a.bin", DocumentType::Png),
        (b"GIF89a\x01\x00", "t.gif", DocumentType::Gif),
        (b"{\\rtf1\\ansi", "a.rtf", DocumentType::Rtf),
        (b"\x00\x00\x00\x1cftypheic", "IMG.HEIC", DocumentType::Heic),
        (b"Just some notes", "notes.txt", DocumentType::Text),
    ];
    for (bytes, name, expected) in cases {
        assert_eq!(classify(bytes, "application/octet-stream", name).kind, *expected, "{name}");
    }
    let mut iso = vec![0u8; 0x8010];
    iso[0x8001..0x8006].copy_from_slice(b"CD001");
    assert_eq!(classify(&iso, "", "install.iso").kind, DocumentType::DiskImage);
}

#[test]
fn refusal_reasons_name_the_rule() {
    let only_pdf = [DocumentType::Pdf];
    let reason = |kind, hazard| refusal_reason(Detection { kind, hazard }, &only_pdf);
    assert_eq!(reason(DocumentType::Executable, None).unwrap(), "programs cannot be printed");
    assert_eq!(reason(DocumentType::Archive, None).unwrap(), "archives cannot be printed");
    assert!(reason(DocumentType::Docx, Some(Hazard::Macros)).unwrap().contains("macros"));
    assert!(reason(DocumentType::Pdf, Some(Hazard::Encrypted)).unwrap().starts_with("password protected"));
    assert_eq!(reason(DocumentType::Png, None).unwrap(), "PNG image files are not accepted by this printer");
    assert_eq!(reason(DocumentType::Pdf, None), None);
    assert_eq!(DocumentType::from_config_name("images").unwrap().len(), 8);
    assert!(DocumentType::from_config_name("exe").is_none());
}
