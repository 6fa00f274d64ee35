//! The queue rules, each as a table, and the config file refused by them under the queue's key.

use std::path::Path;

use super::*;
use crate::config::{ConfigError, QueueOverride};

#[test]
fn spam_lines_are_numbers_above_0_at_most_100_with_reject_above_tag() {
    let table: &[(f64, f64, Option<&str>, Option<&str>)] = &[
        (5.0, 10.0, None, None),
        (0.1, 0.2, None, None),
        (99.9, 100.0, None, None),
        (-20.0, -10.0, Some("above 0"), Some("above 0")),
        (0.0, 10.0, Some("above 0"), None),
        (5.0, 0.0, None, Some("above 0")),
        (9.0, 3.0, None, Some("above the spam tag score (9)")),
        (7.0, 7.0, None, Some("above the spam tag score (7)")),
        (5.0, 100.5, None, Some("above 100")),
        (150.0, 200.0, Some("above 100"), Some("above 100")),
        (f64::NAN, 10.0, Some("must be a number"), None),
        (5.0, f64::INFINITY, None, Some("must be a number")),
        (f64::NEG_INFINITY, 10.0, Some("must be a number"), None),
    ];
    for (tag, reject, tag_says, reject_says) in table {
        let (tag_problem, reject_problem) = spam_score_problems(*tag, *reject);
        for (what, problem, says) in [("tag", tag_problem, tag_says), ("reject", reject_problem, reject_says)] {
            match (problem, says) {
                (None, None) => {}
                (Some(p), Some(s)) => assert!(p.contains(s), "{tag}/{reject}: {what}: {p:?} does not say {s:?}"),
                (p, s) => panic!("{tag}/{reject}: {what}: got {p:?}, expected {s:?}"),
            }
        }
    }
}

#[test]
fn pages_retention_and_types_have_bounds() {
    for (pages, ok) in [(0, false), (1, true), (100, true), (10_000, true), (10_001, false), (u32::MAX, false)] {
        assert_eq!(max_pages_problem(pages).is_none(), ok, "max_pages {pages}");
    }
    let hours = |h: u64| Duration::from_secs(h * 3600);
    for (retention, ok) in [
        (Duration::ZERO, false),
        (hours(1) - Duration::from_secs(1), false),
        (hours(1), true),
        (hours(72), true),
        (hours(90 * 24), true),
        (hours(90 * 24 + 1), false),
    ] {
        assert_eq!(retention_problem(retention).is_none(), ok, "retention {retention:?}");
    }
    let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(allowed_types_problem(&names(&["pdf", "IMAGES", "docx"])), None);
    assert!(allowed_types_problem(&names(&[])).unwrap().contains("at least one"));
    assert!(allowed_types_problem(&names(&["pdf", "exe", "pages"])).unwrap().contains("\"exe\", \"pages\""));
    for name in KNOWN_TYPE_NAMES {
        assert!(DocumentType::from_config_name(name).is_some(), "{name} is listed as known but is not");
    }
}

#[test]
fn print_addresses_are_plain_ascii_addresses_of_at_most_254_characters() {
    let long_local = format!("{}@print.test", "a".repeat(65));
    let longest = format!("{}@{}.{}.{}.e", "a".repeat(64), "b".repeat(63), "c".repeat(63), "d".repeat(59));
    let too_long = format!("{}@print.test", "a".repeat(250));
    let table: &[(&str, Option<&str>)] = &[
        ("bw@print.example.org", None),
        ("BW.Colour_2@Print-Room.example.org", None),
        (&longest, None),
        ("bw", Some("not an email address")),
        ("@print.test", Some("not an email address")),
        ("bw@", Some("not an email address")),
        ("bw@localhost", Some("not an email address")),
        ("b w@print.test", Some("not an email address")),
        ("bw..x@print.test", Some("not an email address")),
        (".bw@print.test", Some("not an email address")),
        ("bw@print..test", Some("not an email address")),
        ("bw@-print.test", Some("not an email address")),
        ("bw@print_room.test", Some("not an email address")),
        ("drücken@print.test", Some("not an email address")),
        ("bw@bw@print.test", Some("not an email address")),
        ("bw+duplex@print.test", Some("must not contain '+'")),
        (&long_local, Some("not an email address")),
        (&too_long, Some("at most 254")),
    ];
    assert_eq!(longest.len(), 254);
    for (address, says) in table {
        match (address_problem(address), says) {
            (None, None) => {}
            (Some(p), Some(s)) => assert!(p.contains(s), "{address}: {p:?} does not say {s:?}"),
            (p, s) => panic!("{address}: got {p:?}, expected {s:?}"),
        }
    }
}

/// Two queues (the first with `QUEUE0` to fill in) on one site, then the shared sections.
fn file() -> String {
    super::super::test_config(
        r#"
[smtp]
listen = "127.0.0.1:2525"
hostname = "print.test"

[[queue]]
address = "bw@print.test"
name = "bw"
site = "main"
QUEUE0

[[queue]]
address = "colour@print.test"
name = "colour"
site = "main"

[[site]]
name = "main"
public_key = "Cargo.toml"
"#,
    )
}

fn load(queue0: &str) -> Result<Config, ConfigError> {
    Config::from_toml(&file().replace("QUEUE0", queue0), Path::new("test.toml"), std::iter::empty())
}

