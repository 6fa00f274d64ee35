use super::*;
use crate::config::Zone;

fn queue() -> QueueConfig {
    QueueConfig::sample()
}

/// An accepted mail with one stored PDF, scored 1.0, received 2026-11-25 14:05 UTC.
fn trace() -> Trace {
    Trace {
        id: "m1".into(),
        received_at: 1_795_615_500,
        queue: "bw".into(),
        client_ip: "192.0.2.1".into(),
        helo: "mx.example.com".into(),
        mail_from: "p@example.com".into(),
        header_from: "p@example.com".into(),
        message_id: "<x@y>".into(),
        size: 2048,
        tls: true,
        outcome: "accepted".into(),
        reply: "250 2.0.0 Ok: queued as m1".into(),
        spam_score: Some(1.0),
        spam_rules: "MISSING_DATE".into(),
        virus: String::new(),
        auth: "print.example.org; spf=pass smtp.mailfrom=example.com; dkim=none; dmarc=pass header.from=example.com policy.dmarc=reject; arc=none"
            .into(),
        grade: "authenticated".into(),
        documents: vec![doc("stored", 2)],
    }
}

fn doc(outcome: &str, pages: u32) -> TraceDocument {
    TraceDocument { name: "a.pdf".into(), kind: "PDF".into(), bytes: 1536, outcome: outcome.into(), pages }
}

/// The stage called `name` of `t` with the queue `bw` (tag 5, reject 10) in UTC.
fn stage_of(t: &Trace, name: &str) -> Stage {
    let (q, zone) = (queue(), Zone::utc());
    let setting = Setting { queue: Some(&q), spam_filter: crate::screen::SPAMASSASSIN, zone: &zone };
    stages(t, &setting, &[]).into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no stage {name}"))
}

fn refused(reply: &str) -> Trace {
    Trace { outcome: "refused".into(), reply: reply.into(), ..trace() }
}

#[test]
fn the_stages_come_in_the_order_the_mail_went_through_them() {
    let mut t = trace();
    t.documents.push(doc("skipped: inline image", 0));
    let (q, zone) = (queue(), Zone::parse("Europe/Berlin").unwrap());
    let setting = Setting { queue: Some(&q), spam_filter: crate::screen::SPAMASSASSIN, zone: &zone };
    let replies = [reply(0, Some(1_795_615_560), None, ""), reply(0, None, None, "")];
    let names: Vec<String> = stages(&t, &setting, &replies).into_iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        ["Connection", "Sender", "Virus scan", "Spam score", "Document", "Document", "Answer", "Reply 1 of 2", "Reply 2 of 2"]
    );
    let connection = &stages(&t, &setting, &[])[0];
    assert_eq!(
        connection.sentence,
        "It arrived at 2026-11-25 15:05 CET for the queue bw: 2 KB from 192.0.2.1, which introduced itself as mx.example.com, over an encrypted connection (TLS)."
    );
    assert_eq!(connection.verdict, Verdict::Info);
    let plain = Trace { tls: false, helo: String::new(), ..trace() };
    assert!(stage_of(&plain, "Connection").sentence.ends_with("which did not introduce itself, over a connection that was not encrypted."));
}

#[test]
fn the_auth_line_is_read_as_the_screen_writes_it() {
    let line = "print.example.org; spf=softfail smtp.mailfrom=a.example; dkim=fail header.d=b.example; dmarc=fail header.from=c.example policy.dmarc=quarantine; arc=none";
    let facts = auth::parse(line);
    assert_eq!(
        facts,
        auth::AuthFacts {
            spf: "softfail",
            spf_domain: "a.example",
            dkim: "fail",
            dkim_domain: "b.example",
            dmarc: "fail",
            from_domain: "c.example",
            policy: "quarantine"
        }
    );
    let bounce = auth::parse("h; spf=none smtp.helo=[192.0.2.1]; dkim=none; dmarc=none; arc=none");
    assert_eq!((bounce.spf_domain, bounce.from_domain, bounce.policy), ("[192.0.2.1]", "", ""));
}

