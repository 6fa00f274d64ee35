//! File type by content: magic bytes, then a look inside containers (ZIP for OOXML/ODF, OLE
//! compound files for legacy Office and MSI, the PDF encryption dictionary). Never by name
//! alone: a name only adds suspicion (a `.js` file is a script whatever its bytes say).
//!
//! The result is a [`Detection`]: what the file is, and a [`Hazard`] that refuses an otherwise
//! printable type (macros, a password, a decompression bomb).

mod containers;
mod xml;

pub use crate::doctype::DocumentType;
pub use containers::{MAX_ZIP_ENTRIES, MAX_ZIP_UNPACKED};

/// Content that makes an otherwise printable document unacceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hazard {
    Macros,
    Encrypted,
    /// A PDF whose permissions forbid printing.
    PrintingForbidden,
    Bomb,
    /// An Office document whose XML carries a DTD (`<!DOCTYPE`): forbidden in OOXML, and the
    /// shape of entity bombs ("billion laughs") aimed at the converter.
    Dtd,
}

/// What [`classify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detection {
    pub kind: DocumentType,
    pub hazard: Option<Hazard>,
}

impl Detection {
    fn plain(kind: DocumentType) -> Self {
        Self { kind, hazard: None }
    }
}

/// Extensions that mark a script whatever the bytes look like (Windows runs them by name).
const SCRIPT_EXTENSIONS: &[&str] =
    &["js", "jse", "vbs", "vbe", "wsf", "wsh", "ps1", "psm1", "bat", "cmd", "hta", "lnk", "scr", "pif", "com", "reg", "sh"];

/// Classifies a file by its bytes; `declared` (Content-Type) and `name` only break ties for
/// text and add suspicion for scripts.
pub fn classify(bytes: &[u8], declared: &str, name: &str) -> Detection {
    let by_magic = magic(bytes);
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match by_magic {
        Some(DocumentType::Pdf) => containers::pdf(bytes),
        Some(DocumentType::Archive) if bytes.starts_with(b"PK") => containers::zip(bytes),
        Some(DocumentType::Doc) => containers::ole(bytes),
        Some(kind) => Detection::plain(kind),
        None if SCRIPT_EXTENSIONS.contains(&extension.as_str()) => Detection::plain(DocumentType::Script),
        None => Detection::plain(text_kind(bytes, declared)),
    }
}

/// Magic numbers. OLE files report `Doc` and ZIP files `Archive` until their contents are read.
fn magic(b: &[u8]) -> Option<DocumentType> {
    use DocumentType as T;
    let starts = |m: &[u8]| b.starts_with(m);
    let at = |off: usize, m: &[u8]| b.get(off..off + m.len()) == Some(m);
    Some(match () {
        () if starts(b"%PDF-") => T::Pdf,
        () if starts(&[0xFF, 0xD8, 0xFF]) => T::Jpeg,
        () if starts(b"\x89PNG\r\n\x1a\n") => T::Png,
        () if starts(b"GIF87a") || starts(b"GIF89a") => T::Gif,
        () if starts(b"II*\0") || starts(b"MM\0*") => T::Tiff,
        () if starts(b"BM") && b.len() > 26 && [12u8, 40, 52, 56, 64, 108, 124].iter().any(|n| at(14, &[*n, 0, 0, 0])) => T::Bmp,
        () if starts(b"RIFF") && at(8, b"WEBP") => T::Webp,
        () if at(4, b"ftypavif") || at(4, b"ftypavis") => T::Avif,
        () if at(4, b"ftyphei") || at(4, b"ftypmif1") || at(4, b"ftypheix") || at(4, b"ftypmsf1") => T::Heic,
        () if starts(b"{\\rtf") => T::Rtf,
        () if starts(b"MZ") || starts(b"\x7fELF") => T::Executable,
        () if starts(&[0xFE, 0xED, 0xFA, 0xCE]) || starts(&[0xFE, 0xED, 0xFA, 0xCF]) => T::Executable,
        () if starts(&[0xCE, 0xFA, 0xED, 0xFE]) || starts(&[0xCF, 0xFA, 0xED, 0xFE]) || starts(&[0xCA, 0xFE, 0xBA, 0xBE]) => T::Executable,
        () if starts(&[0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0]) => T::Script, // Windows .lnk
        () if starts(b"#!") => T::Script,
        () if starts(&[0x78, 0x9F, 0x3E, 0x22]) => T::Tnef,
        () if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) => T::Doc,
        () if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") => T::Archive,
        () if starts(b"Rar!\x1a\x07") || starts(b"7z\xbc\xaf\x27\x1c") || starts(&[0x1F, 0x8B]) => T::Archive,
        () if starts(b"BZh") || starts(&[0xFD, b'7', b'z', b'X', b'Z', 0]) || starts(b"MSCF") || at(257, b"ustar") => T::Archive,
        () if at(0x8001, b"CD001") || at(0x8801, b"CD001") || at(0x9001, b"CD001") => T::DiskImage,
        () if starts(b"conectix") || starts(b"vhdxfile") || starts(b"KDMV") || starts(b"QFI\xfb") => T::DiskImage,
        () if b.len() > 512 && b.get(b.len() - 512..b.len() - 508) == Some(b"koly") => T::DiskImage,
        // PDF readers accept junk before the header; only after every binary magic failed.
        () if find(&b[..b.len().min(1024)], b"%PDF-").is_some() => T::Pdf,
        () => return None,
    })
}