/// The file is refused by the same rules, each problem under its queue key (what
/// `check-config` prints and `serve` refuses to start with).
#[test]
fn the_config_file_is_refused_naming_the_queue_key() {
    let table: &[(&str, &str, &str)] = &[
        ("spam_tag_score = -20.0\nspam_reject_score = -10.0", "queue[0].spam_tag_score", "above 0"),
        ("spam_tag_score = 7.0\nspam_reject_score = 7.0", "queue[0].spam_reject_score", "above the spam tag score"),
        ("spam_tag_score = nan", "queue[0].spam_tag_score", "must be a number"),
        ("spam_reject_score = inf", "queue[0].spam_reject_score", "must be a number"),
        ("spam_reject_score = 1000.0", "queue[0].spam_reject_score", "above 100"),
        ("max_pages = 0", "queue[0].max_pages", "at least 1"),
        ("max_pages = 20000", "queue[0].max_pages", "10000"),
        ("retention = \"30m\"", "queue[0].retention", "at least 1 hour"),
        ("retention = \"91d\"", "queue[0].retention", "at most 90 days"),
        ("allowed_types = []", "queue[0].allowed_types", "at least one"),
    ];
    for (lines, key, says) in table {
        let Err(ConfigError::Invalid(issues)) = load(lines) else { panic!("{lines:?} was accepted") };
        let issue = issues.iter().find(|i| i.key == *key).unwrap_or_else(|| panic!("{lines:?}: nothing under {key}: {issues:?}"));
        assert!(issue.problem.contains(says), "{lines:?}: {issue}");
    }
    let same_address = file().replace("QUEUE0", "").replace("colour@print.test", "BW@Print.Test");
    let Err(ConfigError::Invalid(issues)) = Config::from_toml(&same_address, Path::new("t"), std::iter::empty()) else {
        panic!("two queues on one address were accepted")
    };
    let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["queue[0].address", "queue[1].address"], "{issues:?}");
    assert!(load("spam_tag_score = 4.5\nspam_reject_score = 9.5\nmax_pages = 10000\nretention = \"90d\"").is_ok());
}

/// A console setting is applied only when its queue keeps the rules; the file's values stay
/// otherwise (the file changed under it). Only the fields that differ from the file are kept.
#[test]
fn overrides_that_break_a_rule_are_left_out_and_only_differences_are_kept() {
    let file = load("").unwrap();
    let good = QueueOverride { queue: "bw".into(), spam_reject_score: Some(8.0), ..QueueOverride::default() };
    let taken = QueueOverride { queue: "colour".into(), address: Some("bw@print.test".into()), ..QueueOverride::default() };
    let below = QueueOverride { queue: "colour".into(), spam_reject_score: Some(4.0), ..QueueOverride::default() };
    let gone = QueueOverride { queue: "nosuchqueue".into(), max_pages: Some(5), ..QueueOverride::default() };
    for (overrides, applied_reject, refused) in [
        (vec![good.clone()], [8.0, 10.0], vec![]),
        (vec![good.clone(), taken], [8.0, 10.0], vec!["colour"]),
        (vec![below, gone], [10.0, 10.0], vec!["colour"]),
    ] {
        let (config, left_out) = file.apply_overrides(&overrides);
        assert_eq!([config.queue[0].spam_reject_score, config.queue[1].spam_reject_score], applied_reject, "{overrides:?}");
        assert_eq!(config.queue[1].address, "colour@print.test");
        assert_eq!(left_out.iter().map(|r| r.queue.as_str()).collect::<Vec<_>>(), refused, "{left_out:?}");
    }
    let mut wanted = file.queue[0].clone();
    wanted.spam_tag_score = 2.0;
    wanted.address = "BW@print.test".into();
    let o = QueueOverride::between(&file.queue[0], &wanted, "librarian", 7);
    assert_eq!((o.spam_tag_score, o.address.as_ref(), o.max_pages), (Some(2.0), None, None), "{o:?}");
    assert!(QueueOverride::between(&file.queue[0], &file.queue[0], "x", 1).is_empty());
    let listed = crate::config::overrides::changes(&file.queue[0], &wanted);
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].field, listed[0].before.as_str(), listed[0].after.as_str()), ("spam_tag_score", "5", "2"));
}

#[test]
fn sender_policy_caps_days_and_verification_have_rules() {
    use crate::config::{QueueConfig, ReplyPolicy};
    let ok = QueueConfig { daily_pages: Some(100), guest_daily_pages: Some(3), queue_daily_pages: Some(1), ..QueueConfig::sample() };
    assert!(sender_policy_problems(&ok).is_empty());
    // (the queue, the field refused, what the problem says)
    for (q, field, says) in [
        (QueueConfig { daily_pages: Some(0), ..QueueConfig::sample() }, "daily_pages", "leave it out for no cap"),
        (QueueConfig { daily_color_pages: Some(DAILY_PAGES_MAX + 1), ..QueueConfig::sample() }, "daily_color_pages", "1 to 1000000"),
        (QueueConfig { guest_daily_pages: Some(0), ..QueueConfig::sample() }, "guest_daily_pages", "not a page cap"),
        (QueueConfig { queue_daily_pages: Some(0), ..QueueConfig::sample() }, "queue_daily_pages", "not a page cap"),
        (QueueConfig { verified_sender_days: 0, ..QueueConfig::sample() }, "verified_sender_days", "1 to 3650 days"),
        (QueueConfig { verified_sender_days: 3651, ..QueueConfig::sample() }, "verified_sender_days", "1 to 3650 days"),
        (
            QueueConfig { verify_new_senders: true, reply_policy: ReplyPolicy::Never, ..QueueConfig::sample() },
            "verify_new_senders",
            "needs replies",
        ),
    ] {
        let problems = sender_policy_problems(&q);
        assert_eq!(problems.len(), 1, "{field}: {problems:?}");
        assert_eq!(problems[0].0, field);
        assert!(problems[0].1.contains(says), "{field}: {:?} does not say {says:?}", problems[0].1);
    }
}
