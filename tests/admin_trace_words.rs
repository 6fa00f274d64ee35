//! The message trace in words against a real server (clamd, spamd, smtp-sink as the relay, fixed
//! DNS records for SPF and DMARC): a mail that is accepted, one accepted and marked as spam, one
//! refused by its domain's DMARC policy and one refused for a virus. Each message's page
//! (`/trace/{id}`) says every stage as a verdict and a sentence, in the queue's time zone, and
//! keeps the raw facts folded away in a `<details>` element.

mod common;

use std::time::Duration;

use common::console::{Browser, PASSWORD, fixture, start_custom};
use common::{Relay, Server, sql, wait_for_trace};

const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// example.com lets 127.0.0.1 send and asks to reject failures; forged.example lets only
/// 192.0.2.1 send and asks the same. The queue `bw` is in Berlin's time zone.
fn start(relay: &Relay) -> (Server, String) {
    let records = r#"[auth]
resolver = "static"
records = [
  ["example.com", "v=spf1 ip4:127.0.0.1 -all"],
  ["_dmarc.example.com", "v=DMARC1; p=reject"],
  ["forged.example", "v=spf1 ip4:192.0.2.1 -all"],
  ["_dmarc.forged.example", "v=DMARC1; p=reject"],
]
"#;
    start_custom(relay, &|config, _| {
        config.replacen("[auth]\nresolver = \"static\"\n", records, 1).replacen(
            "name = \"bw\"\n",
            "name = \"bw\"\ntimezone = \"Europe/Berlin\"\n",
            1,
        )
    })
}

/// One stage as the page shows it.
#[derive(Debug)]
struct Shown {
    verdict: String,
    name: String,
    sentence: String,
}

/// The stages of a trace page (above its `<details>`), text unescaped.
fn stages(page: &str) -> Vec<Shown> {
    let list = &page[page.find("<ol class=\"stages\"").expect("a list of stages")..page.find("</ol>").unwrap()];
    list.split("<li class=\"stage stage-")
        .skip(1)
        .map(|item| {
            let between = |a: &str, b: &str| {
                let start = item.find(a).unwrap_or_else(|| panic!("{a} in {item}")) + a.len();
                unescape(&item[start..start + item[start..].find(b).unwrap()])
            };
            let verdict = item[..item.find('"').unwrap()].to_owned();
            let word = between("</span> ", "</span>");
            assert_eq!(word, verdict, "the verdict is written as a word, not only a colour: {item}");
            assert!(item.contains("<span class=\"sign\" aria-hidden=\"true\">"), "a sign beside the word: {item}");
            Shown {
                verdict,
                name: between("<strong class=\"stage-name\">", "</strong>"),
                sentence: between("<span class=\"sentence\">", "</span>"),
            }
        })
        .collect()
}

fn unescape(html: &str) -> String {
    html.replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The stage called `name`: its verdict and sentence.
fn stage<'a>(stages: &'a [Shown], name: &str) -> (&'a str, &'a str) {
    let s = stages.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no stage {name}: {stages:?}"));
    (s.verdict.as_str(), s.sentence.as_str())
}

/// The page of the trace of the message from `sender`, and its stages.
fn page_of(b: &mut Browser, server: &Server, sender: &str) -> (String, Vec<Shown>) {
    let id = sql(server, &format!("SELECT id FROM traces WHERE mail_from = '{sender}'")).remove(0);
    let (status, page) = b.get(&format!("/trace/{id}"));
    assert_eq!(status, 200, "{page}");
    let shown = stages(&page);
    (page, shown)
}

/// The raw facts are inside the `<details>` element, not above it.
fn assert_raw_folded(page: &str, raw: &[&str]) {
    let at = page.find("<details class=\"raw\">").expect("the raw details");
    let (words, details) = page.split_at(at);
    let details = &details[..details.find("</details>").unwrap()];
    for fact in raw {
        assert!(details.contains(fact), "{fact:?} not in the raw details:\n{details}");
        assert!(!words.contains(fact), "{fact:?} above the raw details:\n{words}");
    }
}

const LIMITS: &str = "the queue marks mail as spam from 5 points and refuses it from 10";

