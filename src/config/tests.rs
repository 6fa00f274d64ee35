use std::path::Path;

use super::*;

/// One queue on one site, then the shared sections ([`super::test_config`]).
fn base() -> String {
    super::test_config(
        r#"
[smtp]
listen = "127.0.0.1:2525"
hostname = "print.test"

[[queue]]
address = "bw@print.test"
name = "bw"
site = "main"

[[site]]
name = "main"
public_key = "Cargo.toml"
"#,
    )
}

fn parse(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
    Config::from_toml(text, Path::new("test.toml"), env.into_iter())
}

fn issues(result: Result<Config, ConfigError>) -> Vec<ConfigIssue> {
    match result {
        Err(ConfigError::Invalid(i)) => i,
        other => panic!("expected invalid config, got {other:?}"),
    }
}

#[test]
fn defaults_are_applied() {
    let c = parse(&base(), &[]).unwrap();
    assert_eq!(c.smtp.max_message_bytes, DEFAULT_MAX_MESSAGE_BYTES);
    let q = &c.queue[0];
    assert_eq!(q.retention, Duration::from_secs(72 * 3600));
    assert_eq!(q.allowed_types.names(), ["pdf", "images", "text", "office"]);
    // The default covers every type printgate can convert (the names docs/config.md lists).
    let allowed = q.allowed_types.types();
    for name in [
        "pdf", "jpeg", "png", "gif", "tiff", "bmp", "webp", "heic", "avif", "text", "html", "rtf", "docx", "xlsx", "pptx", "doc", "xls",
        "ppt", "odt", "ods", "odp",
    ] {
        for t in crate::doctype::DocumentType::from_config_name(name).unwrap() {
            assert!(allowed.contains(&t), "{name} is not allowed by default");
        }
    }
    assert_eq!(q.reply_policy, ReplyPolicy::NotFailing);
    assert_eq!(c.store.code_digits, 8);
    assert!(c.queue_for_address("BW@Print.Test").is_some());
}

#[test]
fn env_overrides_reach_nested_sections_and_typed_values() {
    let c = parse(
        &base(),
        &[
            ("PRINTGATE_SCAN_CLAMAV__ADDRESS", "127.0.0.1:3310"),
            ("PRINTGATE_SMTP__MAX_MESSAGE_BYTES", "1000"),
            ("PRINTGATE_STORE__DATABASE_URL", "postgres://u@h/db"),
            ("UNRELATED", "x"),
        ],
    )
    .unwrap();
    assert_eq!(c.scan.clamav.address, "127.0.0.1:3310");
    assert_eq!(c.smtp.max_message_bytes, 1000);
    assert_eq!(c.store.database_url, "postgres://u@h/db");
}

#[test]
fn unknown_keys_are_named() {
    let text = base().replace("hostname = \"print.test\"", "hostname = \"print.test\"\nmax_mesage_bytes = 5");
    let found = issues(parse(&text, &[]));
    assert!(found.iter().any(|i| i.problem.contains("max_mesage_bytes")), "{found:?}");
}

#[test]
fn every_semantic_problem_is_reported_at_once() {
    let text = base()
        .replace("site = \"main\"", "site = \"nowhere\"\nspam_tag_score = 9.0\nspam_reject_score = 3.0\nallowed_types = [\"pdf\", \"exe\"]")
        .replace("unix:/run/clamd.sock", "clamd")
        .replace("smtp://127.0.0.1:25", "http://relay")
        .replace("127.0.0.1:8443", "0.0.0.0:8443");
    let found = issues(parse(&text, &[]));
    let keys: Vec<&str> = found.iter().map(|i| i.key.as_str()).collect();
    for expected in
        ["queue[0].site", "queue[0].spam_reject_score", "queue[0].allowed_types", "scan.clamav.address", "relay.url", "api.listen"]
    {
        assert!(keys.contains(&expected), "{expected} missing from {keys:?}");
    }
    let text = ConfigError::Invalid(found).to_string();
    assert!(text.contains("queue[0].site: there is no site named \"nowhere\" (sites: main)"), "{text}");
}

#[test]
fn errors_in_different_sections_are_all_reported() {
    let text = base()
        .replace("hostname = \"print.test\"", "hostname = \"print.test\"\nmax_mesage_bytes = 5")
        .replace("site = \"main\"", "site = \"main\"\nmax_pages = \"many\"")
        .replace("[api]", "[apii]");
    let found = issues(parse(&text, &[]));
    let keys: Vec<&str> = found.iter().map(|i| i.key.as_str()).collect();
    for expected in ["smtp", "queue[0]", "apii", "api"] {
        assert!(keys.contains(&expected), "{expected} missing from {found:?}");
    }
}

