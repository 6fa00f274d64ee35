//! PDF preparation: read in process, and repair, decrypt or strip with qpdf only when needed.
//!
//! Owns the rules for PDFs as they arrive. [`inspect`] reads the patron's PDF in process with
//! lopdf's strict parser: a PDF that is sound (its cross-reference table holds, every content
//! stream decodes), unencrypted, passive (no actions, scripts or embedded files) and has
//! nothing after its last `%%EOF` is printed byte for byte, and its pages and grey pages are
//! known without starting a process. Any other PDF goes through qpdf ([`normalise`]), which
//! rebuilds a damaged structure, removes an owner-password restriction (intake already refused
//! PDFs whose permissions forbid printing) and refuses a PDF that needs a user password or
//! cannot be repaired, with the reason; then [`strip_active_content`] removes what acts.

use std::path::Path;

use super::grey::{self, Verdict};
use super::tools::{self, ToolError};
use super::{ConvertError, Tools};

/// What reading a PDF in process found.
#[derive(Debug)]
pub enum Inspected {
    /// Printed as sent: its page count and each page's colour verdict are known.
    Sound { pages: u32, verdicts: Vec<Verdict> },
    /// qpdf must rewrite it first; the reason is for the log.
    NeedsRewrite(&'static str),
}

/// Reads `pdf` in process and decides whether it can be printed as sent (see the module doc).
/// A PDF of more than `page_limit` pages is counted but its pages are not read. Blocking
/// (CPU-bound): call it on a blocking thread.
pub fn inspect(pdf: &[u8], page_limit: usize) -> Inspected {
    use Inspected::NeedsRewrite;
    if is_encrypted(pdf) {
        return NeedsRewrite("encrypted");
    }
    if has_trailing_data(pdf) {
        return NeedsRewrite("data after the end of the PDF");
    }
    let options = lopdf::LoadOptions { strict: true, max_decompressed_size: Some(grey::MAX_CONTENT), ..Default::default() };
    let Ok(mut doc) = lopdf::Document::load_mem_with_options(pdf, options) else {
        return NeedsRewrite("the strict parser refused it");
    };
    if doc.xref_recovery.is_some() {
        return NeedsRewrite("damaged cross-reference table");
    }
    if !page_tree_is_plain(&doc) {
        return NeedsRewrite("a page tree that repeats a page or disagrees with its count");
    }
    let verdicts = grey::page_verdicts(&doc, page_limit);
    if verdicts.is_empty() {
        return NeedsRewrite("no pages found");
    }
    if verdicts.contains(&Verdict::Damaged) {
        return NeedsRewrite("a content stream cannot be decoded");
    }
    // Stripping the loaded copy only tells whether anything acts; the patron's bytes are kept.
    if doc.objects.values_mut().map(strip_object).sum::<usize>() > 0 {
        return NeedsRewrite("actions, scripts or embedded files");
    }
    Inspected::Sound { pages: u32::try_from(verdicts.len()).unwrap_or(u32::MAX), verdicts }
}

/// Pages and colour verdicts of a PDF this service wrote or rewrote (qpdf's output, a converted
/// document): read leniently, as the printer will.
///
/// # Errors
/// [`ConvertError::BrokenPdf`] or [`ConvertError::NoPages`].
pub fn read_pages(pdf: &[u8], page_limit: usize) -> Result<Vec<Verdict>, ConvertError> {
    let options = lopdf::LoadOptions { max_decompressed_size: Some(grey::MAX_CONTENT), ..Default::default() };
    let doc = lopdf::Document::load_mem_with_options(pdf, options).map_err(|e| ConvertError::BrokenPdf(e.to_string()))?;
    if !page_tree_is_plain(&doc) {
        // qpdf keeps a page named many times; a printer prints it each time.
        return Err(match counted_pages(&doc) {
            Some(pages) if pages > page_limit => {
                ConvertError::TooManyPages { pages: u32::try_from(pages).unwrap_or(u32::MAX), limit: page_limit as u32 }
            }
            _ => ConvertError::BrokenPdf("its page tree names the same page more than once".into()),
        });
    }
    let verdicts = grey::page_verdicts(&doc, page_limit);
    if verdicts.is_empty() {
        return Err(ConvertError::NoPages);
    }
    Ok(verdicts)
}

/// Whether every page is reached once through the page tree and the root's `/Count` says how
/// many there are. lopdf's page walk and qpdf (and printers) count a tree that names one page
/// many times differently (lopdf stops early), so such a tree goes through qpdf, whose rewrite
/// makes each page its own object and is counted exactly.
fn page_tree_is_plain(doc: &lopdf::Document) -> bool {
    use lopdf::Object;
    let Ok(root) = doc.catalog().and_then(|c| c.get(b"Pages")).and_then(Object::as_reference) else { return false };
    let mut seen = std::collections::HashSet::new();
    let (mut stack, mut leaves) = (vec![root], 0usize);
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            return false;
        }
        let Ok(node) = doc.get_dictionary(id) else { return false };
        match node.get(b"Kids").and_then(Object::as_array) {
            Ok(kids) => {
                for kid in kids {
                    let Ok(kid) = kid.as_reference() else { return false };
                    stack.push(kid);
                }
            }
            Err(_) => leaves += 1,
        }
    }
    let count = doc.get_dictionary(root).and_then(|r| r.get(b"Count")).and_then(Object::as_i64).ok();
    count == i64::try_from(leaves).ok() && leaves == doc.get_pages().len()
}

/// Pages as a printer counts them: each leaf of the page tree every time it is reached, up to
/// [`COUNT_CAP`]; `None` for a tree too deep to walk (a loop).
fn counted_pages(doc: &lopdf::Document) -> Option<usize> {
    const MAX_DEPTH: usize = 64;
    let root = doc.catalog().and_then(|c| c.get(b"Pages")).and_then(lopdf::Object::as_reference).ok()?;
    let (mut stack, mut leaves) = (vec![(root, 0)], 0usize);
    while let Some((id, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return None;
        }
        match doc.get_dictionary(id).ok()?.get(b"Kids").and_then(lopdf::Object::as_array) {
            Ok(kids) => stack.extend(kids.iter().filter_map(|k| k.as_reference().ok()).map(|k| (k, depth + 1))),
            Err(_) => leaves += 1,
        }
        if leaves >= COUNT_CAP {
            break;
        }
    }
    Some(leaves)
}

/// Where counting a page tree that repeats pages stops.
const COUNT_CAP: usize = 100_000;

/// Rewrites `input` into `output` (repaired, decrypted); the rewrite is what is printed.
///
/// # Errors
/// [`ConvertError::PasswordProtected`], [`ConvertError::BrokenPdf`], or infrastructure trouble.
pub async fn normalise(tools: &Tools, input: &Path, output: &Path) -> Result<(), ConvertError> {
    let args = ["--decrypt".as_ref(), "--object-streams=preserve".as_ref(), input.as_os_str(), output.as_os_str()];
    match tools::run(&tools.qpdf, &args, tools.timeout, &[3]).await {
        // Exit 3: warnings (a damaged structure rebuilt); the rewrite prints either way.
        Ok(_) => Ok(()),
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