fn text_kind(bytes: &[u8], declared: &str) -> DocumentType {
    let head = &bytes[..bytes.len().min(4096)];
    let texty = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut at the window's end is still text.
        Err(e) => e.error_len().is_none() || head.iter().all(|b| *b >= 0x20 || b"\t\r\n\x0c".contains(b)),
    };
    if !texty || head.contains(&0) {
        return DocumentType::Unknown;
    }
    let lower = String::from_utf8_lossy(&head[..head.len().min(512)]).to_ascii_lowercase();
    if declared == "text/html" || lower.trim_start().starts_with("<!doctype html") || lower.trim_start().starts_with("<html") {
        DocumentType::Html
    } else {
        DocumentType::Text
    }
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl DocumentType {
    /// Detects the type alone (no hazards); kept for callers that only need the kind.
    pub fn detect(bytes: &[u8], declared: &str) -> Self {
        classify(bytes, declared, "").kind
    }
}

/// Why a document will not be printed, in words for the patron; `None` if it may print.
pub fn refusal_reason(detection: Detection, allowed: &[DocumentType]) -> Option<String> {
    use DocumentType as T;
    let fixed = match detection.kind {
        T::Executable => Some("programs cannot be printed"),
        T::Installer => Some("installers cannot be printed"),
        T::Script => Some("scripts cannot be printed"),
        T::Archive => Some("archives cannot be printed"),
        T::DiskImage => Some("disk images cannot be printed"),
        T::Unknown => Some("files of unknown type cannot be printed"),
        T::OfficeEncrypted => Some("password protected: remove the password and send it again"),
        T::Tnef => Some("the Outlook attachment container could not be read"),
        _ => None,
    };
    if let Some(reason) = fixed {
        return Some(reason.to_owned());
    }
    match detection.hazard {
        Some(Hazard::Macros) => {
            return Some("documents with macros are refused: save it without macros (for example as .docx or PDF)".into());
        }
        Some(Hazard::Encrypted) => return Some("password protected: remove the password and send it again".into()),
        Some(Hazard::PrintingForbidden) => return Some("the PDF's permissions do not allow printing".into()),
        Some(Hazard::Bomb) => return Some("the file unpacks to too much data".into()),
        Some(Hazard::Dtd) => return Some("malformed Office document: it contains a DTD".into()),
        None => {}
    }
    if !allowed.contains(&detection.kind) {
        return Some(format!("{} files are not accepted by this printer", detection.kind.label()));
    }
    None
}

#[cfg(test)]
mod tests;
