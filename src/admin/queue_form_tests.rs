use std::path::Path;
use std::time::Duration;

use super::*;

/// Two queues on two sites; `Cargo.toml` stands in for the site keys (only their existence is
/// checked at load).
fn config_text() -> String {
    crate::config::test_config(
        r#"
[smtp]
listen = "127.0.0.1:2525"
hostname = "print.test"

[[queue]]
address = "bw@print.test"
name = "bw"
site = "main"
reminder_before = "2h"

[[queue]]
address = "colour@print.test"
name = "colour"
site = "main"

[[site]]
name = "main"
public_key = "Cargo.toml"

[[site]]
name = "branch"
public_key = "Cargo.toml"
"#,
    )
}

fn config() -> Config {
    Config::from_toml(&config_text(), Path::new("test.toml"), std::iter::empty()).unwrap()
}

/// The form as the page fills it for `bw`, with `changes` typed over it.
fn form(changes: &[(&str, &str)]) -> HashMap<String, String> {
    let mut form: HashMap<String, String> = [
        ("address", "bw@print.test"),
        ("site", "main"),
        ("spam_tag_score", "5"),
        ("spam_reject_score", "10"),
        ("max_pages", "100"),
        ("retention", "3days"),
        ("allowed_types", "pdf, images, text, office"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (k, v) in changes {
        form.insert((*k).to_owned(), (*v).to_owned());
    }
    form
}

/// What is typed over the form, the field whose problem it is, and what the problem says.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

/// Each bad input is refused under the field it belongs to, with a message saying why.
#[test]
fn every_bad_value_is_refused_at_its_field() {
    let long = format!("{}@print.test", "a".repeat(250));
    let table: &[Case] = &[
        (&[("spam_tag_score", "-5")], "spam_tag_score", "above 0"),
        (&[("spam_tag_score", "0")], "spam_tag_score", "above 0"),
        (&[("spam_reject_score", "-1")], "spam_reject_score", "above 0"),
        (&[("spam_tag_score", "8"), ("spam_reject_score", "6")], "spam_reject_score", "above the spam tag score (8)"),
        (&[("spam_tag_score", "7"), ("spam_reject_score", "7")], "spam_reject_score", "above the spam tag score (7)"),
        (&[("spam_tag_score", "abc")], "spam_tag_score", "not a number"),
        (&[("spam_tag_score", "NaN")], "spam_tag_score", "not a number"),
        (&[("spam_reject_score", "inf")], "spam_reject_score", "not a number"),
        (&[("spam_reject_score", "1e3")], "spam_reject_score", "not a number"),
        (&[("spam_tag_score", "7,5")], "spam_tag_score", "not a number"),
        (&[("spam_reject_score", "150")], "spam_reject_score", "above 100"),
        (&[("max_pages", "ten")], "max_pages", "not a whole number"),
        (&[("max_pages", "-3")], "max_pages", "not a whole number"),
        (&[("max_pages", "0")], "max_pages", "at least 1"),
        (&[("max_pages", "1000000")], "max_pages", "most allowed, 10000"),
        (&[("max_pages", "99999999999999")], "max_pages", "most allowed, 10000"),
        (&[("retention", "0s")], "retention", "at least 1 hour"),
        (&[("retention", "abc")], "retention", "not a length of time"),
        (&[("retention", "400d")], "retention", "at most 90 days"),
        (&[("retention", "90m")], "retention", "shorter than the retention"),
        (&[("allowed_types", "pdf, exe")], "allowed_types", "unknown document type \"exe\""),
        (&[("allowed_types", " ")], "allowed_types", "at least one type"),
        (&[("address", "Colour@Print.Test")], "address", "already the address of queue colour"),
        (&[("address", "not-an-address")], "address", "not an email address"),
        (&[("address", "bw@localhost")], "address", "not an email address"),
        (&[("address", "b w@print.test")], "address", "not an email address"),
        (&[("address", "bw+x@print.test")], "address", "must not contain '+'"),
        (&[("address", "")], "address", "enter the address"),
        (&[("address", &long)], "address", "at most 254"),
        (&[("site", "nowhere")], "site", "no site named \"nowhere\""),
    ];
    let config = config();
    for (changes, field, expected) in table {
        let problems = check(&config, &[], 0, &form(changes)).expect_err(&format!("{changes:?} was accepted"));
        let problem = problems.get(*field).unwrap_or_else(|| panic!("{changes:?}: nothing at {field}: {problems:?}"));
        assert!(problem.contains(expected), "{changes:?}: {problem:?} does not say {expected:?}");
        assert_eq!(problems.len(), 1, "{changes:?}: one problem expected, got {problems:?}");
    }
}

#[test]
fn several_problems_are_reported_together_and_a_bad_number_hides_no_other_field() {
    let problems =
        check(&config(), &[], 0, &form(&[("spam_tag_score", "abc"), ("spam_reject_score", "3"), ("max_pages", "0")])).unwrap_err();
    assert_eq!(problems.keys().collect::<Vec<_>>(), ["max_pages", "spam_tag_score"], "{problems:?}");
}

#[test]
fn good_values_give_the_wanted_queue_and_absent_fields_keep_the_values_in_effect() {
    let wanted = check(
        &config(),
        &[],
        0,
        &form(&[
            ("address", " Copies@Print.Test "),
            ("site", "branch"),
            ("spam_tag_score", "2.5"),
            ("spam_reject_score", "6"),
            ("color", "1"),
        ]),
    )
    .unwrap();
    assert_eq!((wanted.address.as_str(), wanted.site.as_str()), ("copies@print.test", "branch"));
    assert_eq!((wanted.spam_tag_score, wanted.spam_reject_score, wanted.color), (2.5, 6.0, true));
    assert_eq!(wanted.retention, Duration::from_secs(72 * 3600));
    let in_effect = QueueOverride { queue: "bw".into(), max_pages: Some(50), ..QueueOverride::default() };
    let only_scores: HashMap<String, String> =
        [("spam_tag_score", "4"), ("spam_reject_score", "8")].map(|(k, v)| (k.into(), v.into())).into();
    let wanted = check(&config(), &[in_effect], 0, &only_scores).unwrap();
    assert_eq!((wanted.max_pages, wanted.address.as_str(), wanted.color), (50, "bw@print.test", false));
}

/// Another queue's console settings count: its new address is taken.
#[test]
fn another_queues_console_address_is_taken() {
    let moved = QueueOverride { queue: "colour".into(), address: Some("copies@print.test".into()), ..QueueOverride::default() };
    let problems = check(&config(), &[moved], 0, &form(&[("address", "copies@print.test")])).unwrap_err();
    assert!(problems["address"].contains("queue colour"), "{problems:?}");
}