#[test]
fn bad_durations_and_syntax_are_explained() {
    let found = issues(parse(&base().replace("site = \"main\"", "site = \"main\"\nretention = \"three days\""), &[]));
    assert!(found.iter().any(|i| i.key == "queue[0]" && i.problem.contains("invalid duration")), "{found:?}");
    assert!(matches!(parse("[smtp", &[]), Err(ConfigError::Syntax { .. })));
}

#[test]
fn the_shipped_default_config_parses() {
    let text = std::fs::read_to_string("config/printgate.toml").unwrap();
    let c: Config = toml::from_str(&text).expect("config/printgate.toml deserializes");
    let problems: Vec<_> = c.validate().into_iter().filter(|i| !i.key.ends_with("public_key")).collect();
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn duplicate_names_plus_addresses_and_a_certificate_without_key_are_refused() {
    let text = base()
        .replace("[[site]]", "[[queue]]\naddress = \"bw+x@print.test\"\nname = \"bw\"\nsite = \"main\"\nmax_pages = 0\n\n[[site]]")
        + "tls_cert = \"Cargo.toml\"\n";
    let found = issues(parse(&text, &[]));
    let keys: Vec<&str> = found.iter().map(|i| i.key.as_str()).collect();
    for expected in ["queue[1].address", "queue[1].name", "queue[1].max_pages", "api.tls_cert"] {
        assert!(keys.contains(&expected), "{expected} missing from {found:?}");
    }
    let memory = issues(parse(&base().replace("sqlite://data/x.db", "sqlite::memory:"), &[]));
    assert!(memory.iter().any(|i| i.key == "store.database_url"), "{memory:?}");
}

#[test]
fn summaries_never_show_passwords() {
    assert_eq!(redact_url("postgres://pg:s3cret@db:5432/print"), "postgres://pg:***@db:5432/print");
    assert_eq!(redact_url("postgres://pg@db/print"), "postgres://pg@db/print");
    let c = parse(&base(), &[("PRINTGATE_STORE__DATABASE_URL", "postgres://pg:s3cret@db/print")]).unwrap();
    let summary = c.summary();
    assert!(!summary.contains("s3cret") && summary.contains("queue bw: bw@print.test"), "{summary}");
}

#[test]
fn the_api_listens_publicly_only_with_https() {
    let public = base().replace("127.0.0.1:8443", "0.0.0.0:8443");
    let found = issues(parse(&public, &[]));
    assert!(found.iter().any(|i| i.key == "api.listen" && i.problem.contains("tls_cert")), "{found:?}");
    // Cargo.toml stands in for readable PEM files: the files are only parsed at start.
    let https = public + "tls_cert = \"Cargo.toml\"\ntls_key = \"Cargo.toml\"\n";
    assert!(parse(&https, &[]).is_ok(), "{:?}", parse(&https, &[]).err());
    let missing = base() + "tls_cert = \"/nonexistent/cert.pem\"\ntls_key = \"Cargo.toml\"\n";
    let found = issues(parse(&missing, &[]));
    assert!(found.iter().any(|i| i.key == "api.tls_cert" && i.problem.contains("/nonexistent/cert.pem")), "{found:?}");
    let zero = base().replace("[api]\n", "[api]\nmax_failed_codes = 0\n");
    assert!(issues(parse(&zero, &[])).iter().any(|i| i.key == "api.max_failed_codes"));
}

/// The admin console follows the release API's rule: plain HTTP only on a loopback address.
#[test]
fn the_admin_console_listens_publicly_only_with_https() {
    let local = base() + "\n[admin]\nlisten = \"127.0.0.1:8444\"\n";
    assert!(parse(&local, &[]).is_ok(), "{:?}", parse(&local, &[]).err());
    for public in ["0.0.0.0:8444", "192.0.2.10:8444", "[::]:8444"] {
        let text = local.replace("127.0.0.1:8444", public);
        let found = issues(parse(&text, &[]));
        assert!(found.iter().any(|i| i.key == "admin.listen" && i.problem.contains("tls_cert")), "{public}: {found:?}");
    }
    let https = local.replace("127.0.0.1:8444", "0.0.0.0:8444") + "tls_cert = \"Cargo.toml\"\ntls_key = \"Cargo.toml\"\n";
    assert!(parse(&https, &[]).is_ok(), "{:?}", parse(&https, &[]).err());
}

/// Reply settings are checked at load, each problem under its queue key: an unknown language
/// or zone, a templates directory without the files, a reminder not inside the retention.
#[test]
fn reply_language_zone_templates_and_reminder_are_checked() {
    let text = base().replace(
        "site = \"main\"\n",
        "site = \"main\"\nlanguage = \"klingon\"\ntimezone = \"Europe/Nowhere\"\ntemplates = \"/nonexistent/templates\"\nreminder_before = \"80h\"\n",
    );
    let found = issues(parse(&text, &[]));
    let keys: Vec<&str> = found.iter().map(|i| i.key.as_str()).collect();
    for key in ["queue[0].language", "queue[0].timezone", "queue[0].templates", "queue[0].reminder_before"] {
        assert!(keys.contains(&key), "{key} not reported: {found:?}");
    }
    let templates = found.iter().find(|i| i.key == "queue[0].templates").unwrap();
    assert!(templates.problem.contains("/nonexistent/templates/reply.txt.j2"), "{templates}");
    let ok = base()
        .replace("site = \"main\"\n", "site = \"main\"\nlanguage = \"de\"\ntimezone = \"America/New_York\"\nreminder_before = \"12h\"\n");
    let config = parse(&ok, &[]).unwrap();
    assert_eq!(config.queue[0].reminder_before, Some(Duration::from_secs(12 * 3600)));
}

/// Language and zone are typed values parsed at load (moved here from notify's tests with the
/// check): each unknown name is named under its own key.
#[test]
fn unknown_languages_and_zones_are_named() {
    let text = base().replace("site = \"main\"\n", "site = \"main\"\nlanguage = \"xx\"\ntimezone = \"Mars/Olympus\"\n");
    let problems = issues(parse(&text, &[]));
    let keys: Vec<&str> = problems.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["queue[0].language", "queue[0].timezone"], "{problems:?}");
    assert!(problems[0].problem.contains("\"xx\"") && problems[0].problem.contains("en, de"), "{problems:?}");
    assert!(problems[1].problem.contains("Mars/Olympus"), "{problems:?}");
}

