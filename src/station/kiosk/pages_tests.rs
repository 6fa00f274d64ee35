use std::time::Duration;

use super::*;
use crate::station::kiosk::choice::Choice;

fn job(id: &str, name: &str, color: bool, copies: i64) -> JobListing {
    JobListing {
        id: id.into(),
        filename: name.into(),
        pages: 4,
        color,
        copies,
        bytes: 1,
        sha256: String::new(),
        duplex: false,
        page_range: String::new(),
        color_pages: if color { 2 } else { 0 },
    }
}

fn settings(mask: bool) -> KioskSettings {
    KioskSettings {
        listen: "127.0.0.1:8080".parse().unwrap(),
        idle: Duration::from_secs(60),
        mask_titles: mask,
        langs: vec![Lang::En, Lang::De],
    }
}

fn documents(session: &mut Session, notice: Option<Notice>) {
    let jobs = vec![job("a1", "Bewerbung-Mueller.pdf", true, 2), job("b2", "notes.txt", false, 1)];
    session.go(Screen::Documents { site: "main".into(), choice: Choice::all(&jobs), jobs, avoid: None, notice });
}

const PRINTERS: [PrinterView<'static>; 3] = [
    PrinterView { name: "Upstairs", condition: Some(Condition::Offline) },
    PrinterView { name: "Lobby", condition: Some(Condition::Ready) },
    PrinterView { name: "Annex", condition: None },
];

#[test]
fn the_documents_screen_lists_jobs_and_preselects_the_first_ready_printer() {
    let pages = Pages::new();
    let mut s = Session::new(1, "tok".into(), Lang::En);
    documents(&mut s, None);
    let html = pages.render(&s, &settings(false), &PRINTERS);
    assert!(html.contains("Bewerbung-Mueller.pdf") && html.contains("notes.txt"));
    assert!(html.contains(r#"value="1" checked>"#), "Lobby (index 1) is preselected:\n{html}");
    assert!(html.contains(r#"value="0" disabled>"#), "offline Upstairs cannot be chosen");
    assert!(html.contains("Offline") && html.contains("Checking"));
    assert!(html.contains(r#"name="greyscale""#), "a colour job offers greyscale");
    assert!(html.contains(r#"<option value="2" selected>2</option>"#), "own copies preselected");
    assert!(html.contains(r#"name="csrf" value="tok""#));
    assert!(html.contains(r#"data-idle="60" data-warn="20""#));
}

#[test]
fn masked_titles_show_five_characters_on_every_screen() {
    let pages = Pages::new();
    let mut s = Session::new(1, "tok".into(), Lang::En);
    documents(&mut s, None);
    let html = pages.render(&s, &settings(true), &PRINTERS);
    assert!(html.contains("Bewer…") && !html.contains("Bewerbung"), "{html}");
    let jobs = vec![job("a1", "Bewerbung-Mueller.pdf", true, 1)];
    let items = vec![Item { job: jobs[0].clone(), copies: 1, state: ItemState::Printing }];
    s.go(Screen::Printing { site: "main".into(), printer: 1, items, choice: Choice::all(&jobs), others: vec![] });
    let html = pages.render(&s, &settings(true), &PRINTERS);
    assert!(html.contains("Printing on Lobby") && html.contains("Bewer…") && !html.contains("Bewerbung"));
    assert!(html.contains(r#"data-poll="1000""#) && !html.contains("data-idle"), "printing polls and does not idle");
}

#[test]
fn every_screen_renders_in_german_with_its_own_words() {
    let pages = Pages::new();
    let mut s = Session::new(1, "tok".into(), Lang::De);
    for notice in [
        Notice::WrongCode,
        Notice::ExpiredCode,
        Notice::AlreadyPrinted,
        Notice::LockedOut { minutes: 14 },
        Notice::ServerDown,
        Notice::MalformedCode,
        Notice::Expired,
    ] {
        s.go(Screen::Start { notice: Some(notice.clone()) });
        let html = pages.render(&s, &settings(false), &PRINTERS);
        assert!(html.contains(r#"<html lang="de">"#) && html.contains("Freigabecode"), "{notice:?}");
        let text = notice_text(&notice, &|k| pages.words(Lang::De)[k].clone());
        assert!(html.contains(&text), "{notice:?}: {text}");
        assert!(!text.contains('{'), "{text}");
    }
    documents(&mut s, Some(Notice::PrintFailed { printer: "Upstairs".into(), document: "Bewer…".into(), condition: "jammed" }));
    let html = pages.render(&s, &settings(false), &PRINTERS);
    assert!(html.contains("Upstairs konnte „Bewer…“ nicht drucken (Papierstau)"), "{html}");
    s.go(Screen::Done { documents: 2 });
    let html = pages.render(&s, &settings(false), &PRINTERS);
    assert!(html.contains("Gedruckte Dokumente: 2") && html.contains(r#"data-poll="2000""#));
}

#[test]
fn a_locked_out_station_says_ask_staff_with_minutes() {
    let pages = Pages::new();
    let text = notice_text(&Notice::LockedOut { minutes: 14 }, &|k| pages.words(Lang::En)[k].clone());
    assert!(text.contains("ask staff") && text.contains("14 minutes"), "{text}");
}
