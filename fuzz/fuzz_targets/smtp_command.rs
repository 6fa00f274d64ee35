//! SMTP commands: the smtp-proto command parser on the raw input and on each of its lines, then
//! the whole input as one pipelined client conversation with `printgate::smtp::session::Session`
//! in memory (as in `src/smtp/session/tests.rs`).
//!
//! Invariants: no panic; the server's output is CRLF-terminated reply lines, each starting
//! with a 3-digit code followed by ' ' or '-', the first being the 220 greeting.
//!
//! A conversation that has not finished after 2 s (it should end at once: the client closes
//! its side right after writing) is abandoned rather than reported, so slow inputs are not
//! reported as hangs.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use printgate::smtp::limits::IpLimits;
use printgate::smtp::session::Session;
use printgate::smtp::{Envelope, Outcome, Receiver, Route, SmtpSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// Knows one queue, `bw@print.test`, and accepts everything sent to it.
struct Accepting;

impl Receiver for Accepting {
    fn route(&self, address: &str) -> Option<Route> {
        address.eq_ignore_ascii_case("bw@print.test").then(|| Route { queue: "bw".into(), options: vec![] })
    }

    async fn receive(&self, _envelope: Envelope, _message: Vec<u8>) -> Outcome {
        Outcome::Accepted { queue_id: "Q".into() }
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime"))
}

fn settings() -> &'static SmtpSettings {
    static SETTINGS: OnceLock<SmtpSettings> = OnceLock::new();
    SETTINGS.get_or_init(|| SmtpSettings {
        hostname: "print.test".into(),
        max_message_bytes: 1000,
        max_recipients: 2,
        command_timeout: Duration::from_secs(1),
        data_timeout: Duration::from_secs(1),
        session_timeout: Duration::from_secs(2),
        max_line_length: 512,
        max_errors: 10,
        max_connections: 10,
        tls: None,
    })
}

/// Writes `input`, closes the client's sending side, and returns everything the server said
/// (`None` when the conversation did not finish in time).
async fn converse(input: &[u8]) -> Option<Vec<u8>> {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let (mut from_server, mut to_server) = tokio::io::split(client);
    let limits = IpLimits::new(10, 1000);
    let session =
        Session::new(IpAddr::V4(Ipv4Addr::LOCALHOST), settings(), &Accepting, &limits, CancellationToken::new());
    let write = async move {
        // The server may close first (QUIT, too many errors): then writing fails, which is fine.
        let _ = to_server.write_all(input).await;
        let _ = to_server.shutdown().await;
    };
    let read = async move {
        let mut out = Vec::new();
        let _ = from_server.read_to_end(&mut out).await;
        out
    };
    let serve = async move {
        // I/O errors (the client closed in the middle of DATA) are not protocol errors.
        let _ = session.run(server).await;
    };
    let conversation = async { tokio::join!(write, read, serve).1 };
    tokio::time::timeout(Duration::from_secs(2), conversation).await.ok()
}

fn check_replies(out: &[u8]) {
    let shown = || String::from_utf8_lossy(out).into_owned();
    assert!(out.starts_with(b"220 "), "no 220 greeting first: {:?}", shown());
    assert!(out.ends_with(b"\r\n"), "output does not end in CRLF: {:?}", shown());
    for line in out.split_inclusive(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r\n").unwrap_or_else(|| panic!("reply line not ended by CRLF: {:?}", shown()));
        assert!(
            line.len() >= 4 && line[..3].iter().all(u8::is_ascii_digit) && (line[3] == b' ' || line[3] == b'-'),
            "bad reply line {:?} in {:?}",
            String::from_utf8_lossy(line),
            shown()
        );
        assert!(!line.contains(&b'\r'), "CR inside a reply line: {:?}", shown());
    }
}

fuzz_target!(|data: &[u8]| {
    // The parser alone, on the raw input and on each line as the session would pass it.
    let _ = smtp_proto::Request::parse(&mut data.iter());
    for line in data.split_inclusive(|&b| b == b'\n') {
        let _ = smtp_proto::Request::parse(&mut line.iter());
    }

    // The whole conversation.
    if let Some(out) = runtime().block_on(converse(data)) {
        check_replies(&out);
    }
});
