//! The station's kiosk page end to end: a mail to a real server (clamd, spamd, LibreOffice),
//! the code from its reply typed into `printgate station kiosk`'s page in Debian's headless
//! Chromium (tests/browser/kiosk.mjs), real IPP Everywhere printers (`ippeveprinter`) that
//! write down what they were asked to print. Screenshots go to `target/kiosk-screenshots/`.
//!
//! Covered: choosing documents and downgrades (greyscale, two-sided) with the on-screen keypad;
//! an offline printer; a printer failing a job and the other one printing it once; axe-core's
//! WCAG 2.0–2.2 A/AA rules, layout and touch targets on every screen at 800×480 and 1280×800
//! with a keyboard-only run and a switch to German; clearing an idle screen of everything of
//! the patron.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::kiosk::{Browser, Kiosk, browse, shots_dir};
use common::printer::{Printer, PrinterCommand};
use common::{Relay, Scanners, Server, release_code, sql};

/// A colour queue besides the default black-and-white one; three wrong codes lock a station
/// out.
fn start_server(relay: &Relay) -> Server {
    let queues = "[[queue]]\naddress = \"color@print.example.org\"\nname = \"color\"\nsite = \"main\"\ncolor = true\n\
                  allowed_types = [\"pdf\", \"text\"]\n\n[auth]\nresolver = \"static\"\n";
    Server::start_custom(&Scanners::real(), relay.port, "", queues, &|config, _| config.replace("[api]\n", "[api]\nmax_failed_codes = 3\n"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert").join(name)
}

/// Mails `files` to `to`; the release code of the reply (the relay's `replies_before + 1`th).
fn mail(server: &Server, relay: &Relay, replies_before: usize, to: &str, files: &[&Path]) -> String {
    let transcript = server.swaks_to(to, "patron@example.com", "please print", files);
    assert!(transcript.contains("250 2.0.0 Ok: queued as"), "not accepted:\n{transcript}");
    release_code(&relay.wait_for(replies_before + 1, Duration::from_secs(120))[replies_before])
}

/// `printgate station release CODE --printer URI`, as a station without the kiosk does.
fn release_on(server: &Server, code: &str, printer: &str) -> std::process::Output {
    std::process::Command::new(common::BIN)
        .args(["station", "release", code, "--server", &server.api_url(), "--token", &server.station_token(), "--printer", printer])
        .arg("--key")
        .arg(server.key_path())
        .output()
        .unwrap()
}

fn job_count(server: &Server) -> usize {
    sql(server, "SELECT COUNT(*) FROM jobs")[0].parse().unwrap()
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The printers as the documents screen showed them: (name, state words, disabled, checked).
fn printers(screen: &serde_json::Value) -> Vec<(String, String, bool, bool)> {
    let list = screen["printers"].as_array().unwrap_or_else(|| panic!("no printers in {screen}"));
    list.iter()
        .map(|p| {
            (p["name"].as_str().unwrap().to_owned(), p["state"].as_str().unwrap().to_owned(), p["disabled"] == true, p["checked"] == true)
        })
        .collect()
}

/// Acceptance 1: of a colour PDF and a text file, the patron (on the on-screen keypad) unticks
/// the text, asks for greyscale and both sides and prints on the preselected printer: the two
/// printers together get exactly one job, monochrome and two-sided. The text stays on the
/// server, and the same code releases it afterwards.
#[test]
fn in_chromium_a_patron_prints_one_of_two_documents_in_greyscale_on_both_sides_and_the_other_stays() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = start_server(&relay);
    let lobby = Printer::start_with(tmp.path(), "Lobby Printer", PrinterCommand::Record);
    let upstairs = Printer::start_with(tmp.path(), "Upstairs Printer", PrinterCommand::Record);
    let code = mail(&server, &relay, 0, "color@print.example.org", &[&fixture("colour.pdf"), &fixture("long.txt")]);
    assert_eq!(job_count(&server), 2);
    let kiosk = Kiosk::start(&server, tmp.path(), &[("Lobby", lobby.uri()), ("Upstairs", upstairs.uri())], &[]);

    let seen = browse(&kiosk, "print", &code, &[("VIA", "keypad"), ("UNTICK", "long")]);
    assert_eq!(seen["after_code"], "documents", "{seen}\n{}", kiosk.log());
    let names = seen["before"]["names"].to_string();
    assert!(names.contains("colour") && names.contains("long"), "{seen}");
    let shown = printers(&seen["before"]);
    assert_eq!(shown[0], ("Lobby".into(), "Ready".into(), false, true), "the first ready printer is preselected: {seen}");
    assert_eq!(shown[1], ("Upstairs".into(), "Ready".into(), false, false), "{seen}");
    assert!(seen["after_print"] == "printing" || seen["after_print"] == "done", "{seen}");
    assert!(seen["done_text"].as_str().unwrap_or_default().contains("Documents printed: 1"), "{seen}");

    let jobs: Vec<_> = lobby.job_attributes().into_iter().chain(upstairs.job_attributes()).collect();
    assert_eq!(jobs.len(), 1, "exactly one job reached the printers: {jobs:?}\n{}", kiosk.log());
    assert_eq!(lobby.job_attributes().len(), 1, "the preselected printer printed it");
    assert_eq!(jobs[0].get("IPP_PRINT_COLOR_MODE").map(String::as_str), Some("monochrome"), "{jobs:?}");
    assert_eq!(jobs[0].get("IPP_SIDES").map(String::as_str), Some("two-sided-long-edge"), "{jobs:?}");
    wait_until("the printed job is gone from the server", Duration::from_secs(10), || job_count(&server) == 1);

    // The unticked text document: the same code still releases it.
    drop(kiosk);
    let out = release_on(&server, &code, &upstairs.uri());
    assert!(out.status.success(), "station release failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(upstairs.job_attributes().len(), 1, "the text document printed later");
    assert_eq!(job_count(&server), 0, "the server has no jobs left");
}

/// Acceptance 2: a printer that is off shows as offline and cannot be chosen; a printer that
/// fails the job leaves it on the server (unacknowledged, its failure counted), the patron is
/// told and offered the other printer, preselected, which prints it once.
#[test]
fn in_chromium_an_offline_printer_cannot_be_chosen_and_a_failed_print_goes_to_the_other_printer() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = start_server(&relay);
    let code = mail(&server, &relay, 0, "bw@print.example.org", &[&fixture("simple.pdf")]);

    let lobby = Printer::start_with(tmp.path(), "Lobby Printer", PrinterCommand::Record);
    let mut upstairs = Printer::start(tmp.path());
    upstairs.power_off();
    let kiosk = Kiosk::start(&server, tmp.path(), &[("Lobby", lobby.uri()), ("Upstairs", upstairs.uri())], &[]);
    let seen = browse(&kiosk, "offline", &code, &[]);
    let shown = printers(&seen["seen"]);
    assert_eq!(shown[0], ("Lobby".into(), "Ready".into(), false, true), "{seen}");
    assert_eq!(shown[1], ("Upstairs".into(), "Offline".into(), true, false), "the printer that is off: {seen}");
    assert_eq!(seen["after_cancel"], "start", "{seen}");
    drop(kiosk);
    assert!(lobby.job_attributes().is_empty());
    assert_eq!(job_count(&server), 1);

    let broken = Printer::start_with(tmp.path(), "Broken Printer", PrinterCommand::Fail);
    let spare = Printer::start_with(tmp.path(), "Spare Printer", PrinterCommand::Record);
    let kiosk = Kiosk::start(&server, tmp.path(), &[("Broken", broken.uri()), ("Spare", spare.uri())], &[]);
    let mut browser = Browser::start(&kiosk, "failover", &code, &[]);
    let failed = browser.next();
    assert_eq!(printers(&failed["before"])[0], ("Broken".into(), "Ready".into(), false, true), "{failed}");
    let notice = failed["after_failure"]["notice"].as_str().unwrap_or_else(|| panic!("no notice: {failed}\n{}", kiosk.log()));
    assert!(notice.contains("Broken") && notice.contains("It was not printed"), "{notice}");
    let offered = printers(&failed["after_failure"]);
    assert!(!offered[0].3, "the printer that failed is not preselected again: {failed}");
    assert_eq!(offered[1], ("Spare".into(), "Ready".into(), false, true), "the other printer is preselected: {failed}");
    assert_eq!(job_count(&server), 1, "the failed job is not acknowledged");
    assert_ne!(sql(&server, "SELECT print_failures FROM jobs")[0], "0", "the failure was reported to the server");
    assert!(spare.job_attributes().is_empty());

    browser.resume();
    let done = browser.finish();
    assert!(done["done_text"].as_str().unwrap_or_default().contains("Documents printed: 1"), "{done}");
    assert_eq!(spare.job_attributes().len(), 1, "printed exactly once on the other printer");
    assert_eq!(job_count(&server), 0, "the printed job was acknowledged");
}

/// Acceptance 3: axe-core finds no WCAG 2.0/2.1/2.2 A or AA violation on any screen at 800×480
/// and 1280×800, nothing scrolls sideways, touch targets are at least 44 px, and the flow from
/// the code to "done" works with the keyboard alone (Tab, Space, Enter). A second printer is
/// off so the unavailable look is checked too.
#[test]
fn in_chromium_every_kiosk_screen_passes_axe_fits_both_sizes_and_works_by_keyboard_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = start_server(&relay);
    let lobby = Printer::start_with(tmp.path(), "Lobby Printer", PrinterCommand::Record);
    let mut upstairs = Printer::start(tmp.path());
    upstairs.power_off();
    let code = mail(&server, &relay, 0, "color@print.example.org", &[&fixture("colour.pdf")]);
    let kiosk = Kiosk::start(&server, tmp.path(), &[("Lobby", lobby.uri()), ("Upstairs", upstairs.uri())], &["--idle", "15s"]);

    let seen = browse(&kiosk, "a11y", &code, &[]);
    let screens = ["start", "start-keypad", "wrong-code", "documents", "idle-warning", "printing", "done", "locked-out", "german"];
    for screen in screens {
        assert_eq!(seen["found"][screen], serde_json::json!({}), "{screen}: {}", seen["found"][screen]);
        for size in ["800x480", "1280x800"] {
            let shot = shots_dir().join(format!("a11y-{screen}-{size}.png"));
            assert!(std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000), "no screenshot {}", shot.display());
        }
    }
    assert_eq!(seen["keypad_typed"], "4821", "{seen}");
    assert!(seen["wrong_notice"].as_str().unwrap_or_default().contains("not known"), "{seen}");
    for (key, want) in [
        ("code_focused", serde_json::json!(true)),
        ("documents_screen", "documents".into()),
        ("two_sided_ticked", true.into()),
        ("idle_role", "alertdialog".into()),
        ("stay_focused", true.into()),
        ("idle_hidden_after_stay", true.into()),
        ("focus_after_stay", "two_sided".into()),
        ("printing_screen", "printing".into()),
        ("finish_focused", true.into()),
        ("after_finish", "start".into()),
    ] {
        assert_eq!(seen[key], want, "{key}: {seen}");
    }
    assert!(seen["locked_notice"].as_str().unwrap_or_default().contains("Too many wrong codes"), "{seen}");
    assert_eq!(seen["german"], serde_json::json!({ "lang": "de", "heading": "Dokumente drucken" }), "{seen}");
    let jobs = lobby.job_attributes();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].get("IPP_SIDES").map(String::as_str), Some("two-sided-long-edge"), "Space ticked two-sided: {jobs:?}");
    assert_eq!(job_count(&server), 0);
}

