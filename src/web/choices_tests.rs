use super::*;

#[test]
fn choices_parse_or_name_the_field() {
    let ok = |copies, duplex, color| Choices { copies, duplex, color };
    for (input, queue_color, want) in [
        (("", "", ""), false, Ok(ok(1, false, None))),
        (("3", "on", ""), false, Ok(ok(3, true, None))),
        ((" 20 ", "yes", ""), false, Ok(ok(20, true, None))),
        (("21", "", ""), false, Err(Problem::Copies)),
        (("0", "", ""), false, Err(Problem::Copies)),
        (("-1", "", ""), false, Err(Problem::Copies)),
        (("two", "", ""), false, Err(Problem::Copies)),
        (("1", "simplex", ""), false, Ok(ok(1, false, None))),
        (("1", "maybe", ""), false, Err(Problem::Duplex)),
        (("1", "", "color"), false, Ok(ok(1, false, None))),
        (("1", "", "colour"), true, Ok(ok(1, false, Some(true)))),
        (("1", "", "mono"), true, Ok(ok(1, false, Some(false)))),
        (("1", "", ""), true, Ok(ok(1, false, None))),
        (("1", "", "purple"), true, Err(Problem::Color)),
    ] {
        assert_eq!(parse_choices(input.0, input.1, input.2, queue_color), want, "{input:?} colour queue {queue_color}");
    }
}

#[test]
fn the_subject_carries_the_options_intake_reads() {
    use crate::intake::options::PrintOptions;
    for (choices, subject_text) in [
        (Choices { copies: 1, duplex: false, color: None }, "Web upload"),
        (Choices { copies: 2, duplex: true, color: None }, "Web upload [copies=2, duplex]"),
        (Choices { copies: 1, duplex: false, color: Some(false) }, "Web upload [mono]"),
        (Choices { copies: 5, duplex: true, color: Some(true) }, "Web upload [copies=5, duplex, color]"),
    ] {
        assert_eq!(subject(choices), subject_text);
        let read = PrintOptions::from_mail(Some(subject_text), &[]);
        assert_eq!((read.copies, read.duplex, read.color), (choices.copies, choices.duplex, choices.color), "{subject_text}");
    }
}

#[test]
fn addresses_a_reply_can_go_to() {
    for (address, usable) in [
        ("patron@example.org", true),
        ("first.last+print@mail.example.co.uk", true),
        ("", false),
        ("patron", false),
        ("patron@localhost", false),
        ("@example.org", false),
        ("patron@", false),
        ("pat ron@example.org", false),
        ("patron@example..org", false),
        ("patron@.example.org", false),
        ("<patron@example.org>", false),
        ("a@b@example.org", false),
        ("patron@example.org\r\nBcc: x@y.z", false),
    ] {
        assert_eq!(usable_email(address), usable, "{address:?}");
    }
    assert!(!usable_email(&format!("{}@example.org", "a".repeat(65))));
}

#[test]
fn limits_follow_the_mail_size() {
    for (length, max, too_large) in [
        (None, 1000, false),
        (Some(1000), 1000, false),
        (Some(1000 + FORM_OVERHEAD), 1000, false),
        (Some(1001 + FORM_OVERHEAD), 1000, true),
        (Some(u64::MAX), 25 << 20, true),
    ] {
        assert_eq!(declared_too_large(length, max), too_large, "{length:?} of {max}");
    }
}

#[test]
fn only_web_upload_queues_are_offered() {
    let text = crate::config::test_config(
        r#"
[smtp]
listen = "127.0.0.1:2525"
hostname = "p.test"

[[queue]]
address = "bw@p.test"
name = "bw"
site = "main"
web_upload = true

[[queue]]
address = "color@p.test"
name = "color"
site = "main"
color = true

[[site]]
name = "main"
public_key = "Cargo.toml"
"#,
    );
    let mut config = Config::from_toml(&text, std::path::Path::new("t.toml"), std::iter::empty()).unwrap();
    let names: Vec<String> = offered_queues(&config).into_iter().map(|q| q.name).collect();
    assert_eq!(names, ["bw"]);
    assert!(offered(&config, "color").is_none(), "a queue without web_upload is not taken");
    assert!(offered(&config, "bw").is_some());
    config.queue[1].web_upload = true;
    assert_eq!(offered_queues(&config).len(), 2);
    assert!(offered_queues(&config)[1].color);
}

#[test]
fn results_ids_are_long_hex_and_map_to_other_spool_ids() {
    let id = "0123456789abcdef0123456789abcdef";
    assert!(is_results_id(id));
    for bad in ["", "0123", "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef0123456789abcdeg", "../../etc/passwd0123456789abcdef"] {
        assert!(!is_results_id(bad), "{bad}");
    }
    let spool = spool_id(id);
    assert_eq!(spool.len(), 32);
    assert_ne!(spool, id);
    assert_eq!(spool, spool_id(id), "the same page finds the same message");
}
