//! Parsing one command line: smtp-proto, plus the one case it reads wrongly.
//!
//! smtp-proto reads the `SIZE=` parameter of `MAIL` (RFC 1870) into a `usize`. A number with more
//! digits than that holds wraps into a small value (`SIZE=` and 24 nines is read as `9`) or is
//! refused as a syntax error (exactly `usize::MAX`). A size that does not fit any integer is
//! larger than any limit, so the session must answer it with `552` like any other size over the
//! limit. [`parse`] finds such a parameter on the raw line, parses the command without it, and
//! gives the request the declared size `usize::MAX`. Pure: bytes in, request out.

use std::ops::Range;

use smtp_proto::{Error, Request};

/// Parses one command line (with its CRLF).
///
/// # Errors
/// smtp-proto's [`Error`] for a line that is not a valid command.
pub fn parse(line: &[u8]) -> Result<Request<String>, Error> {
    let Some(size) = overflowing_size(line) else {
        return Request::parse(&mut line.iter()).map(Request::into_owned);
    };
    let mut rest = Vec::with_capacity(line.len());
    rest.extend_from_slice(&line[..size.start]);
    rest.extend_from_slice(&line[size.end..]);
    Ok(match Request::parse(&mut rest.iter())?.into_owned() {
        Request::Mail { mut from } => {
            from.size = usize::MAX;
            Request::Mail { from }
        }
        other => other,
    })
}

/// The byte range (with the blank before it) of a `MAIL` command's `SIZE=` parameter whose
/// number does not fit a `usize` below `usize::MAX`; `None` for any other line.
pub fn overflowing_size(line: &[u8]) -> Option<Range<usize>> {
    if !line.get(..4)?.eq_ignore_ascii_case(b"MAIL") {
        return None;
    }
    let mut at = path_end(line)?;
    while at < line.len() {
        let start = at;
        while at < line.len() && is_blank(line[at]) {
            at += 1;
        }
        let token_start = at;
        while at < line.len() && !is_blank(line[at]) {
            at += 1;
        }
        let token = &line[token_start..at];
        let Some(digits) = token.get(..5).filter(|k| k.eq_ignore_ascii_case(b"SIZE=")).map(|_| &token[5..]) else {
            continue;
        };
        if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) && !fits(digits) {
            return Some(start..at);
        }
    }
    None
}

/// Whether a decimal number fits a `usize` short of `usize::MAX` (smtp-proto's "no value").
fn fits(digits: &[u8]) -> bool {
    let value = digits.iter().try_fold(0usize, |n, d| n.checked_mul(10)?.checked_add(usize::from(d - b'0')));
    value.is_some_and(|n| n != usize::MAX)
}

/// Where the reverse-path ends: after the `>` that closes the `<…>` (a `>` inside a quoted
/// local part does not count), or after the bare address when there are no brackets.
fn path_end(line: &[u8]) -> Option<usize> {
    let colon = line.iter().position(|&b| b == b':')?;
    let mut at = colon + 1;
    while at < line.len() && is_blank(line[at]) {
        at += 1;
    }
    if line.get(at) != Some(&b'<') {
        return Some(at + line[at..].iter().position(|&b| is_blank(b)).unwrap_or(line.len() - at));
    }
    let (mut quoted, mut escaped) = (false, false);
    for (i, &b) in line.iter().enumerate().skip(at + 1) {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b'>' if !quoted => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(line: &str) -> Option<usize> {
        match parse(line.as_bytes()) {
            Ok(Request::Mail { from }) => Some(from.size),
            _ => None,
        }
    }

    #[test]
    fn sizes_that_fit_are_smtp_protos_reading() {
        for (line, want) in [
            ("MAIL FROM:<a@b> SIZE=1000\r\n", 1000),
            ("MAIL FROM:<a@b>\r\n", 0),
            ("mail from:<a@b> size=0000000000000000000000001000\r\n", 1000),
            ("MAIL FROM:<a@b> SIZE=18446744073709551614\r\n", usize::MAX - 1),
        ] {
            assert_eq!(size(line), Some(want), "{line:?}");
            assert_eq!(overflowing_size(line.as_bytes()), None, "{line:?}");
        }
    }

    #[test]
    fn sizes_beyond_any_integer_read_as_the_largest() {
        for line in [
            "MAIL FROM:<a@b> SIZE=18446744073709551615\r\n",
            "MAIL FROM:<a@b> SIZE=18446744073709551616\r\n",
            "MAIL FROM:<a@b> SIZE=999999999999999999999999\r\n",
            "MAIL FROM:<a@b> BODY=8BITMIME size=99999999999999999999999999999999 SMTPUTF8\r\n",
            "MAIL FROM:<a@b>\tSIZE=99999999999999999999999999999999\n",
            "MAIL FROM:<\"x> SIZE=1\"@b> SIZE=99999999999999999999999999999999\r\n",
        ] {
            assert_eq!(size(line), Some(usize::MAX), "{line:?}");
        }
        // The rest of the command is kept as smtp-proto reads it.
        let Ok(Request::Mail { from }) = parse(b"MAIL FROM:<a@b> SIZE=99999999999999999999999 BODY=8BITMIME\r\n") else { panic!() };
        assert_eq!(from.address, "a@b");
        assert_ne!(from.flags & smtp_proto::MAIL_BODY_8BITMIME, 0);
    }

    #[test]
    fn other_lines_are_left_to_smtp_proto() {
        // A SIZE-looking text inside a quoted local part is the address, not a parameter.
        let line = b"MAIL FROM:<\"SIZE=99999999999999999999999\"@b>\r\n";
        assert_eq!(overflowing_size(line), None);
        for line in ["RCPT TO:<a@b> SIZE=99999999999999999999999\r\n", "NOOP SIZE=99999999999999999999999\r\n", "MAIL\r\n", "MA\r\n", ""] {
            assert_eq!(overflowing_size(line.as_bytes()), None, "{line:?}");
        }
        assert_eq!(overflowing_size(b"MAIL FROM:<a@b> SIZE=\r\n"), None);
        assert_eq!(overflowing_size(b"MAIL FROM:<a@b> SIZE=12x999999999999999999999999\r\n"), None);
    }
}
