//! Reply commands: the patron answers the reply (CANCEL, EXTEND, RESEND to its `+c…`
//! address), and only the patron who got the reply is heard and answered.

mod common;

use std::time::Duration;

use common::reply_mail::*;
use common::{Relay, Scanners, Server};

/// CANCEL from the patron destroys the jobs; the same token from another address, or a mail
/// to the queue without the token, does nothing and the trace says so; EXTEND works once.
#[test]
fn reply_commands_act_only_for_the_patron_who_got_the_reply() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Server::start(&Scanners::real(), relay.port);
    for i in 0..2 {
        let out = send_raw(&server, "patron@example.com", &mail(&format!("cmd{i}@example.com"), "", "filename=\"doc.pdf\""));
        assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
    }
    let replies = relay.wait_for(2, Duration::from_secs(60));
    let address_of = |msgid: &str| {
        let raw = replies.iter().find(|r| String::from_utf8_lossy(r).contains(&format!("In-Reply-To: <{msgid}>"))).unwrap();
        (reply_to(raw), common::release_code(raw))
    };
    let (cancel_to, cancel_code) = address_of("cmd0@example.com");
    let (extend_to, _) = address_of("cmd1@example.com");
    assert!(cancel_to.starts_with("bw+c") && cancel_to.ends_with("@print.example.org"), "{cancel_to}");
    assert_ne!(cancel_to, extend_to, "each message has its own token");
    let live_jobs = || common::sql(&server, "select count(*) from jobs")[0].clone();
    assert_eq!(live_jobs(), "2");

    // Another address with the patron's token: nothing happens, and the trace says why.
    let out = send_command(&server, &cancel_to, "intruder@example.net", "CANCEL");
    assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
    let outcome = wait_for_outcome(&server, &out, "command ignored");
    assert!(outcome.contains("not made for this sender"), "{outcome}");
    assert_eq!(live_jobs(), "2");
    // The queue address without a token: a mail with nothing to print, refused as such.
    let out = send_command(&server, "bw@print.example.org", "patron@example.com", "CANCEL");
    assert!(out.contains("550"), "{out}");
    assert_eq!(live_jobs(), "2");

    // The patron's CANCEL: the jobs of that message are gone, blobs included.
    let out = send_command(&server, &cancel_to, "patron@example.com", "cancel\n\n> Ready to print");
    assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
    let outcome = wait_for_outcome(&server, &out, "command CANCEL");
    assert!(outcome.contains("1 job(s) destroyed"), "{outcome}");
    assert_eq!(live_jobs(), "1");
    let token = server.station_token();
    let status = common::station_release(&server, &token, &cancel_code, &[&server.key_path()], &work.path().join("out"));
    assert!(!status.status.success(), "a cancelled code still releases");

    // EXTEND once: the expiry moves by the queue's extension (24 h), a second EXTEND is refused.
    let before: i64 = common::sql(&server, "select expires_at from jobs")[0].parse().unwrap();
    let out = send_command(&server, &extend_to, "patron@example.com", "EXTEND");
    wait_for_outcome(&server, &out, "command EXTEND: kept until");
    let after: i64 = common::sql(&server, "select expires_at from jobs")[0].parse().unwrap();
    assert_eq!(after - before, 24 * 3600);
    let out = send_command(&server, &extend_to, "patron@example.com", "EXTEND");
    wait_for_outcome(&server, &out, "command EXTEND refused");
    assert_eq!(common::sql(&server, "select expires_at from jobs")[0].parse::<i64>().unwrap(), after);
}