#[test]
fn sender_authentication_reads_as_a_sentence() {
    let line = |spf: &str, dkim: &str, dmarc: &str| {
        format!("print.example.org; spf={spf} smtp.mailfrom=example.com; dkim={dkim} header.d=example.com; dmarc={dmarc}; arc=none")
    };
    let dmarc_reject = "fail header.from=example.com policy.dmarc=reject";
    let failing_reply = "550 5.7.1 Sender authentication failed: DMARC policy of example.com says reject";
    let only_auth_reply =
        "550 5.7.1 This print queue only accepts authenticated senders; example.com could not be verified (SPF/DKIM/DMARC)";
    for (auth, grade, outcome, reply, verdict, expected) in [
        (
            line("pass", "pass", "pass header.from=example.com policy.dmarc=none"),
            "authenticated",
            "accepted",
            "250 ok",
            Verdict::Pass,
            "The mail claims to be from example.com, and example.com confirms it (DMARC pass): the sending server is one example.com allows (SPF pass); it carries a valid signature of example.com (DKIM pass).",
        ),
        (
            line("fail", "none", dmarc_reject),
            "failing",
            "refused",
            failing_reply,
            Verdict::Refused,
            "The mail claims to be from example.com, but example.com's DMARC policy rejects mail from the server that sent it (DMARC fail, p=reject): example.com says the sending server may not send its mail (SPF fail); it is not signed (DKIM none). So the mail was refused, as the domain asks.",
        ),
        (
            line("fail", "fail", dmarc_reject),
            "failing",
            "accepted",
            "250 ok",
            Verdict::Warning,
            "The mail claims to be from example.com, but example.com's DMARC policy rejects mail from the server that sent it (DMARC fail, p=reject): example.com says the sending server may not send its mail (SPF fail); its signature of example.com does not match the mail: it was changed on the way, or forged (DKIM fail). It was accepted all the same: this queue takes mail from any sender.",
        ),
        (
            line("softfail", "none", "fail header.from=example.com policy.dmarc=quarantine"),
            "unauthenticated",
            "accepted",
            "250 ok",
            Verdict::Warning,
            "The mail claims to be from example.com, but example.com does not confirm it and asks that such mail be treated as suspect (DMARC fail, p=quarantine): example.com says the sending server should probably not send its mail (SPF softfail); it is not signed (DKIM none).",
        ),
        (
            line("none", "none", "fail header.from=example.com policy.dmarc=none"),
            "unauthenticated",
            "accepted",
            "250 ok",
            Verdict::Warning,
            "The mail claims to be from example.com, but example.com does not confirm it; it asks for nothing to be done about that (DMARC fail, p=none): example.com publishes no list of its sending servers (SPF none); it is not signed (DKIM none).",
        ),
        (
            line("pass", "none", "none header.from=example.com"),
            "authenticated",
            "accepted",
            "250 ok",
            Verdict::Pass,
            "The mail claims to be from example.com; example.com publishes no DMARC policy, but the checks below confirm it: the sending server is one example.com allows (SPF pass); it is not signed (DKIM none).",
        ),
        (
            line("none", "none", "none header.from=example.com"),
            "unauthenticated",
            "refused",
            only_auth_reply,
            Verdict::Refused,
            "The mail claims to be from example.com; example.com publishes no DMARC policy, and nothing confirms the mail comes from example.com: example.com publishes no list of its sending servers (SPF none); it is not signed (DKIM none). This queue takes mail from confirmed senders only, so the mail was refused.",
        ),
        (
            line("temperror", "temperror", "temperror header.from=example.com"),
            "unauthenticated",
            "accepted",
            "250 ok",
            Verdict::Warning,
            "The mail claims to be from example.com, but example.com's DMARC policy could not be looked up just then (DMARC temperror): example.com's list of sending servers could not be looked up just then (SPF temperror); its signature of example.com could not be checked just then (DKIM temperror).",
        ),
        (
            "h; spf=none smtp.helo=[192.0.2.1]; dkim=none; dmarc=none; arc=none".into(),
            "unauthenticated",
            "accepted",
            "250 ok",
            Verdict::Warning,
            "The mail does not name one sender domain in its From line, so nothing could confirm who sent it: there was no sender domain to check the sending server against (SPF none); it is not signed (DKIM none).",
        ),
        (
            String::new(),
            "",
            "accepted",
            "250 ok",
            Verdict::Info,
            "The sender was not checked for this mail (no authentication results were recorded).",
        ),
    ] {
        let t = Trace { auth: auth.clone(), grade: grade.into(), outcome: outcome.into(), reply: reply.into(), ..trace() };
        let s = stage_of(&t, "Sender");
        assert_eq!((s.verdict, s.sentence.as_str()), (verdict, expected), "{auth}");
    }
    // A failing sender refused for another reason (spam comes first) is not said to be let in.
    let t = Trace {
        auth: line("fail", "none", dmarc_reject),
        grade: "failing".into(),
        ..refused("550 5.7.1 Message refused as spam (score 12.0 / limit 10.0)")
    };
    let s = stage_of(&t, "Sender");
    assert_eq!(s.verdict, Verdict::Warning);
    assert!(!s.sentence.contains("accepted") && !s.sentence.contains("So the mail was refused"), "{}", s.sentence);
}

