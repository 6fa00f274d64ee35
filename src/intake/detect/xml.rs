//! Just enough XML to see a document type declaration. A DTD can only stand in the prolog
//! (before the root element), so a part is read until its root element starts and no
//! further: byte order mark, XML declaration, processing instructions, comments and
//! whitespace are skipped; `<!DOCTYPE` (any case) is a DTD; anything else ends the look.
//! UTF-8 and UTF-16 (either byte order, with or without a BOM) are understood. Parts that
//! are not XML (images, `mimetype`) end at their first byte.

use std::io::{BufReader, Bytes, Read};

/// The longest `<!DOCTYPE …` read while looking for an internal subset (`[`) or its `>`.
const MAX_DECLARATION: usize = 64 * 1024;

/// A document type declaration found in a part's prolog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Doctype {
    /// `<!DOCTYPE x [ … ]>`: entity declarations can live there (the billion-laughs shape).
    /// Also set when the declaration is too long to see its end.
    pub internal_subset: bool,
}

/// The DTD in the prolog of the XML read from `reader`, if any.
pub fn doctype(reader: impl Read) -> Option<Doctype> {
    let mut it = Units::new(reader);
    loop {
        if it.find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))? != b'<' {
            return None; // not XML, or text before the root element
        }
        match it.next()? {
            b'?' => skip_past(&mut it, b"?>")?,
            b'!' => {
                let two = [it.next()?, it.next()?];
                if &two == b"--" {
                    skip_past(&mut it, b"-->")?;
                    continue;
                }
                let mut word = two.to_vec();
                word.extend(it.by_ref().take(5));
                if !word.eq_ignore_ascii_case(b"DOCTYPE") {
                    return None;
                }
                let end = it.take(MAX_DECLARATION).find(|b| matches!(b, b'[' | b'>'));
                return Some(Doctype { internal_subset: end != Some(b'>') });
            }
            _ => return None, // the root element: the prolog is over
        }
    }
}

/// Advances past the next occurrence of `pattern` (at most 3 bytes).
fn skip_past(it: &mut impl Iterator<Item = u8>, pattern: &[u8]) -> Option<()> {
    let mut window = [0u8; 3];
    loop {
        window.rotate_left(1);
        window[2] = it.next()?;
        if window.ends_with(pattern) {
            return Some(());
        }
    }
}

/// The characters of a part as bytes: UTF-8 as is, UTF-16 code units below 0x80 as their
/// ASCII byte and others as 0x80 (markup is ASCII, so nothing that matters is lost).
struct Units<R: Read> {
    inner: Bytes<BufReader<R>>,
    head: std::vec::IntoIter<u8>,
    /// `Some(little_endian)` for UTF-16.
    wide: Option<bool>,
}

impl<R: Read> Units<R> {
    fn new(reader: R) -> Self {
        let mut inner = BufReader::new(reader).bytes();
        let mut head: Vec<u8> = inner.by_ref().take(4).map_while(Result::ok).collect();
        let (wide, bom) = match head.as_slice() {
            [0xEF, 0xBB, 0xBF, ..] => (None, 3),
            [0xFF, 0xFE, ..] => (Some(true), 2),
            [0xFE, 0xFF, ..] => (Some(false), 2),
            [b'<', 0, ..] => (Some(true), 0),
            [0, b'<', ..] => (Some(false), 0),
            _ => (None, 0),
        };
        head.drain(..bom);
        Self { inner, head: head.into_iter(), wide }
    }

    fn byte(&mut self) -> Option<u8> {
        self.head.next().or_else(|| self.inner.next()?.ok())
    }
}

impl<R: Read> Iterator for Units<R> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let Some(little_endian) = self.wide else { return self.byte() };
        let pair = [self.byte()?, self.byte()?];
        let unit = if little_endian { u16::from_le_bytes(pair) } else { u16::from_be_bytes(pair) };
        Some(u8::try_from(unit).ok().filter(u8::is_ascii).unwrap_or(0x80))
    }
}
