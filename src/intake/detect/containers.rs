//! Looking inside containers: PDF encryption, ZIP (OOXML, ODF, plain archives) and OLE compound
//! files (legacy Office, MSI). Every read is bounded: entry counts, declared sizes and ratios
//! are checked before anything is inflated, and only small named entries are ever read.

use std::io::{Cursor, Read};

use super::{Detection, DocumentType as T, Hazard, find, xml};

/// More entries than any real document has; a ZIP with more is treated as a bomb.
pub const MAX_ZIP_ENTRIES: usize = 10_000;
/// Total declared uncompressed size beyond which a ZIP is a bomb (real Office files: < 100 MB).
pub const MAX_ZIP_UNPACKED: u64 = 512 * 1024 * 1024;
/// Largest compression ratio accepted for a big entry (text XML compresses ~10-20x).
const MAX_RATIO: u64 = 250;
/// The largest entry read to identify a container (`mimetype`, manifest, content types).
const MAX_PROBE_READ: u64 = 1024 * 1024;

/// PDF: is there an encryption dictionary, does the empty user password open it, and do its
/// permissions allow printing?
pub fn pdf(bytes: &[u8]) -> Detection {
    if find(bytes, b"/Encrypt").is_none() {
        return Detection::plain(T::Pdf);
    }
    let hazard = match lopdf::Document::load_mem(bytes) {
        Ok(doc) => match &doc.encryption_state {
            // Opened with the empty user password: only an owner (permissions) password.
            Some(state) if state.permissions().contains(lopdf::encryption::Permissions::PRINTABLE) => None,
            Some(_) => Some(Hazard::PrintingForbidden),
            // The user password is needed.
            None if doc.trailer.get(b"Encrypt").is_ok() => Some(Hazard::Encrypted),
            None => None,
        },
        Err(_) => Some(Hazard::Encrypted),
    };
    Detection { kind: T::Pdf, hazard }
}

/// ZIP: OOXML (by `[Content_Types].xml`), ODF (by `mimetype`), else an archive.
pub fn zip(bytes: &[u8]) -> Detection {
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Detection::plain(T::Archive);
    };
    if archive.len() > MAX_ZIP_ENTRIES {
        return Detection { kind: T::Archive, hazard: Some(Hazard::Bomb) };
    }
    let mut names = Vec::with_capacity(archive.len());
    let mut unpacked: u64 = 0;
    let mut bomb = false;
    for i in 0..archive.len() {
        let Ok(entry) = archive.by_index_raw(i) else { return Detection::plain(T::Archive) };
        unpacked = unpacked.saturating_add(entry.size());
        let ratio_suspicious = entry.size() > 1024 * 1024 && entry.size() / entry.compressed_size().max(1) > MAX_RATIO;
        bomb |= ratio_suspicious || unpacked > MAX_ZIP_UNPACKED;
        names.push(entry.name().map(|n| n.into_owned()).unwrap_or_default());
    }
    let kind = if names.iter().any(|n| n == "[Content_Types].xml") {
        ooxml_kind(&names)
    } else if names.iter().any(|n| n == "mimetype") {
        odf_kind(&read_small(&mut archive, "mimetype"))
    } else {
        T::Archive
    };
    if bomb {
        return Detection { kind, hazard: Some(Hazard::Bomb) };
    }
    let hazard = match kind {
        T::Docx | T::Xlsx | T::Pptx => ooxml_hazard(&names, &read_small(&mut archive, "[Content_Types].xml"))
            .or_else(|| has_dtd(&mut archive, |_| true).then_some(Hazard::Dtd)),
        T::Odt | T::Ods | T::Odp => odf_hazard(&names, &read_small(&mut archive, "META-INF/manifest.xml"))
            .or_else(|| has_dtd(&mut archive, |d| d.internal_subset).then_some(Hazard::Dtd)),
        _ => None,
    };
    Detection { kind, hazard }
}

/// Does any part carry a DTD that `refused` refuses? OOXML forbids DTDs outright (ECMA-376
/// Part 2, OPC); ODF files from OpenOffice 1.x-3.x name an external DTD in their manifest
/// (harmless: it is never fetched), so there only an internal subset (where entities are
/// declared) refuses. Every entry is looked at whatever its name (a part's name need not end
/// in `.xml`), but only up to its root element and within its declared size, which the bomb
/// limits have already bounded.
fn has_dtd(archive: &mut zip::ZipArchive<Cursor<&[u8]>>, refused: impl Fn(xml::Doctype) -> bool) -> bool {
    (0..archive.len()).any(|i| {
        let Ok(entry) = archive.by_index(i) else { return false };
        let size = entry.size();
        xml::doctype(entry.take(size)).is_some_and(&refused)
    })
}

fn ooxml_kind(names: &[String]) -> T {
    if names.iter().any(|n| n.starts_with("word/")) {
        T::Docx
    } else if names.iter().any(|n| n.starts_with("xl/")) {
        T::Xlsx
    } else if names.iter().any(|n| n.starts_with("ppt/")) {
        T::Pptx
    } else {
        T::Archive
    }
}

fn odf_kind(mimetype: &[u8]) -> T {
    match String::from_utf8_lossy(mimetype).trim() {
        "application/vnd.oasis.opendocument.text" => T::Odt,
        "application/vnd.oasis.opendocument.spreadsheet" => T::Ods,
        "application/vnd.oasis.opendocument.presentation" => T::Odp,
        _ => T::Archive,
    }
}

