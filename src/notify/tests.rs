use super::*;
use mail_parser::MimeHeaders;

fn lines() -> Vec<DocumentLine> {
    vec![
        DocumentLine { name: "essay.pdf".into(), ok: true, pages: 3, ..Default::default() },
        DocumentLine { name: "setup.exe".into(), reason: "executable program files are not accepted".into(), ..Default::default() },
    ]
}

#[test]
fn reply_names_code_documents_and_expiry() {
    let code = ReleaseCode::parse("48210937").unwrap();
    let docs = lines();
    let content = ReplyContent {
        library: "Town Library",
        code: Some(&code),
        documents: &docs,
        expires: "2026-11-28 13:00 UTC",
        in_reply_to: Some("<m1@x>"),
        options: "double-sided, 2 copies",
        commands_address: None,
        extension: "24 hours",
        message_id: "r1@print.test",
    };
    assert_eq!(subject(&content, Language::En), "Ready to print: 1 document, code 4821 0937");
    let raw = render("printgate@print.test", "pat@example.com", &content, &QueueReplies::builtin(Language::En), None).unwrap();
    let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let text = message.body_text(0).unwrap();
    assert!(text.contains("Release code: 4821 0937"), "{text}");
    assert!(text.contains("- essay.pdf: 3 pages, black and white"), "{text}");
    assert!(text.contains("- setup.exe: refused: executable program files are not accepted"), "{text}");
    assert!(text.contains("2026-11-28 13:00 UTC"));
    assert!(text.contains("Options: double-sided, 2 copies"), "{text}");
    assert!(message.body_html(0).unwrap().contains("4821 0937"));
    assert_eq!(message.in_reply_to().as_text(), Some("m1@x"));
    assert_eq!(message.message_id(), Some("r1@print.test"));
}

#[test]
fn no_code_means_a_could_not_print_reply() {
    let docs = vec![lines().remove(1)];
    let content = ReplyContent {
        library: "L",
        code: None,
        documents: &docs,
        expires: "-",
        in_reply_to: None,
        options: "",
        commands_address: None,
        extension: "24 hours",
        message_id: "r2@print.test",
    };
    assert_eq!(subject(&content, Language::En), "Could not print your documents");
    let raw = render("printgate@print.test", "pat@example.com", &content, &QueueReplies::builtin(Language::En), None).unwrap();
    let text = mail_parser::MessageParser::default().parse(&raw).unwrap().body_text(0).unwrap().into_owned();
    assert!(!text.contains("Release code"), "{text}");
}

#[test]
fn relay_urls() {
    assert_eq!(RelayUrl::parse("smtp://127.0.0.1:2526").unwrap(), RelayUrl { host: "127.0.0.1".into(), port: 2526, implicit_tls: false });
    assert_eq!(RelayUrl::parse("smtps://mail.example.org").unwrap().port, 465);
    assert!(RelayUrl::parse("http://x").is_err());
    assert!(RelayUrl::parse("smtp://:25").is_err());
}

fn queue_config(extra: &str) -> crate::config::QueueConfig {
    toml::from_str(&format!("address = \"bw@print.test\"\nname = \"bw\"\nsite = \"main\"\n{extra}")).unwrap()
}

fn sample<'a>(code: &'a ReleaseCode, docs: &'a [DocumentLine], expires: &'a str) -> ReplyContent<'a> {
    ReplyContent {
        library: "Stadtbibliothek",
        code: Some(code),
        documents: docs,
        expires,
        in_reply_to: Some("<m1@x>"),
        options: "",
        commands_address: Some("bw+c00@print.test"),
        extension: "24 Stunden",
        message_id: "r1@print.test",
    }
}

/// A German queue in Berlin: subject, code line, document lines and expiry are German, the
/// zone abbreviation is Berlin's, and the code line keeps the documented label.
#[test]
fn a_german_queue_replies_in_german_in_its_zone() {
    let replies = QueueReplies::load(&queue_config("language = \"de\"\ntimezone = \"Europe/Berlin\"")).unwrap();
    let code = ReleaseCode::parse("48210937").unwrap();
    let docs = vec![
        DocumentLine { name: "aufsatz.pdf".into(), ok: true, pages: 3, ..Default::default() },
        DocumentLine {
            name: "bild.pdf".into(),
            ok: true,
            pages: 1,
            greyscale: true,
            note: "its colour prints in shades of grey".into(),
            ..Default::default()
        },
    ];
    let expires = when::format(1_795_784_700, &replies.zone, replies.language);
    let content = sample(&code, &docs, &expires);
    assert_eq!(subject(&content, replies.language), "Bereit zum Drucken: 2 Dokumente, Code 4821 0937");
    let raw = render("printgate@print.test", "pat@example.com", &content, &replies, None).unwrap();
    let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(message.subject(), Some("Bereit zum Drucken: 2 Dokumente, Code 4821 0937"));
    let text = message.body_text(0).unwrap();
    assert!(text.lines().any(|l| l == "Freigabecode: 4821 0937"), "{text}");
    assert_eq!(Language::De.code_label(), "Freigabecode: ");
    assert!(text.contains("- aufsatz.pdf: 3 Seiten, schwarz-weiß"), "{text}");
    assert!(text.contains("- bild.pdf: 1 Seite, schwarz-weiß (die farbigen Seiten in Graustufen)"), "{text}");
    assert!(text.contains("bis Freitag, 27. November 2026, 14:05 Uhr (CET)"), "{text}");
    assert!(text.contains("RESEND"), "{text}");
    assert!(message.body_html(0).unwrap().contains("lang=\"de\""));
}

