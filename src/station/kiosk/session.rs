//! The one patron at the kiosk: which screen they are on, what they chose, how far printing
//! got. A kiosk has one screen, so the process holds one session; starting over (idle, "Done",
//! "Cancel") replaces it whole — a new CSRF token, no job, no name — so nothing of one patron
//! is left for the next.
//!
//! Transitions are plain methods without I/O; the routes and the print task call them under
//! the kiosk's lock.

use std::time::{Duration, Instant};

use super::choice::Choice;
use super::i18n::Lang;
use crate::station::JobListing;

/// Why the start or documents screen shows a message (keys of the strings files).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    WrongCode,
    MalformedCode,
    ExpiredCode,
    AlreadyPrinted,
    LockedOut {
        minutes: u64,
    },
    ServerDown,
    NothingChosen,
    PrinterNotReady,
    /// A job failed on a printer: the job is kept, another printer is offered.
    PrintFailed {
        printer: String,
        document: String,
        condition: &'static str,
    },
    /// The page was stale (an old form after the screen had been cleared).
    Expired,
}

/// One chosen job on its way to the printer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Item {
    pub job: JobListing,
    pub copies: i64,
    pub state: ItemState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Waiting,
    Sending,
    /// At the printer, not yet printing.
    Queued,
    Printing,
    Printed,
    Failed,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "screen", rename_all = "snake_case")]
pub enum Screen {
    Start {
        notice: Option<Notice>,
    },
    Documents {
        site: String,
        jobs: Vec<JobListing>,
        choice: Choice,
        /// The printer that just failed, not preselected again.
        avoid: Option<usize>,
        notice: Option<Notice>,
    },
    Printing {
        site: String,
        printer: usize,
        items: Vec<Item>,
        choice: Choice,
        /// Every job of the code not printed in this run (they go back to the documents screen).
        others: Vec<JobListing>,
    },
    Done {
        documents: usize,
    },
}

impl Screen {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Start { .. } => "start",
            Self::Documents { .. } => "documents",
            Self::Printing { .. } => "printing",
            Self::Done { .. } => "done",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Session {
    /// Changes with every new session: a print task of an old one updates nothing.
    pub generation: u64,
    #[serde(skip)]
    pub csrf: String,
    pub lang: Lang,
    pub screen: Screen,
    #[serde(skip)]
    pub last_input: Instant,
    #[serde(skip)]
    pub entered: Instant,
}

impl Session {
    pub fn new(generation: u64, csrf: String, lang: Lang) -> Self {
        let now = Instant::now();
        Self { generation, csrf, lang, screen: Screen::Start { notice: None }, last_input: now, entered: now }
    }

    pub fn go(&mut self, screen: Screen) {
        self.screen = screen;
        self.entered = Instant::now();
        self.last_input = self.entered;
    }

    /// Whether the screen holds anything of a patron that idling should clear. The printing
    /// screen does not idle (the patron is waiting at the printer); "Done" returns to the
    /// start after [`DONE_SHOWN`].
    pub fn expired(&self, idle: Duration, now: Instant) -> bool {
        match &self.screen {
            Screen::Start { notice: None } => false,
            Screen::Printing { .. } => false,
            Screen::Done { .. } => now.duration_since(self.entered) >= DONE_SHOWN.min(idle),
            Screen::Start { .. } | Screen::Documents { .. } => now.duration_since(self.last_input) >= idle,
        }
    }

    /// Replaces every document name by the name the screen shows (for `GET /session`).
    pub fn mask_names(&mut self, masked: bool) {
        let mask = |job: &mut JobListing| job.filename = super::choice::shown_name(&job.filename, masked);
        match &mut self.screen {
            Screen::Documents { jobs, .. } => jobs.iter_mut().for_each(mask),
            Screen::Printing { items, others, .. } => {
                items.iter_mut().for_each(|i| mask(&mut i.job));
                others.iter_mut().for_each(mask);
            }
            Screen::Start { .. } | Screen::Done { .. } => {}
        }
    }

    /// The printing run went through: "Done", with nothing of the documents but their count.
    pub fn finish_printing(&mut self) {
        if let Screen::Printing { items, .. } = &self.screen {
            let documents = items.iter().filter(|i| i.state == ItemState::Printed).count();
            self.go(Screen::Done { documents });
        }
    }

