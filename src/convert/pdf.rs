//! PDF preparation: validate, repair and decrypt with qpdf; count pages.
//!
//! Owns the rules for PDFs as they arrive: qpdf rewrites every PDF (which rebuilds a damaged
//! cross-reference table and normalises the structure printers choke on), removes an
//! owner-password restriction (intake already refused PDFs whose permissions forbid printing),
//! and refuses a PDF that needs a user password or cannot be repaired, with the reason.

use std::path::Path;

use super::tools::{self, ToolError};
use super::{ConvertError, Tools};

/// What qpdf found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// Read without complaint: the patron's own bytes can be printed as they are.
    Clean,
    /// Repaired (a damaged structure rebuilt): print qpdf's rewrite.
    Repaired,
}

/// Rewrites `input` into `output` (repaired, decrypted) and says whether it needed repair.
///
/// # Errors
/// [`ConvertError::PasswordProtected`], [`ConvertError::BrokenPdf`], or infrastructure trouble.
pub async fn normalise(tools: &Tools, input: &Path, output: &Path) -> Result<Checked, ConvertError> {
    let args = ["--decrypt".as_ref(), "--object-streams=preserve".as_ref(), input.as_os_str(), output.as_os_str()];
    match tools::run(&tools.qpdf, &args, tools.timeout, &[3]).await {
        Ok(out) if out.status.code() == Some(3) => Ok(Checked::Repaired),
        Ok(_) => Ok(Checked::Clean),
        Err(ToolError::Failed { message, .. }) if message.contains("invalid password") => Err(ConvertError::PasswordProtected),
        Err(ToolError::Failed { message, .. }) => Err(ConvertError::BrokenPdf(qpdf_reason(&message))),
        Err(e) => Err(e.into()),
    }
}

/// qpdf's message without the scratch path it names.
fn qpdf_reason(message: &str) -> String {
    let reason = message.rsplit(": ").next().unwrap_or(message).trim();
    if reason.is_empty() { "it cannot be repaired".to_owned() } else { reason.to_owned() }
}

/// Whether the PDF has an encryption dictionary (then qpdf's decrypted rewrite is printed).
pub fn is_encrypted(pdf: &[u8]) -> bool {
    pdf.windows(8).any(|w| w == b"/Encrypt")
}

/// Whether anything but whitespace follows the last `%%EOF`: another file appended to the PDF
/// (a PDF+ZIP polyglot, say). Then qpdf's rewrite, which ends at the PDF's own end, is printed,
/// so the appended bytes never reach the store, the station or the printer.
pub fn has_trailing_data(pdf: &[u8]) -> bool {
    let tail_from = pdf.len().saturating_sub(1024 * 1024);
    match pdf[tail_from..].windows(5).rposition(|w| w == b"%%EOF") {
        Some(at) => pdf[tail_from + at + 5..].iter().any(|b| !b.is_ascii_whitespace() && *b != 0),
        None => true,
    }
}

/// Dictionary keys that make a PDF act rather than show: document and page actions, scripts,
/// embedded files. Printers ignore them; a released PDF opened in a viewer would not.
const ACTIVE_KEYS: &[&[u8]] = &[b"OpenAction", b"AA", b"JavaScript", b"JS", b"EmbeddedFiles", b"Launch"];

/// Removes actions, scripts and embedded files from the (normalised) PDF at `path`, rewriting
/// it when anything was removed. Returns whether it was: then the rewrite is printed, not the
/// patron's bytes. Link annotations whose action launches a program or runs a script lose the
/// action (the link's area stays, inert).
///
/// # Errors
/// [`ConvertError::BrokenPdf`] when the file cannot be loaded or saved.
pub fn strip_active_content(path: &Path) -> Result<bool, ConvertError> {
    let mut doc = lopdf::Document::load(path).map_err(|e| ConvertError::BrokenPdf(e.to_string()))?;
    let mut removed = 0usize;
    for object in doc.objects.values_mut() {
        removed += strip_object(object);
    }
    if removed > 0 {
        doc.save(path).map_err(|e| ConvertError::BrokenPdf(e.to_string()))?;
    }
    Ok(removed > 0)
}

/// Strips one object and every dictionary nested in it; returns how many things it removed.
fn strip_object(object: &mut lopdf::Object) -> usize {
    use lopdf::Object;
    let dict = match object {
        Object::Dictionary(d) => d,
        Object::Stream(s) => &mut s.dict,
        Object::Array(items) => return items.iter_mut().map(strip_object).sum(),
        _ => return 0,
    };
    let mut removed = 0;
    for key in ACTIVE_KEYS {
        if dict.remove(key).is_some() {
            removed += 1;
        }
    }
    let acts = |o: &Object| matches!(o.as_name(), Ok(b"Launch" | b"JavaScript" | b"ImportData" | b"SubmitForm" | b"GoToE" | b"Rendition"));
    if dict.get(b"S").is_ok_and(acts) {
        dict.set("S", Object::Name(b"Named".to_vec()));
        dict.set("N", Object::Name(b"NextPage".to_vec()));
        removed += 1;
    }
    for (_, value) in dict.iter_mut() {
        removed += strip_object(value);
    }
    removed
}

/// Counts the pages of a (normalised) PDF.
///
/// # Errors
/// [`ConvertError::BrokenPdf`] or [`ConvertError::NoPages`].
pub fn count_pages(pdf: &[u8]) -> Result<u32, ConvertError> {
    let doc = lopdf::Document::load_mem(pdf).map_err(|e| ConvertError::BrokenPdf(e.to_string()))?;
    let pages = u32::try_from(doc.get_pages().len()).unwrap_or(u32::MAX);
    if pages == 0 {
        return Err(ConvertError::NoPages);
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::{has_trailing_data, qpdf_reason};

    #[test]
    fn data_after_the_last_eof_is_noticed() {
        assert!(!has_trailing_data(b"%PDF-1.4\n...\n%%EOF\n"));
        assert!(!has_trailing_data(b"%PDF-1.4\n%%EOF\n...\n%%EOF\r\n\0"));
        assert!(has_trailing_data(b"%PDF-1.4\n...%%EOF\nPK\x03\x04setup.exe"));
        assert!(has_trailing_data(b"%PDF-1.4\n no end marker"));
    }

    #[test]
    fn qpdf_reason_drops_the_scratch_path() {
        assert_eq!(
            qpdf_reason("qpdf: /dev/shm/printgate-scratch-1/abc/in.pdf: unable to find trailer dictionary while recovering damaged file"),
            "unable to find trailer dictionary while recovering damaged file"
        );
        assert_eq!(qpdf_reason(""), "it cannot be repaired");
    }
}