#[test]
fn the_virus_scan_reads_as_a_sentence() {
    for (virus, outcome, verdict, expected) in [
        ("", "accepted", Verdict::Pass, "The virus scanner found no virus."),
        (
            "Eicar-Signature",
            "refused",
            Verdict::Refused,
            "The virus scanner found the virus “Eicar-Signature” in the mail, so it was refused.",
        ),
        (
            "too large to scan",
            "refused",
            Verdict::Refused,
            "The mail is larger than the virus scanner can check, so it was refused unscanned.",
        ),
        (
            "error: cannot connect: refused",
            "tempfail",
            Verdict::Warning,
            "The virus scanner could not check the mail (cannot connect: refused), so the mail was not accepted unchecked: the sending server was asked to try again later.",
        ),
    ] {
        let s = stage_of(&Trace { virus: virus.into(), outcome: outcome.into(), ..trace() }, "Virus scan");
        assert_eq!((s.verdict, s.sentence.as_str()), (verdict, expected), "{virus}");
    }
}

#[test]
fn the_spam_score_is_read_against_the_queues_limits() {
    let limits = "the queue marks mail as spam from 5 points and refuses it from 10";
    let spam_reply = "550 5.7.1 Message refused as spam (score 12.3 / limit 10.0)";
    for (score, rules, outcome, reply, verdict, expected) in [
        (Some(1.0), "", "accepted", "250 ok", Verdict::Pass, format!("The spam filter (SpamAssassin) gave 1.0 points; {limits}, so it does not count as spam.")),
        (Some(6.5), "", "accepted", "250 ok", Verdict::Warning, format!("The spam filter (SpamAssassin) gave 6.5 points; {limits}, so it was accepted and marked as spam.")),
        (Some(6.5), "", "refused", "554 5.7.1 Message refused: virus found (X)", Verdict::Warning,
         format!("The spam filter (SpamAssassin) gave 6.5 points; {limits}, so it counts as spam, though not enough to be refused.")),
        (Some(12.3), "", "refused", spam_reply, Verdict::Refused, format!("The spam filter (SpamAssassin) gave 12.3 points; {limits}, so it was refused as spam.")),
        (Some(12.3), "", "refused", "554 5.7.1 Message refused: virus found (X)", Verdict::Refused,
         format!("The spam filter (SpamAssassin) gave 12.3 points; {limits}, so its score alone would have it refused.")),
        (Some(12.3), "", "accepted", "250 ok", Verdict::Warning,
         format!("The spam filter (SpamAssassin) gave 12.3 points; {limits}, so it would be refused now, but it was accepted when it arrived (the limits were higher then).")),
        (Some(7.0), "", "refused", spam_reply, Verdict::Refused,
         format!("The spam filter (SpamAssassin) gave 7.0 points; {limits}, so it would pass now, but it was refused as spam when it arrived (the limits were lower, or the filter itself said to refuse it).")),
        (Some(2.0), "(headers and text parts only) X", "accepted", "250 ok", Verdict::Pass,
         format!("The spam filter (SpamAssassin) gave 2.0 points for its headers and text (the mail is larger than the filter scores whole); {limits}, so it does not count as spam.")),
        (None, "error: no answer within 20s", "tempfail", "451 4.7.0 x", Verdict::Warning,
         "The spam filter (SpamAssassin) could not score the mail (no answer within 20s), so the mail was not accepted unchecked: the sending server was asked to try again later.".into()),
        (None, "", "accepted", "250 ok", Verdict::Info, "The mail was not scored for spam.".into()),
    ] {
        let t = Trace { spam_score: score, spam_rules: rules.into(), outcome: outcome.into(), reply: reply.into(), ..trace() };
        let s = stage_of(&t, "Spam score");
        assert_eq!((s.verdict, s.sentence.as_str()), (verdict, expected.as_str()), "{score:?} {outcome}");
    }
    let zone = Zone::utc();
    let gone = Setting { queue: None, spam_filter: crate::screen::RSPAMD, zone: &zone };
    let s = spam(&trace(), &gone);
    assert_eq!(
        (s.verdict, s.sentence.as_str()),
        (Verdict::Info, "The spam filter (rspamd) gave 1.0 points; the queue bw is no longer configured, so its limits are unknown.")
    );
}

