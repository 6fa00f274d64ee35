//! What kinds of document printgate knows: [`DocumentType`], its names in `allowed_types`
//! (types and groups), and its words for patrons and admins.
//!
//! Sits below both `config` (which parses `allowed_types` into these types once, at load) and
//! `intake` (which detects them in bytes, `intake::detect`). Imports nothing of printgate.

/// What a document really is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentType {
    Pdf,
    Jpeg,
    Png,
    Gif,
    Tiff,
    Bmp,
    Webp,
    Heic,
    Avif,
    Text,
    Html,
    Rtf,
    Docx,
    Xlsx,
    Pptx,
    Doc,
    Xls,
    Ppt,
    Odt,
    Ods,
    Odp,
    /// An encrypted OOXML package (OLE `EncryptedPackage`): which application is unknown.
    OfficeEncrypted,
    /// TNEF (`winmail.dat`): a container; intake extracts what is inside.
    Tnef,
    /// PE, ELF or Mach-O executables.
    Executable,
    /// MSI, MSP or MST (OLE compound file with an installer class id).
    Installer,
    Script,
    Archive,
    DiskImage,
    Unknown,
}

impl DocumentType {
    /// Types that can be allowed on a queue (`allowed_types`); the rest is always refused.
    const PRINTABLE: &'static [(&'static str, DocumentType)] = &[
        ("pdf", Self::Pdf),
        ("jpeg", Self::Jpeg),
        ("png", Self::Png),
        ("gif", Self::Gif),
        ("tiff", Self::Tiff),
        ("bmp", Self::Bmp),
        ("webp", Self::Webp),
        ("heic", Self::Heic),
        ("avif", Self::Avif),
        ("text", Self::Text),
        ("html", Self::Html),
        ("rtf", Self::Rtf),
        ("docx", Self::Docx),
        ("xlsx", Self::Xlsx),
        ("pptx", Self::Pptx),
        ("doc", Self::Doc),
        ("xls", Self::Xls),
        ("ppt", Self::Ppt),
        ("odt", Self::Odt),
        ("ods", Self::Ods),
        ("odp", Self::Odp),
    ];

    /// The types a name in `allowed_types` stands for: a type (`pdf`) or a group (`images`,
    /// `office`, `text`); `None` for an unknown name.
    pub fn from_config_name(name: &str) -> Option<Vec<Self>> {
        use DocumentType as T;
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "images" => Some(vec![T::Jpeg, T::Png, T::Gif, T::Tiff, T::Bmp, T::Webp, T::Heic, T::Avif]),
            "office" => Some(vec![T::Docx, T::Xlsx, T::Pptx, T::Doc, T::Xls, T::Ppt, T::Odt, T::Ods, T::Odp, T::Rtf]),
            "text" => Some(vec![T::Text, T::Html]),
            _ => Self::PRINTABLE.iter().find(|(n, _)| *n == name).map(|(_, t)| vec![*t]),
        }
    }

    /// The name used in `allowed_types`; `None` for types that are never printable.
    pub fn config_name(self) -> Option<&'static str> {
        Self::PRINTABLE.iter().find(|(_, t)| *t == self).map(|(n, _)| *n)
    }

    /// A short word for messages to patrons and admins.
    pub fn label(self) -> &'static str {
        use DocumentType as T;
        match self {
            T::Pdf => "PDF",
            T::Jpeg => "JPEG image",
            T::Png => "PNG image",
            T::Gif => "GIF image",
            T::Tiff => "TIFF image",
            T::Bmp => "BMP image",
            T::Webp => "WebP image",
            T::Heic => "HEIC image",
            T::Avif => "AVIF image",
            T::Text => "plain text",
            T::Html => "HTML",
            T::Rtf => "RTF document",
            T::Docx | T::Doc => "Word document",
            T::Xlsx | T::Xls => "Excel workbook",
            T::Pptx | T::Ppt => "PowerPoint presentation",
            T::Odt => "OpenDocument text",
            T::Ods => "OpenDocument spreadsheet",
            T::Odp => "OpenDocument presentation",
            T::OfficeEncrypted => "encrypted Office document",
            T::Tnef => "Outlook winmail.dat",
            T::Executable => "executable program",
            T::Installer => "installer",
            T::Script => "script",
            T::Archive => "archive",
            T::DiskImage => "disk image",
            T::Unknown => "unknown type",
        }
    }

    pub fn is_image(self) -> bool {
        matches!(self, Self::Jpeg | Self::Png | Self::Gif | Self::Tiff | Self::Bmp | Self::Webp | Self::Heic | Self::Avif)
    }
}
