//! The DATA stream decoder: pure, byte-level, no I/O.
//!
//! The session hands it the message one *chunk* at a time, where a chunk is either a whole line
//! (ending in LF) or a piece of an over-long line (no LF). It
//! - ends the message only at `<CRLF>.<CRLF>`: a `.` line after a bare LF or a bare CR does not
//!   end it (SMTP smuggling, SEC Consult 2023: `\n.\n`, `\n.\r\n`, `\r.\r\n` …);
//! - removes dot-stuffing (RFC 5321 4.5.2);
//! - normalises bare LF line endings to CRLF, so that what printgate stores and parses is
//!   one consistent message;
//! - stops storing (but keeps reading to the terminator) once the size limit is passed.

/// What the decoder says after a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataEvent {
    /// More data is expected.
    Continue,
    /// The terminator was seen; the message is complete.
    End,
}

#[derive(Debug)]
pub struct DataDecoder {
    message: Vec<u8>,
    limit: usize,
    too_large: bool,
    at_line_start: bool,
    prev_line_crlf: bool,
    last_byte_cr: bool,
    bare_lf_lines: usize,
}

impl DataDecoder {
    /// A decoder that keeps at most `limit` bytes of message.
    pub fn new(limit: usize) -> Self {
        Self {
            message: Vec::with_capacity(limit.min(64 * 1024)),
            limit,
            too_large: false,
            at_line_start: true,
            // DATA's own command line ended the previous line.
            prev_line_crlf: true,
            last_byte_cr: false,
            bare_lf_lines: 0,
        }
    }

    /// Feeds one chunk (a line with its LF, or part of a longer line).
    pub fn feed(&mut self, chunk: &[u8]) -> DataEvent {
        if chunk.is_empty() {
            return DataEvent::Continue;
        }
        if self.at_line_start && self.prev_line_crlf && chunk == b".\r\n" {
            return DataEvent::End;
        }
        let ends_lf = chunk.ends_with(b"\n");
        let ends_crlf = chunk.ends_with(b"\r\n") || (chunk == b"\n" && self.last_byte_cr);
        let mut content = if self.at_line_start && chunk[0] == b'.' { &chunk[1..] } else { chunk };
        if ends_lf && !ends_crlf {
            self.bare_lf_lines += 1;
            content = &content[..content.len() - 1];
            self.push(content);
            self.push(b"\r\n");
        } else {
            self.push(content);
        }
        self.at_line_start = ends_lf;
        if ends_lf {
            self.prev_line_crlf = ends_crlf;
        }
        self.last_byte_cr = chunk.ends_with(b"\r");
        DataEvent::Continue
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.too_large {
            return;
        }
        if self.message.len() + bytes.len() > self.limit {
            self.too_large = true;
            self.message = Vec::new();
            return;
        }
        self.message.extend_from_slice(bytes);
    }

    /// True once the message has passed the size limit.
    pub fn too_large(&self) -> bool {
        self.too_large
    }

    /// How many lines ended in a bare LF (normalised to CRLF).
    pub fn bare_lf_lines(&self) -> usize {
        self.bare_lf_lines
    }

    /// The decoded message (empty when it was too large).
    pub fn into_message(self) -> Vec<u8> {
        self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `input` the way the session does (at each LF) and decodes until the end.
    fn decode(input: &[u8]) -> (Option<Vec<u8>>, usize) {
        let mut d = DataDecoder::new(1 << 20);
        let mut rest = input;
        while !rest.is_empty() {
            let n = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |p| p + 1);
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            if d.feed(chunk) == DataEvent::End {
                return (Some(d.into_message()), rest.len());
            }
        }
        (None, 0)
    }

    #[test]
    fn ends_only_at_crlf_dot_crlf() {
        let (msg, left) = decode(b"Subject: a\r\n\r\nbody\r\n.\r\nMAIL FROM:<x>\r\n");
        assert_eq!(msg.unwrap(), b"Subject: a\r\n\r\nbody\r\n");
        assert_eq!(left, b"MAIL FROM:<x>\r\n".len());
    }

    #[test]
    fn smuggling_variants_never_end_the_message() {
        // Each of these would let a lenient receiver see a second, smuggled message.
        for variant in [&b"\n.\n"[..], b"\n.\r\n", b"\r.\r\n", b"\r\n.\n", b"\r\n.\r", b"\n.\r\r\n"] {
            let mut input = b"Subject: a\r\n\r\nhello".to_vec();
            input.extend_from_slice(variant);
            input.extend_from_slice(b"MAIL FROM:<evil@x>\r\nRCPT TO:<bw@p>\r\nDATA\r\nsmuggled\r\n");
            let (msg, _) = decode(&input);
            assert!(msg.is_none(), "variant {variant:?} ended the message early");
            input.extend_from_slice(b".\r\n");
            let (msg, left) = decode(&input);
            let msg = msg.expect("the real terminator ends it");
            assert_eq!(left, 0, "variant {variant:?}");
            assert!(msg.windows(8).any(|w| w == b"smuggled"), "variant {variant:?} lost content");
        }
    }

    #[test]
    fn dot_stuffing_is_removed() {
        let (msg, _) = decode(b"..leading dot\r\n...\r\n.\r\n");
        assert_eq!(msg.unwrap(), b".leading dot\r\n..\r\n");
    }

    #[test]
    fn bare_lf_is_normalised_and_counted() {
        let mut d = DataDecoder::new(100);
        d.feed(b"a\n");
        d.feed(b"b\r\n");
        assert_eq!(d.feed(b".\r\n"), DataEvent::End);
        assert_eq!(d.bare_lf_lines(), 1);
        assert_eq!(d.into_message(), b"a\r\nb\r\n");
    }

    #[test]
    fn split_cr_lf_across_chunks_is_one_line_ending() {
        let mut d = DataDecoder::new(100);
        d.feed(b"abc\r");
        d.feed(b"\n");
        assert_eq!(d.feed(b".\r\n"), DataEvent::End);
        assert_eq!(d.bare_lf_lines(), 0);
        assert_eq!(d.into_message(), b"abc\r\n");
    }

    #[test]
    fn a_dot_inside_a_long_line_chunk_is_content() {
        let mut d = DataDecoder::new(100);
        d.feed(b"abc");
        d.feed(b".\r\n");
        assert_eq!(d.feed(b".\r\n"), DataEvent::End);
        assert_eq!(d.into_message(), b"abc.\r\n");
    }

    #[test]
    fn too_large_keeps_reading_to_the_terminator() {
        let mut d = DataDecoder::new(10);
        assert_eq!(d.feed(b"0123456789abc\r\n"), DataEvent::Continue);
        assert!(d.too_large());
        assert_eq!(d.feed(b"more\r\n"), DataEvent::Continue);
        assert_eq!(d.feed(b".\r\n"), DataEvent::End);
        assert!(d.into_message().is_empty());
    }
}
