//! Conversation tests: the session driven in memory over a duplex stream. The receiver here is
//! a recording stand-in (the real one needs daemons; it is covered by the system tests).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::smtp::Outcome;

#[derive(Default)]
struct Recorder {
    received: Mutex<Vec<(Envelope, Vec<u8>)>>,
    refuse: bool,
}

impl Receiver for Recorder {
    fn route(&self, address: &str) -> Option<super::super::Route> {
        let lower = address.to_ascii_lowercase();
        let (local, domain) = lower.split_once('@')?;
        let mut parts = local.split('+');
        let queue = parts.next()?.to_owned();
        let options = parts.map(str::to_owned).collect();
        (domain == "print.test" && (queue == "bw" || queue == "color")).then_some(super::super::Route { queue, options })
    }

    async fn receive(&self, envelope: Envelope, message: Vec<u8>) -> Outcome {
        self.received.lock().unwrap().push((envelope, message));
        if self.refuse {
            Outcome::Refused(SmtpReply::nothing_printable("a plain text body"))
        } else {
            Outcome::Accepted { queue_id: "Q1".into() }
        }
    }
}

fn settings() -> SmtpSettings {
    SmtpSettings {
        hostname: "print.test".into(),
        max_message_bytes: 1000,
        max_recipients: 2,
        command_timeout: Duration::from_secs(5),
        data_timeout: Duration::from_secs(5),
        session_timeout: Duration::from_secs(60),
        max_line_length: 4096,
        max_errors: 10,
        max_connections: 10,
        tls: None,
    }
}

fn limits() -> std::sync::Arc<IpLimits> {
    IpLimits::new(10, 1000)
}

/// Sends `input` in one write (as a pipelining client may), closes, returns all replies.
async fn converse(receiver: &Recorder, settings: &SmtpSettings, input: &[u8]) -> String {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let limits = limits();
    let session = Session::new(IpAddr::V4(Ipv4Addr::LOCALHOST), settings, receiver, &limits, CancellationToken::new());
    let input = input.to_vec();
    let client_task = async move {
        client.write_all(&input).await.unwrap();
        client.shutdown().await.unwrap();
        let mut out = String::new();
        client.read_to_string(&mut out).await.unwrap();
        out
    };
    let (out, result) = tokio::join!(client_task, session.run(server));
    let _ = result;
    out
}

fn codes(replies: &str) -> Vec<u16> {
    replies.lines().filter(|l| l.as_bytes().get(3) == Some(&b' ')).map(|l| l[..3].parse().unwrap()).collect()
}

const MAIL: &[u8] = b"EHLO client.test\r\nMAIL FROM:<p@example.com>\r\nRCPT TO:<bw@print.test>\r\nDATA\r\n";

#[tokio::test]
async fn a_full_pipelined_transaction() {
    let r = Recorder::default();
    let mut input = MAIL.to_vec();
    input.extend_from_slice(b"Subject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n");
    let out = converse(&r, &settings(), &input).await;
    assert_eq!(codes(&out), vec![220, 250, 250, 250, 354, 250, 221], "{out}");
    assert!(out.contains("250-PIPELINING") && out.contains("250-SIZE 1000"), "{out}");
    assert!(out.contains("250 2.0.0 Ok: queued as Q1"));
    let received = r.received.lock().unwrap();
    let (env, msg) = &received[0];
    assert_eq!(msg, b"Subject: hi\r\n\r\n.dot\r\n");
    assert_eq!(env.mail_from.as_deref(), Some("p@example.com"));
    assert_eq!(env.queue, "bw");
}