/// The HTML part is `multipart/related` with the QR PNG, referenced by its Content-ID; the
/// text part has no trace of it.
#[test]
fn the_html_part_carries_the_qr_code_inline() {
    let code = ReleaseCode::parse("48210937").unwrap();
    let docs = lines();
    let content = sample(&code, &docs, "soon");
    let raw = render("printgate@print.test", "pat@example.com", &content, &QueueReplies::builtin(Language::En), None).unwrap();
    let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let html = message.body_html(0).unwrap().into_owned();
    assert!(html.contains("src=\"cid:qr.r1@print.test\""), "{html}");
    let image = message
        .parts
        .iter()
        .find(|p| p.content_type().is_some_and(|t| t.ctype() == "image" && t.subtype() == Some("png")))
        .expect("an image/png part");
    assert_eq!(image.content_id(), Some("qr.r1@print.test"));
    let png = image::load_from_memory(image.contents()).unwrap();
    assert!(png.width() >= 150, "a readable size, not {}", png.width());
    let raw_text = String::from_utf8_lossy(&raw);
    assert!(raw_text.contains("multipart/related"), "{raw_text}");
    assert!(!message.body_text(0).unwrap().contains("cid:"));
    // A failure reply has no code, so no image.
    let failed = ReplyContent { code: None, ..content };
    let raw = render("printgate@print.test", "pat@example.com", &failed, &QueueReplies::builtin(Language::En), None).unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("image/png"));
}

/// Every notice renders in every built-in language (the templates are semi-strict: a missing
/// variable would fail here), with its subject and the facts it promises.
#[test]
fn every_notice_renders_in_every_language() {
    use NoticeKind as K;
    let kinds = [K::Cancelled, K::NothingToCancel, K::Extended, K::NotExtended, K::NotResent, K::NotACommand, K::Reminder, K::VerifySender];
    for language in Language::ALL {
        let replies = QueueReplies::builtin(language);
        for kind in kinds {
            let documents = vec!["essay.pdf".to_owned(), "map.pdf".to_owned()];
            let content = NoticeContent {
                library: "Town Library",
                kind,
                in_reply_to: Some(" <cmd@example.com>\r\n"),
                message_id: "n1@print.test",
                commands_address: Some("bw+c00@print.test"),
                expires: "EXPIRY-TEXT",
                extension: "24 hours",
                jobs: 2,
                documents: &documents,
            };
            let raw = render_notice("printgate@print.test", "pat@example.com", &content, &replies, None).unwrap();
            let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
            assert_eq!(message.subject(), Some(language.notice_subject(kind)), "{language:?} {kind:?}");
            assert_eq!(message.header("Auto-Submitted").and_then(|h| h.as_text()), Some("auto-replied"));
            assert_eq!(message.in_reply_to().as_text(), Some("cmd@example.com"));
            let text = message.body_text(0).unwrap();
            let opening = text.lines().nth(2).unwrap_or_default();
            assert!(opening.len() > 20, "{language:?} {kind:?} has no sentence of its own:\n{text}");
            if matches!(kind, K::Extended | K::Reminder | K::VerifySender) {
                assert!(text.contains("EXPIRY-TEXT"), "{language:?} {kind:?} does not name the expiry:\n{text}");
            }
            if matches!(kind, K::Reminder | K::VerifySender) {
                assert!(text.contains("- essay.pdf") && text.contains("- map.pdf"), "{text}");
            }
            if kind == K::VerifySender {
                // The question asks for YES only: no command list that would act on held jobs.
                assert!(text.contains("YES") && !text.contains("RESEND"), "{language:?}:\n{text}");
            }
        }
    }
}

