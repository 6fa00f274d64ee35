use super::*;
use crate::config::{AcceptPolicy, QueueConfig};
use crate::intake::{Document, Origin, Role};
use auth::{AuthResults, SenderGrade};

fn queue() -> QueueConfig {
    QueueConfig::sample()
}

fn auth(grade: SenderGrade) -> AuthResults {
    AuthResults {
        spf: "none".into(),
        dkim: "none".into(),
        dmarc: "none".into(),
        dmarc_policy: String::new(),
        arc: "none".into(),
        from_domain: "example.com".into(),
        grade,
        summary: String::new(),
    }
}

fn decide(queue: &QueueConfig, submission: &Submission, scans: &ScanResults) -> Verdict {
    super::decide(queue, submission, scans, &auth(SenderGrade::Unauthenticated))
}

fn submission(docs: &[(&str, DocumentType)]) -> Submission {
    Submission {
        documents: docs
            .iter()
            .map(|(n, t)| Document {
                name: (*n).into(),
                bytes: vec![],
                declared_type: String::new(),
                detected: *t,
                hazard: None,
                role: Role::Attachment,
                origin: Origin::Decoded,
            })
            .collect(),
        ..Submission::default()
    }
}

fn scans(clam: Result<ClamOutcome, ScanError>, score: f64) -> ScanResults {
    ScanResults { clam, spam: Ok(SpamReport { score, rules: vec![], truncated: false, reject_action: false }), spam_filter: SPAMASSASSIN }
}

#[test]
fn clean_pdf_is_accepted_and_tagged_by_score() {
    let s = submission(&[("a.txt", DocumentType::Text), ("b.pdf", DocumentType::Pdf)]);
    assert_eq!(decide(&queue(), &s, &scans(Ok(ClamOutcome::Clean), 1.0)), Verdict::Accept { printable: vec![1], spam_tagged: false });
    assert_eq!(decide(&queue(), &s, &scans(Ok(ClamOutcome::Clean), 5.0)), Verdict::Accept { printable: vec![1], spam_tagged: true });
}

#[test]
fn spam_at_the_reject_score_is_refused_with_score_and_limit() {
    let s = submission(&[("b.pdf", DocumentType::Pdf)]);
    assert_eq!(decide(&queue(), &s, &scans(Ok(ClamOutcome::Clean), 10.0)), Verdict::Refuse(Refusal::Spam { score: 10.0, limit: 10.0 }));
}

#[test]
fn a_virus_outranks_everything_but_an_outage() {
    let s = submission(&[("b.pdf", DocumentType::Pdf)]);
    let infected = Ok(ClamOutcome::Infected { signature: "Eicar".into() });
    assert_eq!(decide(&queue(), &s, &scans(infected, 1000.0)), Verdict::Refuse(Refusal::Virus { signature: "Eicar".into() }));
    let down =
        ScanResults { clam: Err(ScanError::Protocol("x".into())), spam: Err(ScanError::Protocol("y".into())), spam_filter: SPAMASSASSIN };
    assert_eq!(decide(&queue(), &s, &down), Verdict::TempFail(TempFailure::ScannerUnavailable { scanner: CLAMAV.into() }));
    let spam_down = ScanResults {
        clam: Ok(ClamOutcome::Clean),
        spam: Err(ScanError::Timeout { after: std::time::Duration::from_secs(1) }),
        spam_filter: SPAMASSASSIN,
    };
    assert_eq!(decide(&queue(), &s, &spam_down), Verdict::TempFail(TempFailure::ScannerUnavailable { scanner: SPAMASSASSIN.into() }));
}