/// `[web]`: the listener rule of `[api]`/`[admin]`, limits of at least 1, a queue to offer,
/// and no offered queue that would refuse uploads or never send their code.
#[test]
fn the_web_form_is_checked_with_its_queues() {
    let with = |web: &str, queue_extra: &str| {
        let text = base().replace("site = \"main\"\n", &format!("site = \"main\"\n{queue_extra}")) + web;
        parse(&text, &[])
    };
    let ok = with("\n[web]\nlisten = \"127.0.0.1:8081\"\n", "web_upload = true\n").unwrap();
    let web = ok.web.as_ref().unwrap();
    assert_eq!((web.max_uploads_per_address, web.max_uploads_per_ip, web.max_files), (10, 60, 20));
    assert_eq!(web.upload_window, Duration::from_secs(3600));
    assert!(ok.queue[0].web_upload);
    assert!(!parse(&base(), &[]).unwrap().queue[0].web_upload, "off by default");
    for (web, queue_extra, key, words) in [
        ("listen = \"0.0.0.0:8081\"\n", "web_upload = true\n", "web.listen", "loopback"),
        ("listen = \"127.0.0.1:8081\"\n", "", "web", "no [[queue]] has web_upload"),
        ("listen = \"127.0.0.1:8081\"\nmax_uploads_per_ip = 0\n", "web_upload = true\n", "web.max_uploads_per_ip", "at least 1"),
        ("listen = \"127.0.0.1:8081\"\nmax_files = 0\n", "web_upload = true\n", "web.max_files", "at least 1"),
        ("listen = \"127.0.0.1:8081\"\ntls_cert = \"Cargo.toml\"\n", "web_upload = true\n", "web.tls_cert", "together"),
        ("listen = \"127.0.0.1:8081\"\n", "web_upload = true\nreply_policy = \"never\"\n", "queue[0].web_upload", "reply_policy"),
        ("listen = \"127.0.0.1:8081\"\n", "web_upload = true\naccept_policy = \"authenticated\"\n", "queue[0].web_upload", "accept_policy"),
        ("listen = \"127.0.0.1:8081\"\nmax_upload = 3\n", "web_upload = true\n", "web", "max_upload"),
    ] {
        let found = issues(with(&format!("\n[web]\n{web}"), queue_extra));
        assert!(found.iter().any(|i| i.key == key && i.problem.contains(words)), "{web} {queue_extra}: {found:?}");
    }
}