/// A queue's own templates replace the built-in ones; a missing file, a syntax error, an
/// unknown variable or a text part without the code line is an error naming the file.
#[test]
fn queue_templates_override_and_are_checked_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let write = |txt: &str, html: &str| {
        std::fs::write(dir.path().join("reply.txt.j2"), txt).unwrap();
        std::fs::write(dir.path().join("reply.html.j2"), html).unwrap();
    };
    let load = || QueueReplies::load(&queue_config(&format!("templates = \"{}\"", dir.path().display())));
    let good_text =
        "Our branch says hi.\n{% if code %}Release code: {{ code }}\n{% endif %}{% for d in documents %}* {{ d.name }}\n{% endfor %}";
    write(good_text, "<p>{{ code }}</p>");
    let replies = load().unwrap();
    let code = ReleaseCode::parse("48210937").unwrap();
    let docs = lines();
    let (text, html) = replies.render_reply(&sample(&code, &docs, "x"), None).unwrap();
    assert!(text.starts_with("Our branch says hi.\nRelease code: 4821 0937\n* essay.pdf"), "{text}");
    assert_eq!(html, "<p>4821 0937</p>");

    let problem = |result: Result<QueueReplies, Vec<(&'static str, String)>>| {
        let problems = result.unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, "templates");
        problems[0].1.clone()
    };
    std::fs::remove_file(dir.path().join("reply.html.j2")).unwrap();
    let e = problem(load());
    assert!(e.contains("reply.html.j2"), "{e}");
    write("{% if code %}Release code: {{ code }}", "<p></p>");
    let e = problem(load());
    assert!(e.contains("reply.txt.j2") && e.contains("syntax error"), "{e}");
    write(&format!("{good_text}{{{{ librar }}}}"), "<p></p>");
    let e = problem(load());
    assert!(e.contains("undefined"), "an unknown variable is reported: {e}");
    write("Your code is {{ code }}\n{% for d in documents %}{{ d.name }}\n{% endfor %}", "<p></p>");
    let e = problem(load());
    assert!(e.contains("Release code: 1234 5678"), "{e}");
}

/// Every built-in language renders both kinds of reply (with a code, and could-not-print),
/// keeps its code label on one line and names every document.
#[test]
fn every_language_renders_both_replies_and_keeps_the_contract() {
    let code = ReleaseCode::parse("48210937").unwrap();
    let docs = lines();
    for language in Language::ALL {
        let replies = QueueReplies::builtin(language);
        let ok = sample(&code, &docs, "EXPIRY-TEXT");
        let (text, html) = replies.render_reply(&ok, Some("qr.r1@print.test")).unwrap();
        assert!(text.lines().any(|l| l == format!("{}4821 0937", language.code_label())), "{language:?}:\n{text}");
        assert!(text.contains("- essay.pdf: ") && text.contains("- setup.exe: "), "{language:?}:\n{text}");
        assert!(text.contains("EXPIRY-TEXT") && html.contains("cid:qr.r1@print.test"), "{language:?}");
        let failed = ReplyContent { code: None, commands_address: None, ..ok };
        let (text, html) = replies.render_reply(&failed, None).unwrap();
        assert!(!text.contains(language.code_label()) && !html.contains("cid:"), "{language:?}:\n{text}");
        assert!(text.contains("- setup.exe: "), "{language:?}:\n{text}");
    }
}

/// Only a valid msg-id is threaded on; a malformed one leaves the reply without In-Reply-To
/// and References (rather than copying the patron's bytes into our headers).
#[test]
fn replies_thread_only_on_a_valid_message_id() {
    let code = ReleaseCode::parse("48210937").unwrap();
    let docs = lines();
    let long = format!("<{}@example.com>", "a".repeat(1000));
    let cases = [
        (" <m1@example.com>\r\n", Some("m1@example.com")),
        ("<a b@c>", None),
        ("no-angle@x", None),
        ("<a\rb@c>", None),
        ("<m1@example.com>\r\nBcc: victim@example.net", None),
        (long.as_str(), None),
    ];
    for (field, kept) in cases {
        let mut content = sample(&code, &docs, "2026-11-28 13:00 UTC");
        content.in_reply_to = Some(field);
        let raw = render("printgate@print.test", "pat@example.com", &content, &QueueReplies::builtin(Language::En), None).unwrap();
        let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert_eq!(message.in_reply_to().as_text(), kept, "{field:?}");
        assert_eq!(message.references().as_text(), kept, "{field:?}");
        assert_eq!(text.contains("In-Reply-To:") || text.contains("References:"), kept.is_some(), "{field:?}");
        assert!(!text.contains("Bcc:"), "{field:?}");
    }
}