/// RESEND: a new reply arrives with a different code; the old code no longer releases at a
/// station, the new one does.
#[test]
fn resend_sends_a_new_code_and_the_old_one_stops_working() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Server::start(&Scanners::real(), relay.port);
    let out = send_raw(&server, "patron@example.com", &mail("first@example.com", "", "filename=\"doc.pdf\""));
    assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
    let first = relay.wait_for(1, Duration::from_secs(60)).remove(0);
    let old_code = common::release_code(&first);
    let out = send_command_with_id(&server, &reply_to(&first), "patron@example.com", "resend1@example.com", "RESEND");
    wait_for_outcome(&server, &out, "command RESEND: new release code sent");
    let second = answer_to(&relay, "resend1@example.com");
    let new_code = common::release_code(&second);
    assert_ne!(new_code, old_code, "RESEND must issue a fresh code");
    let (subject, _) = subject_and_text(&second);
    assert!(subject.contains(&format!("{} {}", &new_code[..4], &new_code[4..])), "{subject}");
    let (_, _, defects) = python_parse(&second, work.path());
    assert!(defects.is_empty(), "{defects:?}");
    let (pngs, _) = python_png_parts(&second, work.path());
    assert_eq!(zbar(&pngs[0]), new_code, "the new reply's QR code is the new code");

    let token = server.station_token();
    let old = common::station_release(&server, &token, &old_code, &[&server.key_path()], &work.path().join("old"));
    assert!(!old.status.success(), "the old code still releases");
    let new = common::station_release(&server, &token, &new_code, &[&server.key_path()], &work.path().join("new"));
    assert!(new.status.success(), "the new code does not release: {}", String::from_utf8_lossy(&new.stderr));
}

/// Each command is confirmed to the patron, also when nothing was done (and why); a command
/// from another address with the patron's token gets no mail at all (no backscatter).
#[test]
fn commands_are_confirmed_to_the_patron_and_nobody_else() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Server::start(&Scanners::real(), relay.port);
    let out = send_raw(&server, "patron@example.com", &mail("confirm@example.com", "", "filename=\"doc.pdf\""));
    assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
    let reply = relay.wait_for(1, Duration::from_secs(60)).remove(0);
    let address = reply_to(&reply);

    let steps = [
        ("intruder@example.net", "CANCEL", "command ignored", None),
        ("patron@example.com", "Hello there", "command ignored", Some(("Your reply was not understood", "CANCEL, EXTEND or RESEND"))),
        (
            "patron@example.com",
            "EXTEND",
            "command EXTEND: kept until",
            Some(("Extended: your documents are kept longer", "24 hours longer. Release them before ")),
        ),
        ("patron@example.com", "EXTEND", "command EXTEND refused", Some(("Not extended", "extended only once"))),
        (
            "patron@example.com",
            "CANCEL",
            "command CANCEL: 1 job(s)",
            Some(("Cancelled: your documents were deleted", "your document was deleted at Test Library")),
        ),
        ("patron@example.com", "CANCEL", "command CANCEL: 0 job(s)", Some(("Nothing to cancel", "nothing left to cancel"))),
        (
            "patron@example.com",
            "RESEND",
            "command RESEND refused",
            Some(("No new code: nothing is waiting to print", "no new release code was sent")),
        ),
    ];
    let mut expected_mails = 1;
    for (i, (from, body, outcome, answer)) in steps.iter().enumerate() {
        let id = format!("step{i}@example.com");
        let out = send_command_with_id(&server, &address, from, &id, body);
        assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
        wait_for_outcome(&server, &out, outcome);
        if let Some((subject, sentence)) = answer {
            let raw = answer_to(&relay, &id);
            expected_mails += 1;
            let (got_subject, text) = subject_and_text(&raw);
            assert_eq!(&got_subject, subject, "{body}:\n{text}");
            assert!(text.contains(sentence), "{body}: {sentence:?} not in\n{text}");
            let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
            assert_eq!(message.to().and_then(|a| a.first()).and_then(|a| a.address()), Some("patron@example.com"));
            assert_eq!(message.header("Auto-Submitted").and_then(|h| h.as_text()), Some("auto-replied"));
        }
    }
    // Let the outbox send anything it (wrongly) queued for the intruder.
    std::thread::sleep(Duration::from_secs(2));
    let mails = relay.wait_for(expected_mails, Duration::from_secs(1));
    assert_eq!(mails.len(), expected_mails, "one answer per patron command, none for the intruder");
    assert!(!mails.iter().any(|m| String::from_utf8_lossy(m).contains("intruder@example.net")), "mail went to the intruder");
}
