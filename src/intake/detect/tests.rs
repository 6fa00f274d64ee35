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

const DTD_REASON: &str = "malformed Office document: it contains a DTD";

/// The billion-laughs shape: nine levels of entities that each repeat the one below ten times.
fn billion_laughs(root: &str) -> String {
    let mut dtd = String::from("<!DOCTYPE lolz [\n  <!ENTITY lol \"lol\">\n");
    for level in 1..10 {
        let below = if level == 1 { "lol".to_owned() } else { format!("lol{}", level - 1) };
        dtd.push_str(&format!("  <!ENTITY lol{level} \"{}\">\n", format!("&{below};").repeat(10)));
    }
    dtd.push_str("]>\n");
    format!("{dtd}<{root}>&lol9;</{root}>")
}

fn utf16(text: &str, little_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = if bom { if little_endian { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] } } else { Vec::new() };
    for unit in text.encode_utf16() {
        out.extend(if little_endian { unit.to_le_bytes() } else { unit.to_be_bytes() });
    }
    out
}

fn office_refusal(entries: &[(&str, &[u8])], name: &str) -> Option<String> {
    let office = DocumentType::from_config_name("office").unwrap();
    refusal_reason(classify(&zip_of(entries), "", name), &office)
}

#[test]
fn ooxml_with_a_dtd_in_any_xml_part_is_refused_as_malformed() {
    const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n";
    let laughs = billion_laughs("w:document");
    let lower = format!(
        "{DECL}<!-- generated --><?mso-application progid=\"Word.Document\"?>\n<!doctype w:document SYSTEM \"x.dtd\"><w:document/>"
    );
    let bom = format!("\u{feff}{DECL}{laughs}");
    let documents: Vec<(&str, Vec<u8>)> = vec![
        ("billion laughs after the XML declaration", format!("{DECL}{laughs}").into_bytes()),
        ("lower case, external, after a comment and a PI", lower.into_bytes()),
        ("UTF-8 BOM", bom.into_bytes()),
        ("UTF-16LE with BOM", utf16(&format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>{laughs}"), true, true)),
        ("UTF-16BE without BOM", utf16(&format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>{laughs}"), false, false)),
    ];
    for (label, document) in &documents {
        let entries: [(&str, &[u8]); 2] = [("[Content_Types].xml", b"<Types/>"), ("word/document.xml", document)];
        assert_eq!(office_refusal(&entries, "thesis.docx").as_deref(), Some(DTD_REASON), "{label}");
    }
    let dtd = format!("{DECL}{}", billion_laughs("Types"));
    let in_content_types: [(&str, &[u8]); 2] = [("[Content_Types].xml", dtd.as_bytes()), ("xl/workbook.xml", b"<workbook/>")];
    assert_eq!(office_refusal(&in_content_types, "budget.xlsx").as_deref(), Some(DTD_REASON));
    let rels = format!("{DECL}{}", billion_laughs("Relationships"));
    let in_rels: [(&str, &[u8]); 3] =
        [("[Content_Types].xml", b"<Types/>"), ("_rels/.rels", rels.as_bytes()), ("ppt/presentation.xml", b"<p/>")];
    assert_eq!(office_refusal(&in_rels, "talk.pptx").as_deref(), Some(DTD_REASON));
    // A part need not be named .xml: the content types can map any name to XML.
    let odd_name: [(&str, &[u8]); 2] = [("[Content_Types].xml", b"<Types/>"), ("word/document.part", dtd.as_bytes())];
    assert_eq!(office_refusal(&odd_name, "thesis.docx").as_deref(), Some(DTD_REASON));
}

#[test]
fn doctype_text_after_the_root_element_or_in_binary_parts_is_not_a_dtd() {
    let text = b"<?xml version=\"1.0\"?>\n<w:document><w:t>&lt;!DOCTYPE html&gt;</w:t><!-- <!DOCTYPE x [ ]> --></w:document>";
    let image = b"\x89PNG\r\n\x1a\n<!DOCTYPE x [<!ENTITY a \"b\">]>";
    let entries: [(&str, &[u8]); 3] = [("[Content_Types].xml", b"<Types/>"), ("word/document.xml", text), ("word/media/image1.png", image)];
    assert_eq!(classify(&zip_of(&entries), "", "a.docx"), Detection { kind: DocumentType::Docx, hazard: None });
}

#[test]
fn odf_refuses_an_internal_dtd_subset_but_keeps_old_openoffice_manifests() {
    let mimetype = ("mimetype", &b"application/vnd.oasis.opendocument.text"[..]);
    let old_manifest = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE manifest:manifest PUBLIC \"-//OpenOffice.org//DTD Manifest 1.0//EN\" \"Manifest.dtd\">\n<manifest:manifest/>";
    let clean = [mimetype, ("META-INF/manifest.xml", old_manifest), ("content.xml", b"<office:document-content/>")];
    assert_eq!(office_refusal(&clean, "minutes.odt"), None);
    let laughs = format!("<?xml version=\"1.0\"?>{}", billion_laughs("office:document-content"));
    let bomb = [mimetype, ("content.xml", laughs.as_bytes())];
    assert_eq!(office_refusal(&bomb, "minutes.odt").as_deref(), Some(DTD_REASON));
}
