use super::*;
use crate::store::desk::{DeskJob, HeldMessage};
use crate::store::trace::TraceDocument;

fn trace(outcome: &str, stored: bool, received_at: i64) -> Trace {
    let doc = |outcome: &str| TraceDocument { name: "a.pdf".into(), kind: "pdf".into(), bytes: 10, outcome: outcome.into(), pages: 1 };
    Trace {
        id: "m1".into(),
        received_at,
        queue: "bw".into(),
        client_ip: "192.0.2.1".into(),
        helo: "mx".into(),
        mail_from: "p@example.com".into(),
        header_from: "p@example.com".into(),
        message_id: "<x@y>".into(),
        size: 10,
        tls: false,
        outcome: outcome.into(),
        reply: "550 5.7.1 Spam".into(),
        spam_score: None,
        spam_rules: String::new(),
        virus: String::new(),
        auth: String::new(),
        grade: String::new(),
        documents: vec![doc(if stored { "stored" } else { "refused: an executable" })],
    }
}

fn held(jobs: usize) -> HeldMessage {
    let job = DeskJob {
        id: "j".into(),
        filename: "a.pdf".into(),
        pages: 1,
        color_pages: 0,
        copies: 1,
        expires_at: 0,
        print_failures: 0,
        last_failure: String::new(),
    };
    HeldMessage {
        id: "m1".into(),
        queue: "bw".into(),
        site: "main".into(),
        expires_at: 0,
        extended: false,
        reply_rcpt: None,
        held: false,
        jobs: vec![job; jobs],
    }
}

#[test]
fn what_became_of_a_message() {
    let now = 100 * 24 * 3600;
    let (recent, old) = (now - 3600, now - 31 * 24 * 3600);
    let (with_jobs, without_jobs) = (held(2), held(0));
    let confirming = HeldMessage { held: true, ..held(1) };
    use Fate::*;
    // (outcome, a document stored, received, held message, spent reason, fate)
    for (outcome, stored, at, held, spent, expected) in [
        ("accepted", true, recent, Some(&with_jobs), None, Waiting),
        ("accepted", true, recent, Some(&with_jobs), Some(SpentReason::Printed), Waiting),
        ("accepted", true, recent, Some(&confirming), None, AwaitingConfirmation),
        ("accepted", true, recent, None, Some(SpentReason::Printed), Printed),
        ("accepted", true, recent, None, Some(SpentReason::Expired), Expired),
        ("accepted", true, recent, Some(&without_jobs), None, Expired),
        ("accepted", true, recent, None, None, Cancelled),
        ("accepted", true, old, None, None, Forgotten),
        ("accepted", false, recent, None, None, NothingPrintable),
        ("refused", false, recent, None, None, Refused),
        ("tempfail", false, recent, None, None, PutOff),
        ("command CANCEL: 1 job(s) destroyed", false, recent, None, None, Other),
    ] {
        let t = trace(outcome, stored, at);
        assert_eq!(fate(&t, held, spent, now), expected, "{outcome} stored={stored} at={at} held={} spent={spent:?}", held.is_some());
    }
}

#[test]
fn a_lookup_survives_the_round_trip_through_back() {
    for q in [
        DeskQuery { sender: "patron@example.com".into(), ..DeskQuery::default() },
        DeskQuery { sender: "a b&c=d%e+f/ü".into(), date: "2026-12-05".into(), ..DeskQuery::default() },
        DeskQuery { message: "0193a0b1c2d3e4f5a6b7c8d9e0f1a2b3".into(), ..DeskQuery::default() },
    ] {
        let back = DeskQuery::from_back(&q.path(""));
        assert_eq!((back.sender, back.date, back.message), (q.sender.clone(), q.date.clone(), q.message.clone()));
    }
    assert_eq!(DeskQuery::default().path(""), "/desk");
    assert_eq!(DeskQuery::default().path("resent"), "/desk?done=resent");
    assert_eq!(DeskQuery { sender: "p@x".into(), ..DeskQuery::default() }.path("extended"), "/desk?sender=p%40x&done=extended");
}

#[test]
fn back_never_leads_off_the_desk() {
    for back in ["https://evil.example/", "//evil.example/desk", "/queues?x=1", "javascript:alert(1)", "", "/desk?sender=%ZZ"] {
        let path = DeskQuery::from_back(back).path("resent");
        assert!(path.starts_with("/desk?") || path == "/desk", "{back:?} -> {path}");
        assert!(!path.contains("//") && !path.contains("evil"), "{back:?} -> {path}");
    }
    assert_eq!(DeskQuery::from_back("/desk?sender=%ZZ").sender, "%ZZ", "a bad escape is kept as typed");
}

#[test]
fn refusals_read_without_their_codes() {
    for (reply, words) in [
        ("550 5.7.1 Message refused as spam", "Message refused as spam"),
        ("554 5.7.0 Virus found: Eicar-Signature", "Virus found: Eicar-Signature"),
        ("451 4.3.0 Try again later", "Try again later"),
        ("Refused", "Refused"),
        ("", ""),
    ] {
        assert_eq!(reason_words(reply), words, "{reply:?}");
    }
}

#[test]
fn every_action_outcome_has_words() {
    for done in ["cancelled", "extended", "not-extended", "resent", "not-resent", "no-address"] {
        assert!(done_words(done).is_some(), "{done}");
    }
    assert_eq!(done_words("<script>"), None, "only known outcomes are shown");
}
