//! The last part of a multipart whose closing boundary (`--b1--`) is missing. mail-parser 0.11
//! decodes a part only up to a boundary; without one it gives up ("encoding problem") and hands
//! back the part's raw transfer-encoded text as text: a base64 PDF became a page of base64
//! characters, and a binary one was mangled by UTF-8 repair. Here such a part is decoded again
//! from its raw bytes, to the end of the message. Base64 ignores the transport's trailing line
//! breaks and blank lines, and stops at a line starting with `--` (an enclosing multipart's
//! boundary; `-` is not base64). Quoted-printable and unencoded content lose only the one line
//! break that would have preceded the boundary, never the file's own bytes (a `--` line may be
//! their content).

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use mail_parser::{MessagePart, MimeHeaders};

/// Base64 that accepts missing padding and stray bits at the end (what a cut-short sender
/// leaves); any other character outside the alphabet still fails.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent).with_decode_allow_trailing_bits(true),
);

/// The decoded content of `part` when mail-parser could not decode it; `None` when it did, or
/// when the raw content is not valid in its transfer encoding either (then mail-parser's
/// fallback stands). `raw` is the message the part's offsets point into.
pub fn recover(raw: &[u8], part: &MessagePart<'_>) -> Option<Vec<u8>> {
    if !part.is_encoding_problem {
        return None;
    }
    let body = raw.get(part.offset_body as usize..part.offset_end as usize)?;
    let encoding = part.content_transfer_encoding().unwrap_or("7bit").trim().to_ascii_lowercase();
    match encoding.as_str() {
        "base64" => base64(body),
        "quoted-printable" => mail_parser::decoders::quoted_printable::quoted_printable_decode(without_last_line_break(body)),
        "7bit" | "8bit" | "binary" => Some(without_last_line_break(body).to_vec()),
        _ => None,
    }
}

/// Base64 lines up to the first line that starts with `--` (an enclosing multipart's boundary:
/// `-` is not in the base64 alphabet, so it cannot be content).
fn base64(body: &[u8]) -> Option<Vec<u8>> {
    let mut text = Vec::with_capacity(body.len());
    for &b in before_delimiter(body) {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' => text.push(b),
            b'=' | b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => return None,
        }
    }
    LENIENT.decode(&text).ok()
}

/// `body` up to the line break before the first line starting with `--`, or all of it.
fn before_delimiter(body: &[u8]) -> &[u8] {
    let mut start = 0;
    for line in body.split_inclusive(|b| *b == b'\n') {
        if line.starts_with(b"--") {
            return without_last_line_break(&body[..start]);
        }
        start += line.len();
    }
    body
}

/// Takes off one trailing CRLF or LF: the line break that belongs to the (missing) delimiter.
fn without_last_line_break(body: &[u8]) -> &[u8] {
    body.strip_suffix(b"\r\n").or_else(|| body.strip_suffix(b"\n")).unwrap_or(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_and_line_breaks() {
        assert_eq!(before_delimiter(b"QUJD\r\nREVG\r\n--outer--\r\n"), b"QUJD\r\nREVG");
        assert_eq!(before_delimiter(b"QUJD\r\n"), b"QUJD\r\n");
        assert_eq!(base64(b"QUJD\r\nREVG\r\n\r\n \r\n").as_deref(), Some(&b"ABCDEF"[..]));
        assert_eq!(base64(b"QUJDRA").as_deref(), Some(&b"ABCD"[..]));
        assert_eq!(base64(b"QUJD*REVG"), None);
        assert_eq!(without_last_line_break(b"%%EOF\r\n\r\n"), b"%%EOF\r\n");
        assert_eq!(without_last_line_break(b"%%EOF"), b"%%EOF");
    }
}