#[test]
fn every_document_outcome_reads_as_a_sentence() {
    let what = "“a.pdf” (PDF, 1.5 KB)";
    for (outcome, pages, accepted, verdict, expected) in [
        ("stored", 2, true, Verdict::Pass, format!("{what} was converted and stored for printing: 2 pages.")),
        ("stored", 1, true, Verdict::Pass, format!("{what} was converted and stored for printing: 1 page.")),
        ("printable", 0, true, Verdict::Info, format!("{what} passed the checks and waits to be converted for printing.")),
        ("printable", 0, false, Verdict::Info, format!("{what} could be printed, but the mail was not accepted.")),
        (
            "skipped: inline image",
            0,
            true,
            Verdict::Info,
            format!("{what} was left out: it is a picture inside the mail's text, not an attachment."),
        ),
        (
            "skipped: signature or tracking image",
            0,
            true,
            Verdict::Info,
            format!("{what} was left out: it is a signature logo or a tracking image."),
        ),
        ("skipped: too small", 0, true, Verdict::Info, format!("{what} was left out: too small.")),
        ("refused: programs cannot be printed", 0, false, Verdict::Refused, format!("{what} was not printed: programs cannot be printed.")),
        (
            "refused: the document has 300 pages; this printer takes at most 100",
            0,
            true,
            Verdict::Refused,
            format!("{what} was not printed: the document has 300 pages; this printer takes at most 100."),
        ),
        ("refused: not printable", 0, false, Verdict::Info, format!("{what} was not looked at further: the mail was not accepted.")),
        ("refused: not printable", 0, true, Verdict::Refused, format!("{what} was not printed: not printable.")),
        ("refused: not processed", 0, true, Verdict::Refused, format!("{what} was not converted: its processing did not finish.")),
    ] {
        let s = document(&doc(outcome, pages), accepted);
        assert_eq!((s.name.as_str(), s.verdict, s.sentence.as_str()), ("Document", verdict, expected.as_str()), "{outcome}");
    }
    let none = stage_of(&Trace { documents: Vec::new(), ..trace() }, "Documents");
    assert_eq!((none.verdict, none.sentence.as_str()), (Verdict::Info, "The mail carried nothing to print."));
}