    /// A job failed at `failed` (index into the items): the run stops, the unprinted jobs go
    /// back to the documents screen with the failed printer avoided. The patron's ticks and
    /// downgrades are kept, their printer choice is not (it would preselect the printer that
    /// just failed again).
    pub fn fail_printing(&mut self, failed: usize, printer_name: &str, condition: &'static str, masked: bool) {
        let Screen::Printing { site, printer, items, choice, others } = &self.screen else { return };
        let document = items.get(failed).map(|i| super::choice::shown_name(&i.job.filename, masked)).unwrap_or_default();
        let mut jobs: Vec<JobListing> = items.iter().filter(|i| i.state != ItemState::Printed).map(|i| i.job.clone()).collect();
        jobs.extend(others.iter().cloned());
        let screen = Screen::Documents {
            site: site.clone(),
            jobs,
            choice: Choice { printer: None, ..choice.clone() },
            avoid: Some(*printer),
            notice: Some(Notice::PrintFailed { printer: printer_name.to_owned(), document, condition }),
        };
        self.go(screen);
    }
}

/// How long "Done — take your pages" stays before the start screen returns.
pub const DONE_SHOWN: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str) -> JobListing {
        JobListing {
            id: id.into(),
            filename: format!("{id}-secret-name.pdf"),
            pages: 1,
            color: false,
            copies: 1,
            bytes: 1,
            sha256: String::new(),
            duplex: false,
            page_range: String::new(),
            color_pages: 0,
        }
    }

    fn printing(states: &[ItemState]) -> Session {
        let mut s = Session::new(1, "c".into(), Lang::En);
        let items = states.iter().enumerate().map(|(i, st)| Item { job: job(&format!("j{i}")), copies: 1, state: *st }).collect();
        s.go(Screen::Printing { site: "s".into(), printer: 0, items, choice: Choice::default(), others: vec![job("other")] });
        s
    }

    #[test]
    fn idle_clears_patron_screens_but_never_a_print_in_progress() {
        let idle = Duration::from_secs(60);
        let mut s = Session::new(1, "c".into(), Lang::En);
        let later = Instant::now() + Duration::from_secs(61);
        assert!(!s.expired(idle, later), "an empty start screen has nothing to clear");
        s.go(Screen::Start { notice: Some(Notice::WrongCode) });
        assert!(s.expired(idle, later), "a message about a code is cleared");
        assert!(!s.expired(idle, Instant::now() + Duration::from_secs(59)));
        s.go(Screen::Documents { site: "s".into(), jobs: vec![job("a")], choice: Choice::default(), avoid: None, notice: None });
        assert!(s.expired(idle, later));
        let p = printing(&[ItemState::Printing]);
        assert!(!p.expired(idle, Instant::now() + Duration::from_secs(3600)));
        let mut d = printing(&[ItemState::Printed]);
        d.finish_printing();
        assert!(d.expired(idle, Instant::now() + DONE_SHOWN));
        assert!(!d.expired(idle, Instant::now() + Duration::from_secs(1)));
    }

    #[test]
    fn the_session_shown_to_the_operator_masks_names_and_drops_hashes() {
        let mut s = printing(&[ItemState::Printing]);
        if let Screen::Printing { items, .. } = &mut s.screen {
            items[0].job.sha256 = "feedface".into();
        }
        s.mask_names(true);
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("secret-name") && !json.contains("feedface"), "{json}");
        assert!(json.contains("j0-se…") && json.contains("other"), "{json}");
    }

    #[test]
    fn done_keeps_only_a_count() {
        let mut s = printing(&[ItemState::Printed, ItemState::Printed]);
        s.finish_printing();
        assert!(matches!(s.screen, Screen::Done { documents: 2, .. }));
        assert!(!serde_json::to_string(&s).unwrap().contains("secret-name"));
    }

    #[test]
    fn a_failure_returns_the_unprinted_jobs_and_avoids_the_printer() {
        let mut s = printing(&[ItemState::Printed, ItemState::Failed, ItemState::Waiting]);
        if let Screen::Printing { choice, .. } = &mut s.screen {
            *choice = Choice { printer: Some(0), greyscale: true, ..Choice::default() };
        }
        s.fail_printing(1, "Upstairs", "jammed", true);
        let Screen::Documents { jobs, avoid, notice, choice, .. } = &s.screen else { panic!("{:?}", s.screen) };
        let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids, ["j1", "j2", "other"]);
        assert_eq!(*avoid, Some(0));
        assert_eq!(choice.printer, None, "the failed printer is not chosen again");
        assert!(choice.greyscale, "the downgrades are kept");
        assert_eq!(*notice, Some(Notice::PrintFailed { printer: "Upstairs".into(), document: "j1-se…".into(), condition: "jammed" }));
    }
}