#[test]
fn a_traces_page_says_each_stage_in_words_and_folds_the_raw_facts_away() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start(&relay);
    let pdf = fixture("simple.pdf");
    for (sender, body) in [("patron@example.com", "please print"), ("spammy@example.com", common::SPAMMY_BODY)] {
        let t = server.swaks(sender, body, &[&pdf]);
        assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    }
    let forged = server.swaks("ceo@forged.example", "please print", &[&pdf]);
    assert!(forged.contains("550 5.7.1 Sender authentication failed"), "{forged}");
    let eicar = tmp.path().join("invoice.pdf");
    std::fs::write(&eicar, EICAR).unwrap();
    let virus = server.swaks("eicar@example.com", "see attached", &[&eicar]);
    assert!(virus.contains("554 5.7.1"), "{virus}");
    relay.wait_for(2, Duration::from_secs(90));
    for sender in ["patron@example.com", "spammy@example.com"] {
        wait_for_trace(&server, "id", &format!("mail_from = '{sender}' AND documents LIKE '%stored%'"));
    }
    for sender in ["ceo@forged.example", "eicar@example.com"] {
        wait_for_trace(&server, "id", &format!("mail_from = '{sender}'"));
    }
    let mut b = Browser::new(&url);
    assert_eq!(b.login("librarian", PASSWORD).0, 303);

    // Accepted: every stage passes, in Berlin time.
    let (page, good) = page_of(&mut b, &server, "patron@example.com");
    let names: Vec<&str> = good.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Connection", "Sender", "Virus scan", "Spam score", "Document", "Answer", "Reply"], "{good:?}");
    let (verdict, connection) = stage(&good, "Connection");
    assert_eq!(verdict, "info");
    assert!(connection.starts_with("It arrived at ") && (connection.contains(" CET ") || connection.contains(" CEST ")), "{connection}");
    assert!(
        connection.contains(" for the queue bw: ")
            && connection
                .ends_with(" from 127.0.0.1, which introduced itself as patron.example.com, over a connection that was not encrypted."),
        "{connection}"
    );
    assert_eq!(
        stage(&good, "Sender"),
        (
            "pass",
            "The mail claims to be from example.com, and example.com confirms it (DMARC pass): the sending server is one example.com allows (SPF pass); it is not signed (DKIM none)."
        )
    );
    assert_eq!(stage(&good, "Virus scan"), ("pass", "The virus scanner found no virus."));
    let (verdict, spam) = stage(&good, "Spam score");
    assert_eq!(verdict, "pass", "{spam}");
    assert!(
        spam.starts_with("The spam filter (SpamAssassin) gave ") && spam.ends_with(&format!("; {LIMITS}, so it does not count as spam.")),
        "{spam}"
    );
    let (verdict, document) = stage(&good, "Document");
    assert_eq!(verdict, "pass");
    assert!(
        document.starts_with("“simple.pdf” (PDF, ") && document.ends_with(") was converted and stored for printing: 1 page."),
        "{document}"
    );
    assert_eq!(stage(&good, "Answer"), ("pass", "The mail was accepted, and the sending server was told so."));
    let (verdict, reply) = stage(&good, "Reply");
    assert_eq!(verdict, "pass");
    assert!(
        reply.starts_with("Delivered to the mail relay on the first try, ") && (reply.contains(" CET.") || reply.contains(" CEST.")),
        "{reply}"
    );
    assert_raw_folded(&page, &["spf=pass", "250 2.0.0 Ok: queued as", "policy.dmarc=reject"]);
    assert!(!page.contains("(s)") && !page.contains(" 0 attempt"), "{page}");

    // Accepted and marked: the score read against the queue's limits.
    let (_, spammy) = page_of(&mut b, &server, "spammy@example.com");
    let score: f64 = sql(&server, "SELECT spam_score FROM traces WHERE mail_from = 'spammy@example.com'")[0].parse().unwrap();
    assert!((5.0..10.0).contains(&score), "SPAMMY_BODY is meant to score between the lines: {score}");
    assert_eq!(
        stage(&spammy, "Spam score"),
        (
            "warning",
            format!("The spam filter (SpamAssassin) gave {score:.1} points; {LIMITS}, so it was accepted and marked as spam.").as_str()
        )
    );

    // Refused by the domain's DMARC policy.
    let (page, forged) = page_of(&mut b, &server, "ceo@forged.example");
    assert_eq!(
        stage(&forged, "Sender"),
        (
            "refused",
            "The mail claims to be from forged.example, but forged.example's DMARC policy rejects mail from the server that sent it (DMARC fail, p=reject): forged.example says the sending server may not send its mail (SPF fail); it is not signed (DKIM none). So the mail was refused, as the domain asks."
        )
    );
    assert_eq!(
        stage(&forged, "Answer"),
        (
            "refused",
            "The mail was refused for good. The sending server was told “Sender authentication failed: DMARC policy of forged.example says reject” and tells the patron so in a bounce."
        )
    );
    let (verdict, document) = stage(&forged, "Document");
    assert_eq!(verdict, "info");
    assert!(document.ends_with("was not looked at further: the mail was not accepted."), "{document}");
    assert_eq!(
        stage(&forged, "Reply"),
        ("info", "No reply was sent: printgate answers only mail it accepted; for this one the sending server tells the patron.")
    );
    assert_raw_folded(&page, &["spf=fail", "dmarc=fail", "policy.dmarc=reject", "550 5.7.1"]);

    // Refused for a virus.
    let (page, infected) = page_of(&mut b, &server, "eicar@example.com");
    let (verdict, scan) = stage(&infected, "Virus scan");
    assert_eq!(verdict, "refused");
    assert!(
        scan.starts_with("The virus scanner found the virus “")
            && scan.to_ascii_lowercase().contains("eicar")
            && scan.ends_with("” in the mail, so it was refused."),
        "{scan}"
    );
    let (verdict, answer) = stage(&infected, "Answer");
    assert_eq!(verdict, "refused");
    assert!(answer.starts_with("The mail was refused for good. The sending server was told “Message refused: virus found ("), "{answer}");
    assert_raw_folded(&page, &["554 5.7.1"]);
}