#[tokio::test]
async fn unknown_recipient_and_sequence_errors() {
    let r = Recorder::default();
    let out = converse(
        &r,
        &settings(),
        b"MAIL FROM:<a@b>\r\nHELO c\r\nRCPT TO:<bw@print.test>\r\nMAIL FROM:<a@b>\r\nRCPT TO:<nobody@print.test>\r\nDATA\r\nMAIL FROM:<a@b>\r\nQUIT\r\n",
    )
    .await;
    assert_eq!(codes(&out), vec![220, 503, 250, 503, 250, 550, 554, 503, 221], "{out}");
    assert!(out.contains("550 5.1.1 <nobody@print.test>"), "{out}");
    assert!(r.received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn recipient_limits_and_one_queue_per_message() {
    let r = Recorder::default();
    let out = converse(
        &r,
        &settings(),
        b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<bw@print.test>\r\nRCPT TO:<color@print.test>\r\nRCPT TO:<BW@print.test>\r\nQUIT\r\n",
    )
    .await;
    assert_eq!(codes(&out), vec![220, 250, 250, 250, 452, 250, 221], "{out}");
    let mut s = settings();
    s.max_recipients = 1;
    let out = converse(&r, &s, b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<bw@print.test>\r\nRCPT TO:<bw@print.test>\r\nQUIT\r\n").await;
    assert!(out.contains("452 4.5.3 Too many recipients"), "{out}");
}

#[tokio::test]
async fn oversized_messages_get_552_and_the_session_goes_on() {
    let r = Recorder::default();
    let mut input = b"EHLO c\r\nMAIL FROM:<a@b> SIZE=5000\r\nMAIL FROM:<a@b>\r\nRCPT TO:<bw@print.test>\r\nDATA\r\n".to_vec();
    for _ in 0..50 {
        input.extend_from_slice(b"0123456789012345678901234567890123456789\r\n");
    }
    input.extend_from_slice(b".\r\nNOOP\r\nQUIT\r\n");
    let out = converse(&r, &settings(), &input).await;
    assert_eq!(codes(&out), vec![220, 250, 552, 250, 250, 354, 552, 250, 221], "{out}");
    assert!(r.received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn smuggled_commands_stay_inside_the_message() {
    let r = Recorder::default();
    let mut input = MAIL.to_vec();
    input.extend_from_slice(b"Subject: a\r\n\r\nhi\n.\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<bw@print.test>\r\nDATA\r\nevil\r\n.\r\nQUIT\r\n");
    let out = converse(&r, &settings(), &input).await;
    let received = r.received.lock().unwrap();
    assert_eq!(received.len(), 1, "one DATA must give one message: {out}");
    assert!(received[0].1.windows(9).any(|w| w == b"MAIL FROM"));
    assert_eq!(received[0].0.bare_lf_lines, 1);
}

#[tokio::test]
async fn refusals_from_the_receiver_are_5xx_with_reason() {
    let r = Recorder { refuse: true, ..Recorder::default() };
    let mut input = MAIL.to_vec();
    input.extend_from_slice(b"Subject: a\r\n\r\nhi\r\n.\r\nQUIT\r\n");
    let out = converse(&r, &settings(), &input).await;
    assert!(out.contains("550 5.6.0 Nothing printable in this message: a plain text body"), "{out}");
}

#[tokio::test]
async fn long_lines_unknown_commands_and_too_many_errors() {
    let r = Recorder::default();
    let mut input = b"EHLO c\r\n".to_vec();
    input.extend_from_slice(&vec![b'A'; 10_000]);
    input.extend_from_slice(b"\r\nFOO\r\nVRFY x\r\nSTARTTLS\r\n");
    let out = converse(&r, &settings(), &input).await;
    assert!(out.contains("500 5.5.6 Line too long"), "{out}");
    assert!(out.contains("500 5.5.1"), "{out}");
    assert!(out.contains("252 2.1.5"), "{out}");
    let garbage: Vec<u8> = b"FOO\r\n".repeat(20);
    let out = converse(&r, &settings(), &garbage).await;
    assert!(out.contains("421 4.7.0"), "{out}");
    assert!(codes(&out).len() <= settings().max_errors + 2, "{out}");
}

#[tokio::test]
async fn shutdown_answers_421() {
    let r = Recorder::default();
    let s = settings();
    let (mut client, server) = tokio::io::duplex(4096);
    let token = CancellationToken::new();
    let limits = limits();
    let session = Session::new(IpAddr::V4(Ipv4Addr::LOCALHOST), &s, &r, &limits, token.clone());
    let client_task = async move {
        let mut buf = [0u8; 256];
        let n = client.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"220"));
        token.cancel();
        let mut out = String::new();
        client.read_to_string(&mut out).await.unwrap();
        out
    };
    let (out, _) = tokio::join!(client_task, session.run(server));
    assert!(out.starts_with("421 4.3.2"), "{out}");
}

#[tokio::test(start_paused = true)]
async fn idle_clients_time_out() {
    let r = Recorder::default();
    let s = settings();
    let (mut client, server) = tokio::io::duplex(4096);
    let limits = limits();
    let session = Session::new(IpAddr::V4(Ipv4Addr::LOCALHOST), &s, &r, &limits, CancellationToken::new());
    let client_task = async move {
        let mut out = String::new();
        client.read_to_string(&mut out).await.unwrap();
        out
    };
    let (out, _) = tokio::join!(client_task, session.run(server));
    assert!(out.contains("421 4.4.2"), "{out}");
}

#[tokio::test]
async fn bdat_chunks_build_one_message_without_dot_handling() {
    let r = Recorder::default();
    let mut input = b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<bw@print.test>\r\n".to_vec();
    input.extend_from_slice(b"BDAT 12\r\nSubject: x\r\n");
    input.extend_from_slice(b"BDAT 9 LAST\r\n\r\n.\r\nhi\r\n");
    input.extend_from_slice(b"QUIT\r\n");
    let out = converse(&r, &settings(), &input).await;
    assert!(out.contains("250 CHUNKING") || out.contains("250-CHUNKING"), "{out}");
    assert_eq!(codes(&out), vec![220, 250, 250, 250, 250, 250, 221], "{out}");
    assert!(out.contains("250 2.0.0 12 octets received"), "{out}");
    assert_eq!(r.received.lock().unwrap()[0].1, b"Subject: x\r\n\r\n.\r\nhi\r\n");
}

#[tokio::test]
async fn bdat_limits_and_sequence() {
    let r = Recorder::default();
    // Without a transaction the octets are consumed and refused; the session stays in sync.
    let out = converse(&r, &settings(), b"EHLO c\r\nBDAT 5 LAST\r\nhelloNOOP\r\nQUIT\r\n").await;
    assert_eq!(codes(&out), vec![220, 250, 503, 250, 221], "{out}");
    // Too large: refused after the last chunk, nothing delivered.
    let mut input = b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<bw@print.test>\r\nBDAT 900\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 900));
    input.extend_from_slice(b"BDAT 200 LAST\r\n");
    input.extend(std::iter::repeat_n(b'y', 200));
    input.extend_from_slice(b"NOOP\r\n");
    let out = converse(&r, &settings(), &input).await;
    assert_eq!(codes(&out), vec![220, 250, 250, 250, 250, 552, 250], "{out}");
    // DATA in the middle of a BDAT transfer aborts it.
    let out = converse(&r, &settings(), b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<bw@print.test>\r\nBDAT 2\r\nabDATA\r\nQUIT\r\n").await;
    assert_eq!(codes(&out), vec![220, 250, 250, 250, 250, 503, 221], "{out}");
    assert!(r.received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn plus_addresses_carry_options_to_the_envelope() {
    let r = Recorder::default();
    let mut input = b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<Color+Duplex@Print.Test>\r\nDATA\r\n".to_vec();
    input.extend_from_slice(b"Subject: a\r\n\r\nhi\r\n.\r\n");
    let out = converse(&r, &settings(), &input).await;
    assert!(out.contains("250 2.0.0 Ok"), "{out}");
    let received = r.received.lock().unwrap();
    assert_eq!(received[0].0.queue, "color");
    assert_eq!(received[0].0.options, vec!["duplex"]);
}

#[tokio::test]
async fn message_rate_per_address_is_limited_and_says_so() {
    let r = Recorder::default();
    let s = settings();
    let limits = IpLimits::new(10, 2);
    let mut input = Vec::new();
    for _ in 0..3 {
        input.extend_from_slice(b"MAIL FROM:<a@b>\r\nRSET\r\n");
    }
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let session = Session::new(IpAddr::V4(Ipv4Addr::LOCALHOST), &s, &r, &limits, CancellationToken::new());
    let mut all = b"HELO c\r\n".to_vec();
    all.extend_from_slice(&input);
    let client_task = async move {
        client.write_all(&all).await.unwrap();
        client.shutdown().await.unwrap();
        let mut out = String::new();
        client.read_to_string(&mut out).await.unwrap();
        out
    };
    let (out, _) = tokio::join!(client_task, session.run(server));
    assert_eq!(codes(&out), vec![220, 250, 250, 250, 250, 250, 450, 250], "{out}");
    assert!(out.contains("450 4.7.1 Too many messages from your address"), "{out}");
}

#[tokio::test]
async fn starttls_is_refused_when_not_configured() {
    let r = Recorder::default();
    let out = converse(&r, &settings(), b"EHLO c\r\nSTARTTLS\r\nQUIT\r\n").await;
    assert!(!out.contains("STARTTLS\r\n250"), "{out}");
    assert!(out.contains("502 5.5.1 STARTTLS not available"), "{out}");
}

#[tokio::test(start_paused = true)]
async fn the_whole_session_has_a_time_limit() {
    let r = Recorder::default();
    let mut s = settings();
    s.session_timeout = Duration::from_secs(3);
    let (mut client, server) = tokio::io::duplex(4096);
    let limits = limits();
    let session = Session::new(IpAddr::V4(Ipv4Addr::LOCALHOST), &s, &r, &limits, CancellationToken::new());
    let client_task = async move {
        // A client that keeps the session alive with NOOPs never gets past the session limit.
        for _ in 0..10 {
            if client.write_all(b"NOOP\r\n").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let mut out = String::new();
        let _ = client.read_to_string(&mut out).await;
        out
    };
    let (out, _) = tokio::join!(client_task, session.run(server));
    assert!(out.contains("421 4.4.2") && out.contains("session time limit"), "{out}");
}

#[tokio::test]
async fn a_size_too_big_for_any_integer_is_over_the_limit() {
    let r = Recorder::default();
    // u64::MAX exactly, one past it, and more digits than any integer holds (smtp-proto wraps
    // these into a small number or refuses them as a syntax error).
    for size in [
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999",
        "999999999999999999999999",
        "1000000000000000000000000000000000000001",
    ] {
        for params in [format!("SIZE={size}"), format!("BODY=8BITMIME size={size}")] {
            let input = format!("EHLO c\r\nMAIL FROM:<a@b> {params}\r\nMAIL FROM:<a@b> SIZE=10\r\nQUIT\r\n");
            let out = converse(&r, &settings(), input.as_bytes()).await;
            assert_eq!(codes(&out), vec![220, 250, 552, 250, 221], "{params}: {out}");
            assert!(out.contains("552 5.3.4 "), "{params}: {out}");
        }
    }
    // Leading zeros are not an overflow: 0…01000 is 1000 bytes, the limit, and accepted.
    let out = converse(&r, &settings(), b"EHLO c\r\nMAIL FROM:<a@b> SIZE=0000000000000000000000001000\r\nQUIT\r\n").await;
    assert_eq!(codes(&out), vec![220, 250, 250, 221], "{out}");
}
