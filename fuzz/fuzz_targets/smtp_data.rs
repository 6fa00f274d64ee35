//! The DATA decoder (`printgate::smtp::data`), fed the way the session feeds it.
//!
//! Input layout: byte 0 picks the size limit (`b0 * 16`, so 0..=4080 bytes, small enough
//! that the fuzzer hits "too large" often); byte 1 picks how chunks are cut: 0 = at each LF
//! only, n > 0 = at each LF and after at most n bytes (over-long line pieces, as the session
//! cuts at `MAX_DATA_CHUNK`); the rest is the DATA stream.
//!
//! Invariants (the decoder starts at a line start, just after the CRLF of `DATA`, so the
//! stream is looked at as `"\r\n" + input`):
//! - the decoded message is never longer than the limit, and empty once `too_large()`;
//! - it has no bare LF: every LF is preceded by CR (bare LF line endings are normalised);
//! - `End` only comes right after a `<CRLF>.<CRLF>` that ends at the current chunk (so no
//!   `<CRLF>.<CRLF>` in the input means no `End`: SMTP smuggling variants never end it);
//! - when cut at LF only, `End` comes exactly at the first `<CRLF>.<CRLF>`.
//!
//! Feeding stops at the first `End`, as the session does.

#![no_main]

use libfuzzer_sys::fuzz_target;
use printgate::smtp::data::{DataDecoder, DataEvent};

const TERMINATOR: &[u8] = b"\r\n.\r\n";

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    let [limit_sel, cut, input @ ..] = data else { return };
    let limit = usize::from(*limit_sel) * 16;
    let cap = if *cut == 0 { usize::MAX } else { usize::from(*cut) };

    // The stream as the decoder sees it: the CRLF of the DATA line, then the input.
    let mut stream = b"\r\n".to_vec();
    stream.extend_from_slice(input);
    // End of the first terminator, as an offset into `input`.
    let first_end = find(&stream, TERMINATOR).map(|p| p + TERMINATOR.len() - 2);

    let mut decoder = DataDecoder::new(limit);
    let mut fed = 0usize;
    let mut ended_at = None;
    let mut rest = input;
    while !rest.is_empty() {
        let line = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |p| p + 1);
        let (chunk, tail) = rest.split_at(line.min(cap));
        rest = tail;
        fed += chunk.len();
        if decoder.feed(chunk) == DataEvent::End {
            // `End` means the stream so far ends in <CRLF>.<CRLF>.
            assert!(
                stream[..fed + 2].ends_with(TERMINATOR),
                "End after {fed} bytes, but the stream there does not end in <CRLF>.<CRLF>"
            );
            assert_eq!(chunk, b".\r\n", "End on a chunk other than \".\\r\\n\"");
            ended_at = Some(fed);
            break;
        }
    }
    match (ended_at, first_end) {
        (Some(_), None) => unreachable!("checked above"),
        // Cut at LF only: the first terminator always ends the message.
        (None, Some(end)) if *cut == 0 => panic!("no End although <CRLF>.<CRLF> ends at input offset {end}"),
        (Some(at), Some(end)) if *cut == 0 => assert_eq!(at, end, "End not at the first <CRLF>.<CRLF>"),
        // Cut into pieces, a terminator split across chunks does not count; a later one may.
        (Some(at), Some(end)) => assert!(at >= end, "End at {at}, before the first terminator at {end}"),
        _ => {}
    }

    let too_large = decoder.too_large();
    let message = decoder.into_message();
    assert!(message.len() <= limit, "message of {} bytes passed the limit {limit}", message.len());
    if too_large {
        assert!(message.is_empty(), "a too-large message kept {} bytes", message.len());
    }
    for (i, &b) in message.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && message[i - 1] == b'\r', "bare LF at {i} in the decoded message");
        }
    }
});