/// docm/xlsm/pptm (also when renamed .docx): a VBA project, or Excel 4.0 macro sheets.
fn ooxml_hazard(names: &[String], content_types: &[u8]) -> Option<Hazard> {
    let vba = names.iter().any(|n| n.to_ascii_lowercase().ends_with("vbaproject.bin"));
    let xlm = names.iter().any(|n| n.starts_with("xl/macrosheets/"));
    let declared = find(content_types, b"macroEnabled").is_some() || find(content_types, b"vbaProject").is_some();
    (vba || xlm || declared).then_some(Hazard::Macros)
}

/// ODF: Basic modules or other scripts; encryption is declared in the manifest.
fn odf_hazard(names: &[String], manifest: &[u8]) -> Option<Hazard> {
    if find(manifest, b"encryption-data").is_some() {
        return Some(Hazard::Encrypted);
    }
    let basic_module = names
        .iter()
        .any(|n| n.starts_with("Basic/") && n.ends_with(".xml") && !n.ends_with("script-lc.xml") && !n.ends_with("script-lb.xml"));
    let scripts = names.iter().any(|n| n.starts_with("Scripts/") && !n.ends_with('/'));
    (basic_module || scripts).then_some(Hazard::Macros)
}

fn read_small(archive: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    if let Ok(entry) = archive.by_name(name) {
        let _ = entry.take(MAX_PROBE_READ).read_to_end(&mut out);
    }
    out
}

/// OLE compound files: installers by class id, Office by stream names, macros by storage names,
/// encryption by the OOXML encryption streams or the legacy flags.
pub fn ole(bytes: &[u8]) -> Detection {
    let Ok(mut cf) = cfb::CompoundFile::open(Cursor::new(bytes)) else {
        return Detection::plain(T::Unknown);
    };
    let clsid = cf.root_entry().clsid().to_string().to_ascii_lowercase();
    // MSI, MSP and MST share the {000C108x-0000-0000-C000-000000000046} family.
    if ["000c1084", "000c1086", "000c1082"].iter().any(|p| clsid.starts_with(p)) && clsid.ends_with("-0000-0000-c000-000000000046") {
        return Detection::plain(T::Installer);
    }
    let entries: Vec<(String, bool)> = cf.walk().map(|e| (e.path().to_string_lossy().into_owned(), e.is_stream())).collect();
    let has = |name: &str| entries.iter().any(|(p, _)| p.rsplit('/').next() == Some(name));
    if has("EncryptionInfo") && has("EncryptedPackage") {
        return Detection::plain(T::OfficeEncrypted);
    }
    let kind = if has("WordDocument") {
        T::Doc
    } else if has("Workbook") || has("Book") {
        T::Xls
    } else if has("PowerPoint Document") {
        T::Ppt
    } else {
        return Detection::plain(T::Unknown);
    };
    let macros = has("Macros") || has("_VBA_PROJECT_CUR") || has("VBA") || (kind == T::Xls && xls_has_macro_sheet(&mut cf));
    let encrypted = match kind {
        T::Doc => word_encrypted(&mut cf),
        T::Xls => xls_record_present(&mut cf, 0x002F), // FILEPASS
        _ => false,
    };
    let hazard = if encrypted { Some(Hazard::Encrypted) } else { macros.then_some(Hazard::Macros) };
    Detection { kind, hazard }
}

fn read_stream(cf: &mut cfb::CompoundFile<Cursor<&[u8]>>, path: &str, limit: u64) -> Vec<u8> {
    let mut out = Vec::new();
    if let Ok(stream) = cf.open_stream(path) {
        let _ = stream.take(limit).read_to_end(&mut out);
    }
    out
}

/// Word's FIB: bit `fEncrypted` (0x0100) of the flags at offset 0x0A.
fn word_encrypted(cf: &mut cfb::CompoundFile<Cursor<&[u8]>>) -> bool {
    let fib = read_stream(cf, "/WordDocument", 64);
    fib.get(0x0A..0x0C).is_some_and(|f| u16::from_le_bytes([f[0], f[1]]) & 0x0100 != 0)
}

/// Walks BIFF records of the workbook stream (bounded) looking for one record type.
fn xls_records(cf: &mut cfb::CompoundFile<Cursor<&[u8]>>) -> Vec<(u16, Vec<u8>)> {
    let mut data = read_stream(cf, "/Workbook", 16 * 1024 * 1024);
    if data.is_empty() {
        data = read_stream(cf, "/Book", 16 * 1024 * 1024);
    }
    let mut records = Vec::new();
    let mut pos = 0;
    while pos + 4 <= data.len() && records.len() < 100_000 {
        let kind = u16::from_le_bytes([data[pos], data[pos + 1]]);
        let len = u16::from_le_bytes([data[pos + 2], data[pos + 3]]) as usize;
        let body = data.get(pos + 4..pos + 4 + len).unwrap_or_default().to_vec();
        records.push((kind, body));
        pos += 4 + len;
        if kind == 0x000A && records.len() > 1 {
            break; // EOF of the globals substream: sheet records are all before it
        }
    }
    records
}

fn xls_record_present(cf: &mut cfb::CompoundFile<Cursor<&[u8]>>, wanted: u16) -> bool {
    xls_records(cf).iter().any(|(k, _)| *k == wanted)
}

/// Excel 4.0 (XLM) macro sheets: a BOUNDSHEET record (0x0085) whose sheet type byte is 1.
fn xls_has_macro_sheet(cf: &mut cfb::CompoundFile<Cursor<&[u8]>>) -> bool {
    xls_records(cf).iter().any(|(k, body)| *k == 0x0085 && body.get(5) == Some(&0x01))
}