#[test]
fn accept_policy_follows_the_sender_grade() {
    let s = submission(&[("b.pdf", DocumentType::Pdf)]);
    let clean = scans(Ok(ClamOutcome::Clean), 0.0);
    let q = queue();
    assert_eq!(
        super::decide(&q, &s, &clean, &auth(SenderGrade::Failing)),
        Verdict::Refuse(Refusal::SenderFailing { domain: "example.com".into() })
    );
    assert!(matches!(super::decide(&q, &s, &clean, &auth(SenderGrade::Unauthenticated)), Verdict::Accept { .. }));
    let strict = QueueConfig { accept_policy: AcceptPolicy::Authenticated, ..queue() };
    assert!(matches!(
        super::decide(&strict, &s, &clean, &auth(SenderGrade::Unauthenticated)),
        Verdict::Refuse(Refusal::SenderUnauthenticated { .. })
    ));
    assert!(matches!(super::decide(&strict, &s, &clean, &auth(SenderGrade::Authenticated)), Verdict::Accept { .. }));
    let open = QueueConfig { accept_policy: AcceptPolicy::Any, ..queue() };
    assert!(matches!(super::decide(&open, &s, &clean, &auth(SenderGrade::Failing)), Verdict::Accept { .. }));
}

#[test]
fn nothing_printable_names_what_was_found() {
    let s = submission(&[("setup.exe", DocumentType::Executable), ("notes.txt", DocumentType::Text)]);
    match decide(&queue(), &s, &scans(Ok(ClamOutcome::Clean), 0.0)) {
        Verdict::Refuse(Refusal::NothingPrintable { found }) => {
            assert_eq!(found, "setup.exe: programs cannot be printed; notes.txt: plain text files are not accepted by this printer");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn large_messages_give_spamd_headers_and_text_only() {
    let mut raw =
        b"From: a@b\r\nSubject: big\r\nContent-Type: multipart/mixed;\r\n boundary=x\r\nX-Folded: one\r\n two\r\n\r\n--x\r\n".to_vec();
    raw.extend(std::iter::repeat_n(b'A', 10_000));
    let mut submission = submission(&[("big.pdf", DocumentType::Pdf)]);
    submission.documents.push(Document {
        name: "message body".into(),
        bytes: b"Please print my thesis".to_vec(),
        declared_type: "text/plain".into(),
        detected: DocumentType::Text,
        hazard: None,
        role: Role::Body,
        origin: Origin::Decoded,
    });
    assert_eq!(spam_input(&raw, &submission, 20_000).as_ref(), raw.as_slice(), "small messages go as they are");
    let reduced = spam_input(&raw, &submission, 60);
    assert!(reduced.len() <= 60);
    let reduced = String::from_utf8(spam_input(&raw, &submission, 4000).into_owned()).unwrap();
    assert!(reduced.starts_with("From: a@b\r\nSubject: big\r\nX-Folded: one\r\n two\r\n"), "{reduced}");
    assert!(!reduced.contains("boundary=x") && reduced.contains("Content-Type: text/plain"), "{reduced}");
    assert!(reduced.ends_with("\r\n\r\nPlease print my thesis\r\n"), "{reduced}");
}

#[test]
fn only_binary_documents_in_plain_base64_parts_skip_their_own_clamd_scan() {
    use DocumentType as T;
    let cases = [
        (Role::Attachment, Origin::Base64Part, T::Pdf, false),
        (Role::Attachment, Origin::Base64Part, T::Jpeg, false),
        (Role::Attachment, Origin::Base64Part, T::Docx, false),
        (Role::InlineImage, Origin::Base64Part, T::Png, false),
        (Role::Attachment, Origin::Decoded, T::Pdf, true),
        (Role::Attachment, Origin::Base64Part, T::Html, true),
        (Role::Attachment, Origin::Base64Part, T::Script, true),
        (Role::Attachment, Origin::Base64Part, T::Text, true),
        (Role::Attachment, Origin::Base64Part, T::Unknown, true),
        (Role::Attachment, Origin::Base64Part, T::Executable, true),
        (Role::SignatureImage, Origin::Decoded, T::Png, true),
        (Role::Body, Origin::Decoded, T::Text, false),
    ];
    for (role, origin, kind, own) in cases {
        assert_eq!(needs_own_scan(role, origin, kind), own, "{role:?} {origin:?} {kind:?}");
    }
}
