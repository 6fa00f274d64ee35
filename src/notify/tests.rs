use super::*;

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
    let content = ReplyContent { library: "Town Library", code: Some(&code), documents: &docs, expires: "2026-11-28 13:00 UTC", in_reply_to: Some("m1@x"), options: "double-sided, 2 copies", commands_address: None,
        extension: "24 hours",
        message_id: "r1@print.test" };
    assert_eq!(subject(&content), "Ready to print: 1 document, code 4821 0937");
    let raw = render("printgate@print.test", "pat@example.com", &content, None).unwrap();
    let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let text = message.body_text(0).unwrap();
    assert!(text.contains("Release code: 4821 0937"), "{text}");
    assert!(text.contains("- essay.pdf: printed as 3 pages"), "{text}");
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
    let content = ReplyContent { library: "L", code: None, documents: &docs, expires: "-", in_reply_to: None, options: "", commands_address: None,
        extension: "24 hours",
        message_id: "r2@print.test" };
    assert_eq!(subject(&content), "Could not print your documents");
    let raw = render("printgate@print.test", "pat@example.com", &content, None).unwrap();
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
