//! Conversion: a screened document becomes print-ready PDF with its page count.
//!
//! Owns document-to-PDF work. It never touches the network or the store. Today it validates
//! PDFs and counts their pages; images, text and Office documents join in later stages.

pub mod sample;

use crate::intake::{Document, DocumentType};

/// A document ready to be sealed.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub pdf: Vec<u8>,
    pub pages: u32,
    pub color: bool,
}

/// Why a document could not be made printable (reported to the patron).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConvertError {
    #[error("the PDF is damaged and cannot be read ({0})")]
    BrokenPdf(String),
    #[error("the PDF has no pages")]
    NoPages,
    #[error("{0} files cannot be printed yet (conversion arrives in a later release)")]
    Unsupported(&'static str),
    #[error("{pages} pages is more than this printer's limit of {limit}")]
    TooManyPages { pages: u32, limit: u32 },
    #[error("conversion failed: {0}")]
    Internal(String),
}

/// Converts one document (CPU-bound: run it on a blocking thread).
///
/// # Errors
/// [`ConvertError`] with a reason fit for the patron's reply.
pub fn convert(doc: &Document, max_pages: u32) -> Result<Rendered, ConvertError> {
    let rendered = match doc.detected {
        DocumentType::Pdf => pdf(&doc.bytes)?,
        other => return Err(ConvertError::Unsupported(other.label())),
    };
    if rendered.pages > max_pages {
        return Err(ConvertError::TooManyPages { pages: rendered.pages, limit: max_pages });
    }
    Ok(rendered)
}

fn pdf(bytes: &[u8]) -> Result<Rendered, ConvertError> {
    let doc = lopdf::Document::load_mem(bytes).map_err(|e| ConvertError::BrokenPdf(e.to_string()))?;
    let pages = u32::try_from(doc.get_pages().len()).unwrap_or(u32::MAX);
    if pages == 0 {
        return Err(ConvertError::NoPages);
    }
    // Colour detection arrives with the conversion stage; until then every job is mono.
    Ok(Rendered { pdf: bytes.to_vec(), pages, color: false })
}

#[cfg(test)]
mod tests;
