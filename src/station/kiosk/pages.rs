//! The kiosk's one page, rendered on the station from the session: `templates/kiosk/kiosk.html`
//! arranges, `templates/kiosk/<lang>.toml` words it. The page holds the CSRF token of the
//! current session only; document names appear only on the documents and printing screens (and
//! then masked with `--mask-titles`).

use std::collections::BTreeMap;

use minijinja::{Environment, Value, context};

use super::choice::{preselect, shown_name};
use super::i18n::{self, Lang, Words};
use super::session::{Item, ItemState, Notice, Screen, Session};
use super::{Kiosk, KioskSettings};
use crate::station::JobListing;
use crate::station::ipp::Condition;

pub const STYLESHEET: &str = include_str!("../../../templates/kiosk/kiosk.css");
pub const SCRIPT: &str = include_str!("../../../templates/kiosk/kiosk.js");

pub struct Pages {
    env: Environment<'static>,
    words: BTreeMap<&'static str, Words>,
}

impl Default for Pages {
    fn default() -> Self {
        Self::new()
    }
}

/// A printer as the documents screen shows it.
pub struct PrinterView<'a> {
    pub name: &'a str,
    pub condition: Option<Condition>,
}

impl Pages {
    /// # Panics
    /// When the compiled-in template or words do not parse (a unit test renders every screen).
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.add_template("kiosk.html", include_str!("../../../templates/kiosk/kiosk.html"))
            .unwrap_or_else(|e| panic!("templates/kiosk/kiosk.html: {e}"));
        Self { env, words: i18n::words() }
    }

    fn words(&self, lang: Lang) -> &Words {
        &self.words[lang.code()]
    }

    /// The page for the kiosk's current state.
    pub fn render_for(&self, kiosk: &Kiosk, session: &Session) -> String {
        let conditions: Vec<Option<Condition>> = kiosk.printers.iter().map(|p| p.condition.read().ok().and_then(|c| *c)).collect();
        let printers: Vec<PrinterView<'_>> =
            kiosk.printers.iter().zip(conditions).map(|(p, condition)| PrinterView { name: &p.name, condition }).collect();
        self.render(session, &kiosk.settings, &printers)
    }

    /// The page for `session` with the printers in the given states.
    pub fn render(&self, session: &Session, settings: &KioskSettings, printers: &[PrinterView<'_>]) -> String {
        let t = self.words(session.lang);
        let word = |key: &str| t.get(key).cloned().unwrap_or_else(|| key.to_owned());
        let langs: Vec<Value> =
            settings.langs.iter().map(|l| context! { code => l.code(), name => l.native_name(), current => *l == session.lang }).collect();
        let (heading, notice, screen_view) = match &session.screen {
            Screen::Start { notice } => (word("start_heading"), notice.as_ref(), context! {}),
            Screen::Documents { jobs, choice, avoid, notice, .. } => {
                let view = documents_view(jobs, choice, *avoid, printers, settings.mask_titles, &word);
                (word("documents_heading"), notice.as_ref(), view)
            }
            Screen::Printing { printer, items, .. } => {
                let name = printers.get(*printer).map_or("", |p| p.name);
                let items: Vec<Value> = items.iter().map(|i| item_view(i, settings.mask_titles, &word)).collect();
                (word("printing_heading").replace("{printer}", name), None, context! { items })
            }
            Screen::Done { documents, .. } => {
                (word("done_heading"), None, context! { done_text => word("done_text").replace("{documents}", &documents.to_string()) })
            }
        };
        let idles = matches!(session.screen, Screen::Start { .. } | Screen::Documents { .. });
        let poll = match session.screen {
            Screen::Printing { .. } => Some(1000),
            Screen::Done { .. } => Some(2000),
            _ => None,
        };
        let ctx = context! {
            lang => session.lang.code(),
            langs,
            t => Value::from(minijinja::value::Serde(t)),
            csrf => &session.csrf,
            screen => session.screen.name(),
            heading,
            notice => notice.map(|n| notice_text(n, &word)),
            idle => idles.then_some(settings.idle.as_secs()),
            warn => settings.warn().as_secs(),
            poll,
            ..screen_view
        };
        self.env.get_template("kiosk.html").and_then(|tpl| tpl.render(ctx)).unwrap_or_else(|e| {
            tracing::error!(error = %e, "kiosk page does not render");
            String::from("<!DOCTYPE html><title>Error</title><p>The page cannot be shown. Please ask staff.</p>")
        })
    }
}

fn documents_view(
    jobs: &[JobListing],
    choice: &super::choice::Choice,
    avoid: Option<usize>,
    printers: &[PrinterView<'_>],
    masked: bool,
    word: &dyn Fn(&str) -> String,
) -> Value {
    let jobs_view: Vec<Value> = jobs
        .iter()
        .map(|j| {
            let chosen = choice.copies_of(&j.id);
            context! {
                id => &j.id, name => shown_name(&j.filename, masked), pages => j.pages, color_pages => j.color_pages,
                copies => j.copies, copy_choices => (1..=j.copies.max(1)).collect::<Vec<_>>(),
                chosen => chosen.is_some(), chosen_copies => chosen.unwrap_or(j.copies).clamp(1, j.copies.max(1)),
            }
        })
        .collect();
    let choosable: Vec<bool> = printers.iter().map(|p| p.condition.is_some_and(|c| c.choosable())).collect();
    let selected = choice.printer.filter(|i| choosable.get(*i).copied().unwrap_or(false)).or_else(|| preselect(&choosable, avoid));
    let printers_view: Vec<Value> = printers
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let key = p.condition.map_or("checking", |c| c.key());
            context! { index, name => p.name, key, words => word(&format!("printer_{key}")), choosable => choosable[index], selected => selected == Some(index) }
        })
        .collect();
    context! {
        jobs => jobs_view,
        any_colour => jobs.iter().any(|j| j.color),
        all_duplex => jobs.iter().all(|j| j.duplex),
        greyscale => choice.greyscale,
        two_sided => choice.two_sided,
        printers => printers_view,
        any_ready => choosable.iter().any(|c| *c),
    }
}

fn item_view(item: &Item, masked: bool, word: &dyn Fn(&str) -> String) -> Value {
    let state = match item.state {
        ItemState::Waiting => "waiting",
        ItemState::Sending => "sending",
        ItemState::Queued => "queued",
        ItemState::Printing => "printing",
        ItemState::Printed => "printed",
        ItemState::Failed => "failed",
    };
    context! { name => shown_name(&item.job.filename, masked), state, words => word(&format!("item_{state}")) }
}

/// A notice in words, its blanks filled.
pub fn notice_text(notice: &Notice, word: &dyn Fn(&str) -> String) -> String {
    match notice {
        Notice::WrongCode => word("notice_wrong_code"),
        Notice::MalformedCode => word("notice_malformed_code"),
        Notice::ExpiredCode => word("notice_expired_code"),
        Notice::AlreadyPrinted => word("notice_already_printed"),
        Notice::LockedOut { minutes } => word("notice_locked_out").replace("{minutes}", &minutes.to_string()),
        Notice::ServerDown => word("notice_server_down"),
        Notice::NothingChosen => word("notice_nothing_chosen"),
        Notice::PrinterNotReady => word("notice_printer_not_ready"),
        Notice::Expired => word("notice_expired"),
        Notice::PrintFailed { printer, document, condition } => word("notice_print_failed")
            .replace("{printer}", printer)
            .replace("{document}", document)
            .replace("{condition}", &word(&format!("printer_{condition}"))),
    }
}

#[cfg(test)]
#[path = "pages_tests.rs"]
mod tests;
