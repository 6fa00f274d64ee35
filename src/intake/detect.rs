//! File type by content: magic bytes first, the declared type only as a hint for text.

/// What a document really is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentType {
    Pdf,
    Jpeg,
    Png,
    Text,
    Html,
    /// Windows/DOS executable (MZ header).
    Executable,
    Zip,
    Unknown,
}

impl DocumentType {
    /// Looks at the bytes; `declared` (the Content-Type) only decides between text kinds.
    pub fn detect(bytes: &[u8], declared: &str) -> Self {
        let head = &bytes[..bytes.len().min(1024)];
        if find(head, b"%PDF-").is_some() {
            return Self::Pdf;
        }
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Self::Jpeg;
        }
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Self::Png;
        }
        if bytes.starts_with(b"MZ") || bytes.starts_with(b"\x7fELF") {
            return Self::Executable;
        }
        if bytes.starts_with(b"PK\x03\x04") {
            return Self::Zip;
        }
        if std::str::from_utf8(head).is_ok() || head.iter().all(|b| b.is_ascii()) {
            return if declared == "text/html" { Self::Html } else { Self::Text };
        }
        Self::Unknown
    }

    /// The name used in `allowed_types`; `None` for types printgate cannot print yet.
    pub fn config_name(self) -> Option<&'static str> {
        match self {
            Self::Pdf => Some("pdf"),
            _ => None,
        }
    }

    /// Parses a name from `allowed_types`.
    pub fn from_config_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }

    /// A short word for messages to patrons and admins.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Jpeg => "JPEG image",
            Self::Png => "PNG image",
            Self::Text => "plain text",
            Self::Html => "HTML",
            Self::Executable => "executable program",
            Self::Zip => "ZIP archive",
            Self::Unknown => "unknown type",
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_wins_over_the_declared_type() {
        assert_eq!(DocumentType::detect(b"%PDF-1.7\n...", "application/octet-stream"), DocumentType::Pdf);
        assert_eq!(DocumentType::detect(b"MZ\x90\x00\x03", "application/pdf"), DocumentType::Executable);
        assert_eq!(DocumentType::detect(b"hello", "application/pdf"), DocumentType::Text);
        assert_eq!(DocumentType::detect(b"<p>hi</p>", "text/html"), DocumentType::Html);
        assert_eq!(DocumentType::detect(&[0, 159, 146, 150, 200], "application/pdf"), DocumentType::Unknown);
    }

    #[test]
    fn only_printable_types_have_config_names() {
        assert_eq!(DocumentType::from_config_name("PDF"), Some(DocumentType::Pdf));
        assert_eq!(DocumentType::from_config_name("exe"), None);
        assert_eq!(DocumentType::Executable.config_name(), None);
    }
}