#[test]
fn the_smtp_answer_reads_as_a_sentence() {
    for (t, verdict, expected) in [
        (trace(), Verdict::Pass, "The mail was accepted, and the sending server was told so."),
        (
            refused("554 5.7.1 Message refused: virus found (Eicar-Signature)"),
            Verdict::Refused,
            "The mail was refused for good. The sending server was told “Message refused: virus found (Eicar-Signature)” and tells the patron so in a bounce.",
        ),
        (
            Trace { outcome: "tempfail".into(), reply: "451 4.3.0 Local error storing the message, try again later".into(), ..trace() },
            Verdict::Warning,
            "The mail was put off: the sending server was told “Local error storing the message, try again later” and tries again later (usually for a few days).",
        ),
    ] {
        let s = stage_of(&t, "Answer");
        assert_eq!((s.verdict, s.sentence.as_str()), (verdict, expected), "{}", t.outcome);
    }
}

fn reply(attempts: i64, sent_at: Option<i64>, refused_at: Option<i64>, last_error: &str) -> ReplyAttempts {
    ReplyAttempts { attempts, last_error: last_error.into(), created_at: 0, sent_at, refused_at }
}

#[test]
fn every_reply_state_reads_as_a_sentence() {
    let when = |s: i64| format!("at {s}");
    for (r, verdict, expected) in [
        (reply(0, Some(5), None, ""), Verdict::Pass, "Delivered to the mail relay on the first try, at 5."),
        (
            reply(2, Some(9), None, "421 busy"),
            Verdict::Pass,
            "Delivered to the mail relay on the third try, at 9, after 2 tries that failed (the last: 421 busy).",
        ),
        (
            reply(1, Some(9), None, "timed out"),
            Verdict::Pass,
            "Delivered to the mail relay on the second try, at 9, after 1 try that failed (the last: timed out).",
        ),
        (
            reply(1, None, Some(7), "550 no such user"),
            Verdict::Refused,
            "The mail relay refused it for good on the first try, at 7; it is not tried again. The relay said: 550 no such user",
        ),
        (reply(0, None, None, ""), Verdict::Info, "Waiting to be sent; not tried yet."),
        (
            reply(3, None, None, "451 try later"),
            Verdict::Warning,
            "Waiting: 3 tries failed so far, and it will be tried again. The last error: 451 try later",
        ),
    ] {
        let (v, sentence) = delivery(&r, &when);
        assert_eq!((v, sentence.as_str()), (verdict, expected));
        assert!(!sentence.contains("(s)") && !sentence.contains(" 0 "), "{sentence}");
    }
    let zone = Zone::utc();
    let one = reply_stages(&trace(), &[reply(0, Some(1_795_615_560), None, "")], &zone);
    assert_eq!(
        (one[0].name.as_str(), one[0].sentence.as_str()),
        ("Reply", "Delivered to the mail relay on the first try, 2026-11-25 14:06 UTC.")
    );
    for (t, expected) in [
        (trace(), "No reply is recorded: the queue's reply policy sent none, or it was cleaned up since."),
        (refused("550 x"), "No reply was sent: printgate answers only mail it accepted; for this one the sending server tells the patron."),
    ] {
        let s = stage_of(&t, "Reply");
        assert_eq!((s.verdict, s.sentence.as_str()), (Verdict::Info, expected));
    }
}

#[test]
fn each_verdict_has_a_word_and_a_marker() {
    let all = [Verdict::Pass, Verdict::Warning, Verdict::Refused, Verdict::Info];
    let words: Vec<&str> = all.iter().map(|v| v.word()).collect();
    assert_eq!(words, ["pass", "warning", "refused", "info"]);
    let markers: std::collections::HashSet<&str> = all.iter().map(|v| v.marker()).collect();
    assert_eq!(markers.len(), 4, "a different sign for each");
}
