//! Attachment file names. mail-parser decodes them, but inside a quoted parameter it keeps the
//! whitespace between adjacent RFC 2047 encoded-words: Outlook and Thunderbird split long names
//! as `name="=?UTF-8?Q?Zo=C3=AB.p?= =?UTF-8?Q?df?="`, which must read `Zoë.pdf`, not `Zoë.p df`
//! (RFC 2047 section 6.2). When the raw parameter holds encoded-words, it is decoded here from
//! the header's own bytes; everything else (RFC 2231 `filename*`, plain names) is mail-parser's.

use mail_parser::{HeaderName, MessagePart, MimeHeaders, parsers::MessageStream};

/// The file name of `part`, whose header offsets point into `raw` (its message's bytes).
pub fn attachment_name(raw: &[u8], part: &MessagePart<'_>) -> Option<String> {
    let parsed = part.attachment_name()?;
    for (header, param) in [(HeaderName::ContentDisposition, "filename"), (HeaderName::ContentType, "name")] {
        let Some(h) = part.headers.iter().find(|h| h.name == header) else { continue };
        let value = raw.get(h.offset_start as usize..h.offset_end as usize).unwrap_or_default();
        match raw_param(&String::from_utf8_lossy(value), param) {
            RawParam::Plain(v) if v.contains("=?") => return Some(decode_encoded_words(&v)),
            RawParam::Plain(_) | RawParam::Extended => break,
            RawParam::Absent => {}
        }
    }
    Some(parsed.to_owned())
}

/// A parameter as written in the header.
#[derive(Debug, PartialEq, Eq)]
enum RawParam {
    /// `param=value` or `param="value"` (quotes and escapes removed, folding undone).
    Plain(String),
    /// RFC 2231 `param*=` or `param*0=`: mail-parser decodes those.
    Extended,
    Absent,
}

/// Finds `param` among the `;`-separated parameters of a raw MIME header value.
fn raw_param(header: &str, param: &str) -> RawParam {
    let unfolded: String = header.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let mut found = RawParam::Absent;
    for (name, value) in split_params(&unfolded).into_iter().skip(1).filter_map(|p| p.split_once('=').map(|(n, v)| (n.trim(), v))) {
        if name.eq_ignore_ascii_case(param) {
            found = RawParam::Plain(unquote(value.trim()));
        } else if is_extended(name, param) {
            return RawParam::Extended;
        }
    }
    found
}

/// `name` is `param*` or `param*N…` (RFC 2231). Compared as bytes: a parameter name is the
/// sender's text, and a byte index inside a multibyte character must not split a `str`.
fn is_extended(name: &str, param: &str) -> bool {
    let name = name.as_bytes();
    name.get(..param.len()).is_some_and(|head| head.eq_ignore_ascii_case(param.as_bytes())) && name.get(param.len()) == Some(&b'*')
}

/// Splits at `;` outside quoted strings (the first piece is the value itself).
fn split_params(header: &str) -> Vec<&str> {
    let (mut pieces, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in header.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                pieces.push(&header[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&header[start..]);
    pieces
}

fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"') else { return value.to_owned() };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '"' => break,
            _ => out.push(c),
        }
    }
    out
}

/// One piece of a parameter value.
enum Piece {
    Word(String),
    Text(String),
}

/// Decodes encoded-words; whitespace between two adjacent encoded-words is dropped, any other
/// text (spaces next to plain text included) is kept.
fn decode_encoded_words(value: &str) -> String {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut text = String::new();
    let mut rest = value;
    while let Some(at) = rest.find("=?") {
        text.push_str(&rest[..at]);
        let candidate = &rest[at..];
        match decode_word(candidate) {
            Some((decoded, used)) => {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
                pieces.push(Piece::Word(decoded));
                rest = &candidate[used..];
            }
            None => {
                text.push_str("=?");
                rest = &candidate[2..];
            }
        }
    }
    text.push_str(rest);
    pieces.push(Piece::Text(text));
    let mut out = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Word(w) => out.push_str(w),
            Piece::Text(t) => {
                let between_words = i > 0 && matches!(pieces.get(i + 1), Some(Piece::Word(_))) && matches!(pieces[i - 1], Piece::Word(_));
                if !(between_words && t.chars().all(|c| c == ' ' || c == '\t')) {
                    out.push_str(t);
                }
            }
        }
    }
    out
}

/// One encoded-word at the start of `text` (`=?charset?Q|B?data?=`): its decoded text and the
/// number of bytes it took.
fn decode_word(text: &str) -> Option<(String, usize)> {
    let bytes = text.as_bytes().get(1..)?; // mail-parser starts after the `=`
    let mut stream = MessageStream::new(bytes);
    let decoded = stream.decode_rfc2047()?;
    let used = 1 + stream.offset();
    (text.as_bytes().get(..used)?.ends_with(b"?=") && text.is_char_boundary(used)).then_some((decoded, used))
}

#[cfg(test)]
mod tests;