/// Acceptance 4: with `--idle 15s` the documents screen warns (an alertdialog) and then goes
/// back to the start: the page, its history and the station's memory hold no document name.
/// "I am still here" keeps the session past the time it would have been cleared.
#[test]
fn in_chromium_an_idle_screen_is_warned_then_cleared_of_every_document_name_unless_the_patron_stays() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = start_server(&relay);
    let printer = Printer::start(tmp.path());
    let private = tmp.path().join("Bewerbung-Privat-4711.pdf");
    std::fs::copy(fixture("simple.pdf"), &private).unwrap();
    let code = mail(&server, &relay, 0, "bw@print.example.org", &[&private]);
    let kiosk = Kiosk::start(&server, tmp.path(), &[("Lobby", printer.uri())], &["--idle", "15s"]);

    let seen = browse(&kiosk, "idle", &code, &[]);
    let names = seen["names"].clone();
    assert!(names.to_string().contains("Bewerbung-Privat-4711"), "{seen}");
    assert_eq!(seen["names_in_dom_before"], names, "{seen}");
    assert_eq!(seen["names_in_session_before"], names, "{seen}");
    let warned = seen["warned_after"].as_f64().unwrap();
    assert!((6.0..=11.0).contains(&warned), "warned after {warned} s, not idle - warn = 8 s");
    assert_eq!(seen["warning"]["role"], "alertdialog", "{seen}");
    assert!(seen["warning"]["text"].as_str().unwrap_or_default().contains("Are you still there?"), "{seen}");
    let cleared = seen["cleared_after"].as_f64().unwrap();
    assert!((13.0..=19.0).contains(&cleared), "cleared after {cleared} s, not 15 s");
    assert_eq!(seen["names_in_dom_after"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["names_in_session_after"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["session_after"]["screen"]["screen"], "start", "{seen}");
    assert_eq!(seen["history_length"], 1, "{seen}");

    assert_eq!(seen["hidden_after_stay"], true, "{seen}");
    assert_eq!(seen["screen_after_stay"], "documents", "the patron who stayed lost the screen: {seen}");
    assert_eq!(seen["session_after_stay"], "documents", "the station cleared the session of a patron who stayed: {seen}");
    assert_eq!(seen["history_length_end"], 1, "{seen}");
    let log = kiosk.log();
    assert!(!log.contains(&code) && !log.contains("Bewerbung"), "the kiosk logged the code or a document name:\n{log}");
    assert!(printer.printed().is_empty());
}
